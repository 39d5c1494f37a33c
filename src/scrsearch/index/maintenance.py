"""Index upkeep: ``check_index`` verifies an index folder, ``rebuild_index`` repairs it.

A check reads only: the manifest, the SQLite file (``PRAGMA integrity_check``, the
keyword index, the stored vectors) and the FAISS file (its size, dimension and ids
against the passages). Every problem comes with the command that fixes it.

A rebuild re-derives everything that can be derived from the stored rows, without
reading or embedding any document again: it copies the newest intact database into
a new generation, rebuilds its keyword index, builds the FAISS file from the stored
vectors and publishes the generation atomically, as an ingest does.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Config, load_config
from ..errors import IndexCorruptError, IndexNotFoundError, ScrsearchError
from . import store
from .generations import MANIFEST, Manifest, Progress, generation_numbers, read_manifest
from .housekeeping import FETCHED_DIR, PART_PREFIX
from .transaction import write_transaction


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an index. ``severity`` is ``error`` or ``warning``."""

    severity: str
    what: str
    fix: str

    def __str__(self) -> str:
        return f"{self.what} Fix: {self.fix}"


@dataclass(frozen=True)
class CheckReport:
    index_dir: Path
    generation: int | None
    problems: tuple[Problem, ...]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when nothing is wrong that stops search or loses results."""
        return not self.errors

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": str(self.index_dir),
            "ok": self.ok,
            "generation": self.generation,
            "counts": self.counts,
            "problems": [
                {"severity": p.severity, "problem": p.what, "fix": p.fix} for p in self.problems
            ],
        }


@dataclass(frozen=True)
class RebuildReport:
    manifest: Manifest
    source_generation: int
    recovered_older: bool
    """True when the current database was damaged and an older generation was used."""


def check_index(index_dir: Path | str) -> CheckReport:
    """Verify an index folder: manifest, SQLite integrity, keyword index, vectors, FAISS."""
    index_dir = Path(index_dir)
    rebuild = f"scrsearch rebuild --index {index_dir}"
    reingest = f"scrsearch ingest PATH... --index {index_dir} --rebuild"
    if not index_dir.is_dir():
        raise IndexNotFoundError(str(index_dir))
    problems: list[Problem] = []
    try:
        manifest = read_manifest(index_dir)
    except IndexCorruptError as exc:
        manifest = None
        problems.append(
            Problem(
                "error",
                f"{index_dir / MANIFEST} is unreadable ({exc.__cause__}).",
                f"{rebuild} --model MODEL (the model the index was built with)",
            )
        )
    else:
        if manifest is None:
            if not generation_numbers(index_dir):
                raise IndexNotFoundError(str(index_dir))
            problems.append(
                Problem(
                    "error",
                    f"{index_dir / MANIFEST} is missing.",
                    f"{rebuild} --model MODEL (the model the index was built with)",
                )
            )
    if manifest is None:
        return CheckReport(index_dir, None, tuple(problems))

    counts: dict[str, int] = {}
    sqlite_path = index_dir / manifest.sqlite_name
    older = [g for g in generation_numbers(index_dir) if g < manifest.generation]
    damaged_fix = (
        f"{rebuild} (recovers generation {older[0]}; then run your last ingest again)"
        if older
        else reingest
    )
    if not sqlite_path.exists():
        problems.append(Problem("error", f"{sqlite_path} is missing.", damaged_fix))
    else:
        damage = integrity_problem(sqlite_path)
        if damage:
            problems.append(Problem("error", f"{sqlite_path} is damaged ({damage}).", damaged_fix))
        else:
            conn = store.connect(sqlite_path, readonly=True)
            try:
                counts = store.counts(conn)
                problems.extend(_check_rows(conn, manifest, sqlite_path, rebuild, reingest))
                problems.extend(_check_faiss(conn, index_dir, manifest, counts, rebuild))
                problems.extend(_check_fetched(conn, index_dir))
            finally:
                conn.close()
    problems.extend(_leftovers(index_dir, manifest))
    return CheckReport(index_dir, manifest.generation, tuple(problems), counts)


def integrity_problem(sqlite_path: Path) -> str | None:
    """SQLite's first complaint about a database file, or None when it is intact."""
    try:
        conn = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
        try:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
            conn.execute("SELECT COUNT(*) FROM documents").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    messages = [r[0] for r in rows]
    return None if messages == ["ok"] else "; ".join(messages[:3])


def _check_rows(
    conn: sqlite3.Connection, manifest: Manifest, path: Path, rebuild: str, reingest: str
) -> list[Problem]:
    problems = []
    version = conn.execute("SELECT MAX(id) FROM migrations").fetchone()[0] or 0
    if version > len(store.MIGRATIONS):
        problems.append(
            Problem(
                "error",
                f"{path} has schema version {version}, newer than this scrsearch understands "
                f"({len(store.MIGRATIONS)}).",
                "upgrade scrsearch",
            )
        )
    n_chunks = conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    n_fts = conn.execute("SELECT COUNT(*) FROM chunks_fts").fetchone()[0]
    missing = conn.execute(
        "SELECT COUNT(*) FROM chunks WHERE id NOT IN (SELECT rowid FROM chunks_fts)"
    ).fetchone()[0]
    if missing or n_fts != n_chunks:
        problems.append(
            Problem(
                "error",
                f"the keyword index holds {n_fts} passages but the database has {n_chunks} "
                f"({missing} missing).",
                rebuild,
            )
        )
    orphans = conn.execute(
        "SELECT COUNT(*) FROM chunks WHERE doc_id NOT IN (SELECT id FROM documents)"
    ).fetchone()[0]
    if orphans:
        problems.append(Problem("error", f"{orphans} passages belong to no document.", rebuild))
    bad_vectors = conn.execute(
        "SELECT COUNT(*) FROM chunks WHERE length(embedding) != ?", (manifest.dimension * 4,)
    ).fetchone()[0]
    if bad_vectors:
        problems.append(
            Problem(
                "error",
                f"{bad_vectors} stored vectors do not have the manifest's {manifest.dimension} "
                "dimensions.",
                reingest,
            )
        )
    actual = store.counts(conn)
    if {k: manifest.counts.get(k) for k in actual} != actual:
        problems.append(
            Problem(
                "warning",
                f"the manifest's counts {manifest.counts} differ from the database's {actual}.",
                rebuild,
            )
        )
    return problems


def _check_faiss(
    conn: sqlite3.Connection,
    index_dir: Path,
    manifest: Manifest,
    counts: dict[str, int],
    rebuild: str,
) -> list[Problem]:
    import faiss

    path = index_dir / manifest.faiss_name
    if not path.exists():
        return [Problem("error", f"the FAISS file {path} is missing.", rebuild)]
    try:
        index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable"
        return [Problem("error", f"the FAISS file {path} is unreadable ({first}).", rebuild)]
    if index.d != manifest.dimension:
        return [
            Problem(
                "error",
                f"the FAISS file has {index.d} dimensions, the manifest {manifest.dimension}.",
                rebuild,
            )
        ]
    passages = counts.get("passages", 0)
    if index.ntotal != passages:
        return [
            Problem(
                "error",
                f"the FAISS file holds {index.ntotal} vectors but the database has "
                f"{passages} passages.",
                rebuild,
            )
        ]
    ids = faiss_ids(index)
    if ids is not None:
        stored = np.fromiter(
            (r[0] for r in conn.execute("SELECT id FROM chunks ORDER BY id")), dtype=np.int64
        )
        if not np.array_equal(np.sort(ids), stored):
            return [
                Problem(
                    "error", "the FAISS ids do not match the passages in the database.", rebuild
                )
            ]
    return []


def faiss_ids(index: Any) -> np.ndarray | None:
    """The ids stored in a flat (IDMap) or IVF index, or None for other kinds."""
    import faiss

    if hasattr(index, "id_map"):
        return faiss.vector_to_array(index.id_map).astype(np.int64)
    with contextlib.suppress(RuntimeError):
        ivf = faiss.extract_index_ivf(index)
        lists = ivf.invlists
        if lists is None:
            return None
        parts = []
        for number in range(ivf.nlist):
            size = lists.list_size(number)
            if size:
                parts.append(
                    faiss.rev_swig_ptr(lists.get_ids(number), size).astype(np.int64).copy()
                )
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    return None


def _check_fetched(conn: sqlite3.Connection, index_dir: Path) -> list[Problem]:
    problems = []
    rows = conn.execute(
        "SELECT source, json_extract(extra, '$.file') FROM documents "
        "WHERE json_extract(extra, '$.file') IS NOT NULL"
    ).fetchall()
    for source, file in rows:
        if not (index_dir / file).exists():
            problems.append(
                Problem(
                    "warning",
                    f"the stored copy of {source} is missing ({index_dir / file}); search "
                    "still works.",
                    f"scrsearch ingest {source} --index {index_dir}",
                )
            )
    return problems


def _leftovers(index_dir: Path, manifest: Manifest) -> list[Problem]:
    found = [
        p.name
        for p in sorted(index_dir.iterdir())
        if p.name.endswith(".tmp")
        or (
            (m := re.fullmatch(r"g(\d{6})\.(sqlite|faiss)(-journal)?", p.name))
            and int(m.group(1)) > manifest.generation
        )
    ]
    fetched = index_dir / FETCHED_DIR
    if fetched.is_dir():
        found += [f"{FETCHED_DIR}/{p.name}" for p in sorted(fetched.glob(PART_PREFIX + "*"))]
    if not found:
        return []
    return [
        Problem(
            "warning",
            f"files left by an interrupted write: {', '.join(found)} (harmless).",
            f"the next ingest or `scrsearch rebuild --index {index_dir}` removes them",
        )
    ]


def rebuild_index(
    index_dir: Path | str,
    *,
    model: str | None = None,
    config: Config | None = None,
    progress: Progress | None = None,
) -> RebuildReport:
    """Re-derive the keyword index and the FAISS file from the stored rows.

    Nothing is re-read or re-embedded. The newest intact database is copied into a
    new generation, which becomes current atomically; readers of the old one are
    not disturbed.

    Args:
        index_dir: the index folder.
        model: the model name to record; needed only when the manifest is lost.
        config: settings (FAISS kind thresholds); defaults from the environment.
        progress: called as ``progress("index", done, total)``.

    Raises:
        IndexNotFoundError: no index there.
        IndexCorruptError: no intact database to rebuild from.
        ScrsearchError: the manifest is lost and no ``model`` was given.
    """
    index_dir = Path(index_dir)
    config = config or load_config()
    if not index_dir.is_dir():
        raise IndexNotFoundError(str(index_dir))
    with write_transaction(index_dir, config=config, recover=True) as tx:
        manifest = tx.current
        numbers = generation_numbers(index_dir)
        if manifest is None and not numbers:
            raise IndexNotFoundError(str(index_dir))
        source = _intact_source(index_dir, manifest, numbers)
        model = model or (manifest.model if manifest else None)
        if model is None:
            raise ScrsearchError(
                f"{index_dir / MANIFEST} is lost, so the model is unknown: run "
                f"scrsearch rebuild --index {index_dir} --model MODEL"
            )
        dimension = _repair_rows(tx.begin(copy_of=source), manifest)
        published = tx.publish(model=model, dimension=dimension, progress=progress)
        for path in index_dir.glob("*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    return RebuildReport(
        published, source, recovered_older=manifest is not None and source != manifest.generation
    )


def _intact_source(index_dir: Path, manifest: Manifest | None, numbers: list[int]) -> int:
    """The generation to rebuild from: the current one if intact, else the newest intact."""
    order = ([manifest.generation] if manifest else []) + [
        n for n in numbers if manifest is None or n < manifest.generation
    ]
    for number in order:
        path = index_dir / f"g{number:06d}.sqlite"
        if path.exists() and integrity_problem(path) is None:
            return number
    raise IndexCorruptError(
        f"{index_dir}: no intact database to rebuild from. Index the documents again with: "
        f"scrsearch ingest PATH... --index {index_dir} --rebuild"
    )


def _repair_rows(conn: sqlite3.Connection, manifest: Manifest | None) -> int:
    """Drop orphan rows, rebuild the keyword index; return the vectors' dimension."""
    with conn:
        conn.execute("DELETE FROM chunks WHERE doc_id NOT IN (SELECT id FROM documents)")
        conn.execute("DELETE FROM pages WHERE doc_id NOT IN (SELECT id FROM documents)")
        conn.execute("DELETE FROM chunks_fts")
        conn.execute(
            "INSERT INTO chunks_fts (rowid, text, heading, title) "
            "SELECT c.id, c.text, COALESCE(c.heading, ''), "
            "COALESCE(d.title, replace(d.source, rtrim(d.source, replace(d.source, '/', '')), '')) "
            "FROM chunks c JOIN documents d ON d.id = c.doc_id"
        )
        conn.execute("INSERT INTO chunks_fts (chunks_fts) VALUES ('optimize')")
    sizes = [r[0] for r in conn.execute("SELECT DISTINCT length(embedding) FROM chunks")]
    if len(sizes) > 1:
        raise IndexCorruptError(
            "The stored vectors have different sizes, so they cannot be indexed together. "
            "Index the documents again with: scrsearch ingest PATH... --rebuild"
        )
    if sizes:
        return int(sizes[0]) // 4
    if manifest is None:
        raise ScrsearchError("The index holds no passages and no manifest: nothing to rebuild.")
    return manifest.dimension

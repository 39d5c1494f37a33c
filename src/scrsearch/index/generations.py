"""The index folder: generations of SQLite + FAISS files behind an atomic JSON manifest.

Layout of an index folder::

    manifest.json          which generation is current, model, dimension, versions, counts
    g000007.sqlite         documents, pages, passages (+ vectors) and FTS5
    g000007.faiss          the FAISS index of the passages' normalised vectors
    .lock                  held by a writer
    fetched/               copies of documents fetched from the web (see housekeeping)

A writer (always through :func:`scrsearch.index.transaction.write_transaction`) copies the current SQLite file to a new generation, changes the copy,
builds its FAISS file, and only then replaces ``manifest.json`` (write, fsync,
``os.replace``). A crash at any point leaves the previous generation current and
searchable; readers that opened a generation keep seeing exactly that one.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import platform
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IndexCorruptError, IndexNotFoundError, ModelMismatchError
from . import store

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
_GENERATION_FILE = re.compile(r"g(\d{6})\.sqlite")

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Manifest:
    generation: int
    model: str
    dimension: int
    faiss_kind: str
    counts: dict[str, int]
    versions: dict[str, str]
    created: str

    @property
    def sqlite_name(self) -> str:
        return f"g{self.generation:06d}.sqlite"

    @property
    def faiss_name(self) -> str:
        return f"g{self.generation:06d}.faiss"

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "generation": self.generation,
            "sqlite": self.sqlite_name,
            "faiss": self.faiss_name,
            "model": self.model,
            "dimension": self.dimension,
            "faiss_kind": self.faiss_kind,
            "counts": self.counts,
            "versions": self.versions,
            "created": self.created,
        }


def read_manifest(index_dir: Path) -> Manifest | None:
    path = index_dir / MANIFEST
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
        return Manifest(
            generation=int(data["generation"]),
            model=data["model"],
            dimension=int(data["dimension"]),
            faiss_kind=data.get("faiss_kind", "flat"),
            counts=dict(data.get("counts", {})),
            versions=dict(data.get("versions", {})),
            created=data.get("created", ""),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise IndexCorruptError(
            f"{path} is unreadable ({exc}). Run `scrsearch check --index {index_dir}`."
        ) from exc


def versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for package in ("scrsearch", "faiss-cpu", "sentence-transformers", "torch", "pypdf"):
        with contextlib.suppress(importlib_metadata.PackageNotFoundError):
            out[package] = importlib_metadata.version(package)
    return out


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w") as fh:
        json.dump(data, fh, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def write_lock(index_dir: Path) -> Iterator[None]:
    """Hold the index's writer lock; a second writer waits for the first."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with (index_dir / ".lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# --- FAISS -------------------------------------------------------------------


def build_faiss(
    conn: sqlite3.Connection,
    dimension: int,
    *,
    exact_max: int,
    nprobe: int,
    progress: Progress | None = None,
) -> tuple[Any, str]:
    """Build a FAISS index of every stored vector: exact when small, IVF-SQ8 when large."""
    import faiss

    total = conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    if total <= exact_max:
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        kind = "flat"
    else:
        index = make_ivf(dimension, total)
        kind = "ivf-sq8"
        sample = _training_sample(conn, total, index.nlist)
        index.train(sample)
        index.nprobe = nprobe
    done = 0
    for ids, vectors in store.iter_vectors(conn):
        index.add_with_ids(vectors, ids)
        done += len(ids)
        if progress is not None:
            progress("index", done, total)
    return index, kind


def make_ivf(dimension: int, n: int) -> Any:
    """An IVF index with 8-bit scalar-quantised vectors (4x smaller than float32)."""
    import faiss

    nlist = ivf_lists(n)
    quantizer = faiss.IndexFlatIP(dimension)
    return faiss.IndexIVFScalarQuantizer(
        quantizer, dimension, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
    )


def ivf_lists(n: int) -> int:
    return int(min(4096, max(16, 4 * math.sqrt(n))))


def _training_sample(conn: sqlite3.Connection, total: int, nlist: int) -> np.ndarray:
    want = min(total, max(nlist * 40, 20_000))
    step = max(1, total // want)
    rows = conn.execute(
        "SELECT embedding FROM chunks WHERE id % ? = 0 LIMIT ?", (step, want)
    ).fetchall()
    return np.vstack([np.frombuffer(r[0], dtype=np.float32) for r in rows])


def save_faiss(index: Any, path: Path) -> None:
    import faiss

    tmp = path.with_name(path.name + ".tmp")
    faiss.write_index(index, str(tmp))
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


# --- Generations -------------------------------------------------------------


@dataclass
class Generation:
    """A new generation being written; publish() makes it current."""

    index_dir: Path
    number: int
    conn: sqlite3.Connection

    @property
    def sqlite_path(self) -> Path:
        return self.index_dir / f"g{self.number:06d}.sqlite"

    @property
    def faiss_path(self) -> Path:
        return self.index_dir / f"g{self.number:06d}.faiss"


def generation_numbers(index_dir: Path) -> list[int]:
    """Generation numbers that have a SQLite file in the folder, newest first."""
    found = [
        int(m.group(1)) for p in index_dir.iterdir() if (m := _GENERATION_FILE.fullmatch(p.name))
    ]
    return sorted(found, reverse=True)


def new_generation(index_dir: Path, *, after: int, copy_of: str | None) -> Generation:
    """A new generation numbered above ``after``: a copy of the database file ``copy_of``
    (a name in ``index_dir``), or empty when it is ``None``.

    The caller must hold :func:`write_lock`: use ``WriteTransaction.begin`` (see
    :mod:`scrsearch.index.transaction`).
    """
    number = after + 1
    while (index_dir / f"g{number:06d}.sqlite").exists():
        number += 1  # leftovers of a crashed writer: never reuse their names
    target = index_dir / f"g{number:06d}.sqlite"
    if copy_of is not None:
        source = sqlite3.connect(f"file:{index_dir / copy_of}?mode=ro", uri=True)
        dest = sqlite3.connect(target)
        with dest:
            source.backup(dest)
        source.close()
        dest.close()
    return Generation(index_dir, number, store.connect(target))


def publish(
    gen: Generation,
    *,
    model: str,
    dimension: int,
    exact_max: int,
    nprobe: int,
    progress: Progress | None = None,
    keep_previous: bool = True,
) -> Manifest:
    """Build the FAISS file, then atomically make this generation current.

    Use it through :func:`scrsearch.index.transaction.write_transaction`, which
    holds the lock and drops the generation on error. Deleted documents leave no
    words behind in the new file (see :func:`store.purge_deleted`).
    ``keep_previous=False`` also deletes the previous generation at once (after a
    removal, so the removed text is gone from disk); by default it stays as a
    fallback for ``scrsearch rebuild``.
    """
    gen.conn.commit()
    store.purge_deleted(gen.conn)
    store.refresh_term_counts(gen.conn)
    index, kind = build_faiss(
        gen.conn, dimension, exact_max=exact_max, nprobe=nprobe, progress=progress
    )
    save_faiss(index, gen.faiss_path)
    manifest = Manifest(
        generation=gen.number,
        model=model,
        dimension=dimension,
        faiss_kind=kind,
        counts=store.counts(gen.conn),
        versions=versions(),
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    gen.conn.close()
    with gen.sqlite_path.open("rb") as fh:
        os.fsync(fh.fileno())
    previous = read_manifest(gen.index_dir)
    write_json_atomic(gen.index_dir / MANIFEST, manifest.to_dict())
    # Readers hold their generation's files open, so deleting them is safe (POSIX).
    keep = {gen.number} | ({previous.generation} if previous and keep_previous else set())
    remove_stale_generations(gen.index_dir, keep=keep)
    return manifest


def abandon(gen: Generation) -> None:
    """Drop an unpublished generation's files."""
    with contextlib.suppress(Exception):
        gen.conn.close()
    for path in (gen.sqlite_path, gen.faiss_path):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def remove_stale_generations(index_dir: Path, keep: set[int]) -> None:
    """Delete files of other generations; open readers keep their open files (POSIX)."""
    for path in index_dir.iterdir():
        match = re.fullmatch(r"g(\d{6})\.(sqlite|faiss)(\.tmp)?(-journal)?", path.name)
        if match and int(match.group(1)) not in keep:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


# --- Reading -----------------------------------------------------------------


class Index:
    """A read-only view of one generation of an index folder.

    Thread-safe: each thread gets its own SQLite connection; the FAISS index is
    only read. The generation's database is opened at once and held, so the view
    stays whole even after later ingests delete its files: a thread that comes
    after that shares the held connection (SQLite serialises it).
    """

    def __init__(
        self,
        index_dir: Path,
        manifest: Manifest,
        faiss_index: Any,
        anchor: sqlite3.Connection | None = None,
    ) -> None:
        self.dir = index_dir
        self.manifest = manifest
        self.faiss = faiss_index
        self._local = threading.local()
        self._sqlite_path = index_dir / manifest.sqlite_name
        self._anchor = anchor or store.connect(self._sqlite_path, readonly=True)
        self._local.conn = self._anchor

    @classmethod
    def open(
        cls, index_dir: Path | str, *, model: str | None = None, dimension: int | None = None
    ) -> Index:
        """Open the current generation; refuse it if built with another model."""
        import faiss

        index_dir = Path(index_dir)
        for _ in range(10):
            manifest = read_manifest(index_dir)
            if manifest is None:
                raise IndexNotFoundError(str(index_dir))
            if model is not None and (
                model != manifest.model or (dimension and dimension != manifest.dimension)
            ):
                raise ModelMismatchError(
                    str(index_dir), manifest.model, manifest.dimension, model, dimension or 0
                )
            faiss_path = index_dir / manifest.faiss_name
            sqlite_path = index_dir / manifest.sqlite_name
            anchor = None
            try:
                if not sqlite_path.exists():
                    raise FileNotFoundError(sqlite_path)
                anchor = store.connect(sqlite_path, readonly=True)
                anchor.execute("SELECT 1 FROM documents LIMIT 1").fetchall()
                faiss_index = faiss.read_index(str(faiss_path), faiss.IO_FLAG_MMAP)
                # One query at a time needs no OpenMP team: its threads spin after
                # each search and starve SQLite on small machines (measured: semantic
                # 9-16 ms -> 1 ms, hybrid 72-100 ms -> 20-33 ms at 10k passages).
                faiss.omp_set_num_threads(1)
            except (FileNotFoundError, sqlite3.DatabaseError, RuntimeError) as exc:
                if anchor is not None:
                    anchor.close()
                if read_manifest(index_dir) != manifest:
                    continue  # a writer published meanwhile and removed these files: retry
                if not faiss_path.exists() or not sqlite_path.exists():
                    raise IndexCorruptError(
                        f"{index_dir}: generation {manifest.generation} is missing its files. "
                        f"Run `scrsearch rebuild --index {index_dir}` or re-ingest."
                    ) from exc
                first_line = (str(exc).strip().splitlines() or ["unreadable"])[0]
                raise IndexCorruptError(
                    f"{index_dir}: generation {manifest.generation} is unreadable "
                    f"({first_line}). Run `scrsearch check --index {index_dir}`."
                ) from exc
            return cls(index_dir, manifest, faiss_index, anchor)
        raise IndexCorruptError(f"{index_dir} keeps changing; try again when ingest has finished.")

    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = store.connect(self._sqlite_path, readonly=True)
                conn.execute("SELECT 1 FROM documents LIMIT 1").fetchall()
            except sqlite3.OperationalError:  # a newer ingest removed the file
                conn = self._anchor
            self._local.conn = conn
        return conn

    def close(self) -> None:
        """Close this thread's connection (the held one stays open for other threads)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and conn is not self._anchor:
            conn.close()
        self._local.conn = None

    @property
    def model(self) -> str:
        return self.manifest.model

"""ingest(): discover -> extract -> metadata -> chunk -> embed -> store -> index.

Ingestion is incremental (unchanged files are skipped by content hash), reports
every file's outcome, and is atomic: the new index generation becomes current only
once it is complete.
"""

from __future__ import annotations

import errno
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Config, load_config
from ..embed.base import Embedder, canonical_model_name
from ..embed.registry import load_embedder
from ..errors import ExtractionError, ModelMismatchError, ScrsearchError
from ..index import store
from ..index.generations import Manifest, read_manifest
from ..index.housekeeping import FETCHED_DIR
from ..index.transaction import write_transaction
from ..records import Chunk, Extracted, FileResult, Metadata
from ..themes.tagging import tag_passages
from .chunk import chunk_pages, embedding_text
from .discover import discover, file_sha256
from .download import DownloadProgress, DownloadSettings, download_all
from .extract import extract
from .fetch import FetchError, is_url
from .fetch_state import settle_downloads
from .metadata import apply_overrides, extract_metadata, read_sidecar

#: ``progress(stage, done, total)``; stages: fetch, extract, embed, index.
Progress = Callable[[str, int, int], None]

#: Passages embedded and written per transaction.
WRITE_BATCH = 1024


@dataclass(frozen=True)
class IngestReport:
    results: tuple[FileResult, ...]
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)
    embed_seconds: float = 0.0
    published: bool = False

    def by_status(self, status: str) -> list[FileResult]:
        return [r for r in self.results if r.status == status]

    @property
    def failed(self) -> list[FileResult]:
        return self.by_status("failed")

    @property
    def passages_added(self) -> int:
        return sum(r.passages for r in self.results if r.status in ("indexed", "replaced"))

    def summary(self) -> dict[str, Any]:
        statuses = ("indexed", "replaced", "unchanged", "duplicate", "failed", "skipped", "removed")
        return {
            **{s: len(self.by_status(s)) for s in statuses},
            "pages_added": sum(
                r.pages for r in self.results if r.status in ("indexed", "replaced")
            ),
            "passages_added": self.passages_added,
            "seconds": round(self.seconds, 2),
            "index": self.counts,
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``scrsearch ingest --json``: the summary, then every file."""
        return {"summary": self.summary(), "files": [r.to_dict() for r in self.results]}


@dataclass
class _Pending:
    path: Path
    source: str
    sha256: str
    size: int
    extracted: Extracted
    metadata: Metadata
    auto_metadata: Metadata
    chunks: list[Chunk]
    replaces: int | None
    extra: dict[str, Any]


def ingest(
    paths: Sequence[str | Path],
    *,
    config: Config | None = None,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
    prune: bool = False,
    rebuild: bool = False,
    ocr: Callable[[Path, int], str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    on_download: DownloadProgress | None = None,
) -> IngestReport:
    """Index files and folders into ``config.index``.

    Args:
        paths: files and folders (walked recursively).
        config: settings; defaults come from the environment.
        embedder: the model; if not given, the index's own, also when rebuilding
            (``config.model`` for a new index or when a model was chosen; see
            ``Config.model_for``).
        progress: called as ``progress(stage, done, total)``.
        prune: drop documents whose files are gone.
        rebuild: start a fresh index (with a chosen model: to change model).
        ocr: optional OCR of image-only PDF pages.
        overrides: metadata by source (a URL, or a file's resolved path) that wins
            over what extraction and sidecars find (a catalogue's rows); the user's
            corrections still win over it.
        on_download: called with a :class:`.download.DownloadTally` as each URL
            completes (URLs, bytes, failures).

    Returns:
        An :class:`IngestReport` with one result per file.
    """
    started = time.perf_counter()
    config = config or load_config()
    index_dir = config.index_dir
    if embedder is None:
        embedder = _index_embedder(config)
    model_name = canonical_model_name(embedder.name)
    urls = list(dict.fromkeys(str(p) for p in paths if is_url(p)))
    files, results = discover([p for p in paths if not is_url(p)])
    with write_transaction(index_dir, config=config) as tx:
        _check_model(tx.current, rebuild, model_name, embedder, index_dir)
        # Fetched while holding the lock: no other writer sweeps fetched/ meanwhile.
        origins = _fetch_urls(urls, index_dir, config, files, results, progress, on_download)
        conn = tx.begin(fresh=rebuild)
        pending, prepared = _prepare(
            files, conn, embedder, config, progress, ocr, origins, overrides
        )
        embed_seconds, written = _embed_and_write(pending, conn, embedder, config, progress)
        removed = _prune(conn) if prune else []
        results += prepared + written + removed
        updated = any(r.reason == "metadata" for r in prepared)  # _Preparer._unchanged
        if pending or removed or updated or tx.current is None or rebuild:
            manifest = tx.publish(model=model_name, dimension=embedder.dimension, progress=progress)
            counts = manifest.counts
        else:  # nothing changed: the transaction drops the generation
            counts = store.counts(conn)
    if urls:  # finished: next time these copies are revalidated, not taken as they are
        settle_downloads(index_dir / FETCHED_DIR, urls)
    return IngestReport(
        tuple(_in_given_order(results, files, origins)),
        time.perf_counter() - started,
        counts,
        embed_seconds,
        published=tx.published is not None,
    )


def _index_embedder(config: Config) -> Embedder:
    """The index's own model (rebuilt or not), unless one was chosen."""
    existing = read_manifest(config.index_dir)
    model = config.model_for(existing.model if existing is not None else None)
    return load_embedder(model, config.backend)


def _check_model(
    current: Manifest | None, rebuild: bool, model_name: str, embedder: Embedder, index_dir: Path
) -> None:
    """Refuse to add to an index built with another model (unless rebuilding it)."""
    if current is not None and not rebuild and current.model != model_name:
        raise ModelMismatchError(
            str(index_dir), current.model, current.dimension, model_name, embedder.dimension
        )


def _fetch_urls(
    urls: list[str],
    index_dir: Path,
    config: Config,
    files: list[Path],
    results: list[FileResult],
    progress: Progress | None,
    on_download: DownloadProgress | None = None,
) -> dict[Path, dict[str, Any]]:
    """Download the URLs (politely, resumably: see :mod:`.download`) into the index's
    ``fetched/`` folder; add each file to ``files``, or its failure to ``results``."""

    def tick(tally: Any) -> None:
        _tick(progress, "fetch", tally.done, tally.total)
        if on_download is not None:
            on_download(tally)

    settings = DownloadSettings.from_config(config)
    outcomes = download_all(urls, index_dir / FETCHED_DIR, settings, tick) if urls else {}
    origins: dict[Path, dict[str, Any]] = {}
    for url, fetched in outcomes.items():
        if isinstance(fetched, FetchError):
            results.append(FileResult(url, "failed", fetched.reason, str(fetched)))
        elif fetched.path in origins:  # the same bytes under the same name: one copy
            twin = origins[fetched.path]["url"]
            message = f"{url}: same content as {twin}, indexed once"
            results.append(FileResult(url, "duplicate", "duplicate", message))
        else:
            files.append(fetched.path)
            origins[fetched.path] = fetched.metadata(index_dir)
    return origins


def _in_given_order(
    results: list[FileResult], files: list[Path], origins: dict[Path, dict[str, Any]]
) -> list[FileResult]:
    """The results in the order the files were given, fetched files named by their URL."""
    shown = {str(p): origin["url"] for p, origin in origins.items()}
    named = [_shown_as_url(r, shown) for r in results]
    order = {shown.get(str(p), str(p)): i for i, p in enumerate(files)}
    return sorted(named, key=lambda r: order.get(r.path, len(order)))


def _shown_as_url(result: FileResult, shown: dict[str, str]) -> FileResult:
    """Report a fetched file by its URL rather than its stored copy."""
    url = shown.get(result.path)
    if url is None:
        return result
    message = result.message.replace(result.path, url) if result.message else None
    return replace(result, path=url, message=message)


def _prepare(
    files: list[Path],
    conn: Any,
    embedder: Embedder,
    config: Config,
    progress: Progress | None,
    ocr: Callable[[Path, int], str] | None,
    origins: dict[Path, dict[str, Any]] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[list[_Pending], list[FileResult]]:
    """Hash, extract, describe and chunk each new or changed file.

    Returns the files to embed, and a result for every other file. Each file
    ticks the ``extract`` progress once, whatever becomes of it.
    """
    prepare = _Preparer(conn, embedder, config, ocr, origins or {}, overrides or {})
    pending: list[_Pending] = []
    results: list[FileResult] = []
    for done, path in enumerate(files, start=1):
        outcome = prepare(path)
        if isinstance(outcome, _Pending):
            pending.append(outcome)
        else:
            results.append(outcome)
        _tick(progress, "extract", done, len(files))
    return pending, results


@dataclass
class _Preparer:
    """Decides what one ingest does with each file: skip it, or read it for embedding.

    ``origins`` maps fetched files to their URL details: such a document is keyed
    by its URL, and the details go into its ``extra``. ``overrides`` holds metadata
    by source (a catalogue's rows). Across files it remembers
    each folder's sidecar metadata and the content already taken in this run.
    """

    conn: Any
    embedder: Embedder
    config: Config
    ocr: Callable[[Path, int], str] | None
    origins: dict[Path, dict[str, Any]]
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    sidecars: dict[Path, dict[str, dict[str, Any]]] = field(default_factory=dict)
    taken: dict[str, str] = field(default_factory=dict)  # sha256 -> source

    def __call__(self, path: Path) -> _Pending | FileResult:
        origin = self.origins.get(path)
        source = origin["url"] if origin else str(path.resolve())
        try:
            sha = file_sha256(path)
            size = path.stat().st_size
        except OSError as exc:
            return _unreadable(path, exc)
        existing = store.find_by_source(self.conn, source)
        if existing is not None and existing.sha256 == sha:
            return self._unchanged(path, source, existing.doc_id)
        twin = self._twin(sha, source)
        if twin is not None:
            message = f"{path}: same content as {twin}, indexed once"
            return FileResult(str(path), "duplicate", "duplicate", message)
        try:
            extracted, auto, meta, chunks = self._read(path, source)
        except Exception as exc:  # noqa: BLE001 - one hostile file must not stop the batch
            return _read_failure(path, exc)
        if not chunks:
            return FileResult(str(path), "failed", "empty", f"{path}: no passages found")
        self.taken[sha] = source
        extra: dict[str, Any] = {"ocr": extracted.ocr, **(origin or {})}
        if extracted.warnings:
            extra["warnings"] = list(extracted.warnings)
        replaces = existing.doc_id if existing else None
        return _Pending(path, source, sha, size, extracted, meta, auto, chunks, replaces, extra)

    def _unchanged(self, path: Path, source: str, doc_id: int) -> FileResult:
        """An unchanged file. Metadata ``overrides`` gives it that it lacks (a corrected
        catalogue row) are set, unless the user corrected the field."""
        corrected = store.corrections_for(self.conn, source)
        wanted = {k: v for k, v in (self.overrides.get(source) or {}).items() if k not in corrected}
        doc = store.get_document(self.conn, doc_id) if wanted else None
        todo = {k: v for k, v in wanted.items() if doc and getattr(doc.metadata, k) != v}
        if not todo:
            return FileResult(str(path), "unchanged", doc_id=doc_id)
        with self.conn:
            store.set_metadata(self.conn, doc_id, todo, remember=False)
        message = f"{path}: unchanged; metadata updated ({', '.join(todo)})"
        return FileResult(str(path), "unchanged", "metadata", message, doc_id=doc_id)

    def _twin(self, sha: str, source: str) -> str | None:
        """Another source with this content, indexed or taken in this run, that still exists."""
        twin = store.find_by_hash(self.conn, sha)
        other = twin.source if twin is not None and twin.source != source else self.taken.get(sha)
        if other is None or other == source:
            return None
        return other if is_url(other) or Path(other).exists() else None

    def _read(self, path: Path, source: str) -> tuple[Extracted, Metadata, Metadata, list[Chunk]]:
        """Extract, describe (sidecar, then catalogue, then the user's corrections win)
        and chunk a file."""
        max_bytes = self.config.max_file_mb * 1024 * 1024
        extracted = extract(path, max_bytes=max_bytes, ocr=self.ocr)
        if path.parent not in self.sidecars:
            self.sidecars[path.parent] = read_sidecar(path.parent)
        auto = extract_metadata(extracted, path)
        meta = apply_overrides(auto, self.sidecars[path.parent].get(path.name))
        meta = apply_overrides(meta, dict(self.overrides.get(source) or {}))
        meta = apply_overrides(meta, store.corrections_for(self.conn, source))
        return extracted, auto, meta, _chunk(extracted, self.embedder, self.config)


def _unreadable(path: Path, exc: OSError) -> FileResult:
    fix = (
        "check its permissions"
        if exc.errno in (errno.EACCES, errno.EPERM)
        else "check the disk, or copy the file again"
    )
    message = f"{path}: cannot read the file ({exc.strerror}); {fix}"
    return FileResult(str(path), "failed", "unreadable", message)


def _read_failure(path: Path, exc: Exception) -> FileResult:
    """The result of a file that could not be read, described or chunked."""
    if isinstance(exc, ExtractionError):
        return FileResult(str(path), "failed", exc.reason, str(exc))
    if isinstance(exc, (ValueError, ScrsearchError)):
        return FileResult(str(path), "failed", "metadata", f"{path}: {exc}")
    message = (
        f"{path}: could not be read ({type(exc).__name__}: {exc}); "
        "check the file opens in its usual program"
    )
    return FileResult(str(path), "failed", "corrupt", message)


def _chunk(extracted: Extracted, embedder: Embedder, config: Config) -> list[Chunk]:
    chunks = chunk_pages(
        extracted.pages,
        embedder.count_tokens,
        max_tokens=embedder.max_tokens,
        target_tokens=config.chunk_tokens,
    )
    if not extracted.paged:  # one "page" of a format without pages: cite no page number
        chunks = [replace(c, page_start=None, page_end=None) for c in chunks]
    return chunks


def _embed_and_write(
    pending: list[_Pending],
    conn: Any,
    embedder: Embedder,
    config: Config,
    progress: Progress | None,
) -> tuple[float, list[FileResult]]:
    """Embed passages in large batches and write each batch in one transaction.

    Returns the seconds spent embedding and each file's result.
    """
    total = sum(len(p.chunks) for p in pending)
    done = 0
    seconds = 0.0
    results: list[FileResult] = []
    _tick(progress, "embed", 0, total)

    def step(n: int) -> None:
        nonlocal done
        done += n
        _tick(progress, "embed", done, total)

    for group in _write_batches(pending):
        texts = [embedding_text(c.text, c.heading) for p in group for c in p.chunks]
        t0 = time.perf_counter()
        vectors = embedder.embed_documents(texts, config.batch_size, step)
        seconds += time.perf_counter() - t0
        offset = 0
        with conn:
            for item in group:
                n = len(item.chunks)
                rows = vectors[offset : offset + n]
                results.append(_write_document(conn, item, rows, embedder, config))
                offset += n
    return seconds, results


def _write_batches(pending: list[_Pending]) -> Iterator[list[_Pending]]:
    """Whole documents, grouped until a group holds ``WRITE_BATCH`` passages."""
    group: list[_Pending] = []
    size = 0
    for item in pending:
        group.append(item)
        size += len(item.chunks)
        if size >= WRITE_BATCH:
            yield group
            group, size = [], 0
    if group:
        yield group


def _write_document(
    conn: Any, item: _Pending, vectors: np.ndarray, embedder: Embedder, config: Config
) -> FileResult:
    """Store one document, its passages and their theme tags (replacing its old version)."""
    if item.replaces is not None:
        store.delete_document(conn, item.replaces)
    doc_id = store.add_document(
        conn,
        source=item.source,
        sha256=item.sha256,
        fmt=item.extracted.format,
        paged=item.extracted.paged,
        pages=item.extracted.pages,
        metadata=item.metadata,
        extracted_metadata=item.auto_metadata,
        extra=item.extra,
        size=item.size,
    )
    title = item.metadata.title or item.path.name
    ids = store.add_chunks(conn, doc_id, title, item.chunks, vectors)
    tag_passages(conn, ids, item.chunks, vectors, embedder, config)
    return FileResult(
        str(item.path),
        "replaced" if item.replaces is not None else "indexed",
        doc_id=doc_id,
        pages=len(item.extracted.pages),
        passages=len(item.chunks),
        warnings=item.extracted.warnings,
    )


def _prune(conn: Any) -> list[FileResult]:
    removed = []
    for doc, _, extra in store.list_documents(conn):
        if extra.get("url"):
            continue
        if not Path(doc.source).exists():
            with conn:
                store.delete_document(conn, doc.doc_id)
            removed.append(
                FileResult(doc.source, "removed", "gone", f"{doc.source}: file gone, removed")
            )
    return removed


def _tick(progress: Progress | None, stage: str, done: int, total: int) -> None:
    if progress is not None:
        progress(stage, done, total)

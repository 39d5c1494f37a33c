"""ingest(): discover -> extract -> metadata -> chunk -> embed -> store -> index.

Ingestion is incremental (unchanged files are skipped by content hash), reports
every file's outcome, and is atomic: the new index generation becomes current only
once it is complete.
"""

from __future__ import annotations

import errno
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..config import Config, load_config
from ..embed.base import Embedder, canonical_model_name, load_embedder
from ..errors import ExtractionError, ModelMismatchError, ScrsearchError
from ..index import store
from ..index.generations import Manifest, read_manifest
from ..index.housekeeping import FETCHED_DIR
from ..index.transaction import write_transaction
from ..records import Chunk, Extracted, FileResult, Metadata
from ..themes.tagging import tag_passages
from .chunk import chunk_pages, embedding_text
from .discover import discover, file_sha256
from .extract import extract
from .fetch import FetchError, fetch_url, is_url
from .metadata import apply_overrides, extract_metadata, read_sidecar

#: ``progress(stage, done, total)``; stages: extract, embed, index.
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

    Returns:
        An :class:`IngestReport` with one result per file.
    """
    started = time.perf_counter()
    config = config or load_config()
    index_dir = config.index_dir
    if embedder is None:  # the index's own model (rebuilt or not), unless one was chosen
        existing = read_manifest(index_dir)
        model = config.model_for(existing.model if existing is not None else None)
        embedder = load_embedder(model, config.backend)
    model_name = canonical_model_name(embedder.name)
    urls = list(dict.fromkeys(str(p) for p in paths if is_url(p)))
    files, results = discover([p for p in paths if not is_url(p)])
    with write_transaction(index_dir, config=config) as tx:
        _check_model(tx.current, rebuild, model_name, embedder, index_dir)
        # Fetched while holding the lock: no other writer sweeps fetched/ meanwhile.
        origins = _fetch_urls(urls, index_dir, config, files, results, progress)
        conn = tx.begin(fresh=rebuild)
        pending, file_results, changed = _prepare(
            files, conn, embedder, config, progress, ocr, origins
        )
        results.extend(file_results)
        embed_seconds, written = _embed_and_write(pending, conn, embedder, config, progress)
        results.extend(written)
        if prune:
            removed = _prune(conn)
            results.extend(removed)
            changed = changed or bool(removed)
        if changed or tx.current is None or rebuild:
            counts = tx.publish(
                model=model_name, dimension=embedder.dimension, progress=progress
            ).counts
        else:
            counts = store.counts(conn)
    shown = {str(p): origin["url"] for p, origin in origins.items()}
    results = [_shown_as_url(r, shown) for r in results]
    order = {shown.get(str(p), str(p)): i for i, p in enumerate(files)}
    results.sort(key=lambda r: order.get(r.path, len(order)))
    return IngestReport(
        tuple(results),
        time.perf_counter() - started,
        counts,
        embed_seconds,
        tx.published is not None,
    )


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
) -> dict[Path, dict[str, Any]]:
    """Download each URL into the index's ``fetched/`` folder; add it to ``files``."""
    origins: dict[Path, dict[str, Any]] = {}
    for done, url in enumerate(urls, start=1):
        try:
            fetched = fetch_url(
                url, index_dir / FETCHED_DIR, max_bytes=config.max_file_mb * 1024 * 1024
            )
        except FetchError as exc:
            results.append(FileResult(url, "failed", exc.reason, str(exc)))
        else:
            files.append(fetched.path)
            origins[fetched.path] = fetched.metadata(index_dir)
        _tick(progress, "fetch", done, len(urls))
    return origins


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
) -> tuple[list[_Pending], list[FileResult], bool]:
    """Hash, extract, describe and chunk each new or changed file.

    ``origins`` maps fetched files to their URL details: such a document is keyed
    by its URL, and the details go into its ``extra``.
    """
    pending: list[_Pending] = []
    results: list[FileResult] = []
    sidecars: dict[Path, dict[str, dict[str, Any]]] = {}
    batch_hashes: dict[str, str] = {}
    changed = False
    max_bytes = config.max_file_mb * 1024 * 1024
    for done, path in enumerate(files, start=1):
        origin = (origins or {}).get(path)
        source = origin["url"] if origin else str(path.resolve())
        try:
            sha = file_sha256(path)
            size = path.stat().st_size
        except OSError as exc:
            results.append(
                FileResult(
                    str(path),
                    "failed",
                    "unreadable",
                    f"{path}: cannot read the file ({exc.strerror}); "
                    + (
                        "check its permissions"
                        if exc.errno in (errno.EACCES, errno.EPERM)
                        else "check the disk, or copy the file again"
                    ),
                )
            )
            continue
        existing = store.find_by_source(conn, source)
        if existing is not None and existing.sha256 == sha:
            results.append(FileResult(str(path), "unchanged", doc_id=existing.doc_id))
            _tick(progress, "extract", done, len(files))
            continue
        twin = store.find_by_hash(conn, sha)
        twin_source = (
            twin.source if twin is not None and twin.source != source else batch_hashes.get(sha)
        )
        if (
            twin_source is not None
            and (is_url(twin_source) or Path(twin_source).exists())
            and twin_source != source
        ):
            results.append(
                FileResult(
                    str(path),
                    "duplicate",
                    "duplicate",
                    f"{path}: same content as {twin_source}, indexed once",
                )
            )
            _tick(progress, "extract", done, len(files))
            continue
        try:
            extracted = extract(path, max_bytes=max_bytes, ocr=ocr)
            if path.parent not in sidecars:
                sidecars[path.parent] = read_sidecar(path.parent)
            auto = extract_metadata(extracted, path)
            meta = apply_overrides(auto, sidecars[path.parent].get(path.name))
            meta = apply_overrides(meta, store.corrections_for(conn, source))
            chunks = _chunk(extracted, embedder, config)
        except ExtractionError as exc:
            results.append(FileResult(str(path), "failed", exc.reason, str(exc)))
            _tick(progress, "extract", done, len(files))
            continue
        except (ValueError, ScrsearchError) as exc:
            results.append(FileResult(str(path), "failed", "metadata", f"{path}: {exc}"))
            _tick(progress, "extract", done, len(files))
            continue
        except Exception as exc:  # noqa: BLE001 - one hostile file must not stop the batch
            results.append(
                FileResult(
                    str(path),
                    "failed",
                    "corrupt",
                    f"{path}: could not be read ({type(exc).__name__}: {exc}); "
                    "check the file opens in its usual program",
                )
            )
            _tick(progress, "extract", done, len(files))
            continue
        if not chunks:
            results.append(FileResult(str(path), "failed", "empty", f"{path}: no passages found"))
            continue
        batch_hashes[sha] = source
        extra: dict[str, Any] = {"ocr": extracted.ocr, **(origin or {})}
        if extracted.warnings:
            extra["warnings"] = list(extracted.warnings)
        pending.append(
            _Pending(
                path,
                source,
                sha,
                size,
                extracted,
                meta,
                auto,
                chunks,
                existing.doc_id if existing else None,
                extra,
            )
        )
        changed = True
        _tick(progress, "extract", done, len(files))
    return pending, results, changed


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
    """Embed passages in large batches and write each batch in one transaction."""
    total = sum(len(p.chunks) for p in pending)
    done = 0
    seconds = 0.0
    results: list[FileResult] = []
    _tick(progress, "embed", 0, total)
    group: list[_Pending] = []

    def write(group: list[_Pending]) -> None:
        nonlocal done, seconds
        texts = [embedding_text(c.text, c.heading) for p in group for c in p.chunks]

        def step(n: int) -> None:
            nonlocal done
            done += n
            _tick(progress, "embed", done, total)

        t0 = time.perf_counter()
        vectors = embedder.embed_documents(texts, config.batch_size, step)
        seconds += time.perf_counter() - t0
        offset = 0
        with conn:
            for item in group:
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
                n = len(item.chunks)
                ids = store.add_chunks(
                    conn,
                    doc_id,
                    item.metadata.title or item.path.name,
                    item.chunks,
                    vectors[offset : offset + n],
                )
                tag_passages(conn, ids, item.chunks, vectors[offset : offset + n], embedder, config)
                offset += n
                results.append(
                    FileResult(
                        str(item.path),
                        "replaced" if item.replaces is not None else "indexed",
                        doc_id=doc_id,
                        pages=len(item.extracted.pages),
                        passages=n,
                        warnings=item.extracted.warnings,
                    )
                )

    size = 0
    for item in pending:
        group.append(item)
        size += len(item.chunks)
        if size >= WRITE_BATCH:
            write(group)
            group, size = [], 0
    if group:
        write(group)
    return seconds, results


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

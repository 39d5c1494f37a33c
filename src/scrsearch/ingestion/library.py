"""Building the collection: list, read, correct, add and remove documents.

Every change is one write transaction that publishes a new generation (see
:mod:`scrsearch.index.transaction`), so the SQLite database and the FAISS file always change
together and readers never see half a change. Metadata corrections are recorded
by :func:`scrsearch.index.store.set_metadata`, so a later re-ingest of the same file
keeps them.

Uploaded files are stored inside the index's own folder, under
``uploads/<random id>/<sanitised name>``: no name a user gives ever reaches the
file system unchecked, and the file keeps its own name for metadata detection.
"""

from __future__ import annotations

import json
import re
import shutil
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..config import Config, load_config
from ..embed.base import Embedder
from ..errors import NotFoundError, ScrsearchError
from ..index import store
from ..index.generations import Index
from ..index.transaction import write_transaction
from ..records import LEARNING_SECTIONS, PAGE_JOIN, Chunk, Document, Page
from .extract import FORMATS
from .metadata import MetadataError as MetadataError  # re-exported: corrections raise it
from .metadata import clean_metadata
from .pipeline import FileResult, IngestReport, ingest

#: Folder inside an index that holds uploaded files.
UPLOADS = "uploads"

#: File name endings an upload may have.
UPLOAD_SUFFIXES = tuple(sorted(FORMATS))

Progress = Callable[[str, int, int], None]


class UploadRejectedError(ScrsearchError):
    """An upload refused before ingestion; ``reason`` is short and machine-friendly."""

    def __init__(self, name: str, reason: str, detail: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"{name}: {detail}")


# --- Reading -------------------------------------------------------------------


@dataclass(frozen=True)
class LibraryRow:
    """One indexed document with its counts, for the library table."""

    document: Document
    passages: int
    sections: dict[str, int]
    extra: dict[str, Any]
    uploaded: bool

    @property
    def file_name(self) -> str:
        return Path(self.document.source).name

    def to_dict(self) -> dict[str, Any]:
        """One entry of ``scrsearch docs --json``: the document, its metadata and counts,
        then what its ingest recorded (e.g. the URL a fetched page came from)."""
        d = self.document
        return {
            "doc_id": d.doc_id,
            "title": d.title,
            "source": d.source,
            **d.metadata.to_dict(),
            "format": d.format,
            "pages": d.n_pages if d.paged else None,
            "passages": self.passages,
            **self.extra,
        }


def documents(index: Index) -> list[LibraryRow]:
    """Every indexed document with its passage and section counts."""
    conn = index.conn()
    sections: dict[int, dict[str, int]] = {}
    for doc_id, section, n in conn.execute(
        "SELECT doc_id, section, COUNT(*) FROM chunks GROUP BY doc_id, section"
    ):
        sections.setdefault(doc_id, {})[section] = n
    uploads = uploads_dir(index.dir)
    return [
        LibraryRow(doc, n, sections.get(doc.doc_id, {}), extra, _inside(doc.source, uploads))
        for doc, n, extra in store.list_documents(conn)
    ]


@dataclass(frozen=True)
class Review:
    """One document opened for reading: its pages, passages and learning."""

    document: Document
    pages: tuple[Page, ...]
    chunks: tuple[Chunk, ...]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def learning(self) -> list[Chunk]:
        """The passages of its lessons and recommendations sections, in order."""
        return [c for c in self.chunks if c.section in LEARNING_SECTIONS]

    @property
    def page_numbers(self) -> list[int]:
        return [p.number for p in self.pages]

    def page(self, number: int) -> Page:
        for page in self.pages:
            if page.number == number:
                return page
        return self.pages[0]

    def chunk(self, chunk_id: int | None) -> Chunk | None:
        return next((c for c in self.chunks if c.chunk_id == chunk_id), None)

    def page_of(self, chunk: Chunk) -> int:
        """The page a passage starts on (the first page for formats without pages)."""
        if chunk.page_start is not None:
            return chunk.page_start
        start = 0
        for page in self.pages:
            end = start + len(page.text)
            if chunk.char_start < end + len(PAGE_JOIN):
                return page.number
            start = end + len(PAGE_JOIN)
        return self.pages[-1].number if self.pages else 1

    def page_segments(self, number: int, chunk: Chunk | None) -> list[tuple[str, bool]]:
        """Split a page's text into ``(piece, in_passage)`` pairs, marking ``chunk``."""
        start = 0
        for page in self.pages:
            if page.number == number:
                break
            start += len(page.text) + len(PAGE_JOIN)
        text = self.page(number).text
        if chunk is None:
            return [(text, False)] if text else []
        lo = max(0, chunk.char_start - start)
        hi = min(len(text), chunk.char_end - start)
        if lo >= hi:
            return [(text, False)] if text else []
        pieces = [(text[:lo], False), (text[lo:hi], True), (text[hi:], False)]
        return [(t, m) for t, m in pieces if t]

    @property
    def file(self) -> Path | None:
        """The original file, if it is still where it was indexed from."""
        path = Path(self.document.source)
        return path if path.is_file() else None


def open_review(index: Index, doc_ref: str | int) -> Review:
    """Load one document by id, source path, file name or title.

    Raises:
        NotFoundError: no single document matches ``doc_ref``.
    """
    conn = index.conn()
    doc = store.get_document(conn, doc_ref)
    if doc is None:
        raise NotFoundError(
            f"No document '{doc_ref}' in {index.dir}. List them with: scrsearch docs"
        )
    row = conn.execute("SELECT extra FROM documents WHERE id = ?", (doc.doc_id,)).fetchone()
    extra = json.loads(row[0] or "{}") if row else {}
    return Review(
        doc,
        tuple(store.get_pages(conn, doc.doc_id)),
        tuple(store.document_chunks(conn, doc.doc_id)),
        extra,
    )


# --- Correcting metadata -------------------------------------------------------


def correct_metadata(
    index_dir: str | Path,
    doc_ref: str | int,
    changes: dict[str, Any],
    *,
    config: Config | None = None,
) -> Document:
    """Correct a document's metadata in a new index generation and remember it.

    Returns the corrected document. A correction that changes nothing publishes
    nothing.

    Raises:
        IndexNotFoundError, NotFoundError, MetadataError.
    """
    index_dir = Path(index_dir)
    cleaned = clean_metadata(changes)
    config = config or load_config(index=str(index_dir))
    with write_transaction(index_dir, config=config) as tx:
        tx.require_current()
        conn = tx.begin()
        doc = _find(conn, doc_ref, index_dir)
        current = doc.metadata.to_dict()
        todo = {k: v for k, v in cleaned.items() if current.get(k) != v}
        if todo:
            with conn:
                store.set_metadata(conn, doc.doc_id, todo)
            # The vectors are unchanged: FAISS is rebuilt from the stored ones.
            tx.publish()
    return replace(doc, metadata=replace(doc.metadata, **todo))


# --- Removing ------------------------------------------------------------------


def remove_document(
    index_dir: str | Path, doc_ref: str | int, *, config: Config | None = None
) -> Document:
    """Remove a document in a new index generation; delete it too if it was uploaded.

    A file outside the index folder stays on disk: ingesting its folder again
    brings it back.

    Raises:
        IndexNotFoundError, NotFoundError.
    """
    index_dir = Path(index_dir)
    config = config or load_config(index=str(index_dir))
    with write_transaction(index_dir, config=config) as tx:
        tx.require_current()
        conn = tx.begin()
        doc = _find(conn, doc_ref, index_dir)
        with conn:
            store.delete_document(conn, doc.doc_id)
        tx.publish()
    discard_upload(index_dir, Path(doc.source))
    return doc


# --- Uploads -------------------------------------------------------------------


def uploads_dir(index_dir: str | Path) -> Path:
    return Path(index_dir) / UPLOADS


def sanitise_name(name: str) -> str:
    """A safe file name: no folders, no leading dots, only ``[A-Za-z0-9._-]``."""
    base = re.split(r"[\\/]", name)[-1]
    base = "".join(c for c in unicodedata.normalize("NFKD", base) if not unicodedata.combining(c))
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem)
    stem = re.sub(r"-{2,}", "-", stem).strip(".-_")[:100] or "upload"
    suffix = re.sub(r"[^A-Za-z0-9]+", "", suffix)[:10]
    return f"{stem}.{suffix.lower()}" if suffix else stem


def check_upload(name: str, size: int, *, max_mb: int) -> None:
    """Refuse an upload of the wrong type, empty or too large.

    Raises:
        UploadRejectedError: naming the reason and the fix.
    """
    suffix = Path(sanitise_name(name)).suffix.lower()
    if suffix not in FORMATS:
        raise UploadRejectedError(
            name,
            "unsupported",
            f"unsupported file type '{suffix or '(none)'}' "
            f"(upload {', '.join(s.lstrip('.').upper() for s in UPLOAD_SUFFIXES)})",
        )
    if size == 0:
        raise UploadRejectedError(name, "empty", "the file is empty (0 bytes)")
    if size > max_mb * 1024 * 1024:
        raise UploadRejectedError(
            name,
            "too-large",
            f"the file is {size / 1e6:.0f} MB, over the {max_mb} MB limit "
            "(raise SCRSEARCH_MAX_FILE_MB if it is genuine)",
        )


def save_upload(index_dir: str | Path, name: str, data: bytes, *, max_mb: int = 200) -> Path:
    """Check an upload and store it as ``uploads/<random id>/<sanitised name>``."""
    check_upload(name, len(data), max_mb=max_mb)
    folder = uploads_dir(index_dir) / uuid.uuid4().hex
    folder.mkdir(parents=True)
    path = folder / sanitise_name(name)
    path.write_bytes(data)
    return path


def discard_upload(index_dir: str | Path, path: Path) -> bool:
    """Delete an uploaded file and its folder; files elsewhere are never touched."""
    uploads = uploads_dir(index_dir).resolve()
    path = path.resolve()
    if not _inside(str(path), uploads) or path.parent == uploads:
        return False
    shutil.rmtree(path.parent, ignore_errors=True)
    return True


def add_uploads(
    index_dir: str | Path,
    files: Sequence[tuple[str, bytes]],
    *,
    config: Config | None = None,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
) -> tuple[list[FileResult], IngestReport | None]:
    """Check, store and ingest uploaded ``(name, content)`` files.

    Files that fail or duplicate an indexed file are not kept. Every file gets one
    result, in the order given, whose ``path`` and messages name the upload as the
    user named it, not where it was stored.
    """
    index_dir = Path(index_dir)
    config = config or load_config(index=str(index_dir))
    config = config.with_overrides(index=str(index_dir))
    outcomes: dict[int, FileResult] = {}
    saved: dict[str, tuple[int, str]] = {}
    for i, (name, data) in enumerate(files):
        try:
            path = save_upload(index_dir, name, data, max_mb=config.max_file_mb)
        except UploadRejectedError as exc:
            outcomes[i] = FileResult(name, "failed", exc.reason, str(exc))
            continue
        saved[str(path.resolve())] = (i, name)
    report = None
    if saved:
        try:
            report = ingest(list(saved), config=config, embedder=embedder, progress=progress)
        except BaseException:
            for stored in saved:
                discard_upload(index_dir, Path(stored))
            raise
        for result in report.results:
            i, name = saved.get(str(Path(result.path).resolve()), (-1, result.path))
            if i < 0:
                continue
            outcomes[i] = _as_uploaded(name, result)
            if not outcomes[i].ok:
                discard_upload(index_dir, Path(result.path))
    return [outcomes[i] for i in sorted(outcomes)], report


def _as_uploaded(name: str, result: FileResult) -> FileResult:
    """``result`` told under the upload's own name instead of where it was stored."""

    def rename(text: str | None) -> str | None:
        if text is None:
            return None
        return text.replace(str(Path(result.path).resolve()), name).replace(result.path, name)

    return replace(
        result,
        path=name,
        message=rename(result.message),
        warnings=tuple(rename(w) or "" for w in result.warnings),
    )


# --- Helpers -------------------------------------------------------------------


def _inside(source: str, folder: Path) -> bool:
    try:
        Path(source).resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _find(conn: Any, doc_ref: str | int, index_dir: Path) -> Document:
    doc = store.get_document(conn, doc_ref)
    if doc is None:
        raise NotFoundError(
            f"No document '{doc_ref}' in {index_dir}. List them with: "
            f"scrsearch docs --index {index_dir}"
        )
    return doc

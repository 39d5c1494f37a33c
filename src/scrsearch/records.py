"""Frozen dataclasses that flow between the pipeline stages."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

#: Section labels a passage can carry.
SECTIONS = ("lessons", "recommendations", "findings", "background", "chronology", "other")
#: The sections that hold a review's learning (the Review page's, Like my case's).
LEARNING_SECTIONS = ("lessons", "recommendations")

#: Review types a document can carry.
REVIEW_TYPES = (
    "scr",
    "cspr",
    "briefing",
    "7-minute-briefing",
    "sar",
    "dhr",
    "pfd",
    "guidance",
    "other",
)

NATIONS = ("england", "wales", "scotland", "northern-ireland")


@dataclass(frozen=True)
class Metadata:
    """What we know about a review. Unknown is ``None``, never a guess."""

    title: str | None = None
    review_name: str | None = None
    partnership: str | None = None
    year: int | None = None
    review_type: str | None = None
    nation: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: Metadata fields a user may set or override (sidecar manifest, app corrections).
METADATA_FIELDS = tuple(f.name for f in fields(Metadata))


@dataclass(frozen=True)
class Page:
    """One page of extracted text. ``number`` is 1-based."""

    number: int
    text: str


@dataclass(frozen=True)
class Extracted:
    """The text of one file, as the extractor read it.

    Attributes:
        pages: the pages in order; formats without pages give one page.
        paged: whether the format has real page numbers (PDF) or not.
        format: ``pdf``, ``html``, ``docx`` or ``text``.
        title: a title the format itself declares (PDF info, HTML <title>), if any.
        warnings: problems that did not stop extraction (e.g. unreadable pages).
        ocr: whether any page's text came from OCR.
    """

    pages: tuple[Page, ...]
    paged: bool
    format: str
    title: str | None = None
    warnings: tuple[str, ...] = ()
    ocr: bool = False

    @property
    def text(self) -> str:
        return PAGE_JOIN.join(p.text for p in self.pages)


#: Separator between pages in a document's full text; offsets count it.
PAGE_JOIN = "\n\n"


@dataclass(frozen=True)
class Document:
    """An indexed file."""

    doc_id: int
    source: str
    sha256: str
    format: str
    paged: bool
    n_pages: int
    metadata: Metadata = field(default_factory=Metadata)
    #: Whether any of its text was read by OCR (a scanned report): check quotes.
    ocr: bool = False

    @property
    def title(self) -> str:
        return self.metadata.title or self.source.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Chunk:
    """A passage: the unit we embed, search and cite.

    ``char_start``/``char_end`` index the document's full text (pages joined by
    :data:`PAGE_JOIN`). ``page_start``/``page_end`` are 1-based and ``None`` for
    formats without pages.
    """

    chunk_id: int
    doc_id: int
    seq: int
    text: str
    page_start: int | None
    page_end: int | None
    char_start: int
    char_end: int
    section: str
    heading: str | None = None

    def cited(self) -> dict[str, Any]:
        """The passage as the lesson lists of ``compare --json`` and ``match-case --json``
        cite it: id, section, heading, pages and text."""
        return {
            "chunk_id": self.chunk_id,
            "section": self.section,
            "heading": self.heading,
            "page_start": self.page_start,
            "page_end": self.page_end,
            "text": self.text,
        }


@dataclass(frozen=True)
class Hit:
    """A search result."""

    chunk: Chunk
    document: Document
    score: float
    rank: int
    method: str

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON contract of ``scrsearch search --json`` (see README)."""
        meta = self.document.metadata
        return {
            "rank": self.rank,
            "score": round(float(self.score), 6),
            "method": self.method,
            "chunk_id": self.chunk.chunk_id,
            "doc_id": self.document.doc_id,
            "title": self.document.title,
            "source": self.document.source,
            "review_name": meta.review_name,
            "partnership": meta.partnership,
            "year": meta.year,
            "review_type": meta.review_type,
            "nation": meta.nation,
            "page_start": self.chunk.page_start,
            "page_end": self.chunk.page_end,
            "section": self.chunk.section,
            "heading": self.chunk.heading,
            "char_start": self.chunk.char_start,
            "char_end": self.chunk.char_end,
            "text": self.chunk.text,
            "ocr": self.document.ocr,
        }


@dataclass(frozen=True)
class FileResult:
    """What happened to one file.

    ``status`` is one of: indexed, replaced, unchanged, duplicate, failed, skipped, removed.
    """

    path: str
    status: str
    reason: str | None = None
    message: str | None = None
    doc_id: int | None = None
    pages: int = 0
    passages: int = 0
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """The file's text is in the index (indexed, replaced or unchanged)."""
        return self.status in ("indexed", "replaced", "unchanged")

    def to_dict(self) -> dict[str, Any]:
        """One entry of ``scrsearch ingest --json``'s ``files``."""
        return asdict(self) | {"warnings": list(self.warnings)}

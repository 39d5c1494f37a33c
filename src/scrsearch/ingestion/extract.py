"""File -> :class:`Extracted` text with pages, for PDF, HTML, DOCX, TXT and MD.

Every failure raises a typed :class:`~scrsearch.errors.ExtractionError` that names
the file, the reason and the fix, so one bad file never stops a batch.
"""

from __future__ import annotations

import codecs
import logging
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import (
    CorruptFileError,
    EmptyFileError,
    EncryptedFileError,
    FileTooLargeError,
    NoTextLayerError,
    UnsupportedFormatError,
)
from ..records import Extracted, Page

FORMATS = {
    ".pdf": "pdf",
    ".html": "html",
    ".htm": "html",
    ".docx": "docx",
    ".txt": "text",
    ".md": "text",
    ".markdown": "text",
}

#: The smallest amount of text (characters, whole file) that counts as content.
MIN_TEXT_CHARS = 20
#: Caps that keep a hostile DOCX (a zip bomb) from exhausting memory.
MAX_DOCX_UNCOMPRESSED = 200 * 1024 * 1024
MAX_DOCX_RATIO = 200

OCR_FIX = (
    "to read scanned reports install OCR: apt-get install tesseract-ocr && "
    "pip install 'scrsearch[ocr]'"
)


def supported(path: Path) -> bool:
    return path.suffix.lower() in FORMATS


def extract(
    path: Path,
    *,
    max_bytes: int | None = None,
    ocr: Callable[[Path, int], str] | None = None,
) -> Extracted:
    """Read one file into pages of text.

    Args:
        path: the file.
        max_bytes: refuse files larger than this.
        ocr: optional ``(pdf_path, page_number) -> text`` used for PDF pages
            that have no text layer.

    Raises:
        ExtractionError: a subclass naming the reason.
    """
    name = str(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UnsupportedFormatError(
            name,
            f"unsupported file type '{path.suffix or '(none)'}'",
            "convert it to PDF, HTML, DOCX, TXT or MD",
        )
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise CorruptFileError(name, f"cannot read the file: {exc.strerror}") from exc
    if size == 0:
        raise EmptyFileError(name, "the file is empty (0 bytes)")
    if max_bytes is not None and size > max_bytes:
        raise FileTooLargeError(
            name,
            f"the file is {size / 1e6:.0f} MB, over the {max_bytes / 1e6:.0f} MB limit",
            "raise SCRSEARCH_MAX_FILE_MB if it is genuine",
        )
    try:
        with path.open("rb") as fh:
            head = fh.read(2048)
    except OSError as exc:
        raise CorruptFileError(name, f"cannot read the file: {exc.strerror}") from exc
    if fmt == "pdf":
        result = _extract_pdf(path, head, ocr)
    elif fmt == "docx":
        result = _extract_docx(path, head)
    elif fmt == "html":
        result = _extract_html(path)
    else:
        result = _extract_text(path)
    if sum(len(p.text.strip()) for p in result.pages) < MIN_TEXT_CHARS:
        raise EmptyFileError(name, "no text found in the file")
    return result


# --- PDF -------------------------------------------------------------------

_HYPHEN_BREAK = re.compile(r"(\w)-[ \t]*\n[ \t]*([a-z])")
_PAGE_NUMBER_LINE = re.compile(r"^\s*(page\s*)?\d{1,4}(\s*(of|/)\s*\d{1,4})?\s*$", re.I)


def join_hyphenated(text: str) -> str:
    """Join words hyphenated across line ends: ``safe-\\nguarding`` -> ``safeguarding``."""
    return _HYPHEN_BREAK.sub(r"\1\2", text)


def strip_running_lines(pages: list[str]) -> list[str]:
    """Remove page-number lines and headers/footers repeated on most pages."""

    def key(line: str) -> str:
        return re.sub(r"\d+", "#", line.strip().lower())

    edge_counts: Counter[str] = Counter()
    for text in pages:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        edges = {key(ln) for ln in _edges(lines)}
        edge_counts.update(edges)
    threshold = max(3, int(len(pages) * 0.6) + 1) if len(pages) >= 3 else None
    repeated = {k for k, n in edge_counts.items() if threshold and n >= threshold}
    cleaned = []
    for text in pages:
        lines = text.splitlines()
        nonblank = [i for i, ln in enumerate(lines) if ln.strip()]
        edge_idx = set(_edges(nonblank))
        kept = [
            ln
            for i, ln in enumerate(lines)
            if not (i in edge_idx and (key(ln) in repeated or _PAGE_NUMBER_LINE.match(ln)))
        ]
        cleaned.append("\n".join(kept).strip())
    return cleaned


def _edges(lines: list) -> list:  # type: ignore[type-arg]
    """The lines where headers and footers live: two at each end of a full page."""
    n = 2 if len(lines) >= 5 else 1
    return lines[:n] + lines[-n:]


def _pdf_title(reader) -> str | None:  # type: ignore[no-untyped-def]
    try:
        title = (reader.metadata or {}).get("/Title")
    except Exception:  # noqa: BLE001 - metadata is optional and often broken
        return None
    if not title or not isinstance(title, str):
        return None
    title = title.strip()
    if re.match(r"^(microsoft (word|powerpoint) - |untitled)", title, re.I) or re.search(
        r"\.(docx?|pdf|rtf)$", title, re.I
    ):
        return None
    return title or None


def _extract_pdf(path: Path, head: bytes, ocr: Callable[[Path, int], str] | None) -> Extracted:
    name = str(path)
    reader, n_pages = _open_pdf(path, head)
    read = _read_pdf_pages(reader, n_pages, path, ocr)
    if len(read.empty) == n_pages:
        if read.bad:
            raise CorruptFileError(name, "no page of the PDF could be read")
        raise NoTextLayerError(
            name,
            "image-only PDF: no page has a text layer",
            OCR_FIX if ocr is None else "OCR found no text either",
        )
    if read.bad:
        read.warnings.append(
            f"{name}: damaged PDF, {len(read.bad)} of {n_pages} pages could not be read "
            f"(pages {_ranges(read.bad)}); the rest is indexed"
        )
    cleaned = strip_running_lines(read.texts)
    pages = tuple(Page(i + 1, t) for i, t in enumerate(cleaned))
    return Extracted(
        pages, True, "pdf", title=_pdf_title(reader), warnings=tuple(read.warnings), ocr=read.ocr
    )


def _open_pdf(path: Path, head: bytes) -> tuple[Any, int]:
    """A reader of the PDF (decrypted when it opens without a password) and its page count."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

    name = str(path)
    if b"%PDF" not in head[:1024]:
        raise CorruptFileError(
            name, "not a PDF file (no PDF header)", "check the file type and rename it"
        )
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(path, strict=False)
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except (NotImplementedError, DependencyError) as exc:
                raise EncryptedFileError(
                    name, f"encrypted with an unsupported scheme ({exc})"
                ) from exc
            if not ok:
                raise EncryptedFileError(
                    name,
                    "the PDF is password-protected",
                    "save an unprotected copy (e.g. print to PDF) and ingest that",
                )
        n_pages = len(reader.pages)
    except EncryptedFileError:
        raise
    except FileNotDecryptedError as exc:
        raise EncryptedFileError(name, "the PDF is password-protected") from exc
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise CorruptFileError(
            name, f"corrupt or truncated PDF ({exc})", "re-download or re-export the file"
        ) from exc
    if n_pages == 0:
        raise EmptyFileError(name, "the PDF has no pages")
    return reader, n_pages


@dataclass
class _PdfPages:
    """Each page's text, and which pages were damaged, empty or read by OCR."""

    texts: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    bad: list[int] = field(default_factory=list)
    empty: list[int] = field(default_factory=list)
    ocr: bool = False


def _read_pdf_pages(
    reader: Any, n_pages: int, path: Path, ocr: Callable[[Path, int], str] | None
) -> _PdfPages:
    """Every page's text layer; OCR (if given) reads pages that have none."""
    out = _PdfPages()
    for number in range(1, n_pages + 1):
        try:
            text = reader.pages[number - 1].extract_text() or ""
        except Exception:  # noqa: BLE001 - pypdf raises many types on damaged pages
            out.bad.append(number)
            text = ""
        if not text.strip() and ocr is not None and number not in out.bad:
            try:
                text = ocr(path, number)
            except Exception as exc:  # noqa: BLE001 - a page OCR cannot read is skipped
                out.warnings.append(f"{path}: OCR failed on page {number} ({exc})")
                text = ""
            out.ocr = out.ocr or bool(text.strip())
        if not text.strip():
            out.empty.append(number)
        out.texts.append(join_hyphenated(text))
    return out


def _ranges(numbers: list[int]) -> str:
    out: list[str] = []
    for n in numbers:
        if out and int(out[-1].split("-")[-1]) == n - 1:
            out[-1] = out[-1].split("-")[0] + f"-{n}"
        else:
            out.append(str(n))
    return ", ".join(out)


# --- DOCX ------------------------------------------------------------------


def _extract_docx(path: Path, head: bytes) -> Extracted:
    name = str(path)
    if head.startswith(b"\xd0\xcf\x11\xe0"):  # an OLE container: encrypted DOCX, or a .doc
        raise EncryptedFileError(
            name,
            "a password-protected or old-format (.doc) Word file",
            "open it in Word, remove any password and save it as .docx",
        )
    if not head.startswith(b"PK"):
        raise CorruptFileError(name, "not a DOCX file (not a ZIP archive)")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            total = sum(i.file_size for i in infos)
            packed = sum(i.compress_size for i in infos) or 1
            if "word/document.xml" not in zf.namelist():
                raise CorruptFileError(name, "ZIP archive without word/document.xml: not a DOCX")
            if any(_declares_entities(zf, i) for i in infos[:200]):
                raise CorruptFileError(
                    name,
                    "the DOCX declares XML entities (a DTD), refused as unsafe",
                    "open it in Word and save a fresh copy",
                )
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise CorruptFileError(name, f"corrupt DOCX ({exc})") from exc
    if total > MAX_DOCX_UNCOMPRESSED or total / packed > MAX_DOCX_RATIO:
        raise FileTooLargeError(
            name,
            f"DOCX expands to {total / 1e6:.0f} MB (ratio {total / packed:.0f}:1), "
            "refused as a possible zip bomb",
        )
    import docx

    try:
        document = docx.Document(str(path))
    except Exception as exc:  # noqa: BLE001 - python-docx wraps lxml/zip errors loosely
        raise CorruptFileError(name, f"corrupt DOCX ({exc})") from exc
    lines: list[str] = []
    counters: dict[str, int] = {}
    for block in document.element.body.iterchildren():
        tag = block.tag.rsplit("}", 1)[-1]
        if tag == "p":
            lines.extend(_docx_paragraph(block, document, counters))
        elif tag == "tbl":
            counters.clear()
            for row in block.iter("{*}tr"):
                cells = ["".join(t.text or "" for t in c.iter("{*}t")) for c in row.iter("{*}tc")]
                lines.append(" | ".join(c.strip() for c in cells if c.strip()))
            lines.append("")
    title = (document.core_properties.title or "").strip() or None
    return Extracted((Page(1, "\n".join(lines).strip()),), False, "docx", title=title)


def _declares_entities(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    """Whether an XML part starts with a DTD: Word never writes one, attacks do
    (billion laughs, external entities)."""
    if not info.filename.endswith((".xml", ".rels")):
        return False
    with zf.open(info) as fh:
        head = fh.read(4096)
    return b"<!DOCTYPE" in head.upper() or b"<!ENTITY" in head.upper()


def _docx_paragraph(block, document, counters: dict[str, int]) -> list[str]:  # type: ignore[no-untyped-def]
    from docx.text.paragraph import Paragraph

    para = Paragraph(block, document)
    text = para.text.strip()
    style = (para.style.name if para.style is not None else "") or ""
    if not text:
        return []
    if style.startswith("Heading") or style == "Title":
        counters.clear()
        level = style.removeprefix("Heading").strip()
        hashes = "#" * (int(level) if level.isdigit() else 1)
        return ["", f"{hashes} {text}", ""]
    numbered = "Number" in style or block.find(".//{*}numPr") is not None
    if numbered and "Bullet" not in style:
        counters[style] = counters.get(style, 0) + 1
        return ["", f"{counters[style]}. {text}"]
    if "Bullet" in style:
        return [f"• {text}"]
    counters.clear()
    return ["", text]


# --- HTML ------------------------------------------------------------------


def _extract_html(path: Path) -> Extracted:
    import trafilatura

    name = str(path)
    raw = path.read_bytes()
    if b"\x00" in raw[:4096]:
        raise CorruptFileError(name, "binary data in an HTML file")
    html = decode_text(raw)
    try:
        text = trafilatura.extract(
            html,
            output_format="markdown",
            include_formatting=True,
            include_comments=False,
            include_tables=True,
            favor_recall=True,
        )
        meta = trafilatura.extract_metadata(html)
    except Exception as exc:  # noqa: BLE001 - malformed markup raises many lxml types
        raise CorruptFileError(name, f"malformed HTML ({exc})") from exc
    if not text or not text.strip():
        raise EmptyFileError(name, "no main text found in the HTML page")
    text = re.sub(r"\*\*(.+?)\*\*", r"\1", text)
    title = meta.title.strip() if meta is not None and meta.title else None
    return Extracted((Page(1, text.strip()),), False, "html", title=title)


# --- Plain text ------------------------------------------------------------


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler: read bytes that are not UTF-8 as Windows-1252."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return exc.object[exc.start : exc.end].decode("cp1252", errors="replace"), exc.end


codecs.register_error("scrsearch-cp1252", _cp1252_fallback)

_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


def decode_text(raw: bytes) -> str:
    """Decode bytes of unknown encoding.

    UTF-8 (with or without a BOM) and UTF-16 with a BOM come first. A mixed file,
    mostly UTF-8 with some Windows-1252 bytes pasted in, keeps its UTF-8 and reads
    the rest as Windows-1252. Otherwise Windows-1252, the usual legacy encoding of UK
    reports, wins whenever the detector finds it plausible; then the detector's guess.
    """
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16", errors="replace")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    if len(_UTF8_MULTIBYTE.findall(raw[:1_000_000])) >= 2:
        return raw.decode("utf-8-sig", errors="scrsearch-cp1252")
    from charset_normalizer import from_bytes

    matches = from_bytes(raw)
    best = matches.best()
    if best is not None and not any(m.encoding == "cp1252" for m in matches):
        return str(best)
    return raw.decode("cp1252", errors="replace")


def _extract_text(path: Path) -> Extracted:
    name = str(path)
    raw = path.read_bytes()
    sample = raw[:8192]
    utf16 = raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if not utf16 and (b"\x00" in sample or _control_ratio(sample) > 0.1):
        raise UnsupportedFormatError(
            name, "binary data, not text", "check the file; only real text files can be indexed"
        )
    text = decode_text(raw).replace("\r\n", "\n").replace("\r", "\n")
    return Extracted((Page(1, text.strip()),), False, "text")


def _control_ratio(data: bytes) -> float:
    if not data:
        return 0.0
    controls = sum(1 for b in data if b < 32 and b not in (9, 10, 12, 13))
    return controls / len(data)

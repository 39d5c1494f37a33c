"""Result lists as CSV and Markdown, every passage cited.

A citation names the review, its partnership, year, page(s) and section, so a
trainer can paste a passage into slides with its source. CSV cells that a
spreadsheet would run as a formula are defused with a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from datetime import date

from ..records import Hit
from .highlight import reflow

#: The columns that cite one passage, in order: every CSV export ends with them.
PASSAGE_COLUMNS = (
    "review",
    "review_name",
    "partnership",
    "year",
    "review_type",
    "pages",
    "section",
    "citation",
    "passage",
    "source",
    "passage_id",
)

#: CSV columns of a result list, in order.
CSV_COLUMNS = ("rank", "score", *PASSAGE_COLUMNS)

FORMATS = ("csv", "markdown")


def pages_label(start: int | None, end: int | None) -> str:
    """``p. 3``, ``pp. 3-4``, or ``no page numbers`` for formats without pages."""
    if start is None:
        return "no page numbers"
    if end is None or end == start:
        return f"p. {start}"
    return f"pp. {start}-{end}"


def citation(hit: Hit) -> str:
    """``Review title, Partnership, 2020, p. 3, lessons section``; unknowns are left out."""
    meta = hit.document.metadata
    parts = [
        hit.document.title,
        meta.partnership,
        str(meta.year) if meta.year else None,
        pages_label(hit.chunk.page_start, hit.chunk.page_end),
        f"{hit.chunk.section} section",
    ]
    return ", ".join(p for p in parts if p)


def passage_text(text: str) -> str:
    """A passage's text on one line: whitespace folded."""
    return re.sub(r"\s+", " ", text).strip()


def to_csv(hits: Sequence[Hit]) -> str:
    """One row per passage with its full citation, for spreadsheets."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for hit in hits:
        meta = hit.document.metadata
        row = [
            hit.rank,
            f"{hit.score:.4f}",
            hit.document.title,
            meta.review_name or "",
            meta.partnership or "",
            meta.year or "",
            meta.review_type or "",
            pages_label(hit.chunk.page_start, hit.chunk.page_end),
            hit.chunk.section,
            citation(hit),
            passage_text(hit.chunk.text),
            hit.document.source,
            hit.chunk.chunk_id,
        ]
        writer.writerow([_defuse(v) for v in row])
    return out.getvalue()


def to_markdown(hits: Sequence[Hit], *, title: str | None = None, about: str | None = None) -> str:
    """Each passage as a quote followed by its citation, ready to paste into slides.

    Args:
        hits: the results, in order.
        title: a heading for the list.
        about: a line under the heading, e.g. what was searched.
    """
    lines = [f"# {_md(title or 'Search results')}", ""]
    lines += [f"_{_md(about)}_", ""] if about else []
    lines += [f"Exported {date.today().isoformat()} · {len(hits)} passages", ""]
    for hit in hits:
        meta = hit.document.metadata
        details = " · ".join(str(x) for x in (meta.partnership, meta.year, meta.review_type) if x)
        lines += [
            f"## {hit.rank}. {_md(hit.document.title)}",
            "",
            *([f"*{_md(details)}*", ""] if details else []),
            _quote(hit.chunk.text),
            "",
            f"— {_md(citation(hit))}",
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


def _quote(text: str) -> str:
    """A passage as a Markdown block quote, read as prose (:func:`highlight.reflow`): its
    list items and short lines keep their own lines (hard breaks), its paragraphs stay
    apart, and a PDF's line wraps are undone."""
    paragraphs = reflow(text).split("\n\n")
    return "\n>\n".join(
        "\\\n".join(f"> {_md_line(line)}" for line in paragraph.split("\n"))
        for paragraph in paragraphs
    )


#: A line start Markdown would read as a list item ("1. ", "2) ", "- ", "+ ").
_LIST_START = re.compile(r"^(\d{1,9})([.)])(?=\s|$)|^([-+])(?=\s|$)")


def _md_line(line: str) -> str:
    """:func:`_md`, and a leading list marker escaped, so the line shows as written."""
    return _LIST_START.sub(lambda m: f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[3]}", _md(line))


def render(hits: Sequence[Hit], fmt: str, *, about: str | None = None) -> str:
    """``to_csv`` or ``to_markdown`` by name."""
    if fmt == "csv":
        return to_csv(hits)
    if fmt == "markdown":
        return to_markdown(hits, about=about)
    raise ValueError(f"Unknown export format '{fmt}': use one of {', '.join(FORMATS)}")


def _defuse(value: object) -> object:
    """Stop a spreadsheet from running a cell as a formula (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


def _md(text: str) -> str:
    """Escape characters Markdown would read as markup, so text shows as written."""
    return _MD_SPECIAL.sub(r"\\\1", text)

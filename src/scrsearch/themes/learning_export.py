"""Recurring learning groups and theme trends as CSV and Markdown, every passage cited.

The same citation as every other export (:func:`scrsearch.present.export.citation`):
review, partnership, year, pages and section. CSV cells a spreadsheet would run as a
formula are defused; Markdown escapes what it would read as markup.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from ..index.generations import Index
from ..present.export import (
    PASSAGE_COLUMNS,
    _defuse,
    _md,
    _quote,
    citation,
    pages_label,
    passage_text,
)
from ..records import Hit
from .recurring import RecurringReport
from .trends import TrendReport, year_passages

RECURRING_COLUMNS = (
    "group",
    "group_label",
    "group_reviews",
    "first_year",
    "last_year",
    "group_themes",
    *PASSAGE_COLUMNS,
)
TRENDS_COLUMNS = (
    "theme",
    "theme_label",
    "year",
    "reviews",
    "total_reviews",
    "share",
    *PASSAGE_COLUMNS,
)


def _passage_cells(hit: Hit | None) -> list[Any]:
    if hit is None:
        return [""] * len(PASSAGE_COLUMNS)
    meta = hit.document.metadata
    return [
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


def _csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_defuse(v) for v in row])
    return out.getvalue()


def recurring_csv(report: RecurringReport, labels: dict[str, str] | None = None) -> str:
    """One row per member passage, with its group's id, label, reviews and years."""
    labels = labels or {}
    rows = (
        [
            group.id,
            group.label,
            group.reviews,
            group.first_year or "",
            group.last_year or "",
            "; ".join(labels.get(s, s) for s in group.themes),
            *_passage_cells(hit),
        ]
        for group in report.groups
        for hit in group.passages
    )
    return _csv(RECURRING_COLUMNS, rows)


def recurring_markdown(report: RecurringReport, labels: dict[str, str] | None = None) -> str:
    """Each group as a heading with its facts, then each passage quoted and cited."""
    labels = labels or {}
    lines = [
        "# Recurring learning",
        "",
        f"_{_md(report.filters.describe())}"
        + (f" · {_md(report.section)} only" if report.section else "")
        + f" · groups with at least {report.min_reviews} reviews_",
        "",
        f"Exported {date.today().isoformat()} · {len(report.groups)} groups",
        "",
    ]
    for group in report.groups:
        years = _years(group.first_year, group.last_year)
        facts = [
            f"{group.reviews} reviews",
            years,
            "partnerships: " + ", ".join(group.partnerships) if group.partnerships else "",
            "types: " + ", ".join(group.review_types) if group.review_types else "",
            "themes: " + "; ".join(labels.get(s, s) for s in group.themes) if group.themes else "",
        ]
        lines += [
            f"## {group.id}. {_md(group.label)}",
            "",
            f"*{_md(' · '.join(f for f in facts if f))}*",
            "",
        ]
        for hit in group.passages:
            lines += [_quote(hit.chunk.text), "", f"— {_md(citation(hit))}", ""]
    return "\n".join(lines).rstrip() + "\n"


def _years(first: int | None, last: int | None) -> str:
    if first is None:
        return "years unknown"
    return str(first) if first == last else f"{first}-{last}"


def trends_csv(index: Index, report: TrendReport) -> str:
    """One row per passage behind each theme-year; a year with no review carrying the
    theme gets one row with its counts and no passage, so every count is there."""
    rows: list[list[Any]] = []
    for trend in report.themes:
        for year in trend.years:
            head = [
                trend.slug,
                trend.label,
                year.year,
                year.reviews,
                year.total_reviews,
                f"{year.share:.4f}",
            ]
            hits = year_passages(index, year)
            cited: list[Hit | None] = list(hits) or [None]
            rows.extend([*head, *_passage_cells(h)] for h in cited)
    return _csv(TRENDS_COLUMNS, rows)


def trends_markdown(index: Index, report: TrendReport, *, per_review: int | None = 2) -> str:
    """Per theme: a table of years with counts and shares, then each year's passages
    (at most ``per_review`` per review), quoted and cited."""
    lines = [
        "# Theme trends",
        "",
        f"_{_md(report.filters.describe())}_",
        "",
        f"Exported {date.today().isoformat()} · reviews per year: "
        + ", ".join(f"{y}: {n}" for y, n in report.reviews_per_year.items())
        + (f" · {report.undated} without a year (not counted)" if report.undated else ""),
        "",
    ]
    for trend in report.themes:
        lines += [
            f"## {_md(trend.label)}",
            "",
            "| year | reviews with the theme | reviews that year | share |",
            "| --- | --- | --- | --- |",
        ]
        lines += [
            f"| {y.year} | {y.reviews} | {y.total_reviews} | {y.share:.0%} |" for y in trend.years
        ]
        lines.append("")
        for year in trend.years:
            hits = year_passages(index, year, per_review=per_review)
            if not hits:
                continue
            lines += [f"### {year.year}: {year.reviews} of {year.total_reviews} reviews", ""]
            for hit in hits:
                lines += [_quote(hit.chunk.text), "", f"— {_md(citation(hit))}", ""]
    return "\n".join(lines).rstrip() + "\n"

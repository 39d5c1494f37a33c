"""Theme trends: for each theme and year, the reviews published that year that carry it.

A review carries a theme when at least one of its passages is tagged with it (the
same rule as ``scrsearch themes``). Every share comes with its counts::

    share(theme, year) = reviews that year carrying the theme / reviews that year

so that a year with two reviews does not look like a trend. Years count the
reviews that pass the filters and have a year; reviews without one are counted
apart (``undated``). Read from the tags in the index: cheap enough to compute on
every call (two queries).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ScrsearchError
from ..index import store
from ..index.generations import Index
from ..records import Hit
from .filters import ReviewFilters
from .profiles import _require_tags, theme_labels


@dataclass(frozen=True)
class TrendYear:
    """One theme in one year: which reviews carry it, out of how many, through which passages."""

    year: int
    doc_ids: tuple[int, ...]
    total_reviews: int
    chunk_ids: tuple[int, ...]  #: strongest tag first
    confidences: tuple[float, ...] = ()

    @property
    def reviews(self) -> int:
        return len(self.doc_ids)

    @property
    def share(self) -> float:
        return self.reviews / self.total_reviews if self.total_reviews else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "reviews": self.reviews,
            "share": round(self.share, 4),
            "total_reviews": self.total_reviews,
        }


@dataclass(frozen=True)
class ThemeTrend:
    slug: str
    label: str
    years: tuple[TrendYear, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "label": self.label,
            "years": [y.to_dict() for y in self.years],
        }


@dataclass(frozen=True)
class TrendReport:
    """Every chosen theme's years, and the reviews the years were counted from."""

    themes: tuple[ThemeTrend, ...]
    reviews_per_year: dict[int, int]
    undated: int
    filters: ReviewFilters

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of ``scrsearch trends --json`` (see README)."""
        return {"themes": [t.to_dict() for t in self.themes]}

    def theme(self, slug: str) -> ThemeTrend:
        for trend in self.themes:
            if trend.slug == slug:
                return trend
        raise ScrsearchError(f"Theme '{slug}' is not in this trend report")


def theme_trends(
    index: Index | str | Path,
    slugs: list[str] | tuple[str, ...] | None = None,
    *,
    filters: ReviewFilters | None = None,
) -> TrendReport:
    """Per theme and year: the reviews carrying the theme, and that year's reviews.

    Args:
        index: an open index or its folder.
        slugs: the themes, in this order; all of them (in the theme list's order) if
            none. ``filters.theme`` adds its theme.
        filters: which reviews are counted.
    """
    if not isinstance(index, Index):
        index = Index.open(index)
    filters = filters or ReviewFilters()
    conn = index.conn()
    _require_tags(conn, index.dir)
    labels = theme_labels(conn)
    chosen = list(dict.fromkeys([*(slugs or []), *([filters.theme] if filters.theme else [])]))
    for slug in chosen:
        if slug not in labels:
            raise ScrsearchError(f"Unknown theme '{slug}'. List the themes with: scrsearch themes")
    chosen = chosen or list(labels)
    documents = {d.doc_id: d for d, _, _ in store.list_documents(conn) if filters.matches(d)}
    per_year: dict[int, set[int]] = {}
    for doc in documents.values():
        if doc.metadata.year is not None:
            per_year.setdefault(doc.metadata.year, set()).add(doc.doc_id)
    undated = sum(1 for d in documents.values() if d.metadata.year is None)
    tagged: dict[tuple[str, int], tuple[set[int], list[tuple[int, float]]]] = {}
    rows = conn.execute(
        "SELECT ct.slug, c.doc_id, ct.chunk_id, ct.confidence FROM chunk_themes ct "
        "JOIN chunks c ON c.id = ct.chunk_id ORDER BY ct.slug, ct.confidence DESC, ct.chunk_id"
    )
    wanted = set(chosen)
    for slug, doc_id, chunk_id, confidence in rows:
        found = documents.get(doc_id)
        if slug not in wanted or found is None or found.metadata.year is None:
            continue
        docs, chunks = tagged.setdefault((slug, found.metadata.year), (set(), []))
        docs.add(doc_id)
        chunks.append((chunk_id, confidence))
    trends = []
    for slug in chosen:
        years = []
        for year in sorted(per_year):
            docs, chunks = tagged.get((slug, year), (set(), []))
            ids = tuple(c for c, _ in chunks)
            confs = tuple(float(x) for _, x in chunks)
            years.append(TrendYear(year, tuple(sorted(docs)), len(per_year[year]), ids, confs))
        trends.append(ThemeTrend(slug, labels[slug], tuple(years)))
    return TrendReport(
        tuple(trends), {y: len(d) for y, d in sorted(per_year.items())}, undated, filters
    )


def year_passages(index: Index, year: TrendYear, *, per_review: int | None = None) -> list[Hit]:
    """The passages behind one theme-year, strongest first, at most ``per_review`` from
    each review (all by default); each hit's score is its theme confidence."""
    conn = index.conn()
    loaded = store.get_chunks(conn, year.chunk_ids)
    confidence = dict(zip(year.chunk_ids, year.confidences, strict=False))
    taken: dict[int, int] = {}
    chosen = []
    for cid in year.chunk_ids:
        if cid not in loaded:
            continue
        doc_id = loaded[cid][1].doc_id
        if per_review is not None and taken.get(doc_id, 0) >= per_review:
            continue
        taken[doc_id] = taken.get(doc_id, 0) + 1
        chosen.append(cid)
    return [
        Hit(loaded[cid][0], loaded[cid][1], confidence.get(cid, 0.0), rank, "trend")
        for rank, cid in enumerate(chosen, 1)
    ]

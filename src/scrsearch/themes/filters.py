"""Which reviews an analysis of recurring learning or theme trends looks at.

One small value serves the ``recurring`` and ``trends`` commands, their app pages
and their exports: a year range, a review type, a partnership (by substring), a
nation and a theme. Reviews without a year are left out as soon as a year bound is
given, since nobody can say whether they fall inside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from ..errors import ScrsearchError
from ..records import NATIONS, REVIEW_TYPES, Document


@dataclass(frozen=True)
class ReviewFilters:
    """Restrict an analysis to some reviews (and, for ``theme``, to some groups or themes).

    Attributes:
        year_from, year_to: the years of publication, both included.
        review_type: one of :data:`scrsearch.records.REVIEW_TYPES`.
        partnership: a case-insensitive substring of the partnership or area.
        nation: one of :data:`scrsearch.records.NATIONS`.
        theme: a theme slug (recurring learning: groups that carry it; trends: that theme).
    """

    year_from: int | None = None
    year_to: int | None = None
    review_type: str | None = None
    partnership: str | None = None
    nation: str | None = None
    theme: str | None = None

    def __post_init__(self) -> None:
        if self.review_type and self.review_type.lower() not in REVIEW_TYPES:
            raise ScrsearchError(
                f"Unknown review type '{self.review_type}': use one of {', '.join(REVIEW_TYPES)}"
            )
        if self.nation and self.nation.lower() not in NATIONS:
            raise ScrsearchError(f"Unknown nation '{self.nation}': use one of {', '.join(NATIONS)}")
        if (
            self.year_from is not None
            and self.year_to is not None
            and self.year_from > self.year_to
        ):
            raise ScrsearchError(
                f"The year range {self.year_from}-{self.year_to} is empty: "
                "give the earlier year first"
            )

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> ReviewFilters:
        """Read URL parameters (``from``, ``to``, ``type``, ``partnership``, ``nation``,
        ``theme``) leniently: a value that makes no sense is ignored."""

        def get(name: str) -> str | None:
            value = params.get(name)
            if isinstance(value, (list, tuple)):
                value = value[-1] if value else None
            value = None if value is None else str(value).strip()
            return value or None

        def year(name: str) -> int | None:
            value = get(name)
            return int(value) if value and value.isdigit() else None

        kind = (get("type") or "").lower()
        nation = (get("nation") or "").lower()
        low, high = year("from"), year("to")
        if low is not None and high is not None and low > high:
            low, high = high, low
        return cls(
            year_from=low,
            year_to=high,
            review_type=kind if kind in REVIEW_TYPES else None,
            partnership=get("partnership"),
            nation=nation if nation in NATIONS else None,
            theme=get("theme"),
        )

    def to_params(self) -> dict[str, str]:
        """The URL parameters that :meth:`from_params` reads back."""
        names = {"year_from": "from", "year_to": "to", "review_type": "type"}
        return {
            names.get(f.name, f.name): str(getattr(self, f.name))
            for f in fields(self)
            if getattr(self, f.name) not in (None, "")
        }

    def active(self) -> bool:
        return bool(self.to_params())

    def matches(self, document: Document) -> bool:
        """Whether a review passes the review-level filters (all but ``theme``)."""
        meta = document.metadata
        if self.year_from is not None and (meta.year is None or meta.year < self.year_from):
            return False
        if self.year_to is not None and (meta.year is None or meta.year > self.year_to):
            return False
        if self.review_type and (meta.review_type or "") != self.review_type.lower():
            return False
        if self.nation and (meta.nation or "") != self.nation.lower():
            return False
        return not (
            self.partnership and self.partnership.lower() not in (meta.partnership or "").lower()
        )

    def describe(self) -> str:
        """The filters in words, for export headings: ``2015-2020 · scr · theme: neglect``."""
        parts = []
        if self.year_from is not None or self.year_to is not None:
            parts.append(f"{self.year_from or '…'}-{self.year_to or '…'}")
        for name in ("review_type", "partnership", "nation"):
            if getattr(self, name):
                parts.append(str(getattr(self, name)))
        if self.theme:
            parts.append(f"theme: {self.theme}")
        return " · ".join(parts) or "all reviews"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

"""A search as a small value that round-trips through a URL's query string.

The app keeps every search in the address bar (``/?q=escalation+policy&type=scr``),
so a search can be linked, shared and survives a reload; the export builders use
the same value to describe what was searched. A query that looks like case notes
(:func:`~scrsearch.search.case_notes.looks_like_case_notes`) never goes into the URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..config import BY_NAME
from ..records import SECTIONS, Hit
from .case_notes import looks_like_case_notes
from .searcher import DEFAULT_MODE, MODES, Filters, Searcher

#: The most results one request may ask for: the ``max_k`` setting's default, which the
#: HTTP API enforces too (there it can be changed; the app's controls stop here).
MAX_K: int = BY_NAME["max_k"].default
DEFAULT_K = 10

#: URL parameter -> field name.
PARAMS = {
    "q": "query",
    "mode": "mode",
    "k": "k",
    "from": "year_from",
    "to": "year_to",
    "partnership": "partnership",
    "type": "review_type",
    "section": "section",
    "doc": "doc",
    "group": "group",
    "like": "like",
}


@dataclass(frozen=True)
class SearchRequest:
    """A query (or a "more like this" passage id), its mode, filters and size."""

    query: str = ""
    mode: str = DEFAULT_MODE
    k: int = DEFAULT_K
    year_from: int | None = None
    year_to: int | None = None
    partnership: str | None = None
    review_type: str | None = None
    section: str | None = None
    doc: str | None = None
    group: bool = False
    like: int | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> SearchRequest:
        """Read URL parameters, leniently: a value that makes no sense is ignored."""

        def get(name: str) -> str | None:
            value = params.get(name)
            if isinstance(value, (list, tuple)):
                value = value[-1] if value else None
            value = None if value is None else str(value).strip()
            return value or None

        mode = get("mode")
        section = get("section")
        return cls(
            query=get("q") or "",
            mode=mode if mode in MODES else DEFAULT_MODE,
            k=min(MAX_K, max(1, _int(get("k")) or DEFAULT_K)),
            year_from=_int(get("from")),
            year_to=_int(get("to")),
            partnership=get("partnership"),
            review_type=(get("type") or "").lower() or None,
            section=section if section in SECTIONS else None,
            doc=get("doc"),
            group=get("group") in ("1", "true", "yes", "on"),
            like=_int(get("like")),
        )

    def to_params(self) -> dict[str, str]:
        """The URL parameters of this request: only values that differ from the defaults.

        A :attr:`private` query is left out: a URL is kept in the browser's history and
        in every link copied from it, so case notes must never be in one.
        """
        out: dict[str, str] = {}
        defaults = SearchRequest()
        for param, name in PARAMS.items():
            value = getattr(self, name)
            if value == getattr(defaults, name) or value in (None, ""):
                continue
            if name == "query" and self.private:
                continue
            out[param] = "1" if value is True else str(value)
        return out

    @property
    def private(self) -> bool:
        """Whether the query looks like case notes, and so stays out of URLs."""
        return looks_like_case_notes(self.query)

    @property
    def filters(self) -> Filters:
        return Filters(
            self.year_from, self.year_to, self.partnership, self.review_type, self.section, self.doc
        )

    @property
    def active(self) -> bool:
        """Whether there is anything to search for."""
        return bool(self.query.strip()) or self.like is not None

    def run(self, searcher: Searcher) -> list[Hit]:
        """The hits of this request: a search, or the passages like ``like``."""
        if self.like is not None:
            return searcher.similar(self.like, k=self.k, filters=self.filters)
        return searcher.search(
            self.query, k=self.k, mode=self.mode, filters=self.filters, group_by_review=self.group
        )

    def count(self, n: int) -> str:
        """``n`` results in words: reviews when grouped by review, else passages."""
        unit = "review" if self.group and self.like is None else "passage"
        return f"{n} {unit}{'' if n == 1 else 's'}"

    def describe(self) -> str:
        """One line saying what was searched, for export headers and captions."""
        parts = [f"passages like #{self.like}" if self.like is not None else f'"{self.query}"']
        if self.like is None:
            parts.append(f"{self.mode} search")
        if self.year_from is not None or self.year_to is not None:
            parts.append(f"years {self.year_from or '…'}–{self.year_to or '…'}")
        for label, value in (
            ("partnership", self.partnership),
            ("type", self.review_type),
            ("section", self.section),
            ("document", self.doc),
        ):
            if value:
                parts.append(f"{label}: {value}")
        if self.group and self.like is None:
            parts.append("best passage per review")
        return " · ".join(parts)

    def active_filters(self) -> list[str]:
        """Names of the filters in use, to suggest loosening them."""
        names = {
            "year_from": "from year",
            "year_to": "to year",
            "partnership": "partnership",
            "review_type": "review type",
            "section": "section",
            "doc": "document",
        }
        return [label for name, label in names.items() if getattr(self, name) not in (None, "")]


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None

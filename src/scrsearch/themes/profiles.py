"""Reading theme tags: counts, a review's theme profile, a theme's passages, heatmaps.

The tags are written by :mod:`scrsearch.themes.tagging` (at ingest, or by ``retag``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import NotFoundError
from ..index import store
from ..records import Chunk, Document, Hit
from .tagging import NoThemeTagsError, has_tags


def _require_tags(conn: sqlite3.Connection, index_dir: str | Path) -> None:
    if not has_tags(conn):
        raise NoThemeTagsError(str(index_dir))


@dataclass(frozen=True)
class ThemeCount:
    slug: str
    label: str
    group: str
    description: str
    passages: int
    reviews: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def theme_counts(conn: sqlite3.Connection, index_dir: str | Path = "index") -> list[ThemeCount]:
    """Every theme the index was tagged with, with passage and review counts."""
    _require_tags(conn, index_dir)
    rows = conn.execute(
        "SELECT t.slug, t.label, t.grp, t.description, COUNT(ct.chunk_id), "
        "COUNT(DISTINCT c.doc_id) FROM themes t "
        "LEFT JOIN chunk_themes ct ON ct.slug = t.slug "
        "LEFT JOIN chunks c ON c.id = ct.chunk_id GROUP BY t.slug ORDER BY t.position"
    )
    return [ThemeCount(*r) for r in rows]


def theme_labels(conn: sqlite3.Connection) -> dict[str, str]:
    """``{slug: label}`` of the themes the index was tagged with, in the theme list's
    order; empty if it never was."""
    if not has_tags(conn):
        return {}
    return dict(conn.execute("SELECT slug, label FROM themes ORDER BY position"))


def chunk_themes(
    conn: sqlite3.Connection, chunk_ids: Iterable[int]
) -> dict[int, list[tuple[str, float]]]:
    """The themes of each passage, strongest first (passages without tags are left out)."""
    ids = [int(i) for i in chunk_ids]
    out: dict[int, list[tuple[str, float]]] = {}
    if not has_tags(conn):
        return out
    sql = (
        "SELECT chunk_id, slug, confidence FROM chunk_themes WHERE chunk_id IN ({marks}) "
        "ORDER BY confidence DESC"
    )
    for cid, slug, conf in store.select_in(conn, sql, ids):
        out.setdefault(cid, []).append((slug, conf))
    return out


@dataclass(frozen=True)
class ProfileEntry:
    """How one review covers one theme."""

    slug: str
    label: str
    strength: float
    passages: tuple[Hit, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "label": self.label,
            "strength": round(self.strength, 4),
            "n_passages": len(self.passages),
            "passages": [h.to_dict() | {"confidence": h.score} for h in self.passages],
        }


@dataclass(frozen=True)
class Profile:
    """A review's theme profile: which themes, how strongly, with which passages."""

    document: Document
    n_passages: int
    themes: tuple[ProfileEntry, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "doc": document_dict(self.document),
            "n_passages": self.n_passages,
            "themes": [t.to_dict() for t in self.themes],
        }


def strength(confidences: Sequence[float]) -> float:
    """The mean of a review's three strongest passage confidences (missing ones count 0).

    One strong passage gives a third; three or more strong passages give the most.
    """
    top = sorted(confidences, reverse=True)[:3]
    return float(sum(top) / 3)


def review_profile(
    conn: sqlite3.Connection, doc: str | int, index_dir: str | Path = "index"
) -> Profile:
    """Which themes a review covers, how strongly, and with which passages."""
    _require_tags(conn, index_dir)
    document = resolve_document(conn, doc)
    chunks = store.document_chunks(conn, document.doc_id)
    tags = chunk_themes(conn, [c.chunk_id for c in chunks])
    labels = theme_labels(conn)
    order = {s: i for i, s in enumerate(labels)}
    by_theme: dict[str, list[tuple[Chunk, float]]] = {}
    for chunk in chunks:
        for slug, conf in tags.get(chunk.chunk_id, []):
            by_theme.setdefault(slug, []).append((chunk, conf))
    entries = []
    for slug, items in by_theme.items():
        items.sort(key=lambda x: -x[1])
        hits = tuple(
            Hit(chunk, document, conf, rank, "theme") for rank, (chunk, conf) in enumerate(items, 1)
        )
        entries.append(
            ProfileEntry(slug, labels.get(slug, slug), strength([c for _, c in items]), hits)
        )
    entries.sort(key=lambda e: (-e.strength, order.get(e.slug, 0)))
    return Profile(document, len(chunks), tuple(entries))


def theme_passages(
    conn: sqlite3.Connection,
    slug: str,
    *,
    per_review: int = 2,
    limit: int = 50,
    index_dir: str | Path = "index",
) -> list[Hit]:
    """A theme's strongest passages across reviews, at most ``per_review`` from each."""
    _require_tags(conn, index_dir)
    if conn.execute("SELECT 1 FROM themes WHERE slug = ?", (slug,)).fetchone() is None:
        raise NotFoundError(f"Unknown theme '{slug}'. List the themes with: scrsearch themes")
    rows = conn.execute(
        "SELECT ct.chunk_id, ct.confidence, c.doc_id FROM chunk_themes ct "
        "JOIN chunks c ON c.id = ct.chunk_id WHERE ct.slug = ? "
        "ORDER BY ct.confidence DESC, ct.chunk_id",
        (slug,),
    ).fetchall()
    taken: dict[int, int] = {}
    chosen: list[tuple[int, float]] = []
    for cid, conf, doc_id in rows:
        if taken.get(doc_id, 0) < per_review:
            taken[doc_id] = taken.get(doc_id, 0) + 1
            chosen.append((cid, conf))
            if len(chosen) >= limit:
                break
    loaded = store.get_chunks(conn, [cid for cid, _ in chosen])
    return [
        Hit(loaded[cid][0], loaded[cid][1], conf, rank, "theme")
        for rank, (cid, conf) in enumerate(chosen, 1)
    ]


def theme_matrix(conn: sqlite3.Connection, index_dir: str | Path = "index") -> list[dict[str, Any]]:
    """One row per (review, theme) with a tag: strength and passage count, for heatmaps."""
    _require_tags(conn, index_dir)
    rows = conn.execute(
        "SELECT c.doc_id, ct.slug, ct.confidence FROM chunk_themes ct "
        "JOIN chunks c ON c.id = ct.chunk_id"
    ).fetchall()
    grouped: dict[tuple[int, str], list[float]] = {}
    for doc_id, slug, conf in rows:
        grouped.setdefault((doc_id, slug), []).append(conf)
    docs = {d.doc_id: d for d, _, _ in store.list_documents(conn)}
    labels = theme_labels(conn)
    return [
        {
            "doc_id": doc_id,
            "title": docs[doc_id].title,
            "review_name": docs[doc_id].metadata.review_name,
            "review_type": docs[doc_id].metadata.review_type,
            "year": docs[doc_id].metadata.year,
            "source": docs[doc_id].source,
            "slug": slug,
            "label": labels.get(slug, slug),
            "strength": round(strength(confs), 4),
            "passages": len(confs),
        }
        for (doc_id, slug), confs in sorted(grouped.items())
        if doc_id in docs
    ]


def resolve_document(conn: sqlite3.Connection, ref: str | int) -> Document:
    """A document by id, path, file name or title, or a :class:`NotFoundError` that says why."""
    document = store.get_document(conn, ref)
    if document is None:
        where, args = store._doc_ref_query(str(ref))
        n = conn.execute(f"SELECT COUNT(*) FROM documents d WHERE {where}", args).fetchone()[0]  # noqa: S608
        if n > 1:
            raise NotFoundError(
                f"'{ref}' matches {n} documents; give its id or full path (see: scrsearch docs)"
            )
        raise NotFoundError(f"No document '{ref}' in the index (see: scrsearch docs)")
    return document


def document_dict(document: Document) -> dict[str, Any]:
    return {
        "doc_id": document.doc_id,
        "title": document.title,
        "source": document.source,
        **document.metadata.to_dict(),
    }

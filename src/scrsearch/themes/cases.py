"""Like my case: the reviews that resemble a case description, why, and what they learned.

A practitioner describes the case on their desk in their own words, at any length.
:func:`match_case`:

1. splits the description into windows the model can read whole
   (:func:`scrsearch.search.windows.query_windows`: overlapping, cut at sentences,
   counted by the model's tokenizer; nothing is cut off);
2. searches each window with hybrid search and combines the rankings, a passage
   scoring its best window (:func:`scrsearch.search.windows.combine`), then ranks
   reviews from those passages exactly as grouped search does
   (:func:`scrsearch.search.ranking.rank_documents`);
3. says why each review matches: the themes both the case and the review carry
   (the case's windows are tagged by the same tagger as every passage; a review
   carries a theme when any of its passages is tagged with it), and the
   agencies, age band and harm that both texts state
   (:mod:`scrsearch.themes.circumstances`);
4. gives each review's matching passages, cited, and its lessons and
   recommendations (its findings when it has neither), closest to the case first.

The case text is never stored, logged or returned: results hold only what was
derived from it (its themes and circumstances).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..index import store
from ..records import LEARNING_SECTIONS, Chunk, Document, Hit
from ..search.ranking import rank_documents
from ..search.searcher import REVIEW_DEPTH, Filters, Searcher
from ..search.windows import Window, query_windows, rank_windows
from . import circumstances
from .circumstances import KINDS, Circumstances
from .profiles import chunk_themes, document_dict, strength, theme_labels
from .tagging import ThemeSet, load_themes, tagger_for

#: Shown under "lessons" when a review has no lessons or recommendations
#: (:data:`records.LEARNING_SECTIONS`).
FALLBACK_SECTIONS = ("findings",)
#: A review states an age band or a harm when it mentions it at least this share as
#: often as its most mentioned one: a long review names many ages and harms in
#: passing (a mother "aged 19", an earlier "neglect" plan), its subject most often.
#: Any agency it mentions counts.
REVIEW_SHARE = {"agencies": 0.0, "age_bands": 0.3, "harms": 0.3}


@dataclass(frozen=True)
class CaseProfile:
    """What was read from the case: never its text."""

    windows: int
    tokens: int
    themes: tuple[tuple[str, float], ...]
    circumstances: Circumstances

    def to_dict(self, labels: dict[str, str]) -> dict[str, Any]:
        named = circumstances.labels()
        return {
            "windows": self.windows,
            "tokens": self.tokens,
            "themes": [
                {"slug": s, "label": labels.get(s, s), "confidence": round(c, 4)}
                for s, c in self.themes
            ],
            **{
                kind: [
                    {"slug": s, "label": named.get(s, s)} for s in self.circumstances.stated(kind)
                ]
                for kind in KINDS
            },
        }


@dataclass(frozen=True)
class Why:
    """Why a review resembles the case: what both share."""

    themes: tuple[tuple[str, float], ...]  #: (slug, the review's strength)
    agencies: tuple[str, ...] = ()
    age_bands: tuple[str, ...] = ()
    harms: tuple[str, ...] = ()

    def to_dict(self, labels: dict[str, str]) -> dict[str, Any]:
        named = circumstances.labels()
        return {
            "themes": [
                {"slug": s, "label": labels.get(s, s), "strength": round(v, 4)}
                for s, v in self.themes
            ],
            **{
                kind: [{"slug": s, "label": named.get(s, s)} for s in getattr(self, kind)]
                for kind in KINDS
            },
        }


@dataclass(frozen=True)
class LessonMatch:
    """One of a review's lessons, and how close it is to the case (best window)."""

    chunk: Chunk
    similarity: float

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.chunk.cited(),
            "similarity": round(self.similarity, 4),
        }


@dataclass(frozen=True)
class ReviewMatch:
    """A review that resembles the case."""

    document: Document
    rank: int
    score: float
    why: Why
    passages: tuple[Hit, ...]
    lessons: tuple[LessonMatch, ...]
    n_lessons: int

    def to_dict(self, labels: dict[str, str]) -> dict[str, Any]:
        return {
            "rank": self.rank,
            **document_dict(self.document),
            "score": round(self.score, 6),
            "why": self.why.to_dict(labels),
            "passages": [h.to_dict() for h in self.passages],
            "lessons": [lesson.to_dict() for lesson in self.lessons],
            "n_lessons": self.n_lessons,
        }


@dataclass(frozen=True)
class CaseMatch:
    """The reviews like a case, best first, and what was read from the case."""

    case: CaseProfile
    reviews: tuple[ReviewMatch, ...]
    labels: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``scrsearch match-case --json`` (see README): no case text."""
        return {
            "case": self.case.to_dict(self.labels),
            "reviews": [r.to_dict(self.labels) for r in self.reviews],
        }


def rank_case(
    searcher: Searcher,
    windows: list[Window],
    *,
    filters: Filters | None = None,
    depth: int = REVIEW_DEPTH,
) -> tuple[list[tuple[int, float]], list[tuple[int, float, int]]]:
    """The combined passage ranking of a case's windows, and the reviews ranked from it
    (``(doc_id, score, best_chunk_id)``, best first)."""
    passages = rank_windows(searcher, windows, mode="hybrid", filters=filters, depth=depth)
    return passages, rank_documents(searcher.index.conn(), passages)


def match_case(
    searcher: Searcher,
    text: str,
    *,
    k: int = 10,
    filters: Filters | None = None,
    themes: ThemeSet | None = None,
    passages_per_review: int = 3,
    lessons_per_review: int = 5,
) -> CaseMatch:
    """The ``k`` reviews most like the case ``text``, with why and what they learned.

    Args:
        searcher: the index to search (its model is loaded if needed).
        text: the case description, any length; blank gives no reviews.
        k: how many reviews.
        filters: restrict the reviews (year, partnership, type...) as search does.
        themes: the theme set that tags the case (default: the configured one).
        passages_per_review: matching passages kept per review.
        lessons_per_review: lessons kept per review, closest to the case first.
    """
    conn = searcher.index.conn()
    labels = theme_labels(conn)
    windows = query_windows(searcher, text)
    if not windows:
        return CaseMatch(CaseProfile(0, 0, (), Circumstances({})), (), labels)
    vectors = searcher.embedder.embed_documents([w.text for w in windows])
    themes = themes or load_themes(config=searcher.config)
    tagged = tagger_for(searcher.embedder, themes, conn).tag(vectors, [w.text for w in windows])
    case_themes: dict[str, float] = {}
    for row in tagged:
        for slug, conf in row:
            case_themes[slug] = max(conf, case_themes.get(slug, 0.0))
    labels = {**{t.slug: t.label for t in themes}, **labels}
    case = CaseProfile(
        len(windows),
        sum(w.tokens for w in windows),
        tuple(sorted(case_themes.items(), key=lambda item: -item[1])),
        circumstances.extract(text),
    )
    passages, reviews = rank_case(
        searcher, windows, filters=filters, depth=max(k * 10, REVIEW_DEPTH)
    )
    owners = store.chunk_documents(conn, [cid for cid, _ in passages])
    out = []
    for rank, (doc_id, score, _) in enumerate(reviews[:k], start=1):
        mine = [(cid, s) for cid, s in passages if owners.get(cid) == doc_id][:passages_per_review]
        loaded = store.get_chunks(conn, [cid for cid, _ in mine])
        hits = tuple(
            Hit(loaded[cid][0], loaded[cid][1], s, i, "match-case")
            for i, (cid, s) in enumerate(mine, start=1)
        )
        chunks = store.document_chunks(conn, doc_id)
        lessons = _lessons(conn, chunks, vectors)
        out.append(
            ReviewMatch(
                hits[0].document,
                rank,
                score,
                _why(conn, doc_id, chunks, case),
                hits,
                tuple(lessons[:lessons_per_review]),
                len(lessons),
            )
        )
    return CaseMatch(case, tuple(out), labels)


def learning(chunks: list[Chunk]) -> list[Chunk]:
    """A review's lessons and recommendations, in order; its findings if it has neither."""
    for sections in (LEARNING_SECTIONS, FALLBACK_SECTIONS):
        found = [c for c in chunks if c.section in sections]
        if found:
            return found
    return []


def _lessons(conn: Any, chunks: list[Chunk], case_vectors: np.ndarray) -> list[LessonMatch]:
    """The review's learning, closest to the case (its best window) first."""
    items = learning(chunks)
    stored = store.get_vectors(conn, [c.chunk_id for c in items])
    items = [c for c in items if c.chunk_id in stored]
    if not items:
        return []
    matrix = np.vstack([stored[c.chunk_id] for c in items]).astype(np.float32)
    best = (matrix @ case_vectors.T).max(axis=1)
    order = sorted(range(len(items)), key=lambda i: (-best[i], items[i].seq))
    return [LessonMatch(items[i], float(best[i])) for i in order]


def _why(conn: Any, doc_id: int, chunks: list[Chunk], case: CaseProfile) -> Why:
    """The themes and stated circumstances that the case and the review share."""
    tags = chunk_themes(conn, [c.chunk_id for c in chunks])
    confidences: dict[str, list[float]] = {}
    for row in tags.values():
        for slug, conf in row:
            confidences.setdefault(slug, []).append(conf)
    review_strength = {slug: strength(c) for slug, c in confidences.items()}
    shared = sorted(
        ((slug, review_strength[slug]) for slug, _ in case.themes if slug in review_strength),
        key=lambda item: -item[1],
    )
    text = " ".join(page.text for page in store.get_pages(conn, doc_id))
    review = circumstances.extract(text)
    both = {
        kind: tuple(
            s
            for s in case.circumstances.stated(kind)
            if s in review.dominant(kind, REVIEW_SHARE[kind])
        )
        for kind in KINDS
    }
    return Why(tuple(shared), both["agencies"], both["age_bands"], both["harms"])

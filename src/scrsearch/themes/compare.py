"""Compare reviews by their learning: passage pairs, not one opaque vector per document.

For each lesson, finding or recommendation of a review (its "lessons"), find the
closest passages in another review, or in every other review. A pair of passages
scores::

    pair = cosine similarity + THEME_BONUS if the two passages share a theme

Then the other reviews are ranked by how much learning they share::

    score(R) = (sum over the review's lessons of the best pair with a passage of R,
                counting only pairs of at least ``min_pair``) / number of lessons

so every score is explained by the passage pairs behind it and by the themes the
two passages of each pair share. All vectors come from the index: no model is
loaded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Config, load_config
from ..index import store
from ..index.generations import Index
from ..records import Chunk, Document, Hit
from .profiles import chunk_themes, document_dict, resolve_document

#: Sections whose passages are a review's learning.
LESSON_SECTIONS = ("lessons", "findings", "recommendations")
#: Passages shorter than this many words (headers, page furniture) are left out.
MIN_WORDS = 6
#: Pairs scoring less than this do not count towards a review's score.
MIN_PAIR = 0.45
#: Added to a pair's similarity when its two passages share a theme.
THEME_BONUS = 0.15


@dataclass(frozen=True)
class Match:
    """A passage of another review close to a lesson."""

    hit: Hit  #: its score is the pair score
    similarity: float
    shared_themes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return self.hit.to_dict() | {
            "similarity": round(self.similarity, 6),
            "shared_themes": list(self.shared_themes),
        }


@dataclass(frozen=True)
class Lesson:
    chunk: Chunk
    themes: tuple[str, ...]
    matches: tuple[Match, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.chunk.cited(),
            "themes": list(self.themes),
            "matches": [m.to_dict() for m in self.matches],
        }


@dataclass(frozen=True)
class Pair:
    """One of a review's lessons and the closest passage to it in another review."""

    lesson: Chunk
    passage: Chunk
    score: float
    similarity: float
    shared_themes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "lesson_chunk_id": self.lesson.chunk_id,
            "lesson_text": self.lesson.text,
            "chunk_id": self.passage.chunk_id,
            "section": self.passage.section,
            "page_start": self.passage.page_start,
            "page_end": self.passage.page_end,
            "text": self.passage.text,
            "score": round(self.score, 6),
            "similarity": round(self.similarity, 6),
            "shared_themes": list(self.shared_themes),
        }


@dataclass(frozen=True)
class SimilarReview:
    document: Document
    score: float
    shared_themes: tuple[str, ...]
    pairs: tuple[Pair, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "doc_id": self.document.doc_id,
            "title": self.document.title,
            "source": self.document.source,
            "year": self.document.metadata.year,
            "partnership": self.document.metadata.partnership,
            "score": round(self.score, 6),
            "shared_themes": list(self.shared_themes),
            "pairs": [p.to_dict() for p in self.pairs],
        }


@dataclass(frozen=True)
class Comparison:
    document: Document
    other: Document | None
    lessons: tuple[Lesson, ...]
    similar_reviews: tuple[SimilarReview, ...]
    min_pair: float = MIN_PAIR
    theme_bonus: float = THEME_BONUS

    def to_dict(self) -> dict[str, Any]:
        return {
            "doc": document_dict(self.document),
            "other": document_dict(self.other) if self.other else None,
            "min_pair": self.min_pair,
            "theme_bonus": self.theme_bonus,
            "lessons": [lesson.to_dict() for lesson in self.lessons],
            "similar_reviews": [r.to_dict() for r in self.similar_reviews],
        }


def lesson_chunks(chunks: Sequence[Chunk]) -> list[Chunk]:
    """A review's lessons, findings and recommendations; all its passages if it has none."""
    long_enough = [c for c in chunks if len(c.text.split()) >= MIN_WORDS]
    lessons = [c for c in long_enough if c.section in LESSON_SECTIONS]
    return lessons or [c for c in long_enough if c.section != "other"] or long_enough


def compare(
    index: Index | str | Path,
    doc: str | int,
    other: str | int | None = None,
    *,
    k: int = 3,
    min_pair: float = MIN_PAIR,
    theme_bonus: float = THEME_BONUS,
    max_reviews: int = 20,
    depth: int = 1000,
    config: Config | None = None,
) -> Comparison:
    """Compare review ``doc`` with review ``other``, or with every other review.

    Args:
        index: an open index or its folder.
        doc, other: documents by id, path, file name or title.
        k: matching passages listed per lesson (at most one per review when
            comparing with every review).
        min_pair: pairs scoring less than this do not count towards a review's score.
        theme_bonus: added to a pair's similarity when the two passages share a theme.
        max_reviews: how many similar reviews to return.
        depth: passages of the whole index considered per lesson (nearest first).
    """
    config = config or load_config()
    if not isinstance(index, Index):
        index = Index.open(index)
    conn = index.conn()
    document = resolve_document(conn, doc)
    target = resolve_document(conn, other) if other not in (None, "") else None
    lessons = lesson_chunks(store.document_chunks(conn, document.doc_id))
    if not lessons:
        return Comparison(document, target, (), (), min_pair, theme_bonus)
    ranked = _rank(index, lessons, target, config, depth=max(depth, k * 50))
    found = _Candidates.load(conn, lessons, ranked, document.doc_id)
    out_lessons = []
    best: dict[int, dict[int, Pair]] = {}  # doc -> lesson index -> its best pair
    for i, (lesson, row) in enumerate(zip(lessons, ranked, strict=True)):
        pairs = found.pairs(lesson, row, theme_bonus)
        for pair in pairs:
            doc_best = best.setdefault(found.owners[pair.passage.chunk_id], {})
            if i not in doc_best or pair.score > doc_best[i].score:
                doc_best[i] = pair
        matches = found.matches(pairs, k, one_per_review=target is None)
        out_lessons.append(Lesson(lesson, tuple(sorted(found.themes(lesson))), matches))
    reviews = _similar_reviews(best, len(lessons), min_pair, found)
    if target is not None:
        reviews = [r for r in reviews if r.document.doc_id == target.doc_id] or [
            SimilarReview(target, 0.0, (), ())
        ]
    return Comparison(
        document, target, tuple(out_lessons), tuple(reviews[:max_reviews]), min_pair, theme_bonus
    )


@dataclass(frozen=True)
class _Candidates:
    """The passages found near a review's lessons, loaded once for every lesson."""

    owners: dict[int, int]  #: passage -> its document
    loaded: dict[int, tuple[Chunk, Document]]
    themes_of: dict[int, tuple[str, ...]]  #: lessons' and candidates' themes
    keep: set[int]  #: comparable passages of other reviews

    @classmethod
    def load(
        cls,
        conn: Any,
        lessons: Sequence[Chunk],
        ranked: list[list[tuple[int, float]]],
        doc_id: int,
    ) -> _Candidates:
        candidates = {cid for row in ranked for cid, _ in row}
        owners = store.chunk_documents(conn, sorted(candidates))
        loaded = store.get_chunks(conn, sorted(candidates))
        tags = chunk_themes(conn, [c.chunk_id for c in lessons] + sorted(candidates))
        themes_of = {cid: tuple(s for s, _ in ts) for cid, ts in tags.items()}
        keep = {
            cid for cid in candidates if cid in loaded and _comparable(loaded[cid][0], themes_of)
        }
        keep -= {cid for cid in keep if owners.get(cid) == doc_id}
        return cls(owners, loaded, themes_of, keep)

    def themes(self, chunk: Chunk) -> tuple[str, ...]:
        return self.themes_of.get(chunk.chunk_id, ())

    def pairs(self, lesson: Chunk, row: list[tuple[int, float]], theme_bonus: float) -> list[Pair]:
        """The lesson paired with each kept passage of its ranking, in ranking order."""
        mine = self.themes(lesson)
        out = []
        for cid, similarity in row:
            if cid not in self.keep:
                continue
            shared = tuple(s for s in self.themes_of.get(cid, ()) if s in mine)
            score = similarity + theme_bonus * bool(shared)
            out.append(Pair(lesson, self.loaded[cid][0], score, similarity, shared))
        return out

    def matches(self, pairs: list[Pair], k: int, *, one_per_review: bool) -> tuple[Match, ...]:
        """The ``k`` best pairs as ranked hits (the best one of each review, if asked)."""
        ordered = sorted(pairs, key=lambda p: (-p.score, p.passage.chunk_id))
        matches: list[Match] = []
        seen_docs: set[int] = set()
        for pair in ordered:
            if len(matches) == k:
                break
            if one_per_review and pair.passage.doc_id in seen_docs:
                continue
            seen_docs.add(pair.passage.doc_id)
            document = self.loaded[pair.passage.chunk_id][1]
            hit = Hit(pair.passage, document, pair.score, len(matches) + 1, "compare")
            matches.append(Match(hit, pair.similarity, pair.shared_themes))
        return tuple(matches)


def _similar_reviews(
    best: dict[int, dict[int, Pair]], n_lessons: int, min_pair: float, found: _Candidates
) -> list[SimilarReview]:
    """Other reviews scored by their best pair with each lesson, best first."""
    reviews = []
    for per_lesson in best.values():
        pairs = sorted(
            (p for p in per_lesson.values() if p.score >= min_pair), key=lambda p: -p.score
        )
        score = sum(p.score for p in pairs) / n_lessons
        counts = Counter(s for p in pairs for s in p.shared_themes)
        shared_themes = tuple(s for s, _ in counts.most_common())
        any_pair = next(iter(per_lesson.values()))
        document = found.loaded[any_pair.passage.chunk_id][1]
        reviews.append(SimilarReview(document, score, shared_themes, tuple(pairs)))
    reviews.sort(key=lambda r: (-r.score, r.document.doc_id))
    return reviews


def _comparable(chunk: Chunk, themes_of: dict[int, tuple[str, ...]]) -> bool:
    """Long enough, and not front matter: passages outside the body (section
    ``other``: titles, contacts, references) count only when they carry a theme."""
    if len(chunk.text.split()) < MIN_WORDS:
        return False
    return chunk.section != "other" or bool(themes_of.get(chunk.chunk_id))


def _rank(
    index: Index, lessons: Sequence[Chunk], target: Document | None, config: Config, depth: int
) -> list[list[tuple[int, float]]]:
    """For each lesson, passages nearest first: all of ``target``'s, else the index's nearest."""
    conn = index.conn()
    vectors = store.get_vectors(conn, [c.chunk_id for c in lessons])
    queries = np.vstack([vectors[c.chunk_id] for c in lessons]).astype(np.float32)
    if target is not None:
        return _exact(conn, queries, target.doc_id)
    return _approximate(index, queries, config, depth=depth)


def _exact(conn: Any, queries: np.ndarray, doc_id: int) -> list[list[tuple[int, float]]]:
    """Every passage of one document, ranked for each query by exact similarity."""
    ids = [c.chunk_id for c in store.document_chunks(conn, doc_id)]
    if not ids:
        return [[] for _ in queries]
    found = store.get_vectors(conn, ids)
    ids = [i for i in ids if i in found]
    matrix = np.vstack([found[i] for i in ids])
    sims = queries @ matrix.T
    order = np.argsort(-sims, axis=1, kind="stable")
    return [[(ids[j], float(sims[q, j])) for j in order[q]] for q in range(len(queries))]


def _approximate(
    index: Index, queries: np.ndarray, config: Config, depth: int
) -> list[list[tuple[int, float]]]:
    """The ``depth`` nearest passages of the whole index for each query (FAISS)."""
    faiss_index = index.faiss
    if hasattr(faiss_index, "nprobe"):
        faiss_index.nprobe = config.nprobe
    depth = min(depth, max(int(faiss_index.ntotal), 1))
    scores, ids = faiss_index.search(queries, depth)
    return [
        [(int(i), float(s)) for i, s in zip(ids[q], scores[q], strict=True) if i >= 0]
        for q in range(len(queries))
    ]


def default_document(conn: Any) -> Document | None:
    """The review a comparison starts from when none is chosen: George's briefing where
    the library has it (the demo corpus), else the review with the most lessons."""
    documents = [d for d, _, _ in store.list_documents(conn)]
    for document in documents:
        name = Path(document.source).name.lower()
        if name.startswith("george-briefing") or "review george" in document.title.lower():
            return document
    best, most = None, -1
    for document in documents:
        n = len(lesson_chunks(store.document_chunks(conn, document.doc_id)))
        if n > most:
            best, most = document, n
    return best

"""Ranking arithmetic: fusing a keyword and a semantic ranking, and ranking reviews.

Pure functions over ``(chunk_id, score)`` lists, shared by :class:`search.Searcher`
and ``scrsearch eval`` (which must rank reviews exactly as the product does). The
choices here were measured on the judged collections (``docs/EVAL_BENCH.md``).
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Mapping, Sequence

from ..index import store


def fuse_scores(
    rankings: Sequence[Sequence[tuple[int, float]]], *, weights: Sequence[float]
) -> list[tuple[int, float]]:
    """Weighted mean of scores, each ranking's scores divided by its own best score.

    ``sum(w * score / best) / sum(w)`` over the rankings, so fused scores run from 0
    to 1; a passage missing from a ranking gets 0 from it. Dividing by the best (not min-max) keeps a passage's fused score the
    same however deep the rankings go, and keeps the gap between a strong and a weak
    match, which reciprocal ranks throw away. Measured in ``docs/EVAL_BENCH.md``:
    better than reciprocal-rank fusion on both judged collections.
    """
    scores: dict[int, float] = {}
    total = sum(weights) or 1.0
    for ranking, weight in zip(rankings, weights, strict=True):
        best = max((score for _, score in ranking), default=0.0)
        if best <= 0:
            continue
        for cid, score in ranking:
            scores[cid] = scores.get(cid, 0.0) + weight * score / best / total
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


def fuse_rrf(
    rankings: Sequence[Sequence[tuple[int, float]]], *, weights: Sequence[float], k: int = 60
) -> list[tuple[int, float]]:
    """Weighted reciprocal-rank fusion: ``sum(w / (k + rank))`` over the rankings."""
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, (cid, _) in enumerate(ranking, start=1):
            scores[cid] = scores.get(cid, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


#: Document ranking: a review's best passage counts fully, its second best by this
#: much (measured in docs/EVAL_BENCH.md: best alone, or more passages, rank worse).
SECOND_PASSAGE_WEIGHT = 0.5

#: Document ranking: subtracted per unit of ``ln(passages in the review)``. A long
#: document has more chances of one passage that happens to match well, so without
#: it long national guidance outranks the case reviews that are about the topic.
LENGTH_PRIOR = 0.02


def aggregate_documents(
    ranked: Sequence[tuple[int, float]],
    chunk_docs: Mapping[int, int],
    passages: Mapping[int, int] | None = None,
) -> list[tuple[int, float, int]]:
    """Rank documents from a passage ranking: ``(doc_id, score, best_chunk_id)``, best first.

    Passage scores are first divided by the best one, so every mode's scores run up
    to 1 (BM25, cosine and fused scores alike). A document then scores its best
    passage plus :data:`SECOND_PASSAGE_WEIGHT` times its second best, so a review that
    speaks to the query twice beats one that mentions it once, less
    :data:`LENGTH_PRIOR` times the log of its passage count when ``passages``
    (``{doc_id: count}``) is given.
    """
    top = max((score for _, score in ranked), default=0.0)
    scale = 1.0 / top if top > 0 else 1.0
    scores: dict[int, float] = {}
    seen: dict[int, int] = {}
    best: dict[int, int] = {}
    for cid, score in ranked:
        doc = chunk_docs.get(cid)
        if doc is None:
            continue
        count = seen.get(doc, 0)
        if count < 2:
            weight = 1.0 if count == 0 else SECOND_PASSAGE_WEIGHT
            scores[doc] = scores.get(doc, 0.0) + weight * score * scale
            best.setdefault(doc, cid)
        seen[doc] = count + 1
    if passages is not None:
        for doc in scores:
            scores[doc] -= LENGTH_PRIOR * math.log(max(passages.get(doc, 1), 1))
    order = sorted(scores, key=lambda d: (-scores[d], best[d]))
    return [(d, scores[d], best[d]) for d in order]


def rank_documents(
    conn: sqlite3.Connection, ranked: Sequence[tuple[int, float]]
) -> list[tuple[int, float, int]]:
    """The product's review ranking for a passage ranking (see :func:`aggregate_documents`)."""
    chunk_docs = store.chunk_documents(conn, [cid for cid, _ in ranked])
    passages = store.passage_counts(conn, set(chunk_docs.values()))
    return aggregate_documents(ranked, chunk_docs, passages)

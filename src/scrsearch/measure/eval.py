"""Measure ranking quality against judged queries (a "qrels" file).

A qrels file is JSON::

    {"collection": "real",
     "documents": ["PFD-toolkit/2014-0047_tallulah-wilson.txt", ...],
     "queries": [{"id": "r01", "query": "...", "kind": "keyword",
                  "judgements": {"PFD-toolkit/2014-0309_helena-farrell.txt": 2, ...}}]}

Document ids are paths relative to the judged collection's folder. A document id
matches the indexed document whose source path ends with ``"/" + doc_id`` (or is
``ROOT/doc_id`` when a root folder is given), so one qrels file works with any
index that holds its files, wherever they live.

Evaluation is at the document level: passages are ranked as the product ranks them
(:meth:`Searcher.rank`, ``DEPTH`` passages deep), and documents are ordered from
them exactly as the product orders reviews (:func:`ranking.rank_documents`).

Metrics, all per query and then averaged over queries:

- **nDCG@10** with *linear* gains: a document judged 2 gains 2, judged 1 gains 1,
  unjudged gains 0; the gain at rank ``r`` is discounted by ``log2(r + 1)``; the
  ideal ranking sorts all judged documents by grade.
- **Recall@k** (k = 5, 10, 50): the share of documents judged 1 or 2 found in the top ``k``.
- **MRR**: ``1 / rank`` of the first document judged 1 or 2 (0 when none is ranked).

Besides the search modes, ``match-case`` ranks reviews as ``scrsearch match-case``
does (:func:`scrsearch.themes.cases.rank_case`: the query split into the model's
windows, each searched, the rankings combined), for judged case descriptions.

Modes are also compared query by query with a baseline (keyword search by default):
the mean difference in nDCG@10, its 95% bootstrap confidence interval (BCa, 10,000
resamples of the queries, fixed seed), and how many queries got better, worse or
stayed the same. A difference whose interval includes 0 is not established by the
collection.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Config
from ..embed.base import Embedder
from ..errors import ScrsearchError
from ..search.ranking import rank_documents
from ..search.searcher import MODES, REVIEW_DEPTH, Searcher

#: Passages ranked per query before aggregating to documents: as deep as the
#: product's review ranking goes.
DEPTH = REVIEW_DEPTH

METRICS = ("ndcg@10", "recall@5", "recall@10", "recall@50", "mrr")

#: The mode the others are compared with, by default.
BASELINE = "keyword"
#: The modes evaluated by default: the baseline (words) first, then meaning, then both.
EVAL_MODES = (BASELINE, *(m for m in reversed(MODES) if m != BASELINE))
#: What ``evaluate`` can rank with: the search modes, and match-case.
RANKINGS = (*MODES, "match-case")

#: Resamples of the queries for the confidence interval of a difference between modes.
BOOTSTRAP_RESAMPLES = 10_000
#: Per-query metrics are rounded to 4 places, so smaller differences are ties.
TIE = 5e-5

Progress = Callable[[str, int, int], None]


# --- pure metrics -------------------------------------------------------------


def dcg(gains: Sequence[float]) -> float:
    """Discounted cumulative gain: ``sum(gain_r / log2(r + 1))`` for ranks r = 1, 2, ..."""
    return sum(g / math.log2(rank + 1) for rank, g in enumerate(gains, start=1))


def ndcg_at_k(ranked: Sequence[str], judgements: Mapping[str, int], k: int = 10) -> float:
    """nDCG@k with linear gains (gain = grade). 0.0 when nothing is judged relevant."""
    ideal = dcg(sorted((g for g in judgements.values() if g > 0), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    return dcg([max(judgements.get(doc, 0), 0) for doc in ranked[:k]]) / ideal


def recall_at_k(ranked: Sequence[str], judgements: Mapping[str, int], k: int) -> float:
    """Share of the relevant documents (grade >= 1) ranked in the top ``k``."""
    relevant = {doc for doc, grade in judgements.items() if grade >= 1}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranked[:k])) / len(relevant)


def mrr(ranked: Sequence[str], judgements: Mapping[str, int]) -> float:
    """Reciprocal rank of the first relevant document (grade >= 1) for one query.

    The mean of this over queries is the MRR.
    """
    for rank, doc in enumerate(ranked, start=1):
        if judgements.get(doc, 0) >= 1:
            return 1.0 / rank
    return 0.0


def query_metrics(ranked: Sequence[str], judgements: Mapping[str, int]) -> dict[str, float]:
    return {
        "ndcg@10": ndcg_at_k(ranked, judgements, 10),
        "recall@5": recall_at_k(ranked, judgements, 5),
        "recall@10": recall_at_k(ranked, judgements, 10),
        "recall@50": recall_at_k(ranked, judgements, 50),
        "mrr": mrr(ranked, judgements),
    }


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def mean_ci(values: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """Bootstrap confidence interval of the mean (scipy's BCa, fixed seed).

    ``(v, v)`` when every value is ``v`` (nothing varies to resample), and for one value.
    """
    import numpy as np
    from scipy.stats import bootstrap

    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return (0.0, 0.0)
    if data.size == 1 or np.ptp(data) == 0:
        return (float(data[0]), float(data[0]))
    interval = bootstrap(
        (data,),
        np.mean,
        confidence_level=level,
        n_resamples=BOOTSTRAP_RESAMPLES,
        random_state=0,
    ).confidence_interval
    return (float(interval.low), float(interval.high))


@dataclass(frozen=True)
class Comparison:
    """A mode against a baseline mode, query by query, on one metric."""

    mode: str
    baseline: str
    metric: str
    difference: float
    ci95: tuple[float, float]
    better: int
    worse: int
    tied: int
    by_kind: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "baseline": self.baseline,
            "metric": self.metric,
            "difference": round(self.difference, 4),
            "ci95": [round(self.ci95[0], 4), round(self.ci95[1], 4)],
            "better": self.better,
            "worse": self.worse,
            "tied": self.tied,
            "by_kind": {k: round(v, 4) for k, v in self.by_kind.items()},
        }


def compare_modes(
    queries: Sequence[Mapping[str, Any]], mode: str, baseline: str, metric: str = "ndcg@10"
) -> Comparison:
    """``mode`` minus ``baseline`` on ``metric``, paired over the queries (rows as
    :class:`EvalResult` keeps them: ``{"kind", mode: {metric: value}}``)."""
    diffs = [float(q[mode][metric]) - float(q[baseline][metric]) for q in queries]
    kinds = dict.fromkeys(str(q["kind"]) for q in queries)
    return Comparison(
        mode,
        baseline,
        metric,
        mean(diffs),
        mean_ci(diffs),
        better=sum(d > TIE for d in diffs),
        worse=sum(d < -TIE for d in diffs),
        tied=sum(abs(d) <= TIE for d in diffs),
        by_kind={
            kind: mean([d for d, q in zip(diffs, queries, strict=True) if q["kind"] == kind])
            for kind in kinds
        },
    )


# --- qrels and the index ------------------------------------------------------


@dataclass(frozen=True)
class Query:
    id: str
    query: str
    kind: str
    judgements: dict[str, int]


@dataclass(frozen=True)
class Qrels:
    collection: str
    documents: tuple[str, ...]
    queries: tuple[Query, ...]

    def doc_ids(self) -> list[str]:
        """Every document id named, in the order first seen."""
        names = list(self.documents)
        for q in self.queries:
            names.extend(q.judgements)
        return list(dict.fromkeys(names))


def load_qrels(path: str | Path) -> Qrels:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        queries = tuple(
            Query(
                str(q["id"]),
                str(q["query"]),
                str(q.get("kind", "other")),
                {str(d): int(g) for d, g in q.get("judgements", {}).items()},
            )
            for q in data["queries"]
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ScrsearchError(
            f"Cannot read qrels file {path} ({type(exc).__name__}: {exc}); "
            'it must be JSON with "queries": [{"id", "query", "judgements"}]'
        ) from exc
    return Qrels(
        str(data.get("collection", Path(path).stem)),
        tuple(str(d) for d in data.get("documents", [])),
        queries,
    )


def match_documents(
    doc_ids: Sequence[str], sources: Mapping[int, str], root: str | Path | None = None
) -> tuple[dict[str, int], list[str]]:
    """Map qrels document ids to indexed document ids.

    A qrels id matches the indexed document whose source is ``root/doc_id`` when
    ``root`` is given, else the one whose source ends with ``"/" + doc_id``. An id
    that several documents end with is taken as unmatched (give ``root``).

    Returns:
        ``({qrels_id: index_doc_id}, warnings)``.
    """
    matched: dict[str, int] = {}
    ambiguous: list[str] = []
    warnings: list[str] = []
    base = os.path.abspath(root) if root is not None else None
    for name in doc_ids:
        if base is not None:
            want = os.path.join(base, name)
            found = [d for d, s in sources.items() if os.path.abspath(s) == want]
        else:
            found = [d for d, s in sources.items() if s.endswith("/" + name) or s == name]
        if len(found) == 1:
            matched[name] = found[0]
        elif found:
            ambiguous.append(name)
            warnings.append(f"{name}: matches {len(found)} indexed documents; give --root")
    missing = [n for n in doc_ids if n not in matched and n not in ambiguous]
    if missing:
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        warnings.append(
            f"{len(missing)} judged document(s) not in the index, left out of the judgements: {shown}"
        )
    return matched, warnings


# --- evaluation ---------------------------------------------------------------


@dataclass
class EvalResult:
    collection: str
    modes: tuple[str, ...]
    queries: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: Set by ``as_if_passages``: that size, and the keyword budget scaled for it.
    simulated: dict[str, int] | None = None
    #: The mode the others are compared with (see :meth:`comparisons`).
    baseline: str = BASELINE

    def summary(self, mode: str) -> dict[str, Any]:
        rows = [q[mode] for q in self.queries]
        out: dict[str, Any] = {m: round(mean([r[m] for r in rows]), 4) for m in METRICS}
        kinds = dict.fromkeys(q["kind"] for q in self.queries)
        out["by_kind"] = {
            kind: round(mean([q[mode]["ndcg@10"] for q in self.queries if q["kind"] == kind]), 4)
            for kind in kinds
        }
        out["queries"] = len(rows)
        return out

    def comparisons(self) -> list[Comparison]:
        """Every other mode against :attr:`baseline` (none if it was not evaluated)."""
        if self.baseline not in self.modes or not self.queries:
            return []
        return [
            compare_modes(self.queries, mode, self.baseline)
            for mode in self.modes
            if mode != self.baseline
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "collection": self.collection,
            "modes": {mode: self.summary(mode) for mode in self.modes},
            "comparisons": [c.to_dict() for c in self.comparisons()],
            "queries": self.queries,
            "warnings": self.warnings,
            "simulated": self.simulated,
        }


def evaluate(
    qrels: Qrels,
    index_dir: str | Path,
    *,
    modes: Sequence[str] = EVAL_MODES,
    root: str | Path | None = None,
    config: Config | None = None,
    embedder: Embedder | None = None,
    depth: int = DEPTH,
    progress: Progress | None = None,
    as_if_passages: int | None = None,
    baseline: str | None = None,
) -> EvalResult:
    """Rank every judged query in every mode and score the document rankings.

    Queries with no judged document in the index are skipped (with a warning). The
    other modes are compared with ``baseline`` (see :meth:`EvalResult.comparisons`), by
    default keyword search when it is among ``modes``.
    ``as_if_passages`` simulates a larger index's keyword search: the keyword budget
    is scaled down to the share of this index that the real budget is of that many
    passages (the semantic side is not scaled).
    """
    _check_modes(modes, baseline)
    searcher = Searcher.open(index_dir, config=config, embedder=embedder)
    simulated = _simulate(searcher, as_if_passages) if as_if_passages else None
    conn = searcher.index.conn()
    sources = {int(r[0]): str(r[1]) for r in conn.execute("SELECT id, source FROM documents")}
    matched, warnings = match_documents(qrels.doc_ids(), sources, root)
    names = {doc: name for name, doc in matched.items()}
    result = EvalResult(
        qrels.collection,
        tuple(modes),
        warnings=warnings,
        simulated=simulated,
        baseline=baseline or BASELINE,
    )
    for done, query in enumerate(qrels.queries, start=1):
        judgements = {d: g for d, g in query.judgements.items() if d in matched}
        if not any(g >= 1 for g in judgements.values()):
            result.warnings.append(f"query {query.id}: no relevant document in the index, skipped")
            continue
        row: dict[str, Any] = {"id": query.id, "kind": query.kind, "query": query.query}
        for mode in modes:
            ranked = _ranked_documents(searcher, query.query, mode, depth)
            docs = [names.get(d, f"#{d}") for d in ranked]
            row[mode] = {m: round(v, 4) for m, v in query_metrics(docs, judgements).items()}
        result.queries.append(row)
        if progress is not None:
            progress("eval", done, len(qrels.queries))
    return result


def _check_modes(modes: Sequence[str], baseline: str | None) -> None:
    """Refuse an unknown mode, and a baseline that is not evaluated."""
    for mode in (*modes, *([baseline] if baseline else [])):
        if mode not in RANKINGS:
            raise ScrsearchError(f"Unknown mode '{mode}': use one of {', '.join(RANKINGS)}")
    if baseline is not None and baseline not in modes:
        raise ScrsearchError(
            f"The baseline '{baseline}' is not among the modes evaluated "
            f"({', '.join(modes)}): add it to the modes (--modes)"
        )


def _ranked_documents(searcher: Searcher, query: str, mode: str, depth: int) -> list[int]:
    """Document ids, best first, as the product ranks reviews in ``mode``."""
    if mode == "match-case":
        from ..search.windows import query_windows
        from ..themes.cases import rank_case

        _, reviews = rank_case(searcher, query_windows(searcher, query), depth=depth)
    else:
        ranked = searcher.rank(query, mode=mode, depth=depth)
        reviews = rank_documents(searcher.index.conn(), ranked)
    return [doc for doc, _, _ in reviews]


def _simulate(searcher: Searcher, as_if_passages: int) -> dict[str, int]:
    """Scale ``searcher``'s keyword budget to what it would be of ``as_if_passages``
    passages; return that size and budget (:attr:`EvalResult.simulated`)."""
    passages = int(searcher.index.manifest.counts.get("passages", 0))
    budget = max(1, round(searcher.config.keyword_budget * passages / as_if_passages))
    searcher.config = searcher.config.with_overrides(keyword_budget=budget)
    return {"passages": as_if_passages, "keyword_budget": budget}

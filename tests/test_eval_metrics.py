"""Ranking metrics against hand-computed values, and the qrels-to-index matching."""

from __future__ import annotations

import math

import pytest

from scrsearch.measure.eval import (
    EvalResult,
    compare_modes,
    dcg,
    match_documents,
    mean_ci,
    mrr,
    ndcg_at_k,
    query_metrics,
    recall_at_k,
)

# Judged: a=2, b=1, c=2 (c is never retrieved). x and y are unjudged (gain 0).
JUDGED = {"a": 2, "b": 1, "c": 2}
RANKED = ["x", "a", "y", "b"]


def test_dcg_by_hand() -> None:
    # 2/log2(2) + 1/log2(3) + 0/log2(4) = 2 + 0.6309298 + 0 = 2.6309298
    assert dcg([2, 1, 0]) == pytest.approx(2.6309298, abs=1e-6)
    assert dcg([]) == 0.0


def test_ndcg_at_10_by_hand() -> None:
    # DCG:  rank 1 x -> 0
    #       rank 2 a -> 2 / log2(3) = 2 / 1.5849625 = 1.2618595
    #       rank 3 y -> 0
    #       rank 4 b -> 1 / log2(5) = 1 / 2.3219281 = 0.4306766
    #       DCG = 1.6925361
    # IDCG: grades sorted 2, 2, 1 -> 2/1 + 2/1.5849625 + 1/2 = 2 + 1.2618595 + 0.5 = 3.7618595
    # nDCG = 1.6925361 / 3.7618595 = 0.4499201
    assert ndcg_at_k(RANKED, JUDGED, 10) == pytest.approx(0.4499201, abs=1e-6)


def test_ndcg_perfect_and_cut_off() -> None:
    # The ideal order c, a, b scores DCG = IDCG, so 1.0 (a/c tie either way).
    assert ndcg_at_k(["c", "a", "b"], JUDGED, 10) == pytest.approx(1.0)
    # @1 with b (grade 1) first: DCG@1 = 1/log2(2) = 1; IDCG@1 = 2 -> 0.5
    assert ndcg_at_k(["b", "a"], JUDGED, 1) == pytest.approx(0.5)
    # The ideal is cut at k too: 12 documents of grade 1, the first 10 of them ranked
    # 1..10 -> DCG@10 = IDCG@10 -> 1.0 (although recall@10 = 10/12).
    many = {f"d{i}": 1 for i in range(12)}
    ranked = [f"d{i}" for i in range(12)]
    assert ndcg_at_k(ranked, many, 10) == pytest.approx(1.0)
    assert recall_at_k(ranked, many, 10) == pytest.approx(10 / 12)


def test_ndcg_gain_is_linear_not_exponential() -> None:
    # One grade-1 document at rank 1 and a grade-2 one at rank 2:
    # linear gains: DCG = 1 + 2/1.5849625 = 2.2618595; IDCG = 2 + 1/1.5849625 = 2.6309298
    # nDCG = 2.2618595 / 2.6309298 = 0.8597186
    # (with 2^g - 1 gains it would be (1 + 3/1.5849625) / (3 + 1/1.5849625) = 2.8927893 / 3.6309298 = 0.7967)
    assert ndcg_at_k(["b", "a"], {"a": 2, "b": 1}, 10) == pytest.approx(0.8597186, abs=1e-6)


def test_recall_by_hand() -> None:
    # Relevant = {a, b, c}. Top 2 = {x, a} -> 1/3; top 4 = {x, a, y, b} -> 2/3.
    assert recall_at_k(RANKED, JUDGED, 2) == pytest.approx(1 / 3)
    assert recall_at_k(RANKED, JUDGED, 4) == pytest.approx(2 / 3)
    assert recall_at_k(RANKED, JUDGED, 50) == pytest.approx(2 / 3)


def test_mrr_by_hand() -> None:
    # The first relevant document, a, is at rank 2 -> 1/2.
    assert mrr(RANKED, JUDGED) == 0.5
    assert mrr(["b"], JUDGED) == 1.0
    assert mrr(["x", "y"], JUDGED) == 0.0


def test_nothing_relevant_scores_zero() -> None:
    assert ndcg_at_k(["a"], {}, 10) == 0.0
    assert recall_at_k(["a"], {"a": 0}, 10) == 0.0
    assert mrr(["a"], {"a": 0}) == 0.0


def test_query_metrics_bundle() -> None:
    got = query_metrics(RANKED, JUDGED)
    assert got == pytest.approx(
        {
            "ndcg@10": 0.4499201,
            "recall@5": 2 / 3,
            "recall@10": 2 / 3,
            "recall@50": 2 / 3,
            "mrr": 0.5,
        },
        abs=1e-6,
    )


def test_summary_means_by_mode_and_kind() -> None:
    result = EvalResult("t", ("keyword",))
    for qid, kind, ndcg in (("q1", "rare", 1.0), ("q2", "rare", 0.5), ("q3", "keyword", 0.0)):
        row = {"ndcg@10": ndcg, "recall@5": ndcg, "recall@10": ndcg, "recall@50": 1.0, "mrr": ndcg}
        result.queries.append({"id": qid, "kind": kind, "query": qid, "keyword": row})
    summary = result.summary("keyword")
    # mean nDCG = (1 + 0.5 + 0) / 3 = 0.5; rare = (1 + 0.5) / 2 = 0.75; keyword = 0
    assert summary["ndcg@10"] == 0.5 and summary["recall@50"] == 1.0
    assert summary["by_kind"] == {"rare": 0.75, "keyword": 0.0}


def _paired(rows: list[tuple[str, float, float]]) -> EvalResult:
    result = EvalResult("t", ("keyword", "hybrid"))
    for n, (kind, keyword, hybrid) in enumerate(rows):
        row = {"id": f"q{n}", "kind": kind, "query": f"q{n}"}
        for mode, value in (("keyword", keyword), ("hybrid", hybrid)):
            row[mode] = {m: value for m in ("ndcg@10", "recall@5", "recall@10", "recall@50", "mrr")}
        result.queries.append(row)
    return result


def test_a_mode_against_the_baseline_by_hand() -> None:
    # hybrid - keyword per query: +0.2, -0.1, 0, +0.3 -> mean 0.4 / 4 = +0.1;
    # 2 better, 1 worse, 1 the same; rare: (0.2 - 0.1) / 2 = +0.05, keyword: (0 + 0.3) / 2
    result = _paired(
        [("rare", 0.5, 0.7), ("rare", 0.6, 0.5), ("keyword", 0.4, 0.4), ("keyword", 0.1, 0.4)]
    )
    (c,) = result.comparisons()
    assert (c.mode, c.baseline, c.metric) == ("hybrid", "keyword", "ndcg@10")
    assert c.difference == pytest.approx(0.1)
    assert (c.better, c.worse, c.tied) == (2, 1, 1)
    assert c.by_kind == pytest.approx({"rare": 0.05, "keyword": 0.15})
    # The interval holds the mean and lies within the smallest and largest difference.
    assert -0.1 <= c.ci95[0] < 0.1 < c.ci95[1] <= 0.3
    assert result.to_dict()["comparisons"][0]["ci95"] == [round(v, 4) for v in c.ci95]


def test_bootstrap_interval_narrows_with_more_queries_and_is_repeatable() -> None:
    few = [0.2, -0.1, 0.0, 0.3]
    low, high = mean_ci(few)
    wide = high - low
    low, high = mean_ci(few * 10)  # the same spread over ten times the queries
    assert high - low < wide / 2 and low < 0.1 < high
    assert mean_ci(few) == mean_ci(few)  # a fixed seed: the same interval every run
    assert low > 0  # 40 queries at +0.1 with this spread: the gain is established


def test_identical_differences_give_a_point_interval() -> None:
    assert mean_ci([0.05, 0.05, 0.05]) == (0.05, 0.05)
    assert mean_ci([0.2]) == (0.2, 0.2) and mean_ci([]) == (0.0, 0.0)
    same = compare_modes(_paired([("rare", 0.5, 0.5)] * 3).queries, "hybrid", "keyword")
    assert (same.difference, same.ci95, same.tied) == (0.0, (0.0, 0.0), 3)


def test_no_comparison_without_the_baseline_mode() -> None:
    result = _paired([("rare", 0.5, 0.7)])
    result.baseline = "semantic"
    assert result.comparisons() == [] and result.to_dict()["comparisons"] == []


def test_match_documents_by_path_ending_and_root() -> None:
    sources = {
        1: "/data/corpus/kingsmere.pdf",
        2: "/data/shared/seed/george-briefing.txt",
        3: "/data/corpus/george-briefing.txt",
        4: "/data/shared/corpus-real/PFD-toolkit/2014-0047_tallulah-wilson.txt",
    }
    names = [
        "kingsmere.pdf",
        "seed/george-briefing.txt",
        "PFD-toolkit/2014-0047_tallulah-wilson.txt",
        "george-briefing.txt",
        "gone.pdf",
    ]
    matched, warnings = match_documents(names, sources)
    assert matched == {
        "kingsmere.pdf": 1,
        "seed/george-briefing.txt": 2,
        "PFD-toolkit/2014-0047_tallulah-wilson.txt": 4,
    }
    assert warnings == [
        "george-briefing.txt: matches 2 indexed documents; give --root",
        "1 judged document(s) not in the index, left out of the judgements: gone.pdf",
    ]
    # A file name alone never matches a longer name that merely ends with it.
    assert match_documents(["ingsmere.pdf"], sources)[0] == {}
    matched, _ = match_documents(["george-briefing.txt"], sources, root="/data/corpus")
    assert matched == {"george-briefing.txt": 3}


def test_log2_discount_constant() -> None:
    # The hand values above use log2(3) = 1.5849625 and log2(5) = 2.3219281.
    assert math.log2(3) == pytest.approx(1.5849625, abs=1e-7)
    assert math.log2(5) == pytest.approx(2.3219281, abs=1e-7)

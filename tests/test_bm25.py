"""Exact BM25 for chosen passages (bm25.rescore) against FTS5's own bm25(); eval depth."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from conftest import CORPUS, build_hash_index
from scrsearch import Filters, Searcher, load_config
from scrsearch.search import bm25
from scrsearch.search import searcher as search_module
from scrsearch.search.query_text import fts_parts
from scrsearch.search.searcher import KEYWORD_POOL

QUERIES = [
    "escalation policy not used",
    "CAMHS referral",  # expands to a five-word phrase
    '"safer sleep" advice for babies',  # a user's phrase
    "mother's new partner history of violence",
    "Harrowdale",  # matches titles only
    "zebra unicorn",  # matches nothing
    "child",  # in most passages: IDF near its floor
    "escalation escalated",  # two words, one stem: FTS5 scores each
]


@pytest.fixture(scope="module")
def demo_hash_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_hash_index(tmp_path_factory, "bm25-demo", [CORPUS])


@pytest.fixture
def searcher(demo_hash_index: Path, hash_embedder) -> Searcher:
    config = load_config(index=str(demo_hash_index))
    return Searcher.open(demo_hash_index, config=config, embedder=hash_embedder)


def with_budget(searcher: Searcher, budget: int) -> Searcher:
    config = searcher.config.with_overrides(keyword_budget=budget)
    return Searcher(searcher.index, config=config, embedder=searcher.embedder)


def fts5_ranking(searcher: Searcher, query: str) -> list[tuple[int, float]]:
    return searcher.keyword(query, Filters(), 10_000, budget=math.inf)


@pytest.mark.parametrize("query", QUERIES)
def test_rescore_gives_fts5_scores(searcher: Searcher, query: str) -> None:
    conn = searcher.index.conn()
    every_passage = [r[0] for r in conn.execute("SELECT id FROM chunks")]
    want = fts5_ranking(searcher, query)
    got = bm25.rescore(conn, fts_parts(query), every_passage)
    assert [cid for cid, _ in got] == [cid for cid, _ in want]
    for (_, mine), (_, theirs) in zip(got, want, strict=True):
        assert mine == pytest.approx(theirs, rel=1e-9, abs=1e-12)


def test_rescore_scores_only_the_passages_asked_for(searcher: Searcher) -> None:
    conn = searcher.index.conn()
    want = dict(fts5_ranking(searcher, "escalation policy not used"))
    some = sorted(want)[::2] + [10**9]  # every other match, and an id that does not exist
    got = bm25.rescore(conn, fts_parts("escalation policy not used"), some)
    assert {cid for cid, _ in got} == set(sorted(want)[::2])
    assert all(score == pytest.approx(want[cid]) for cid, score in got)


def test_a_phrase_is_counted_once_per_index(searcher: Searcher) -> None:
    conn = searcher.index.conn()
    stats = bm25.corpus_stats(conn)
    parts = fts_parts("CAMHS referral")
    phrase = ("child", "and", "adolesc", "mental", "health", "servic")
    want = conn.execute(
        "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?", ['"' + " ".join(phrase) + '"']
    ).fetchone()[0]
    ids = [r[0] for r in conn.execute("SELECT id FROM chunks")]
    first = bm25.rescore(conn, parts, ids, stats)
    assert stats.phrases == {phrase: want} and want > 0
    queries: list[str] = []
    conn.set_trace_callback(queries.append)
    try:
        assert bm25.rescore(conn, parts, ids, stats) == first
    finally:
        conn.set_trace_callback(None)
    assert not any("MATCH" in q for q in queries)  # the count was kept, not run again


def test_corpus_stats_are_fts5_totals(searcher: Searcher) -> None:
    conn = searcher.index.conn()
    stats = bm25.corpus_stats(conn)
    assert stats.rows == conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
    sizes = [bm25.varints(bytes(r[0])) for r in conn.execute("SELECT sz FROM chunks_fts_docsize")]
    assert stats.avg_tokens == pytest.approx(sum(map(sum, sizes)) / stats.rows)


@pytest.mark.parametrize(
    ("blob", "values"),
    [
        (b"\x00\x7f", [0, 127]),
        (b"\x81\x00", [128]),
        (b"\x82\x2c\x05", [300, 5]),
        (b"\xff\xff\xff\xff\xff\xff\xff\xff\xff", [2**64 - 1]),
    ],
)
def test_varints_decode_sqlite_encoding(blob: bytes, values: list[int]) -> None:
    assert bm25.varints(blob) == values


def test_budgeted_keyword_search_is_rescored_exactly(searcher: Searcher) -> None:
    query = "escalation policy not used"
    exact = dict(fts5_ranking(searcher, query))
    counts = bm25.term_counts(searcher.index.conn(), fts_parts(query))
    assert counts is not None
    # A budget that keeps only the rarest term: FTS5 finds the passages holding it,
    # and each is then scored on every term, so its score is the exact one.
    budget = min(c for c in counts if c)
    searcher = with_budget(searcher, budget)
    passages = searcher.index.manifest.counts["passages"]
    assert passages * len(fts_parts(query)) > budget
    budgeted = searcher.rank(query, mode="keyword", depth=100)
    assert 0 < len(budgeted) < len(exact)
    assert all(score == pytest.approx(exact[cid]) for cid, score in budgeted)
    assert budgeted == sorted(budgeted, key=lambda item: (-item[1], item[0]))


def test_hybrid_keyword_side_scores_semantic_candidates(searcher: Searcher) -> None:
    """Passages only the semantic side found still get their exact keyword score."""
    query = "child"
    exact = dict(fts5_ranking(searcher, query))
    searcher = with_budget(searcher, 1)  # "child" is over the budget
    assert searcher.keyword(query, Filters(), 100, exhaustive=False) == []
    semantic = searcher.semantic(searcher.embedder.embed_query(query), Filters(), 100)
    candidates = [cid for cid, _ in semantic]
    side = searcher.keyword(query, Filters(), 100, exhaustive=False, candidates=candidates)
    assert side
    assert {cid for cid, _ in side} == set(candidates) & set(exact)
    assert all(score == pytest.approx(exact[cid]) for cid, score in side)
    fused = dict(searcher.rank(query, mode="hybrid", depth=100))
    assert fused == dict(searcher.fuse(side, semantic))


def rarest_only(searcher: Searcher, query: str) -> Searcher:
    """The searcher with a budget that keeps only ``query``'s rarest term."""
    counts = bm25.term_counts(searcher.index.conn(), fts_parts(query))
    assert counts is not None
    return with_budget(searcher, min(c for c in counts if c))


@pytest.fixture
def forbid_model_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail a test that makes a searcher load a model (searchers given none)."""

    def no_model(*_: object, **__: object) -> None:
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(search_module, "load_embedder", no_model)


def test_keyword_search_also_scores_the_semantic_sides_best_when_terms_are_left_out(
    searcher: Searcher, request: pytest.FixtureRequest
) -> None:
    query = "escalation policy not used"
    exact = dict(fts5_ranking(searcher, query))
    searcher = rarest_only(searcher, query)
    assert searcher.keyword_leaves_out_terms(query)
    rarest = dict(searcher.keyword(query, Filters(), 1000))  # FTS5's matches alone
    pooled = dict(searcher.rank(query, mode="keyword", depth=1000))
    semantic = searcher.semantic(searcher.embedder.embed_query(query), Filters(), KEYWORD_POOL)
    from_pool = ({cid for cid, _ in semantic} & set(exact)) - set(rarest)
    assert from_pool, "the pool finds passages the rarest term alone misses"
    assert set(pooled) == set(rarest) | from_pool  # none without a query term
    assert all(score == pytest.approx(exact[cid]) for cid, score in pooled.items())
    request.getfixturevalue("forbid_model_loading")
    light = Searcher(searcher.index, config=searcher.config, keyword_pool=False)
    assert dict(light.rank(query, mode="keyword", depth=1000)) == rarest


@pytest.mark.usefixtures("forbid_model_loading")
def test_keyword_search_loads_no_model_when_no_term_is_left_out(searcher: Searcher) -> None:
    query = "escalation policy not used"
    for budget in (10**9, 0):  # every term fits; no term fits (all matched anyway)
        config = searcher.config.with_overrides(keyword_budget=budget)
        modelless = Searcher(searcher.index, config=config)
        assert not modelless.keyword_leaves_out_terms(query)
        assert modelless.rank(query, mode="keyword", depth=1000) == fts5_ranking(searcher, query)


def test_eval_ranks_reviews_as_grouped_search_does(searcher: Searcher) -> None:
    """``scrsearch eval`` must measure the review ranking users get."""
    from scrsearch.measure.eval import DEPTH
    from scrsearch.search.ranking import rank_documents

    conn = searcher.index.conn()
    for query in QUERIES[:4]:
        shown = [h.document.doc_id for h in searcher.search(query, k=10, group_by_review=True)]
        ranked = rank_documents(conn, searcher.rank(query, depth=DEPTH))
        assert shown == [doc for doc, _, _ in ranked[:10]]

"""Search plumbing with the fake embedder: FTS escaping, fusion, filters, grouping."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from scrsearch import Filters, Hit, Searcher, ingest, load_config
from scrsearch.errors import ModelMismatchError, ScrsearchError
from scrsearch.search.query_text import fts_query
from scrsearch.search.ranking import LENGTH_PRIOR, aggregate_documents, fuse_rrf, fuse_scores

DOCS = {
    "a-2015-scr.txt": "Serious Case Review: Child A\nPublished: May 2015\nWestmere Local Safeguarding Children Board\n\n"
    "Findings\n1. The escalation policy was not used when the nurse disagreed.\n"
    "2. The CAMHS referral was delayed for months.\n",
    "b-2021-cspr.txt": "Child Safeguarding Practice Review: Jayden\nPublished: June 2021\nKingsmere Safeguarding Children Partnership\n\n"
    "Lessons learned\n1. County lines exploitation was not recognised by the school.\n"
    "2. Child and adolescent mental health services did not see him.\n",
    "c-2019-brief.txt": "Learning briefing: Baby Q\nPublished: 2019\nOxley Moor Safeguarding Children Partnership\n\n"
    "Background\nThe mother's new partner had a history of violence that nobody checked.\n",
}


@pytest.fixture
def index(tmp_path: Path, hash_embedder) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text)
    index = tmp_path / "idx"
    report = ingest([folder], config=load_config(index=str(index)), embedder=hash_embedder)
    assert not report.failed
    return index


@pytest.fixture
def searcher(index: Path, hash_embedder) -> Searcher:
    return Searcher.open(index, config=load_config(index=str(index)), embedder=hash_embedder)


#: Pieces of hostile queries: FTS5 syntax, SQL, quotes, NUL and other control
#: characters, right-to-left marks, emoji, combining accents and words that match.
HOSTILE_PIECES = [
    '"',
    "'",
    "AND(",
    "OR",
    "NOT",
    "NEAR(a b",
    "NEAR/2",
    "*",
    "^",
    "-",
    "+",
    ":",
    "col:value",
    "chunks_fts:",
    "{text}",
    "(((",
    ")",
    "'; DROP TABLE chunks; --",
    "\x00",
    "\x1b[31m",
    "\u202e",
    "\ufeff",
    "🙂",
    "é",
    "e\u0301",
    "ß",
    "\\",
    "%",
    "_",
    "escalation",
    "camhs",
    "policy",
    " ",
    "\n\t",
]
hostile_queries = st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(HOSTILE_PIECES), max_size=30).map("".join),
    st.lists(st.sampled_from(HOSTILE_PIECES) | st.text(max_size=12), max_size=12).map(" ".join),
    # Huge: a piece repeated, or many distinct words (a pasted page).
    st.builds(lambda piece, n: piece * n, st.sampled_from(HOSTILE_PIECES), st.integers(1, 50_000)),
    st.integers(100, 5_000).map(lambda n: " ".join(f"word{i}" for i in range(n))),
)


@pytest.fixture(scope="module")
def shared_searcher(tmp_path_factory: pytest.TempPathFactory) -> Searcher:
    """A read-only searcher over DOCS, shared by every example of the property below."""
    from scrsearch import HashEmbedder

    folder = tmp_path_factory.mktemp("hostile-docs")
    for name, text in DOCS.items():
        (folder / name).write_text(text)
    index = tmp_path_factory.mktemp("hostile") / "index"
    embedder = HashEmbedder(dimension=64, max_tokens=128)
    assert not ingest([folder], config=load_config(index=str(index)), embedder=embedder).failed
    return Searcher.open(index, config=load_config(index=str(index)), embedder=embedder)


@settings(
    max_examples=60,
    deadline=2000,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(query=hostile_queries, mode=st.sampled_from(["keyword", "semantic", "hybrid"]))
@example(query='"escalation AND( policy" NEAR(x "', mode="keyword")
@example(query="camhs\x00policy\x00", mode="hybrid")
@example(query=" ".join(f"word{i} escalation" for i in range(20_000)), mode="keyword")
@example(query="é" * 200_000, mode="hybrid")
def test_any_query_gives_ranked_hits_in_every_mode(
    shared_searcher: Searcher, query: str, mode: str
) -> None:
    """Whatever is typed, every mode answers with at most k well-formed, ranked hits."""
    hits = shared_searcher.search(query, mode=mode, k=5)
    assert isinstance(hits, list) and len(hits) <= 5
    assert all(isinstance(h, Hit) and h.method == mode for h in hits)
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert all(math.isfinite(h.score) for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert len({h.chunk.chunk_id for h in hits}) == len(hits)
    if not query.strip():
        assert hits == []


unquoted_noise = st.lists(st.sampled_from([p for p in HOSTILE_PIECES if '"' not in p]), max_size=8)


@settings(max_examples=60, deadline=2000)
@given(
    before=unquoted_noise,
    after=unquoted_noise,
    lone_quote=st.sampled_from(["", '"', '" ']),
    quote_first=st.booleans(),
)
def test_a_word_among_hostile_syntax_is_still_found(
    shared_searcher: Searcher,
    before: list[str],
    after: list[str],
    lone_quote: str,
    quote_first: bool,
) -> None:
    """Syntax around a word, and one unmatched quote, never hide the word from keyword search."""
    noise_before, noise_after = " ".join(before), " ".join(after)
    if quote_first:
        noise_before = lone_quote + noise_before
    else:
        noise_after += lone_quote
    hits = shared_searcher.search(f"{noise_before} escalation {noise_after}", mode="keyword")
    assert any("escalation" in h.chunk.text for h in hits)


def test_fts_query_quotes_terms_and_keeps_phrases() -> None:
    assert fts_query('the "escalation policy" was not used') == '"escalation policy" OR "used"'
    assert fts_query("AND(") == '"and"'
    assert fts_query('"escalation policy', expand=False) == '"escalation" OR "policy"'
    assert fts_query("CAMHS waiting") == (
        '"camhs" OR "waiting" OR "child and adolescent mental health services"'
    )
    assert fts_query("!!!") is None


def test_keyword_search_finds_stemmed_words(searcher: Searcher) -> None:
    hits = searcher.search("escalating disagreements", mode="keyword")
    assert hits and hits[0].document.metadata.review_name == "Child A"
    assert "escalation" in hits[0].chunk.text


def test_abbreviation_expands_to_full_form(searcher: Searcher) -> None:
    hits = searcher.search("CAMHS", mode="keyword", k=5)
    sources = {Path(h.document.source).name for h in hits}
    assert sources == {"a-2015-scr.txt", "b-2021-cspr.txt"}


def test_fuse_is_weighted_reciprocal_rank() -> None:
    fused = fuse_rrf([[(1, 9.0), (2, 8.0)], [(2, 0.9), (3, 0.8)]], weights=[1.0, 1.0], k=60)
    scores = dict(fused)
    assert fused[0][0] == 2
    assert scores[2] == pytest.approx(1 / 62 + 1 / 61)
    assert scores[1] == pytest.approx(1 / 61)
    assert scores[3] == pytest.approx(1 / 62)
    heavy = dict(fuse_rrf([[(1, 1.0)], [(3, 1.0)]], weights=[2.0, 1.0], k=60))
    assert heavy[1] == pytest.approx(2 * heavy[3])


def test_fuse_scores_divides_each_side_by_its_best() -> None:
    keyword = [(1, 8.0), (2, 4.0)]
    semantic = [(2, 0.5), (3, 0.25)]
    fused = fuse_scores([keyword, semantic], weights=[1.0, 1.0])
    # The mean of score / best: passage 2 is half as good as the best on the keyword
    # side and the best on the semantic side.
    assert dict(fused) == pytest.approx({1: 0.5, 2: (0.5 + 1.0) / 2, 3: 0.25})
    assert [cid for cid, _ in fused] == [2, 1, 3]
    # Deeper rankings add passages but never change the scores of those already there.
    deeper = dict(fuse_scores([[*keyword, (4, 1.0)], semantic], weights=[1.0, 1.0]))
    assert deeper[2] == pytest.approx(0.75) and deeper[4] == pytest.approx(1 / 16)
    heavy = dict(fuse_scores([keyword, semantic], weights=[3.0, 1.0]))
    assert heavy[1] == pytest.approx(0.75) and heavy[3] == pytest.approx(0.125)
    assert fuse_scores([[], [(5, -0.1)]], weights=[1.0, 1.0]) == []


def test_hybrid_uses_the_configured_fusion(searcher: Searcher) -> None:
    q = "mental health services escalation"
    keyword = searcher.keyword(q, Filters(), 100)
    semantic = searcher.semantic(searcher.embedder.embed_query(q), Filters(), 100)
    assert searcher.rank(q, depth=100) == fuse_scores([keyword, semantic], weights=[1.0, 1.0])
    rrf = Searcher(
        searcher.index, config=replace(searcher.config, fusion="rrf"), embedder=searcher.embedder
    )
    assert rrf.rank(q, depth=100) == fuse_rrf([keyword, semantic], weights=[1.0, 1.0], k=60)
    wrong = Searcher(
        searcher.index, config=replace(searcher.config, fusion="max"), embedder=searcher.embedder
    )
    with pytest.raises(ScrsearchError, match="SCRSEARCH_FUSION"):
        wrong.rank(q)


def test_documents_score_best_plus_half_second_passage_over_the_best() -> None:
    ranked = [(10, 8.0), (20, 6.0), (11, 4.0), (12, 2.0), (30, 1.0)]
    owners = {10: 1, 11: 1, 12: 1, 20: 2, 30: 3}
    docs = aggregate_documents(ranked, owners)
    # Doc 1: 8/8 + 0.5 * 4/8 (its third passage does not count); doc 2: 6/8; doc 3: 1/8.
    assert docs == [
        (1, pytest.approx(1.25), 10),
        (2, pytest.approx(0.75), 20),
        (3, pytest.approx(0.125), 30),
    ]
    # The same ranking with scores on another scale ranks documents identically.
    scaled = aggregate_documents([(c, s / 100) for c, s in ranked], owners)
    assert [(d, pytest.approx(s), c) for d, s, c in scaled] == docs


def test_long_documents_pay_a_length_prior() -> None:
    ranked = [(10, 1.0), (20, 0.99)]
    owners = {10: 1, 20: 2}
    assert [d for d, _, _ in aggregate_documents(ranked, owners)] == [1, 2]
    docs = aggregate_documents(ranked, owners, {1: 300, 2: 10})
    assert [d for d, _, _ in docs] == [2, 1]
    assert docs[1][1] == pytest.approx(1.0 - LENGTH_PRIOR * math.log(300))


@pytest.mark.parametrize("mode", ["hybrid", "semantic", "keyword"])
def test_filters_narrow_every_mode(searcher: Searcher, mode: str) -> None:
    q = "mental health services escalation partner"
    assert {h.document.metadata.year for h in searcher.search(q, mode=mode, k=20)} == {
        2015,
        2019,
        2021,
    }
    for filters, check in [
        (Filters(year_from=2016), lambda h: h.document.metadata.year >= 2016),
        (Filters(year_to=2016), lambda h: h.document.metadata.year <= 2016),
        (
            Filters(partnership="kingsmere"),
            lambda h: "Kingsmere" in h.document.metadata.partnership,
        ),
        (Filters(review_type="scr"), lambda h: h.document.metadata.review_type == "scr"),
        (Filters(section="lessons"), lambda h: h.chunk.section == "lessons"),
        (Filters(doc="c-2019-brief.txt"), lambda h: h.document.source.endswith("c-2019-brief.txt")),
    ]:
        hits = searcher.search(q, mode=mode, k=20, filters=filters)
        assert hits, filters
        assert all(check(h) for h in hits), filters


def test_group_by_review_gives_one_passage_per_review(searcher: Searcher) -> None:
    hits = searcher.search("services escalation school partner", k=10, group_by_review=True)
    docs = [h.document.doc_id for h in hits]
    assert len(docs) == len(set(docs)) == 3
    assert [h.rank for h in hits] == [1, 2, 3]


def test_similar_excludes_the_passage_itself(searcher: Searcher) -> None:
    first = searcher.search("county lines", mode="keyword")[0]
    similar = searcher.similar(first.chunk.chunk_id, k=3)
    assert similar and all(h.chunk.chunk_id != first.chunk.chunk_id for h in similar)
    other = searcher.similar(first.chunk.chunk_id, k=3, exclude_same_review=True)
    assert all(h.chunk.doc_id != first.chunk.doc_id for h in other)


def test_unknown_section_and_mode_are_clear_errors(searcher: Searcher) -> None:
    with pytest.raises(ScrsearchError, match="Unknown section 'lesson'"):
        searcher.search("x", filters=Filters(section="lesson"))
    with pytest.raises(ScrsearchError, match="Unknown mode"):
        searcher.search("x", mode="fuzzy")


def test_index_built_with_another_model_is_refused(
    index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scrsearch import HashEmbedder

    with pytest.raises(ModelMismatchError, match="built with model 'hash-64'"):
        Searcher.open(index, config=load_config(index=str(index)), embedder=HashEmbedder(32))
    chosen = load_config(index=str(index), model="all-MiniLM-L6-v2")  # like --model
    with pytest.raises(ModelMismatchError) as refused:
        Searcher.open(index, config=chosen)
    message = str(refused.value)
    assert "chosen model is 'all-MiniLM-L6-v2'." in message  # no "(0 dims)"
    assert "or set them to 'hash-64'" in message and "--rebuild" in message
    monkeypatch.setenv("SCRSEARCH_MODEL", "all-MiniLM-L6-v2")
    with pytest.raises(ModelMismatchError):
        Searcher.open(index, config=load_config(index=str(index)))


def test_with_no_model_chosen_an_index_is_searched_with_its_own_model(index: Path) -> None:
    config = load_config(index=str(index))
    assert not config.model_chosen and config.model == "all-MiniLM-L6-v2"
    searcher = Searcher.open(index, config=config)
    assert searcher.embedder.name == "hash-64"  # loaded from the manifest, not the default
    assert searcher.search("county lines")


def test_hit_json_contract(searcher: Searcher) -> None:
    hit = searcher.search("county lines")[0].to_dict()
    for key in (
        "rank",
        "score",
        "doc_id",
        "title",
        "source",
        "page_start",
        "page_end",
        "section",
        "text",
    ):
        assert key in hit
    assert hit["rank"] == 1 and Path(hit["source"]).is_absolute()
    assert hit["page_start"] is None and hit["page_end"] is None  # text files have no pages


def test_large_indexes_match_the_rarest_terms_within_a_budget(
    tmp_path: Path, hash_embedder
) -> None:
    from scrsearch.search import bm25

    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(10):
        extra = " The house showed signs of hoarding." if i == 3 else ""
        (folder / f"r{i}.txt").write_text(
            f"Review {i}\n\nFindings\n1. Neglect was chronic.{extra}\n"
        )
    index = tmp_path / "many-idx"
    ingest([folder], config=load_config(index=str(index)), embedder=hash_embedder)

    searcher = Searcher.open(index, config=load_config(index=str(index)), embedder=hash_embedder)

    def keyword_docs(query: str = "neglect hoarding") -> set[str]:
        hits = searcher.search(query, mode="keyword", k=20)
        return {Path(h.document.source).name for h in hits}

    # Counts come from the stored term table, with the index's own stemming.
    conn = searcher.index.conn()
    neglect = conn.execute(
        "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH 'neglect'"
    ).fetchone()[0]
    assert neglect >= 10
    assert bm25.term_counts(conn, ["Hoarding", "neglected", "signs of hoarding", "zebra"]) == [
        1,
        neglect,
        1,
        0,
    ]
    assert keyword_docs() == {f"r{i}.txt" for i in range(10)}  # within budget: every term
    searcher.config = searcher.config.with_overrides(keyword_budget=2)
    searcher.keyword_pool = False
    assert keyword_docs() == {"r3.txt"}  # "neglect" is over the budget
    # With the semantic side's best passages scored too, those holding "neglect" count.
    searcher.keyword_pool = True
    assert keyword_docs() == {f"r{i}.txt" for i in range(10)}
    searcher.keyword_pool = False
    exact = searcher.keyword("neglect hoarding", Filters(), 20, budget=math.inf)
    assert len(exact) == neglect  # an unlimited budget is exact BM25 over every term
    # When every term is over the budget, keyword search still matches them all;
    # hybrid's keyword side leaves such a query to semantic search.
    assert len(keyword_docs("neglect")) == 10
    assert searcher.keyword("neglect", Filters(), 20, exhaustive=False) == []

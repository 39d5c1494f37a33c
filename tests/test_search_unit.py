"""Search plumbing with the fake embedder: FTS escaping, fusion, filters, grouping."""

from __future__ import annotations

from pathlib import Path

import pytest

from scrsearch import Filters, Searcher, ingest, load_config
from scrsearch.errors import ModelMismatchError, ScrsearchError
from scrsearch.search import fts_query, fuse

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


@pytest.mark.parametrize(
    "hostile",
    [
        '"',
        "AND(",
        "escalation OR",
        "NEAR(a b",
        "*",
        "col:value",
        "'; DROP TABLE chunks; --",
        "",
        "(((",
    ],
)
def test_keyword_queries_never_crash(searcher: Searcher, hostile: str) -> None:
    searcher.search(hostile, mode="keyword")


def test_fts_query_quotes_terms_and_keeps_phrases() -> None:
    assert fts_query('the "escalation policy" was not used') == '"escalation policy" OR "used"'
    assert fts_query("AND(") == '"and"'
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
    fused = fuse([[(1, 9.0), (2, 8.0)], [(2, 0.9), (3, 0.8)]], weights=[1.0, 1.0], k=60)
    scores = dict(fused)
    assert fused[0][0] == 2
    assert scores[2] == pytest.approx(1 / 62 + 1 / 61)
    assert scores[1] == pytest.approx(1 / 61)
    assert scores[3] == pytest.approx(1 / 62)
    heavy = dict(fuse([[(1, 1.0)], [(3, 1.0)]], weights=[2.0, 1.0], k=60))
    assert heavy[1] == pytest.approx(2 * heavy[3])


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


def test_index_built_with_another_model_is_refused(index: Path) -> None:
    from scrsearch import HashEmbedder

    with pytest.raises(ModelMismatchError, match="built with model 'hash-64'"):
        Searcher.open(index, config=load_config(index=str(index)), embedder=HashEmbedder(32))
    with pytest.raises(ModelMismatchError, match="--model 'hash-64'"):
        Searcher.open(index, config=load_config(index=str(index)))  # default model


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


def test_large_indexes_leave_out_common_terms_when_rarer_ones_remain(
    tmp_path: Path, hash_embedder, monkeypatch
) -> None:
    from scrsearch import search as search_module

    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(10):
        extra = " The house showed signs of hoarding." if i == 3 else ""
        (folder / f"r{i}.txt").write_text(
            f"Review {i}\n\nFindings\n1. Neglect was chronic.{extra}\n"
        )
    index = tmp_path / "many-idx"
    ingest([folder], config=load_config(index=str(index)), embedder=hash_embedder)

    def keyword_docs(exact_search_max: int) -> set[str]:
        config = load_config(index=str(index), exact_search_max=exact_search_max)
        searcher = Searcher.open(index, config=config, embedder=hash_embedder)
        return {
            Path(h.document.source).name
            for h in searcher.search("neglect hoarding", mode="keyword", k=20)
        }

    assert len(keyword_docs(50_000)) == 10  # small index: every term matches
    monkeypatch.setattr(search_module, "COMMON_TERM_SHARE", 0.3)
    assert keyword_docs(1) == {"r3.txt"}  # large index: "neglect" is in every passage

"""Like my case: reviews that resemble a case description, why, and what they learned."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import CORPUS, build_hash_index
from scrsearch import HashEmbedder, Searcher
from scrsearch.cli import cli
from scrsearch.measure.eval import Qrels, Query, evaluate
from scrsearch.search.ranking import rank_documents
from scrsearch.search.windows import query_windows
from scrsearch.themes.case_report import FILE_NAME, to_markdown
from scrsearch.themes.cases import KINDS, match_case, rank_case

#: A word in no review: if it turns up in any output, the case text leaked into it.
MARKER = "Zorblattington"
METHADONE_CASE = (
    f"{MARKER} is 20 months old and lives with her mum, who has a methadone script, and "
    "her four-year-old brother. The health visitor gave mum a locked box for the methadone. "
    "Both children came off child protection plans for neglect last month and the case is "
    "about to close. Mum's new partner stays most nights and is on probation."
)
FILLER = "The family was visited at home and the worker wrote up the visit in the notes. "
ENDING = "Last night the toddler drank methadone that had been left out of the locked box."


@pytest.fixture(scope="module")
def demo_hash(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_hash_index(tmp_path_factory, "case-hash", [CORPUS])


@pytest.fixture
def searcher(demo_hash: Path) -> Searcher:
    return Searcher.open(demo_hash, embedder=HashEmbedder(64, 128))


def names(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [Path(r.document.source).name for r in result.reviews]


def test_reviews_come_with_passages_why_and_lessons(searcher: Searcher) -> None:
    result = match_case(searcher, METHADONE_CASE, k=4)
    assert names(result)[0] == "cwm-ardal-2019-child-practice-review-cars-2-2018.docx"
    assert [r.rank for r in result.reviews] == [1, 2, 3, 4]
    scores = [r.score for r in result.reviews]
    assert scores == sorted(scores, reverse=True)
    for review in result.reviews:
        assert 1 <= len(review.passages) <= 3
        assert all(h.chunk.doc_id == review.document.doc_id for h in review.passages)
        passage_scores = [h.score for h in review.passages]
        assert passage_scores == sorted(passage_scores, reverse=True)
        assert all(lesson.chunk.doc_id == review.document.doc_id for lesson in review.lessons)
        assert all(
            lesson.chunk.section in ("lessons", "recommendations", "findings")
            for lesson in review.lessons
        )
        similarity = [lesson.similarity for lesson in review.lessons]
        assert similarity == sorted(similarity, reverse=True)
        assert (
            len(review.lessons) <= 5 <= review.n_lessons or len(review.lessons) == review.n_lessons
        )


def test_why_holds_only_what_case_and_review_share(searcher: Searcher) -> None:
    result = match_case(searcher, METHADONE_CASE, k=5)
    case_themes = {slug for slug, _ in result.case.themes}
    assert case_themes, "the tagger read themes in the case"
    stated = result.case.circumstances
    assert "pre-school" in stated.stated("age_bands")
    assert {"health-visiting", "probation-youth-justice"} <= set(stated.stated("agencies"))
    assert {"neglect", "ingestion-poisoning"} <= set(stated.stated("harms"))
    for review in result.reviews:
        assert {slug for slug, _ in review.why.themes} <= case_themes
        for kind in KINDS:
            assert set(getattr(review.why, kind)) <= set(stated.stated(kind))
    cwm = result.reviews[0].why
    assert "pre-school" in cwm.age_bands and "health-visiting" in cwm.agencies
    assert {"neglect", "ingestion-poisoning"} <= set(cwm.harms)
    assert cwm.themes, "Cwm Ardal shares themes with the case"
    assert all(strength > 0 for _, strength in cwm.themes)


def test_a_long_case_is_read_in_windows_and_its_last_part_counts(searcher: Searcher) -> None:
    text = FILLER * 40 + ENDING
    windows = query_windows(searcher, text)
    assert len(windows) >= 3
    assert all(searcher.embedder.count_tokens(w.text) <= 128 for w in windows)
    result = match_case(searcher, text, k=3)
    assert result.case.windows == len(windows)
    assert result.case.tokens == sum(w.tokens for w in windows)
    assert "cwm-ardal-2019-child-practice-review-cars-2-2018.docx" in names(result)
    cwm = next(r for r in result.reviews if "cwm-ardal" in r.document.source)
    assert any("methadone" in h.chunk.text.lower() for h in cwm.passages)


def test_a_case_that_fits_one_window_ranks_reviews_as_grouped_hybrid_search(
    searcher: Searcher,
) -> None:
    windows = query_windows(searcher, METHADONE_CASE)
    assert len(windows) == 1
    _, reviews = rank_case(searcher, windows)
    plain = rank_documents(searcher.index.conn(), searcher.rank(METHADONE_CASE, depth=300))
    assert [d for d, _, _ in reviews] == [d for d, _, _ in plain]


def test_blank_case_finds_nothing(searcher: Searcher) -> None:
    result = match_case(searcher, "   \n")
    assert result.reviews == () and result.case.windows == 0


def test_the_json_shape_and_no_case_text_in_it(demo_hash: Path, tmp_path: Path) -> None:
    case = tmp_path / "case.txt"
    case.write_text(METHADONE_CASE, encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["match-case", "--file", str(case), "-k", "3", "--json", "--index", str(demo_hash)]
    )
    assert result.exit_code == 0, result.output
    assert MARKER not in result.output
    data = json.loads(result.stdout)
    assert set(data) == {"case", "reviews"}
    assert set(data["case"]) == {"windows", "tokens", "themes", *KINDS}
    assert len(data["reviews"]) == 3
    for review in data["reviews"]:
        assert {"doc_id", "title", "source", "score", "why", "passages", "lessons"} <= set(review)
        assert set(review["why"]) == {"themes", *KINDS}
        assert all({"slug", "label", "strength"} == set(t) for t in review["why"]["themes"])
        assert all({"slug", "label"} == set(a) for a in review["why"]["agencies"])
        for passage in review["passages"]:
            assert passage["doc_id"] == review["doc_id"]
            assert {"chunk_id", "page_start", "page_end", "section", "text", "score"} <= set(
                passage
            )
        for lesson in review["lessons"]:
            assert {"chunk_id", "section", "page_start", "text", "similarity"} <= set(lesson)
    # The same through standard input, and the readable listing names the reviews.
    piped = CliRunner().invoke(
        cli, ["match-case", "-", "-k", "2", "--index", str(demo_hash)], input=METHADONE_CASE
    )
    assert piped.exit_code == 0, piped.output
    assert "Extended Child Practice Review" in piped.stdout and "Lessons (" in piped.stdout
    assert MARKER not in piped.output


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        ([], None, "Give the case description once"),
        (["some text", "--file", "{file}"], None, "Give the case description once"),
        (["-"], "  \n", "The case description is empty"),
        (["   "], None, "The case description is empty"),
    ],
)
def test_bad_input_is_one_clear_line(
    demo_hash: Path, tmp_path: Path, args: list[str], stdin: str | None, message: str
) -> None:
    file = tmp_path / "case.txt"
    file.write_text("x")
    argv = [
        "match-case",
        *(a.replace("{file}", str(file)) for a in args),
        "--index",
        str(demo_hash),
    ]
    result = CliRunner().invoke(cli, argv, input=stdin)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {message}") and result.stderr.count("\n") == 1


def test_filters_apply(searcher: Searcher) -> None:
    from scrsearch.search.searcher import Filters

    result = match_case(searcher, METHADONE_CASE, k=5, filters=Filters(review_type="briefing"))
    assert result.reviews
    assert all(r.document.metadata.review_type == "briefing" for r in result.reviews)


def test_themes_changed_since_ingest_still_tag_a_case_on_a_read_only_index(
    demo_hash: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = tmp_path / "themes.yaml"
    extra.write_text(
        "themes:\n  - slug: methadone-storage\n    description: Methadone kept where a child "
        "can reach it.\n    keywords: ['methadone']\n"
    )
    monkeypatch.setenv("SCRSEARCH_THEMES", str(extra))
    searcher = Searcher.open(demo_hash, embedder=HashEmbedder(64, 128))
    result = match_case(searcher, METHADONE_CASE, k=2)
    assert "methadone-storage" in {slug for slug, _ in result.case.themes}
    assert result.labels["methadone-storage"] == "Methadone storage"


def test_the_export_leaves_the_case_text_out_unless_asked(searcher: Searcher) -> None:
    result = match_case(searcher, METHADONE_CASE, k=2)
    without = to_markdown(result)
    assert MARKER not in without and "not included in this file" in without
    assert without.count("\n## ") == 2 and "### Matching passages" in without
    assert "— Extended Child Practice Review: CARSB 2/2018, Cwm Ardal" in without
    with_case = to_markdown(result, case_text=METHADONE_CASE)
    assert MARKER in with_case and "## The case as described" in with_case
    assert MARKER not in FILE_NAME


def test_eval_ranks_match_case_beside_the_search_modes(demo_hash: Path) -> None:
    qrels = Qrels(
        "tiny",
        (),
        (
            Query(
                "c1",
                FILLER * 30 + ENDING,
                "one-review",
                {"cwm-ardal-2019-child-practice-review-cars-2-2018.docx": 2},
            ),
            Query(
                "c2",
                METHADONE_CASE,
                "one-review",
                {"westmere-2018-7-minute-briefing-escalation.txt": 1},
            ),
        ),
    )
    result = evaluate(
        qrels,
        demo_hash,
        modes=("hybrid", "match-case"),
        embedder=HashEmbedder(64, 128),
        baseline="hybrid",
    )
    summary = result.to_dict()["modes"]["match-case"]
    assert {"ndcg@10", "recall@5", "recall@10"} <= set(summary)
    assert result.queries[0]["match-case"]["recall@5"] == 1.0
    # A case that fits one window ranks as grouped hybrid search does.
    assert result.queries[1]["match-case"] == result.queries[1]["hybrid"]
    [against] = result.comparisons()
    assert against.mode == "match-case" and against.baseline == "hybrid"


# --- The real model on the demo corpus ---------------------------------------------

PREAMBLE = (
    "The family receive universal credit and have rent arrears with the housing association. "
    "Dad works shifts at a warehouse and mum is studying part time at the local college. "
    "The older child attends the primary school around the corner and has good attendance. "
    "Grandparents live nearby and help with school pick-ups on weekdays. "
    "The family have a dog and a cat, and the flat is on the second floor with a lift. "
) * 5
LAST_WORDS = (
    "Last weekend the eight-week-old baby died in the night, asleep on the sofa with his dad, "
    "who had been drinking, three weeks after the family moved into a bed and breakfast "
    "without a cot."
)


@pytest.mark.slow
def test_the_end_of_a_long_case_is_read_not_cut(demo_index: Path) -> None:
    searcher = Searcher.open(demo_index)
    text = PREAMBLE + LAST_WORDS
    assert searcher.embedder.count_tokens(text) > searcher.embedder.max_tokens
    result = match_case(searcher, text, k=3)
    assert result.case.windows >= 2
    assert names(result)[0] == "harrowdale-2024-7-minute-briefing-safer-sleep.html"
    # The model alone reads only the start of the text, so it cannot see the baby.
    plain = searcher.search(text, k=3, mode="semantic", group_by_review=True)
    assert "safer-sleep" not in " ".join(h.document.source for h in plain)


@pytest.mark.slow
def test_a_case_like_george_finds_george_and_says_why(demo_index: Path) -> None:
    qrels = json.loads((Path(__file__).parent / "data" / "qrels_cases.json").read_text())
    case = next(q["query"] for q in qrels["queries"] if q["id"] == "c01")
    result = match_case(Searcher.open(demo_index), case, k=5)
    found = names(result)
    assert {"george-briefing.txt", "harrowdale-2015-scr-child-k-overview.pdf"} <= set(found)
    george = next(r for r in result.reviews if r.document.source.endswith("george-briefing.txt"))
    assert "pre-school" in george.why.age_bands
    assert "childrens-social-care" in george.why.agencies
    assert george.n_lessons == 7 and all(c.chunk.section == "lessons" for c in george.lessons)
    assert result.case.windows == 1

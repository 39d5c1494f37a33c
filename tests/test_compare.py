"""Compare: lessons matched to passages of other reviews, and reviews ranked by shared learning.

The expected order on the demo corpus comes from corpus/README.md, which says which
fictional reviews share George's learning (written before this code existed).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from scrsearch import HashEmbedder, Index, load_config
from scrsearch.cli import cli
from scrsearch.index import store
from scrsearch.ingestion.pipeline import ingest
from scrsearch.themes.compare import (
    LESSON_SECTIONS,
    MIN_PAIR,
    THEME_BONUS,
    compare,
    default_document,
    lesson_chunks,
)
from scrsearch.themes.profiles import chunk_themes

CORPUS = Path(__file__).resolve().parent.parent / "corpus"

#: corpus/README.md: documents with George's learning ("yes"), some of it ("partly"), none.
SHARES = [
    "harrowdale-2015-scr-child-k-overview.pdf",
    "westmere-2018-7-minute-briefing-escalation.txt",
    "cwm-ardal-2019-child-practice-review-cars-2-2018.docx",
    "oxley-moor-2019-learning-briefing-child-p.md",
    "fenwick-vale-2023-cspr-baby-m.docx",
]
PARTLY = [
    "calder-brook-2016-dhr-executive-summary-sarah.txt",
    "westmere-2017-scr-child-s-overview.pdf",
    "kingsmere-2021-cspr-jayden.pdf",
]
NONE = [
    "brackenford-2012-scr-child-l-executive-summary.txt",
    "tarnside-2020-learning-briefing-ellie.html",
    "calder-brook-2022-sar-mr-d.pdf",
    "harrowdale-2024-7-minute-briefing-safer-sleep.html",
]

HIT_KEYS = {
    "rank", "score", "method", "chunk_id", "doc_id", "title", "source", "review_name",
    "partnership", "year", "review_type", "nation", "page_start", "page_end", "section",
    "heading", "char_start", "char_end", "text",
}  # fmt: skip


@pytest.fixture(scope="module")
def hash_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    index = tmp_path_factory.mktemp("compare-hash") / "index"
    files = [
        CORPUS / "george-briefing.txt",
        CORPUS / SHARES[0],
        CORPUS / SHARES[1],
        CORPUS / NONE[1],
    ]
    report = ingest(files, config=load_config(index=str(index)), embedder=HashEmbedder(64, 128))
    assert not report.failed
    return index


def _name(document) -> str:  # type: ignore[no-untyped-def]
    return Path(document.source).name


# --- The arithmetic, with the fast embedder ------------------------------------------


def test_lessons_are_the_reviews_learning(hash_index: Path) -> None:
    conn = Index.open(hash_index).conn()
    george = store.get_document(conn, "george-briefing.txt")
    lessons = lesson_chunks(store.document_chunks(conn, george.doc_id))
    assert [c.section for c in lessons] == ["lessons"] * 7
    assert [c.text.split(".")[0] for c in lessons] == [str(n) for n in range(1, 8)]
    assert all(c.section in LESSON_SECTIONS for c in lessons)


def test_against_one_review_every_score_is_recomputable(hash_index: Path) -> None:
    """Oracle: each match's similarity is the dot product of the stored vectors, and
    each score is that similarity plus the bonus for a shared theme."""
    idx = Index.open(hash_index)
    conn = idx.conn()
    result = compare(idx, "george-briefing.txt", SHARES[0], k=4)
    assert _name(result.other) == SHARES[0]
    assert [_name(r.document) for r in result.similar_reviews] == [SHARES[0]]
    ids = [m.hit.chunk.chunk_id for lesson in result.lessons for m in lesson.matches]
    vectors = store.get_vectors(conn, ids + [lesson.chunk.chunk_id for lesson in result.lessons])
    tags = {cid: {s for s, _ in ts} for cid, ts in chunk_themes(conn, vectors).items()}
    for lesson in result.lessons:
        assert 0 < len(lesson.matches) <= 4
        scores = [m.hit.score for m in lesson.matches]
        assert scores == sorted(scores, reverse=True)
        for m in lesson.matches:
            assert _name(m.hit.document) == SHARES[0]
            cid = m.hit.chunk.chunk_id
            assert m.similarity == pytest.approx(
                float(np.dot(vectors[lesson.chunk.chunk_id], vectors[cid])), abs=1e-5
            )
            shared = tags.get(cid, set()) & tags.get(lesson.chunk.chunk_id, set())
            assert set(m.shared_themes) == shared
            assert m.hit.score == pytest.approx(m.similarity + THEME_BONUS * bool(shared))
    review = result.similar_reviews[0]
    assert review.score == pytest.approx(sum(p.score for p in review.pairs) / len(result.lessons))
    assert all(p.score >= MIN_PAIR for p in review.pairs)
    assert len({p.lesson.chunk_id for p in review.pairs}) == len(review.pairs)


def test_against_all_reviews_one_match_per_review(hash_index: Path) -> None:
    result = compare(hash_index, "george-briefing.txt", k=3)
    george = result.document.doc_id
    for lesson in result.lessons:
        docs = [m.hit.document.doc_id for m in lesson.matches]
        assert george not in docs and len(docs) == len(set(docs))
    scores = [r.score for r in result.similar_reviews]
    assert scores == sorted(scores, reverse=True)
    assert george not in {r.document.doc_id for r in result.similar_reviews}


def test_a_passage_asked_for_twice_has_its_themes_once(hash_index: Path) -> None:
    """Compare asks for the review's own passages twice, once as lessons and once as
    candidates; 500 ids apart, each was once answered twice ("use-of-history, use-of-history")."""
    conn = Index.open(hash_index).conn()
    tagged = [r[0] for r in conn.execute("SELECT DISTINCT chunk_id FROM chunk_themes")]
    assert tagged
    asked = tagged + list(range(10_000, 10_600)) + tagged
    tags = chunk_themes(conn, asked)
    assert set(tags) == set(tagged)
    for themes in tags.values():
        slugs = [slug for slug, _ in themes]
        assert len(slugs) == len(set(slugs))
    assert store.chunk_documents(conn, asked).keys() == set(
        r[0] for r in conn.execute("SELECT id FROM chunks")
    ) & set(asked)


def test_json_contract(hash_index: Path) -> None:
    out = CliRunner().invoke(
        cli, ["compare", "george-briefing.txt", "--index", str(hash_index), "--json"]
    )
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert {"doc", "lessons", "similar_reviews"} <= set(data)
    assert data["doc"]["source"].endswith("george-briefing.txt")
    lesson = data["lessons"][0]
    assert {"chunk_id", "section", "text", "matches"} <= set(lesson)
    assert HIT_KEYS | {"shared_themes"} <= set(lesson["matches"][0])
    review = data["similar_reviews"][0]
    assert {"doc_id", "title", "source", "score", "shared_themes", "pairs"} <= set(review)
    if review["pairs"]:
        assert {"lesson_chunk_id", "chunk_id", "score", "shared_themes", "text"} <= set(
            review["pairs"][0]
        )


def test_cli_errors_and_human_output(hash_index: Path) -> None:
    runner = CliRunner()
    bad = runner.invoke(cli, ["compare", "no-such-review.pdf", "--index", str(hash_index)])
    assert bad.exit_code == 1 and "No document 'no-such-review.pdf'" in bad.stderr
    out = runner.invoke(cli, ["compare", "george-briefing.txt", "--index", str(hash_index)])
    assert out.exit_code == 0 and "Reviews that share most learning" in out.output
    assert "L7" in out.output


# --- George against the demo corpus, with the real model -------------------------------


@pytest.mark.slow
def test_reviews_that_share_georges_learning_come_first(demo_index: Path) -> None:
    result = compare(demo_index, "george-briefing.txt")
    order = [_name(r.document) for r in result.similar_reviews]
    assert sorted(order) == sorted(SHARES + PARTLY + NONE)
    assert set(order[:2]) <= set(SHARES)
    assert set(order[:5]) <= set(SHARES + PARTLY)
    last_sharing = max(order.index(name) for name in SHARES)
    first_unrelated = min(order.index(name) for name in NONE)
    assert last_sharing < first_unrelated, order
    top = result.similar_reviews[0]
    assert "new-information" in top.shared_themes and len(top.pairs) >= 5


@pytest.mark.slow
def test_georges_lessons_find_the_same_learning_elsewhere(demo_index: Path) -> None:
    """Each lesson's best match is the same point made in another review."""
    result = compare(demo_index, "george-briefing.txt", k=3)
    assert len(result.lessons) == 7
    by_number = {lesson.chunk.text.split(".")[0]: lesson for lesson in result.lessons}
    escalation = by_number["6"].matches  # "Not all practitioners ... use the escalation policy"
    assert all("escalation-challenge" in m.shared_themes for m in escalation)
    assert all("escalat" in m.hit.chunk.text.lower() for m in escalation)
    new_info = by_number["2"].matches  # "Any new information ... change in the plan"
    assert "new-information" in new_info[0].shared_themes
    sharing = by_number["5"].matches[0]  # "Good information sharing is key ..."
    assert "information sharing" in sharing.hit.chunk.text.lower()


@pytest.mark.slow
def test_george_against_child_k_side_by_side(demo_index: Path) -> None:
    result = compare(demo_index, "george-briefing.txt", SHARES[0], k=2)
    assert all(len(lesson.matches) == 2 for lesson in result.lessons)
    assert {_name(m.hit.document) for lesson in result.lessons for m in lesson.matches} == {
        SHARES[0]
    }
    (review,) = result.similar_reviews
    assert len(review.pairs) == 7  # every lesson of George has a counterpart in Child K


@pytest.mark.slow
def test_default_review_is_george_on_the_demo_corpus(demo_index: Path) -> None:
    document = default_document(Index.open(demo_index).conn())
    assert document is not None and _name(document) == "george-briefing.txt"

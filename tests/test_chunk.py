"""Chunking: structure-aware, offsets exact, nothing over the model's limit."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scrsearch.ingestion.chunk import chunk_pages, classify_heading, embedding_text
from scrsearch.ingestion.extract import extract
from scrsearch.records import PAGE_JOIN, Page

GEORGE = Path(__file__).resolve().parents[2] / "shared" / "seed" / "george-briefing.txt"


def words(text: str) -> int:
    return len(text.split())


def test_george_lessons_are_seven_whole_passages() -> None:
    pages = extract(GEORGE).pages
    chunks = chunk_pages(pages, words, max_tokens=120, target_tokens=80)
    lessons = [c for c in chunks if c.section == "lessons"]
    assert len(lessons) == 7
    for number, chunk in enumerate(lessons, start=1):
        assert chunk.text.startswith(f"{number}. ")
        assert chunk.heading == "Lessons to be learned from George"
    assert (
        lessons[5].text
        == "6. Not all practitioners are aware of, or use, the CSCP escalation policy."
    )
    assert any(c.section == "background" and "George suffered" in c.text for c in chunks)


def test_offsets_point_into_the_document_text() -> None:
    pages = [
        Page(1, "Background\nThe family moved.\n\nMore text here."),
        Page(2, "Findings\n1. First finding.\n2. Second."),
    ]
    full = PAGE_JOIN.join(p.text for p in pages)
    chunks = chunk_pages(pages, words, max_tokens=50, target_tokens=30)
    for chunk in chunks:
        assert full[chunk.char_start : chunk.char_end] == chunk.text
    findings = [c for c in chunks if c.section == "findings"]
    assert [c.text for c in findings] == ["1. First finding.", "2. Second."]
    assert all(c.page_start == c.page_end == 2 for c in findings)
    assert chunks[0].page_start == 1


def test_passage_spanning_a_page_break_cites_both_pages() -> None:
    pages = [
        Page(1, "Chronology\nIn March the school raised concerns"),
        Page(2, "about bruising, and the nurse visited."),
    ]
    chunks = chunk_pages(pages, words, max_tokens=100, target_tokens=100)
    assert len(chunks) == 1
    assert (chunks[0].page_start, chunks[0].page_end) == (1, 2)


def test_long_item_is_split_at_sentences_and_keeps_its_section() -> None:
    sentence = "The practitioners did not share what they knew about the risk. "
    pages = [Page(1, "Recommendations\n1. " + sentence * 30)]
    chunks = chunk_pages(pages, words, max_tokens=40, target_tokens=30)
    assert len(chunks) > 1
    assert all(c.section == "recommendations" for c in chunks)
    assert all(words(embedding_text(c.text, c.heading)) <= 40 for c in chunks)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.sampled_from(list("abc XYZ.\n1:")), min_size=0, max_size=400),
        min_size=1,
        max_size=4,
    ),
    st.integers(min_value=5, max_value=60),
)
def test_no_passage_exceeds_the_limit_and_no_text_is_lost(texts: list[str], limit: int) -> None:
    pages = [Page(i + 1, t) for i, t in enumerate(texts)]
    chunks = chunk_pages(pages, lambda t: len(t), max_tokens=limit + 40, target_tokens=limit)
    full = PAGE_JOIN.join(texts)
    for chunk in chunks:
        assert len(embedding_text(chunk.text, chunk.heading)) <= limit + 40
        assert full[chunk.char_start : chunk.char_end] == chunk.text
    covered = " ".join(c.text for c in chunks)
    body = [ln.strip() for ln in full.split("\n") if ln.strip()]
    # Every non-heading word of the document appears in some passage.
    kept_words = set(covered.split())
    heading_words = {w for c in chunks if c.heading for w in c.heading.split()}
    for line in body:
        for word in line.split():
            assert word in kept_words or word in heading_words or word.strip("#") in heading_words


def test_section_labels_from_headings() -> None:
    assert classify_heading("Lessons to be learned from George") == "lessons"
    assert classify_heading("5 CORONER'S CONCERNS") == "findings"
    assert classify_heading("Recommendations for the partnership") == "recommendations"
    assert classify_heading("Chronology of key events") == "chronology"
    assert classify_heading("George's Story") == "background"
    assert classify_heading("Dissemination of Learning") == "other"
    assert classify_heading("Mother and baby unit") is None


@pytest.mark.slow
def test_real_tokenizer_never_exceeded(real_embedder) -> None:
    pages = extract(GEORGE).pages
    long_pages = [Page(1, pages[0].text + "\n\n" + ("Professional curiosity matters. " * 400))]
    chunks = chunk_pages(
        long_pages,
        real_embedder.count_tokens,
        max_tokens=real_embedder.max_tokens,
        target_tokens=200,
    )
    assert (
        max(real_embedder.count_tokens(embedding_text(c.text, c.heading)) for c in chunks)
        <= real_embedder.max_tokens
    )


def test_a_coroners_matters_of_concern_are_findings_and_actions_recommendations() -> None:
    """Regulation 28 reports head their concerns in several ways; each numbered
    matter of concern is a finding passage of its own, and the actions that follow
    are recommendations (the recurring-learning groups are made of these)."""
    assert classify_heading("MATTERS OF CONCERN") == "findings"
    assert classify_heading("5 CORONER'S CONCERN") == "findings"
    assert classify_heading("CORONER'S CONCERNS5") == "findings"  # a PDF's run-on number
    assert classify_heading("Agencies concerned") is None
    page = Page(
        1,
        "CIRCUMSTANCES OF THE DEATH\nShe died at home on 3 June.\n\n"
        "MATTERS OF CONCERN\n"
        "1. No one agency had an overview of her involvement with the council.\n"
        "2. Records were not shared between the school and the mental health team.\n\n"
        "ACTION SHOULD BE TAKEN\n"
        "In my opinion action should be taken to prevent future deaths.\n",
    )
    chunks = chunk_pages([page], words, max_tokens=60, target_tokens=40)
    findings = [c.text for c in chunks if c.section == "findings"]
    assert findings == [
        "1. No one agency had an overview of her involvement with the council.",
        "2. Records were not shared between the school and the mental health team.",
    ]
    assert [c.section for c in chunks if "action should be taken to" in c.text] == [
        "recommendations"
    ]


CORPUS_REAL = Path(__file__).resolve().parents[2] / "shared" / "corpus-real"


def test_every_real_coroners_report_has_its_concerns_as_findings() -> None:
    """On ../shared/corpus-real: in every Prevention of Future Deaths report, each passage
    between the concerns heading and the actions heading is labelled a finding."""
    import pytest

    reports = sorted(CORPUS_REAL.glob("PFD-toolkit/*.txt")) + sorted(
        CORPUS_REAL.glob("preventable-deaths-scraper/*.pdf")
    )
    if not reports:
        pytest.skip("../shared/corpus-real is not present")
    for path in reports:
        extracted = extract(path)
        text = extracted.text.lower().replace("\u2019", "'")
        start = max(text.find("coroner's concerns"), text.find("\nmatters of concern"))
        end = text.find("action should be taken", start)
        chunks = chunk_pages(extracted.pages, words, max_tokens=200, target_tokens=150)
        inside = [c for c in chunks if start <= c.char_start and (end < 0 or c.char_start < end)]
        assert start >= 0 and inside, path.name
        assert {c.section for c in inside} == {"findings"}, (path.name, inside[0].text[:80])

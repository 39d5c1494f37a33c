"""Integration: the real default model over ../shared/corpus-real plus the George briefing.

Checks real outcomes: page numbers of known passages, metadata against the corpus's
MANIFEST.csv, the scanned PDF and the blank template, and known-item queries from
the judged collection in tests/data/qrels_real.json.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from conftest import CORPUS_REAL, DATA
from scrsearch import Searcher, load_config
from scrsearch.index import store

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def searcher(real_index, real_embedder) -> Searcher:
    index, _ = real_index
    return Searcher.open(index, config=load_config(index=str(index)), embedder=real_embedder)


@pytest.fixture(scope="module")
def documents(searcher: Searcher) -> dict[str, object]:
    return {
        str(Path(d.source).relative_to(CORPUS_REAL))
        if str(CORPUS_REAL) in d.source
        else "seed/george-briefing.txt": d
        for d, _, _ in store.list_documents(searcher.index.conn())
    }


def test_every_document_is_indexed_and_only_the_csv_skipped(real_index) -> None:
    _, report = real_index
    summary = report.summary()
    assert summary["failed"] == 0
    assert summary["indexed"] == 83  # 82 files in the manifest + George
    assert [Path(r.path).name for r in report.by_status("skipped")] == ["MANIFEST.csv"]


def passage_containing(searcher: Searcher, source_end: str, phrase: str):
    doc = store.get_document(searcher.index.conn(), source_end)
    assert doc is not None, source_end
    chunks = [
        c for c in store.document_chunks(searcher.index.conn(), doc.doc_id) if phrase in c.text
    ]
    assert chunks, f"{phrase!r} not in {source_end}"
    return chunks[0]


@pytest.mark.parametrize(
    ("source", "phrase", "page"),
    [
        ("Chris_Evans.pdf", "Extra Care Housing", 2),  # scanned, OCR text layer
        ("Info_sharing_advice_content_May_2024.pdf", "You do not need consent to share", 4),
        ("Amy_Henderson.pdf", "disabled toilet", 2),
        (
            "Children_s_Social_Care_National_Framework__December_2023.pdf",
            "This chapter describes the purpose and principles",
            14,
        ),
    ],
)
def test_known_passages_cite_the_right_page(
    searcher: Searcher, source: str, phrase: str, page: int
) -> None:
    chunk = passage_containing(searcher, source, phrase)
    assert chunk.page_start == page


def test_text_files_cite_no_page_numbers(searcher: Searcher) -> None:
    chunk = passage_containing(searcher, "2022-0315_molly-russell.txt", "age verification")
    assert chunk.page_start is None and chunk.section == "findings"


def test_metadata_agrees_with_the_corpus_manifest(documents) -> None:
    with (CORPUS_REAL / "MANIFEST.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    checked = agree = 0
    for row in rows:
        meta = documents[row["file"]].metadata
        if row["year"].isdigit():
            checked += 1
            agree += meta.year == int(row["year"])
        if row["partnership"].startswith("Coroner area:") and "n/a" not in row["partnership"]:
            checked += 1
            agree += meta.partnership == row["partnership"]
    assert checked > 140
    assert agree / checked >= 0.95, f"{agree}/{checked}"


def test_specific_documents_metadata(documents) -> None:
    molly = documents["PFD-toolkit/2022-0315_molly-russell.txt"].metadata
    assert (molly.review_name, molly.year, molly.review_type, molly.partnership) == (
        "Molly Rose Russell",
        2022,
        "pfd",
        "Coroner area: London North",
    )
    framework = documents[
        "csc-map-of-the-world/Children_s_Social_Care_National_Framework__December_2023.pdf"
    ]
    assert framework.metadata.review_type == "guidance" and framework.metadata.year == 2023
    assert framework.n_pages == 66
    george = documents["seed/george-briefing.txt"].metadata
    assert (george.review_name, george.year, george.review_type) == ("George", 2020, "briefing")


def test_scanned_pdf_with_ocr_layer_is_searchable(searcher: Searcher, documents) -> None:
    evans = documents["preventable-deaths-scraper/Chris_Evans.pdf"]
    assert (
        evans.metadata.review_name == "Christopher Evans"
        and evans.metadata.partnership == "Coroner area: Avon"
    )
    hits = searcher.search(
        "man died after immersion in very hot bath water", k=3, group_by_review=True
    )
    assert hits[0].document.doc_id == evans.doc_id


def test_blank_template_gets_no_invented_metadata(documents) -> None:
    template = documents["preventable-deaths-scraper/Template.pdf"]
    assert template.metadata.review_type == "pfd"
    assert template.metadata.review_name is None
    assert template.metadata.partnership is None
    assert template.metadata.year is None


def known_items() -> list[dict]:
    queries = json.loads((DATA / "qrels_real.json").read_text())["queries"]
    return [q for q in queries if q["kind"] == "known-item"]


@pytest.mark.parametrize("query", known_items(), ids=lambda q: q["id"])
def test_known_item_queries_find_their_document(searcher: Searcher, documents, query: dict) -> None:
    targets = {documents[d].doc_id for d, grade in query["judgements"].items() if grade == 2}
    hits = searcher.search(query["query"], k=10, group_by_review=True)
    assert targets & {h.document.doc_id for h in hits}, query["query"]


def test_george_lessons_found_by_paraphrase(searcher: Searcher) -> None:
    hits = searcher.search("practitioners did not use the escalation policy", k=5)
    assert any(
        h.document.source.endswith("george-briefing.txt") and h.chunk.section == "lessons"
        for h in hits
    )

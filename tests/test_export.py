"""CSV and Markdown exports: every passage cited; nothing a spreadsheet would run."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from scrsearch import load_config
from scrsearch.cli import cli
from scrsearch.ingestion.pipeline import ingest
from scrsearch.present.export import CSV_COLUMNS, citation, render, to_csv, to_markdown
from scrsearch.records import Chunk, Document, Hit, Metadata
from scrsearch.search.request import SearchRequest


def hit(rank: int, text: str, *, page: int | None = 3, end: int | None = None, **meta) -> Hit:
    metadata = Metadata(
        **{
            "title": "Serious Case Review: Child K",
            "partnership": "Harrowdale LSCB",
            "year": 2015,
            "review_type": "scr",
            **meta,
        }
    )
    doc = Document(7, "/corpus/child-k.pdf", "sha", "pdf", page is not None, 8, metadata)
    chunk = Chunk(40 + rank, 7, rank, text, page, end or page, 0, len(text), "lessons")
    return Hit(chunk, doc, 0.5 / rank, rank, "hybrid")


def test_citation_names_review_partnership_year_page_and_section() -> None:
    assert (
        citation(hit(1, "x"))
        == "Serious Case Review: Child K, Harrowdale LSCB, 2015, p. 3, lessons section"
    )
    assert "pp. 3-4" in citation(hit(1, "x", end=4))
    assert citation(hit(1, "x", page=None, partnership=None, year=None)) == (
        "Serious Case Review: Child K, no page numbers, lessons section"
    )


def test_csv_has_one_cited_row_per_passage_and_defuses_formulas() -> None:
    hits = [hit(1, "Use the\n escalation   policy."), hit(2, '=HYPERLINK("http://x")')]
    rows = list(csv.DictReader(io.StringIO(to_csv(hits))))
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert rows[0]["passage"] == "Use the escalation policy."
    assert rows[0]["pages"] == "p. 3" and rows[0]["section"] == "lessons"
    assert rows[0]["partnership"] == "Harrowdale LSCB" and rows[0]["year"] == "2015"
    assert rows[0]["citation"] == citation(hits[0])
    assert rows[1]["passage"].startswith("'=HYPERLINK")


def test_markdown_quotes_each_passage_with_its_citation() -> None:
    hits = [hit(1, "New information *must* change the plan."), hit(2, "<script>alert(1)</script>")]
    text = to_markdown(hits, about='"plan not changed" · hybrid search')
    assert text.startswith("# Search results\n")
    assert "2 passages" in text
    assert "> New information \\*must\\* change the plan." in text
    assert "— Serious Case Review: Child K, Harrowdale LSCB, 2015, p. 3, lessons section" in text
    assert "<script>" not in text and "\\<script\\>" in text
    with pytest.raises(ValueError, match="Unknown export format 'pdf'"):
        render(hits, "pdf")


def test_markdown_keeps_a_passages_lists_and_paragraphs() -> None:
    """A PDF passage: its line wraps undone, its bullets and numbered points on their own
    lines, its paragraphs apart, and no list or emphasis invented by Markdown."""
    from markdown_it import MarkdownIt

    wrapped = (
        "• Practitioners integrate their help and protection roles with confidence and \n"
        "compassion, making good use of their professional authority. \n"
        "• Practitioners use professional curiosity and critical analysis to challenge \n"
        "themselves to consider all relevant evidence. \n"
        " \n"
        "1. Any new information emerging requires *thorough* consideration, which may \n"
        "lead to a change in the plan for the child.\n"
        "- Not all practitioners are aware of, or use, the CSCP escalation policy today."
    )
    text = to_markdown([hit(1, wrapped)])
    html = MarkdownIt("commonmark").render(text)
    quote = html[html.index("<blockquote>") : html.index("</blockquote>")]
    assert quote.count("<p>") == 2  # two paragraphs
    assert quote.count("<br />") == 2  # a line each for the two bullets and the two points
    assert "confidence and compassion" in quote  # the wrap undone
    assert "<ol>" not in quote and "<ul>" not in quote and "<em>" not in quote
    assert "1. Any new information" in quote and "- Not all practitioners" in quote


def test_request_round_trips_through_url_params() -> None:
    request = SearchRequest(
        "escalation policy", "keyword", 25, 2015, 2020, "Westmere", "scr", "lessons", "3", True
    )
    params = request.to_params()
    assert params == {
        "q": "escalation policy",
        "mode": "keyword",
        "k": "25",
        "from": "2015",
        "to": "2020",
        "partnership": "Westmere",
        "type": "scr",
        "section": "lessons",
        "doc": "3",
        "group": "1",
    }
    assert SearchRequest.from_params(params) == request
    assert SearchRequest().to_params() == {}
    assert (request.count(1), request.count(7)) == ("1 review", "7 reviews")
    assert (SearchRequest().count(1), SearchRequest().count(10)) == ("1 passage", "10 passages")
    assert SearchRequest(like=3, group=True).count(2) == "2 passages"  # "like" ignores grouping
    # Nonsense in a URL is ignored, never raised.
    odd = SearchRequest.from_params({"q": ["a", "b"], "mode": "x", "k": "9999", "section": "?"})
    assert (odd.query, odd.mode, odd.k, odd.section) == ("b", "hybrid", 100, None)


def test_cli_export_writes_cited_csv_and_markdown(
    tmp_path: Path, hash_embedder, monkeypatch
) -> None:
    corpus = Path(__file__).resolve().parent.parent / "corpus"
    index = tmp_path / "index"
    files = [
        corpus / "george-briefing.txt",
        corpus / "westmere-2018-7-minute-briefing-escalation.txt",
    ]
    ingest(files, config=load_config(index=str(index)), embedder=hash_embedder)
    monkeypatch.setenv("SCRSEARCH_MODEL", "hash-64")
    runner = CliRunner()
    out = tmp_path / "results.csv"
    args = ["export", "escalation policy", "--index", str(index), "--mode", "keyword", "-k", "3"]
    result = runner.invoke(cli, [*args, "--format", "csv", "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 3 and all(r["citation"] and r["section"] for r in rows)
    assert any("escalation" in r["passage"].lower() for r in rows)
    markdown = runner.invoke(cli, args).stdout
    assert markdown.startswith("# Search results") and "keyword search" in markdown
    assert markdown.count("\n— ") == 3

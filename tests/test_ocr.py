"""Scanned reports: optional OCR of image-only PDF pages with Tesseract.

The OCR tests run where Tesseract and ``scrsearch[ocr]`` are installed (CI installs
both); the tests of what happens without OCR run everywhere.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from scrsearch import load_config
from scrsearch.cli import cli
from scrsearch.errors import ScrsearchError
from scrsearch.index import store
from scrsearch.ingestion.ocr import default_ocr, ocr_available
from scrsearch.ingestion.pipeline import ingest
from scrsearch.search.searcher import Searcher

needs_ocr = pytest.mark.skipif(
    not ocr_available(),
    reason="needs Tesseract: apt-get install tesseract-ocr && pip install 'scrsearch[ocr]'",
)

PAGE_ONE = [
    "The health visitor saw bruising on the baby.",
    "No referral was made to social care.",
]
PAGE_TWO = [
    "The school nurse raised concerns about",
    "neglect in March but nobody escalated them.",
]


def scanned_page(lines: list[str]):  # type: ignore[no-untyped-def]
    """An A4 page at 150 dpi with text drawn as pixels, as a scanner makes it."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (1240, 1754), 255)
    ImageDraw.Draw(image).multiline_text(
        (100, 150), "\n".join(lines), fill=0, font=ImageFont.load_default(size=36), spacing=20
    )
    return image


def scanned_pdf(path: Path, pages: list[list[str]]) -> Path:
    """An image-only PDF written by Pillow: no text layer at all."""
    images = [scanned_page(lines) for lines in pages]
    images[0].save(path, save_all=True, append_images=images[1:], resolution=150)
    return path


def test_scanned_pdf_has_no_text_layer(tmp_path: Path) -> None:
    from pypdf import PdfReader

    pdf = scanned_pdf(tmp_path / "scan.pdf", [PAGE_ONE, PAGE_TWO])
    assert [p.extract_text().strip() for p in PdfReader(pdf).pages] == ["", ""]


@needs_ocr
def test_image_only_pdf_is_read_page_by_page_and_marked_as_ocr(
    tmp_path: Path, hash_embedder
) -> None:
    pdf = scanned_pdf(tmp_path / "scanned review.pdf", [PAGE_ONE, PAGE_TWO])
    config = load_config()
    report = ingest([pdf], config=config, embedder=hash_embedder, ocr=default_ocr("on"))
    [result] = report.results
    assert (result.status, result.pages) == ("indexed", 2), result.message
    searcher = Searcher.open(config=config, embedder=hash_embedder)
    pages = {p.number: p.text.lower() for p in store.get_pages(searcher.index.conn(), 1)}
    assert "bruising" in pages[1] and "referral" in pages[1]
    assert "neglect" in pages[2] and "escalated" in pages[2]
    [hit] = searcher.search("nurse neglect", k=1, mode="keyword")
    data = hit.to_dict()
    assert data["ocr"] is True
    assert (data["page_start"], data["page_end"]) == (2, 2)


@needs_ocr
def test_only_pages_without_text_are_ocrd_and_page_numbers_are_kept(
    tmp_path: Path, hash_embedder
) -> None:
    from fpdf import FPDF
    from pypdf import PdfReader, PdfWriter

    typed = FPDF()
    typed.set_font("Helvetica", size=11)
    for text in ("Typed page one: the GP surgery record.", "Typed page two: the police log."):
        typed.add_page()
        typed.text(20, 30, text)
    typed.output(str(tmp_path / "typed.pdf"))
    scan = scanned_pdf(tmp_path / "scan.pdf", [PAGE_TWO])
    writer = PdfWriter()
    for page in [*PdfReader(tmp_path / "typed.pdf").pages, *PdfReader(scan).pages]:
        writer.add_page(page)
    writer.write(tmp_path / "mixed.pdf")
    calls: list[int] = []
    real = default_ocr("on")
    assert real is not None

    def counting(path: Path, number: int) -> str:
        calls.append(number)
        return real(path, number)

    from scrsearch.ingestion.extract import extract

    result = extract(tmp_path / "mixed.pdf", ocr=counting)
    assert calls == [3]
    assert result.ocr
    assert [p.number for p in result.pages] == [1, 2, 3]
    assert "GP surgery" in result.pages[0].text
    assert "neglect" in result.pages[2].text.lower()


@needs_ocr
def test_cli_ocr_is_visible_in_docs_and_search_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scanned_pdf(tmp_path / "scan.pdf", [PAGE_ONE])
    (tmp_path / "typed.txt").write_text(
        "A typed review: the health visitor made a referral about the baby's bruising."
    )
    monkeypatch.setenv("SCRSEARCH_MODEL", "hash-64")
    runner = CliRunner()
    result = runner.invoke(cli, ["ingest", str(tmp_path)])
    assert result.exit_code == 0, result.output
    docs = {
        Path(d["source"]).name: d for d in json.loads(runner.invoke(cli, ["docs", "--json"]).stdout)
    }
    assert docs["scan.pdf"]["ocr"] is True
    assert docs["typed.txt"]["ocr"] is False
    hits = json.loads(
        runner.invoke(cli, ["search", "bruising referral", "--mode", "keyword", "--json"]).stdout
    )
    assert {Path(h["source"]).name: h["ocr"] for h in hits} == {
        "scan.pdf": True,
        "typed.txt": False,
    }


def test_without_ocr_the_error_says_how_to_enable_it(tmp_path: Path, hash_embedder) -> None:
    pdf = scanned_pdf(tmp_path / "scan.pdf", [PAGE_ONE])
    report = ingest([pdf], config=load_config(), embedder=hash_embedder, ocr=None)
    [result] = report.results
    assert (result.status, result.reason) == ("failed", "no-text")
    assert result.message == (
        f"{pdf}: image-only PDF: no page has a text layer (to read scanned reports install "
        "OCR: apt-get install tesseract-ocr && pip install 'scrsearch[ocr]')"
    )


def test_ocr_modes_when_tesseract_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert not ocr_available()
    assert default_ocr("auto") is None
    assert default_ocr("off") is None
    with pytest.raises(ScrsearchError, match=r"apt-get install tesseract-ocr && pip install"):
        default_ocr("on")

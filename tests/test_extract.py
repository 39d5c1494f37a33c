"""Extractors: real files in, pages of text out; bad files raise typed errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from pdfgen import make_docx, make_pdf
from scrsearch.errors import (
    CorruptFileError,
    EmptyFileError,
    EncryptedFileError,
    NoTextLayerError,
    UnsupportedFormatError,
)
from scrsearch.ingestion.extract import extract, join_hyphenated, strip_running_lines


def test_pdf_pages_are_numbered_from_one_with_text_per_page(tmp_path: Path) -> None:
    pdf = make_pdf(
        tmp_path / "r.pdf",
        [
            "Introduction\nThe review began in May.",
            "Findings\nNobody checked the partner.",
            "Recommendations\n1. Use the escalation policy.",
        ],
        header="Harrowdale SCP - Child K",
    )
    doc = extract(pdf)
    assert doc.paged and doc.format == "pdf"
    assert [p.number for p in doc.pages] == [1, 2, 3]
    assert "Nobody checked the partner" in doc.pages[1].text
    assert "escalation policy" in doc.pages[2].text
    # The running header and the "Page N of M" footers are not passage text.
    assert all("Harrowdale SCP" not in p.text for p in doc.pages)
    assert all("Page" not in p.text for p in doc.pages)


def test_pdf_words_hyphenated_across_lines_are_joined(tmp_path: Path) -> None:
    pdf = make_pdf(
        tmp_path / "h.pdf", ["Professionals must keep safe-\nguarding in mind at all times."]
    )
    assert "safeguarding in mind" in extract(pdf).pages[0].text


def test_join_hyphenated_keeps_real_hyphens() -> None:
    assert join_hyphenated("multi-\nagency") == "multiagency"  # a line-end break is joined
    assert join_hyphenated("child-focused work") == "child-focused work"
    assert join_hyphenated("see Section-\n4") == "see Section-\n4"  # not a lower-case word


def test_strip_running_lines_removes_repeated_headers_only() -> None:
    pages = [f"Westmere LSCB\nBody text {i} about neglect.\nPage {i}" for i in range(1, 5)]
    cleaned = strip_running_lines(pages)
    assert cleaned == [f"Body text {i} about neglect." for i in range(1, 5)]


def test_pdf_title_from_document_info(tmp_path: Path) -> None:
    pdf = make_pdf(
        tmp_path / "t.pdf", ["Some text in the body of the report."], title="Child L SCR"
    )
    assert extract(pdf).title == "Child L SCR"


def test_password_protected_pdf_is_refused_with_a_fix(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    plain = make_pdf(tmp_path / "plain.pdf", ["Confidential review text about neglect."])
    writer = PdfWriter(clone_from=PdfReader(plain))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-256")
    locked = tmp_path / "locked.pdf"
    writer.write(locked)
    with pytest.raises(EncryptedFileError) as err:
        extract(locked)
    assert "password-protected" in str(err.value) and str(locked) in str(err.value)
    assert err.value.fix and "unprotected copy" in err.value.fix


def test_pdf_encrypted_without_user_password_just_works(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    plain = make_pdf(tmp_path / "plain.pdf", ["Readable text about escalation policy."])
    writer = PdfWriter(clone_from=PdfReader(plain))
    writer.encrypt(user_password="", owner_password="owner", algorithm="AES-128")
    locked = tmp_path / "owner-only.pdf"
    writer.write(locked)
    assert "escalation policy" in extract(locked).pages[0].text


def test_truncated_pdf_is_corrupt(tmp_path: Path) -> None:
    whole = make_pdf(tmp_path / "whole.pdf", ["Text"] * 3).read_bytes()
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(whole[:300])
    with pytest.raises((CorruptFileError, EmptyFileError)):
        extract(cut)


def test_image_only_pdf_says_no_text_layer_and_how_to_ocr(tmp_path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 50, style="F")
    path = tmp_path / "scan.pdf"
    pdf.output(str(path))
    with pytest.raises(NoTextLayerError) as err:
        extract(path)
    assert "no page has a text layer" in str(err.value)
    assert "tesseract-ocr" in str(err.value)


def test_non_pdf_named_pdf(tmp_path: Path) -> None:
    fake = tmp_path / "fake.pdf"
    fake.write_text("<html>not a pdf</html>")
    with pytest.raises(CorruptFileError, match="not a PDF"):
        extract(fake)


def test_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(EmptyFileError, match="empty"):
        extract(empty)


def test_unsupported_type(tmp_path: Path) -> None:
    sheet = tmp_path / "data.xlsx"
    sheet.write_bytes(b"PK\x03\x04junk")
    with pytest.raises(UnsupportedFormatError, match="unsupported file type '.xlsx'"):
        extract(sheet)


def test_binary_junk_in_a_text_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.txt"
    junk.write_bytes(bytes(range(256)) * 20)
    with pytest.raises(UnsupportedFormatError, match="binary"):
        extract(junk)


def test_text_in_windows_1252_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "cp1252.txt"
    path.write_bytes("The child’s voice – “unheard” in the café meeting.".encode("cp1252"))
    text = extract(path).pages[0].text
    assert "child’s voice" in text and "café" in text
    assert not extract(path).paged


def test_html_boilerplate_is_removed(tmp_path: Path) -> None:
    page = tmp_path / "briefing.html"
    page.write_text(
        """<html><head><title>Learning briefing: Child Z</title></head><body>
        <nav><a href="/">Home</a> <a href="/training">Training courses</a></nav>
        <div id="cookie-banner">We use cookies to improve your experience. Accept all cookies</div>
        <main><article><h1>Learning briefing: Child Z</h1>
        <p>Child Z was three when the family moved into the area and the case transferred.</p>
        <h2>Lessons</h2>
        <p>Professionals did not use the escalation policy when they disagreed with the decision
        to close the child in need plan. The new partner's history was never checked.</p>
        <p>Information shared at the core group meeting did not lead to a change of plan.</p>
        </article></main>
        <footer>Contact us | Accessibility | Privacy notice | © Partnership</footer>
        </body></html>""",
        encoding="utf-8",
    )
    doc = extract(page)
    assert doc.format == "html" and doc.title == "Learning briefing: Child Z"
    assert "escalation policy" in doc.text
    for boilerplate in ("cookies", "Training courses", "Accessibility", "Privacy notice"):
        assert boilerplate not in doc.text


def test_docx_headings_and_numbered_lists(tmp_path: Path) -> None:
    path = make_docx(
        tmp_path / "cspr.docx",
        [
            ("Title", "Child Safeguarding Practice Review: Baby Q"),
            ("Heading 1", "Lessons learned"),
            ("List Number", "The partner's history was not checked."),
            ("List Number", "The plan was stepped down too early."),
            ("Normal", "Agencies accepted these findings."),
        ],
    )
    doc = extract(path)
    assert doc.format == "docx" and not doc.paged
    assert "# Lessons learned" in doc.text
    assert "1. The partner's history was not checked." in doc.text
    assert "2. The plan was stepped down too early." in doc.text


def test_corrupt_docx(tmp_path: Path) -> None:
    path = tmp_path / "broken.docx"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 50)
    with pytest.raises(CorruptFileError):
        extract(path)

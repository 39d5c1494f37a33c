"""Small generators of real test files (PDF, DOCX) for the tests."""

from __future__ import annotations

from pathlib import Path


def make_pdf(
    path: Path, pages: list[str], *, header: str | None = None, title: str | None = None
) -> Path:
    """Write a text PDF with one string per page (lines split on newlines)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_auto_page_break(False)
    if title:
        pdf.set_title(title)
    for number, text in enumerate(pages, start=1):
        pdf.add_page()
        pdf.set_font("Helvetica", size=11)
        if header:
            pdf.set_xy(10, 8)
            pdf.cell(0, 6, header)
        pdf.set_xy(10, 20)
        for line in text.split("\n"):
            pdf.set_x(10)
            pdf.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
        pdf.set_xy(10, 280)
        pdf.cell(0, 6, f"Page {number} of {len(pages)}")
    pdf.output(str(path))
    return path


def make_docx(path: Path, blocks: list[tuple[str, str]]) -> Path:
    """Write a DOCX from ``(style, text)`` blocks, e.g. ``("Heading 1", "Lessons")``."""
    import docx

    document = docx.Document()
    for style, text in blocks:
        document.add_paragraph(text, style=style)
    document.save(str(path))
    return path

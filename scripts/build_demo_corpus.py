#!/usr/bin/env python
"""Build the generated files of the scrsearch demo corpus.

Reads the fictional sources in ``corpus-src/`` (a small Markdown subset) and
writes PDFs (fpdf2) and DOCX files (python-docx) into ``corpus/``.  The other
demo documents (.txt, .md, .html) live in ``corpus/`` as written by hand.

Output is deterministic: fixed creation dates and metadata, and DOCX zip
entries with a fixed timestamp, so re-running gives the same bytes.

Source format, one block per paragraph (blank line between blocks):

    # Title                 document title (PDF cover / DOCX Title style)
    ## Heading              section heading (DOCX Heading 1)
    ### Sub-heading         sub-heading (DOCX Heading 2)
    1. item                 numbered list item (DOCX "List Number", restarted per list)
    - item                  bullet item (DOCX "List Bullet")
    anything else           body paragraph; lines are joined with spaces

Everything before the first ``##`` heading is front matter (the PDF cover page).
A ``~`` inside a word marks a soft hyphen: fpdf2 breaks the word there, with a
visible hyphen, when it falls at the end of a line.

Usage:  python scripts/build_demo_corpus.py [--check]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import re
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC_DIR = ROOT / "corpus-src"
OUT_DIR = ROOT / "corpus"

SOFT_HYPHEN = "\u00ad"
ZIP_DATE = (2024, 1, 1, 0, 0, 0)
CREATOR = "scrsearch scripts/build_demo_corpus.py"


@dataclass(frozen=True)
class Spec:
    src: str
    out: str
    header: str
    title: str
    author: str
    published: dt.datetime
    subject: str
    keywords: str


SPECS = [
    Spec(
        src="harrowdale-2015-scr-child-k-overview.md",
        out="harrowdale-2015-scr-child-k-overview.pdf",
        header="Harrowdale LSCB  |  Serious Case Review: Child K - Overview Report",
        title="Serious Case Review: Child K - Overview Report",
        author="Harrowdale Local Safeguarding Children Board",
        published=dt.datetime(2015, 6, 10, 9, 0, 0, tzinfo=dt.timezone.utc),
        subject="Serious Case Review overview report (fictional demo document)",
        keywords="serious case review, non-accidental injury, new partner, child in need",
    ),
    Spec(
        src="westmere-2017-scr-child-s-overview.md",
        out="westmere-2017-scr-child-s-overview.pdf",
        header="Westmere LSCB  |  SCR Child S - Overview Report",
        title="Serious Case Review: Child S - Overview Report",
        author="Westmere Local Safeguarding Children Board",
        published=dt.datetime(2017, 9, 14, 9, 0, 0, tzinfo=dt.timezone.utc),
        subject="Serious Case Review overview report (fictional demo document)",
        keywords="serious case review, child sexual exploitation, looked after child",
    ),
    Spec(
        src="kingsmere-2021-cspr-jayden.md",
        out="kingsmere-2021-cspr-jayden.pdf",
        header="Kingsmere Safeguarding Children Partnership  |  LCSPR: Jayden",
        title="Child Safeguarding Practice Review: Jayden",
        author="Kingsmere Safeguarding Children Partnership",
        published=dt.datetime(2021, 11, 23, 9, 0, 0, tzinfo=dt.timezone.utc),
        subject="Local child safeguarding practice review (fictional demo document)",
        keywords="child safeguarding practice review, county lines, criminal exploitation",
    ),
    Spec(
        src="calder-brook-2022-sar-mr-d.md",
        out="calder-brook-2022-sar-mr-d.pdf",
        header="Calder Brook Safeguarding Adults Board  |  SAR: Mr D",
        title="Safeguarding Adult Review: Mr D",
        author="Calder Brook Safeguarding Adults Board",
        published=dt.datetime(2022, 4, 6, 9, 0, 0, tzinfo=dt.timezone.utc),
        subject="Safeguarding Adults Review (fictional demo document)",
        keywords="safeguarding adults review, self-neglect, hoarding, mental capacity",
    ),
    Spec(
        src="fenwick-vale-2023-cspr-baby-m.md",
        out="fenwick-vale-2023-cspr-baby-m.docx",
        header="Fenwick Vale Safeguarding Children Partnership - LCSPR Baby M",
        title="Child Safeguarding Practice Review: Baby M",
        author="Fenwick Vale Safeguarding Children Partnership",
        published=dt.datetime(2023, 7, 3, 9, 0, 0),
        subject="Local child safeguarding practice review (fictional demo document)",
        keywords="child safeguarding practice review, non-accidental injury, baby, step-down",
    ),
    Spec(
        src="cwm-ardal-2019-child-practice-review-cars-2-2018.md",
        out="cwm-ardal-2019-child-practice-review-cars-2-2018.docx",
        header="Cwm Ardal Regional Safeguarding Board - Extended Child Practice Review CARSB 2/2018",
        title="Extended Child Practice Review: CARSB 2/2018",
        author="Cwm Ardal Regional Safeguarding Board",
        published=dt.datetime(2019, 2, 12, 9, 0, 0),
        subject="Extended Child Practice Review, Wales (fictional demo document)",
        keywords="child practice review, neglect, parental substance misuse, methadone",
    ),
]


# --------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    kind: str  # title | h1 | h2 | para | num | bullet
    text: str
    number: int = 0


_NUM = re.compile(r"^(\d+)\.\s+(.*)$", re.S)

_ASCII = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2026": "...",
    "\u00a0": " ",
    "\u2022": "-",
}


def to_latin1(text: str) -> str:
    """Replace characters a PDF core font cannot encode with ASCII equivalents."""
    for bad, good in _ASCII.items():
        text = text.replace(bad, good)
    text.encode("latin-1")  # raises if anything unencodable is left
    return text


def parse(source: str) -> tuple[list[Block], list[Block]]:
    """Return (front matter blocks, body blocks)."""
    front: list[Block] = []
    body: list[Block] = []
    target = front
    for raw in re.split(r"\n\s*\n", source.strip()):
        lines = [ln.strip() for ln in raw.strip().splitlines()]
        text = " ".join(lines)
        if text.startswith("### "):
            block = Block("h2", text[4:])
        elif text.startswith("## "):
            target = body
            block = Block("h1", text[3:])
        elif text.startswith("# "):
            block = Block("title", text[2:])
        elif text.startswith("- "):
            for item in raw.strip().split("\n- "):
                target.append(Block("bullet", item.lstrip("- ").replace("\n", " ").strip()))
            continue
        elif _NUM.match(text):
            # a run of numbered items may sit in one block, one per line
            items = re.split(r"\n(?=\d+\.\s)", raw.strip())
            for item in items:
                m = _NUM.match(" ".join(x.strip() for x in item.splitlines()))
                target.append(Block("num", m.group(2), int(m.group(1))))
            continue
        else:
            block = Block("para", text)
        target.append(block)
    return front, body


def pdf_text(text: str) -> str:
    return to_latin1(text).replace("~", SOFT_HYPHEN)


def plain_text(text: str) -> str:
    return text.replace("~", "")


# --------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------


def build_pdf(spec: Spec, front: list[Block], body: list[Block]) -> bytes:
    from fpdf import FPDF

    class ReportPDF(FPDF):
        def header(self) -> None:
            if self.page_no() == 1:
                return
            self.set_font("Helvetica", "I", 8)
            self.set_text_color(90, 90, 90)
            self.cell(0, 5, pdf_text(spec.header), align="L")
            self.ln(6)
            self.set_draw_color(150, 150, 150)
            self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
            self.ln(4)
            self.set_text_color(0, 0, 0)

        def footer(self) -> None:
            self.set_y(-15)
            self.set_font("Helvetica", "", 8)
            self.set_text_color(90, 90, 90)
            self.cell(0, 10, f"Page {self.page_no()} of {{nb}}", align="C")
            self.set_text_color(0, 0, 0)

    pdf = ReportPDF(format="A4", unit="mm")
    pdf.set_margins(22, 20, 22)
    pdf.set_auto_page_break(True, margin=22)
    pdf.alias_nb_pages("{nb}")
    pdf.set_creation_date(spec.published)
    pdf.set_title(to_latin1(spec.title))
    pdf.set_author(to_latin1(spec.author))
    pdf.set_subject(to_latin1(spec.subject))
    pdf.set_keywords(to_latin1(spec.keywords))
    pdf.set_creator(CREATOR)
    pdf.set_producer("fpdf2")
    pdf.set_lang("en-GB")
    width = pdf.w - pdf.l_margin - pdf.r_margin

    # Cover page: title and front matter, centred.
    pdf.add_page()
    pdf.set_y(70)
    for block in front:
        if block.kind == "title":
            pdf.set_font("Helvetica", "B", 22)
            pdf.multi_cell(width, 10, pdf_text(block.text), align="C")
            pdf.ln(10)
        else:
            fictional = block.text.startswith("This is a fictional document")
            pdf.set_font("Helvetica", "I" if fictional else "", 10 if fictional else 13)
            if fictional:
                pdf.ln(20)
            pdf.multi_cell(width, 7, pdf_text(block.text), align="C")
            pdf.ln(4)

    pdf.add_page()
    list_indent = 8
    for i, block in enumerate(body):
        if block.kind in ("h1", "h2"):
            # keep a heading with what follows (another heading and some text)
            following = body[i + 1].kind if i + 1 < len(body) else ""
            needed = 45 if following in ("h1", "h2") else 30
            if pdf.get_y() > pdf.page_break_trigger - needed:
                pdf.add_page()
            pdf.ln(3 if block.kind == "h1" else 1)
            pdf.set_font(
                "Helvetica", "B" if block.kind == "h1" else "BI", 13 if block.kind == "h1" else 11
            )
            pdf.multi_cell(width, 7, pdf_text(block.text), align="L")
            pdf.ln(2)
        elif block.kind in ("num", "bullet"):
            pdf.set_font("Helvetica", "", 10.5)
            label = f"{block.number}." if block.kind == "num" else "-"
            pdf.set_x(pdf.l_margin)
            pdf.cell(list_indent, 5.6, label)
            pdf.multi_cell(width - list_indent, 5.6, pdf_text(block.text), align="L")
            pdf.ln(1.5)
        else:
            pdf.set_font("Helvetica", "", 10.5)
            pdf.multi_cell(width, 5.6, pdf_text(block.text), align="L")
            pdf.ln(3)
    return bytes(pdf.output())


# --------------------------------------------------------------------------
# DOCX
# --------------------------------------------------------------------------


def _add_field(run, instr: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    code = OxmlElement("w:instrText")
    code.set(qn("xml:space"), "preserve")
    code.text = f" {instr} "
    sep = OxmlElement("w:fldChar")
    sep.set(qn("w:fldCharType"), "separate")
    shown = OxmlElement("w:t")
    shown.text = "1"
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    for el in (begin, code, sep, shown, end):
        run._r.append(el)


def _new_numbering(doc) -> int:
    """A fresh numbering instance for the List Number style, restarting at 1."""
    numbering = doc.part.numbering_part.element
    style = doc.styles["List Number"]
    style_num_id = style.element.pPr.numPr.numId.val
    abstract_id = numbering.num_having_numId(style_num_id).abstractNumId.val
    num = numbering.add_num(abstract_id)
    num.add_lvlOverride(ilvl=0).add_startOverride(1)
    return num.numId


def build_docx(spec: Spec, front: list[Block], body: list[Block]) -> bytes:
    from docx import Document
    from docx.shared import Pt

    doc = Document()
    props = doc.core_properties
    props.title = spec.title
    props.author = spec.author
    props.last_modified_by = spec.author
    props.subject = spec.subject
    props.keywords = spec.keywords
    props.comments = "Fictional document generated for the scrsearch demo corpus."
    props.created = spec.published
    props.modified = spec.published
    props.revision = 1
    doc.styles["Normal"].font.name = "Arial"
    doc.styles["Normal"].font.size = Pt(11)

    section = doc.sections[0]
    section.header.paragraphs[0].text = spec.header
    foot = section.footer.paragraphs[0]
    foot.add_run("Page ")
    _add_field(foot.add_run(), "PAGE")
    foot.add_run(" of ")
    _add_field(foot.add_run(), "NUMPAGES")

    num_id = None
    prev_kind = None
    for block in front + body:
        text = plain_text(block.text)
        if block.kind == "title":
            doc.add_paragraph(text, style="Title")
        elif block.kind == "h1":
            doc.add_heading(text, level=1)
        elif block.kind == "h2":
            doc.add_heading(text, level=2)
        elif block.kind == "num":
            if prev_kind != "num":
                num_id = _new_numbering(doc)
            p = doc.add_paragraph(text, style="List Number")
            num_pr = p._p.get_or_add_pPr().get_or_add_numPr()
            num_pr.get_or_add_ilvl().val = 0
            num_pr.get_or_add_numId().val = num_id
        elif block.kind == "bullet":
            doc.add_paragraph(text, style="List Bullet")
        else:
            p = doc.add_paragraph(text)
            if text.startswith("This is a fictional document"):
                p.runs[0].italic = True
        prev_kind = block.kind

    raw = io.BytesIO()
    doc.save(raw)
    return _normalise_zip(raw.getvalue())


def _normalise_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed timestamps so the output is reproducible."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


# --------------------------------------------------------------------------


def build(spec: Spec) -> bytes:
    source = (SRC_DIR / spec.src).read_text(encoding="utf-8")
    front, body = parse(source)
    if spec.out.endswith(".pdf"):
        return build_pdf(spec, front, body)
    if spec.out.endswith(".docx"):
        return build_docx(spec, front, body)
    raise ValueError(f"unknown output type: {spec.out}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 if any generated file is missing or out of date",
    )
    args = parser.parse_args(argv)
    stale = []
    for spec in SPECS:
        data = build(spec)
        target = OUT_DIR / spec.out
        if args.check:
            if not target.exists() or target.read_bytes() != data:
                stale.append(spec.out)
            continue
        target.write_bytes(data)
        print(f"wrote corpus/{spec.out} ({len(data):,} bytes)")
    if stale:
        print("out of date: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

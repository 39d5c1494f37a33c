"""Bad input: a generated catalogue of broken and hostile files.

For each bad file, ingestion reports one clear line (file, reason and the fix where
one exists), indexes the rest of the batch and exits non-zero. Awkward but valid
files (owner-locked PDFs, legacy encodings, odd names) just work.
"""

from __future__ import annotations

import errno
import io
import json
import os
import re
import subprocess
import sys
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from scrsearch import load_config
from scrsearch.cli import cli
from scrsearch.index import store
from scrsearch.index.generations import Index
from scrsearch.ingestion.extract import extract
from scrsearch.ingestion.pipeline import ingest

SRC = Path(__file__).resolve().parent.parent / "src" / "scrsearch"

GOOD_TEXT = (
    "The health visitor saw bruising on the baby and did not make a referral to "
    "children's social care. The review found that the school, the GP and the police "
    "each held part of the picture, but nobody escalated the concern."
)
WORDS = (
    "health visitor neglect school referral police strategy meeting mother father baby "
    "injury bruise hospital social worker escalation nursery housing probation"
).split()


# --- generators ---------------------------------------------------------------


def text_pdf(path: Path, pages: int = 3) -> Path:
    """A PDF whose pages carry different sentences (so none is a running header)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=10)
    for i in range(pages):
        pdf.add_page()
        words = [WORDS[(i * 7 + j) % len(WORDS)] for j in range(12)]
        pdf.text(10, 20, f"Section {i + 1}: the {' and the '.join(words[:6])}")
        pdf.text(10, 26, f"were discussed with the {' and the '.join(words[6:])}.")
    pdf.output(str(path))
    return path


def image_pdf(path: Path, lines: list[str]) -> Path:
    """An image-only PDF: text drawn into a picture, no text layer."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (1240, 1754), 255)
    ImageDraw.Draw(image).multiline_text(
        (100, 150), "\n".join(lines), fill=0, font=ImageFont.load_default(size=36), spacing=20
    )
    image.save(path, resolution=150)
    return path


def encrypted_pdf(path: Path, user: str, algorithm: str) -> Path:
    from pypdf import PdfWriter

    source = text_pdf(path.with_suffix(".plain.tmp"), 2)
    writer = PdfWriter(clone_from=str(source))
    writer.encrypt(user_password=user, owner_password="owner-secret", algorithm=algorithm)
    writer.write(path)
    source.unlink()
    return path


def docx_bytes(text: str = GOOD_TEXT) -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph(text)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def docx_with(path: Path, edit: Callable[[bytes], bytes]) -> Path:
    """A real DOCX whose word/document.xml is rewritten by ``edit``."""
    source = zipfile.ZipFile(io.BytesIO(docx_bytes()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            data = source.read(item.filename)
            out.writestr(item, edit(data) if item.filename == "word/document.xml" else data)
    return path


def zip_bomb_docx(path: Path) -> Path:
    """A DOCX-shaped archive whose document.xml inflates 1000:1 to 300 MB."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("[Content_Types].xml", "<Types/>")
        with out.open("word/document.xml", "w") as member:
            block = b" " * (1024 * 1024)
            for _ in range(300):
                member.write(block)
    return path


def billion_laughs(data: bytes) -> bytes:
    entities = b'<!ENTITY a0 "lol">' + b"".join(
        b'<!ENTITY a%d "%s">' % (i, b"".join(b"&a%d;" % (i - 1) for _ in range(10)))
        for i in range(1, 10)
    )
    body = data.split(b"?>", 1)[1]
    return (
        b'<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE w:document ['
        + entities
        + b"]>"
        + body.replace(b"The health visitor", b"&a9; The health visitor")
    )


def external_entity(secret: Path) -> Callable[[bytes], bytes]:
    def edit(data: bytes) -> bytes:
        body = data.split(b"?>", 1)[1]
        dtd = b'<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file://%s">]>' % str(secret).encode()
        return (
            b'<?xml version="1.0" encoding="UTF-8"?>'
            + dtd
            + body.replace(b"The health visitor", b"&xxe; The health visitor")
        )

    return edit


# --- the catalogue --------------------------------------------------------------


@dataclass(frozen=True)
class Bad:
    """A file that must fail with ``reason`` and exactly ``{shown path}: {message}``."""

    name: str
    build: Callable[[Path], None]
    reason: str
    message: str  # a regular expression for the text after "<path>: "


def _write(name: str, data: bytes | str) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        path = folder / name
        path.write_bytes(data.encode() if isinstance(data, str) else data)

    return build


def _call(make: Callable[[Path], object], name: str) -> Callable[[Path], None]:
    return lambda folder: None if make(folder / name) else None


def _truncated(folder: Path) -> None:
    raw = text_pdf(folder / "whole.tmp", 6).read_bytes()
    (folder / "whole.tmp").unlink()
    (folder / "truncated.pdf").write_bytes(raw[: len(raw) * 3 // 4])


def _links(folder: Path) -> None:
    os.symlink("loop-b.txt", folder / "loop-a.txt")
    os.symlink("loop-a.txt", folder / "loop-b.txt")


def _locked(folder: Path) -> None:
    path = folder / "locked.txt"
    path.write_text(GOOD_TEXT)
    path.chmod(0)


BAD = [
    Bad("empty.txt", _write("empty.txt", b""), "empty", r"the file is empty \(0 bytes\)"),
    Bad("empty.pdf", _write("empty.pdf", b""), "empty", r"the file is empty \(0 bytes\)"),
    Bad("blank.md", _write("blank.md", " \n\n\t \n" * 20), "empty", "no text found in the file"),
    Bad(
        "truncated.pdf",
        _truncated,
        "corrupt",
        r"corrupt or truncated PDF \(.+\) \(re-download or re-export the file\)",
    ),
    Bad(
        "password.pdf",
        _call(lambda p: encrypted_pdf(p, "letmein", "AES-256"), "password.pdf"),
        "encrypted",
        re.escape(
            "the PDF is password-protected (save an unprotected copy (e.g. print to PDF) "
            "and ingest that)"
        ),
    ),
    Bad(
        "scanned.pdf",
        _call(lambda p: image_pdf(p, ["Scanned page of a review"]), "scanned.pdf"),
        "no-text",
        re.escape(
            "image-only PDF: no page has a text layer (to read scanned reports install OCR: "
            "apt-get install tesseract-ocr && pip install 'scrsearch[ocr]')"
        ),
    ),
    Bad(
        "not-really.pdf",
        _write("not-really.pdf", "<html><body>" + GOOD_TEXT + "</body></html>"),
        "corrupt",
        re.escape("not a PDF file (no PDF header) (check the file type and rename it)"),
    ),
    Bad(
        "all-script.html",
        _write(
            "all-script.html",
            "<html><head><style>p{color:red}</style></head><body>"
            + "<script>document.write('x');</script>" * 200
            + "</body></html>",
        ),
        "empty",
        "no main text found in the HTML page",
    ),
    Bad(
        "junk.txt",
        _write("junk.txt", bytes(range(256)) * 40),
        "unsupported",
        re.escape("binary data, not text (check the file; only real text files can be indexed)"),
    ),
    Bad(
        "junk.html",
        _write("junk.html", b"<html>\x00\x01\x02" + bytes(range(256)) * 20),
        "corrupt",
        "binary data in an HTML file",
    ),
    Bad(
        "bomb.docx",
        _call(zip_bomb_docx, "bomb.docx"),
        "too-large",
        r"DOCX expands to 315 MB \(ratio \d+:1\), refused as a possible zip bomb",
    ),
    Bad(
        "laughs.docx",
        _call(lambda p: docx_with(p, billion_laughs), "laughs.docx"),
        "corrupt",
        re.escape(
            "the DOCX declares XML entities (a DTD), refused as unsafe "
            "(open it in Word and save a fresh copy)"
        ),
    ),
    Bad(
        "external-entity.docx",
        _call(
            lambda p: docx_with(p, external_entity(Path("/etc/hostname"))), "external-entity.docx"
        ),
        "corrupt",
        re.escape(
            "the DOCX declares XML entities (a DTD), refused as unsafe "
            "(open it in Word and save a fresh copy)"
        ),
    ),
    Bad(
        "locked-word.docx",
        _write("locked-word.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4088)),
        "encrypted",
        re.escape(
            "a password-protected or old-format (.doc) Word file "
            "(open it in Word, remove any password and save it as .docx)"
        ),
    ),
    Bad(
        "plain-zip.docx",
        _call(lambda p: zipfile.ZipFile(p, "w").writestr("notes.txt", GOOD_TEXT), "plain-zip.docx"),
        "corrupt",
        re.escape("ZIP archive without word/document.xml: not a DOCX"),
    ),
    Bad(
        "junk.docx",
        _write("junk.docx", os.urandom(4096)),
        "corrupt",
        re.escape("not a DOCX file (not a ZIP archive)"),
    ),
    Bad(
        "too-big.txt",
        _write("too-big.txt", (GOOD_TEXT + "\n") * 9000),
        "too-large",
        re.escape(
            "the file is 2 MB, over the 1 MB limit (raise SCRSEARCH_MAX_FILE_MB if it is genuine)"
        ),
    ),
    Bad("loop-a.txt", _links, "unreadable", re.escape("a link loop (fix or delete it)")),
    Bad(
        "broken-link.txt",
        lambda folder: os.symlink("gone.txt", folder / "broken-link.txt"),
        "unreadable",
        re.escape("a broken link (fix or delete it)"),
    ),
    Bad(
        "pipe.txt",
        lambda folder: os.mkfifo(folder / "pipe.txt"),
        "unreadable",
        re.escape("not a regular file (a pipe, socket or device); copy the document to a file"),
    ),
    Bad(
        "caf\\xe9.txt",
        lambda folder: (Path(os.fsdecode(os.fsencode(folder) + b"/caf\xe9.txt"))).write_text(
            GOOD_TEXT
        ),
        "bad-name",
        re.escape("the file name is not valid UTF-8 (rename the file, e.g. with convmv)"),
    ),
    Bad(
        "locked.txt",
        _locked,
        "unreadable",
        re.escape("cannot read the file (Permission denied); check its permissions"),
    ),
]


@pytest.fixture
def unreadable_as_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Root reads any file whatever its mode; make chmod 0 bite as it would for a user."""
    if os.geteuid() != 0:
        return
    import scrsearch.ingestion.pipeline as pipeline

    real = pipeline.file_sha256

    def sha(path: Path) -> str:
        if not os.stat(path).st_mode & 0o444:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(pipeline, "file_sha256", sha)


def _good(folder: Path) -> Path:
    path = folder / "good review.txt"
    path.write_text(GOOD_TEXT)
    return path


@pytest.mark.parametrize("case", BAD, ids=[c.name for c in BAD])
def test_each_bad_file_fails_alone_with_a_clear_reason(
    case: Bad, tmp_path: Path, hash_embedder, monkeypatch, unreadable_as_root
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    good = _good(folder)
    case.build(folder)
    monkeypatch.setenv("SCRSEARCH_MAX_FILE_MB", "1")
    report = ingest([folder], config=load_config(), embedder=hash_embedder)
    by_path = {r.path: r for r in report.results}
    assert by_path[str(good)].status == "indexed"
    shown = f"{folder}/{case.name}"
    bad = by_path[shown]
    assert (bad.status, bad.reason) == ("failed", case.reason), bad.message
    assert bad.message is not None and "\n" not in bad.message
    assert re.fullmatch(re.escape(shown + ": ") + case.message, bad.message), bad.message
    assert report.published
    assert Index.open(load_config().index_dir).manifest.counts["documents"] == 1


# --- awkward but valid files ---------------------------------------------------


def _awkward(folder: Path) -> dict[str, str]:
    """Files that must be indexed; returns name -> a phrase its stored text must hold."""
    encrypted_pdf(folder / "owner-locked-aes.pdf", "", "AES-128")
    encrypted_pdf(folder / "owner-locked-rc4.pdf", "", "RC4-128")
    (folder / "scripts.html").write_text(
        "<html><head><title>Child R</title><style>body { color: red; } .x{}</style>"
        "<script>var ALERTXSS = 'document.cookie';</script></head><body>"
        + "<script>alert('ALERTXSS')</script>"
        * 30
        + f"<article><p>{GOOD_TEXT}</p><style>p {{ margin: 0 }}</style>"
        "<noscript>NOSCRIPTTEXT enable javascript</noscript></article></body></html>"
    )
    (folder / "malformed.html").write_text(
        "<html><body><div><p>The strategy meeting <b>was not <i>convened</b> despite</i> "
        "the referral from the school about bruising<td></tr></table><p>Second paragraph "
        "about police involvement and the escalation policy never used</div></span>"
    )
    (folder / "windows-1252.txt").write_bytes(
        ("The child’s mother said “no” to the £50 offer – café naïve. " + GOOD_TEXT).encode(
            "cp1252"
        )
    )
    (folder / "mixed-encoding.txt").write_bytes(
        ("Naïve café résumé: the social worker’s report. " + GOOD_TEXT).encode("utf-8")
        + "\nPasted from Word: “quotes” cost £20.\n".encode("cp1252")
    )
    (folder / "utf16.txt").write_bytes(
        ("Notepad saved this review as UTF-16. " + GOOD_TEXT).encode("utf-16")
    )
    (folder / "with spaces in name.txt").write_text("Spaces in the name. " + GOOD_TEXT)
    (folder / "-leading-dash.txt").write_text("A leading dash. " + GOOD_TEXT)
    (folder / "Ünïcödé réview – 2021 ✓.txt").write_text("Unicode name. " + GOOD_TEXT)
    (folder / "sub").mkdir()
    os.symlink("..", folder / "sub" / "loop-to-parent")  # a folder loop: never followed
    return {
        "owner-locked-aes.pdf": "Section 1",
        "owner-locked-rc4.pdf": "Section 2",
        "scripts.html": "nobody escalated",
        "malformed.html": "escalation policy never used",
        "windows-1252.txt": "The child’s mother said “no” to the £50 offer – café naïve.",
        "mixed-encoding.txt": "Naïve café résumé: the social worker’s report.",
        "utf16.txt": "Notepad saved this review as UTF-16.",
        "with spaces in name.txt": "Spaces in the name.",
        "-leading-dash.txt": "A leading dash.",
        "Ünïcödé réview – 2021 ✓.txt": "Unicode name.",
    }


def test_awkward_but_valid_files_are_indexed(tmp_path: Path, hash_embedder) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    expected = _awkward(folder)
    report = ingest([folder], config=load_config(), embedder=hash_embedder)
    status = {Path(r.path).name: r.status for r in report.results}
    for name in expected:
        assert status[name] == "indexed", (name, report.results)
    conn = Index.open(load_config().index_dir).conn()
    texts = {
        Path(doc.source).name: "\n".join(p.text for p in store.get_pages(conn, doc.doc_id))
        for doc, _, _ in store.list_documents(conn)
    }
    for name, phrase in expected.items():
        assert phrase in texts[name], (name, texts[name][:300])
    everything = "\n".join(texts.values())
    for hostile in ("ALERTXSS", "document.cookie", "color: red", "margin: 0"):
        assert hostile not in everything
    # The folder loop was not followed: each file is indexed once.
    assert len(texts) == len(store.list_documents(conn))
    assert not any("loop-to-parent" in s for s in texts)


def test_exact_duplicates_under_two_names_are_indexed_once(tmp_path: Path, hash_embedder) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a-copy.txt").write_text(GOOD_TEXT)
    (folder / "b-copy.txt").write_text(GOOD_TEXT)
    report = ingest([folder], config=load_config(), embedder=hash_embedder)
    assert [(Path(r.path).name, r.status) for r in report.results] == [
        ("a-copy.txt", "indexed"),
        ("b-copy.txt", "duplicate"),
    ]
    assert report.results[1].message == (
        f"{folder}/b-copy.txt: same content as {(folder / 'a-copy.txt').resolve()}, indexed once"
    )
    # Again, later: still once.
    again = ingest([folder / "b-copy.txt"], config=load_config(), embedder=hash_embedder)
    assert again.results[0].status == "duplicate"
    assert Index.open(load_config().index_dir).manifest.counts["documents"] == 1


def test_same_file_sent_twice_at_once_is_indexed_once(tmp_path: Path, hash_embedder) -> None:
    path = tmp_path / "review.txt"
    path.write_text(GOOD_TEXT)
    os.symlink(path, tmp_path / "alias.txt")
    # Twice in one call (once through a link).
    report = ingest(
        [path, path, tmp_path / "alias.txt"], config=load_config(), embedder=hash_embedder
    )
    assert [r.status for r in report.results] == ["indexed"]
    # Twice at the same moment, from two threads (two writers).
    other = tmp_path / "other.txt"
    other.write_text("The nursery manager noticed the child was hungry. " + GOOD_TEXT)
    results: list = []
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        results.append(ingest([other], config=load_config(), embedder=hash_embedder))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(r.results[0].status for r in results) == ["indexed", "unchanged"]
    conn = Index.open(load_config().index_dir).conn()
    sources = [d.source for d, _, _ in store.list_documents(conn)]
    assert sorted(sources) == sorted([str(path.resolve()), str(other.resolve())])


def test_cli_prints_one_line_per_bad_file_and_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unreadable_as_root
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    _good(folder)
    for case in BAD:
        case.build(folder)
    expected = _awkward(folder)
    monkeypatch.setenv("SCRSEARCH_MODEL", "hash-64")
    monkeypatch.setenv("SCRSEARCH_MAX_FILE_MB", "1")
    monkeypatch.setenv("SCRSEARCH_OCR", "off")
    result = CliRunner().invoke(cli, ["ingest", str(folder)])
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    for case in BAD:
        mine = [ln for ln in lines if f"{folder}/{case.name}:" in ln]
        assert len(mine) == 1, (case.name, mine)
        assert mine[0].startswith("   FAILED ")
        assert re.fullmatch(
            r"   FAILED " + re.escape(f"{folder}/{case.name}: ") + case.message, mine[0]
        ), mine[0]
    docs = json.loads(CliRunner().invoke(cli, ["docs", "--json"]).stdout)
    names = {Path(d["source"]).name for d in docs}
    assert names == {"good review.txt", *expected}
    # The index is whole and searchable despite the failures.
    found = CliRunner().invoke(cli, ["search", "bruising referral", "--mode", "keyword", "--json"])
    assert found.exit_code == 0 and json.loads(found.stdout)


def test_cli_accepts_a_file_name_with_a_leading_dash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("-rf.txt").write_text(GOOD_TEXT)
    monkeypatch.setenv("SCRSEARCH_MODEL", "hash-64")
    result = CliRunner().invoke(cli, ["ingest", "--", "-rf.txt"])
    assert result.exit_code == 0, result.output
    assert Path("-rf.txt").exists()
    docs = json.loads(CliRunner().invoke(cli, ["docs", "--json"]).stdout)
    assert [Path(d["source"]).name for d in docs] == ["-rf.txt"]


def test_a_file_that_crashes_its_reader_does_not_stop_the_batch(
    tmp_path: Path, hash_embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    import scrsearch.ingestion.pipeline as pipeline

    folder = tmp_path / "in"
    folder.mkdir()
    good = _good(folder)
    evil = folder / "evil.txt"
    evil.write_text("Anything at all, long enough to be read as text by the reader.")
    real = pipeline.extract

    def flaky(path: Path, **kwargs):  # type: ignore[no-untyped-def]
        if path.name == "evil.txt":
            raise RecursionError("maximum recursion depth exceeded")
        return real(path, **kwargs)

    monkeypatch.setattr(pipeline, "extract", flaky)
    report = ingest([folder], config=load_config(), embedder=hash_embedder)
    status = {r.path: r for r in report.results}
    assert status[str(good)].status == "indexed"
    assert status[str(evil)].message == (
        f"{evil}: could not be read (RecursionError: maximum recursion depth exceeded); "
        "check the file opens in its usual program"
    )


def test_ocr_failing_on_a_page_is_a_warning_not_a_crash(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    text = text_pdf(tmp_path / "text.pdf", 3)
    scan = image_pdf(tmp_path / "scan.pdf", ["A scanned page"])
    writer = PdfWriter()
    for page in [*PdfReader(text).pages, *PdfReader(scan).pages]:
        writer.add_page(page)
    writer.write(tmp_path / "mixed.pdf")

    def broken_ocr(path: Path, number: int) -> str:
        raise RuntimeError("tesseract crashed")

    result = extract(tmp_path / "mixed.pdf", ocr=broken_ocr)
    assert [p.number for p in result.pages] == [1, 2, 3, 4]
    assert result.warnings == (
        f"{tmp_path / 'mixed.pdf'}: OCR failed on page 4 (tesseract crashed)",
    )
    assert not result.ocr


def test_a_pdf_with_thousands_of_pages_is_read_in_bounded_memory(tmp_path: Path) -> None:
    """2000 pages: every page indexed with its number, peak memory growth bounded."""
    big = text_pdf(tmp_path / "big.pdf", 2000)
    small = text_pdf(tmp_path / "small.pdf", 30)
    script = f"""
import resource, sys
from pathlib import Path
from scrsearch import HashEmbedder, load_config
from scrsearch.ingestion.pipeline import ingest
emb = HashEmbedder()
ingest([Path({str(small)!r})], config=load_config(index={str(tmp_path / "i1")!r}), embedder=emb)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
report = ingest([Path({str(big)!r})], config=load_config(index={str(tmp_path / "i2")!r}), embedder=emb)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
r = report.results[0]
print(r.status, r.pages, r.passages, (after - before) // 1024)
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    status, pages, passages, growth_mb = out.stdout.split()
    assert (status, int(pages)) == ("indexed", 2000)
    assert int(passages) > 100
    assert int(growth_mb) < 150, f"reading 2000 pages grew memory by {growth_mb} MB"
    index = Index.open(tmp_path / "i2")
    conn = index.conn()
    numbers = [r[0] for r in conn.execute("SELECT number FROM pages ORDER BY number")]
    assert numbers == list(range(1, 2001))
    last = conn.execute("SELECT MAX(page_end) FROM chunks").fetchone()[0]
    assert last == 2000


# --- safety of what is stored and shown ------------------------------------------


def test_numpy_never_loads_pickles() -> None:
    """No module of the library lets numpy unpickle a data file.

    ruff's security rules (S, and TID251's banned pickle, shelve, joblib and torch.load:
    see pyproject.toml) catch pickle, eval, exec and unsafe YAML; they cannot see a
    keyword argument, so this one is looked for here.
    """
    offenders = [
        f"{path.name}:{n}: {line.strip()}"
        for path in sorted(SRC.rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"allow_pickle\s*=\s*True", line)
    ]
    assert offenders == []


def test_cli_shows_hostile_titles_as_plain_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    title = "[bold red]Injected[/] [link=file:///etc]x[/link] [/] \x1b[31mred"
    (tmp_path / "hostile.html").write_text(
        f"<html><head><title>{title}</title></head><body><article>"
        "<p>[blink]markup in the body[/blink] of a review about the strategy meeting.</p>"
        "</article></body></html>"
    )
    monkeypatch.setenv("SCRSEARCH_MODEL", "hash-64")
    runner = CliRunner()
    assert runner.invoke(cli, ["ingest", str(tmp_path / "hostile.html")]).exit_code == 0
    listing = runner.invoke(cli, ["docs"])
    assert listing.exit_code == 0, listing.output
    assert "[bold red]Injected[/]" in listing.stdout.replace("\n", "")
    found = runner.invoke(cli, ["search", "markup strategy meeting", "--mode", "keyword"])
    assert found.exit_code == 0, found.output
    assert "[bold red]Injected[/]" in found.stdout  # shown, not obeyed
    assert "blink" in found.stdout
    assert "\x1b[31m" not in found.stdout + listing.stdout

"""scrsearch.ingestion.library: corrections, removal and uploads, each in a new index generation."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from scrsearch import Index, Searcher, load_config
from scrsearch.cli import cli
from scrsearch.errors import IndexNotFoundError, NotFoundError
from scrsearch.index import store
from scrsearch.index.generations import read_manifest
from scrsearch.ingestion.library import (
    MetadataError,
    UploadRejectedError,
    add_uploads,
    check_upload,
    correct_metadata,
    documents,
    open_review,
    remove_document,
    sanitise_name,
    save_upload,
)
from scrsearch.ingestion.pipeline import ingest

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
FILES = [
    CORPUS / "george-briefing.txt",
    CORPUS / "westmere-2018-7-minute-briefing-escalation.txt",
    CORPUS / "oxley-moor-2019-learning-briefing-child-p.md",
]
GOOD = (
    b"Serious Case Review: Child Q\nPublished: 2021\n\nLessons\n"
    b"1. Practitioners should use the escalation policy when a plan is closed too early.\n"
    b"2. New information shared in a core group meeting must lead to a review of the plan.\n"
)


@pytest.fixture
def hash_index(tmp_path: Path, hash_embedder) -> Path:
    index = tmp_path / "index"
    report = ingest(FILES, config=load_config(index=str(index)), embedder=hash_embedder)
    assert not report.failed
    return index


def doc_id(index: Path, name: str) -> int:
    doc = store.get_document(Index.open(index).conn(), name)
    assert doc is not None
    return doc.doc_id


def test_correction_makes_a_new_generation_and_survives_reingest(
    hash_index: Path, hash_embedder
) -> None:
    before = read_manifest(hash_index)
    george = doc_id(hash_index, "george-briefing.txt")
    doc = correct_metadata(
        hash_index, george, {"year": "2019", "partnership": " Cumbria SCP ", "review_type": "SCR"}
    )
    assert (doc.metadata.year, doc.metadata.partnership, doc.metadata.review_type) == (
        2019,
        "Cumbria SCP",
        "scr",
    )
    after = read_manifest(hash_index)
    assert after.generation > before.generation and after.counts == before.counts
    # Readers of the new generation see it, in SQLite and through search filters.
    index = Index.open(hash_index)
    assert store.get_document(index.conn(), george).metadata.year == 2019
    searcher = Searcher(index, embedder=hash_embedder)
    from scrsearch import Filters

    hits = searcher.search("escalation", filters=Filters(partnership="cumbria scp"))
    assert hits and {h.document.doc_id for h in hits} == {george}
    # The file changes and is ingested again: the correction is kept.
    copy = hash_index.parent / "again" / "george-briefing.txt"
    copy.parent.mkdir()
    copy.write_text(FILES[0].read_text() + "\nA new closing line.\n")
    conn = sqlite3.connect(hash_index / after.sqlite_name)
    conn.execute("UPDATE documents SET source = ? WHERE id = ?", (str(copy.resolve()), george))
    conn.execute("UPDATE corrections SET source = ?", (str(copy.resolve()),))
    conn.commit()
    conn.close()
    report = ingest([copy], config=load_config(index=str(hash_index)), embedder=hash_embedder)
    assert report.by_status("replaced")
    meta = store.get_document(Index.open(hash_index).conn(), "george-briefing.txt").metadata
    assert (meta.year, meta.partnership, meta.review_type) == (2019, "Cumbria SCP", "scr")


def test_a_correction_that_changes_nothing_publishes_nothing(hash_index: Path) -> None:
    george = doc_id(hash_index, "george-briefing.txt")
    year = store.get_document(Index.open(hash_index).conn(), george).metadata.year
    generation = read_manifest(hash_index).generation
    correct_metadata(hash_index, george, {"year": year})
    assert read_manifest(hash_index).generation == generation


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"year": "soon"}, "Year 'soon' is not a number"),
        ({"year": 1066}, "Year 1066 is out of range"),
        ({"review_type": "memo"}, "Unknown review type 'memo': use one of scr, cspr"),
        ({"nation": "france"}, "Unknown nation 'france'"),
        ({"source": "/etc/passwd"}, "Unknown metadata field 'source'"),
    ],
)
def test_bad_corrections_are_refused_with_the_fix(hash_index: Path, changes, message) -> None:
    generation = read_manifest(hash_index).generation
    with pytest.raises(MetadataError, match=message):
        correct_metadata(hash_index, 1, changes)
    assert read_manifest(hash_index).generation == generation


def test_blank_means_unknown(hash_index: Path) -> None:
    doc = correct_metadata(hash_index, 1, {"partnership": "  ", "year": None})
    assert doc.metadata.partnership is None and doc.metadata.year is None


def test_missing_index_and_document_name_the_fix(tmp_path: Path, hash_index: Path) -> None:
    with pytest.raises(IndexNotFoundError, match="scrsearch ingest corpus/"):
        correct_metadata(tmp_path / "none", 1, {"year": 2020})
    with pytest.raises(NotFoundError, match="No document 'nothing.pdf'.*scrsearch docs"):
        remove_document(hash_index, "nothing.pdf")


def test_remove_keeps_files_outside_the_index(hash_index: Path, hash_embedder) -> None:
    before = read_manifest(hash_index)
    removed = remove_document(hash_index, "george-briefing.txt")
    assert removed.title.startswith("Learning from Serious Case Review George")
    after = read_manifest(hash_index)
    assert after.generation > before.generation
    assert after.counts["documents"] == before.counts["documents"] - 1
    index = Index.open(hash_index)
    assert index.faiss.ntotal == after.counts["passages"]
    hits = Searcher(index, embedder=hash_embedder).search("George escalation policy", k=50)
    assert hits and all(h.document.doc_id != removed.doc_id for h in hits)
    assert FILES[0].exists()


def test_upload_names_are_sanitised() -> None:
    assert sanitise_name("../../etc/passwd.txt") == "passwd.txt"
    assert sanitise_name("C:\\Users\\me\\Child Q review (final).PDF") == "Child-Q-review-final.pdf"
    assert sanitise_name(".hidden.docx") == "hidden.docx"
    assert sanitise_name("Évaluation—bébé.html") == "Evaluation-bebe.html"
    assert sanitise_name("<script>.txt") == "script.txt"
    assert sanitise_name("....pdf") == "upload.pdf"


def test_uploads_are_checked_for_type_and_size(tmp_path: Path) -> None:
    with pytest.raises(UploadRejectedError, match=r"evil.exe: unsupported file type '.exe'"):
        check_upload("evil.exe", 10, max_mb=1)
    with pytest.raises(UploadRejectedError, match="the file is empty"):
        check_upload("a.pdf", 0, max_mb=1)
    with pytest.raises(UploadRejectedError, match="over the 1 MB limit"):
        check_upload("a.pdf", 2 * 1024 * 1024, max_mb=1)
    saved = save_upload(tmp_path / "index", "../../escape me.txt", b"text")
    assert saved.parent.parent == tmp_path / "index" / "uploads"
    assert saved.name == "escape-me.txt" and saved.read_bytes() == b"text"


def test_add_uploads_reports_each_file_and_keeps_only_the_good(
    hash_index: Path, hash_embedder
) -> None:
    outcomes, report = add_uploads(
        hash_index,
        [
            ("child-q-2021-scr.txt", GOOD),
            ("broken.pdf", b"this is not a pdf at all, just text with a pdf name"),
            ("notes.exe", b"MZ"),
            ("copy-of-george.txt", FILES[0].read_bytes()),
        ],
        embedder=hash_embedder,
    )
    good, broken, exe, duplicate = outcomes
    assert good.status == "indexed" and good.passages > 0 and good.path == "child-q-2021-scr.txt"
    assert broken.status == "failed" and broken.reason == "corrupt"
    assert broken.message.startswith("broken.pdf: not a PDF file")
    assert "uploads" not in broken.message
    assert (exe.status, exe.reason) == ("failed", "unsupported")
    assert duplicate.status == "duplicate"
    stored = [p for p in (hash_index / "uploads").rglob("*") if p.is_file()]
    assert [p.name for p in stored] == ["child-q-2021-scr.txt"]
    rows = {r.file_name: r for r in documents(Index.open(hash_index))}
    assert rows["child-q-2021-scr.txt"].uploaded and not rows["george-briefing.txt"].uploaded
    assert rows["child-q-2021-scr.txt"].document.metadata.year == 2021
    assert rows["child-q-2021-scr.txt"].sections.get("lessons", 0) >= 1
    # Removing an uploaded document deletes its file and folder.
    remove_document(hash_index, good.doc_id)
    assert not any((hash_index / "uploads").iterdir())


def test_open_review_marks_the_passage_on_its_page(hash_index: Path) -> None:
    review = open_review(Index.open(hash_index), "george-briefing.txt")
    assert review.learning and all(
        c.section in ("lessons", "recommendations") for c in review.learning
    )
    chunk = next(c for c in review.chunks if "escalation policy" in c.text)
    page = review.page_of(chunk)
    segments = review.page_segments(page, chunk)
    marked = [text for text, is_marked in segments if is_marked]
    assert marked == [chunk.text]
    assert "".join(text for text, _ in segments) == review.page(page).text
    assert review.file == FILES[0]


def test_cli_remove(hash_index: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["remove", "george-briefing.txt", "--index", str(hash_index)])
    assert result.exit_code == 0, result.output
    assert "Removed" in result.output and "George" in result.output
    again = runner.invoke(cli, ["remove", "george-briefing.txt", "--index", str(hash_index)])
    assert again.exit_code == 1 and "No document 'george-briefing.txt'" in again.stderr

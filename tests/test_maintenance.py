"""``scrsearch check`` finds what is wrong with an index and names the fix;
``scrsearch rebuild`` repairs it from stored data, without re-reading any document."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from scrsearch import load_config
from scrsearch.cli import cli
from scrsearch.errors import IndexCorruptError
from scrsearch.index.generations import MANIFEST, Index, read_manifest
from scrsearch.index.maintenance import check_index, rebuild_index
from scrsearch.ingestion.pipeline import ingest
from scrsearch.search.searcher import Searcher

REVIEWS = {
    "child-a.txt": "The health visitor saw bruising on the baby and made no referral.",
    "child-b.txt": "The school escalated concerns about neglect to children's social care.",
    "child-c.txt": "The police attended a domestic abuse incident; the children were present.",
    "child-d.txt": "The GP did not share information about the mother's mental health.",
    "child-e.txt": "The strategy meeting was not convened although the threshold was met.",
}
QUERIES = ["bruising baby", "neglect school", "domestic abuse police", "strategy meeting"]


@pytest.fixture
def index(tmp_path: Path, hash_embedder) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, text in REVIEWS.items():
        (folder / name).write_text(text + " " + text)
    report = ingest([folder], config=load_config(), embedder=hash_embedder)
    assert not report.failed
    return load_config().index_dir


def answers(index: Path, embedder) -> list:  # type: ignore[no-untyped-def]
    searcher = Searcher.open(index, config=load_config(), embedder=embedder)
    return [
        [(h.chunk.chunk_id, round(h.score, 5)) for h in searcher.search(q, k=5, mode=mode)]
        for q in QUERIES
        for mode in ("semantic", "keyword", "hybrid")
    ]


def current(index: Path, suffix: str) -> Path:
    manifest = read_manifest(index)
    assert manifest is not None
    return index / (manifest.sqlite_name if suffix == "sqlite" else manifest.faiss_name)


def test_a_healthy_index_checks_ok(index: Path) -> None:
    report = check_index(index)
    assert report.ok and report.problems == ()
    assert report.counts == {"documents": 5, "pages": 5, "passages": 5}
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == 0
    assert result.output == (
        f"OK: {index} generation {report.generation}, 5 documents, 5 passages.\n"
    )


def test_missing_faiss_file_is_found_and_rebuilt(index: Path, hash_embedder) -> None:
    before = answers(index, hash_embedder)
    generation = read_manifest(index).generation  # type: ignore[union-attr]
    current(index, "faiss").unlink()
    with pytest.raises(IndexCorruptError, match="scrsearch rebuild"):
        Index.open(index)
    [problem] = check_index(index).errors
    assert problem.what == f"the FAISS file {current(index, 'faiss')} is missing."
    assert problem.fix == f"scrsearch rebuild --index {index}"
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == 1
    assert result.output == f"ERROR: {problem}\n"

    rebuilt = CliRunner().invoke(cli, ["rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert rebuilt.output == (
        f"Rebuilt {index} as generation {generation + 1} (flat FAISS index): "
        "5 documents, 5 passages.\n"
    )
    assert check_index(index).ok
    assert answers(index, hash_embedder) == before


def test_rebuild_never_reads_documents_again(
    index: Path, hash_embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import scrsearch.ingestion.extract
    import scrsearch.ingestion.pipeline

    before = answers(index, hash_embedder)
    for path in (tmp_path / "corpus").iterdir():
        path.unlink()  # the sources are gone

    def forbidden(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("rebuild must not extract or embed")

    monkeypatch.setattr(scrsearch.ingestion.pipeline, "extract", forbidden)
    monkeypatch.setattr(scrsearch.ingestion.extract, "extract", forbidden)
    monkeypatch.setattr(type(hash_embedder), "embed_batch", forbidden)
    old = read_manifest(index)
    report = rebuild_index(index)
    assert report.manifest.generation == old.generation + 1  # type: ignore[union-attr]
    assert not report.recovered_older
    monkeypatch.undo()
    assert answers(index, hash_embedder) == before


def test_corrupt_faiss_file(index: Path, hash_embedder) -> None:
    before = answers(index, hash_embedder)
    path = current(index, "faiss")
    path.write_bytes(b"not a faiss index at all" * 10)
    [problem] = check_index(index).errors
    assert problem.what.startswith(f"the FAISS file {path} is unreadable (")
    rebuild_index(index)
    assert check_index(index).ok and answers(index, hash_embedder) == before


def test_faiss_count_not_matching_the_rows(index: Path, hash_embedder) -> None:
    import faiss

    conn = sqlite3.connect(current(index, "sqlite"))
    ids, vectors = zip(*conn.execute("SELECT id, embedding FROM chunks LIMIT 3"), strict=True)
    short = faiss.IndexIDMap2(faiss.IndexFlatIP(64))
    short.add_with_ids(
        np.vstack([np.frombuffer(v, dtype=np.float32) for v in vectors]), np.array(ids)
    )
    faiss.write_index(short, str(current(index, "faiss")))
    [problem] = check_index(index).errors
    assert problem.what == "the FAISS file holds 3 vectors but the database has 5 passages."
    rebuild_index(index)
    assert check_index(index).ok


def test_faiss_ids_not_matching_the_rows(index: Path) -> None:
    import faiss

    conn = sqlite3.connect(current(index, "sqlite"))
    rows = conn.execute("SELECT id, embedding FROM chunks").fetchall()
    shifted = faiss.IndexIDMap2(faiss.IndexFlatIP(64))
    shifted.add_with_ids(
        np.vstack([np.frombuffer(r[1], dtype=np.float32) for r in rows]),
        np.array([r[0] + 100 for r in rows]),
    )
    faiss.write_index(shifted, str(current(index, "faiss")))
    assert [p.what for p in check_index(index).errors] == [
        "the FAISS ids do not match the passages in the database."
    ]


def test_ivf_index_ids_are_checked_too(tmp_path: Path, hash_embedder) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    words = "neglect bruising school police referral strategy mother baby nursery GP".split()
    for i in range(60):
        picked = " ".join(words[(i + j) % len(words)] for j in range(6))
        (folder / f"r{i:02d}.txt").write_text(f"Review {i}: the {picked} were noted. " * 3)
    config = load_config(exact_search_max=10)
    ingest([folder], config=config, embedder=hash_embedder)
    assert read_manifest(config.index_dir).faiss_kind == "ivf-sq8"  # type: ignore[union-attr]
    assert check_index(config.index_dir).ok
    before = answers(config.index_dir, hash_embedder)
    rebuild_index(config.index_dir, config=config)
    assert check_index(config.index_dir).ok
    assert answers(config.index_dir, hash_embedder) == before


def test_keyword_index_out_of_step_is_found_and_rebuilt(index: Path, hash_embedder) -> None:
    before = answers(index, hash_embedder)
    conn = sqlite3.connect(current(index, "sqlite"))
    with conn:
        conn.execute("DELETE FROM chunks_fts WHERE rowid IN (SELECT id FROM chunks LIMIT 2)")
    conn.close()
    [problem] = check_index(index).errors
    assert problem.what == "the keyword index holds 3 passages but the database has 5 (2 missing)."
    rebuild_index(index)
    assert check_index(index).ok
    assert answers(index, hash_embedder) == before


@pytest.mark.parametrize("damage", ["missing", "garbage"])
def test_lost_manifest_is_rebuilt_with_the_model_named(
    index: Path, hash_embedder, damage: str
) -> None:
    before = answers(index, hash_embedder)
    if damage == "missing":
        (index / MANIFEST).unlink()
    else:
        (index / MANIFEST).write_text('{"generation": ')
    [problem] = check_index(index).errors
    assert (
        problem.fix
        == f"scrsearch rebuild --index {index} --model MODEL (the model the index was built with)"
    )
    runner = CliRunner()
    refused = runner.invoke(cli, ["rebuild"])
    assert refused.exit_code == 1
    assert refused.output == (
        f"Error: {index / MANIFEST} is lost, so the model is unknown: run "
        f"scrsearch rebuild --index {index} --model MODEL\n"
    )
    done = runner.invoke(cli, ["rebuild", "--model", "hash-64"])
    assert done.exit_code == 0, done.output
    assert check_index(index).ok
    assert answers(index, hash_embedder) == before


def test_damaged_database_recovers_the_previous_generation(
    index: Path, hash_embedder, tmp_path: Path
) -> None:
    before = answers(index, hash_embedder)
    extra = tmp_path / "later.txt"
    extra.write_text("A later review about the nursery and the housing officer. " * 3)
    ingest([extra], config=load_config(), embedder=hash_embedder)
    previous = read_manifest(index).generation - 1  # type: ignore[union-attr]
    path = current(index, "sqlite")
    data = bytearray(path.read_bytes())
    data[100 : len(data) - 100] = b"\xff" * (len(data) - 200)  # wreck every page but the header
    path.write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError, match=r"is unreadable \(.+\)\. Run `scrsearch check"):
        Index.open(index)
    [problem] = check_index(index).errors
    assert problem.what.startswith(f"{path} is damaged (")
    assert problem.fix == (
        f"scrsearch rebuild --index {index} (recovers generation {previous}; "
        "then run your last ingest again)"
    )
    result = CliRunner().invoke(cli, ["rebuild"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        f"The current database was damaged or missing: recovered generation {previous}."
    )
    assert check_index(index).ok
    assert answers(index, hash_embedder) == before  # as it was before the later ingest
    again = ingest([extra], config=load_config(), embedder=hash_embedder)
    assert again.results[0].status == "indexed"


def test_no_intact_database_says_to_reingest(index: Path) -> None:
    for path in index.glob("g*.sqlite"):
        path.write_bytes(b"\x00" * 4096)
    with pytest.raises(IndexCorruptError, match=r"--rebuild$"):
        rebuild_index(index)


def test_leftovers_of_a_crash_are_warnings(index: Path) -> None:
    (index / "g999999.sqlite").write_bytes(b"partial")
    (index / "manifest.json.tmp").write_text("{")
    report = check_index(index)
    assert report.ok
    [warning] = report.warnings
    assert warning.what == (
        "files left by an interrupted write: g999999.sqlite, manifest.json.tmp (harmless)."
    )
    result = CliRunner().invoke(cli, ["check", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["ok"] is True and data["problems"][0]["severity"] == "warning"
    rebuild_index(index)
    assert check_index(index).problems == ()


# --- deleting leaves nothing behind ------------------------------------------------


def test_replaced_text_leaves_no_trace_in_the_index_files(tmp_path: Path, hash_embedder) -> None:
    doc = tmp_path / "doc.txt"
    doc.write_text("The zebracorn family was known to children's social care. " * 30)
    (tmp_path / "other.txt").write_text("A review about the nursery and the housing officer. " * 30)
    config = load_config()
    ingest([doc, tmp_path / "other.txt"], config=config, embedder=hash_embedder)
    doc.write_text("Replaced: the health visitor and the school nurse met. " * 30)
    report = ingest([doc], config=config, embedder=hash_embedder)
    assert report.results[0].status == "replaced"
    data = current(config.index_dir, "sqlite").read_bytes()
    assert b"zebracorn" not in data
    assert b"housing officer" in data  # the control: stored text is findable this way


def test_removing_a_document_deletes_its_text_and_its_fetched_copy(
    tmp_path: Path, hash_embedder
) -> None:
    """``remove`` leaves no copy of the text: not in the current generation, and with
    keep_previous=False not in the previous one; a fetched copy is deleted too."""
    from scrsearch.index.housekeeping import FETCHED_DIR
    from scrsearch.index.transaction import write_transaction
    from scrsearch.ingestion.fetch import FetchedFile

    config = load_config()
    secret = tmp_path / "secret.txt"
    secret.write_text("The zebracorn family was known to children's social care. " * 30)
    (tmp_path / "other.txt").write_text("A review about the nursery and the housing officer. " * 30)
    ingest([secret, tmp_path / "other.txt"], config=config, embedder=hash_embedder)
    # Make the secret look fetched: a stored copy the document refers to.
    copy = config.index_dir / FETCHED_DIR / "abc" / "secret.txt"
    copy.parent.mkdir(parents=True)
    copy.write_text(secret.read_text())
    fetched = FetchedFile("https://x.test/s", "https://x.test/s", copy, "text/plain", "", 1, "")
    conn = sqlite3.connect(current(config.index_dir, "sqlite"))
    with conn:
        conn.execute(
            "UPDATE documents SET extra = ? WHERE source = ?",
            (json.dumps(fetched.metadata(config.index_dir)), str(secret.resolve())),
        )
    conn.close()
    from scrsearch.index import store

    with write_transaction(config.index_dir, config=config) as tx:
        conn = tx.begin()
        doc = store.find_by_source(conn, str(secret.resolve()))
        with conn:
            store.delete_document(conn, doc.doc_id)  # type: ignore[union-attr]
        tx.publish(keep_previous=False)
    files = sorted(p.name for p in config.index_dir.iterdir() if p.suffix in (".sqlite", ".faiss"))
    assert len(files) == 2  # only the new generation
    for path in config.index_dir.rglob("*"):
        if path.is_file():
            assert b"zebracorn" not in path.read_bytes(), path
    assert not copy.exists() and not copy.parent.exists()
    assert check_index(config.index_dir).ok


def test_remove_then_rebuild_leaves_no_copy_of_the_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The steps docs/SECURITY.md gives for deleting a document, run as written."""
    (tmp_path / "secret.txt").write_text("The zebracorn family was known to social care. " * 30)
    (tmp_path / "other.txt").write_text("A review about the nursery and the housing officer. " * 30)
    monkeypatch.setenv("SCRSEARCH_MODEL", "hash-64")
    runner = CliRunner()
    assert runner.invoke(cli, ["ingest", str(tmp_path)]).exit_code == 0
    index = load_config().index_dir
    removed = runner.invoke(cli, ["remove", "secret.txt"])
    assert removed.exit_code == 0, removed.output
    assert any(b"zebracorn" in p.read_bytes() for p in index.glob("g*.sqlite"))  # the fallback
    rebuilt = runner.invoke(cli, ["rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    for path in index.rglob("*"):
        if path.is_file():
            assert b"zebracorn" not in path.read_bytes(), path
    assert json.loads(runner.invoke(cli, ["docs", "--json"]).stdout)[0]["source"].endswith(
        "other.txt"
    )

"""Ingestion: incremental by content hash, duplicates, pruning, bad input, atomic swaps."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from pdfgen import make_pdf
from scrsearch import HashEmbedder, Index, Searcher, ingest, load_config
from scrsearch.cli import cli
from scrsearch.errors import ModelMismatchError
from scrsearch.index.generations import read_manifest


def write_docs(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "one.txt").write_text(
        "Serious Case Review: Child A\n\nFindings\n1. The escalation policy was not used.\n"
    )
    (folder / "two.md").write_text(
        "# Learning briefing: Baby Q\n\n## Lessons\n1. Check the new partner's history.\n"
    )
    make_pdf(
        folder / "three.pdf",
        ["Background\nThe family moved often.", "Findings\nThe plan closed too early."],
    )
    return folder


def run(paths, index: Path, embedder, **kw):
    return ingest(paths, config=load_config(index=str(index)), embedder=embedder, **kw)


def test_first_ingest_then_unchanged_files_are_skipped(tmp_path: Path, hash_embedder) -> None:
    docs = write_docs(tmp_path / "docs")
    index = tmp_path / "idx"
    first = run([docs], index, hash_embedder)
    assert first.summary()["indexed"] == 3 and first.published
    generation = read_manifest(index).generation
    second = run([docs], index, hash_embedder)
    assert second.summary()["unchanged"] == 3 and second.summary()["indexed"] == 0
    assert not second.published and read_manifest(index).generation == generation


def test_extract_progress_reaches_its_total_whatever_each_file_does(
    tmp_path: Path, hash_embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every file ticks the extract bar once: unchanged, duplicate, unreadable, failed
    and new files alike, so the bar ends full."""
    import errno

    import scrsearch.ingestion.pipeline as pipeline

    docs = write_docs(tmp_path / "docs")
    index = tmp_path / "idx"
    run([docs], index, hash_embedder)
    shutil.copy(docs / "one.txt", docs / "one-again.txt")  # duplicate
    (docs / "empty.txt").write_bytes(b"")  # failed
    (docs / "fake.pdf").write_text("not really a pdf")  # failed
    (docs / "locked.txt").write_text("A review nobody may read.")  # unreadable
    (docs / "new.txt").write_text("The nursery raised a concern about the child's weight.")
    real = pipeline.file_sha256

    def sha(path: Path) -> str:
        if path.name == "locked.txt":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(pipeline, "file_sha256", sha)
    events: list[tuple[str, int, int]] = []
    report = run([docs], index, hash_embedder, progress=lambda *e: events.append(e))
    statuses = sorted(r.status for r in report.results)
    assert statuses == sorted(
        ["unchanged"] * 3 + ["duplicate", "failed", "failed", "failed", "indexed"]
    )
    ticks = [(done, total) for stage, done, total in events if stage == "extract"]
    n = len(report.results)
    assert ticks == [(i, n) for i in range(1, n + 1)]


def test_changed_file_is_replaced_not_duplicated(tmp_path: Path, hash_embedder) -> None:
    docs = write_docs(tmp_path / "docs")
    index = tmp_path / "idx"
    run([docs], index, hash_embedder)
    (docs / "one.txt").write_text(
        "Serious Case Review: Child A\n\nFindings\n1. Supervision was missing.\n"
    )
    report = run([docs], index, hash_embedder)
    assert report.summary()["replaced"] == 1 and report.summary()["unchanged"] == 2
    searcher = Searcher.open(index, config=load_config(index=str(index)), embedder=hash_embedder)
    assert searcher.search("escalation policy", mode="keyword") == []
    hits = searcher.search("supervision", mode="keyword")
    assert len(hits) == 1 and hits[0].document.source.endswith("one.txt")
    assert Index.open(index).manifest.counts["documents"] == 3


def test_duplicate_content_under_another_name_is_indexed_once(
    tmp_path: Path, hash_embedder
) -> None:
    docs = write_docs(tmp_path / "docs")
    shutil.copy(docs / "one.txt", docs / "one copy.txt")
    report = run([docs], tmp_path / "idx", hash_embedder)
    dupes = report.by_status("duplicate")
    assert len(dupes) == 1 and "same content as" in dupes[0].message
    assert report.counts["documents"] == 3


def test_prune_drops_documents_whose_files_are_gone(tmp_path: Path, hash_embedder) -> None:
    docs = write_docs(tmp_path / "docs")
    index = tmp_path / "idx"
    run([docs], index, hash_embedder)
    (docs / "two.md").unlink()
    kept = run([docs], index, hash_embedder)
    assert kept.counts["documents"] == 3 or read_manifest(index).counts["documents"] == 3
    pruned = run([docs], index, hash_embedder, prune=True)
    assert [r.path for r in pruned.by_status("removed")] == [str((docs / "two.md").resolve())]
    assert read_manifest(index).counts["documents"] == 2


def test_bad_files_are_reported_and_the_rest_indexed(tmp_path: Path, monkeypatch) -> None:
    docs = write_docs(tmp_path / "docs")
    (docs / "empty.txt").write_bytes(b"")
    (docs / "fake.pdf").write_text("not really a pdf")
    (docs / "notes.xyz").write_text("unsupported")
    monkeypatch.setenv("SCRSEARCH_MODEL", "hash-64")
    result = CliRunner().invoke(
        cli, ["ingest", str(docs), "--index", str(tmp_path / "idx"), "--json"]
    )
    assert result.exit_code == 1
    data = json.loads(result.stdout[result.stdout.index("{") :])
    by_name = {Path(f["path"]).name: f for f in data["files"]}
    assert by_name["empty.txt"]["status"] == "failed" and by_name["empty.txt"]["reason"] == "empty"
    assert (
        by_name["fake.pdf"]["reason"] == "corrupt" and "not a PDF" in by_name["fake.pdf"]["message"]
    )
    assert by_name["notes.xyz"]["status"] == "skipped"
    assert data["summary"]["indexed"] == 3


def test_cli_prints_one_line_per_failure(tmp_path: Path, monkeypatch) -> None:
    docs = write_docs(tmp_path / "docs")
    (docs / "empty.txt").write_bytes(b"")
    monkeypatch.setenv("SCRSEARCH_MODEL", "hash-64")
    result = CliRunner().invoke(cli, ["ingest", str(docs), "--index", str(tmp_path / "idx")])
    assert result.exit_code == 1
    failed = [ln for ln in result.stdout.splitlines() if "FAILED" in ln]
    assert len(failed) == 1 and "empty.txt" in failed[0] and "empty (0 bytes)" in failed[0]
    assert "3 new" in result.stdout and "1 failed" in result.stdout


class ExplodingEmbedder(HashEmbedder):
    def embed_batch(self, texts):  # noqa: ANN001, ANN201
        raise RuntimeError("power cut")


def test_a_crash_mid_ingest_leaves_the_previous_index_intact(tmp_path: Path, hash_embedder) -> None:
    docs = write_docs(tmp_path / "docs")
    index = tmp_path / "idx"
    run([docs], index, hash_embedder)
    before = Searcher.open(index, config=load_config(index=str(index)), embedder=hash_embedder)
    expected = [h.to_dict() for h in before.search("plan closed too early")]
    (docs / "four.txt").write_text(
        "Learning briefing\n\nLessons\n1. A brand new lesson about drift.\n"
    )
    with pytest.raises(RuntimeError, match="power cut"):
        run([docs], index, ExplodingEmbedder(64, 128))
    after = Searcher.open(index, config=load_config(index=str(index)), embedder=hash_embedder)
    assert [h.to_dict() for h in after.search("plan closed too early")] == expected
    assert sorted(p.name for p in index.glob("g*")) == sorted(
        {f"g{read_manifest(index).generation:06d}.{e}" for e in ("sqlite", "faiss")}
    )
    assert run([docs], index, hash_embedder).summary()["indexed"] == 1


def test_changing_model_needs_rebuild(tmp_path: Path, hash_embedder) -> None:
    docs = write_docs(tmp_path / "docs")
    index = tmp_path / "idx"
    run([docs], index, hash_embedder)
    with pytest.raises(ModelMismatchError, match="--rebuild"):
        run([docs], index, HashEmbedder(32))
    report = run([docs], index, HashEmbedder(32), rebuild=True)
    assert report.summary()["indexed"] == 3
    assert read_manifest(index).model == "hash-32" and read_manifest(index).dimension == 32


def test_ingest_adds_to_an_index_with_its_own_model_unless_one_is_chosen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = write_docs(tmp_path / "docs")
    index = tmp_path / "idx"
    run([docs], index, HashEmbedder(32))
    (docs / "later.txt").write_text("Review of Child Z\n\nThe plan was closed too early.\n")
    report = ingest([docs], config=load_config(index=str(index)))  # no model chosen
    assert report.summary()["indexed"] == 1 and read_manifest(index).model == "hash-32"
    rebuilt = ingest([docs], config=load_config(index=str(index)), rebuild=True)
    assert rebuilt.summary()["indexed"] == 4 and read_manifest(index).model == "hash-32"
    monkeypatch.setenv("SCRSEARCH_MODEL", "hash-64")
    with pytest.raises(ModelMismatchError, match="chosen model is 'hash-64' \\(64 dims\\)"):
        ingest([docs], config=load_config(index=str(index)))
    ingest([docs], config=load_config(index=str(index)), rebuild=True)  # chosen: a new model
    assert read_manifest(index).model == "hash-64"


def test_stored_vectors_match_the_faiss_index(tmp_path: Path, hash_embedder) -> None:
    from scrsearch.index import store

    docs = write_docs(tmp_path / "docs")
    index = tmp_path / "idx"
    run([docs], index, hash_embedder)
    idx = Index.open(index)
    ids, vectors = next(store.iter_vectors(idx.conn()))
    assert idx.faiss.ntotal == len(ids) == idx.manifest.counts["passages"]
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    scores, found = idx.faiss.search(vectors[:1], 1)
    assert found[0][0] == ids[0] and scores[0][0] == pytest.approx(1.0, abs=1e-5)


def test_pdf_passages_cite_their_pages(tmp_path: Path, hash_embedder) -> None:
    docs = write_docs(tmp_path / "docs")
    index = tmp_path / "idx"
    run([docs], index, hash_embedder)
    searcher = Searcher.open(index, config=load_config(index=str(index)), embedder=hash_embedder)
    hit = searcher.search("plan closed too early", mode="keyword")[0]
    assert hit.document.source.endswith("three.pdf")
    assert (hit.chunk.page_start, hit.chunk.page_end) == (2, 2)
    assert hit.chunk.section == "findings"

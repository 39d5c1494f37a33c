"""The write transaction: a change is published whole, or nothing is left of it."""

from __future__ import annotations

import fcntl
from pathlib import Path

import pytest

from scrsearch import load_config
from scrsearch.errors import IndexCorruptError
from scrsearch.index import generations, store
from scrsearch.index.generations import MANIFEST, Index, read_manifest
from scrsearch.index.maintenance import check_index
from scrsearch.index.transaction import write_transaction
from scrsearch.ingestion.pipeline import ingest


@pytest.fixture
def index(tmp_path: Path, hash_embedder) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name in ("a", "b", "c"):
        (folder / f"{name}.txt").write_text(f"Review {name}: the health visitor saw the baby. " * 5)
    ingest([folder], config=load_config(), embedder=hash_embedder)
    return load_config().index_dir


def files(index: Path) -> set[str]:
    return {p.name for p in index.iterdir()}


def lock_is_free(index: Path) -> bool:
    with (index / ".lock").open("w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(fh, fcntl.LOCK_UN)
        return True


def test_published_change_becomes_current_with_the_current_model(index: Path) -> None:
    before = read_manifest(index)
    assert before is not None
    with write_transaction(index) as tx:
        conn = tx.begin()
        doc = store.get_document(conn, "a.txt")
        assert doc is not None
        with conn:
            store.delete_document(conn, doc.doc_id)
        published = tx.publish()
    assert read_manifest(index) == published
    assert published.generation > before.generation
    assert (published.model, published.dimension) == (before.model, before.dimension)
    assert published.counts["documents"] == before.counts["documents"] - 1
    assert check_index(index).ok
    assert lock_is_free(index)


def test_leaving_without_publishing_drops_the_generation(index: Path) -> None:
    before, names = read_manifest(index), files(index)
    with write_transaction(index) as tx:
        conn = tx.begin()
        with conn:
            conn.execute("DELETE FROM chunks")
    assert read_manifest(index) == before
    assert files(index) == names
    assert lock_is_free(index)


def test_an_error_drops_the_generation_and_frees_the_lock(index: Path) -> None:
    before, names = read_manifest(index), files(index)
    with pytest.raises(RuntimeError, match="boom"), write_transaction(index) as tx:
        conn = tx.begin()
        with conn:
            conn.execute("DELETE FROM chunks")
        raise RuntimeError("boom")
    assert read_manifest(index) == before
    assert files(index) == names
    assert lock_is_free(index)


def test_an_error_after_the_swap_keeps_the_published_generation(
    index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the manifest names the new generation, its files must not be dropped."""

    def fails(*args: object, **kwargs: object) -> None:
        raise OSError("disk trouble while tidying")

    monkeypatch.setattr(generations, "remove_stale_generations", fails)
    before = read_manifest(index)
    assert before is not None
    with pytest.raises(OSError, match="tidying"), write_transaction(index) as tx:
        tx.begin()
        tx.publish()
    now = read_manifest(index)
    assert now is not None and now.generation > before.generation
    opened = Index.open(index)
    assert opened.faiss.ntotal == opened.manifest.counts["passages"]


def test_a_broken_manifest_is_refused_unless_recovering(index: Path) -> None:
    (index / MANIFEST).write_text('{"generation": ')
    with pytest.raises(IndexCorruptError), write_transaction(index):
        pass
    with write_transaction(index, recover=True) as tx:
        assert tx.current is None and tx.manifest_broken
        tx.begin(copy_of=max(generations.generation_numbers(index)))
        tx.publish(model="hash-64", dimension=64)
    assert (index / (MANIFEST + ".broken")).exists()
    assert check_index(index).ok


def test_a_new_index_must_name_its_model(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="model"), write_transaction(tmp_path / "new") as tx:
        tx.begin()
        tx.publish()
    assert read_manifest(tmp_path / "new") is None
    assert not [p for p in (tmp_path / "new").iterdir() if p.suffix == ".sqlite"]

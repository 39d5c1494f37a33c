"""The ONNX Runtime int8 backend: the same vector space as torch, a cache that exports once.

The fast tests need neither the model nor onnxruntime. The slow ones export the packaged
all-MiniLM-L6-v2 once per session into a tmp cache and compare it with the torch backend.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import GEORGE
from scrsearch import load_config
from scrsearch.config import DEFAULT_MODEL
from scrsearch.embed.hashing import HashEmbedder
from scrsearch.embed.registry import load_embedder
from scrsearch.errors import ModelLoadError, ScrsearchError

ODD_TEXTS = [
    "",
    "   ",
    "café naïve — “quoted” 😀 中文 don't",
    "ALL CAPS and  double  spaces\n\ttabs",
    "word " * 400,  # longer than the model reads: truncated the same way
]


def briefing_passages(n: int = 20) -> list[str]:
    """``n`` consecutive pieces of the George briefing, of about 25 words each."""
    words = GEORGE.read_text(encoding="utf-8").split()
    size = max(len(words) // n, 5)
    return [" ".join(words[i * size : (i + 1) * size]) for i in range(n)]


# --- fast: no model --------------------------------------------------------------------


def test_unknown_backend_names_the_valid_ones() -> None:
    with pytest.raises(ScrsearchError) as info:
        load_embedder(DEFAULT_MODEL, backend="nope")
    assert str(info.value) == (
        "Unknown embedding backend 'nope': use one of torch, onnx "
        "(the backend setting, env SCRSEARCH_BACKEND)"
    )


def test_the_test_embedder_ignores_the_backend() -> None:
    assert isinstance(load_embedder("hash-16", backend="onnx"), HashEmbedder)


def test_backend_setting_defaults_to_torch_and_reads_the_environment(monkeypatch) -> None:
    assert load_config().backend == "torch"
    monkeypatch.setenv("SCRSEARCH_BACKEND", "onnx")
    assert load_config().backend == "onnx"
    assert load_config(backend="torch").backend == "torch"


def test_missing_onnxruntime_names_the_fix(monkeypatch) -> None:
    from scrsearch.embed.onnx import OnnxEmbedder

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails
    with pytest.raises(ModelLoadError) as info:
        OnnxEmbedder(DEFAULT_MODEL)
    assert str(info.value) == (
        "The onnx backend needs onnxruntime, which is not installed: "
        "run `pip install -e '.[onnx]'` in the project, or use the torch backend"
    )


def test_mean_pooling_ignores_padding_and_gives_unit_vectors() -> None:
    from scrsearch.embed.onnx import mean_pool_normalise

    tokens = np.array(
        [[[3.0, 4.0], [3.0, 4.0], [100.0, -100.0]], [[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]],
        dtype=np.float32,
    )
    mask = np.array([[1, 1, 0], [1, 1, 1]])
    out = mean_pool_normalise(tokens, mask)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.6, 0.8], [2**-0.5, 2**-0.5]], rtol=1e-6)


def test_cache_key_follows_the_model_and_the_versions(monkeypatch, tmp_path: Path) -> None:
    from scrsearch.embed import onnx as embed_onnx

    model = tmp_path / "my model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    key = embed_onnx.cache_key(str(model), str(model))
    assert key.startswith("my-model-")
    assert embed_onnx.cache_key(str(model), str(model)) == key
    (model / "model.safetensors").write_text("new weights")
    assert embed_onnx.cache_key(str(model), str(model)) != key
    newer = embed_onnx.cache_key(str(model), str(model))
    monkeypatch.setattr(embed_onnx, "_version", lambda package: "99.0")
    assert embed_onnx.cache_key(str(model), str(model)) != newer


def test_cache_root_comes_from_the_environment(monkeypatch, tmp_path: Path) -> None:
    from scrsearch.embed.onnx import cache_root

    monkeypatch.delenv("SCRSEARCH_ONNX_CACHE", raising=False)
    assert cache_root() == Path.home() / ".cache" / "scrsearch" / "onnx"
    monkeypatch.setenv("SCRSEARCH_ONNX_CACHE", str(tmp_path))
    assert cache_root() == tmp_path
    assert cache_root(tmp_path / "x") == tmp_path / "x"


def test_a_new_export_prunes_older_exports_of_the_same_model(tmp_path: Path) -> None:
    from scrsearch.embed.onnx import META_FILE, prune_superseded

    def export(name: str, location: str | None) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        if location is not None:
            (folder / META_FILE).write_text(json.dumps({"location": location}))
        return folder

    current = export("all-MiniLM-L6-v2-bbbb", "/site/model")
    older = export("all-MiniLM-L6-v2-aaaa", "/site/model")  # older torch or recipe
    other_path = export("all-MiniLM-L6-v2-cccc", "/elsewhere/model")  # same name, other model
    other_model = export("paraphrase-MiniLM-dddd", "/site/model")  # another slug
    unfinished = export(".all-MiniLM-L6-v2-bbbb-tmp1", "/site/model")  # an export under way
    no_meta = export("all-MiniLM-L6-v2-eeee", None)

    assert prune_superseded(current, "/site/model") == [older]
    left = {p.name for p in tmp_path.iterdir()}
    assert left == {p.name for p in (current, other_path, other_model, unfinished, no_meta)}


# --- slow: the real model ----------------------------------------------------------------


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")
    pytest.importorskip("onnx", reason="the onnx extra is not installed")
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="session")
def onnx_embedder(onnx_cache: Path):
    from scrsearch.embed.onnx import OnnxEmbedder

    embedder = OnnxEmbedder(DEFAULT_MODEL, cache_dir=onnx_cache)
    assert embedder.exported
    return embedder


@pytest.mark.slow
def test_onnx_vectors_are_close_to_torch(onnx_embedder, real_embedder) -> None:
    texts = briefing_passages(20)
    onnx = onnx_embedder.embed_documents(texts, batch_size=8)
    torch = real_embedder.embed_documents(texts, batch_size=8)
    cosines = (onnx * torch).sum(axis=1)
    assert cosines.mean() >= 0.97, cosines
    assert cosines.min() >= 0.9, cosines
    # Texts past max_seq_length are cut where torch cuts them.
    whole = GEORGE.read_text(encoding="utf-8")
    long_texts = [whole, whole[len(whole) // 2 :]]
    assert all(real_embedder.count_tokens(t) > 300 for t in long_texts)
    cosines = (onnx_embedder.embed_batch(long_texts) * real_embedder.embed_batch(long_texts)).sum(1)
    assert (cosines >= 0.97).all(), cosines
    query = "the risk from the father was not shared between agencies"
    assert float(onnx_embedder.embed_query(query) @ real_embedder.embed_query(query)) >= 0.95


@pytest.mark.slow
def test_onnx_vectors_are_unit_float32_in_input_order(onnx_embedder) -> None:
    texts = briefing_passages(20) + ODD_TEXTS
    vectors = onnx_embedder.embed_documents(texts, batch_size=7)  # sorted, then restored
    assert vectors.dtype == np.float32 and vectors.shape == (len(texts), 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # Activations are quantised per batch, so a vector moves a little with its batch-mates
    # (cosine ~0.99; ~0.95 for an empty text among long ones): check order, not equality.
    passages = texts[:20]
    one_by_one = np.stack([onnx_embedder.embed_batch([t])[0] for t in passages])
    similarity = vectors[:20] @ one_by_one.T
    assert (similarity.argmax(axis=1) == np.arange(20)).all()
    assert (np.diag(similarity) > 0.97).all()
    assert onnx_embedder.embed_query("neglect").shape == (384,)
    assert onnx_embedder.embed_batch([]).shape == (0, 384)


@pytest.mark.slow
def test_onnx_counts_tokens_and_names_the_model_as_torch(onnx_embedder, real_embedder) -> None:
    for text in briefing_passages(20) + ODD_TEXTS:
        assert onnx_embedder.count_tokens(text) == real_embedder.count_tokens(text), text
    assert onnx_embedder.name == real_embedder.name == DEFAULT_MODEL
    assert onnx_embedder.dimension == real_embedder.dimension
    assert onnx_embedder.max_tokens == real_embedder.max_tokens
    assert onnx_embedder.backend == "onnx"


@pytest.mark.slow
def test_a_second_construction_reuses_the_cache(onnx_embedder, onnx_cache, monkeypatch) -> None:
    from scrsearch.embed import onnx as embed_onnx

    model_file = onnx_embedder.folder / embed_onnx.MODEL_FILE
    before = model_file.stat().st_mtime_ns

    def no_export(*args, **kwargs):
        raise AssertionError("the cached model was exported again")

    monkeypatch.setattr(embed_onnx, "export_model", no_export)
    monkeypatch.setenv("SCRSEARCH_ONNX_CACHE", str(onnx_cache))
    again = load_embedder(DEFAULT_MODEL, backend="onnx")
    assert isinstance(again, embed_onnx.OnnxEmbedder) and not again.exported
    assert again.folder == onnx_embedder.folder
    assert model_file.stat().st_mtime_ns == before
    assert [p.name for p in onnx_cache.iterdir()] == [onnx_embedder.folder.name]  # no temp left
    text = briefing_passages(1)[0]
    np.testing.assert_array_equal(again.embed_query(text), onnx_embedder.embed_query(text))


def damage(folder: Path, how: str) -> None:
    if how == "truncated model":
        data = (folder / "model.onnx").read_bytes()
        (folder / "model.onnx").write_bytes(data[: len(data) // 2])
    elif how == "missing model":
        (folder / "model.onnx").unlink()
    elif how == "garbled tokenizer":  # the checksum still matches: loading fails instead
        (folder / "tokenizer.json").write_text("{not json")
    elif how == "missing meta":
        (folder / "meta.json").unlink()


@pytest.mark.slow
@pytest.mark.parametrize("how", ["missing model", "garbled tokenizer", "missing meta"])
def test_a_damaged_cache_is_rebuilt(onnx_embedder, tmp_path: Path, monkeypatch, how) -> None:
    """Damage a copy of the cache; a stand-in export (a copy of the good files) counts rebuilds."""
    from scrsearch.embed import onnx as embed_onnx

    cache = tmp_path / "cache"
    folder = cache / onnx_embedder.folder.name
    shutil.copytree(onnx_embedder.folder, folder)
    damage(folder, how)
    rebuilds: list[Path] = []

    def copy_export(location: str, target: Path, name: str) -> dict:
        rebuilds.append(target)
        staging = cache / ".staging"
        shutil.copytree(onnx_embedder.folder, staging)
        embed_onnx._move_into_place(staging, target)
        return json.loads((target / embed_onnx.META_FILE).read_text())

    monkeypatch.setattr(embed_onnx, "export_model", copy_export)
    rebuilt = embed_onnx.OnnxEmbedder(DEFAULT_MODEL, cache_dir=cache)
    assert rebuilds == [folder] and rebuilt.exported
    assert sorted(os.listdir(cache)) == [folder.name]
    text = briefing_passages(1)[0]
    np.testing.assert_array_equal(rebuilt.embed_query(text), onnx_embedder.embed_query(text))


@pytest.mark.slow
def test_a_truncated_model_file_is_exported_again(onnx_embedder, tmp_path: Path) -> None:
    from scrsearch.embed.onnx import OnnxEmbedder

    folder = tmp_path / onnx_embedder.folder.name
    shutil.copytree(onnx_embedder.folder, folder)
    damage(folder, "truncated model")
    rebuilt = OnnxEmbedder(DEFAULT_MODEL, cache_dir=tmp_path)
    assert rebuilt.exported and rebuilt.folder == folder
    texts = briefing_passages(5)
    cosines = (rebuilt.embed_batch(texts) * onnx_embedder.embed_batch(texts)).sum(axis=1)
    assert (cosines > 0.999).all()


@pytest.mark.slow
def test_a_failed_export_leaves_no_folder_behind(onnx_cache, tmp_path: Path, monkeypatch) -> None:
    import onnxruntime.quantization

    from scrsearch.embed.onnx import OnnxEmbedder

    def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(onnxruntime.quantization, "quantize_dynamic", crash)
    with pytest.raises(ModelLoadError, match=r"Cannot export .* \(RuntimeError: disk full\)"):
        OnnxEmbedder(DEFAULT_MODEL, cache_dir=tmp_path / "cache")
    assert os.listdir(tmp_path / "cache") == []


@pytest.mark.slow
def test_cli_backend_option_ingests_with_onnx_and_torch_searches_the_same_index(
    onnx_embedder, onnx_cache: Path, tmp_path: Path, monkeypatch
) -> None:
    from click.testing import CliRunner

    from scrsearch.cli import cli
    from scrsearch.index.generations import read_manifest

    monkeypatch.setenv("SCRSEARCH_ONNX_CACHE", str(onnx_cache))
    monkeypatch.delenv("SCRSEARCH_BACKEND", raising=False)  # restored after the test
    index = tmp_path / "idx"
    runner = CliRunner()
    done = runner.invoke(cli, ["--backend", "onnx", "ingest", str(GEORGE), "--index", str(index)])
    assert done.exit_code == 0, done.output
    assert os.environ["SCRSEARCH_BACKEND"] == "onnx"
    manifest = read_manifest(index)
    assert manifest is not None and manifest.model == DEFAULT_MODEL  # one vector space
    query = "new information was shared at a meeting but the plan did not change"
    ranks = {}
    for backend in ("onnx", "torch"):
        args = ["--backend", backend, "search", query, "--index", str(index), "--json", "-k", "3"]
        found = runner.invoke(cli, args)
        assert found.exit_code == 0, found.output
        hits = json.loads(found.stdout)
        ranks[backend] = [h["chunk_id"] for h in hits]
        assert hits and hits[0]["method"] == "hybrid"
        assert "meeting" in " ".join(h["text"].lower() for h in hits)
    # Vectors from either runtime rank the index's passages (nearly) alike.
    assert ranks["onnx"][0] in ranks["torch"]

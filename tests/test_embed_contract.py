"""The embedder contract: one abstract method, and one registry of backends."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from scrsearch.embed import registry
from scrsearch.embed.base import Embedder
from scrsearch.embed.hashing import HashEmbedder


class Recording(Embedder):
    """Implements only ``embed_batch``; records each batch it is given."""

    name = "recording"
    dimension = 8
    max_tokens = 100
    query_prefix = "q: "
    document_prefix = "d: "

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.inner = HashEmbedder(self.dimension)

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        self.batches.append(list(texts))
        return self.inner.embed_batch(texts)


def test_embed_batch_is_the_only_abstract_method() -> None:
    assert Embedder.__abstractmethods__ == frozenset({"embed_batch"})


def test_queries_are_embedded_after_the_query_prompt() -> None:
    embedder = Recording()
    vector = embedder.embed_query("neglect")
    assert embedder.batches == [["q: neglect"]]
    np.testing.assert_array_equal(vector, embedder.inner.embed_batch(["q: neglect"])[0])


def test_documents_go_longest_first_in_batches_and_come_back_in_order() -> None:
    embedder = Recording()
    texts = ["a", "ccc", "bb", "dddd", "ee"]
    done: list[int] = []
    vectors = embedder.embed_documents(texts, batch_size=2, progress=done.append)
    assert embedder.batches == [["d: dddd", "d: ccc"], ["d: bb", "d: ee"], ["d: a"]]
    assert done == [2, 2, 1]
    expected = embedder.inner.embed_batch(["d: " + t for t in texts])
    np.testing.assert_array_equal(vectors, expected)
    assert embedder.embed_documents([]).shape == (0, 8)


def test_an_empty_prompt_embeds_the_texts_as_given() -> None:
    embedder = Recording()
    embedder.embed_prompted(["x", "y"], "")
    assert embedder.batches == [["x", "y"]]


def test_a_registered_backend_is_loaded_by_name(monkeypatch) -> None:
    monkeypatch.setattr(registry, "_LOADERS", dict(registry._LOADERS))
    loaded: list[str] = []

    @registry.register_backend("recording")
    def load(model: str) -> Embedder:
        loaded.append(model)
        return Recording()

    assert isinstance(registry.load_embedder("some-model", "recording"), Recording)
    assert loaded == ["some-model"]
    with pytest.raises(ValueError, match="'torch' is registered twice"):
        registry.register_backend("torch")(load)


def test_the_built_in_backends_are_registered() -> None:
    assert registry.BACKENDS == ("torch", "onnx")

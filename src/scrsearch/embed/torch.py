"""The torch backend: a sentence-transformers model, loaded offline.

``sentence_transformers`` (and so torch) is imported when an embedder is made, never
when this module is, so that ``scrsearch --help`` needs no torch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..config import DEFAULT_MODEL
from ..errors import ModelLoadError
from .base import Embedder, canonical_model_name, model_prefixes, resolve_model, set_offline


class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model, loaded offline.

    Attributes:
        model: the loaded ``SentenceTransformer``.
        tokenizer: its tokenizer, which counts word pieces.
    """

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
        return self._encode(texts, None)

    def embed_prompted(self, texts: Sequence[str], prompt: str) -> np.ndarray:
        # sentence-transformers adds the prompt itself, so that a model whose pooling
        # leaves the prompt's tokens out (``include_prompt: false``) is run as trained.
        return self._encode(texts, prompt or None)

    def _encode(self, texts: Sequence[str], prompt: str | None) -> np.ndarray:
        vectors = self.model.encode(
            list(texts),
            prompt=prompt,
            batch_size=max(len(texts), 1),
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

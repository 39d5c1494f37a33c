"""One registry of embedding backends: each name maps to the loader of its embedder.

A backend is added here and nowhere else: a loader that takes the model name and
returns an :class:`~scrsearch.embed.base.Embedder`, decorated with
``@register_backend("name")``. Its heavy imports go inside the loader, so that importing
the registry (as the CLI does for its ``--backend`` choices) loads no model runtime.
:data:`BACKENDS` and :func:`load_embedder` then know it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..config import DEFAULT_MODEL
from ..errors import ScrsearchError

if TYPE_CHECKING:
    from .base import Embedder

Loader = Callable[[str], "Embedder"]

_LOADERS: dict[str, Loader] = {}


def register_backend(name: str) -> Callable[[Loader], Loader]:
    """Register the decorated function as the loader of the backend ``name``.

    Raises:
        ValueError: ``name`` is already registered.
    """

    def register(loader: Loader) -> Loader:
        if name in _LOADERS:
            raise ValueError(f"The embedding backend '{name}' is registered twice")
        _LOADERS[name] = loader
        return loader

    return register


@register_backend("torch")
def _load_torch(model: str) -> Embedder:
    """sentence-transformers on torch: the default."""
    from .torch import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(model)


@register_backend("onnx")
def _load_onnx(model: str) -> Embedder:
    """The same model run by ONNX Runtime with int8 weights: the same vector space."""
    from .onnx import OnnxEmbedder

    return OnnxEmbedder(model)


#: Embedding runtimes, as registered above; the same model gives the same vector space
#: under each, so an index built with one is searched with another.
BACKENDS: tuple[str, ...] = tuple(_LOADERS)


def load_embedder(model: str = DEFAULT_MODEL, backend: str = "torch") -> Embedder:
    """Load an embedder by name. ``hash-N`` gives the test embedder of N dimensions.

    Args:
        model: a sentence-transformers name or local path, or ``hash-N``.
        backend: one of :data:`BACKENDS`: ``torch`` (default) or ``onnx`` (int8 ONNX
            Runtime; the same vector space).

    Raises:
        ScrsearchError: ``backend`` is not a registered backend.
        ModelLoadError: the model (or, for ``onnx``, onnxruntime) cannot be loaded.
    """
    loader = _LOADERS.get(backend)
    if loader is None:
        raise ScrsearchError(
            f"Unknown embedding backend '{backend}': use one of {', '.join(_LOADERS)} "
            "(the backend setting, env SCRSEARCH_BACKEND)"
        )
    match = re.fullmatch(r"hash-(\d+)", model)
    if match:
        from .hashing import HashEmbedder

        return HashEmbedder(int(match.group(1)))
    return loader(model)

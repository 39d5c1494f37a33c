"""The ONNX Runtime backend: the same model, exported once and quantised to int8.

The first use of a model exports its transformer with ``torch.onnx.export``, quantises
the weights to int8 (``onnxruntime.quantization.quantize_dynamic``) and saves the
result, the tokenizer and a ``meta.json`` in a cache folder. Later uses load only the
tokenizer and the int8 file: no torch model. The vectors live in the same space as
the torch backend's (cosine about 0.99 to them), so an index built with one backend
is searched with the other.

The pipeline is that of sentence-transformers models made of Transformer, mean
Pooling and (optionally) Normalize, such as all-MiniLM-L6-v2: tokenise with the
model's tokenizer and its ``max_seq_length``, run the transformer, average the token
vectors over the attention mask, divide by the L2 norm.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ModelLoadError
from .base import Embedder, canonical_model_name, model_prefixes, resolve_model, set_offline

if TYPE_CHECKING:
    from .torch import SentenceTransformerEmbedder

#: Bump when the export or quantisation recipe changes: old cache folders are then unused.
RECIPE = "st-mean-int8-per-channel-v2"
CACHE_ENV = "SCRSEARCH_ONNX_CACHE"
MODEL_FILE = "model.onnx"
META_FILE = "meta.json"
INSTALL_HINT = "run `pip install -e '.[onnx]'` in the project, or use the torch backend"
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")

logger = logging.getLogger(__name__)


class OnnxEmbedder(Embedder):
    """A sentence-transformers model run by ONNX Runtime with int8 weights, offline.

    Attributes:
        backend: always ``"onnx"``.
        folder: the cache folder holding ``model.onnx``, the tokenizer and ``meta.json``.
        exported: whether this construction exported the model (``False``: cache reused).
    """

    backend = "onnx"

    def __init__(
        self, model: str, cache_dir: str | Path | None = None, threads: int | None = None
    ) -> None:
        """Load ``model``, exporting it into the cache on first use.

        Args:
            model: a sentence-transformers name or local path, as for the torch backend.
            cache_dir: the cache root; default ``$SCRSEARCH_ONNX_CACHE`` or
                ``~/.cache/scrsearch/onnx``.
            threads: ONNX Runtime intra-op threads; default the physical CPU cores.

        Raises:
            ModelLoadError: onnxruntime is missing, or the model cannot be loaded or exported.
        """
        set_offline()
        ort = _import("onnxruntime")
        location = resolve_model(model)
        self.name = canonical_model_name(model)
        self.folder = cache_root(cache_dir) / cache_key(location, self.name)
        self.exported = False
        meta = _read_valid(self.folder)
        if meta is not None:
            try:
                self._open(ort, meta, threads)
                return
            except Exception as exc:  # noqa: BLE001 - a damaged cache fails in many ways
                logger.warning("Rebuilding the ONNX cache %s (%s)", self.folder, exc)
                shutil.rmtree(self.folder, ignore_errors=True)
        meta = self._export(location)
        try:
            self._open(ort, meta, threads)
        except Exception as exc:  # noqa: BLE001
            raise ModelLoadError(
                f"The ONNX model exported to {self.folder} does not load "
                f"({type(exc).__name__}: {exc}). Use the torch backend."
            ) from exc

    def _open(self, ort: Any, meta: dict[str, Any], threads: int | None) -> None:
        """Start the ONNX Runtime session and the tokenizers of a cache folder."""
        self.session = _session(ort, self.folder / MODEL_FILE, threads)
        self.tokenizer, self.batch_tokenizer = _tokenizers(self.folder, meta)
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.dimension = int(meta["dimension"])
        self.max_seq_length = int(meta["max_seq_length"])
        self.max_tokens = self.max_seq_length - 2  # [CLS] and [SEP], as the torch backend
        self.lower_case = bool(meta.get("do_lower_case", False))
        default_query, default_document = model_prefixes(self.name)
        self.query_prefix = str(meta.get("query_prefix", default_query))
        self.document_prefix = str(meta.get("document_prefix", default_document))

    def _export(self, location: str) -> dict[str, Any]:
        try:
            meta = export_model(location, self.folder, self.name)
        except ModelLoadError:
            raise
        except Exception as exc:  # noqa: BLE001 - torch's exporter fails in many ways
            raise ModelLoadError(
                f"Cannot export '{self.name}' to ONNX ({type(exc).__name__}: {exc}). "
                "Use the torch backend."
            ) from exc
        self.exported = True
        prune_superseded(self.folder, location)
        return meta

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        batch = [t.lower() for t in texts] if self.lower_case else list(texts)
        encodings = self.batch_tokenizer.encode_batch(batch)
        fields = {
            "input_ids": "ids",
            "attention_mask": "attention_mask",
            "token_type_ids": "type_ids",
        }
        feeds = {
            name: np.array([getattr(e, fields[name]) for e in encodings], dtype=np.int64)
            for name in self.input_names
        }
        (tokens,) = self.session.run(["token_embeddings"], feeds)
        return mean_pool_normalise(tokens, feeds["attention_mask"])


def mean_pool_normalise(tokens: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    """Average token vectors over the attention mask, then L2-normalise (as sentence-transformers).

    Args:
        tokens: ``(batch, seq, dim)`` token embeddings.
        attention_mask: ``(batch, seq)`` ones for real tokens, zeros for padding.
    """
    mask = attention_mask[..., None].astype(np.float32)
    summed = (tokens.astype(np.float32) * mask).sum(axis=1)
    mean = summed / np.clip(mask.sum(axis=1), 1e-9, None)
    norms = np.clip(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12, None)
    return np.ascontiguousarray(mean / norms, dtype=np.float32)


def cache_root(cache_dir: str | Path | None = None) -> Path:
    """The cache root: ``cache_dir``, else ``$SCRSEARCH_ONNX_CACHE``, else ``~/.cache/...``."""
    if cache_dir is None:
        cache_dir = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "scrsearch" / "onnx"
    return Path(cache_dir).expanduser()


def cache_key(location: str, name: str) -> str:
    """The cache subfolder of one model under this torch and onnxruntime.

    The hash covers the resolved model path, the torch and onnxruntime versions, the recipe
    and the size and modification time of the model folder's files, so that new weights
    at the same path are exported afresh.
    """
    path = Path(location)
    files = (
        sorted(
            (f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in path.iterdir() if f.is_file()
        )
        if path.is_dir()
        else []
    )
    identity = {
        "location": str(path.resolve()) if path.exists() else location,
        "torch": _version("torch"),
        "onnxruntime": _version("onnxruntime"),
        "recipe": RECIPE,
        "files": files,
    }
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(name).name).strip("-.") or "model"
    return f"{slug}-{digest}"


def export_model(location: str, folder: Path, name: str) -> dict[str, Any]:
    """Export, quantise and save the model at ``location`` into ``folder``; return its meta.

    The work happens in a temporary sibling folder that is renamed into place at the end,
    so a crash never leaves a half-written model where a later run would load it.

    Args:
        location: the resolved model (see :func:`scrsearch.embed.base.resolve_model`).
        folder: the cache folder to create.
        name: the canonical model name, recorded in the meta.

    Raises:
        ModelLoadError: onnx or onnxruntime is missing, the model does not load, or it is
            not Transformer + mean Pooling (+ Normalize) with a fast tokenizer.
    """
    _import("onnx")  # needed by torch.onnx.export and by the quantiser
    quantization = _import("onnxruntime.quantization")
    # The torch backend loads the model to export; it never imports this module back.
    from .torch import SentenceTransformerEmbedder

    started = time.perf_counter()
    torch_embedder = SentenceTransformerEmbedder(location)
    _check_pipeline(torch_embedder.model, location)
    tokenizer = torch_embedder.tokenizer
    names = [n for n in _INPUTS if n in tokenizer.model_input_names]
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; the model is no secret
    try:
        fp32 = tmp / "fp32.onnx"
        with _quiet():
            _trace(torch_embedder.model, names, fp32)
            # Per-channel int8 weights: per-tensor ones (the default) lose accuracy on
            # AVX2 CPUs without VNNI (measured cosine to torch 0.953, per channel 0.992).
            quantization.quantize_dynamic(
                str(fp32),
                str(tmp / MODEL_FILE),
                weight_type=quantization.QuantType.QInt8,
                per_channel=True,
            )
        fp32.unlink()
        tokenizer.save_pretrained(str(tmp))
        if not (tmp / "tokenizer.json").is_file():
            raise ModelLoadError(
                f"The onnx backend needs a fast tokenizer (tokenizer.json), which '{location}' "
                "lacks. Use the torch backend."
            )
        meta = _export_meta(torch_embedder, name, location, names, tmp / MODEL_FILE)
        meta["export_seconds"] = round(time.perf_counter() - started, 2)
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2))
        _move_into_place(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return meta


def _trace(st_model: Any, names: list[str], path: Path) -> None:
    """Save the model's transformer to ``path`` as an fp32 ONNX graph of token vectors.

    Args:
        st_model: a sentence-transformers model whose first module is its Transformer.
        names: the tokenizer outputs the graph takes, in order (see ``_INPUTS``).
        path: the ``.onnx`` file to write.
    """
    import torch

    transformer = st_model[0].auto_model.train(False)  # inference mode: no dropout
    if hasattr(transformer, "set_attn_implementation"):
        # Plain attention exports to a graph ONNX Runtime runs faster than SDPA's.
        with contextlib.suppress(Exception):
            transformer.set_attn_implementation("eager")
    sample = st_model.tokenizer(
        ["A sample passage to trace the model with.", "Short."], padding=True, return_tensors="pt"
    )

    class _Wrapper(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = transformer

        def forward(self, *inputs: Any) -> Any:
            return self.model(**dict(zip(names, inputs, strict=True))).last_hidden_state

    axes = {n: {0: "batch", 1: "sequence"} for n in [*names, "token_embeddings"]}
    with torch.no_grad():
        torch.onnx.export(
            _Wrapper(),
            tuple(sample[n] for n in names),
            str(path),
            input_names=names,
            output_names=["token_embeddings"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )


def _export_meta(
    torch_embedder: SentenceTransformerEmbedder,
    name: str,
    location: str,
    names: list[str],
    model_file: Path,
) -> dict[str, Any]:
    """What :class:`OnnxEmbedder` needs to run the exported model as torch runs it.

    Args:
        torch_embedder: the torch model that was exported.
        name: the canonical model name.
        location: the resolved model.
        names: the graph's inputs.
        model_file: the int8 model, whose checksum is recorded.
    """
    tokenizer = torch_embedder.tokenizer
    return {
        "model": name,
        "location": location,
        "dimension": torch_embedder.dimension,
        "max_seq_length": torch_embedder.max_tokens + 2,
        "do_lower_case": bool(getattr(torch_embedder.model[0], "do_lower_case", False)),
        "query_prefix": torch_embedder.query_prefix,
        "document_prefix": torch_embedder.document_prefix,
        "inputs": names,
        "padding_side": tokenizer.padding_side,
        "truncation_side": tokenizer.truncation_side,
        "pad_id": int(tokenizer.pad_token_id),
        "pad_type_id": int(getattr(tokenizer, "pad_token_type_id", 0)),
        "pad_token": str(tokenizer.pad_token),
        "sha256": _sha256(model_file),
        "torch": _version("torch"),
        "onnxruntime": _version("onnxruntime"),
        "recipe": RECIPE,
    }


def _move_into_place(tmp: Path, folder: Path) -> None:
    """Rename the finished ``tmp`` to ``folder``, replacing a damaged one."""
    if folder.exists():
        if _read_valid(folder) is not None:
            return  # another process finished the same export first
        shutil.rmtree(folder, ignore_errors=True)
    try:
        tmp.rename(folder)
    except OSError:
        if _read_valid(folder) is None:
            raise


def prune_superseded(folder: Path, location: str) -> list[Path]:
    """Delete the cache's other exports of the model at ``location``; return them.

    They were made under another torch, onnxruntime, recipe or set of weight files
    (see :func:`cache_key`), so nothing will load them again. Exports of other models,
    and unfinished exports (hidden temp folders), are left alone.
    """
    slug = folder.name.rsplit("-", 1)[0]
    removed = []
    for other in sorted(folder.parent.glob(f"{slug}-*")):
        if other == folder or not other.is_dir():
            continue
        try:
            meta = json.loads((other / META_FILE).read_text())
        except (OSError, ValueError):
            continue
        if isinstance(meta, dict) and meta.get("location") == location:
            shutil.rmtree(other, ignore_errors=True)
            removed.append(other)
    return removed


def _read_valid(folder: Path) -> dict[str, Any] | None:
    """The folder's meta if its model file is complete and unchanged, else ``None``."""
    try:
        meta = json.loads((folder / META_FILE).read_text())
        if meta.get("recipe") == RECIPE and meta["sha256"] == _sha256(folder / MODEL_FILE):
            return dict(meta)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    return None


def _check_pipeline(st_model: Any, location: str) -> None:
    """Refuse models whose sentence-transformers pipeline this backend would not reproduce."""
    kinds = [type(module).__name__ for module in st_model]
    pooling: Any = st_model[1] if len(kinds) > 1 else None
    mode = getattr(pooling, "pooling_mode", None)
    if hasattr(pooling, "get_pooling_mode_str"):
        mode = pooling.get_pooling_mode_str()
    if (
        kinds[:2] != ["Transformer", "Pooling"]
        or mode != "mean"
        or kinds[2:] not in ([], ["Normalize"])
    ):
        raise ModelLoadError(
            f"The onnx backend supports Transformer + mean Pooling (+ Normalize) models, but "
            f"'{location}' is {' + '.join(kinds)} (pooling {mode}). Use the torch backend."
        )
    if not getattr(pooling, "include_prompt", True):
        raise ModelLoadError(
            f"The onnx backend averages every token, but '{location}' leaves its prompt's "
            "tokens out of the average (include_prompt: false). Use the torch backend."
        )


def _session(ort: Any, path: Path, threads: int | None) -> Any:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or physical_cores()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _tokenizers(folder: Path, meta: dict[str, Any]) -> tuple[Any, Any]:
    """The saved tokenizer twice: plain (to count), and truncating and padding (to embed).

    The ``tokenizers`` library reads the ``tokenizer.json`` that transformers saved, with the
    padding and truncation that the model's tokenizer applies, so loading needs no torch.
    """
    from tokenizers import Tokenizer

    plain = Tokenizer.from_file(str(folder / "tokenizer.json"))
    plain.no_truncation()
    plain.no_padding()
    batch = Tokenizer.from_file(str(folder / "tokenizer.json"))
    batch.enable_truncation(
        meta["max_seq_length"], strategy="longest_first", direction=meta["truncation_side"]
    )
    batch.enable_padding(
        direction=meta["padding_side"],
        pad_id=meta["pad_id"],
        pad_type_id=meta["pad_type_id"],
        pad_token=meta["pad_token"],
    )
    return plain, batch


def physical_cores() -> int:
    """Physical CPU cores this process may use (hyper-threads share a core's int8 units)."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    usable = usable or os.cpu_count() or 1
    cores: set[tuple[str, str]] = set()
    with contextlib.suppress(OSError):
        physical = core = ""
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "physical id":
                physical = value.strip()
            elif key.strip() == "core id":
                core = value.strip()
                cores.add((physical, core))
    return max(1, min(usable, len(cores) or usable))


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "missing"


def _import(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ModelLoadError(
            f"The onnx backend needs {module.split('.')[0]}, which is not installed: {INSTALL_HINT}"
        ) from exc


class _DropPreprocessHint(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the exporter's tracer warnings and the quantiser's pre-processing hint."""
    import warnings

    hint = _DropPreprocessHint()
    logging.getLogger().addFilter(hint)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.getLogger().removeFilter(hint)

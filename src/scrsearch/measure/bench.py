"""Measure speed and memory on this machine (``scrsearch bench``).

One run measures:

- **model**: loading the embedding model (including importing torch), the first
  query's embedding, and a warm query embedding.
- **extraction**: PDF pages per second through :func:`extract.extract` (pypdf).
- **ingest**: the real :func:`pipeline.ingest` into a temporary index, as passages
  per second of embedding and end to end, against a bare
  ``model.encode(texts, batch_size=32, normalize_embeddings=True)`` of exactly the
  same passage texts.
- **query** and **memory** at each size N: N synthetic passages (the ingested
  passages' vectors repeated with a small Gaussian perturbation, renormalised, and
  their texts repeated for FTS5) are written to a real index folder and published
  as ingest publishes (flat FAISS up to ``exact_search_max``, IVF-SQ8 above). A
  fresh process then times :meth:`Searcher.search` (k=10) per mode, with query
  vectors computed beforehand, and reports its own peak RSS. Recall@10 compares
  the top 10 with exact search: semantic against exact numpy search over the same
  vectors; the product's keyword ranking (first 50 queries) against BM25 over every
  query term, with no budget (see :meth:`Searcher._keyword_parts`); its hybrid
  ranking (first 50) against the fusion of those two exact rankings. Keyword and
  hybrid compare passage texts, because synthetic texts repeat.

Each size is built in one subprocess and queried in another
(:mod:`scrsearch.measure.bench_sizes`), so sizes do not contaminate each other's memory
figures.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Config, load_config
from ..embed.base import Embedder
from ..embed.registry import load_embedder
from ..errors import ScrsearchError

DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
FALLBACK_QUERIES = (
    "county lines drug running",
    "missed opportunities to share information between agencies",
    "safe sleeping advice for babies",
    "escalation when professionals disagree",
    "neglect and poor school attendance",
    "domestic abuse and coercive control",
    "child mental health waiting times",
    "voice of the child",
)

Log = Callable[[str], None]
ROOT = Path(__file__).resolve().parents[2]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def default_corpus() -> list[Path]:
    """PDFs to time: ``../shared/corpus-real`` beside the project if present, else ``corpus/``."""
    real = ROOT.parent / "shared" / "corpus-real"
    return [real if real.is_dir() else ROOT / "corpus"]


def default_queries() -> list[str]:
    """Query texts from the judged collections in ``tests/data``, else a built-in few."""
    texts: list[str] = []
    for path in sorted((ROOT / "tests" / "data").glob("qrels_*.json")):
        try:
            texts.extend(q["query"] for q in json.loads(path.read_text())["queries"])
        except (OSError, ValueError, KeyError):
            continue
    return list(dict.fromkeys(texts)) or list(FALLBACK_QUERIES)


def _status_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status (Linux), in MB."""
    with contextlib.suppress(OSError, IndexError, ValueError):
        status = Path("/proc/self/status").read_text()
        return int(status.split(field + ":")[1].split()[0]) / 1024
    return 0.0


def _rss_mb() -> float:
    return _status_mb("VmRSS")


def _peak_rss_mb() -> float:
    """This process's peak RSS since it started (exec).

    VmHWM, not ``ru_maxrss``: Linux carries ``ru_maxrss`` across exec, so a worker
    forked from a process holding the model would report the model's memory too.
    """
    return _status_mb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def machine() -> dict[str, Any]:
    cpu = platform.processor()
    with contextlib.suppress(OSError, IndexError):
        cpu = Path("/proc/cpuinfo").read_text().split("model name")[1].split(":", 1)[1]
        cpu = cpu.splitlines()[0].strip()
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


# --- the parts measured in this process ---------------------------------------


def measure_model(model: str, backend: str = "torch") -> tuple[Embedder, dict[str, Any]]:
    """Load the model and time it, then time a first and a warm query embedding."""
    rss = _rss_mb()
    t0 = time.perf_counter()
    embedder = load_embedder(model, backend)
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    embedder.embed_query("first query after loading")
    first = time.perf_counter() - t0
    warm = []
    for text in FALLBACK_QUERIES * 3:
        t0 = time.perf_counter()
        embedder.embed_query(text)
        warm.append(time.perf_counter() - t0)
    return embedder, {
        "name": embedder.name,
        "dimension": embedder.dimension,
        "load_s": round(load_s, 3),
        "first_query_ms": _ms(first),
        "embed_ms": _ms(statistics.median(warm)),
        "rss_mb": round(_rss_mb() - rss, 1),
    }


def measure_extraction(paths: Sequence[str | Path]) -> dict[str, Any]:
    """PDF pages per second through the product's extractor (pypdf; OCR off)."""
    from ..errors import ExtractionError
    from ..ingestion.extract import extract

    pdfs: list[Path] = []
    for raw in paths:
        path = Path(raw)
        pdfs.extend(sorted(path.rglob("*.pdf")) if path.is_dir() else [path])
    pdfs = [p for p in pdfs if p.suffix.lower() == ".pdf"]
    pages = failed = 0
    t0 = time.perf_counter()
    for pdf in pdfs:
        try:
            pages += len(extract(pdf).pages)
        except ExtractionError:
            failed += 1
    seconds = time.perf_counter() - t0
    return {
        "pdf_files": len(pdfs),
        "failed": failed,
        "pdf_pages": pages,
        "seconds": round(seconds, 3),
        "pages_per_s": round(pages / seconds, 1) if pages else 0.0,
    }


def measure_ingest(
    corpus: Sequence[str | Path], embedder: Embedder, config: Config, index_dir: Path
) -> dict[str, Any]:
    """Ingest ``corpus`` into ``index_dir``, then encode the same passages bare."""
    from ..index.generations import Index
    from ..ingestion.chunk import embedding_text
    from ..ingestion.pipeline import ingest

    report = ingest(
        list(corpus), config=config.with_overrides(index=str(index_dir)), embedder=embedder
    )
    passages = report.passages_added
    if not passages:
        raise ScrsearchError(
            f"The bench's ingest of {', '.join(map(str, corpus))} gave no passages"
        )
    conn = Index.open(index_dir).conn()
    texts = [
        embedding_text(r[0], r[1])
        for r in conn.execute("SELECT text, heading FROM chunks ORDER BY id")
    ]
    model = getattr(embedder, "model", None)
    t0 = time.perf_counter()
    if model is not None:
        raw = model.encode(
            texts,
            prompt=embedder.document_prefix or None,
            batch_size=32,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
    else:
        raw = embedder.embed_prompted(texts, embedder.document_prefix)
    raw_s = time.perf_counter() - t0
    pipeline_rate = passages / report.embed_seconds
    raw_rate = len(texts) / raw_s
    return measure_onnx(config.model, texts, np.asarray(raw), raw_rate) | {
        "documents": len(report.by_status("indexed")),
        "passages": passages,
        "seconds": round(report.seconds, 3),
        "embed_seconds": round(report.embed_seconds, 3),
        "passages_per_s": round(pipeline_rate, 1),
        "end_to_end_passages_per_s": round(passages / report.seconds, 1),
        "raw_encode_seconds": round(raw_s, 3),
        "raw_encode_passages_per_s": round(raw_rate, 1),
        "overhead_ratio": round(raw_rate / pipeline_rate, 3),
        "end_to_end_overhead_ratio": round(raw_rate * report.seconds / passages, 3),
    }


def measure_onnx(
    model: str, texts: Sequence[str], reference: np.ndarray, reference_rate: float
) -> dict[str, Any]:
    """The int8 ONNX backend on the same passages, beside the bare torch encode.

    Empty when the model is not a sentence-transformers model or onnxruntime is
    missing. Loading (and the one-off export into the cache) is timed apart.
    """
    from ..errors import ModelLoadError

    if model.startswith("hash-"):
        return {}
    try:
        t0 = time.perf_counter()
        onnx = load_embedder(model, "onnx")
        load_s = time.perf_counter() - t0
    except ModelLoadError as exc:
        _stderr(f"  onnx backend not measured: {exc}")
        return {}
    t0 = time.perf_counter()
    vectors = onnx.embed_documents(texts, batch_size=32)
    rate = len(texts) / (time.perf_counter() - t0)
    cosines = np.sum(vectors * reference, axis=1)
    return {
        "onnx_load_s": round(load_s, 3),
        "onnx_passages_per_s": round(rate, 1),
        "onnx_speedup": round(rate / reference_rate, 3),
        "onnx_cosine_mean": round(float(cosines.mean()), 4),
        "onnx_cosine_min": round(float(cosines.min()), 4),
    }


def _save_base(ingest_dir: Path, work: Path, embedder: Embedder, queries: Sequence[str]) -> None:
    """Write what the workers need: the real passages, their vectors and the query vectors."""
    from ..index.generations import Index

    index = Index.open(ingest_dir)
    rows = (
        index.conn()
        .execute(
            "SELECT c.text, c.heading, c.section, c.embedding, COALESCE(d.title, d.source) "
            "FROM chunks c JOIN documents d ON d.id = c.doc_id ORDER BY c.id"
        )
        .fetchall()
    )
    np.save(work / "base.npy", np.vstack([np.frombuffer(r[3], dtype=np.float32) for r in rows]))
    np.save(work / "queries.npy", embedder.embed_prompted(list(queries), embedder.query_prefix))
    meta = {
        "model": index.model,
        "dimension": index.manifest.dimension,
        "passages": [[r[0], r[1], r[2], r[4]] for r in rows],
        "queries": list(queries),
    }
    (work / "base.json").write_text(json.dumps(meta))


def _time_recurring(ingest_dir: Path, sizes: Sequence[int], log: Log) -> list[dict[str, Any]]:
    """Recurring-learning grouping timed on synthetic pools copied from the ingested lessons."""
    from ..index.generations import Index
    from ..themes.recurring import load_pool
    from .recurring_bench import time_grouping

    if not sizes:
        return []
    base = load_pool(Index.open(ingest_dir).conn())
    return time_grouping(base, sizes, log=log)


# --- the workers: one process builds a size, another queries it ---------------


def _run_worker(phase: str, work: Path, size: int, n_queries: int) -> dict[str, Any]:
    argv = [
        sys.executable,
        "-m",
        "scrsearch.measure.bench_sizes",
        phase,
        str(work),
        str(size),
        str(n_queries),
    ]
    done = subprocess.run(argv, stdout=subprocess.PIPE, text=True, check=False)  # noqa: S603 - this Python and our module
    if done.returncode != 0:
        raise ScrsearchError(
            f"The bench's {phase} worker for {size:,} passages failed (exit {done.returncode})"
        )
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the whole run -------------------------------------------------------------


def run_bench(
    *,
    sizes: Sequence[int] = DEFAULT_SIZES,
    queries: int = 200,
    corpus: Sequence[str | Path] | None = None,
    ingest_corpus: Sequence[str | Path] | None = None,
    config: Config | None = None,
    work_dir: str | Path | None = None,
    log: Log = _stderr,
    recurring_sizes: Sequence[int] = (10_000,),
) -> dict[str, Any]:
    """Measure everything; return one JSON-ready object (see the module docstring).

    ``recurring_sizes``: synthetic pools on which recurring-learning grouping is timed
    (:mod:`scrsearch.measure.recurring_bench`); 100,000 takes minutes here, so the
    default is one short size.
    """
    config = config or load_config()
    result: dict[str, Any] = {
        "machine": machine(),
        "config": {
            "exact_search_max": config.exact_search_max,
            "nprobe": config.nprobe,
            "keyword_budget": config.keyword_budget,
        },
    }
    log(f"Loading the model {config.model}")
    embedder, result["model"] = measure_model(config.model, config.backend)
    corpus = list(corpus or default_corpus())
    log(f"Extracting the PDFs of {', '.join(map(str, corpus))}")
    result["extraction"] = measure_extraction(corpus)
    texts = default_queries()
    if work_dir is not None:
        Path(work_dir).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="scrsearch-bench-", dir=work_dir) as tmp:
        work = Path(tmp)
        ingest_corpus = list(ingest_corpus or [ROOT / "corpus"])
        log(f"Ingesting {', '.join(map(str, ingest_corpus))}")
        result["ingest"] = measure_ingest(ingest_corpus, embedder, config, work / "ingest")
        _save_base(work / "ingest", work, embedder, texts)
        result["recurring"] = _time_recurring(work / "ingest", recurring_sizes, log)
        result["query"], result["memory"] = [], []
        for size in sizes:
            log(f"Size {size:,}: building")
            built = _run_worker("build", work, size, queries)
            log(f"Size {size:,}: querying ({queries} queries per mode)")
            timed = _run_worker("query", work, size, queries)
            result["query"].extend(timed["query"])
            keep = ("faiss_kind", "build_peak_rss_mb", "index_mb", "faiss_mb", "build_s")
            memory = {"passages": size, "peak_rss_mb": timed["peak_rss_mb"]}
            result["memory"].append(memory | {k: built[k] for k in keep})
            shutil.rmtree(work / f"index-{size}", ignore_errors=True)
    return result

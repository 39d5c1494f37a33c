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
  vectors; keyword (first 50 queries) against BM25 over every query term, with no
  budget (see :meth:`Searcher._keyword_parts`); hybrid (first 50) against the
  fusion of those two exact rankings.

Each size is built in one subprocess and queried in another, so sizes do not
contaminate each other's memory figures.
"""

from __future__ import annotations

import contextlib
import json
import math
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

from .config import Config, load_config
from .embed import Embedder, load_embedder
from .errors import ScrsearchError

DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
#: Norm of the Gaussian noise added to a repeated unit vector (cosine to it ~0.94).
NOISE = 0.35
#: Passages per synthetic document.
PER_DOC = 50
#: Passages generated and written per transaction.
BATCH = 20_000
#: Exact neighbours kept per query: search() ranks 100 passages per retriever for k=10.
TRUTH_DEPTH = 100
#: Queries checked against exact (unbudgeted) BM25, which is slow on large indexes.
EXACT_KEYWORD_QUERIES = 50
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


def measure_model(model: str) -> tuple[Embedder, dict[str, Any]]:
    """Load the model and time it, then time a first and a warm query embedding."""
    rss = _rss_mb()
    t0 = time.perf_counter()
    embedder = load_embedder(model)
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
    from .errors import ExtractionError
    from .extract import extract

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
    from .chunk import embedding_text
    from .index import Index
    from .pipeline import ingest

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
        model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
    else:
        embedder.embed_batch(texts)
    raw_s = time.perf_counter() - t0
    pipeline_rate = passages / report.embed_seconds
    raw_rate = len(texts) / raw_s
    return {
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


def _save_base(ingest_dir: Path, work: Path, embedder: Embedder, queries: Sequence[str]) -> None:
    """Write what the workers need: the real passages, their vectors and the query vectors."""
    from .index import Index

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
    np.save(work / "queries.npy", embedder.embed_batch(list(queries)))
    meta = {
        "model": index.model,
        "dimension": index.manifest.dimension,
        "passages": [[r[0], r[1], r[2], r[4]] for r in rows],
        "queries": list(queries),
    }
    (work / "base.json").write_text(json.dumps(meta))


# --- the workers: one process builds a size, another queries it ---------------


def build_size(work: Path, size: int, config: Config, log: Log = _stderr) -> dict[str, Any]:
    """Write ``size`` synthetic passages into a real index folder and publish it."""
    from . import store
    from .index import begin_generation, publish
    from .types import Metadata

    meta = json.loads((work / "base.json").read_text())
    base = np.load(work / "base.npy")
    queries = np.load(work / "queries.npy")
    passages = meta["passages"]
    dim = base.shape[1]
    rng = np.random.default_rng(size)
    index_dir = work / f"index-{size}"
    started = time.perf_counter()
    gen = begin_generation(index_dir, fresh=True)
    conn = gen.conn
    with conn:
        for doc in range(math.ceil(size / PER_DOC)):
            store.add_document(
                conn,
                source=f"/synthetic/doc-{doc:07d}.txt",
                sha256=f"{doc:064x}",
                fmt="text",
                paged=False,
                pages=[],
                metadata=Metadata(title=f"Synthetic review {doc}"),
                extracted_metadata=Metadata(),
                extra={},
                size=0,
            )
    best_s = np.full((len(queries), 0), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(queries), 0), dtype=np.int64)
    for start in range(0, size, BATCH):
        n = min(BATCH, size - start)
        # Real passages drawn at random, not in a cycle: IVF training samples every
        # k-th id, which would see only some of the passages of a periodic sequence.
        which = rng.integers(0, len(base), n)
        noise = rng.standard_normal((n, dim), dtype=np.float32) * (NOISE / math.sqrt(dim))
        vectors = base[which] + noise
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        ids = np.arange(start + 1, start + n + 1, dtype=np.int64)
        # Exact neighbours, kept as a running top-TRUTH_DEPTH per query.
        best_s = np.hstack([best_s, queries @ vectors.T])
        best_i = np.hstack([best_i, np.broadcast_to(ids, (len(queries), n))])
        if best_s.shape[1] > TRUTH_DEPTH:
            keep = np.argpartition(-best_s, TRUTH_DEPTH, axis=1)[:, :TRUTH_DEPTH]
            best_s = np.take_along_axis(best_s, keep, axis=1)
            best_i = np.take_along_axis(best_i, keep, axis=1)
        chosen = [passages[w] for w in which.tolist()]
        cids = ids.tolist()
        rows = [
            (c, (c - 1) // PER_DOC + 1, (c - 1) % PER_DOC, *p[:3], len(p[0]), v.tobytes())
            for c, p, v in zip(cids, chosen, vectors, strict=True)
        ]
        fts = [(c, p[0], p[1] or "", p[3]) for c, p in zip(cids, chosen, strict=True)]
        with conn:
            conn.executemany(
                "INSERT INTO chunks (id, doc_id, seq, text, heading, section, char_start, "
                "char_end, embedding) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)",
                rows,
            )
            conn.executemany(
                "INSERT INTO chunks_fts (rowid, text, heading, title) VALUES (?, ?, ?, ?)", fts
            )
        done = start + n
        if done % 100_000 == 0 or done == size:
            log(f"  [{size:,}] wrote {done:,} passages ({time.perf_counter() - started:.0f} s)")
    write_s = time.perf_counter() - started
    log(f"  [{size:,}] building FAISS and publishing")
    manifest = publish(
        gen,
        model=meta["model"],
        dimension=dim,
        exact_max=config.exact_search_max,
        nprobe=config.nprobe,
    )
    order = np.argsort(-best_s, axis=1, kind="stable")
    np.save(work / f"truth-{size}.npy", np.take_along_axis(best_i, order, axis=1))
    np.save(work / f"truth-scores-{size}.npy", np.take_along_axis(best_s, order, axis=1))
    files = [index_dir / manifest.sqlite_name, index_dir / manifest.faiss_name]
    return {
        "passages": size,
        "faiss_kind": manifest.faiss_kind,
        "write_s": round(write_s, 1),
        "build_s": round(time.perf_counter() - started, 1),
        "index_mb": round(sum(f.stat().st_size for f in files) / 1e6, 1),
        "faiss_mb": round(files[1].stat().st_size / 1e6, 1),
        "build_peak_rss_mb": round(_peak_rss_mb(), 1),
    }


class _Precomputed(Embedder):
    """Answers queries with vectors computed beforehand, so no model is loaded."""

    def __init__(self, name: str, vectors: dict[str, np.ndarray]) -> None:
        self.name = name
        self.dimension = len(next(iter(vectors.values())))
        self.max_tokens = 256
        self.vectors = vectors

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        return np.vstack([self.vectors[t] for t in texts])


def query_size(
    work: Path, size: int, n_queries: int, config: Config, log: Log = _stderr
) -> dict[str, Any]:
    """Time ``n_queries`` searches per mode over the size's index; check ANN recall."""
    from .index import Index
    from .search import MODES, Filters, Searcher

    meta = json.loads((work / "base.json").read_text())
    texts: list[str] = meta["queries"]
    vectors = np.load(work / "queries.npy")
    truth = np.load(work / f"truth-{size}.npy")
    truth_scores = np.load(work / f"truth-scores-{size}.npy")
    index = Index.open(work / f"index-{size}")
    searcher = Searcher(
        index,
        config=config,
        embedder=_Precomputed(index.model, dict(zip(texts, vectors, strict=True))),
    )
    rows = []
    for mode in MODES:
        for text in texts[:10]:  # warm up: page cache, SQLite statements
            searcher.search(text, k=10, mode=mode)
        times = []
        for i in range(n_queries):
            t0 = time.perf_counter()
            searcher.search(texts[i % len(texts)], k=10, mode=mode)
            times.append(time.perf_counter() - t0)
        rows.append(
            {
                "passages": size,
                "mode": mode,
                "queries": n_queries,
                "p50_ms": _ms(float(np.percentile(times, 50))),
                "p95_ms": _ms(float(np.percentile(times, 95))),
                "recall_at_10": None,
            }
        )
        log(
            f"  [{size:,}] {mode}: p50 {rows[-1]['p50_ms']:.1f} ms, p95 {rows[-1]['p95_ms']:.1f} ms"
        )
    log(f"  [{size:,}] recall@10 against exact search")
    # Exact keyword search: BM25 over every query term, with no budget.
    exact_searcher = Searcher(
        index, config=config.with_overrides(exact_search_max=size), embedder=searcher.embedder
    )
    conn = index.conn()
    semantic, keyword_recall, hybrid = [], [], []
    for n, (text, vector, ids, scores) in enumerate(
        zip(texts, vectors, truth, truth_scores, strict=True)
    ):
        exact = list(zip(ids.tolist(), scores.tolist(), strict=True))
        approx = searcher.semantic(vector, Filters(), TRUTH_DEPTH)
        semantic.append(len({c for c, _ in approx[:10]} & {c for c, _ in exact[:10]}) / 10)
        if n >= EXACT_KEYWORD_QUERIES:
            continue
        keyword = searcher.keyword(text, Filters(), TRUTH_DEPTH, exhaustive=False)
        keyword_exact = exact_searcher.keyword(text, Filters(), TRUTH_DEPTH)
        # Synthetic passages repeat texts, so BM25 ties are common: compare texts.
        want_texts = _texts(conn, [c for c, _ in keyword_exact[:10]])
        if want_texts:
            got_texts = _texts(conn, [c for c, _ in keyword[:10]])
            keyword_recall.append(len(got_texts & want_texts) / len(want_texts))
        got = searcher.fuse(keyword, approx)[:10]
        want = searcher.fuse(keyword_exact, exact)[:10]
        hybrid.append(len({c for c, _ in got} & {c for c, _ in want}) / 10)
    recall = {"semantic": semantic, "keyword": keyword_recall, "hybrid": hybrid}
    for row in rows:
        row["recall_at_10"] = round(statistics.mean(recall[str(row["mode"])] or [1.0]), 4)
    return {"query": rows, "peak_rss_mb": round(_peak_rss_mb(), 1)}


def _texts(conn: Any, ids: Sequence[int]) -> set[str]:
    from . import store

    return {
        row[0]
        for row in store.select_in(conn, "SELECT text FROM chunks WHERE id IN ({marks})", ids)
    }


def _run_worker(phase: str, work: Path, size: int, n_queries: int) -> dict[str, Any]:
    argv = [sys.executable, "-m", "scrsearch.bench", phase, str(work), str(size), str(n_queries)]
    done = subprocess.run(argv, stdout=subprocess.PIPE, text=True, check=False)
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
) -> dict[str, Any]:
    """Measure everything; return one JSON-ready object (see the module docstring)."""
    config = config or load_config()
    result: dict[str, Any] = {
        "machine": machine(),
        "config": {"exact_search_max": config.exact_search_max, "nprobe": config.nprobe},
    }
    log(f"Loading the model {config.model}")
    embedder, result["model"] = measure_model(config.model)
    corpus = list(corpus or default_corpus())
    log(f"Extracting the PDFs of {', '.join(map(str, corpus))}")
    result["extraction"] = measure_extraction(corpus)
    texts = default_queries()
    with tempfile.TemporaryDirectory(prefix="scrsearch-bench-", dir=work_dir) as tmp:
        work = Path(tmp)
        ingest_corpus = list(ingest_corpus or [ROOT / "corpus"])
        log(f"Ingesting {', '.join(map(str, ingest_corpus))}")
        result["ingest"] = measure_ingest(ingest_corpus, embedder, config, work / "ingest")
        _save_base(work / "ingest", work, embedder, texts)
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


def tables(result: dict[str, Any]) -> list[Any]:
    """Rich tables for people."""
    from rich.table import Table

    m, x, i = result["model"], result["extraction"], result["ingest"]
    summary = Table(
        title=f"scrsearch bench: {result['machine']['cpus']} CPUs, {result['machine']['cpu']}"
    )
    summary.add_column("measure")
    summary.add_column("value", justify="right")
    for measure, value in (
        (f"model load ({m['name']})", f"{m['load_s']:.2f} s"),
        ("first query embedding", f"{m['first_query_ms']:.0f} ms"),
        ("warm query embedding", f"{m['embed_ms']:.1f} ms"),
        ("PDF extraction", f"{x['pages_per_s']:.1f} pages/s ({x['pdf_pages']} pages)"),
        ("ingest: embedding", f"{i['passages_per_s']:.1f} passages/s ({i['passages']} passages)"),
        ("ingest: end to end", f"{i['end_to_end_passages_per_s']:.1f} passages/s"),
        ("bare model.encode", f"{i['raw_encode_passages_per_s']:.1f} passages/s"),
        ("bare / pipeline embedding", f"{i['overhead_ratio']:.2f}x"),
    ):
        summary.add_row(measure, value)
    query = Table(title="search latency (k=10; query embedding excluded)")
    for name in ("passages", "mode", "p50 ms", "p95 ms", "recall@10 vs exact"):
        query.add_column(name, justify="left" if name == "mode" else "right")
    for row in result["query"]:
        recall = "" if row["recall_at_10"] is None else f"{row['recall_at_10']:.3f}"
        query.add_row(
            f"{row['passages']:,}",
            row["mode"],
            f"{row['p50_ms']:.1f}",
            f"{row['p95_ms']:.1f}",
            recall,
        )
    memory = Table(title="memory and disk")
    for name in ("passages", "FAISS", "query peak RSS MB", "build peak RSS MB", "index MB"):
        memory.add_column(name, justify="right")
    memory.add_column("build s", justify="right")
    for row in result["memory"]:
        memory.add_row(
            f"{row['passages']:,}",
            row["faiss_kind"],
            f"{row['peak_rss_mb']:.0f}",
            f"{row['build_peak_rss_mb']:.0f}",
            f"{row['index_mb']:.0f}",
            f"{row['build_s']:.0f}",
        )
    return [summary, query, memory]


def _worker_main(argv: Sequence[str]) -> None:
    phase, work, size, n_queries = argv[0], Path(argv[1]), int(argv[2]), int(argv[3])
    config = load_config()
    if phase == "build":
        out = build_size(work, size, config)
    elif phase == "query":
        out = query_size(work, size, n_queries, config)
    else:
        raise SystemExit(f"unknown bench phase {phase!r}")
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    _worker_main(sys.argv[1:])

"""The bench's per-size workers: build N synthetic passages, then time queries on them.

Run as ``python -m scrsearch.measure.bench_sizes build|query WORK SIZE QUERIES`` by
:func:`scrsearch.measure.bench.run_bench`, each phase in its own process so that sizes do not
contaminate each other's memory figures. See :mod:`scrsearch.measure.bench` for what is
measured.
"""

from __future__ import annotations

import json
import math
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..config import Config, load_config
from ..embed.base import Embedder
from .bench import Log, _ms, _peak_rss_mb, _stderr

if TYPE_CHECKING:
    from ..search.searcher import Searcher

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


def build_size(work: Path, size: int, config: Config, log: Log = _stderr) -> dict[str, Any]:
    """Write ``size`` synthetic passages into a real index folder and publish it."""
    from ..index.transaction import write_transaction

    meta = json.loads((work / "base.json").read_text())
    base = np.load(work / "base.npy")
    queries = np.load(work / "queries.npy")
    rng = np.random.default_rng(size)
    index_dir = work / f"index-{size}"
    truth = _Truth(len(queries))
    started = time.perf_counter()
    with write_transaction(index_dir, config=config) as tx:
        conn = tx.begin(fresh=True)
        _add_documents(conn, math.ceil(size / PER_DOC))
        for start in range(0, size, BATCH):
            n = min(BATCH, size - start)
            ids, which, vectors = _synthetic_passages(rng, base, start, n)
            truth.add(queries @ vectors.T, ids)
            _write_passages(conn, ids, [meta["passages"][w] for w in which.tolist()], vectors)
            done = start + n
            if done % 100_000 == 0 or done == size:
                log(f"  [{size:,}] wrote {done:,} passages ({time.perf_counter() - started:.0f} s)")
        write_s = time.perf_counter() - started
        log(f"  [{size:,}] building FAISS and publishing")
        manifest = tx.publish(model=meta["model"], dimension=base.shape[1])
    truth.save(work, size)
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


def _add_documents(conn: Any, n: int) -> None:
    """``n`` synthetic documents, ids 1..n, for the passages to belong to."""
    from ..index import store
    from ..records import Metadata

    with conn:
        for doc in range(n):
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


def _synthetic_passages(
    rng: np.random.Generator, base: np.ndarray, start: int, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Passages ``start + 1 .. start + n``: their ids, the real passage each repeats,
    and its vector with noise added (normalised)."""
    dim = base.shape[1]
    # Real passages drawn at random, not in a cycle: IVF training samples every
    # k-th id, which would see only some of the passages of a periodic sequence.
    which = rng.integers(0, len(base), n)
    noise = rng.standard_normal((n, dim), dtype=np.float32) * (NOISE / math.sqrt(dim))
    vectors = base[which] + noise
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.arange(start + 1, start + n + 1, dtype=np.int64), which, vectors


def _write_passages(
    conn: Any, ids: np.ndarray, chosen: list[list[Any]], vectors: np.ndarray
) -> None:
    """Write passages (text, heading, section, title of each repeated one) in one transaction."""
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


class _Truth:
    """Each query's exact nearest ``TRUTH_DEPTH`` passages, kept as a running top list."""

    def __init__(self, n_queries: int) -> None:
        self.scores = np.full((n_queries, 0), -np.inf, dtype=np.float32)
        self.ids = np.zeros((n_queries, 0), dtype=np.int64)

    def add(self, scores: np.ndarray, ids: np.ndarray) -> None:
        """Merge ``scores`` (queries x passages) of the passages ``ids``."""
        self.scores = np.hstack([self.scores, scores])
        self.ids = np.hstack([self.ids, np.broadcast_to(ids, (len(self.ids), len(ids)))])
        if self.scores.shape[1] > TRUTH_DEPTH:
            keep = np.argpartition(-self.scores, TRUTH_DEPTH, axis=1)[:, :TRUTH_DEPTH]
            self.scores = np.take_along_axis(self.scores, keep, axis=1)
            self.ids = np.take_along_axis(self.ids, keep, axis=1)

    def save(self, work: Path, size: int) -> None:
        """Best first, as ``truth-SIZE.npy`` (ids) and ``truth-scores-SIZE.npy``."""
        order = np.argsort(-self.scores, axis=1, kind="stable")
        np.save(work / f"truth-{size}.npy", np.take_along_axis(self.ids, order, axis=1))
        np.save(work / f"truth-scores-{size}.npy", np.take_along_axis(self.scores, order, axis=1))


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
    from ..index.generations import Index
    from ..search.searcher import MODES, Searcher

    meta = json.loads((work / "base.json").read_text())
    texts: list[str] = meta["queries"]
    vectors = np.load(work / "queries.npy")
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
    recall = _recall(searcher, texts, vectors, work, size)
    for row in rows:
        row["recall_at_10"] = round(statistics.mean(recall[str(row["mode"])] or [1.0]), 4)
    return {"query": rows, "peak_rss_mb": round(_peak_rss_mb(), 1)}


def _recall(
    searcher: Searcher, texts: list[str], vectors: np.ndarray, work: Path, size: int
) -> dict[str, list[float]]:
    """Each mode's recall@10 per query against exact search (the saved truth, exact BM25)."""
    from ..search.searcher import Filters

    truth = np.load(work / f"truth-{size}.npy")
    truth_scores = np.load(work / f"truth-scores-{size}.npy")
    conn = searcher.index.conn()
    recall: dict[str, list[float]] = {"semantic": [], "keyword": [], "hybrid": []}
    for n, (text, vector, ids, scores) in enumerate(
        zip(texts, vectors, truth, truth_scores, strict=True)
    ):
        exact = list(zip(ids.tolist(), scores.tolist(), strict=True))
        approx = searcher.semantic(vector, Filters(), TRUTH_DEPTH)
        recall["semantic"].append(
            len({c for c, _ in approx[:10]} & {c for c, _ in exact[:10]}) / 10
        )
        if n >= EXACT_KEYWORD_QUERIES:
            continue
        # Synthetic passages repeat texts, so BM25 ties are common: compare texts.
        keyword_exact = searcher.keyword(text, Filters(), TRUTH_DEPTH, budget=math.inf)
        if keyword_exact:
            keyword = searcher.rank(text, mode="keyword", depth=TRUTH_DEPTH)
            recall["keyword"].append(_text_recall(conn, keyword, keyword_exact))
        got = searcher.rank(text, mode="hybrid", depth=TRUTH_DEPTH)
        recall["hybrid"].append(_text_recall(conn, got, searcher.fuse(keyword_exact, exact)))
    return recall


def _text_recall(
    conn: Any, got: Sequence[tuple[int, float]], want: Sequence[tuple[int, float]]
) -> float:
    """Share of the texts of ``want``'s top 10 that are among ``got``'s top 10 texts."""
    from ..index import store

    def texts(ranked: Sequence[tuple[int, float]]) -> set[str]:
        sql = "SELECT text FROM chunks WHERE id IN ({marks})"
        return {row[0] for row in store.select_in(conn, sql, [c for c, _ in ranked[:10]])}

    wanted = texts(want)
    return len(texts(got) & wanted) / len(wanted) if wanted else 1.0


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

"""Concurrency: parallel searches equal serial ones; readers never see a half-written index."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from scrsearch import load_config
from scrsearch.index import store
from scrsearch.index.generations import Index, read_manifest
from scrsearch.ingestion.pipeline import ingest
from scrsearch.search.searcher import Filters, Searcher

TOPICS = (
    "neglect bruising school police referral strategy meeting mother baby nursery GP "
    "housing probation escalation health visitor domestic abuse drugs alcohol"
).split()
QUERIES = [
    "bruising on the baby",
    "school referral about neglect",
    "police domestic abuse",
    "strategy meeting not convened",
    "health visitor escalation",
    "housing and probation",
    '"domestic abuse"',
    "alcohol AND( drugs",
    "nursery",
    "GP mother",
]


def write_corpus(folder: Path, n: int, start: int = 0, marker: str = "") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(start, start + n):
        words = [TOPICS[(i * 5 + j) % len(TOPICS)] for j in range(8)]
        text = f"Review {i} ({2010 + i % 12}): the {' and the '.join(words)} were discussed. "
        path = folder / f"review-{i:03d}.txt"
        path.write_text(text * 4 + marker)
        paths.append(path)
    return paths


def run_all(searcher: Searcher) -> list:  # type: ignore[no-untyped-def]
    return [one(searcher, job) for job in jobs()]


def jobs() -> list[tuple[str, str, Filters]]:
    filters = [Filters(), Filters(year_from=2015), Filters(doc="review-003.txt")]
    return [
        (q, mode, f) for q in QUERIES for mode in ("semantic", "keyword", "hybrid") for f in filters
    ]


def one(searcher: Searcher, job: tuple[str, str, Filters]) -> list:  # type: ignore[no-untyped-def]
    query, mode, filters = job
    return [
        (h.chunk.chunk_id, h.document.doc_id, round(h.score, 6), h.rank)
        for h in searcher.search(query, k=8, mode=mode, filters=filters)
    ]


@pytest.mark.parametrize("kind", ["flat", "ivf-sq8", "keyword budget"])
def test_eight_parallel_searches_return_what_serial_searches_return(
    tmp_path: Path, hash_embedder, kind: str
) -> None:
    budget = 40 if kind == "keyword budget" else 40_000  # 40: searches look up term counts
    kind = "flat" if kind == "keyword budget" else kind
    config = load_config(
        exact_search_max=10 if kind == "ivf-sq8" else 50_000, keyword_budget=budget
    )
    write_corpus(tmp_path / "corpus", 60)
    ingest([tmp_path / "corpus"], config=config, embedder=hash_embedder)
    assert read_manifest(config.index_dir).faiss_kind == kind  # type: ignore[union-attr]
    searcher = Searcher.open(config=config, embedder=hash_embedder)
    serial = run_all(searcher)
    assert sum(bool(r) for r in serial) > len(serial) // 2
    work = jobs() * 2
    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(lambda job: one(searcher, job), work))
    assert parallel == serial * 2


def test_readers_during_ingest_see_the_old_index_or_the_new_never_a_mix(
    tmp_path: Path, hash_embedder
) -> None:
    """Each ingest adds reviews carrying the word 'zebra'. A reader opening the index
    at any moment must see a whole generation: the FAISS file and the database agree,
    keyword and semantic search find the same reviews, and every reader of one
    generation gets identical answers."""
    config = load_config()
    write_corpus(tmp_path / "corpus", 12)
    ingest([tmp_path / "corpus"], config=config, embedder=hash_embedder)
    first = Searcher.open(config=config, embedder=hash_embedder)  # held open throughout
    first_answers = run_all(first)
    steps = 8
    stop = threading.Event()
    seen: dict[int, set] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def writer() -> None:
        try:
            for step in range(steps):
                new = write_corpus(tmp_path / f"batch{step}", 2, 100 + 2 * step, " zebra " * 20)
                ingest(new, config=config, embedder=hash_embedder)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            stop.set()

    def reader() -> None:
        try:
            while not stop.is_set():
                searcher = Searcher.open(config=config, embedder=hash_embedder)
                index = searcher.index
                conn = index.conn()
                n_rows = conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
                assert index.faiss.ntotal == n_rows == index.manifest.counts["passages"]
                keyword = {
                    h.document.doc_id for h in searcher.search("zebra", k=100, mode="keyword")
                }
                zebra_docs = {
                    r[0]
                    for r in conn.execute("SELECT id FROM documents WHERE source LIKE '%batch%'")
                }
                assert keyword == zebra_docs
                semantic = searcher.search("zebra", k=n_rows, mode="semantic")
                assert len(semantic) == n_rows  # every FAISS id has its row
                answer = (n_rows, tuple(sorted(keyword)), tuple(map(tuple, run_all(searcher)[:6])))
                with lock:
                    seen.setdefault(index.manifest.generation, set()).add(answer)
                # The searcher opened before any of this still answers as at first,
                # from this thread too.
                assert run_all(first) == first_answers
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            stop.set()

    threads = [threading.Thread(target=writer)] + [
        threading.Thread(target=reader) for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert len(seen) >= 2, "the readers should have seen several generations"
    for generation, answers in seen.items():
        assert len(answers) == 1, f"generation {generation} gave different answers"
    final = Searcher.open(config=config, embedder=hash_embedder)
    assert len(final.search("zebra", k=100, mode="keyword")) == 2 * steps
    # A thread that never used the first searcher can still use it after its
    # generation's files were replaced twice over.
    result: list = []
    t = threading.Thread(target=lambda: result.append(run_all(first)))
    t.start()
    t.join(30)
    assert result == [first_answers]


def test_index_open_retries_when_a_writer_replaces_the_generation(
    tmp_path: Path, hash_embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader that read the manifest just before two publishes deleted that
    generation's files opens the newest generation instead of failing."""
    import faiss

    config = load_config()
    write_corpus(tmp_path / "corpus", 3)
    ingest([tmp_path / "corpus"], config=config, embedder=hash_embedder)
    generation = read_manifest(config.index_dir).generation  # type: ignore[union-attr]
    real = faiss.read_index
    raced: list[int] = []

    def racing(path: str, *args):  # type: ignore[no-untyped-def]
        if not raced:  # between reading the manifest and opening the files...
            raced.append(1)
            for step in range(2):  # ...two ingests publish, deleting that generation
                new = write_corpus(tmp_path / f"w{step}", 1, 200 + step)
                ingest(new, config=config, embedder=hash_embedder)
        return real(path, *args)

    monkeypatch.setattr(faiss, "read_index", racing)
    index = Index.open(config.index_dir)
    assert raced
    assert index.manifest.generation == generation + 2
    assert store.counts(index.conn())["documents"] == 5
    assert index.faiss.ntotal == index.manifest.counts["passages"]

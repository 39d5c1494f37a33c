"""Index swaps under load: while an ingest publishes generation after generation, every
API request succeeds and answers from exactly one generation."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx2

from scrsearch import load_config
from scrsearch.api.server import GENERATION_HEADER, BackgroundServer, create_app
from scrsearch.index.generations import read_manifest
from scrsearch.ingestion.pipeline import ingest
from test_concurrency import write_corpus

STEPS = 6
READERS = 4


def test_requests_during_repeated_publishes_all_succeed_each_from_one_generation(
    tmp_path: Path, hash_embedder
) -> None:
    """Each ingest adds two reviews carrying the word 'zebra'. A keyword search for it
    must find exactly the zebra reviews of the generation its header names; /info must
    report that same generation; and one generation always gives the same answer."""
    config = load_config()
    write_corpus(tmp_path / "corpus", 12)
    ingest([tmp_path / "corpus"], config=config, embedder=hash_embedder)
    zebras = {read_manifest(config.index_dir).generation: 0}  # type: ignore[union-attr]
    done = threading.Event()
    errors: list[BaseException] = []
    seen: list[tuple[int, int, str, int, str]] = []  # (generation, zebras, body, info gen, hybrid)
    lock = threading.Lock()

    def writer() -> None:
        try:
            for step in range(STEPS):
                new = write_corpus(tmp_path / f"batch{step}", 2, 100 + 2 * step, " zebra " * 20)
                ingest(new, config=config, embedder=hash_embedder)
                zebras[read_manifest(config.index_dir).generation] = 2 * (step + 1)  # type: ignore[union-attr]
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            done.set()

    def reader(url: str) -> None:
        try:
            with httpx2.Client(base_url=url, timeout=60) as http:
                extra = 3  # a few more requests after the last publish
                while not done.is_set() or extra:
                    extra -= done.is_set()
                    keyword = http.get(
                        "/search", params={"q": "zebra", "mode": "keyword", "k": 100}
                    )
                    assert keyword.status_code == 200, keyword.text
                    hybrid = http.get("/search", params={"q": "zebra review police", "k": 20})
                    assert hybrid.status_code == 200, hybrid.text
                    info = http.get("/info")
                    assert info.status_code == 200, info.text
                    body = info.json()
                    assert info.headers[GENERATION_HEADER] == str(body["generation"])
                    generation = int(keyword.headers[GENERATION_HEADER])
                    hits = keyword.json()
                    assert all("zebra" in h["text"] for h in hits)
                    with lock:
                        seen.append(
                            (
                                generation,
                                len({h["doc_id"] for h in hits}),
                                keyword.text,
                                int(hybrid.headers[GENERATION_HEADER]),
                                hybrid.text,
                            )
                        )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    with BackgroundServer(create_app(config, embedder=hash_embedder), config) as server:
        threads = [threading.Thread(target=writer)]
        threads += [threading.Thread(target=reader, args=(server.url,)) for _ in range(READERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(180)
    assert not errors, errors
    generations = {g for g, *_ in seen}
    assert len(generations) >= 3, f"the readers should have seen several generations: {generations}"
    answers: dict[int, set[str]] = {}
    hybrid_answers: dict[int, set[str]] = {}
    for generation, n_zebras, body, hybrid_generation, hybrid in seen:
        assert n_zebras == zebras[generation], (generation, n_zebras, zebras)
        answers.setdefault(generation, set()).add(body)
        hybrid_answers.setdefault(hybrid_generation, set()).add(hybrid)
    for generation in answers:
        assert len(answers[generation]) == 1, f"generation {generation} gave different answers"
    for generation in hybrid_answers:
        assert len(hybrid_answers[generation]) == 1, (
            f"generation {generation} gave different answers"
        )
    assert max(generations) == max(zebras)  # the last publish was picked up

"""LiveIndex: a long-lived server's searcher follows the current generation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import CORPUS
from scrsearch import HashEmbedder, load_config
from scrsearch.errors import IndexNotFoundError
from scrsearch.index.generations import MANIFEST
from scrsearch.ingestion.pipeline import ingest
from scrsearch.search import live as live_module
from scrsearch.search.live import LiveIndex


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []

    def load(model: str, backend: str = "torch") -> HashEmbedder:
        calls.append(model)
        return HashEmbedder(64, 128)

    monkeypatch.setattr(live_module, "load_embedder", load)
    return calls


def test_a_publish_is_picked_up_on_the_next_call_and_the_model_loads_once(
    tmp_path: Path, loads: list[str]
) -> None:
    config = load_config(index=str(tmp_path / "index"))
    embedder = HashEmbedder(64, 128)
    ingest([CORPUS / "george-briefing.txt"], config=config, embedder=embedder)
    live = LiveIndex(config.index_dir, config=config)
    first = live.searcher()
    assert live.searcher() is first  # nothing changed: the same searcher
    ingest(
        [CORPUS / "westmere-2018-7-minute-briefing-escalation.txt"],
        config=config,
        embedder=embedder,
    )
    second = live.searcher()
    assert second is not first
    assert second.index.manifest.generation == first.index.manifest.generation + 1
    assert second.index.manifest.counts["documents"] == 2
    # A request still holding the first generation answers from it alone.
    assert {h.document.doc_id for h in first.search("escalation", k=50)} == {1}
    assert {h.document.doc_id for h in second.search("escalation", k=50)} == {1, 2}
    assert loads == ["hash-64"] and second.embedder is first.embedder


def test_a_generation_that_cannot_be_opened_leaves_the_previous_one_answering(
    tmp_path: Path, loads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(index=str(tmp_path / "index"))
    ingest([CORPUS / "george-briefing.txt"], config=config, embedder=HashEmbedder(64, 128))
    live = LiveIndex(config.index_dir, config=config)
    first = live.searcher()
    manifest = config.index_dir / MANIFEST
    good = manifest.read_text()
    ahead = json.loads(good) | {
        "generation": 99,
        "sqlite": "g000099.sqlite",
        "faiss": "g000099.faiss",
    }
    manifest.write_text(json.dumps(ahead))  # as a replica whose files are still copying
    assert live.searcher() is first
    monkeypatch.setattr(LiveIndex, "RETRY_S", 0.0)
    assert live.searcher() is first  # tried again, still missing: still the first
    manifest.write_text(good)
    assert live.searcher() is first  # the same generation: nothing to reopen


def test_no_index_yet_is_the_error_that_says_how_to_build_one(tmp_path: Path) -> None:
    live = LiveIndex(tmp_path / "none", config=load_config())
    with pytest.raises(IndexNotFoundError, match="scrsearch ingest corpus/"):
        live.searcher()

"""The Streamlit app with several users at once.

- Four real browsers (Debian's chromium, one context each, so one session each) search
  at the same moment against one ``streamlit run``: each sees its own query and exactly
  the library's results for it, and the server process loads the model once and opens
  the index once (counted by a ``sitecustomize`` hook in that process).
- Sessions one after another in one process share the cached model and index (AppTest).

Memory per extra connected user is measured by ``scripts/app_users.py``, not here.
"""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import CORPUS
from scrsearch import HashEmbedder, Index, Searcher, load_config
from scrsearch.ingestion.pipeline import ingest

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app.py"
QUERIES = (
    "escalation policy not used",
    "safe sleeping advice for babies",
    "county lines and criminal exploitation",
    "voice of the child in assessments",
)
#: Imported by the app's process at start-up: it records each model load and index open.
COUNTING_HOOK = """
import os

import scrsearch
from scrsearch.embed import registry
from scrsearch.index.generations import Index

def _record(line):
    with open(os.environ["SCRSEARCH_TEST_LOADS"], "a") as fh:
        fh.write(line + "\\n")

_load, _open = registry.load_embedder, Index.open.__func__

def load_embedder(model, *args, **kwargs):
    _record("model " + model)
    return _load(model, *args, **kwargs)

def open_index(cls, folder, *args, **kwargs):
    _record("index " + str(folder))
    return _open(cls, folder, *args, **kwargs)

registry.load_embedder = scrsearch.load_embedder = load_embedder
Index.open = classmethod(open_index)
"""


def _titles(at: AppTest) -> list[str]:
    bodies = [h.proto.body for h in at.html if 'class="scr-card"' in h.proto.body]
    return [
        html.unescape(b.split('class="scr-card-title">', 1)[1].split("</div>", 1)[0])
        for b in bodies
    ]


def test_sessions_share_one_model_and_one_index_and_keep_their_own_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scrsearch.app import common

    index = tmp_path / "index"
    ingest([CORPUS], config=load_config(index=str(index)), embedder=HashEmbedder(23))
    monkeypatch.setenv("SCRSEARCH_INDEX", str(index))
    for cached in (common._model_future, common._index, common._searcher):
        cached.clear()  # other tests of this process may have filled them
    loads: list[str] = []
    opens: list[str] = []
    real_open = Index.open

    def load(model: str, backend: str = "torch") -> HashEmbedder:
        loads.append(model)
        return HashEmbedder(23)

    class CountingIndex:
        @staticmethod
        def open(folder: str | Path) -> Index:
            opens.append(str(folder))
            return real_open(folder)

    monkeypatch.setattr(common, "load_embedder", load)
    monkeypatch.setattr(common, "Index", CountingIndex)
    sessions = {}
    for query in QUERIES:  # AppTest runs one session at a time
        at = AppTest.from_file(str(APP), default_timeout=120)
        at.query_params["q"] = query
        at.run()
        sessions[query] = at
    assert loads == ["hash-23"], "the model is loaded once per process"
    assert opens == [str(index)], "the index is opened once per generation"
    searcher = Searcher(Index.open(index), config=load_config(), embedder=HashEmbedder(23))
    for query, at in sessions.items():
        assert not at.exception, [e.value for e in at.exception]
        assert at.session_state["search_q"] == query
        expected = [f"{h.rank}. {h.document.title}" for h in searcher.search(query, k=10)]
        assert _titles(at) == expected and expected


@pytest.mark.slow
def test_four_browser_users_at_once_each_see_their_own_search(
    demo_index: Path, real_embedder, tmp_path: Path
) -> None:
    import os

    from test_e2e_browser import CHROMIUM, CHROMIUM_ARGS, require_chromium, streamlit_app

    sync_api = require_chromium()
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(COUNTING_HOOK)
    loads = tmp_path / "loads.txt"
    path = os.pathsep.join([str(hook), str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])
    env = {"PYTHONPATH": path, "SCRSEARCH_TEST_LOADS": str(loads)}
    searcher = Searcher(Index.open(demo_index), config=load_config(), embedder=real_embedder)
    expected = {
        q: [f"{h.rank}. {h.document.title}" for h in searcher.search(q, k=10)] for q in QUERIES
    }
    assert len({tuple(t[:3]) for t in expected.values()}) > 1, "the queries should differ"

    with (
        streamlit_app(demo_index, tmp_path / "streamlit.log", env) as (app_url, _),
        sync_api.sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        # One context per user: its own cookies and websocket, so its own session.
        pages = [browser.new_context().new_page() for _ in QUERIES]
        for page in pages:
            page.goto(app_url)
        for page in pages:
            page.get_by_label("What are you looking for?").wait_for(timeout=120_000)
        for page, query in zip(pages, QUERIES, strict=True):
            page.get_by_label("What are you looking for?").fill(query)
        for page in pages:  # all four submit before any result is awaited
            page.get_by_role("button", name="Search", exact=True).click()
        for page, query in zip(pages, QUERIES, strict=True):
            page.wait_for_url(f"**q={query.replace(' ', '+')}**", timeout=60_000)
            page.get_by_text("Showing keyword matches").wait_for(state="detached", timeout=120_000)
            page.locator(".scr-score", has_text="hybrid").first.wait_for(timeout=120_000)
        for page, query in zip(pages, QUERIES, strict=True):
            assert page.get_by_label("What are you looking for?").input_value() == query
            # Until the run ends, Streamlit keeps the preview's cards beside the new ones:
            # wait for the page to settle on exactly this user's results (Playwright's
            # polling assertion), and fail if it never does.
            sync_api.expect(page.locator(".scr-card-title")).to_have_text(
                expected[query], timeout=60_000
            )
        browser.close()
    recorded = loads.read_text().splitlines()
    assert recorded.count(f"index {demo_index}") == 1, recorded
    assert [line for line in recorded if line.startswith("model ")] == [
        f"model {real_embedder.name}"
    ], recorded

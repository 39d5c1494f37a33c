"""The Like my case page, and the Search page keeping case notes out of the URL.

A fast hash-embedder index serves the app (streamlit.testing.v1.AppTest). The
privacy rules are checked from the outside: the URL and every link's parameters,
the session's memory after the page is left, the download, and the index's files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import streamlit
from streamlit.testing.v1 import AppTest

from conftest import CORPUS, build_hash_index, serve_copy
from scrsearch.app import common
from scrsearch.themes.case_report import FILE_NAME

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app.py"
MARKERS = ("Zorblattington", "Quimbleforth")
CASE = (
    f"{MARKERS[0]} is 20 months old and lives with her mum, who has a methadone script, and "
    f"her brother {MARKERS[1]}, who is four. The health visitor gave mum a locked box for "
    "the methadone. Both children came off child protection plans for neglect last month "
    "and the case is about to close. Mum's new partner stays most nights."
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_hash_index(tmp_path_factory, "case-app", [CORPUS])


@pytest.fixture
def index(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return serve_copy(template, tmp_path, monkeypatch)


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What each run's download buttons would hand the browser: data and file name."""
    calls: list[dict[str, Any]] = []
    original = streamlit.download_button

    def record(label: str, data: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append({"label": label, "data": data, **kwargs})
        return original(label, data, *args, **kwargs)

    monkeypatch.setattr(streamlit, "download_button", record)
    return calls


def open_page(name: str, **params: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    at.switch_page(common.page_path(name))
    at.query_params.update(params)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def submit_case(at: AppTest, text: str = CASE) -> AppTest:
    at.text_area(key=common.CASE_KEY + "text").input(text)
    next(b for b in at.button if b.label.startswith("Find reviews")).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def links(at: AppTest) -> list[str]:
    return [link.proto.query_string for link in at.get("page_link")]


def holds_case(text: str) -> bool:
    return any(marker in text for marker in MARKERS)


def case_state(at: AppTest) -> list[str]:
    return [k for k in list(at.session_state) if str(k).startswith(common.CASE_KEY)]


def test_the_page_states_its_privacy_rules(index: Path) -> None:
    at = open_page("like_my_case")
    notice = " ".join(i.value for i in at.info)
    for promise in (
        "never put in the address bar",
        "never written to a file or a log",
        "cleared as soon as you leave this page",
        "leaves it out unless you tick",
    ):
        assert promise in notice
    assert at.text_area(key=common.CASE_KEY + "text").value in ("", None)


def test_results_show_why_passages_lessons_and_links(index: Path) -> None:
    at = submit_case(open_page("like_my_case"))
    cards = [h.proto.body for h in at.html if 'class="scr-card-title">1.' in h.proto.body]
    assert cards and "Extended Child Practice Review" in cards[0]
    assert "Age band in both:" in cards[0] and "Shared themes:" in cards[0]
    labels = [e.label for e in at.expander]
    assert any(label.startswith("Matching passages (") for label in labels)
    assert any(label.startswith("Lessons and recommendations (") for label in labels)
    targets = [link.value for link in at.get("page_link")]
    assert "Read the review" in targets and "Compare with other reviews" in targets
    assert any(q.startswith("doc=") for q in links(at))


def test_the_case_never_reaches_the_url_links_or_the_index(index: Path, downloads) -> None:
    at = submit_case(open_page("like_my_case"))
    assert not holds_case(str(dict(at.query_params)))
    assert links(at) and not any(holds_case(q) for q in links(at))
    for file in index.rglob("*"):
        if file.is_file():
            assert not holds_case(file.read_bytes().decode("latin-1")), file


def test_the_download_leaves_the_case_out_unless_ticked(index: Path, downloads) -> None:
    at = submit_case(open_page("like_my_case"))
    [offered] = [d for d in downloads if d["label"].startswith("Download these reviews")]
    assert offered["file_name"] == FILE_NAME
    assert not holds_case(offered["data"]) and "Reviews like my case" in offered["data"]
    downloads.clear()
    at.checkbox(key=common.CASE_KEY + "export_text").check().run()
    [ticked] = [d for d in downloads if d["label"].startswith("Download these reviews")]
    assert all(marker in ticked["data"] for marker in MARKERS)
    assert ticked["file_name"] == FILE_NAME


def test_leaving_the_page_forgets_the_case(index: Path) -> None:
    at = submit_case(open_page("like_my_case"))
    assert case_state(at), "the page holds the case while it is open"
    at.switch_page(common.SEARCH_PAGE).run()
    assert case_state(at) == []
    assert not holds_case(repr(at.session_state))
    at.switch_page(common.LIKE_MY_CASE_PAGE).run()
    assert at.text_area(key=common.CASE_KEY + "text").value in ("", None)
    assert not [h for h in at.html if 'class="scr-card-title"' in h.proto.body]


def test_clear_forgets_the_case_at_once(index: Path) -> None:
    at = submit_case(open_page("like_my_case"))
    next(b for b in at.button if b.label == "Clear the case").click().run()
    assert not holds_case(repr(at.session_state))
    assert not [h for h in at.html if 'class="scr-card-title"' in h.proto.body]


def test_an_empty_case_asks_for_one(index: Path) -> None:
    at = submit_case(open_page("like_my_case"), "   ")
    assert any("Describe the case first" in w.value for w in at.warning)


# --- The Search page -------------------------------------------------------------


def search(at: AppTest, query: str) -> AppTest:
    at.text_input(key="search_q").input(query)
    next(b for b in at.button if b.label == "Search").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def search_cards(at: AppTest) -> list[str]:
    return [h.proto.body for h in at.html if 'class="scr-card"' in h.proto.body]


def test_a_search_that_looks_like_case_notes_stays_out_of_the_url(index: Path) -> None:
    at = search(open_page("search", mode="keyword"), CASE)
    assert search_cards(at), "the search still runs"
    assert "q" not in at.query_params and at.query_params["mode"] == "keyword"
    notice = " ".join(i.value for i in at.info)
    assert "looks like case notes" in notice and "kept out of the address bar" in notice
    assert "it is long (57 words)" in notice
    assert not any(holds_case(q) for q in links(at))
    # The page keeps its results through a rerun, the query still not in the URL.
    at.run()
    assert search_cards(at) and "q" not in at.query_params
    assert at.text_input(key="search_q").value == CASE


def test_a_short_search_is_still_shared_in_the_url(index: Path) -> None:
    at = search(open_page("search", mode="keyword"), "methadone locked box")
    assert at.query_params["q"] == "methadone locked box"
    assert not any("looks like case notes" in i.value for i in at.info)
    assert any("q=methadone" in q for q in links(at))


def test_case_notes_in_a_pasted_link_are_taken_out_of_it(index: Path) -> None:
    at = open_page("search", q=f"{MARKERS[0]} Smith, methadone", mode="keyword")
    assert "q" not in at.query_params
    assert at.text_input(key="search_q").value == f"{MARKERS[0]} Smith, methadone"
    assert any("looks like case notes (a name)" in i.value for i in at.info)
    assert search_cards(at)

"""The Compare page, with streamlit.testing.v1.AppTest."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import build_hash_index, serve_copy
from scrsearch.app import common

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app.py"
CORPUS = ROOT / "corpus"
FILES = [
    CORPUS / "george-briefing.txt",
    CORPUS / "harrowdale-2015-scr-child-k-overview.pdf",
    CORPUS / "tarnside-2020-learning-briefing-ellie.html",
]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_hash_index(tmp_path_factory, "compare-app", FILES)


@pytest.fixture
def served(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return serve_copy(template, tmp_path, monkeypatch)


def open_page(**params: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    at.switch_page(common.COMPARE_PAGE)
    at.query_params.update(params)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def html(at: AppTest) -> str:
    return " ".join(str(h.proto.body) for h in at.get("html"))


def test_starts_with_george_and_shows_lessons_beside_matches(served: Path) -> None:
    at = open_page()
    review, versus = at.selectbox
    assert "George" in review.format_func(review.value)
    assert versus.value == "all"
    assert at.query_params["doc"] == review.value  # the comparison is in the URL
    tabs = [t.label for t in at.tabs]
    assert tabs[0] == "Lessons side by side (7)" and tabs[1] == "Similar reviews"
    body = html(at)
    for n in range(1, 8):
        assert f"L{n} · lessons" in body
    assert "Child K" in body and "similarity" in body
    # Themes by the names the Themes page uses, not their slugs.
    assert "themes: Escalation and professional challenge" in body
    # A match is cited as on the Themes page: partnership, year, section, pages.
    assert "Harrowdale Local Safeguarding Children Board · 2015 · findings section · p" in body
    assert "escalation-challenge" not in body and "new-information" not in body
    assert "Compare side by side with this review" in [p.value for p in at.get("page_link")]
    assert {b.label for b in at.download_button} == {"Download JSON"}


def test_choosing_a_second_review(served: Path) -> None:
    at = open_page()
    versus = at.selectbox[1]
    position = next(i for i, label in enumerate(versus.options) if "Child K" in label)
    versus.select_index(position).run()
    assert not at.exception
    assert "Child K" in versus.format_func(at.query_params["other"])
    body = html(at)
    assert "Tarnside" not in body and "Ellie" not in body  # only Child K's passages now
    assert "Compare side by side with this review" not in [p.value for p in at.get("page_link")]


def test_a_link_opens_one_review(served: Path) -> None:
    at = open_page(doc="tarnside-2020-learning-briefing-ellie.html")
    assert "Ellie" in at.selectbox[0].format_func(at.selectbox[0].value)


@pytest.mark.slow
def test_george_on_the_demo_corpus(demo_index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCRSEARCH_INDEX", str(demo_index))
    at = open_page()
    assert "George" in at.selectbox[0].format_func(at.selectbox[0].value)
    body = html(at)
    first = body.index('<div class="scr-card-title">1. ')
    assert "Child K" in body[first : first + 200]  # the review sharing most learning

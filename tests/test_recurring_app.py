"""The Recurring learning and Trends pages, and "said before" on the Review and Compare
pages, with streamlit.testing.v1.AppTest on the demo corpus (hash embedder).

The Trends chart is Vega-Lite, which AppTest cannot click: the tests use the theme
and year pickers under it, which do the same (tests/test_e2e_browser.py clicks it).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import CORPUS, build_hash_index, serve_copy
from scrsearch.app import common
from scrsearch.index.generations import Index
from scrsearch.themes import recurring
from scrsearch.themes.recurring import recurring_groups

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app.py"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_hash_index(tmp_path_factory, "recurring-app", [CORPUS])


@pytest.fixture
def served(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    recurring._MEMORY.clear()
    return serve_copy(template, tmp_path, monkeypatch)


def open_page(page: str, **params: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    at.switch_page(common.page_path(page))
    at.query_params.update(params)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def html(at: AppTest) -> str:
    return " ".join(str(h.proto.body) for h in at.get("html"))


def links(at: AppTest) -> list[str]:
    return [link.value for link in at.get("page_link")]


def test_the_recurring_page_lists_groups_and_opens_one(served: Path) -> None:
    report = recurring_groups(served)
    at = open_page("recurring")
    assert at.title[0].value == "Recurring learning"
    body = html(at)
    first = report.groups[0]
    assert f"{first.id}. " in body and f"{first.reviews} reviews" in body
    assert {b.label for b in at.download_button} == {"CSV", "Markdown"}
    assert f"Every passage ({len(first.passages)}) with its citation" in links(at)

    at = open_page("recurring", group=str(first.id))
    assert at.title[0].value == f"Recurring learning: group {first.id}"
    body = html(at)
    for hit in first.passages:
        assert hit.document.title.split(":")[0] in body
    assert links(at).count("Read in the review") == len(first.passages)


def test_the_recurring_filters_narrow_the_groups_and_go_in_the_url(served: Path) -> None:
    at = open_page("recurring", type="scr")
    assert at.query_params["type"] in ("scr", ["scr"])
    scr = recurring_groups(served, filters=recurring.ReviewFilters(review_type="scr"))
    assert f"{len(scr.groups)} groups" in at.caption[0].value
    at = open_page("recurring", group="9999")
    assert "No recurring group 9999" in at.error[0].value


def test_the_trends_page_charts_counts_and_shows_a_points_passages(served: Path) -> None:
    at = open_page("trends")
    assert at.title[0].value == "Trends"
    chart = at.get("vega_lite_chart")[0]
    spec = json.loads(chart.proto.spec)
    tooltips = [t["title"] for layer in spec["layer"] for t in layer["encoding"]["tooltip"]]
    assert "Reviews with the theme" in tooltips  # the counts are on hover
    params = spec.get("params") or [p for layer in spec["layer"] for p in layer.get("params", [])]
    assert [p["name"] for p in params] == ["point"]  # a click selects a point
    index = Index.open(served)
    from scrsearch.themes.trends import theme_trends

    trend = theme_trends(index, [at.multiselect(key="trends_themes").value[0]]).themes[0]
    busiest = max(trend.years, key=lambda y: y.reviews)
    at.selectbox(key="trends_pick_theme").set_value(trend.slug)
    at.selectbox(key="trends_pick_year").set_value(busiest.year).run()
    assert not at.exception
    heading = (
        f"{trend.label} in {busiest.year}: {busiest.reviews} of {busiest.total_reviews} reviews"
    )
    assert heading in [h.value for h in at.subheader]
    assert "Read in the review" in links(at)


def test_review_and_compare_pages_say_what_was_said_before(served: Path) -> None:
    report = recurring_groups(served)
    group = next(
        g
        for g in report.groups
        if any(h.chunk.section in ("lessons", "recommendations") for h in g.passages)
    )
    doc = next(
        h.document for h in group.passages if h.chunk.section in ("lessons", "recommendations")
    )
    at = open_page("review", doc=str(doc.doc_id))
    assert f"Recurring learning, group {group.id}" in html(at)
    at = open_page("compare", doc=str(doc.doc_id))
    assert "Recurring learning, group" in html(at)
    labels = [p.proto.popover.label for p in at.get("popover")]
    assert any(label.startswith("Said before? Group") for label in labels)

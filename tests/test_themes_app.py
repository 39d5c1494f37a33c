"""The Themes page, with streamlit.testing.v1.AppTest, on a small hash-embedder index.

The heatmap is a Vega-Lite chart that AppTest cannot click, so the tests use the
review and theme pickers under it, which do the same thing.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import build_hash_index, serve_copy
from scrsearch.app import common
from scrsearch.index.generations import read_manifest

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app.py"
CORPUS = ROOT / "corpus"
FILES = [
    CORPUS / "george-briefing.txt",
    CORPUS / "westmere-2018-7-minute-briefing-escalation.txt",
    CORPUS / "harrowdale-2015-scr-child-k-overview.pdf",
]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_hash_index(tmp_path_factory, "themes-app", FILES)


@pytest.fixture
def served(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return serve_copy(template, tmp_path, monkeypatch)


def open_page(page: str, **params: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    at.switch_page(common.page_path(page))
    at.query_params.update(params)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _rows(chart) -> list[str]:  # type: ignore[no-untyped-def]
    """The heatmap's row labels, from the Arrow table Streamlit sends with the chart."""
    import pyarrow as pa

    return pa.ipc.open_stream(chart.proto.data.data).read_all().column("review").to_pylist()


def links(at: AppTest) -> list[str]:
    return [link.value for link in at.get("page_link")]


def test_heatmap_and_picking_a_review_and_theme(served: Path) -> None:
    at = open_page("themes")
    assert at.title[0].value == "Themes across the reviews"
    charts = at.get("vega_lite_chart")
    assert charts, "the heatmap is drawn"
    spec = json.loads(charts[0].proto.spec)
    # Theme names stand upright in columns of their own width: at -50 degrees in columns
    # stretched to the page, 36 of them overlapped, and on a laptop screen the long
    # review titles squeezed the columns to a few pixels.
    assert spec["encoding"]["x"]["axis"]["labelAngle"] == -90
    assert spec["width"] == {"step": 15}
    rows = set(_rows(charts[0]))
    assert any(r.startswith("George · briefing 2020 (#") for r in rows), rows
    assert max(len(r) for r in rows) <= 60
    review = at.selectbox(key="themes_review")
    george = next(o for o in review.options if "George" in o)
    review.select(george).run()
    theme = at.selectbox(key="themes_theme")
    assert "Escalation and professional challenge" in theme.options
    theme.select("Escalation and professional challenge").run()
    assert not at.exception
    assert any("Escalation and professional challenge in" in h.value for h in at.subheader)
    html = " ".join(str(h.proto.body) for h in at.get("html"))
    assert "CSCP escalation policy" in html  # George's lesson 6
    assert "Read in the review" in links(at)


def test_a_themes_page_lists_passages_across_reviews_with_export(served: Path) -> None:
    at = open_page("themes", theme="escalation-challenge")
    assert at.title[0].value == "Escalation and professional challenge"
    html = " ".join(str(h.proto.body) for h in at.get("html"))
    assert "Harrowdale" in html and "Westmere" in html and "confidence" in html
    assert {b.label for b in at.download_button} == {"CSV", "Markdown"}
    at.radio[0].set_value(1).run()
    assert not at.exception


def test_a_reviews_profile(served: Path) -> None:
    at = open_page("themes", doc="george-briefing.txt")
    assert at.title[0].value.startswith("Themes of Learning from Serious Case Review George")
    labels = [e.label for e in at.expander]
    assert any(label.startswith("Escalation and professional challenge") for label in labels)
    assert "Compare this review with the others" in links(at)


def test_unknown_theme_and_untagged_index(served: Path) -> None:
    at = open_page("themes", theme="no-such-theme")
    assert "Unknown theme" in at.error[0].value
    manifest = read_manifest(served)
    conn = sqlite3.connect(served / manifest.sqlite_name)
    with conn:
        conn.execute("DELETE FROM theme_meta")
    conn.close()
    at = open_page("themes")
    assert "scrsearch retag" in at.error[0].value


def test_result_cards_link_to_themes_and_compare(served: Path) -> None:
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.query_params.update({"q": "escalation policy", "mode": "keyword"})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    found = links(at)
    assert found.count("Themes") == found.count("Compare") > 0

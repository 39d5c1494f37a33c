"""The Streamlit app, page by page, with streamlit.testing.v1.AppTest.

Tests marked slow search the demo index with the real model (loaded once per
process, in the app's own cache); the others use a small hash-embedder index.
"""

from __future__ import annotations

import html
import re
import shutil
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import build_hash_index, serve_copy
from scrsearch import HashEmbedder, Index, load_config
from scrsearch.app import common
from scrsearch.index import store
from scrsearch.index.generations import read_manifest
from scrsearch.ingestion.pipeline import ingest
from scrsearch.search import bm25
from scrsearch.search.query_text import fts_parts

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app.py"
PACKAGED_APP = ROOT / "src" / "scrsearch" / "app" / "main.py"
CORPUS = ROOT / "corpus"
FILES = [
    CORPUS / "george-briefing.txt",
    CORPUS / "westmere-2018-7-minute-briefing-escalation.txt",
    CORPUS / "harrowdale-2015-scr-child-k-overview.pdf",
]
GEORGE_CITATION = (
    "— Learning from Serious Case Review George, Cumbria Local Safeguarding Children Board, "
    "2020, no page numbers, lessons section"
)
GOOD_UPLOAD = (
    b"Serious Case Review: Child Q\nPublished: 2021\n\nLessons\n"
    b"1. Practitioners should use the escalation policy when a plan is closed too early.\n"
    b"2. New information shared in a core group meeting must lead to a review of the plan.\n"
)
HOSTILE = (
    "Serious Case Review: Child X\nPublished: 2019\n\nFindings\n"
    "The record held <script>alert('owned')</script> and <img src=x onerror=alert(2)> "
    "and **bold** text from a careless copy and paste about the escalation policy.\n"
)


@pytest.fixture(scope="module")
def hash_index_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_hash_index(tmp_path_factory, "app-hash", FILES)


@pytest.fixture
def hash_index(hash_index_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small index built with the fast fake embedder (a fresh copy), served by the app."""
    return serve_copy(hash_index_template, tmp_path, monkeypatch)


@pytest.fixture
def demo(demo_index: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SCRSEARCH_INDEX", str(demo_index))
    return demo_index


def start(page: str | None = None, /, **params: str) -> AppTest:
    """Open the app at ``page`` (default: Search) with these URL parameters."""
    at = AppTest.from_file(str(APP), default_timeout=120)
    if page:
        at.run()
        at.switch_page(common.page_path(page))
    at.query_params.update(params)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def click(at: AppTest, label: str) -> AppTest:
    button = next(b for b in at.button if b.label == label)
    button.click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def search(at: AppTest, query: str) -> AppTest:
    at.text_input(key="search_q").input(query)
    return click(at, "Search")


def shown(element: object) -> str:
    """An alert's text as the user reads it: Markdown escapes removed."""
    return re.sub(r"\\(.)", r"\1", element.value)  # type: ignore[attr-defined]


def cards(at: AppTest) -> list[str]:
    return [h.proto.body for h in at.html if 'class="scr-card"' in h.proto.body]


def titles(at: AppTest) -> list[str]:
    return [body.split('class="scr-card-title">', 1)[1].split("</div>", 1)[0] for body in cards(at)]


# --- No index ------------------------------------------------------------------


@pytest.mark.parametrize("page", [None, "review", "export", "library"])
def test_without_an_index_every_page_says_how_to_build_one(page: str | None) -> None:
    at = start(page)
    message = " ".join(i.value for i in at.info)
    assert "There is no index at" in message
    assert "scrsearch ingest corpus/ --index" in message
    assert not cards(at)


# --- Search (real model) -------------------------------------------------------


@pytest.mark.slow
def test_search_finds_the_george_briefing(demo: Path) -> None:
    at = search(start(), "new information shared in a meeting")
    assert at.query_params["q"] == "new information shared in a meeting"
    found = titles(at)
    assert any("George" in t for t in found[:3]), found
    george = next(c for c in cards(at) if "George" in c)
    assert "Cumbria Local Safeguarding Children Board · 2020 · briefing" in george
    assert "lessons section" in george
    assert "<mark>information</mark>" in george and "score " in george
    links = [link.value for link in at.get("page_link")]
    assert links.count("Open the passage") + sum(v.startswith("Open at p") for v in links) == len(
        found
    )
    assert sum(b.label == "More like this" for b in at.button) == len(found)
    assert {b.label for b in at.download_button} >= {"CSV", "Markdown"}


@pytest.mark.slow
def test_filters_narrow_the_results(demo: Path) -> None:
    at = search(start(), "escalation policy")
    everything = titles(at)
    assert len(set(everything)) > 2
    at.selectbox(key="search_type").select("7-minute-briefing")
    at.selectbox(key="search_section").select("lessons")
    click(at, "Search")
    narrowed = cards(at)
    assert narrowed and len(narrowed) <= len(everything)
    assert all("7-minute-briefing" in c and "lessons section" in c for c in narrowed)
    assert at.query_params["type"] == "7-minute-briefing"
    assert at.query_params["section"] == "lessons"
    at.slider(key="search_years").set_range(2020, 2024)
    click(at, "Search")
    assert all(" · 2024 · " in c for c in cards(at)), titles(at)


@pytest.mark.slow
def test_url_parameters_restore_a_search(demo: Path) -> None:
    at = start(q="escalation policy", type="scr", group="1", mode="semantic")
    assert at.text_input(key="search_q").value == "escalation policy"
    assert at.selectbox(key="search_type").value == "scr"
    assert at.checkbox(key="search_group").value is True
    assert at.radio(key="search_mode").value == "semantic"
    found = titles(at)
    assert found and len(found) == len(set(found)), "grouped: one passage per review"
    assert any(c.value.startswith(f"{len(found)} review") for c in at.caption), "counts reviews"
    assert all(" · scr</div>" in c for c in cards(at))
    # "More like this" keeps its own list in the URL too.
    click(at, "More like this")
    assert "like" in at.query_params and cards(at)
    assert any("Passages like passage" in s.value for s in at.subheader)


# --- Search, export, review and library (hash index) ------------------------------


def test_a_search_with_no_results_explains_what_to_try(hash_index: Path) -> None:
    at = start(q="zyxwvut", mode="keyword", type="scr")
    assert not cards(at)
    assert "No passages found" in at.warning[0].value
    tips = " ".join(m.value for m in at.markdown)
    assert "semantic" in tips and "review type" in tips
    click(at, "Clear the filters")
    assert "type" not in at.query_params


def test_empty_search_page_offers_examples(hash_index: Path) -> None:
    at = start()
    assert "Start with a question" in at.subheader[0].value
    assert any("escalation policy" in link.value for link in at.get("page_link"))


def test_export_page_cites_every_passage(hash_index: Path) -> None:
    at = start("export", q="escalation policy", mode="keyword", k="4")
    markdown, csv_text = (c.value for c in at.code)
    assert markdown.startswith("# Search results")
    assert '\\"escalation policy\\" · keyword search' not in markdown
    assert "escalation policy" in markdown.splitlines()[2]
    assert markdown.count("\n— ") == 4
    assert GEORGE_CITATION in markdown
    header, *rows = csv_text.strip().splitlines()
    assert header.startswith("rank,score,review,review_name,partnership,year,review_type,pages")
    assert len(rows) >= 4
    assert {b.label for b in at.download_button} == {"Download Markdown", "Download CSV"}


def test_document_html_is_shown_as_text(hash_index: Path, hash_embedder, tmp_path: Path) -> None:
    hostile = tmp_path / "child-x.txt"
    hostile.write_text(HOSTILE)
    ingest([hostile], config=load_config(index=str(hash_index)), embedder=hash_embedder)
    at = start(q="careless copy", mode="keyword")
    card = next(c for c in cards(at) if "Child X" in c)
    assert "&lt;script&gt;alert(&#x27;owned&#x27;)&lt;/script&gt;" in card
    assert "&lt;img src=x onerror=alert(2)&gt;" in card
    assert "<script" not in card and "<img" not in card
    doc = store.get_document(Index.open(hash_index).conn(), "child-x.txt")
    at = start("review", doc=str(doc.doc_id))
    page = "".join(h.proto.body for h in at.html)
    assert "&lt;script&gt;" in page and "<script" not in page and "<img" not in page


def test_review_page_opens_at_the_page_with_the_passage_marked(hash_index: Path) -> None:
    index = Index.open(hash_index)
    doc = store.get_document(index.conn(), "harrowdale-2015-scr-child-k-overview.pdf")
    chunk = next(c for c in store.document_chunks(index.conn(), doc.doc_id) if c.page_start == 5)
    at = start("review", doc=str(doc.doc_id), page="5", chunk=str(chunk.chunk_id), q="plan")
    body = "".join(h.proto.body for h in at.html)
    assert "<h2>Serious Case Review: Child K - Overview Report</h2>" in body
    assert at.select_slider[0].value == 5
    marked = body.split('<span class="scr-marked" id="passage">', 1)[1].split("</span>", 1)[0]
    plain = marked.replace("<mark>", "").replace("</mark>", "")
    # The passage's own words, at its own offsets, with the PDF's line wraps undone.
    assert plain.split() == html.escape(chunk.text).split()
    assert len(plain) == len(html.escape(chunk.text))
    assert chunk.text.count("\n") >= 2 and "\n" not in plain.strip()
    assert any("Lessons and recommendations" in e.label for e in at.expander)
    assert "Recommendations" in body and "Lessons" in body
    assert [b.label for b in at.download_button] == ["Download the original file"]
    # Another page, chosen on the page, goes into the URL.
    at.select_slider[0].set_value(6).run()
    assert at.query_params["page"] == "6"


def test_review_page_without_a_document_offers_a_choice(hash_index: Path) -> None:
    at = start("review")
    assert at.selectbox[0].label == "Choose a review"
    at = start("review", doc="9999")
    assert "No document '9999'" in shown(at.error[0])


def test_upload_a_good_file_and_a_broken_one(hash_index: Path) -> None:
    at = start("library")
    before = len(at.data_editor[0].value)
    at.file_uploader[0].set_value(
        [
            ("child-q-2021-scr.txt", GOOD_UPLOAD, "text/plain"),
            ("broken.pdf", b"not a pdf, only text pretending to be one", "application/pdf"),
        ]
    )
    click(at, "Add to the library")
    (added,) = at.success
    assert re.fullmatch(r"child-q-2021-scr\.txt: added \(1 page, \d+ passages?\)", shown(added))
    (error,) = at.error
    assert shown(error).startswith("broken.pdf was not added: broken.pdf: not a PDF file")
    table = at.data_editor[0].value
    assert len(table) == before + 1
    row = table[table["file"] == "child-q-2021-scr.txt"].iloc[0]
    assert bool(row["uploaded"]) and row["year"] == 2021
    stored = [p for p in (hash_index / "uploads").rglob("*") if p.is_file()]
    assert [p.name for p in stored] == ["child-q-2021-scr.txt"]


def test_corrections_are_saved_in_a_new_generation(hash_index: Path) -> None:
    generation = read_manifest(hash_index).generation
    at = start("library")
    table = at.data_editor[0].value
    row = int(table.index[table["file"] == "george-briefing.txt"][0])
    at.session_state[f"library_table_{generation}"] = {
        "edited_rows": {row: {"year": 2019, "partnership": "Cumbria SCP"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    click(at, "Save corrections")
    assert "Saved corrections to 1 document(s)." in shown(at.success[0])
    assert read_manifest(hash_index).generation > generation
    meta = store.get_document(Index.open(hash_index).conn(), "george-briefing.txt").metadata
    assert (meta.year, meta.partnership) == (2019, "Cumbria SCP")
    table = at.data_editor[0].value
    assert table[table["file"] == "george-briefing.txt"].iloc[0]["partnership"] == "Cumbria SCP"


def test_remove_a_document(hash_index: Path) -> None:
    at = start("library")
    doc = store.get_document(Index.open(hash_index).conn(), "george-briefing.txt")
    at.selectbox[0].select(doc.doc_id).run()
    click(at, "Remove from the library")
    assert shown(at.success[0]).startswith("Removed Learning from Serious Case Review George")
    assert "george-briefing.txt" not in set(at.data_editor[0].value["file"])
    assert (CORPUS / "george-briefing.txt").exists()


def test_the_first_upload_builds_an_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCRSEARCH_MODEL", "hash-64")
    at = start("library")
    assert "There is no index" in at.info[0].value
    at.file_uploader[0].set_value(("child-q-2021-scr.txt", GOOD_UPLOAD, "text/plain"))
    click(at, "Add to the library")
    assert at.success and not at.info
    assert read_manifest(Path(load_config().index)).counts["documents"] == 1
    shutil.rmtree(load_config().index)


def test_the_first_search_shows_keyword_matches_until_the_model_is_ready(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    from scrsearch.app import common

    index = tmp_path / "index"
    ingest(FILES[:2], config=load_config(index=str(index)), embedder=HashEmbedder(24))
    monkeypatch.setenv("SCRSEARCH_INDEX", str(index))
    loads: list[str] = []

    def slow_load(model: str, backend: str = "torch") -> HashEmbedder:
        loads.append(model)
        time.sleep(1.5)
        return HashEmbedder(24)

    previews: list[bool] = []
    light_searcher = common.light_searcher

    def light() -> object:
        previews.append(not common.model_ready("hash-24"))
        return light_searcher()

    monkeypatch.setattr(common, "load_embedder", slow_load)
    monkeypatch.setattr(common, "light_searcher", light)
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params["q"] = "escalation policy"
    at.run()
    assert loads == ["hash-24"]
    assert previews == [True], "keyword matches were shown while the model loaded"
    assert cards(at) and all("· hybrid</div>" in c for c in cards(at))
    assert not at.info, "the keyword preview is replaced by the full results"


@pytest.mark.parametrize("leaves_out_terms", [False, True])
def test_keyword_search_uses_the_model_only_when_the_budget_leaves_out_terms(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, leaves_out_terms: bool
) -> None:
    """On a large index keyword search also scores the semantic side's best passages."""
    monkeypatch.syspath_prepend(str(ROOT))
    from scrsearch.app import common

    index = tmp_path / "index"
    ingest(FILES[:2], config=load_config(index=str(index)), embedder=HashEmbedder(24))
    monkeypatch.setenv("SCRSEARCH_INDEX", str(index))
    query = "escalation policy"
    counts = bm25.term_counts(Index.open(index).conn(), fts_parts(query))
    assert counts is not None and all(counts)
    if leaves_out_terms:  # as if the index were large: only the rarer term fits
        monkeypatch.setenv("SCRSEARCH_KEYWORD_BUDGET", str(min(counts)))
    used: list[str] = []
    searcher, light_searcher = common.searcher, common.light_searcher

    def with_model() -> object:
        used.append("with the model")
        return searcher()

    def without_model() -> object:
        used.append("without")
        return light_searcher()

    monkeypatch.setattr(common, "searcher", with_model)
    monkeypatch.setattr(common, "light_searcher", without_model)
    at = start(q=query, mode="keyword")
    assert ("with the model" in used) == leaves_out_terms
    assert cards(at) and all("· keyword</div>" in c for c in cards(at))


def test_scrsearch_app_starts_streamlit_locally_without_usage_stats(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess

    from click.testing import CliRunner

    from scrsearch.cli import cli

    calls: list[tuple[list[str], dict[str, str], Path | None]] = []

    def fake_call(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> int:
        calls.append((argv, env, cwd))
        return 0

    monkeypatch.setattr(subprocess, "call", fake_call)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["app", "--index", "my-index", "--port", "8600"])
    assert result.exit_code == 0, result.output
    (argv, env, cwd) = calls[0]
    assert argv[1:5] == ["-m", "streamlit", "run", str(PACKAGED_APP)]
    options = dict(zip(argv[5::2], argv[6::2], strict=True))
    assert options["--server.address"] == "127.0.0.1"
    assert options["--browser.gatherUsageStats"] == "false"
    assert options["--logger.hideWelcomeMessage"] == "true"  # no developer prompts
    assert options["--client.showErrorLinks"] == "false"  # no links that send errors away
    assert options["--server.port"] == "8600"
    assert options["--server.headless"] == "false" and options["--theme.base"] == "light"
    assert env["SCRSEARCH_INDEX"] == str(tmp_path / "my-index") and cwd is None
    # `streamlit run app.py` in the checkout gets the same from the committed config.
    config = (ROOT / ".streamlit" / "config.toml").read_text().splitlines()
    assert 'address = "127.0.0.1"' in config and "gatherUsageStats = false" in config
    assert "hideWelcomeMessage = true" in config and "showErrorLinks = false" in config


def test_a_broken_index_is_one_clear_error(tmp_path: Path) -> None:
    index = Path(load_config().index)
    index.mkdir()
    (index / "manifest.json").write_text("{not json")
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    assert "manifest.json is unreadable" in shown(at.error[0])


# --- The shared pieces -----------------------------------------------------------


def test_every_page_script_is_registered_once() -> None:
    scripts = {p.stem for p in common.PAGES_DIR.glob("*.py") if p.stem != "__init__"}
    assert set(common.PAGES) == scripts
    assert common.page_path("review") == str(common.PAGES_DIR / "review.py")
    with pytest.raises(KeyError, match="No page 'nope'"):
        common.page_path("nope")


def test_the_passage_card_escapes_every_piece() -> None:
    from scrsearch.records import Chunk

    chunk = Chunk(1, 1, 0, "Use the <b>escalation</b> policy & ask.", 2, 2, 0, 40, "lessons")
    body = common.card_html(
        chunk,
        title="Child <X>",
        cite=[("Board & Co", 2019, None, ""), (None,)],
        query="escalation",
        score="shared: <i>",
    )
    assert body.startswith('<div class="scr-card"><div class="scr-card-title">Child &lt;X&gt;')
    assert body.count('class="scr-meta"') == 1  # the empty line is left out
    assert '<div class="scr-meta">Board &amp; Co · 2019</div>' in body
    assert "&lt;b&gt;<mark>escalation</mark>&lt;/b&gt; policy &amp; ask." in body
    assert '<div class="scr-score">shared: &lt;i&gt;</div>' in body
    assert "<b>" not in body and "<i>" not in body


def test_search_cards_cite_the_review_then_the_place(hash_index: Path) -> None:
    at = start(q="escalation policy", mode="keyword", k="3")
    found = cards(at)
    assert len(found) == 3 and titles(at)[0].startswith("1. ")
    first = found[0]
    review, where = first.split('class="scr-meta">')[1:3]
    assert "section" not in review and "section" in where
    assert "<mark>escalation</mark>" in first and "· keyword</div>" in first
    labels = [link.value for link in at.get("page_link")]
    assert labels.count("Themes") == labels.count("Compare") == 3
    assert sum(b.label == "More like this" for b in at.button) == 3
    assert "Read in the review" not in labels  # the Search page's own actions replace it

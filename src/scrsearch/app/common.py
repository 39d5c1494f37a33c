"""What the pages share: the cached model and searcher, and safe rendering.

The model loads once per process, in the background from the first page view, so
that it is usually ready by the time the first query is typed. The searcher is
cached per index folder and generation: a new generation (after an upload, a
correction or a re-ingest) is picked up on the next run. SQLite connections are
never cached across threads (``Index.conn()`` is per thread).

All document text reaches the page escaped: through :func:`html_block` with
:func:`html.escape` or :func:`scrsearch.present.highlight.to_html`, never as raw HTML.
Every passage is drawn by one renderer, :func:`card_html` (in a bordered card with its
links: :func:`passage_card`).
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from scrsearch import Chunk, Embedder, Hit, Index, Searcher, load_config, load_embedder
from scrsearch.errors import ScrsearchError
from scrsearch.index.generations import Manifest, read_manifest
from scrsearch.present import export
from scrsearch.present.highlight import reflow, to_html
from scrsearch.search.case_notes import looks_like_case_notes
from scrsearch.search.request import SearchRequest

PAGES_DIR = Path(__file__).resolve().parent / "pages"

#: The app's pages in sidebar order: script name (also its URL path, :func:`url_path`)
#: -> title and icon.
#: The first is the default page, at the app's root URL.
PAGES = {
    "search": ("Search", ":material/search:"),
    "review": ("Review", ":material/article:"),
    "library": ("Library", ":material/library_books:"),
    "export": ("Export", ":material/download:"),
    "themes": ("Themes", ":material/hub:"),
    "compare": ("Compare", ":material/compare_arrows:"),
    "like_my_case": ("Like my case", ":material/person_search:"),
    "recurring": ("Recurring learning", ":material/repeat:"),
    "trends": ("Trends", ":material/trending_up:"),
}


def page_path(name: str) -> str:
    """The script of a page (``"search"``, ``"review"``...), as st.Page and st.page_link take it."""
    if name not in PAGES:
        raise KeyError(f"No page {name!r}: the pages are {', '.join(PAGES)}")
    return str(PAGES_DIR / f"{name}.py")


def url_path(name: str) -> str:
    """A page's URL path: its script's name, underscores as hyphens (``like-my-case``)."""
    page_path(name)  # a known page
    return name.replace("_", "-")


SEARCH_PAGE = page_path("search")
REVIEW_PAGE = page_path("review")
LIBRARY_PAGE = page_path("library")
EXPORT_PAGE = page_path("export")
THEMES_PAGE = page_path("themes")
COMPARE_PAGE = page_path("compare")
LIKE_MY_CASE_PAGE = page_path("like_my_case")

#: Every session-state key of the Like my case page starts with this, so that
#: :func:`forget_case` can clear them all.
CASE_KEY = "case_"


def forget_case() -> None:
    """Drop the Like my case page's text and results from this session's memory.

    ``main.py`` calls it on every page view but that page's own: the case text is
    kept only while the page is open.
    """
    for key in [k for k in st.session_state if str(k).startswith(CASE_KEY)]:
        del st.session_state[key]


RECURRING_PAGE = page_path("recurring")
TRENDS_PAGE = page_path("trends")


def review_params(hit: Hit, query: str | None = None) -> dict[str, str]:
    """URL parameters that open the Review page at a hit's passage (and page)."""
    params = {"doc": str(hit.document.doc_id), "chunk": str(hit.chunk.chunk_id)}
    if hit.chunk.page_start is not None:
        params["page"] = str(hit.chunk.page_start)
    if query and not looks_like_case_notes(query):  # case notes never go into a URL
        params["q"] = query
    return params


CSS = """
<style>
[data-testid="stMainBlockContainer"] { padding-top: 2.5rem; }
.scr-card-title { font-weight: 600; font-size: 1.05rem; }
.scr-meta { color: #4b5563; font-size: 0.9rem; margin-top: 0.15rem; }
.scr-passage { white-space: pre-wrap; line-height: 1.5; margin-top: 0.5rem; }
.scr-page { white-space: pre-line; line-height: 1.55; font-family: Georgia, serif; }
.scr-passage mark, .scr-page mark { background: #fde68a; padding: 0 1px; }
.scr-page .scr-marked { background: #dbeafe; border-left: 3px solid #2563eb; padding: 2px 4px; }
.scr-callout { background: #eff6ff; border-left: 4px solid #2563eb; padding: 0.75rem 1rem; border-radius: 4px; }
.scr-score { color: #6b7280; font-size: 0.8rem; margin-top: 0.4rem; }
.scr-facts th { text-align: left; padding-right: 1rem; color: #4b5563; font-weight: 500; }
.scr-facts td, .scr-facts th { border: none; padding: 0.1rem 1rem 0.1rem 0; }
.scr-facts td { overflow-wrap: anywhere; }
</style>
"""


def index_dir() -> Path:
    """The index the app serves: ``$SCRSEARCH_INDEX``, else ``./index``."""
    return load_config().index_dir


@contextmanager
def errors_shown() -> Iterator[None]:
    """Show a library error as one clear line (it names the fix) and stop the page."""
    try:
        yield
    except ScrsearchError as exc:
        st.error(plain(exc))
        st.stop()


def manifest() -> Manifest | None:
    with errors_shown():
        return read_manifest(index_dir())


@st.cache_resource(show_spinner=False, max_entries=4)
def _model_future(model: str) -> Future[Embedder]:
    """Start loading the model in the background; one load per process."""

    def load() -> Embedder:
        embedder = load_embedder(model, load_config().backend)
        embedder.embed_query("warm up")  # the first call of a model is slow
        return embedder

    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="scrsearch-model").submit(load)


def start_model(model: str) -> None:
    """Begin loading ``model`` if it is not loaded or loading already."""
    _model_future(model)


def model_ready(model: str) -> bool:
    return _model_future(model).done()


def embedder(model: str) -> Embedder:
    """The loaded model; waits (with a spinner) if it is still loading."""
    future = _model_future(model)
    if not future.done():
        with st.spinner("Loading the language model (once, after the app starts)…"):
            future.exception()
    if future.exception() is not None:
        _model_future.clear()  # let the next run try again
    return future.result()


def wait_for_model(model: str, notice: DeltaGenerator) -> None:
    """Wait for the model, updating ``notice``; each update lets a new run take over."""
    started = time.monotonic()
    while not model_ready(model):
        notice.caption(f"Loading the language model… {time.monotonic() - started:.0f} s")
        time.sleep(0.25)
    notice.empty()
    _model_future(model).result()  # raise a load error here, once


@st.cache_resource(show_spinner=False, max_entries=2)
def _index(index: str, generation: int) -> Index:
    return Index.open(index)


@st.cache_resource(show_spinner=False, max_entries=2)
def _searcher(index: str, generation: int, model: str) -> Searcher:
    config = load_config(index=index, model=model)
    loaded = _model_future(model).result()  # no Streamlit calls inside a cached function
    return Searcher(_index(index, generation), config=config, embedder=loaded)


def index() -> Index:
    """The current generation, for reading; call after :func:`require_index`."""
    current = manifest()
    assert current is not None  # noqa: S101 - narrows the type; require_index() stopped the page if None
    with errors_shown():
        return _index(str(index_dir()), current.generation)


def searcher() -> Searcher:
    """The searcher of the current generation; call after :func:`require_index`."""
    current = manifest()
    assert current is not None  # noqa: S101 - narrows the type; require_index() stopped the page if None
    with errors_shown():
        embedder(current.model)  # waits, with a spinner, while the model loads
        return _searcher(str(index_dir()), current.generation, current.model)


def light_searcher() -> Searcher:
    """A searcher without the model: keyword search and "more like this" only."""
    current = manifest()
    assert current is not None  # noqa: S101 - narrows the type; require_index() stopped the page if None
    config = load_config(index=str(index_dir()), model=current.model)
    return Searcher(index(), config=config, keyword_pool=False)


def needs_model(request: SearchRequest) -> bool:
    """Whether a request embeds its query.

    "More like this" does not, and keyword search does only on an index large enough
    that it draws candidates from the semantic side (``Searcher.keyword_leaves_out_terms``).
    """
    if request.like is not None:
        return False
    if request.mode == "keyword":
        return light_searcher().keyword_leaves_out_terms(request.query)
    return True


def searcher_for(request: SearchRequest) -> Searcher:
    return searcher() if needs_model(request) else light_searcher()


def require_index() -> Manifest:
    """The index's manifest; without an index, say how to build one and stop the page."""
    current = manifest()
    if current is None:
        no_index()
        st.stop()
    assert current is not None  # noqa: S101 - narrows the type; require_index() stopped the page if None
    start_model(current.model)
    return current


def no_index() -> None:
    folder = index_dir()
    st.info(
        f"There is no index at `{folder}` yet, so there is nothing to search.\n\n"
        "**To build one**, either add files on the **Library** page, or run in a terminal:\n\n"
        f"```\nscrsearch ingest corpus/ --index {folder}\n```\n\n"
        "To use an index elsewhere, start the app with `SCRSEARCH_INDEX=/path/to/index`."
    )


def html_block(body: str) -> None:
    """Render HTML built only from escaped text (see the module docstring)."""
    st.html(body)


def esc(text: object) -> str:
    """Text escaped for :func:`html_block`."""
    return html.escape("" if text is None else str(text))


def passage_html(text: str, query: str = "") -> str:
    """A passage for a ``scr-passage`` block: its PDF line wraps undone, escaped, and
    the query's words marked."""
    return to_html(reflow(text), query)


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def plain(text: object) -> str:
    """Text escaped for Streamlit's Markdown (alerts, captions): shown as written."""
    return _MARKDOWN.sub(r"\\\1", "" if text is None else str(text))


def pages_label(start: int | None, end: int | None) -> str | None:
    """``p. 3`` or ``pp. 3-4``; ``None`` for formats without pages."""
    return None if start is None else export.pages_label(start, end)


def card_html(
    chunk: Chunk,
    *,
    title: str | None = None,
    cite: Sequence[Sequence[object]] = (),
    query: str = "",
    score: str | None = None,
) -> str:
    """One passage as HTML, every piece escaped: a title, citation lines, the passage
    (its query words marked), and a score line.

    Args:
        chunk: the passage.
        title: the line above it (e.g. the review's title), if any.
        cite: citation lines; each is its parts, joined with " · " (empty parts left out).
        query: the words to mark in the passage.
        score: the small line below it, if any.
    """
    lines = (" · ".join(esc(x) for x in line if x not in (None, "")) for line in cite)
    return (
        '<div class="scr-card">'
        + (f'<div class="scr-card-title">{esc(title)}</div>' if title else "")
        + "".join(f'<div class="scr-meta">{line}</div>' for line in lines if line)
        + f'<div class="scr-passage">{passage_html(chunk.text, query)}</div>'
        + (f'<div class="scr-score">{esc(score)}</div>' if score else "")
        + "</div>"
    )


def passage_card(
    hit: Hit,
    *,
    score: str,
    query: str = "",
    numbered: bool = False,
    show_review: bool = True,
    review_line: bool = False,
    actions: Callable[[Hit], None] | None = None,
) -> None:
    """One passage in a bordered card, cited, with a link to read it in its review.

    Every page shows passages through this card, so the citation reads the same
    everywhere: partnership, year, section and pages.

    Args:
        hit: the passage.
        score: the score line (plain text: it is escaped here).
        query: the words to mark in the passage.
        numbered: put the hit's rank before the review's title.
        show_review: put the review's title above the passage.
        review_line: cite the review (partnership, year, type) on a line of its own,
            above where in it the passage is (section, pages).
        actions: draws the card's buttons and links; by default one link, "Read in
            the review".
    """
    meta = hit.document.metadata
    where = (f"{hit.chunk.section} section", pages_label(hit.chunk.page_start, hit.chunk.page_end))
    if review_line:
        cite: list[Sequence[object]] = [(meta.partnership, meta.year, meta.review_type), where]
    else:
        cite = [(meta.partnership, meta.year, *where)]
    title = None
    if show_review:
        title = f"{hit.rank}. {hit.document.title}" if numbered else hit.document.title
    with st.container(border=True):
        html_block(card_html(hit.chunk, title=title, cite=cite, query=query, score=score))
        if actions is not None:
            actions(hit)
        else:
            st.page_link(
                REVIEW_PAGE,
                label="Read in the review",
                icon=":material/article:",
                query_params=review_params(hit, query or None),
            )


def download_pair(
    csv: str | Callable[[], str],
    markdown: str | Callable[[], str],
    stem: str,
    slots: tuple[DeltaGenerator, DeltaGenerator] | None = None,
) -> None:
    """The CSV and Markdown download buttons of a result list, side by side.

    ``csv`` and ``markdown`` are the files' text, or functions that make it when the
    button is clicked; ``stem`` names them (``stem.csv``, ``stem.md``); ``slots`` are the
    two places to put them (by default two narrow columns of a new row).
    """
    left, right = slots or tuple(st.columns([1, 1, 3])[:2])
    left.download_button(
        "CSV",
        csv,
        file_name=f"{stem}.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/table:",
    )
    right.download_button(
        "Markdown",
        markdown,
        file_name=f"{stem}.md",
        mime="text/markdown",
        on_click="ignore",
        icon=":material/description:",
    )

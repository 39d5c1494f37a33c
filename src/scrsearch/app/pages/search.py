"""Search: a query, a mode and filters in; cited passages out.

The search lives in the URL (``?q=...&type=scr``): the address bar is the source
of truth, so a search can be shared and survives a reload. A query that looks like
case notes (long, a name, a date of birth: ``case_notes.case_note_signs``) is the
exception: it stays in this session's memory, never in the address bar.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from scrsearch.app import common
from scrsearch.ingestion import library
from scrsearch.present import export
from scrsearch.records import SECTIONS, Hit
from scrsearch.search.case_notes import case_note_signs
from scrsearch.search.request import MAX_K, SearchRequest
from scrsearch.search.searcher import MODE_HELP, MODES

ANY = "Any"
EXAMPLES = (
    "new information shared in a meeting but the plan was not changed",
    "escalation policy not used",
    "voice of the child",
    "safe sleeping advice",
)
MODES_EXPLAINED = "; ".join(f"**{mode}** {does}" for mode, does in MODE_HELP.items()) + "."

manifest = common.require_index()
rows = library.documents(common.index())
request = SearchRequest.from_params(st.query_params.to_dict())
if request.private:  # case notes reached the address (a pasted link): move them out of it
    st.session_state["search_private_q"] = request.query
    st.query_params.from_dict(request.to_params())
elif not request.query and request.like is None:  # a private search goes on here
    request = replace(request, query=st.session_state.get("search_private_q", ""))

# --- The form, filled from the URL ------------------------------------------------

years = sorted({r.document.metadata.year for r in rows if r.document.metadata.year})
partnerships = sorted(
    {r.document.metadata.partnership for r in rows if r.document.metadata.partnership}
)
types = sorted({r.document.metadata.review_type for r in rows if r.document.metadata.review_type})
titles = {str(r.document.doc_id): r.document.title for r in rows}


def _options(values: list[str], current: str | None) -> list[str]:
    return [ANY, *values, *([current] if current and current not in values else [])]


if (
    st.session_state.get("search_applied") != request.to_params()
    or "search_q" not in st.session_state
):
    # The URL changed (first visit, reload, link, "more like this"): show it in the form.
    st.session_state["search_applied"] = request.to_params()
    st.session_state["search_q"] = request.query
    st.session_state["search_mode"] = request.mode
    st.session_state["search_k"] = request.k
    st.session_state["search_group"] = request.group
    st.session_state["search_partnership"] = request.partnership or ANY
    st.session_state["search_type"] = request.review_type or ANY
    st.session_state["search_section"] = request.section or ANY
    st.session_state["search_doc"] = request.doc or ANY
    if len(years) > 1:
        low = max(years[0], min(years[-1], request.year_from or years[0]))
        high = max(low, min(years[-1], request.year_to or years[-1]))
        st.session_state["search_years"] = (low, high)

st.title("Search the reviews")
with st.form("search"):
    st.text_input(
        "What are you looking for?",
        key="search_q",
        placeholder="e.g. new information shared in a meeting but the plan was not changed",
    )
    left, right = st.columns([2, 1])
    left.radio("Mode", MODES, key="search_mode", horizontal=True, help=MODES_EXPLAINED)
    right.checkbox(
        "Group by review", key="search_group", help="Show the best passage of each review."
    )
    with st.expander("Filters", expanded=bool(request.active_filters())):
        if len(years) > 1:
            st.slider("Years", years[0], years[-1], key="search_years")
        a, b, c = st.columns(3)
        a.selectbox(
            "Partnership", _options(partnerships, request.partnership), key="search_partnership"
        )
        b.selectbox("Review type", _options(types, request.review_type), key="search_type")
        c.selectbox("Section", _options(list(SECTIONS), request.section), key="search_section")
        d, e = st.columns([3, 1])
        d.selectbox(
            "Document",
            _options(list(titles), request.doc),
            key="search_doc",
            format_func=lambda ref: titles.get(ref, ref),
        )
        e.number_input("Results", 1, MAX_K, key="search_k")
    submitted = st.form_submit_button("Search", type="primary")

if submitted:
    state = st.session_state
    since, until = state.get("search_years", (None, None)) if len(years) > 1 else (None, None)
    request = SearchRequest(
        query=state["search_q"].strip(),
        mode=state["search_mode"],
        k=int(state["search_k"]),
        year_from=since if since != years[0] else None,
        year_to=until if until != years[-1] else None,
        partnership=None if state["search_partnership"] == ANY else state["search_partnership"],
        review_type=None if state["search_type"] == ANY else state["search_type"],
        section=None if state["search_section"] == ANY else state["search_section"],
        doc=None if state["search_doc"] == ANY else state["search_doc"],
        group=bool(state["search_group"]),
    )
    st.session_state["search_applied"] = request.to_params()
    st.session_state["search_private_q"] = request.query if request.private else ""
    st.query_params.from_dict(request.to_params())

if request.private:
    st.info(
        "This search looks like case notes ("
        + ", ".join(case_note_signs(request.query))
        + "), so it is kept out of the address bar, where the browser would store it in its "
        "history and in any link you share. To find reviews like a case, use **Like my case**.",
        icon=":material/lock:",
    )

# --- Results -----------------------------------------------------------------------

if not request.active:
    st.subheader("Start with a question or a few words")
    st.markdown(
        "Describe a situation in your own words: the search finds passages that mean the "
        "same thing even when they use other words. Try one of these:"
    )
    for example in EXAMPLES:
        st.page_link(common.SEARCH_PAGE, label=example, icon="🔎", query_params={"q": example})
    st.caption(MODES_EXPLAINED)
    st.stop()

# The first search after the app starts may come before the model has loaded: show
# keyword matches at once, then the full results as soon as the model is ready.
preview = common.needs_model(request) and not common.model_ready(manifest.model)
if preview:
    with common.errors_shown():
        hits = replace(request, mode="keyword").run(common.light_searcher())
    full = (
        "the full keyword results (which also check the passages closest in meaning)"
        if request.mode == "keyword"
        else f"the {request.mode} results"
    )
    st.info(
        "Showing keyword matches while the language model loads (only after the app starts); "
        f"{full} replace them in a few seconds."
    )
    loading = st.empty()
else:
    searcher = common.searcher_for(request)
    with common.errors_shown():
        hits = request.run(searcher)


def finish_preview() -> None:
    if preview:
        common.wait_for_model(manifest.model, loading)
        st.rerun()


if request.like is not None:
    st.subheader(f"Passages like passage #{request.like}")
    if st.button("← Back to search"):
        st.query_params.from_dict(SearchRequest(query=request.query).to_params())
        st.rerun()

if not hits:
    finish_preview()
    st.warning("No passages found for " + common.plain(request.describe()) + ".")
    tips = ["Use other words, or describe the situation rather than name it."]
    if request.mode == "keyword":
        tips.append(
            "Switch the mode to **semantic** or **hybrid** to match meaning, not only words."
        )
    if request.active_filters():
        tips.append("Loosen the filters: " + ", ".join(request.active_filters()) + ".")
    st.markdown("\n".join(f"- {t}" for t in tips))
    if request.active_filters() and st.button("Clear the filters"):
        st.query_params.from_dict(SearchRequest(query=request.query, mode=request.mode).to_params())
        st.rerun()
    st.stop()

shown = replace(request, mode="keyword") if preview else request  # what the hits are
st.caption(f"{request.count(len(hits))} · {common.plain(shown.describe())}")


def actions(hit: Hit) -> None:
    """A result's buttons: short labels, explained on hover, so the row fits a laptop screen."""
    pages = common.pages_label(hit.chunk.page_start, hit.chunk.page_end)
    one, two, three, four = st.columns([1.3, 1.5, 1, 1])
    if one.button(
        "More like this",
        key=f"like-{hit.chunk.chunk_id}",
        help="Passages that say something similar, in any review",
    ):
        st.query_params.from_dict(
            SearchRequest(query=request.query, like=hit.chunk.chunk_id).to_params()
        )
        st.rerun()
    two.page_link(
        common.REVIEW_PAGE,
        label=f"Open at {pages}" if pages else "Open the passage",
        help="Read the review, at this passage",
        icon=":material/article:",
        query_params=common.review_params(hit, request.query),
    )
    review_only = {"doc": str(hit.document.doc_id)}
    three.page_link(
        common.THEMES_PAGE,
        label="Themes",
        help="The themes of this review",
        icon=":material/hub:",
        query_params=review_only,
    )
    four.page_link(
        common.COMPARE_PAGE,
        label="Compare",
        help="Where else this review's learning appears",
        icon=":material/compare_arrows:",
        query_params=review_only,
    )


for hit in hits:
    common.passage_card(
        hit,
        score=f"score {hit.score:.3f} · {hit.method}",
        query=request.query,
        numbered=True,
        review_line=True,
        actions=actions,
    )

st.divider()
st.markdown("**Download these results**, each passage with its citation:")
left, middle, right = st.columns([1, 1, 3])
common.download_pair(
    export.to_csv(hits),
    export.to_markdown(hits, about=request.describe()),
    "scrsearch-results",
    slots=(left, middle),
)
if not request.private:  # the Export page reads its search from the URL
    right.page_link(
        common.EXPORT_PAGE, label="More export options", query_params=request.to_params()
    )
finish_preview()

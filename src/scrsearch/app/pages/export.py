"""Export: a result list as CSV or Markdown, every passage cited.

It takes the same URL parameters as the Search page, so "More export options"
under any result list (a search or "more like this") opens here with that list.
"""

from __future__ import annotations

import streamlit as st

from scrsearch.app import common
from scrsearch.present import export
from scrsearch.search.request import MAX_K, SearchRequest

common.require_index()
request = SearchRequest.from_params(st.query_params.to_dict())

st.title("Export results")
st.markdown(
    "Download a result list for slides, handouts or a spreadsheet. Every passage comes "
    "with its citation: review, partnership, year, page and section."
)

with st.form("export"):
    query = st.text_input("Search", value=request.query, disabled=request.like is not None)
    k = st.number_input("Passages", 1, MAX_K, value=request.k)
    if st.form_submit_button("Update"):
        params = {**request.to_params(), **{"q": query.strip(), "k": str(int(k))}}
        request = SearchRequest.from_params(params)
        st.query_params.from_dict(request.to_params())

if not request.active:
    st.info(
        "Search first: type a query above, or use **More export options** under any result list."
    )
    st.page_link(common.SEARCH_PAGE, label="Go to Search", icon=":material/search:")
    st.stop()

searcher = common.searcher_for(request)
with common.errors_shown():
    hits = request.run(searcher)
st.caption(f"{request.count(len(hits))} · {common.plain(request.describe())}")
if not hits:
    st.warning("This search finds nothing to export. Try other words or fewer filters.")
    st.stop()

markdown = export.to_markdown(hits, about=request.describe())
csv = export.to_csv(hits)
left, right, _ = st.columns([1, 1, 2])
left.download_button(
    "Download Markdown",
    markdown,
    file_name="scrsearch-results.md",
    mime="text/markdown",
    on_click="ignore",
    icon=":material/description:",
    type="primary",
)
right.download_button(
    "Download CSV",
    csv,
    file_name="scrsearch-results.csv",
    mime="text/csv",
    on_click="ignore",
    icon=":material/table:",
)
markdown_tab, csv_tab = st.tabs(["Markdown", "CSV"])
with markdown_tab:
    st.code(markdown, language="markdown", wrap_lines=True)
with csv_tab:
    st.code(csv, language=None, wrap_lines=True)

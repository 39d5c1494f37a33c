"""Review: one document's metadata, its learning, and its full text page by page.

Opened from a result (``?doc=6&page=3&chunk=120&q=...``) it shows that page with
the passage marked.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from scrsearch.app import common
from scrsearch.app import learning as said_before
from scrsearch.errors import NotFoundError
from scrsearch.ingestion import library
from scrsearch.present.highlight import to_html, unwrap

common.require_index()
index = common.index()
params = st.query_params.to_dict()
query = params.get("q", "")
rows = library.documents(index)
titles = {str(r.document.doc_id): r.document.title for r in rows}


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _choose(current: str | None) -> None:
    choice = st.selectbox(
        "Choose a review",
        [None, *titles],
        index=([None, *titles].index(current) if current in titles else 0),
        format_func=lambda ref: "…" if ref is None else titles.get(ref, ref),
    )
    if choice is not None and choice != current:
        st.query_params.from_dict({"doc": choice})
        st.rerun()


doc_ref = params.get("doc")
if not doc_ref:
    st.title("Read a review")
    if not titles:
        st.info("The library is empty: add files on the Library page.")
        st.stop()
    _choose(None)
    st.caption("Or open a review from a search result, at the page the passage is on.")
    st.stop()

try:
    review = library.open_review(index, doc_ref)
except NotFoundError as exc:
    st.error(common.plain(exc))
    _choose(None)
    st.stop()

doc = review.document
meta = doc.metadata
chunk = review.chunk(_int(params.get("chunk")))

common.html_block(f"<h2>{common.esc(doc.title)}</h2>")
if st.query_params.get("q") is not None or chunk is not None:
    st.page_link(
        common.SEARCH_PAGE,
        label="Back to the results",
        icon=":material/arrow_back:",
        query_params={"q": query} if query else None,
    )

facts = [
    ("Review", meta.review_name),
    ("Partnership", meta.partnership),
    ("Year", meta.year),
    ("Type", meta.review_type),
    ("Nation", meta.nation),
    ("Format", doc.format.upper()),
    ("Pages", doc.n_pages if doc.paged else "no page numbers"),
    ("Passages", len(review.chunks)),
    ("File", Path(doc.source).name),
]
facts_column, passage_column = st.columns([2, 3], gap="large")
with facts_column:
    common.html_block(
        '<table class="scr-facts">'
        + "".join(
            f"<tr><th>{common.esc(k)}</th>"
            f"<td>{common.esc(v if v is not None else 'unknown')}</td></tr>"
            for k, v in facts
        )
        + "</table>"
    )
    if review.file is not None:
        path = review.file
        st.download_button(
            "Download the original file",
            data=path.read_bytes,
            file_name=path.name,
            mime="application/octet-stream",
            on_click="ignore",
            icon=":material/download:",
        )
    else:
        st.caption("The original file is no longer where it was indexed from.")
if chunk is not None:
    opened = (f"{chunk.section} section", common.pages_label(chunk.page_start, chunk.page_end))
    with passage_column:
        common.html_block(
            '<div class="scr-callout">'
            + common.card_html(
                chunk,
                cite=[("The passage you opened", *opened)],
                query=query,
                score="It is marked in the full text below.",
            )
            + "</div>"
        )

learning = review.learning
recurring = said_before.recurrences(index, doc.doc_id)
with st.expander(f"Lessons and recommendations ({len(learning)} passages)", expanded=chunk is None):
    if not learning:
        st.caption("No passages of this review were recognised as lessons or recommendations.")
    for item in learning:
        page = review.page_of(item)
        where = common.pages_label(item.page_start, item.page_end)
        common.html_block(common.card_html(item, cite=[(item.section.capitalize(), where)]))
        said_before.said_before_note(recurring.get(item.chunk_id))
        st.page_link(
            common.REVIEW_PAGE,
            label="Read in context",
            query_params={"doc": str(doc.doc_id), "page": str(page), "chunk": str(item.chunk_id)},
        )

st.subheader("Full text")
numbers = review.page_numbers
wanted = _int(params.get("page"))
if wanted not in numbers:
    wanted = review.page_of(chunk) if chunk is not None else numbers[0] if numbers else 1
if len(numbers) > 1:
    page_number = st.select_slider("Page", numbers, value=wanted)
    if page_number != wanted:
        st.query_params["page"] = str(page_number)
else:
    page_number = wanted

# The page reads as prose (unwrap turns a PDF's wrap newlines into spaces in place, so
# the passage's offsets still mark it); lists, paragraphs and headings keep their lines.
segments = review.page_segments(page_number, chunk)
flat = unwrap("".join(piece for piece, _ in segments))
parts = []
offset = 0
for piece, marked in segments:
    piece, offset = flat[offset : offset + len(piece)], offset + len(piece)
    body = to_html(piece, query) if query else common.esc(piece)
    parts.append(f'<span class="scr-marked" id="passage">{body}</span>' if marked else body)
with st.container(border=True):
    if doc.paged:
        st.caption(f"Page {page_number} of {doc.n_pages}")
    common.html_block(f'<div class="scr-page">{"".join(parts)}</div>')

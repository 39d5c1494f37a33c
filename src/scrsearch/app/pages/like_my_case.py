"""Like my case: describe a case, see the reviews that resemble it and what they learned.

The case text stays in this page's memory: in the form's text box and nowhere else.
It never goes into the URL or a link, a log, the export's file name or any file,
and ``main.py`` forgets it (:func:`common.forget_case`) as soon as another page is
opened. The download leaves it out unless the user ticks the box.
"""

from __future__ import annotations

import streamlit as st

from scrsearch.app import common
from scrsearch.themes.case_report import FILE_NAME, to_markdown, why_lines
from scrsearch.themes.cases import CaseMatch, ReviewMatch, match_case

PRIVACY = (
    "**Your case notes stay on this computer.** What you type here is used for this "
    "search only: it is never put in the address bar or in a link, never written to a "
    "file or a log, and it is cleared as soon as you leave this page. The download "
    "leaves it out unless you tick the box. Even so, describe the case without names, "
    "dates of birth or addresses: they are not needed to find similar reviews."
)
PLACEHOLDER = (
    "e.g. Two-year-old boy on a child in need plan that is about to close; mum's new "
    "partner moved in a few months ago and has a history of violence; nursery has seen "
    "bruises twice..."
)

common.require_index()
st.title("Like my case")
st.markdown(
    "Describe the case on your desk in your own words, at any length. You will see the "
    "reviews that looked like it, why each one matches, the passages that match, and what "
    "each review learned."
)
st.info(PRIVACY, icon=":material/lock:")

with st.form(common.CASE_KEY + "form"):
    st.text_area(
        "The case, in your own words",
        key=common.CASE_KEY + "text",
        height=320,
        placeholder=PLACEHOLDER,
    )
    left, right = st.columns([1, 3])
    k = left.number_input("Reviews", 1, 20, value=5, key=common.CASE_KEY + "k")
    submitted = right.form_submit_button("Find reviews like this case", type="primary")

st.button("Clear the case", icon=":material/delete:", on_click=common.forget_case)

if submitted:
    text = st.session_state.get(common.CASE_KEY + "text", "")
    if not text.strip():
        st.warning("Describe the case first.")
        st.stop()
    with common.errors_shown(), st.spinner("Reading the case and searching the reviews…"):
        st.session_state[common.CASE_KEY + "result"] = match_case(common.searcher(), text, k=int(k))
    st.session_state[common.CASE_KEY + "searched"] = text  # what the results are for

found: CaseMatch | None = st.session_state.get(common.CASE_KEY + "result")
if found is None:
    st.stop()
result: CaseMatch = found


def review_card(review: ReviewMatch, labels: dict[str, str]) -> None:
    """One review: why it matches, its matching passages, its lessons, and links."""
    meta = review.document.metadata
    details = " · ".join(
        common.esc(x) for x in (meta.partnership, meta.year, meta.review_type) if x
    )
    why = "".join(
        f'<div class="scr-meta"><b>{common.esc(label)}:</b> {common.esc(items)}</div>'
        for label, items in why_lines(review, labels)
    )
    with st.container(border=True):
        common.html_block(
            f'<div class="scr-card-title">{review.rank}. {common.esc(review.document.title)}</div>'
            f'<div class="scr-meta">{details}</div>'
            f'<div class="scr-score">score {review.score:.3f}</div>'
            f'<div class="scr-why">{why or "<div class=scr-meta>No shared theme or circumstance stated.</div>"}</div>'
        )
        one, two = st.columns(2)
        doc = {"doc": str(review.document.doc_id)}
        one.page_link(
            common.REVIEW_PAGE, label="Read the review", icon=":material/article:", query_params=doc
        )
        two.page_link(
            common.COMPARE_PAGE,
            label="Compare with other reviews",
            icon=":material/compare_arrows:",
            query_params=doc,
        )
        with st.expander(f"Matching passages ({len(review.passages)})", expanded=review.rank == 1):
            for hit in review.passages:
                common.passage_card(hit, score=f"match {hit.score:.3f}", show_review=False)
        label = f"Lessons and recommendations ({review.n_lessons})"
        with st.expander(label, expanded=review.rank == 1):
            if not review.lessons:
                st.caption("This review has no lessons or recommendations section.")
            for lesson in review.lessons:
                where = common.pages_label(lesson.chunk.page_start, lesson.chunk.page_end)
                common.html_block(
                    f'<div class="scr-meta">{common.esc(lesson.chunk.section)}'
                    f"{' · ' + common.esc(where) if where else ''}</div>"
                    f'<div class="scr-passage">{common.passage_html(lesson.chunk.text)}</div>'
                )


themes = ", ".join(result.labels.get(s, s) for s, _ in result.case.themes) or "none"
st.caption(
    f"Read the case as {result.case.windows} part(s), {result.case.tokens} word pieces in "
    f"all (the model reads at most one part at a time; every part was searched). "
    f"Themes in the case: {common.plain(themes)}."
)
if not result.reviews:
    st.warning("No review matches this case.")
    st.stop()
for review in result.reviews:
    review_card(review, result.labels)

st.divider()
include = st.checkbox(
    "Include my case description in the download",
    key=common.CASE_KEY + "export_text",
    help="Off by default: the download then holds only the reviews, passages and lessons.",
)
case_text = st.session_state.get(common.CASE_KEY + "searched", "") if include else None
st.download_button(
    "Download these reviews (Markdown)",
    to_markdown(result, case_text=case_text),
    file_name=FILE_NAME,
    mime="text/markdown",
    on_click="ignore",
    icon=":material/description:",
)

"""Compare: where else has a review's learning appeared, and what was said there?

``?doc=ID`` picks the review (George's briefing by default on the demo library);
``&other=ID`` compares it with one other review instead of all of them.
"""

from __future__ import annotations

import json

import streamlit as st

from scrsearch.app import common, learning
from scrsearch.errors import NotFoundError
from scrsearch.ingestion import library
from scrsearch.themes.compare import MIN_PAIR, THEME_BONUS, compare, default_document
from scrsearch.themes.profiles import resolve_document, theme_labels
from scrsearch.themes.recurring import annotate_lessons

ALL = "all"

common.require_index()
index = common.index()
params = st.query_params.to_dict()
rows = library.documents(index)
titles = {str(r.document.doc_id): r.document.title for r in rows}
if not titles:
    st.info("The library is empty: add files on the Library page.")
    st.stop()


def _ref(value: str | None) -> str | None:
    """A document id from the URL, which may name it by id, file name or path."""
    if not value or value in titles:
        return value or None
    try:
        return str(resolve_document(index.conn(), value).doc_id)
    except NotFoundError:
        st.warning(f"No review {common.plain(value)} in the library.")
        return None


doc_ref = _ref(params.get("doc"))
if doc_ref is None:
    start = default_document(index.conn())
    doc_ref = str(start.doc_id) if start else next(iter(titles))
other_ref = _ref(params.get("other")) or ALL

st.title("Compare reviews")
st.markdown(
    "Each lesson, finding or recommendation of the review, beside the closest passages in "
    "the other reviews; then the reviews that share most of its learning, and why."
)
left, right = st.columns(2)
chosen = (
    left.selectbox(
        "Review", list(titles), index=list(titles).index(doc_ref), format_func=titles.__getitem__
    )
    or doc_ref  # a box with an index and options always has a value; this tells mypy
)
others = [ALL, *(ref for ref in titles if ref != chosen)]
versus = (
    right.selectbox(
        "Compare with",
        others,
        index=others.index(other_ref) if other_ref in others else 0,
        format_func=lambda ref: "All other reviews" if ref == ALL else titles[ref],
    )
    or ALL
)
wanted = {"doc": chosen, **({"other": versus} if versus != ALL else {})}
if params != wanted:
    st.query_params.from_dict(wanted)  # the URL names the comparison, to share it

with common.errors_shown():
    result = compare(index, chosen, None if versus == ALL else versus, k=3)
recurring = learning.recurrences(index, result.document.doc_id)
labels = theme_labels(index.conn())


def named(slugs: tuple[str, ...]) -> str:
    """Themes by their labels, as the Themes page shows them (some labels hold commas)."""
    return "; ".join(labels.get(slug, slug) for slug in slugs)


one, two, three = st.columns(3)
one.page_link(
    common.THEMES_PAGE,
    label="Themes of this review",
    icon=":material/hub:",
    query_params={"doc": chosen},
)
two.page_link(
    common.REVIEW_PAGE,
    label="Read this review",
    icon=":material/article:",
    query_params={"doc": chosen},
)
three.download_button(
    "Download JSON",
    json.dumps(annotate_lessons(result.to_dict(), recurring), indent=2, ensure_ascii=False),
    file_name=f"scrsearch-compare-{chosen}.json",
    mime="application/json",
    on_click="ignore",
    icon=":material/download:",
)

lessons_tab, reviews_tab = st.tabs(
    [f"Lessons side by side ({len(result.lessons)})", "Similar reviews"]
)

with lessons_tab:
    if not result.lessons:
        st.info("This review has no passages to compare.")
    for n, lesson in enumerate(result.lessons, 1):
        mine, theirs = st.columns(2, gap="large")
        with mine:
            where = common.pages_label(lesson.chunk.page_start, lesson.chunk.page_end)
            common.html_block(
                common.card_html(
                    lesson.chunk,
                    title=f"L{n} · {lesson.chunk.section}",
                    cite=[(where,)],
                    score=f"themes: {named(lesson.themes) or 'no theme'}",
                )
            )
            learning.said_before_note(recurring.get(lesson.chunk.chunk_id))
        with theirs:
            if not lesson.matches:
                st.caption("No close passage.")
            for match in lesson.matches:
                hit = match.hit
                shared = named(match.shared_themes)
                common.passage_card(
                    hit,
                    score=f"score {hit.score:.2f} (similarity {match.similarity:.2f}"
                    f"{', shared: ' + shared if shared else ''})",
                )
        st.divider()

with reviews_tab:
    st.caption(
        f"A pair scores its similarity, plus {THEME_BONUS} when the two passages share a "
        f"theme. A review's score is the sum of its best pair for each lesson (pairs of at "
        f"least {MIN_PAIR}) divided by the number of lessons."
    )
    order = {lesson.chunk.chunk_id: n for n, lesson in enumerate(result.lessons, 1)}
    for rank, review in enumerate(result.similar_reviews, 1):
        with st.container(border=True):
            year = review.document.metadata.year
            common.html_block(
                f'<div class="scr-card-title">{rank}. {common.esc(review.document.title)}'
                f"{' (' + common.esc(year) + ')' if year else ''}</div>"
                f'<div class="scr-meta">score {review.score:.3f} · '
                f"{len(review.pairs)} of {len(result.lessons)} lessons matched</div>"
                f'<div class="scr-meta">shared themes: '
                f"{common.esc(named(review.shared_themes) or 'none')}</div>"
            )
            st.progress(min(1.0, review.score))
            with st.expander("The passage pairs behind this score"):
                for pair in review.pairs:
                    shared = named(pair.shared_themes)
                    head = (
                        f"L{order.get(pair.lesson.chunk_id, '?')} ↔ score {pair.score:.2f} "
                        f"(similarity {pair.similarity:.2f}"
                        f"{', shared: ' + shared if shared else ''})"
                    )
                    common.html_block(common.card_html(pair.passage, cite=[(head,)]))
            if versus == ALL:
                st.page_link(
                    common.COMPARE_PAGE,
                    label="Compare side by side with this review",
                    icon=":material/compare_arrows:",
                    query_params={"doc": chosen, "other": str(review.document.doc_id)},
                )

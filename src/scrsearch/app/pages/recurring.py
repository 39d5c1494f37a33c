"""Recurring learning: which lessons keep coming back across reviews, and since when.

- No parameters: the groups, most reviews first, with filters (years, type,
  partnership, nation, theme, section, at least N reviews) and CSV/Markdown export.
- ``?group=ID``: one group, every passage cited, with links to the review pages.
"""

from __future__ import annotations

import streamlit as st

from scrsearch.app import common, learning
from scrsearch.themes.filters import ReviewFilters
from scrsearch.themes.learning_export import recurring_csv, recurring_markdown
from scrsearch.themes.profiles import theme_labels
from scrsearch.themes.recurring import (
    DEFAULT_GROUPING,
    MIN_REVIEWS,
    RecurringReport,
    recurring_groups,
)

#: Groups listed before "Show more".
PAGE_SIZE = 25
SECTIONS = (None, "lessons", "findings", "recommendations")

common.require_index()
index = common.index()
params = st.query_params.to_dict()
labels = theme_labels(index.conn())
found = learning.groups(index)


def named(slugs: tuple[str, ...]) -> str:
    return "; ".join(labels.get(s, s) for s in slugs)


def years(group) -> str:  # type: ignore[no-untyped-def]
    if group.first_year is None:
        return "years unknown"
    if group.first_year == group.last_year:
        return str(group.first_year)
    return f"{group.first_year}–{group.last_year}"


def facts(group) -> str:  # type: ignore[no-untyped-def]
    """The group's reviews, years, partnerships, types and themes, escaped."""
    parts = [f"{group.reviews} reviews", years(group), f"{len(group.passages)} passages"]
    if group.partnerships:
        parts.append("partnerships: " + ", ".join(group.partnerships))
    if group.review_types:
        parts.append("types: " + ", ".join(group.review_types))
    if group.themes:
        parts.append("themes: " + named(group.themes))
    return common.esc(" · ".join(parts))


def passages(group) -> None:  # type: ignore[no-untyped-def]
    for hit in group.passages:
        central = (
            " · the most central passage"
            if hit.chunk.chunk_id == group.central.chunk.chunk_id
            else ""
        )
        common.passage_card(hit, score=f"similarity to the group {hit.score:.2f}{central}")


# --- One group ---------------------------------------------------------------------

wanted = params.get("group")
if wanted:
    group = next((g for g in found.groups if str(g.id) == wanted), None)
    st.page_link(common.RECURRING_PAGE, label="All groups", icon=":material/arrow_back:")
    if group is None:
        st.error(f"No recurring group {common.plain(wanted)} in this library version.")
        st.stop()
    st.title(f"Recurring learning: group {group.id}")
    common.html_block(
        f'<div class="scr-card-title">{common.esc(", ".join(group.terms) or "Group " + str(group.id))}</div>'
        f'<div class="scr-meta">{facts(group)}</div>'
    )
    report = RecurringReport(
        (group,), DEFAULT_GROUPING, ReviewFilters(), None, MIN_REVIEWS, found.pool_passages
    )
    common.download_pair(
        recurring_csv(report, labels),
        recurring_markdown(report, labels),
        f"scrsearch-recurring-{group.id}",
    )
    passages(group)
    st.stop()

# --- Every group ---------------------------------------------------------------------

st.title("Recurring learning")
st.markdown(
    "Lessons, findings and recommendations from **different reviews that make the same "
    "point**, grouped by meaning, themes and wording. A group needs at least two reviews; "
    "the groups with most reviews come first. Open a group to read every passage in it."
)
filters = learning.filter_form(index, "recurring")
one, two = st.columns(2)
section = one.selectbox(
    "Section",
    SECTIONS,
    index=SECTIONS.index(params.get("section")) if params.get("section") in SECTIONS else 0,
    format_func=lambda s: "lessons, findings and recommendations" if s is None else s,
    key="recurring_section",
)
least = two.number_input(
    "At least this many reviews",
    min_value=MIN_REVIEWS,
    max_value=100,
    value=int(params["min"]) if params.get("min", "").isdigit() and int(params["min"]) >= 2 else 2,
    key="recurring_min",
)
learning.keep_in_url(filters, section=section, min=str(least) if least != MIN_REVIEWS else None)

with common.errors_shown():
    report = recurring_groups(index, filters=filters, section=section, min_reviews=int(least))
st.caption(
    f"{len(report.groups)} groups, from {found.pool_passages} lessons, findings and "
    f"recommendations ({common.plain(filters.describe())})."
)
if not report.groups:
    st.info("No point is made by two or more of the reviews chosen. Try fewer filters.")
    st.stop()
common.download_pair(
    recurring_csv(report, labels), recurring_markdown(report, labels), "scrsearch-recurring"
)
shown = st.session_state.get("recurring_shown", PAGE_SIZE)
for group in report.groups[:shown]:
    with st.container(border=True):
        common.html_block(
            f'<div class="scr-card-title">{group.id}. {common.esc(", ".join(group.terms) or "Group")}</div>'
            f'<div class="scr-meta">{facts(group)}</div>'
            f'<div class="scr-passage">“{common.passage_html(group.central.chunk.text)}”</div>'
            f'<div class="scr-score">the most central passage: '
            f"{common.esc(group.central.document.title)}</div>"
        )
        st.page_link(
            common.RECURRING_PAGE,
            label=f"Every passage ({len(group.passages)}) with its citation",
            icon=":material/repeat:",
            query_params={"group": str(group.id)},
        )
if len(report.groups) > shown and st.button(f"Show {PAGE_SIZE} more"):
    st.session_state["recurring_shown"] = shown + PAGE_SIZE
    st.rerun()

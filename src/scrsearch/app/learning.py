"""What the Recurring learning and Trends pages share, and the "said before" note that
the Review and Compare pages show under a lesson.

The groups of a generation are computed once (and cached beside it by the library);
the app starts that in the background when it opens (:func:`start_groups`), as it
does the model, so the pages open at once.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import streamlit as st

from scrsearch import Index
from scrsearch.app import common
from scrsearch.records import NATIONS, REVIEW_TYPES
from scrsearch.themes.filters import ReviewFilters
from scrsearch.themes.recurring import GroupSet, Recurrence, all_groups, said_before


@st.cache_resource(show_spinner=False, max_entries=2)
def _groups_future(index: str, generation: int, _opened: Index) -> Future[GroupSet]:
    """Compute (or read) the generation's groups in the background; once per process.

    ``_opened`` is the app's cached view of that generation (not part of the cache key),
    so the groups are read from the index the pages already hold open.
    """

    def load() -> GroupSet:
        return all_groups(_opened)

    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="scrsearch-groups").submit(load)


def start_groups(generation: int) -> None:
    """Begin computing the current generation's groups if that has not begun."""
    opened = common.index()
    _groups_future(str(opened.dir), opened.manifest.generation, opened)


def groups(index: Index) -> GroupSet:
    """The generation's groups; waits, with a spinner, while they are computed."""
    future = _groups_future(str(index.dir), index.manifest.generation, index)
    if not future.done():
        with st.spinner("Grouping the lessons of every review (once per library version)…"):
            future.exception()
    if future.exception() is not None:
        _groups_future.clear()
    with common.errors_shown():
        return future.result()


def recurrences(index: Index, doc_id: int) -> dict[int, Recurrence]:
    """Each of a review's passages that is in a recurring group: the group and the
    earlier reviews in it."""
    groups(index)  # computed in the background: wait for it here, with a spinner
    with common.errors_shown():
        return said_before(index, doc_id)


def said_before_note(recurrence: Recurrence | None) -> None:
    """Under a lesson: its recurring group, and how many earlier reviews made the point,
    with links to them."""
    if recurrence is None:
        return
    group = recurrence.group
    earlier = recurrence.earlier
    if recurrence.year is None:
        said = "this review has no year, so no review is counted as earlier"
    elif earlier:
        said = (
            f"said before by {len(earlier)} earlier review{'s' if len(earlier) != 1 else ''}"
            f" (first in {earlier[0].document.metadata.year})"
        )
    else:
        said = "no earlier review made this point: this is its first appearance"
    common.html_block(
        f'<div class="scr-meta">↻ Recurring learning, group {group.id} '
        f"({group.reviews} reviews): {common.esc(said)}</div>"
    )
    with st.popover(f"Said before? Group {group.id}", icon=":material/history:"):
        st.markdown(f"**{common.plain(group.label)}**")
        st.page_link(
            common.RECURRING_PAGE,
            label="Open the group",
            icon=":material/repeat:",
            query_params={"group": str(group.id)},
        )
        for hit in earlier:
            st.page_link(
                common.REVIEW_PAGE,
                label=f"{hit.document.title} ({hit.document.metadata.year})",
                icon=":material/article:",
                query_params=common.review_params(hit),
            )


def filter_form(index: Index, key: str, *, theme_choice: bool = True) -> ReviewFilters:
    """Year range, type, partnership, nation (and theme) pickers, kept in the URL."""
    from scrsearch.index import store
    from scrsearch.themes.profiles import theme_labels

    params = st.query_params.to_dict()
    current = ReviewFilters.from_params(params)
    conn = index.conn()
    years = store.facet_values(conn, "year")
    labels = theme_labels(conn)
    with st.expander("Filters", expanded=current.active(), icon=":material/filter_list:"):
        first, second, third = st.columns(3)
        span: tuple[Any, Any] = (None, None)
        if len(years) > 1:
            low = current.year_from if current.year_from in years else years[0]
            high = current.year_to if current.year_to in years else years[-1]
            span = first.select_slider("Years", years, value=(low, high), key=f"{key}_years")
        kinds = [None, *(t for t in REVIEW_TYPES if t in store.facet_values(conn, "review_type"))]
        kind = second.selectbox(
            "Review type",
            kinds,
            index=kinds.index(current.review_type) if current.review_type in kinds else 0,
            format_func=lambda k: "any" if k is None else k,
            key=f"{key}_type",
        )
        nations = [None, *(n for n in NATIONS if n in store.facet_values(conn, "nation"))]
        nation = third.selectbox(
            "Nation",
            nations,
            index=nations.index(current.nation) if current.nation in nations else 0,
            format_func=lambda n: "any" if n is None else n,
            key=f"{key}_nation",
        )
        partnership = first.text_input(
            "Partnership contains", value=current.partnership or "", key=f"{key}_partnership"
        )
        theme = current.theme if current.theme in labels else None
        if theme_choice:
            slugs = [None, *labels]
            theme = second.selectbox(
                "Theme",
                slugs,
                index=slugs.index(theme),
                format_func=lambda s: "any" if s is None else labels[s],
                key=f"{key}_theme",
            )
    whole = years and span == (years[0], years[-1])
    chosen = ReviewFilters(
        year_from=None if whole or span[0] is None else int(span[0]),
        year_to=None if whole or span[1] is None else int(span[1]),
        review_type=kind,
        partnership=partnership.strip() or None,
        nation=nation,
        theme=theme,
    )
    return chosen


def keep_in_url(filters: ReviewFilters, **extra: str | None) -> None:
    """Put the filters (and ``extra`` parameters) in the URL, so the view can be shared."""
    wanted = {**filters.to_params(), **{k: v for k, v in extra.items() if v}}
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)

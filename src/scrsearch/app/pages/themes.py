"""Themes: which reviews share a theme, and what each says about it.

- No parameters: a heatmap of themes by review. Click a cell (or pick a review and
  a theme below it) to read that review's passages on that theme.
- ``?doc=ID``: that review's theme profile.
- ``?theme=SLUG``: the theme's strongest passages across reviews, with citations
  and export.
"""

from __future__ import annotations

import altair as alt
import streamlit as st

from scrsearch.app import common
from scrsearch.present import export
from scrsearch.records import Hit
from scrsearch.themes.profiles import review_profile, theme_counts, theme_matrix, theme_passages

common.require_index()
index = common.index()
conn = index.conn()
params = st.query_params.to_dict()

with common.errors_shown():
    counts = theme_counts(conn, index.dir)
labels = {c.slug: c.label for c in counts}
descriptions = {c.slug: c.description for c in counts}


def passage_card(hit: Hit, *, show_review: bool = True) -> None:
    """One passage with its citation and a link to read it in the review."""
    common.passage_card(hit, score=f"confidence {hit.score:.2f}", show_review=show_review)


# --- One theme across reviews --------------------------------------------------------

slug = params.get("theme")
if slug:
    if slug not in labels:
        st.error(f"Unknown theme {common.plain(slug)}.")
        st.page_link(common.THEMES_PAGE, label="All themes", icon=":material/arrow_back:")
        st.stop()
    st.page_link(common.THEMES_PAGE, label="All themes", icon=":material/arrow_back:")
    st.title(labels[slug])
    st.caption(common.plain(descriptions[slug]))
    per_review = st.radio("Passages per review", (1, 2), index=1, horizontal=True)
    with common.errors_shown():
        hits = theme_passages(conn, slug, per_review=per_review, limit=50, index_dir=index.dir)
    n_reviews = len({h.document.doc_id for h in hits})
    st.caption(f"The strongest {len(hits)} passages, from {n_reviews} reviews.")
    if not hits:
        st.info("No passage in the library was tagged with this theme.")
        st.stop()
    about = f"theme: {labels[slug]}"
    common.download_pair(
        export.to_csv(hits),
        export.to_markdown(hits, title=labels[slug], about=about),
        f"scrsearch-theme-{slug}",
    )
    for hit in hits:
        passage_card(hit)
    st.stop()

# --- One review's profile ----------------------------------------------------------

doc_ref = params.get("doc")
if doc_ref:
    with common.errors_shown():
        profile = review_profile(conn, doc_ref, index.dir)
    st.page_link(common.THEMES_PAGE, label="All themes", icon=":material/arrow_back:")
    st.title(f"Themes of {profile.document.title}")
    st.page_link(
        common.COMPARE_PAGE,
        label="Compare this review with the others",
        icon=":material/compare_arrows:",
        query_params={"doc": str(profile.document.doc_id)},
    )
    if not profile.themes:
        st.info("No passage of this review was tagged with a theme.")
    st.caption(
        f"{len(profile.themes)} themes in {profile.n_passages} passages. Strength is the mean "
        "confidence of the review's three strongest passages on the theme."
    )
    for entry in profile.themes:
        with st.expander(
            f"{entry.label} · strength {entry.strength:.2f} · {len(entry.passages)} passages"
        ):
            st.page_link(
                common.THEMES_PAGE,
                label="This theme in other reviews",
                icon=":material/hub:",
                query_params={"theme": entry.slug},
            )
            for hit in entry.passages:
                passage_card(hit, show_review=False)
    st.stop()

# --- The heatmap -------------------------------------------------------------------

st.title("Themes across the reviews")
st.markdown(
    "Each passage is tagged with the themes it is about. Darker cells mean a review "
    "covers a theme more strongly. **Click a cell** to read that review's passages on "
    "that theme."
)
with common.errors_shown():
    cells = theme_matrix(conn, index.dir)
if not cells:
    st.info("No passage in the library has been tagged with a theme yet.")
    st.stop()
for cell in cells:
    # Short row labels leave the columns room on a laptop screen: the review's name
    # ("Child K", "Alex Kelly") where it has one, else its title, then type and year.
    name = cell["review_name"] or cell["title"]
    name = name if len(name) <= 32 else name[:31] + "…"
    kind = f"{cell['review_type']} " if cell["review_type"] else ""
    cell["review"] = f"{name} · {kind}{cell['year'] or 'n.d.'} (#{cell['doc_id']})"

pick = alt.selection_point(fields=["doc_id", "slug"], name="cell")
chart = (
    alt.Chart(alt.Data(values=cells))
    .mark_rect(stroke="white", strokeWidth=1)
    .encode(
        x=alt.X(
            "label:N",
            title=None,
            sort=[c.label for c in counts],
            axis=alt.Axis(labelAngle=-90, labelLimit=240, labelOverlap=False, orient="top"),
        ),
        y=alt.Y("review:N", title=None, axis=alt.Axis(labelLimit=280, labelOverlap=False)),
        color=alt.Color(
            "strength:Q", scale=alt.Scale(scheme="blues", domain=[0, 1]), title="Strength"
        ),
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.45)),
        tooltip=[
            alt.Tooltip("title:N", title="Review"),
            alt.Tooltip("label:N", title="Theme"),
            alt.Tooltip("passages:Q", title="Passages"),
            alt.Tooltip("strength:Q", title="Strength", format=".2f"),
        ],
    )
    .add_params(pick)
    .properties(width=alt.Step(15), height=alt.Step(24))
)
event = st.altair_chart(chart, on_select="rerun", key="heatmap", width="content")

chosen: tuple[int, str] | None = None
selection = getattr(event, "selection", None) or {}
picked = selection.get("cell") if isinstance(selection, dict) else None
if picked:
    chosen = (int(picked[0]["doc_id"]), str(picked[0]["slug"]))

reviews: dict[int, str] = {}
for cell in cells:
    reviews.setdefault(cell["doc_id"], cell["title"])
st.markdown("**Or choose a review and a theme:**")
left, right = st.columns(2)
doc_choice = left.selectbox(
    "Review",
    [None, *reviews],
    format_func=lambda d: "…" if d is None else reviews[d],
    key="themes_review",
)
present = [
    c.slug for c in counts if any(x["slug"] == c.slug and x["doc_id"] == doc_choice for x in cells)
]
slug_choice = right.selectbox(
    "Theme",
    [None, *(present if doc_choice is not None else [c.slug for c in counts if c.passages])],
    format_func=lambda s: "…" if s is None else labels[s],
    key="themes_theme",
)
if doc_choice is not None and slug_choice is not None:
    chosen = (doc_choice, slug_choice)
elif doc_choice is None and slug_choice is not None:
    st.page_link(
        common.THEMES_PAGE,
        label=f"Open the theme: {labels[slug_choice]}",
        icon=":material/hub:",
        query_params={"theme": slug_choice},
    )

if chosen is not None:
    doc_id, chosen_slug = chosen
    with common.errors_shown():
        profile = review_profile(conn, doc_id, index.dir)
    on_theme = next((e for e in profile.themes if e.slug == chosen_slug), None)
    st.subheader(f"{labels.get(chosen_slug, chosen_slug)} in {profile.document.title}")
    one, two = st.columns(2)
    one.page_link(
        common.THEMES_PAGE,
        label="All themes of this review",
        icon=":material/hub:",
        query_params={"doc": str(doc_id)},
    )
    two.page_link(
        common.THEMES_PAGE,
        label="This theme in every review",
        icon=":material/hub:",
        query_params={"theme": chosen_slug},
    )
    if on_theme is None:
        st.info("This review has no passage tagged with this theme.")
    else:
        for hit in on_theme.passages:
            passage_card(hit, show_review=False)

st.subheader("All themes")
table = [
    {"Theme": c.label, "Group": c.group, "Passages": c.passages, "Reviews": c.reviews}
    for c in counts
]
st.dataframe(table, hide_index=True, width="stretch")

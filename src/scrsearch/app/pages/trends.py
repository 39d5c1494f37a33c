"""Trends: for each theme and year, how many of that year's reviews carry the theme.

An Altair chart of the share of each year's reviews, with the counts on hover and
in the table under it (a share of two reviews is not a trend). Click a point (or
pick a theme and a year under the chart) to read the passages behind it.
``?themes=a,b&year=2019&theme_pick=a`` and the filters are kept in the URL.
"""

from __future__ import annotations

import altair as alt
import streamlit as st

from scrsearch.app import common, learning
from scrsearch.themes.learning_export import trends_csv, trends_markdown
from scrsearch.themes.profiles import theme_counts
from scrsearch.themes.trends import theme_trends, year_passages

#: Themes charted when none are chosen: those in most reviews.
DEFAULT_THEMES = 5

common.require_index()
index = common.index()
params = st.query_params.to_dict()
with common.errors_shown():
    counts = theme_counts(index.conn(), index.dir)
labels = {c.slug: c.label for c in counts}
by_reviews = [c.slug for c in sorted(counts, key=lambda c: (-c.reviews, c.slug)) if c.reviews]

st.title("Trends")
st.markdown(
    "For each theme and year: how many of the reviews published that year carry the "
    "theme, out of how many reviews that year. **Counts are always shown with the "
    "share**, so that a year with two reviews does not look like a trend. "
    "**Click a point** to read the passages behind it."
)
filters = learning.filter_form(index, "trends", theme_choice=False)
asked = [s for s in params.get("themes", "").split(",") if s in labels]
chosen = st.multiselect(
    "Themes",
    list(labels),
    default=asked or by_reviews[:DEFAULT_THEMES],
    format_func=lambda slug: labels.get(slug, slug),
    key="trends_themes",
)
learning.keep_in_url(
    filters, themes=",".join(chosen) if chosen != by_reviews[:DEFAULT_THEMES] else None
)
if not chosen:
    st.info("Choose one or more themes.")
    st.stop()
with common.errors_shown():
    report = theme_trends(index, chosen, filters=filters)
if not report.reviews_per_year:
    st.info("No review with a year matches these filters.")
    st.stop()

rows = [
    {
        "slug": trend.slug,
        "theme": trend.label,
        "year": y.year,
        "reviews": y.reviews,
        "total": y.total_reviews,
        "share": round(y.share, 4),
        "counts": f"{y.reviews} of {y.total_reviews}",
    }
    for trend in report.themes
    for y in trend.years
]
pick = alt.selection_point(fields=["slug", "year"], name="point")
base = alt.Chart(alt.Data(values=rows)).encode(
    x=alt.X("year:O", title="Year published", axis=alt.Axis(labelAngle=0)),
    y=alt.Y(
        "share:Q",
        title="Share of that year's reviews",
        axis=alt.Axis(format="%"),
        scale=alt.Scale(domain=[0, 1]),
    ),
    color=alt.Color(
        "theme:N", title="Theme", legend=alt.Legend(orient="bottom", columns=2, labelLimit=320)
    ),
    tooltip=[
        alt.Tooltip("theme:N", title="Theme"),
        alt.Tooltip("year:O", title="Year"),
        alt.Tooltip("counts:N", title="Reviews with the theme"),
        alt.Tooltip("share:Q", title="Share", format=".0%"),
    ],
)
chart = (
    base.mark_line(strokeWidth=2)
    + base.mark_point(size=90, filled=True)
    .encode(opacity=alt.condition(pick, alt.value(1.0), alt.value(0.5)))
    .add_params(pick)
).properties(height=360)
event = st.altair_chart(chart, on_select="rerun", key="trends_chart", width="stretch")

table = {"Reviews that year": {str(y): str(n) for y, n in report.reviews_per_year.items()}}
for trend in report.themes:
    table[trend.label] = {str(y.year): f"{y.reviews} ({y.share:.0%})" for y in trend.years}
st.dataframe(
    [{"": name, **cells} for name, cells in table.items()], hide_index=True, width="stretch"
)
if report.undated:
    st.caption(f"{report.undated} reviews without a year are not counted.")

common.download_pair(
    lambda: trends_csv(index, report),
    lambda: trends_markdown(index, report),
    "scrsearch-trends",
)

picked_point: tuple[str, int] | None = None
selection = getattr(event, "selection", None) or {}
points = selection.get("point") if isinstance(selection, dict) else None
if points:
    picked_point = (str(points[0]["slug"]), int(points[0]["year"]))

st.markdown("**Or choose a theme and a year:**")
one, two = st.columns(2)
theme_pick = one.selectbox(
    "Theme",
    [None, *chosen],
    format_func=lambda s: "…" if s is None else labels[s],
    key="trends_pick_theme",
)
year_pick = two.selectbox(
    "Year",
    [None, *report.reviews_per_year],
    format_func=lambda y: "…" if y is None else str(y),
    key="trends_pick_year",
)
if theme_pick is not None and year_pick is not None:
    picked_point = (theme_pick, int(year_pick))

if picked_point is not None:
    slug, year = picked_point
    cell = next(y for y in report.theme(slug).years if y.year == year)
    st.subheader(f"{labels[slug]} in {year}: {cell.reviews} of {cell.total_reviews} reviews")
    if not cell.reviews:
        st.info("No review of that year carries this theme.")
    for hit in year_passages(index, cell, per_review=3):
        common.passage_card(hit, score=f"theme confidence {hit.score:.2f}")

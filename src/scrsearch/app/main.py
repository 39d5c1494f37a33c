"""The scrsearch web app's entry: ``scrsearch app``, or ``streamlit run app.py`` in a checkout.

It serves the index named by ``$SCRSEARCH_INDEX`` (else ``./index``). The pages are
scripts in ``scrsearch/app/pages/`` and thin clients of the library. To add a page,
put its script there and append it to :func:`pages`.
"""

from __future__ import annotations

import streamlit as st

from scrsearch.app import common, learning


def pages() -> list[st.Page]:
    """The app's pages, in the order of the sidebar."""
    return [
        st.Page(common.SEARCH_PAGE, title="Search", icon=":material/search:", default=True),
        st.Page(common.REVIEW_PAGE, title="Review", icon=":material/article:", url_path="review"),
        st.Page(
            common.LIBRARY_PAGE,
            title="Library",
            icon=":material/library_books:",
            url_path="library",
        ),
        st.Page(common.EXPORT_PAGE, title="Export", icon=":material/download:", url_path="export"),
        st.Page(common.THEMES_PAGE, title="Themes", icon=":material/hub:", url_path="themes"),
        st.Page(
            common.COMPARE_PAGE,
            title="Compare",
            icon=":material/compare_arrows:",
            url_path="compare",
        ),
        st.Page(
            common.RECURRING_PAGE,
            title="Recurring learning",
            icon=":material/repeat:",
            url_path="recurring",
        ),
        st.Page(
            common.TRENDS_PAGE, title="Trends", icon=":material/trending_up:", url_path="trends"
        ),
    ]


def main() -> None:
    """Run one page view: navigation, the shared style, the model warming up, the page."""
    st.set_page_config(page_title="scrsearch", page_icon="🔎", layout="wide")
    page = st.navigation(pages())
    st.html(common.CSS)
    current = common.manifest()
    if current is not None:
        common.start_model(current.model)  # load in the background while the user types
        learning.start_groups(current.generation)  # recurring learning, also in the background
        st.sidebar.caption(
            f"{current.counts.get('documents', 0)} documents · "
            f"{current.counts.get('passages', 0)} passages"
        )
    page.run()


if __name__ == "__main__":  # streamlit runs this file as a script
    main()

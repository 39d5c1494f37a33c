"""The scrsearch web app: ``streamlit run app.py`` or ``scrsearch app``.

It serves the index named by ``$SCRSEARCH_INDEX`` (else ``./index``). The pages
live in ``app_pages/`` and are thin clients of the ``scrsearch`` library. To add
a page, append it to ``PAGES``.
"""

from __future__ import annotations

import streamlit as st
from app_pages import common

st.set_page_config(page_title="scrsearch", page_icon="🔎", layout="wide")

PAGES = [
    st.Page(common.SEARCH_PAGE, title="Search", icon=":material/search:", default=True),
    st.Page(common.REVIEW_PAGE, title="Review", icon=":material/article:", url_path="review"),
    st.Page(
        common.LIBRARY_PAGE, title="Library", icon=":material/library_books:", url_path="library"
    ),
    st.Page(common.EXPORT_PAGE, title="Export", icon=":material/download:", url_path="export"),
    st.Page("app_pages/themes.py", title="Themes", icon=":material/hub:", url_path="themes"),
    st.Page(
        "app_pages/compare.py",
        title="Compare",
        icon=":material/compare_arrows:",
        url_path="compare",
    ),
]

page = st.navigation(PAGES)
st.html(common.CSS)
current = common.manifest()
if current is not None:
    common.start_model(current.model)  # load in the background while the user types
    st.sidebar.caption(
        f"{current.counts.get('documents', 0)} documents · "
        f"{current.counts.get('passages', 0)} passages"
    )
page.run()

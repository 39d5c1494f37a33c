"""The scrsearch web app's entry: ``scrsearch app``, or ``streamlit run app.py`` in a checkout.

It serves the index named by ``$SCRSEARCH_INDEX`` (else ``./index``). The pages are
scripts in ``scrsearch/app/pages/`` and thin clients of the library. To add a page,
put its script there and add it to :data:`scrsearch.app.common.PAGES`.
"""

from __future__ import annotations

import streamlit as st

from scrsearch.app import common, learning


def pages() -> list[st.Page]:
    """The app's pages, in the order of the sidebar (:data:`common.PAGES`)."""
    default = next(iter(common.PAGES))
    return [
        st.Page(
            common.page_path(name),
            title=title,
            icon=icon,
            default=name == default,
            url_path=None if name == default else common.url_path(name),
        )
        for name, (title, icon) in common.PAGES.items()
    ]


def main() -> None:
    """Run one page view: navigation, the shared style, the model warming up, the page."""
    st.set_page_config(page_title="scrsearch", page_icon="🔎", layout="wide")
    page = st.navigation(pages())
    if page.url_path != common.url_path("like_my_case"):
        common.forget_case()  # the case text is kept only while its page is open
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

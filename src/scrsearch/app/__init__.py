"""The Streamlit web app: a thin client of the library, shipped inside the package.

``main.py`` is the entry script (``scrsearch app`` runs it); ``pages/`` holds one
script per page; ``common.py`` holds what the pages share: the cached model and
searcher, the page registry and the one passage-card renderer.

May import: every room of the library. Nothing imports it but the top-level
``app.py`` shim.
"""

"""The Streamlit web app: a thin client of the library, shipped inside the package.

``main.py`` is the entry script (``scrsearch app`` runs it); ``pages/`` holds one
script per page; ``learning.py`` computes and caches recurring-learning groups per generation for the
Recurring learning, Trends, Review and Compare pages; ``common.py`` holds what the
pages share: the cached model and
searcher, the page registry and the one passage-card renderer.

May import: every library room, and the package's public names (``from scrsearch
import ...``); not the other clients (cli, api). Nothing imports it but the top-level
``app.py`` shim; ``scrsearch app`` runs ``main.py`` by its path. (tests/test_architecture.py
checks the room order.)
"""

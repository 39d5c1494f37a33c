"""scrsearch: offline semantic and keyword search over UK child safeguarding case reviews.

The library comes first; the CLI and the Streamlit app are thin clients of it::

    from scrsearch import ingest, Searcher, Filters, load_config

    report = ingest(["corpus/"], config=load_config(index="index"))
    hits = Searcher.open("index").search("escalation policy not used", k=5)
"""

from .config import SETTINGS, Config, load_config
from .embed.base import Embedder
from .embed.hashing import HashEmbedder
from .embed.registry import load_embedder
from .errors import ScrsearchError
from .index.generations import Index
from .ingestion.pipeline import FileResult, IngestReport, ingest
from .records import Chunk, Document, Extracted, Hit, Metadata, Page
from .search.searcher import MODES, Filters, Searcher

__all__ = [
    "MODES",
    "SETTINGS",
    "Chunk",
    "Config",
    "Document",
    "Embedder",
    "Extracted",
    "FileResult",
    "Filters",
    "HashEmbedder",
    "Hit",
    "Index",
    "IngestReport",
    "Metadata",
    "Page",
    "ScrsearchError",
    "Searcher",
    "load_config",
    "load_embedder",
    "ingest",
]

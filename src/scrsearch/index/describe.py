"""What an index holds, as JSON-ready dicts: the one shape of ``scrsearch docs --json``,
``scrsearch info --json`` and the HTTP API's ``/docs`` and ``/info``."""

from __future__ import annotations

from typing import Any

from . import store
from .generations import Index


def index_info(index: Index) -> dict[str, Any]:
    """The index's folder, its manifest (generation, model, counts, versions) and size."""
    files = [index.dir / index.manifest.sqlite_name, index.dir / index.manifest.faiss_name]
    return {
        "index": str(index.dir.resolve()),
        **index.manifest.to_dict(),
        "size_mb": round(sum(f.stat().st_size for f in files if f.exists()) / 1e6, 2),
    }


def document_list(index: Index) -> list[dict[str, Any]]:
    """Every indexed document with its metadata, format, pages and passage count."""
    return [
        {
            "doc_id": d.doc_id,
            "title": d.title,
            "source": d.source,
            **d.metadata.to_dict(),
            "format": d.format,
            "pages": d.n_pages if d.paged else None,
            "passages": n,
            **extra,
        }
        for d, n, extra in store.list_documents(index.conn())
    ]

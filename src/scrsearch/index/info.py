"""What an index is: its folder, manifest (model, dimension, counts) and size on disk."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .generations import Index, Manifest


@dataclass(frozen=True)
class IndexInfo:
    """One index's current generation, as ``scrsearch info`` shows it.

    Attributes:
        index: the index folder, resolved.
        manifest: the current generation's manifest.
        size_mb: the generation's SQLite and FAISS files, in MB (10^6 bytes), to 2 places.
    """

    index: str
    manifest: Manifest
    size_mb: float

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``scrsearch info --json``: the folder, the manifest, the size."""
        return {"index": self.index, **self.manifest.to_dict(), "size_mb": self.size_mb}


def index_info(index: Index | str | Path) -> IndexInfo:
    """Describe an opened index's generation, or the current one of a folder.

    Raises :class:`IndexNotFoundError` for a folder with no index.
    """
    idx = index if isinstance(index, Index) else Index.open(index)
    files = [idx.dir / idx.manifest.sqlite_name, idx.dir / idx.manifest.faiss_name]
    size = sum(f.stat().st_size for f in files if f.exists())
    return IndexInfo(str(idx.dir.resolve()), idx.manifest, round(size / 1e6, 2))

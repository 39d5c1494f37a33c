"""Index housekeeping: files inside an index folder that nothing refers to any more.

An index folder holds, beside its generations, the copies of documents fetched
from the web (``fetched/<sha256 prefix>/<name>``, written by
:mod:`scrsearch.ingestion.fetch`) and, beside them, the downloader's state file
(:data:`FETCH_STATE`: each URL's validators and copy, kept by
:mod:`scrsearch.ingestion.fetch_state`). Once no document of the current generation
refers to a copy, :func:`sweep_fetched` deletes it (the state file stays); the write transaction
(:mod:`scrsearch.index.transaction`) calls it at the end of every change, under
the writer lock, so no other writer is fetching meanwhile.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

from .generations import read_manifest

#: The index sub-folder that holds fetched files.
FETCHED_DIR = "fetched"

#: The downloader's state file inside FETCHED_DIR (SQLite: URL -> validators, copy).
FETCH_STATE = "downloads.sqlite"

#: The downloader's state file inside FETCHED_DIR (SQLite: URL -> validators, copy).
FETCH_STATE = "downloads.sqlite"

#: Prefix of a download in progress (see :func:`scrsearch.ingestion.fetch.fetch_url`).
PART_PREFIX = ".part-"

#: Seconds after which an unfinished download is taken as left by a crash.
STALE_PART_SECONDS = 3600


def sweep_fetched(index_dir: Path) -> list[Path]:
    """Delete fetched files no document of the current generation refers to.

    The caller must hold the writer lock. Downloads left unfinished by a crash
    (over an hour old) go too. Returns the folders removed.
    """
    folder = index_dir / FETCHED_DIR
    if not folder.is_dir():
        return []
    referenced = _referenced_folders(index_dir)
    if referenced is None:
        return []  # cannot tell what is in use: delete nothing
    removed = []
    for child in folder.iterdir():
        if child.name.startswith(PART_PREFIX):
            if time.time() - child.stat().st_mtime > STALE_PART_SECONDS:
                child.unlink()
            continue
        if child.is_dir() and str(child.resolve()) not in referenced:
            shutil.rmtree(child, ignore_errors=True)
            removed.append(child)
    return removed


def _referenced_folders(index_dir: Path) -> set[str] | None:
    """The folders of the fetched copies the current generation's documents name
    (none without a generation), or None when its database cannot be read."""
    manifest = read_manifest(index_dir)
    if manifest is None:
        return set()
    try:
        conn = sqlite3.connect(f"file:{index_dir / manifest.sqlite_name}?mode=ro", uri=True)
        try:
            rows = conn.execute(
                "SELECT json_extract(extra, '$.file') FROM documents "
                "WHERE json_extract(extra, '$.file') IS NOT NULL"
            ).fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return {str((index_dir / r[0]).resolve().parent) for r in rows}

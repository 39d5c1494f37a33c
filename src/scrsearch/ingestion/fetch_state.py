"""What the downloader knows of each URL it fetched: a small SQLite file in ``fetched/``.

One row per URL: the stored copy (relative to the fetched folder), its hash and size,
the server's validators (ETag, Last-Modified) and whether the ingest that fetched it
has finished (``settled``). Each download is recorded in its own transaction as it
completes, so a kill loses at most the downloads in flight, and those are only
``.part`` files (see :data:`scrsearch.index.housekeeping.PART_PREFIX`), never taken
as complete.

:mod:`.download` reads it so that a rerun sends conditional requests for settled
copies and takes an unsettled copy (left by a run that was interrupted) as it is.
The file is a cache: a copy that is gone or has the wrong size is forgotten, and a
damaged file is started afresh, which costs downloads but nothing else.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..index.housekeeping import FETCH_STATE
from .fetch import FetchedFile

_SCHEMA = """
CREATE TABLE IF NOT EXISTS downloads (
    url TEXT PRIMARY KEY,
    final_url TEXT NOT NULL,
    file TEXT NOT NULL,
    content_type TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    retrieved_at TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    settled INTEGER NOT NULL DEFAULT 0
)
"""
_COLUMNS = (
    "url, final_url, file, content_type, sha256, size, retrieved_at, etag, last_modified, settled"
)


@dataclass(frozen=True)
class KnownCopy:
    """A URL's copy on disk. ``settled``: the ingest that fetched it finished."""

    fetched: FetchedFile
    settled: bool


class FetchState:
    """The state file of one fetched folder. Use from one thread, as a context manager."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.conn = _connect(folder / FETCH_STATE)

    def __enter__(self) -> FetchState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.conn.close()

    def get(self, url: str) -> KnownCopy | None:
        """The copy of ``url`` on disk, or None when there is none (or it was changed)."""
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM downloads WHERE url = ?",  # noqa: S608 - constant columns
            (url,),
        ).fetchone()
        if row is None:
            return None
        url, final_url, file, ctype, sha, size, retrieved, etag, modified, settled = row
        path = self.folder / file
        try:
            if path.stat().st_size != size:
                return None
        except OSError:
            return None  # swept, or never renamed into place
        fetched = FetchedFile(url, final_url, path, ctype, sha, size, retrieved, etag, modified)
        return KnownCopy(fetched, bool(settled))

    def record(self, fetched: FetchedFile) -> None:
        """Remember a completed download, unsettled until its ingest finishes."""
        with self.conn:
            self.conn.execute(
                f"INSERT OR REPLACE INTO downloads ({_COLUMNS}) "  # noqa: S608 - constant columns
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
                (
                    fetched.url,
                    fetched.final_url,
                    str(fetched.path.relative_to(self.folder)),
                    fetched.content_type,
                    fetched.sha256,
                    fetched.size,
                    fetched.retrieved_at,
                    fetched.etag,
                    fetched.last_modified,
                ),
            )

    def settle(self, urls: Iterable[str]) -> None:
        """Mark these URLs' copies as used by an ingest that finished."""
        with self.conn:
            self.conn.executemany(
                "UPDATE downloads SET settled = 1 WHERE url = ?", ((u,) for u in urls)
            )


def settle_downloads(folder: Path, urls: Iterable[str]) -> None:
    """After an ingest finished: its downloads are revalidated next time, not reused."""
    with FetchState(folder) as state:
        state.settle(urls)


def _connect(path: Path) -> sqlite3.Connection:
    """Open (or start afresh, if damaged) the state file."""
    for attempt in range(2):
        conn = sqlite3.connect(path, timeout=30)
        try:
            conn.execute(_SCHEMA)
            conn.execute("SELECT url FROM downloads LIMIT 1").fetchall()
            return conn
        except sqlite3.DatabaseError:
            conn.close()
            if attempt:
                raise
            for stale in _state_files(path):
                stale.unlink(missing_ok=True)
    raise AssertionError("unreachable")


def _state_files(path: Path) -> Iterator[Path]:
    yield path
    for suffix in ("-journal", "-wal", "-shm"):
        yield path.with_name(path.name + suffix)

"""The write transaction: every change to an index goes through :func:`write_transaction`.

::

    with write_transaction(index_dir, config=config) as tx:
        conn = tx.begin()          # a new generation: a copy of the current one
        changed = edit(conn)       # change rows through conn
        if changed:
            tx.publish()           # build its FAISS file, swap the manifest

Inside the block the writer lock is held, so writers take turns. The generation
begun is made current only by :meth:`WriteTransaction.publish`: leaving the block
without publishing (nothing changed) drops it, and so does an exception, so the
index is never half written. After a block that ends normally, fetched copies the
current generation no longer refers to are deleted (:mod:`.housekeeping`).

Ingest, metadata corrections, removals, re-tagging, rebuild and the bench's
synthetic indexes all write this way.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..config import Config, load_config
from ..errors import IndexCorruptError, IndexNotFoundError
from . import generations
from .generations import MANIFEST, Generation, Manifest, Progress, read_manifest, write_lock
from .housekeeping import sweep_fetched


@dataclass
class WriteTransaction:
    """One change to an index folder, made under its writer lock.

    Attributes:
        index_dir: the index folder.
        config: settings; the FAISS kind thresholds (``exact_search_max``, ``nprobe``).
        current: the generation current when the lock was taken (None for a new
            index, or a broken manifest when ``recover`` was asked for).
        manifest_broken: the manifest was unreadable (``recover``); publishing
            moves it to ``manifest.json.broken``.
        generation: the generation begun, once :meth:`begin` was called.
        published: its manifest, once :meth:`publish` made it current.
    """

    index_dir: Path
    config: Config
    current: Manifest | None
    manifest_broken: bool = False
    generation: Generation | None = None
    published: Manifest | None = None

    @property
    def conn(self) -> sqlite3.Connection:
        """The begun generation's database."""
        return self._begun().conn

    def require_current(self) -> Manifest:
        """The current generation's manifest.

        Raises:
            IndexNotFoundError: there is no index in the folder yet.
        """
        if self.current is None:
            raise IndexNotFoundError(str(self.index_dir))
        return self.current

    def begin(self, *, fresh: bool = False, copy_of: int | None = None) -> sqlite3.Connection:
        """Start the new generation and return its database.

        Args:
            fresh: start empty instead of from a copy of the current generation.
            copy_of: copy this generation's database instead of the current one's
                (a rebuild recovering an older generation).
        """
        if self.generation is not None:
            raise RuntimeError("a write transaction begins one generation")
        if copy_of is not None:
            source: str | None = f"g{copy_of:06d}.sqlite"
        elif fresh or self.current is None:
            source = None
        else:
            source = self.current.sqlite_name
        # Above the current generation; with none, above every file left in the folder.
        after = (
            self.current.generation
            if self.current is not None
            else max(generations.generation_numbers(self.index_dir), default=0)
        )
        self.generation = generations.new_generation(self.index_dir, after=after, copy_of=source)
        return self.generation.conn

    def publish(
        self,
        *,
        model: str | None = None,
        dimension: int | None = None,
        progress: Progress | None = None,
        keep_previous: bool = True,
    ) -> Manifest:
        """Build the begun generation's FAISS file and make it current, atomically.

        Args:
            model: the model name the manifest records; by default the current
                generation's (an edit that re-embeds nothing).
            dimension: the vectors' dimension; by default the current generation's.
            progress: called as ``progress("index", done, total)`` while FAISS builds.
            keep_previous: keep the previous generation as a fallback for
                ``scrsearch rebuild``; False deletes it at once.
        """
        gen = self._begun()
        if self.published is not None:
            raise RuntimeError("a write transaction publishes once")
        model = model or (self.current.model if self.current else None)
        dimension = dimension or (self.current.dimension if self.current else None)
        if model is None or dimension is None:
            raise ValueError("a new index needs the model and dimension to record")
        if self.manifest_broken:  # publish() reads the previous manifest: set it aside
            with contextlib.suppress(FileNotFoundError):
                os.replace(self.index_dir / MANIFEST, self.index_dir / (MANIFEST + ".broken"))
        self.published = generations.publish(
            gen,
            model=model,
            dimension=dimension,
            exact_max=self.config.exact_search_max,
            nprobe=self.config.nprobe,
            progress=progress,
            keep_previous=keep_previous,
        )
        return self.published

    def _begun(self) -> Generation:
        if self.generation is None:
            raise RuntimeError("begin() the write transaction first")
        return self.generation

    def _drop_unpublished(self) -> None:
        """Delete the begun generation's files unless it was made current."""
        gen = self.generation
        if gen is None or self.published is not None:
            return
        with contextlib.suppress(IndexCorruptError):
            now = read_manifest(self.index_dir)
            if now is not None and now.generation == gen.number:
                return  # the manifest was swapped before the error: it is current now
        generations.abandon(gen)


@contextlib.contextmanager
def write_transaction(
    index_dir: Path | str, *, config: Config | None = None, recover: bool = False
) -> Iterator[WriteTransaction]:
    """Hold the writer lock for one change; publish it whole or not at all.

    Args:
        index_dir: the index folder (created if missing).
        config: settings for the FAISS build; defaults come from the environment.
        recover: take an unreadable manifest as no current generation (and set it
            aside when publishing) instead of refusing it: for ``rebuild``.

    Yields:
        A :class:`WriteTransaction`: :meth:`~WriteTransaction.begin` the new
        generation, write through its connection, then
        :meth:`~WriteTransaction.publish` it, or not when nothing changed.

    Raises:
        IndexCorruptError: the manifest is unreadable (unless ``recover``).
    """
    index_dir = Path(index_dir)
    with write_lock(index_dir):
        try:
            current, broken = read_manifest(index_dir), False
        except IndexCorruptError:
            if not recover:
                raise
            current, broken = None, True
        tx = WriteTransaction(index_dir, config or load_config(), current, broken)
        try:
            yield tx
        finally:
            tx._drop_unpublished()
        sweep_fetched(index_dir)

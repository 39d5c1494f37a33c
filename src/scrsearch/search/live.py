"""A searcher that follows an index folder's current generation, for long-lived servers.

An ingest publishes a new generation by replacing ``manifest.json``. :meth:`LiveIndex.searcher`
looks at the manifest (one ``stat``) and, when it was replaced, opens the new generation
once and hands it out from then on. A caller takes one searcher per request and uses it
for the whole request, so a request sees exactly one generation however many publishes
happen meanwhile: the generation's files stay open while any searcher holds them.

The embedding model is loaded once and shared by every generation built with it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from ..config import Config, load_config
from ..embed.base import Embedder, canonical_model_name
from ..embed.registry import load_embedder
from ..errors import IndexNotFoundError, ScrsearchError
from ..index.generations import MANIFEST, Index, read_manifest
from .searcher import Searcher

log = logging.getLogger("scrsearch.live")


class LiveIndex:
    """The current generation of ``index_dir``, reopened after each publish.

    Thread-safe. While one thread opens a new generation, the others keep answering
    from the previous one; nobody waits, nothing fails. If a new generation cannot be
    opened (its files are not all there yet), the previous one goes on answering and the
    new one is tried again a second later.
    """

    #: Seconds between tries to open a new generation that failed to open.
    RETRY_S = 1.0

    def __init__(
        self,
        index_dir: str | Path,
        *,
        config: Config | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.dir = Path(index_dir)
        self.config = (config or load_config()).with_overrides(index=str(self.dir))
        self._embedder = embedder
        self._current: Searcher | None = None
        self._seen: tuple[int, int, int] | None = None  # the manifest's (inode, mtime, size)
        self._opening = threading.Lock()
        self._retry_at = 0.0

    def searcher(self) -> Searcher:
        """The searcher of the current generation (raises if there is no index)."""
        current = self._current
        if current is not None and (
            self._stamp() == self._seen or time.monotonic() < self._retry_at
        ):
            return current
        if not self._opening.acquire(blocking=current is None):
            return current  # type: ignore[return-value]  # another thread is opening it
        try:
            if self._current is None or self._stamp() != self._seen:
                self._open()
        except ScrsearchError as exc:
            if current is None:
                raise
            log.warning(
                "Still answering from generation %s: %s", current.index.manifest.generation, exc
            )
            self._retry_at = time.monotonic() + self.RETRY_S
        finally:
            self._opening.release()
        assert self._current is not None  # noqa: S101 - narrows the type; set above or raised
        return self._current

    def index(self) -> Index:
        """The current generation, for reading."""
        return self.searcher().index

    @property
    def model_loaded(self) -> bool:
        return self._embedder is not None

    def _stamp(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.dir / MANIFEST)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _open(self) -> None:
        stamp = self._stamp()
        manifest = read_manifest(self.dir)
        if manifest is None:
            raise IndexNotFoundError(str(self.dir))
        current = self._current
        if current is not None and current.index.manifest == manifest:
            self._seen = stamp  # rewritten with the same content
            return
        index = Index.open(self.dir)
        if self._embedder is None or canonical_model_name(self._embedder.name) != index.model:
            self._embedder = load_embedder(index.model, self.config.backend)
        searcher = Searcher(
            index, config=self.config.with_overrides(model=index.model), embedder=self._embedder
        )
        self._current, self._seen = searcher, stamp

"""Polite, resumable downloading of many URLs: :func:`download_all`.

- **Polite.** At most ``per_host`` requests at a time go to one host, and ``delay``
  seconds pass between the starts of two requests to it. Different hosts are served
  side by side by a pool of ``threads`` threads.
- **Patient.** Timeouts, failed connections, 429 and 5xx answers are retried by
  urllib3's ``Retry`` (mounted on each thread's ``requests`` session) with
  exponential backoff, honouring ``Retry-After`` (seconds or an HTTP date). Every
  wait is capped at ``backoff_max``. A download that breaks off midway is tried
  again with the same backoff.
- **Resumable.** Each completed download is recorded in the fetched folder's state
  file (:mod:`.fetch_state`) as it completes. A copy fetched by an ingest that did not
  finish (a kill, a crash) is taken as it is. Any other known copy is revalidated
  with a conditional request, so an unchanged document is not downloaded again when
  the server gives an ETag or a Last-Modified date.
- The caps of :func:`.fetch.fetch_url` (size, type, redirects, time) hold for each URL.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from itertools import takewhile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from urllib3.exceptions import InvalidHeader
from urllib3.util.retry import Retry

from ..config import Config
from .fetch import (
    MAX_BYTES,
    MAX_REDIRECTS,
    TIMEOUT,
    TOTAL_TIMEOUT,
    FetchedFile,
    FetchError,
    fetch_url,
    make_session,
)
from .fetch_state import FetchState

#: What became of one URL: its file, or why it failed.
Outcome = FetchedFile | FetchError

#: Answers worth another try: too many requests, and server errors.
RETRY_STATUSES = frozenset({429, *range(500, 600)})


@dataclass(frozen=True)
class DownloadSettings:
    """The limits of one batch of downloads (see the ``fetch_*`` settings in config)."""

    per_host: int = 2
    delay: float = 0.5
    retries: int = 4
    backoff: float = 1.0
    backoff_max: float = 60.0
    threads: int = 8
    timeout: float = TIMEOUT
    total_timeout: float = TOTAL_TIMEOUT
    max_bytes: int = MAX_BYTES
    max_redirects: int = MAX_REDIRECTS

    @classmethod
    def from_config(cls, config: Config) -> DownloadSettings:
        return cls(
            per_host=max(1, config.fetch_per_host),
            delay=max(0.0, config.fetch_delay),
            retries=max(0, config.fetch_retries),
            backoff=max(0.0, config.fetch_backoff),
            backoff_max=max(0.0, config.fetch_backoff_max),
            threads=max(1, config.fetch_threads),
            timeout=config.fetch_timeout,
            max_bytes=config.max_file_mb * 1024 * 1024,
        )


def backoff_seconds(backoff: float, backoff_max: float, retry: int) -> float:
    """The wait before retry number ``retry`` (1, 2, ...): ``backoff``, doubling, capped."""
    return min(backoff_max, backoff * 2 ** (retry - 1)) if retry > 0 else 0.0


class PoliteRetry(Retry):
    """urllib3's ``Retry``, waiting before the first retry too (urllib3 retries once
    at once), with a server's ``Retry-After`` capped at ``backoff_max``; an unreadable
    ``Retry-After`` falls back to the backoff."""

    def get_backoff_time(self) -> float:
        errors = len(list(takewhile(lambda h: h.redirect_location is None, reversed(self.history))))
        return backoff_seconds(self.backoff_factor, self.backoff_max, errors)

    def get_retry_after(self, response: Any) -> float | None:
        try:
            seconds = super().get_retry_after(response)
        except InvalidHeader:
            return None
        return None if seconds is None else min(seconds, self.backoff_max)


def polite_retry(settings: DownloadSettings) -> PoliteRetry:
    """The retry policy of one session: GETs retried on timeouts, failed connections,
    429 and 5xx; the last answer is returned (not raised) when the retries run out."""
    return PoliteRetry(
        total=settings.retries,
        allowed_methods=frozenset({"GET", "HEAD"}),
        status_forcelist=RETRY_STATUSES,
        backoff_factor=settings.backoff,
        backoff_max=settings.backoff_max,
        respect_retry_after_header=True,
        raise_on_status=False,
    )


@dataclass(frozen=True)
class DownloadTally:
    """How a batch of downloads stands: URLs done of ``total``, bytes downloaded,
    failures, and copies kept without downloading (unchanged or resumed)."""

    total: int
    done: int = 0
    bytes: int = 0
    failed: int = 0
    reused: int = 0

    def add(self, outcomes: Iterable[Outcome]) -> DownloadTally:
        tally = self
        for outcome in outcomes:
            tally = replace(tally, done=tally.done + 1)
            if isinstance(outcome, FetchError):
                tally = replace(tally, failed=tally.failed + 1)
            elif outcome.reused:
                tally = replace(tally, reused=tally.reused + 1)
            else:
                tally = replace(tally, bytes=tally.bytes + outcome.size)
        return tally


#: ``progress(tally)``, called on the calling thread as each URL completes.
DownloadProgress = Callable[[DownloadTally], None]


@dataclass(frozen=True)
class _Job:
    url: str
    known: FetchedFile | None

    @property
    def host(self) -> str:
        return (urlsplit(self.url).hostname or "").lower()


def download_all(
    urls: Sequence[str],
    dest: Path,
    settings: DownloadSettings | None = None,
    progress: DownloadProgress | None = None,
) -> dict[str, Outcome]:
    """Download ``urls`` into the fetched folder ``dest``, politely and resumably.

    Returns each URL's :class:`FetchedFile` (``reused`` when the copy on disk was
    kept) or the :class:`FetchError` that says why it failed, in the order given.
    The caller should mark the URLs settled (:func:`.fetch_state.settle_downloads`)
    once the ingest that uses them has finished.
    """
    settings = settings or DownloadSettings()
    order = list(dict.fromkeys(urls))
    outcomes: dict[str, Outcome] = {}
    jobs: list[_Job] = []
    with FetchState(dest) as state:
        for url in order:
            copy = state.get(url)
            if copy is not None and not copy.settled:  # left by an interrupted run
                outcomes[url] = replace(copy.fetched, reused=True)
            else:
                jobs.append(_Job(url, copy.fetched if copy is not None else None))
        tally = DownloadTally(total=len(order)).add(outcomes.values())
        if progress is not None:
            progress(tally)

        def finished(job: _Job, outcome: Outcome) -> None:
            nonlocal tally
            outcomes[job.url] = outcome
            if isinstance(outcome, FetchedFile) and not outcome.reused:
                state.record(outcome)
            tally = tally.add([outcome])
            if progress is not None:
                progress(tally)

        with contextlib.closing(_Sessions(settings)) as sessions:
            _run(jobs, settings, lambda job: _fetch(job, dest, settings, sessions.get()), finished)
    return {url: outcomes[url] for url in order}


def _fetch(job: _Job, dest: Path, settings: DownloadSettings, session: Any) -> Outcome:
    """One URL, through the thread's retrying session; a download that broke off
    midway (which urllib3 does not retry) is tried again after the same backoff."""
    retry = 0
    while True:
        try:
            return fetch_url(
                job.url,
                dest,
                timeout=settings.timeout,
                total_timeout=settings.total_timeout,
                max_bytes=settings.max_bytes,
                session=session,
                known=job.known,
            )
        except FetchError as exc:
            if not exc.transient or retry >= settings.retries:
                return exc
            retry += 1
            time.sleep(backoff_seconds(settings.backoff, settings.backoff_max, retry))


class _Sessions:
    """One retrying ``requests`` session per worker thread (sessions are not thread-safe)."""

    def __init__(self, settings: DownloadSettings) -> None:
        self._settings = settings
        self._local = threading.local()
        self._open: list[Any] = []
        self._lock = threading.Lock()

    def get(self) -> Any:
        session = getattr(self._local, "session", None)
        if session is None:
            session = make_session(self._settings.max_redirects, polite_retry(self._settings))
            self._local.session = session
            with self._lock:
                self._open.append(session)
        return session

    def close(self) -> None:
        with self._lock:
            for session in self._open:
                session.close()


class _Hosts:
    """How many requests each host has running, and when it may take the next."""

    def __init__(self, per_host: int, delay: float) -> None:
        self.per_host = per_host
        self.delay = delay
        self.active: Counter[str] = Counter()
        self.next_start: dict[str, float] = {}

    def ready_at(self, host: str) -> float | None:
        """When ``host`` may take another request; None while it has ``per_host``."""
        if self.active[host] >= self.per_host:
            return None
        return self.next_start.get(host, 0.0)

    def start(self, host: str, now: float) -> None:
        self.active[host] += 1
        self.next_start[host] = now + self.delay

    def finish(self, host: str) -> None:
        self.active[host] -= 1


def _run(
    jobs: Sequence[_Job],
    settings: DownloadSettings,
    work: Callable[[_Job], Outcome],
    finished: Callable[[_Job, Outcome], None],
) -> None:
    """Run ``work(job)`` for every job on a thread pool, within each host's limits,
    and hand each outcome to ``finished`` on this thread as it completes."""
    queues: dict[str, deque[_Job]] = {}
    for job in jobs:
        queues.setdefault(job.host, deque()).append(job)
    hosts = _Hosts(settings.per_host, settings.delay)
    running: dict[Future[Outcome], _Job] = {}
    pool = ThreadPoolExecutor(max_workers=settings.threads, thread_name_prefix="scrsearch-fetch")
    try:
        while queues or running:
            now = time.monotonic()
            for host in list(queues):
                queue = queues[host]
                while queue and len(running) < settings.threads:
                    ready = hosts.ready_at(host)
                    if ready is None or ready > now:
                        break
                    hosts.start(host, now)
                    job = queue.popleft()
                    running[pool.submit(work, job)] = job
                if not queue:
                    del queues[host]
            times = [t for h in queues if (t := hosts.ready_at(h)) is not None]
            timeout = max(0.0, min(times) - now) if times else None
            if not running:
                time.sleep(timeout or 0.0)
                continue
            done, _ = wait(running, timeout=timeout, return_when=FIRST_COMPLETED)
            for future in done:
                job = running.pop(future)
                hosts.finish(job.host)
                finished(job, future.result())
    finally:
        # Interrupted: what is in flight finishes in the background, unrecorded
        # (a rerun fetches it again); nothing queued starts.
        pool.shutdown(wait=False, cancel_futures=True)

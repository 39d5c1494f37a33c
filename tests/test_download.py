"""Polite, resumable downloading (download_all) against a local site on 127.0.0.1.

Per-host concurrency is counted by the server; retries, Retry-After and conditional
requests are checked from what the server saw. Every wait is small and bounded.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from scrsearch.index.housekeeping import FETCH_STATE, PART_PREFIX
from scrsearch.ingestion.download import DownloadSettings, DownloadTally, download_all
from scrsearch.ingestion.fetch import FetchedFile, FetchError
from scrsearch.ingestion.fetch_state import FetchState, settle_downloads
from websites import MODIFIED, review_text, serve


def fast(**changes: float) -> DownloadSettings:
    """Settings with the waits cut down for tests."""
    values: dict = {"delay": 0.0, "retries": 2, "backoff": 0.05, "backoff_max": 2.0}
    return DownloadSettings(**{"timeout": 0.5, **values, **changes})


@pytest.fixture
def site():
    with serve() as served:
        yield served


def test_at_most_two_requests_at_a_time_per_host(site, tmp_path: Path) -> None:
    base, web = site
    port = base.rsplit(":", 1)[1]
    # Two host names for the one server: each is a host of its own.
    urls = [
        f"http://{host}:{port}/plain/{host}-{n}.txt?wait=0.3"
        for n in range(6)
        for host in ("127.0.0.1", "localhost")
    ]
    outcomes = download_all(urls, tmp_path, fast(threads=8))
    assert all(isinstance(o, FetchedFile) for o in outcomes.values()), outcomes
    assert web.most_active["127.0.0.1"] <= 2 and web.most_active["localhost"] <= 2
    assert web.most_at_once >= 3, "hosts are served side by side"


def test_one_at_a_time_per_host_when_set(site, tmp_path: Path) -> None:
    base, web = site
    urls = [f"{base}/plain/{n}.txt?wait=0.1" for n in range(4)]
    download_all(urls, tmp_path, fast(per_host=1))
    assert web.most_active["127.0.0.1"] == 1


def test_delay_between_requests_to_a_host(site, tmp_path: Path) -> None:
    base, _ = site
    urls = [f"{base}/plain/{n}.txt" for n in range(5)]
    started = time.monotonic()
    download_all(urls, tmp_path, fast(delay=0.2))
    assert time.monotonic() - started >= 4 * 0.2  # five starts, each 0.2 s after the last


def test_retries_failures_and_the_tally(site, tmp_path: Path) -> None:
    base, web = site
    urls = [
        f"{base}/flaky.txt",  # 500, then fine
        f"{base}/slow-once.txt",  # a timeout, then fine
        f"{base}/missing.pdf",  # 404: not retried
        f"{base}/broken.txt",  # 503 every time
        f"{base}/slow-always.txt",  # a timeout every time
        f"{base}/moved",  # a redirect
        f"{base}/stall-once.txt",  # breaks off midway, then fine
    ]
    tallies: list[DownloadTally] = []
    outcomes = download_all(urls, tmp_path, fast(), tallies.append)
    good = {u for u, o in outcomes.items() if isinstance(o, FetchedFile)}
    assert good == {
        f"{base}/flaky.txt",
        f"{base}/slow-once.txt",
        f"{base}/moved",
        f"{base}/stall-once.txt",
    }
    assert web.hits["/flaky.txt"] == 2 and web.hits["/slow-once.txt"] == 2
    assert web.hits["/stall-once.txt"] == 2
    stalled = outcomes[f"{base}/stall-once.txt"]
    assert stalled.path.read_text() == review_text("stall-once")  # type: ignore[union-attr]
    assert web.hits["/missing.pdf"] == 1
    assert web.hits["/broken.txt"] == 3 and web.hits["/slow-always.txt"] == 3  # 1 + 2 retries
    failed = {u: o for u, o in outcomes.items() if isinstance(o, FetchError)}
    assert str(failed[f"{base}/broken.txt"]) == (
        f"{base}/broken.txt: the server answered 503 Service Unavailable, after 2 retries "
        "(the server is busy or failing: try again later)"
    )
    assert failed[f"{base}/slow-always.txt"].reason == "timeout"
    assert str(failed[f"{base}/slow-always.txt"]).startswith(
        f"{base}/slow-always.txt: no response within 0.5 s"
    )
    assert outcomes[f"{base}/moved"].final_url == f"{base}/doc/moved-target.txt"  # type: ignore[union-attr]
    # The tally counts every URL, its bytes and its failures, ending complete.
    sizes = sum(o.size for o in outcomes.values() if isinstance(o, FetchedFile))
    assert tallies[0] == DownloadTally(total=7)
    assert tallies[-1] == DownloadTally(total=7, done=7, bytes=sizes, failed=3)
    assert [t.done for t in tallies] == list(range(8))
    assert not list(tmp_path.rglob(PART_PREFIX + "*")), "no partial download is left"


@pytest.mark.parametrize(
    ("path", "least", "most"),
    [
        ("/busy-seconds.txt", 0.9, 1.9),  # Retry-After: 1
        ("/busy-date.txt", 0.9, 2.9),  # Retry-After: an HTTP date 1-2 s ahead
        ("/busy-long.txt", 0.9, 1.9),  # Retry-After: 3600, capped at backoff_max (1 s)
        ("/busy-garbage.txt", 0.0, 0.9),  # unreadable: the backoff (0.05 s) instead
    ],
)
def test_429_retry_honours_retry_after(
    site, tmp_path: Path, path: str, least: float, most: float
) -> None:
    base, web = site
    outcomes = download_all([base + path], tmp_path, fast(backoff_max=1.0))
    assert isinstance(outcomes[base + path], FetchedFile)
    [gap] = web.gaps(path)
    assert least <= gap < most


def test_rerun_is_conditional_and_downloads_nothing_unchanged(site, tmp_path: Path) -> None:
    base, web = site
    urls = [f"{base}/doc/a.txt", f"{base}/lm/b.txt", f"{base}/changing.txt"]
    first = download_all(urls, tmp_path, fast())
    assert first[f"{base}/doc/a.txt"].etag == '"a-v1"'  # type: ignore[union-attr]
    assert not any(web.conditional.values()), "a first fetch asks unconditionally"
    settle_downloads(tmp_path, urls)  # the ingest that used them finished

    web.version = 2
    tallies: list[DownloadTally] = []
    second = download_all(urls, tmp_path, fast(), tallies.append)
    assert web.conditional["/doc/a.txt"] == [{"If-None-Match": '"a-v1"'}]
    assert web.conditional["/lm/b.txt"] == [{"If-Modified-Since": MODIFIED}]
    assert web.conditional["/changing.txt"] == [{"If-None-Match": '"v1"'}]
    assert web.bodies == {"/doc/a.txt": 1, "/lm/b.txt": 1, "/changing.txt": 2}
    for url in urls[:2]:
        assert second[url].reused and second[url].path == first[url].path  # type: ignore[union-attr]
    changed = second[f"{base}/changing.txt"]
    assert isinstance(changed, FetchedFile) and not changed.reused
    assert changed.etag == '"v2"' and changed.sha256 != first[f"{base}/changing.txt"].sha256  # type: ignore[union-attr]
    assert tallies[-1].reused == 2 and tallies[-1].bytes == changed.size


def test_unsettled_copies_are_taken_as_they_are(site, tmp_path: Path) -> None:
    """A run that did not finish left copies: a rerun asks nothing for them."""
    base, web = site
    urls = [f"{base}/plain/{n}.txt" for n in range(3)]
    download_all(urls, tmp_path, fast())
    again = download_all(urls, tmp_path, fast())
    assert all(o.reused for o in again.values())  # type: ignore[union-attr]
    assert sum(web.hits.values()) == 3
    settle_downloads(tmp_path, urls)
    download_all(urls, tmp_path, fast())  # settled, and no validators: asked again
    assert sum(web.hits.values()) == 6


def test_a_copy_that_is_gone_is_fetched_unconditionally(site, tmp_path: Path) -> None:
    base, web = site
    url = f"{base}/doc/gone.txt"
    first = download_all([url], tmp_path, fast())[url]
    settle_downloads(tmp_path, [url])
    first.path.unlink()  # type: ignore[union-attr]
    again = download_all([url], tmp_path, fast())[url]
    assert web.conditional["/doc/gone.txt"] == [] and web.bodies["/doc/gone.txt"] == 2
    assert isinstance(again, FetchedFile) and again.path.is_file() and not again.reused


def test_a_damaged_state_file_is_started_afresh(site, tmp_path: Path) -> None:
    base, _ = site
    (tmp_path / FETCH_STATE).write_bytes(b"this is not a database" * 100)
    url = f"{base}/doc/x.txt"
    assert isinstance(download_all([url], tmp_path, fast())[url], FetchedFile)
    with FetchState(tmp_path) as state:
        copy = state.get(url)
    assert copy is not None and not copy.settled and copy.fetched.etag == '"x-v1"'

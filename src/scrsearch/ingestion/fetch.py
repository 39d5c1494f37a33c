"""Fetch a review from the web, carefully: ``fetch_url(url, dest_dir)``.

Every download has a connect/read timeout, an overall deadline, a size cap, a
content-type check and a limit on redirects. Each failure raises :class:`FetchError`,
one line naming the URL, the reason and the fix.

Fetched files are stored under a generated folder named by their content hash,
``<dest_dir>/<sha256 prefix>/<safe name>.<ext>``, so the same content always lands
in the same place and nothing from the server chooses where a file is written.
:func:`scrsearch.ingestion.pipeline.ingest` accepts URLs, fetches them into the index's
``fetched/`` folder (:data:`scrsearch.index.housekeeping.FETCHED_DIR`) and keys the
document by its URL, so a re-fetch re-indexes only when the content changed; the
index's housekeeping deletes copies no document refers to any more.

``fetch_url`` sends one request and does not retry; given a ``session`` (see
:func:`make_session`) it sends it through that session's retries. Given the ``known``
copy of an earlier fetch, the request is conditional (If-None-Match, If-Modified-Since)
and a 304 Not Modified answer returns that copy. :mod:`.download` fetches many URLs
politely and resumably with both.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ..errors import ScrsearchError
from ..index.housekeeping import PART_PREFIX

#: Seconds to connect, and the longest silence allowed while reading.
TIMEOUT = 20.0
#: Seconds a whole download may take.
TOTAL_TIMEOUT = 120.0
#: The most redirects followed.
MAX_REDIRECTS = 5
#: The largest download, in bytes (the pipeline passes SCRSEARCH_MAX_FILE_MB).
MAX_BYTES = 200 * 1024 * 1024

#: Content types scrsearch reads, and the file extension each is saved with.
CONTENT_TYPES = {
    "application/pdf": ".pdf",
    "application/x-pdf": ".pdf",
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "text/plain": ".txt",
    "text/markdown": ".md",
    "text/x-markdown": ".md",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
}
#: Types that say nothing: the file's name or first bytes decide.
GENERIC_TYPES = {
    "",
    "application/octet-stream",
    "binary/octet-stream",
    "application/download",
    "application/x-download",
    "application/force-download",
}
_EXTENSIONS = {".pdf", ".html", ".htm", ".txt", ".md", ".markdown", ".docx"}


class FetchError(ScrsearchError):
    """A URL could not be fetched. ``reason`` is short and machine-friendly."""

    def __init__(
        self,
        url: str,
        detail: str,
        fix: str | None = None,
        reason: str = "fetch",
        transient: bool = False,
    ):
        self.url = url
        self.detail = detail
        self.fix = fix
        self.reason = reason
        #: The download broke off midway: trying again may work (see :mod:`.download`).
        self.transient = transient
        super().__init__(f"{url}: {detail}" + (f" ({fix})" if fix else ""))


@dataclass(frozen=True)
class FetchedFile:
    """A downloaded file and where it came from.

    ``etag`` and ``last_modified`` are the server's validators, for a conditional
    request next time; ``reused`` says the copy on disk was kept (the server answered
    304 Not Modified, or an interrupted run had already downloaded it).
    """

    url: str
    final_url: str
    path: Path
    content_type: str
    sha256: str
    size: int
    retrieved_at: str
    etag: str | None = None
    last_modified: str | None = None
    reused: bool = False

    def metadata(self, base: Path | None = None) -> dict[str, Any]:
        """What the pipeline records in the document's ``extra`` JSON.

        ``file`` is the stored copy, relative to ``base`` (the index folder) when given,
        so an index folder can be moved.
        """
        path = self.path
        if base is not None:
            with contextlib.suppress(ValueError):
                path = self.path.resolve().relative_to(base.resolve())
        return {
            "url": self.url,
            "final_url": self.final_url,
            "retrieved_at": self.retrieved_at,
            "content_type": self.content_type,
            "file": str(path),
        }


def is_url(text: str | os.PathLike[str]) -> bool:
    """Whether ``text`` is a web address rather than a path."""
    return bool(re.match(r"^https?://", str(text), re.I))


#: What every request sends.
HEADERS = {
    "User-Agent": "scrsearch (offline search of safeguarding reviews)",
    "Accept": "application/pdf, text/html, application/vnd.openxmlformats-officedocument"
    ".wordprocessingml.document, text/plain, text/markdown;q=0.9, */*;q=0.1",
}


def make_session(max_redirects: int = MAX_REDIRECTS, retry: Any = None) -> Any:
    """A ``requests.Session`` that follows at most ``max_redirects`` redirects, takes no
    proxy or ``.netrc`` settings from the environment and, given a urllib3 ``Retry``,
    retries through it."""
    import requests
    from requests.adapters import HTTPAdapter

    session = requests.Session()
    session.max_redirects = max_redirects
    session.trust_env = False  # no proxies or .netrc credentials picked up behind the user's back
    if retry is not None:
        adapter = HTTPAdapter(max_retries=retry)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
    return session


def fetch_url(
    url: str,
    dest_dir: Path | str,
    *,
    timeout: float = TIMEOUT,
    total_timeout: float = TOTAL_TIMEOUT,
    max_bytes: int = MAX_BYTES,
    max_redirects: int = MAX_REDIRECTS,
    session: Any = None,
    known: FetchedFile | None = None,
) -> FetchedFile:
    """Download ``url`` into ``dest_dir`` and return where it went.

    Args:
        url: an ``http://`` or ``https://`` address.
        dest_dir: the folder to store it in (created if needed).
        timeout: seconds to connect, and the longest wait for the next bytes.
        total_timeout: seconds the body may take to arrive, once the server answers.
        max_bytes: refuse anything larger.
        max_redirects: follow at most this many redirects (without ``session``).
        session: send the request through this session (:func:`make_session`) and
            leave it open; by default a fresh session that does not retry.
        known: the copy an earlier fetch of ``url`` stored, still on disk: its
            validators make the request conditional, and a 304 Not Modified answer
            returns it, marked ``reused``.

    Raises:
        FetchError: naming the URL, the reason and the fix.
    """
    import requests

    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise FetchError(
            url, "not a web address", "give a full http:// or https:// URL", reason="bad-url"
        )
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    own_session = session is None
    if own_session:
        session = make_session(max_redirects)
    tmp_path: Path | None = None
    try:
        with session.get(
            url,
            headers=HEADERS | _conditional(known),
            stream=True,
            timeout=(timeout, timeout),
            allow_redirects=True,
        ) as response:
            if known is not None and response.status_code == 304:
                return replace(known, reused=True)
            content_type = _accepted_type(url, response, max_bytes)
            fd, name = tempfile.mkstemp(dir=dest, prefix=PART_PREFIX)
            tmp_path = Path(name)
            limits = _Limits(max_bytes, timeout, total_timeout)
            body = _download(url, response, fd, limits)
            reply = _Reply.of(response)
        return _keep(url, reply, content_type, body, tmp_path, dest)
    except requests.exceptions.RequestException as exc:
        raise _request_failure(url, exc, timeout, max_redirects) from exc
    finally:
        if own_session:
            session.close()
        if tmp_path is not None:  # already gone once kept
            with contextlib.suppress(FileNotFoundError):
                tmp_path.unlink()


def _conditional(known: FetchedFile | None) -> dict[str, str]:
    """The headers that ask for ``known``'s URL only if it changed since."""
    headers = {}
    if known is not None and known.etag:
        headers["If-None-Match"] = known.etag
    if known is not None and known.last_modified:
        headers["If-Modified-Since"] = known.last_modified
    return headers


@dataclass(frozen=True)
class _Limits:
    max_bytes: int
    timeout: float
    total_timeout: float


@dataclass(frozen=True)
class _Reply:
    """What the pipeline keeps of a response besides its body."""

    final_url: str
    disposition: str
    etag: str | None
    last_modified: str | None

    @classmethod
    def of(cls, response: Any) -> _Reply:
        headers = response.headers
        return cls(
            response.url,
            headers.get("Content-Disposition", ""),
            headers.get("ETag"),
            headers.get("Last-Modified"),
        )


@dataclass(frozen=True)
class _Body:
    """What was downloaded: its hash, its size and its first bytes."""

    sha256: str
    size: int
    head: bytes


def _accepted_type(url: str, response: Any, max_bytes: int) -> str:
    """The response's content type, once its status, type and declared size pass."""
    _check_status(url, response)
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type not in CONTENT_TYPES and content_type not in GENERIC_TYPES:
        raise FetchError(
            url,
            f"the server sent '{content_type}', not a document scrsearch reads",
            "link to a PDF, HTML, DOCX, TXT or MD file",
            reason="wrong-type",
        )
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(url, int(declared), max_bytes)
    return content_type


def _download(url: str, response: Any, fd: int, limits: _Limits) -> _Body:
    """Stream the body into the open file ``fd``, within the size cap and the deadline."""
    import urllib3

    deadline = time.monotonic() + limits.total_timeout
    digest = hashlib.sha256()
    size = 0
    head = b""
    with os.fdopen(fd, "wb") as out:
        # read1 returns whatever has arrived, so a server that trickles bytes
        # meets the deadline too (each wait is bounded by the read timeout).
        try:
            while block := response.raw.read1(64 * 1024, decode_content=True):
                size += len(block)
                if size > limits.max_bytes:
                    raise _too_large(url, size, limits.max_bytes, streamed=True)
                if time.monotonic() > deadline:
                    raise FetchError(
                        url,
                        f"the download took longer than {limits.total_timeout:g} s",
                        "try again later, or download it in a browser and ingest the file",
                        reason="timeout",
                    )
                if len(head) < 1024:
                    head += block[: 1024 - len(head)]
                digest.update(block)
                out.write(block)
        except urllib3.exceptions.HTTPError as exc:
            raise _broke_off(url, exc, limits.timeout) from exc
        out.flush()
        os.fsync(out.fileno())
    if size == 0:
        raise FetchError(url, "the server sent an empty response", reason="empty")
    return _Body(digest.hexdigest(), size, head)


def _broke_off(url: str, exc: Exception, timeout: float) -> FetchError:
    """The download stopped midway: the server fell silent, or the connection broke."""
    import urllib3

    if isinstance(exc, urllib3.exceptions.ReadTimeoutError):
        detail = f"the server stopped sending for more than {timeout:g} s"
        reason = "timeout"
    else:
        detail = "the connection broke off during the download"
        reason = "connect"
    return FetchError(url, detail, "try again later", reason=reason, transient=True)


def _keep(
    url: str, reply: _Reply, content_type: str, body: _Body, tmp_path: Path, dest: Path
) -> FetchedFile:
    """Move the download to ``<dest>/<sha256 prefix>/<safe name>.<ext>``."""
    ext = _extension(content_type, reply.final_url, reply.disposition, body.head)
    if ext is None:
        raise FetchError(
            url,
            f"cannot tell what kind of file the server sent ('{content_type or 'no type'}')",
            "link to a PDF, HTML, DOCX, TXT or MD file",
            reason="wrong-type",
        )
    folder = dest / body.sha256[:24]
    folder.mkdir(exist_ok=True)
    target = folder / (_safe_stem(reply.final_url, reply.disposition) + ext)
    os.replace(tmp_path, target)
    return FetchedFile(
        url=url,
        final_url=reply.final_url,
        path=target,
        content_type=content_type,
        sha256=body.sha256,
        size=body.size,
        retrieved_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        etag=reply.etag,
        last_modified=reply.last_modified,
    )


def _request_failure(url: str, exc: Exception, timeout: float, max_redirects: int) -> FetchError:
    """One line for a failed request: what went wrong and what to do."""
    import requests

    errors = requests.exceptions
    if isinstance(exc, errors.TooManyRedirects):
        return FetchError(
            url,
            f"too many redirects (more than {max_redirects})",
            "open it in a browser and use the final address",
            reason="redirects",
        )
    if isinstance(exc, (errors.ConnectTimeout, errors.ReadTimeout)) or _retried_timeout(exc):
        return FetchError(
            url,
            f"no response within {timeout:g} s",
            "check the address and your connection, or try again later",
            reason="timeout",
        )
    if isinstance(exc, errors.SSLError):
        return FetchError(url, "the secure connection failed (certificate problem)", reason="tls")
    if isinstance(exc, errors.ConnectionError):
        return FetchError(
            url,
            "cannot connect to the server",
            "check the address and your connection",
            reason="connect",
        )
    if isinstance(exc, (errors.InvalidURL, errors.MissingSchema)):
        return FetchError(url, "not a valid web address", "check the URL", reason="bad-url")
    return FetchError(url, f"the download failed ({type(exc).__name__})", "try again later")


def _retried_timeout(exc: Exception) -> bool:
    """Whether ``exc`` is a session's retries running out on read timeouts (requests
    reports those as a connection error)."""
    import urllib3

    cause = exc.args[0] if exc.args else None
    return isinstance(cause, urllib3.exceptions.MaxRetryError) and isinstance(
        cause.reason, urllib3.exceptions.ReadTimeoutError
    )


def _check_status(url: str, response: Any) -> None:
    status = int(response.status_code)
    if status < 400:
        return
    reason = response.reason or ""
    retries = len(getattr(getattr(response.raw, "retries", None), "history", None) or ())
    if retries:
        reason += f", after {retries} {'retry' if retries == 1 else 'retries'}"
    if status in (401, 403):
        fix = "the page needs a login: download it in a browser and ingest the file"
    elif status in (404, 410):
        fix = "check the address; the page may have moved"
    elif status == 429 or status >= 500:
        fix = "the server is busy or failing: try again later"
    else:
        fix = None
    raise FetchError(url, f"the server answered {status} {reason}".rstrip(), fix, reason="http")


def _too_large(url: str, size: int, max_bytes: int, streamed: bool = False) -> FetchError:
    amount = f"more than {max_bytes / 1e6:.0f} MB" if streamed else f"{size / 1e6:.0f} MB"
    return FetchError(
        url,
        f"the file is {amount}, over the {max_bytes / 1e6:.0f} MB limit",
        "raise SCRSEARCH_MAX_FILE_MB if it is genuine",
        reason="too-large",
    )


def _extension(content_type: str, url: str, disposition: str, head: bytes) -> str | None:
    """The extension to save as: from the type, else the name, else the first bytes."""
    if content_type in CONTENT_TYPES:
        return CONTENT_TYPES[content_type]
    for name in (_disposition_name(disposition), unquote(urlsplit(url).path)):
        suffix = Path(name or "").suffix.lower()
        if suffix in _EXTENSIONS:
            return suffix
    start = head.lstrip()[:512].lower()
    if start.startswith(b"%pdf"):
        return ".pdf"
    if start.startswith(b"pk\x03\x04"):
        return ".docx"
    if start.startswith((b"<!doctype html", b"<html")):
        return ".html"
    return None


def _disposition_name(disposition: str) -> str | None:
    match = re.search(r"filename\*?=(?:UTF-8'')?\"?([^\";]+)", disposition, re.I)
    return unquote(match.group(1)) if match else None


def _safe_stem(url: str, disposition: str) -> str:
    """A harmless file stem from the server's file name or the URL's last segment."""
    name = _disposition_name(disposition) or unquote(urlsplit(url).path.rstrip("/")).rsplit("/")[-1]
    stem = Path(name).stem if Path(name).suffix.lower() in _EXTENSIONS else name
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip(".-_")[:80]
    return stem or "page"

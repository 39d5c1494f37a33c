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
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import time
from dataclasses import dataclass
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

    def __init__(self, url: str, detail: str, fix: str | None = None, reason: str = "fetch"):
        self.url = url
        self.detail = detail
        self.fix = fix
        self.reason = reason
        super().__init__(f"{url}: {detail}" + (f" ({fix})" if fix else ""))


@dataclass(frozen=True)
class FetchedFile:
    """A downloaded file and where it came from."""

    url: str
    final_url: str
    path: Path
    content_type: str
    sha256: str
    size: int
    retrieved_at: str

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


def fetch_url(
    url: str,
    dest_dir: Path | str,
    *,
    timeout: float = TIMEOUT,
    total_timeout: float = TOTAL_TIMEOUT,
    max_bytes: int = MAX_BYTES,
    max_redirects: int = MAX_REDIRECTS,
) -> FetchedFile:
    """Download ``url`` into ``dest_dir`` and return where it went.

    Args:
        url: an ``http://`` or ``https://`` address.
        dest_dir: the folder to store it in (created if needed).
        timeout: seconds to connect, and the longest wait for the next bytes.
        total_timeout: seconds the whole download may take.
        max_bytes: refuse anything larger.
        max_redirects: follow at most this many redirects.

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
    session = requests.Session()
    session.max_redirects = max_redirects
    session.trust_env = False  # no proxies or .netrc credentials picked up behind the user's back
    deadline = time.monotonic() + total_timeout
    tmp_path: Path | None = None
    try:
        with session.get(
            url, headers=HEADERS, stream=True, timeout=(timeout, timeout), allow_redirects=True
        ) as response:
            content_type = _accepted_type(url, response, max_bytes)
            fd, name = tempfile.mkstemp(dir=dest, prefix=PART_PREFIX)
            tmp_path = Path(name)
            body = _download(url, response, fd, max_bytes, deadline, total_timeout)
            final_url = response.url
            disposition = response.headers.get("Content-Disposition", "")
        return _keep(url, final_url, disposition, content_type, body, tmp_path, dest)
    except requests.exceptions.RequestException as exc:
        raise _request_failure(url, exc, timeout, max_redirects) from exc
    finally:
        session.close()
        if tmp_path is not None:  # already gone once kept
            with contextlib.suppress(FileNotFoundError):
                tmp_path.unlink()


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


def _download(
    url: str, response: Any, fd: int, max_bytes: int, deadline: float, total_timeout: float
) -> _Body:
    """Stream the body into the open file ``fd``, within the size cap and the deadline."""
    digest = hashlib.sha256()
    size = 0
    head = b""
    with os.fdopen(fd, "wb") as out:
        # read1 returns whatever has arrived, so a server that trickles bytes
        # meets the deadline too (each wait is bounded by the read timeout).
        while block := response.raw.read1(64 * 1024, decode_content=True):
            size += len(block)
            if size > max_bytes:
                raise _too_large(url, size, max_bytes, streamed=True)
            if time.monotonic() > deadline:
                raise FetchError(
                    url,
                    f"the download took longer than {total_timeout:g} s",
                    "try again later, or download it in a browser and ingest the file",
                    reason="timeout",
                )
            if len(head) < 1024:
                head += block[: 1024 - len(head)]
            digest.update(block)
            out.write(block)
        out.flush()
        os.fsync(out.fileno())
    if size == 0:
        raise FetchError(url, "the server sent an empty response", reason="empty")
    return _Body(digest.hexdigest(), size, head)


def _keep(
    url: str,
    final_url: str,
    disposition: str,
    content_type: str,
    body: _Body,
    tmp_path: Path,
    dest: Path,
) -> FetchedFile:
    """Move the download to ``<dest>/<sha256 prefix>/<safe name>.<ext>``."""
    ext = _extension(content_type, final_url, disposition, body.head)
    if ext is None:
        raise FetchError(
            url,
            f"cannot tell what kind of file the server sent ('{content_type or 'no type'}')",
            "link to a PDF, HTML, DOCX, TXT or MD file",
            reason="wrong-type",
        )
    folder = dest / body.sha256[:24]
    folder.mkdir(exist_ok=True)
    target = folder / (_safe_stem(final_url, disposition) + ext)
    os.replace(tmp_path, target)
    return FetchedFile(
        url=url,
        final_url=final_url,
        path=target,
        content_type=content_type,
        sha256=body.sha256,
        size=body.size,
        retrieved_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
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
    if isinstance(exc, (errors.ConnectTimeout, errors.ReadTimeout)):
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


def _check_status(url: str, response: Any) -> None:
    status = int(response.status_code)
    if status < 400:
        return
    reason = response.reason or ""
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

"""A small web site on 127.0.0.1 for the download and catalogue tests.

It serves good, slow, stalling, failing, rate-limited, redirecting, changing and duplicate
documents, and counts what it sees: requests and bodies per path, conditional
headers, when each request arrived, and how many requests each host name had
running at once. Every sleep is bounded, and a test gets a fresh site.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

#: Last-Modified of the /lm/ documents.
MODIFIED = "Tue, 01 Apr 2025 09:00:00 GMT"


def review_text(name: str) -> str:
    """A short review, different for each name (so no two are duplicates)."""
    return (
        f"Review {name}: the health visitor saw bruising on the baby but made no referral "
        f"to children's social care. Learning point {name}: practitioners should escalate "
        "concerns and show professional curiosity about new adults in the household."
    )


SCR_TEXT = (
    "Serious Case Review: Child Q\n"
    "Harrowdale Local Safeguarding Children Board\n"
    "Published: March 2015\n\n"
    "The school nurse recorded concerns about neglect, but agencies did not share them. "
    "Learning: information sharing between health and education must be timely."
)

#: The long document that /hang.txt sends in two halves.
HANG_FIRST = review_text("hang-first-half") + "\n\n"
HANG_SECOND = "The second half names the quartermaster of the strategy meeting."


class Site:
    """What the server serves and what it has seen (all counters under one lock)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.hits: Counter[str] = Counter()
        self.bodies: Counter[str] = Counter()
        self.arrivals: defaultdict[str, list[float]] = defaultdict(list)
        self.conditional: defaultdict[str, list[dict[str, str]]] = defaultdict(list)
        self.active: Counter[str] = Counter()
        self.most_active: Counter[str] = Counter()
        self.most_at_once = 0
        self.version = 1
        self.slow_seconds = 1.0
        self.hang_started = threading.Event()
        self.release_hang = threading.Event()
        self.hang_fast = False

    def enter(self, host: str, path: str, headers: dict[str, str]) -> None:
        with self.lock:
            self.hits[path] += 1
            self.arrivals[path].append(time.monotonic())
            if headers:
                self.conditional[path].append(headers)
            self.active[host] += 1
            self.most_active[host] = max(self.most_active[host], self.active[host])
            self.most_at_once = max(self.most_at_once, sum(self.active.values()))

    def leave(self, host: str) -> None:
        with self.lock:
            self.active[host] -= 1

    def gaps(self, path: str) -> list[float]:
        times = self.arrivals[path]
        return [b - a for a, b in zip(times, times[1:], strict=False)]


class Handler(BaseHTTPRequestHandler):
    site: Site
    timeout = 10  # an abandoned socket never holds a server thread for long

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        path, _, query = self.path.partition("?")
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
        conditional = {
            k: v for k, v in self.headers.items() if k in ("If-None-Match", "If-Modified-Since")
        }
        self.site.enter(host, path, conditional)
        try:
            if query.startswith("wait="):
                time.sleep(min(float(query[5:]), 2.0))
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.route(path)
        finally:
            self.site.leave(host)

    def send(
        self, status: int, body: bytes = b"", ctype: str = "text/plain", **headers: str
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)
        if status == 200 and body:
            with self.site.lock:
                self.site.bodies[self.path.partition("?")[0]] += 1

    def unchanged(self, etag: str | None = None, modified: str | None = None) -> bool:
        """Answer 304 if the client's validators match."""
        if (etag and self.headers.get("If-None-Match") == etag) or (
            modified and self.headers.get("If-Modified-Since") == modified
        ):
            self.send_response(304)
            self.end_headers()
            return True
        return False

    def first_time(self, path: str) -> bool:
        return self.site.hits[path] == 1

    def route(self, path: str) -> None:  # noqa: C901 - one branch per kind of page
        site = self.site
        name = path.rsplit("/", 1)[-1].removesuffix(".txt")
        if path.startswith("/doc/"):  # with an ETag
            etag = f'"{name}-v1"'
            if not self.unchanged(etag=etag):
                self.send(200, review_text(name).encode(), ETag=etag)
        elif path.startswith("/lm/"):  # with a Last-Modified date
            if not self.unchanged(modified=MODIFIED):
                self.send(200, review_text(name).encode(), Last_Modified=MODIFIED)
        elif path.startswith("/plain/"):  # no validators at all
            self.send(200, review_text(name).encode())
        elif path.startswith("/copy-"):  # the same bytes, and the same name, at two URLs
            self.send(200, review_text("copied").encode())
        elif path in ("/twin-one.txt", "/twin-two.txt"):  # the same bytes, other names
            self.send(200, review_text("twin").encode())
        elif path == "/changing.txt":
            etag = f'"v{site.version}"'
            if not self.unchanged(etag=etag):
                self.send(200, review_text(f"version-{site.version}").encode(), ETag=etag)
        elif path == "/scr.txt":
            self.send(200, SCR_TEXT.encode())
        elif path == "/moved":
            self.send(302, Location="/doc/moved-target.txt")
        elif path == "/slow-once.txt":  # silent past the client's timeout, then fine
            if self.first_time(path):
                time.sleep(site.slow_seconds)
            self.send(200, review_text("slow-once").encode())
        elif path == "/slow-always.txt":
            time.sleep(site.slow_seconds)
            self.send(200, review_text("slow-always").encode())
        elif path == "/stall-once.txt":  # half the body, silence, a break; then fine
            body = review_text("stall-once").encode()
            if not self.first_time(path):
                self.send(200, body)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:40])
            self.wfile.flush()
            time.sleep(site.slow_seconds)
        elif path == "/flaky.txt":  # a 500, then fine
            if self.first_time(path):
                self.send(500, b"oops")
            else:
                self.send(200, review_text("flaky").encode())
        elif path == "/broken.txt":
            self.send(503, b"down")
        elif path == "/missing.pdf":
            self.send(404, b"not here")
        elif path.startswith("/busy"):
            self.busy(path)
        elif path == "/hang.txt":
            self.hang()
        else:
            self.send(404, b"")

    def busy(self, path: str) -> None:
        """429 with a Retry-After the first time (seconds, an HTTP date, a long wait,
        or nonsense), then the document."""
        retry_after = {
            "/busy-seconds.txt": "1",
            "/busy-date.txt": formatdate(time.time() + 2, usegmt=True),
            "/busy-long.txt": "3600",
            "/busy-garbage.txt": "soon-ish",
        }[path]
        if self.first_time(path):
            self.send(429, b"slow down", Retry_After=retry_after)
        else:
            self.send(200, review_text(path.strip("/").removesuffix(".txt")).encode())

    def hang(self) -> None:
        """Half the body, then silence until released (at most 20 s): a download
        a kill interrupts midway. With ``hang_fast``, all of it at once."""
        body = (HANG_FIRST + HANG_SECOND).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.site.hang_fast:
            self.wfile.write(body)
            return
        self.wfile.write(HANG_FIRST.encode())
        self.wfile.flush()
        self.site.hang_started.set()
        self.site.release_hang.wait(20)
        self.wfile.write(HANG_SECOND.encode())


@contextlib.contextmanager
def serve() -> Iterator[tuple[str, Site]]:
    """A fresh site on an ephemeral port of 127.0.0.1: ``(base URL, site)``."""
    site = Site()
    handler = type("BoundHandler", (Handler,), {"site": site})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", site
    finally:
        site.release_hang.set()
        httpd.shutdown()
        httpd.server_close()

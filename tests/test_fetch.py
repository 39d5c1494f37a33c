"""Web sources: fetch_url and ``ingest URL`` against a local HTTP server (127.0.0.1 only).

The server serves good, slow, huge, wrong-type and failing responses; every
sleep is bounded, so the whole module runs in a few seconds.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from scrsearch import load_config
from scrsearch.cli import cli
from scrsearch.index.generations import Index
from scrsearch.index.housekeeping import FETCHED_DIR
from scrsearch.ingestion.fetch import FetchError, fetch_url, is_url
from scrsearch.ingestion.pipeline import ingest
from scrsearch.search.searcher import Searcher

REVIEW_HTML = (
    "<html><head><title>Child T: a practice review</title><script>var tracker = 1;</script>"
    "</head><body><article><h1>Child T</h1>"
    "<p>The health visitor saw bruising on the baby but did not make a referral to "
    "children's social care. The review found that practitioners did not escalate.</p>"
    "<p>Learning: professional curiosity about the mother's new partner was missing.</p>"
    "</article></body></html>"
)


def _pdf_bytes() -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    pdf.add_page()
    pdf.multi_cell(0, 6, "Harrowdale review: the school nurse recorded concerns about neglect.")
    return bytes(pdf.output())


class Site:
    """What the test server serves; tests change ``changing`` between fetches."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.changing = "Version one of the review: the GP shared information late."
        self.pdf = _pdf_bytes()


class Handler(BaseHTTPRequestHandler):
    site: Site
    timeout = 5  # a socket the client abandons never holds a server thread for long

    def log_message(self, *args: object) -> None:  # keep pytest output clean
        pass

    def send(self, status: int, body: bytes, ctype: str | None, length: bool = True) -> None:
        self.send_response(status)
        if ctype is not None:
            self.send_header("Content-Type", ctype)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        path = self.path.split("?")[0]
        self.site.hits[path] += 1
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.route(path)  # the client may give up early, as it should

    def route(self, path: str) -> None:
        site = self.site
        if path == "/review.html":
            self.send(200, REVIEW_HTML.encode(), "text/html; charset=utf-8")
        elif path == "/report.pdf":
            self.send(200, site.pdf, "application/pdf")
        elif path == "/download":  # a generic type: the first bytes decide
            self.send(200, site.pdf, "application/octet-stream")
        elif path == "/changing.txt":
            self.send(200, site.changing.encode(), "text/plain")
        elif path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/review.html")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path.startswith("/loop"):
            n = int(path.removeprefix("/loop") or 0)
            self.send_response(302)
            self.send_header("Location", f"/loop{n + 1}")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/slow":  # silent for longer than the client's timeout
            time.sleep(1.5)
            self.send(200, b"too late", "text/plain")
        elif path == "/drip":  # answers at once, then trickles forever (bounded here)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            for _ in range(30):
                self.wfile.write(b"The review " * 10)
                self.wfile.flush()
                time.sleep(0.1)
        elif path == "/stall":  # half a body, then silence past the client's timeout
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "4000")
            self.end_headers()
            self.wfile.write(b"The review " * 100)
            self.wfile.flush()
            time.sleep(1.5)
        elif path == "/huge-declared":
            self.send_response(200)
            self.send_header("Content-Type", "application/pdf")
            self.send_header("Content-Length", str(50 * 1024 * 1024))
            self.end_headers()
            self.wfile.write(b"%PDF-1.4\n" + b"0" * 1024)
        elif path == "/huge-streamed":  # no Content-Length: the cap must count bytes
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Connection", "close")
            self.end_headers()
            for _ in range(64):
                self.wfile.write(b"safeguarding " * 5000)
        elif path == "/image.png":
            self.send(200, b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "image/png")
        elif path == "/empty.html":
            self.send(200, b"", "text/html")
        elif path == "/missing":
            self.send(404, b"not here", "text/plain")
        elif path == "/private":
            self.send(403, b"login first", "text/html")
        elif path == "/broken":
            self.send(500, b"oops", "text/plain")
        elif path == "/not-a-pdf.pdf":
            self.send(200, b"<html>Sorry, this page moved</html>", "application/pdf")
        else:
            self.send(404, b"", "text/plain")


@pytest.fixture(scope="module")
def server():
    site = Site()
    handler = type("BoundHandler", (Handler,), {"site": site})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield base, site
    httpd.shutdown()
    httpd.server_close()


# --- fetch_url ----------------------------------------------------------------


def test_is_url() -> None:
    assert is_url("https://example.org/x.pdf") and is_url("HTTP://a")
    assert not is_url("corpus/") and not is_url("ftp://x") and not is_url("-http.txt")


def test_fetch_good_page(server, tmp_path: Path) -> None:
    base, _ = server
    fetched = fetch_url(f"{base}/review.html", tmp_path)
    assert fetched.path.suffix == ".html" and fetched.path.read_text() == REVIEW_HTML
    assert fetched.path.parent.parent == tmp_path  # <dest>/<hash>/<name>
    assert fetched.content_type == "text/html"
    assert fetched.retrieved_at.endswith("+00:00")
    assert list(tmp_path.rglob(".part-*")) == []


def test_fetch_follows_a_redirect_and_records_the_final_url(server, tmp_path: Path) -> None:
    base, _ = server
    fetched = fetch_url(f"{base}/moved", tmp_path)
    assert fetched.final_url == f"{base}/review.html"
    assert fetched.metadata()["url"] == f"{base}/moved"


def test_fetch_generic_type_is_sniffed(server, tmp_path: Path) -> None:
    base, site = server
    fetched = fetch_url(f"{base}/download?id=3", tmp_path)
    assert fetched.path.suffix == ".pdf" and fetched.path.read_bytes() == site.pdf
    assert fetched.path.name == "download.pdf"


@pytest.mark.parametrize(
    ("path", "kwargs", "reason", "text"),
    [
        ("/slow", {"timeout": 0.5}, "timeout", "no response within 0.5 s"),
        ("/drip", {"total_timeout": 0.5}, "timeout", "the download took longer than 0.5 s"),
        ("/stall", {"timeout": 0.5}, "timeout", "the server stopped sending for more than 0.5 s"),
        ("/huge-declared", {"max_bytes": 1_000_000}, "too-large", "the file is 52 MB"),
        ("/huge-streamed", {"max_bytes": 1_000_000}, "too-large", "the file is more than 1 MB"),
        ("/image.png", {}, "wrong-type", "the server sent 'image/png', not a document"),
        ("/empty.html", {}, "empty", "the server sent an empty response"),
        ("/missing", {}, "http", "the server answered 404 Not Found (check the address"),
        ("/private", {}, "http", "the server answered 403 Forbidden (the page needs a login"),
        ("/broken", {}, "http", "the server answered 500 Internal Server Error (the server"),
        ("/loop", {"max_redirects": 3}, "redirects", "too many redirects (more than 3)"),
    ],
)
def test_fetch_failures_name_the_reason_and_the_fix(
    server, tmp_path: Path, path: str, kwargs: dict, reason: str, text: str
) -> None:
    base, _ = server
    started = time.monotonic()
    with pytest.raises(FetchError) as info:
        fetch_url(base + path, tmp_path, **kwargs)
    assert info.value.reason == reason
    assert str(info.value).startswith(f"{base}{path}: {text}")
    assert "\n" not in str(info.value)
    assert time.monotonic() - started < 2.5  # the limits hold, even against a trickle
    assert list(tmp_path.rglob("*")) == [], "a failed fetch leaves nothing behind"


def test_fetch_redirect_limit_counts_requests(server, tmp_path: Path) -> None:
    base, site = server
    before = sum(n for p, n in site.hits.items() if p.startswith("/loop"))
    with pytest.raises(FetchError):
        fetch_url(f"{base}/loop", tmp_path, max_redirects=2)
    after = sum(n for p, n in site.hits.items() if p.startswith("/loop"))
    assert after - before == 3  # the first request and two redirects, no more


def test_fetch_refuses_other_schemes_and_dead_hosts(tmp_path: Path) -> None:
    for url in ("file:///etc/passwd", "ftp://example.org/x.pdf", "https://"):
        with pytest.raises(FetchError, match="not a web address"):
            fetch_url(url, tmp_path)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    with pytest.raises(FetchError, match="cannot connect to the server") as info:
        fetch_url(f"http://127.0.0.1:{port}/x.pdf", tmp_path, timeout=1)
    assert info.value.reason == "connect"


# --- ingest URL ---------------------------------------------------------------


def _docs(index: Path) -> list[tuple]:
    idx = Index.open(index)
    from scrsearch.index import store

    return store.list_documents(idx.conn())


def test_ingest_url_records_source_and_date(server, tmp_path: Path, hash_embedder) -> None:
    base, _ = server
    config = load_config(index=str(tmp_path / "index"))
    report = ingest([f"{base}/review.html"], config=config, embedder=hash_embedder)
    assert [r.status for r in report.results] == ["indexed"]
    assert report.results[0].path == f"{base}/review.html"
    [(doc, passages, extra)] = _docs(config.index_dir)
    assert doc.source == f"{base}/review.html" and passages > 0
    assert extra["url"] == f"{base}/review.html"
    assert extra["retrieved_at"][:4].isdigit()
    stored = config.index_dir / extra["file"]
    assert stored.is_file() and stored.is_relative_to(config.index_dir / FETCHED_DIR)
    hits = Searcher.open(config=config, embedder=hash_embedder).search(
        "bruising referral", mode="keyword"
    )
    assert hits and hits[0].document.source == f"{base}/review.html"
    assert "tracker" not in " ".join(h.chunk.text for h in hits)


def test_refetch_reindexes_only_when_content_changed(server, tmp_path: Path, hash_embedder) -> None:
    base, site = server
    url = f"{base}/changing.txt"
    config = load_config(index=str(tmp_path / "index"))
    site.changing = "Version one of the review: the GP shared information late with the school."
    first = ingest([url], config=config, embedder=hash_embedder)
    assert first.results[0].status == "indexed"
    generation = Index.open(config.index_dir).manifest.generation
    hits_before = site.hits["/changing.txt"]

    again = ingest([url], config=config, embedder=hash_embedder)
    assert site.hits["/changing.txt"] == hits_before + 1  # fetched again...
    assert again.results[0].status == "unchanged"  # ...but not re-indexed
    assert not again.published
    assert Index.open(config.index_dir).manifest.generation == generation

    [(_, _, old_extra)] = _docs(config.index_dir)
    site.changing = "Version two: the police did not attend the strategy meeting about the child."
    changed = ingest([url], config=config, embedder=hash_embedder)
    assert changed.results[0].status == "replaced"
    [(doc, _, extra)] = _docs(config.index_dir)
    assert doc.source == url
    text = " ".join(
        h.chunk.text
        for h in Searcher.open(config=config, embedder=hash_embedder).search(
            "strategy meeting police", mode="keyword"
        )
    )
    assert "Version two" in text
    assert extra["file"] != old_extra["file"]
    assert not (config.index_dir / old_extra["file"]).exists(), "the old copy is deleted"
    assert (config.index_dir / extra["file"]).exists()
    copies = [p for p in (config.index_dir / FETCHED_DIR).iterdir() if p.is_dir()]
    assert len(copies) == 1  # beside the downloader's state file


def test_ingest_mixes_urls_and_files_and_reports_failures(
    server, tmp_path: Path, hash_embedder
) -> None:
    base, _ = server
    local = tmp_path / "local review.txt"
    local.write_text("The designated safeguarding lead at the school did not share the concern.")
    config = load_config(index=str(tmp_path / "index"))
    urls = [f"{base}/report.pdf", f"{base}/image.png", f"{base}/missing", f"{base}/not-a-pdf.pdf"]
    report = ingest([local, *urls], config=config, embedder=hash_embedder)
    status = {r.path: (r.status, r.message) for r in report.results}
    assert status[str(local)][0] == "indexed"
    assert status[f"{base}/report.pdf"][0] == "indexed"
    assert status[f"{base}/image.png"] == (
        "failed",
        f"{base}/image.png: the server sent 'image/png', not a document scrsearch reads "
        "(link to a PDF, HTML, DOCX, TXT or MD file)",
    )
    assert status[f"{base}/missing"][0] == "failed"
    # An extraction error of a fetched file names the URL, not the stored copy.
    assert status[f"{base}/not-a-pdf.pdf"] == (
        "failed",
        f"{base}/not-a-pdf.pdf: not a PDF file (no PDF header) (check the file type and rename it)",
    )
    # Nothing is kept of the files that were not indexed.
    kept = sorted(p.name for p in (config.index_dir / FETCHED_DIR).rglob("*/*") if p.is_file())
    assert kept == ["report.pdf"]


def test_same_content_from_two_urls_is_indexed_once(server, tmp_path: Path, hash_embedder) -> None:
    base, _ = server
    config = load_config(index=str(tmp_path / "index"))
    report = ingest(
        [f"{base}/report.pdf", f"{base}/download?id=9", f"{base}/report.pdf"],
        config=config,
        embedder=hash_embedder,
    )
    assert sorted(r.status for r in report.results) == ["duplicate", "indexed"]
    assert len(_docs(config.index_dir)) == 1


def test_cli_ingest_url(server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base, site = server
    monkeypatch.setenv("SCRSEARCH_MODEL", "hash-64")
    monkeypatch.setenv("SCRSEARCH_FETCH_RETRIES", "1")
    monkeypatch.setenv("SCRSEARCH_FETCH_BACKOFF", "0.05")
    runner = CliRunner()
    ok = runner.invoke(cli, ["ingest", f"{base}/review.html", "--json"])
    assert ok.exit_code == 0, ok.output
    data = json.loads(ok.stdout)
    assert data["files"][0]["path"] == f"{base}/review.html"
    docs = json.loads(runner.invoke(cli, ["docs", "--json"]).stdout)
    assert docs[0]["url"] == f"{base}/review.html" and docs[0]["retrieved_at"]

    before = site.hits["/broken"]
    bad = runner.invoke(cli, ["ingest", f"{base}/broken"])
    assert bad.exit_code == 1
    lines = [ln for ln in bad.stdout.splitlines() if f"{base}/broken" in ln]
    assert lines == [
        f"   FAILED {base}/broken: the server answered 500 Internal Server Error, after 1 retry "
        "(the server is busy or failing: try again later)"
    ]
    assert site.hits["/broken"] - before == 2  # SCRSEARCH_FETCH_RETRIES=1: one more try

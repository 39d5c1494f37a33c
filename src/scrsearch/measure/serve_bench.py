"""Load on the HTTP API over loopback (``scrsearch bench --serve``).

A copy of the index's current generation is served by ``scrsearch serve`` in a
subprocess on 127.0.0.1 (so the server and this driver do not share a GIL). Then:

1. **Serial answers:** each query is asked once, one at a time; the answer (its exact
   bytes) is kept per index generation.
2. **Levels:** for each number of concurrent clients, an asyncio driver (httpx2) keeps
   that many requests in flight, cycling through the queries, until the request count or
   the time limit is reached. Each request's latency, status and generation are kept.
3. **An ingest during the run:** while the chosen level runs, ``scrsearch ingest`` adds
   a small new review to the served copy in another process; the level goes on until the
   ingest has published. The server must switch to the new generation between requests.
4. **Checks:** every answer must be byte-identical to the serial answer of the same
   query from the same generation (the serial answers of a generation that appeared
   mid-run are asked after the level). Errors (any non-200 or failed request) must be 0.

Reported per level: requests, requests/s, p50/p95/max latency (ms, as the client sees
it), errors, answers that differ from the serial ones, the generations that answered,
and the server's resident memory.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import IndexNotFoundError, ScrsearchError
from ..index.generations import MANIFEST, read_manifest
from .bench import _ms, default_queries, machine

Log = Callable[[str], None]
DEFAULT_CLIENTS = (1, 8, 32)
#: The review added during the run: new text, so the new generation answers differently.
INGEST_TEXT = """Rapid Review: Child Z (bench)
Published: 2024
Partnership: Loopback Safeguarding Partnership

Findings
1. Practitioners did not share the information they held about the family's move.
2. The escalation policy was known but not used when the referral was closed.

Lessons
1. A strategy discussion should follow new information about risk, whoever holds it.
2. Supervision should test optimism about a parent's engagement against the history.
"""


@dataclass
class Level:
    """What one level of concurrency saw."""

    clients: int
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    answers: list[tuple[int, str, str]] = field(default_factory=list)  # (generation, q, sha)
    seconds: float = 0.0
    ingest: bool = False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def copy_current(index_dir: Path, target: Path) -> None:
    """Copy the current generation of ``index_dir`` (its two files and manifest)."""
    manifest = read_manifest(index_dir)
    if manifest is None:
        raise IndexNotFoundError(str(index_dir))
    target.mkdir(parents=True)
    for name in (manifest.sqlite_name, manifest.faiss_name, MANIFEST):
        shutil.copy2(index_dir / name, target / name)


def _rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn's workers), in MB."""
    total = 0.0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for one in pids:
        try:
            status = Path(f"/proc/{one}/status").read_text()
            total += int(status.split("VmRSS:")[1].split()[0]) / 1024
        except (OSError, IndexError, ValueError):
            continue
    return round(total, 1)


class Served:
    """``scrsearch serve`` on a copy of an index, in a subprocess, on 127.0.0.1."""

    def __init__(self, index_dir: Path, workers: int, log_file: Path) -> None:
        self.index_dir = index_dir
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [sys.executable, "-m", "scrsearch", "serve", "--index", str(index_dir)]
        argv += ["--port", str(self.port), "--workers", str(workers), "--log-level", "warning"]
        self._log = log_file.open("w")
        self.process = subprocess.Popen(  # noqa: S603 - our own Python running scrsearch serve
            argv, stdout=self._log, stderr=subprocess.STDOUT
        )

    def wait_ready(self, timeout: float = 300) -> None:
        import httpx2

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if httpx2.get(f"{self.url}/health", timeout=5).status_code == 200:
                    return
            except httpx2.HTTPError:
                pass
            time.sleep(0.3)
        raise ScrsearchError(
            f"The API server did not start: {Path(self._log.name).read_text()[-2000:]}"
        )

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def serial_answers(
    url: str, queries: Sequence[str], params: dict[str, Any]
) -> tuple[int, dict[str, str]]:
    """Ask each query once, one at a time: the generation and ``{query: digest}``.

    Raises if the generation changed meanwhile (then the answers would be mixed).
    """
    import httpx2

    out: dict[str, str] = {}
    generations = set()
    with httpx2.Client(base_url=url, timeout=120) as http:
        for query in queries:
            response = http.get("/search", params={**params, "q": query})
            if response.status_code != 200:
                raise ScrsearchError(
                    f"Serial search failed ({response.status_code}): {response.text[:200]}"
                )
            generations.add(int(response.headers["x-scrsearch-generation"]))
            out[query] = _digest(response.content)
    if len(generations) != 1:
        raise ScrsearchError(f"The index changed during the serial searches: {sorted(generations)}")
    return generations.pop(), out


async def _drive(
    url: str,
    level: Level,
    queries: Sequence[str],
    params: dict[str, Any],
    *,
    requests: int,
    seconds: float,
    until: threading.Event | None,
) -> None:
    """Keep ``level.clients`` requests in flight until ``requests`` were sent or
    ``seconds`` passed, and (if given) ``until`` is set."""
    import httpx2

    limits = httpx2.Limits(max_connections=level.clients, max_keepalive_connections=level.clients)
    sent = 0
    started = time.perf_counter()

    def more() -> bool:
        elapsed = time.perf_counter() - started
        if until is not None and not until.is_set():
            return elapsed < seconds * 10  # the ingest level waits for the publish
        return sent < requests and elapsed < seconds

    async with httpx2.AsyncClient(base_url=url, timeout=120, limits=limits) as http:

        async def client() -> None:
            nonlocal sent
            while more():
                query = queries[sent % len(queries)]
                sent += 1
                t0 = time.perf_counter()
                try:
                    response = await http.get("/search", params={**params, "q": query})
                except httpx2.HTTPError as exc:
                    level.errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                level.latencies.append(time.perf_counter() - t0)
                if response.status_code != 200:
                    level.errors.append(f"{response.status_code}: {response.text[:200]}")
                    continue
                generation = int(response.headers["x-scrsearch-generation"])
                level.answers.append((generation, query, _digest(response.content)))

        await asyncio.gather(*(client() for _ in range(level.clients)))
    level.seconds = time.perf_counter() - started


def _ingest_in_background(
    index_dir: Path, work: Path, done: threading.Event, out: dict[str, Any]
) -> threading.Thread:
    document = work / "bench-rapid-review-child-z.txt"
    document.write_text(INGEST_TEXT)
    argv = [
        sys.executable,
        "-m",
        "scrsearch",
        "ingest",
        str(document),
        "--index",
        str(index_dir),
        "--json",
    ]

    def run() -> None:
        t0 = time.perf_counter()
        finished = subprocess.run(  # noqa: S603 - our own Python running scrsearch ingest
            argv, capture_output=True, text=True, check=False
        )
        out["seconds"] = round(time.perf_counter() - t0, 2)
        out["exit"] = finished.returncode
        if finished.returncode != 0:
            out["error"] = finished.stderr[-500:]
        done.set()

    thread = threading.Thread(target=run, name="bench-ingest")
    thread.start()
    return thread


def _summary(level: Level, serial: dict[int, dict[str, str]], rss_mb: float) -> dict[str, Any]:
    lat = sorted(level.latencies)
    unverified = sum(1 for g, _, _ in level.answers if g not in serial)
    differ = sum(1 for g, q, d in level.answers if g in serial and serial[g][q] != d)
    n = len(level.answers) + len(level.errors)
    return {
        "clients": level.clients,
        "requests": n,
        "errors": len(level.errors),
        "first_errors": level.errors[:3],
        "differ_from_serial": differ,
        "unverified": unverified,
        "requests_per_s": round(n / level.seconds, 2) if level.seconds else 0.0,
        "p50_ms": _ms(statistics.median(lat)) if lat else None,
        "p95_ms": _ms(lat[min(len(lat) - 1, int(0.95 * len(lat)))]) if lat else None,
        "max_ms": _ms(lat[-1]) if lat else None,
        "seconds": round(level.seconds, 2),
        "generations": sorted({g for g, _, _ in level.answers}),
        "ingest_during": level.ingest,
        "server_rss_mb": rss_mb,
    }


def run_serve_bench(
    index_dir: str | Path,
    *,
    clients: Sequence[int] = DEFAULT_CLIENTS,
    requests: int = 200,
    seconds: float = 30.0,
    mode: str = "hybrid",
    k: int = 10,
    workers: int = 1,
    ingest_at: int | None = 8,
    queries: Sequence[str] | None = None,
    work_dir: str | Path | None = None,
    log: Log = lambda message: None,
) -> dict[str, Any]:
    """Measure the API under load (see the module docstring); one JSON-ready object.

    Args:
        ingest_at: the level (number of clients) during which an ingest publishes a new
            generation; ``None``: no ingest. A value not in ``clients`` means the last level.
    """
    plan = Plan(list(queries or default_queries()), {"mode": mode, "k": k}, requests, seconds)
    if ingest_at is not None and ingest_at not in clients:
        ingest_at = clients[-1]
    if work_dir is not None:
        Path(work_dir).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="scrsearch-serve-bench-", dir=work_dir) as tmp:
        work = Path(tmp)
        copy_current(Path(index_dir), work / "index")
        manifest = read_manifest(work / "index")
        assert manifest is not None  # noqa: S101 - narrows the type; the copy has a manifest
        passages = manifest.counts.get("passages", 0)
        log(f"Serving a copy of {index_dir} ({passages:,} passages) on 127.0.0.1")
        server = Served(work / "index", workers, work / "server.log")
        try:
            server.wait_ready()
            rows, ingest_info = _levels(server, work, clients, ingest_at, plan, log)
        finally:
            server.close()
    return {
        "machine": machine(),
        "index": {
            "passages": passages,
            "documents": manifest.counts.get("documents", 0),
            "model": manifest.model,
        },
        "mode": mode,
        "k": k,
        "backend": os.environ.get("SCRSEARCH_BACKEND", "torch"),
        "workers": workers,
        "queries": len(plan.queries),
        "levels": rows,
        "ingest": ingest_info or None,
    }


@dataclass(frozen=True)
class Plan:
    """What each level asks: the queries (cycled), the other parameters, and its bounds."""

    queries: list[str]
    params: dict[str, Any]
    requests: int
    seconds: float


def _levels(
    server: Served,
    work: Path,
    clients: Sequence[int],
    ingest_at: int | None,
    plan: Plan,
    log: Log,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run each level (one with an ingest); the level summaries and what the ingest did."""
    generation, answers = serial_answers(server.url, plan.queries, plan.params)
    serial = {generation: answers}
    rows: list[dict[str, Any]] = []
    ingest_info: dict[str, Any] = {}
    for n in clients:
        level = Level(n, ingest=n == ingest_at)
        done = threading.Event() if level.ingest else None
        thread = _ingest_in_background(server.index_dir, work, done, ingest_info) if done else None
        log(f"{n} concurrent client(s){' with an ingest' if level.ingest else ''}")
        asyncio.run(
            _drive(
                server.url,
                level,
                plan.queries,
                plan.params,
                requests=plan.requests,
                seconds=plan.seconds,
                until=done,
            )
        )
        if thread is not None:
            thread.join()
            if ingest_info.get("exit") != 0:
                raise ScrsearchError(f"The bench's ingest failed: {ingest_info.get('error')}")
            ingest_info |= {"clients": n, "generation_before": generation}
            generation, answers = serial_answers(server.url, plan.queries, plan.params)
            serial[generation] = answers
            ingest_info["generation_after"] = generation
        rows.append(_summary(level, serial, _rss_mb(server.process.pid)))
    return rows, ingest_info

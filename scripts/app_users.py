#!/usr/bin/env python
"""Memory of the Streamlit app per extra connected user.

Starts ``streamlit run app.py`` over an index on a free 127.0.0.1 port, then connects
users one at a time (headless Debian chromium through Playwright, one browser context
each, so one Streamlit session each). Each user runs a hybrid search and waits for its
results. After each user the server process's resident memory (VmRSS) is read.

The first user pays for the model and the index (loaded once per process); every later
user adds only its session. The report gives the RSS after each user and the mean cost
of a user after the first.

Usage:  python scripts/app_users.py --index /tmp/realidx [--users 8] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
QUERIES = (
    "escalation policy not used",
    "safe sleeping advice for babies",
    "county lines and criminal exploitation",
    "voice of the child in assessments",
    "new information shared in a meeting",
    "domestic abuse and coercive control",
    "missed school and neglect",
    "mental health of a parent",
)


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_app(index: Path, log: Any) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    argv = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py")]
    argv += ["--server.port", str(port), "--server.headless", "true"]
    argv += ["--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    argv += ["--server.fileWatcherType", "none"]
    env = {**os.environ, "SCRSEARCH_INDEX": str(index)}
    server = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    return url, server
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise SystemExit("the app did not start")


def measure(index: Path, users: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    rows = []
    with tempfile.TemporaryFile() as log:
        url, server = start_app(index, log)
        try:
            time.sleep(2)
            rows.append({"users": 0, "rss_mb": round(rss_mb(server.pid), 1), "seconds": 0.0})
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                pages = []
                for n in range(1, users + 1):
                    query = QUERIES[(n - 1) % len(QUERIES)]
                    page = browser.new_context().new_page()
                    pages.append(page)  # kept open: a connected user
                    t0 = time.perf_counter()
                    page.goto(f"{url}/?{urllib.parse.urlencode({'q': query})}")
                    page.locator(".scr-score", has_text="hybrid").first.wait_for(timeout=300_000)
                    seconds = time.perf_counter() - t0
                    time.sleep(1.0)  # let the session's run finish and settle
                    rss = rss_mb(server.pid)
                    rows.append({"users": n, "rss_mb": round(rss, 1), "seconds": round(seconds, 2)})
                    print(f"{n} users: {rss:.0f} MB ({seconds:.1f} s to results)", file=sys.stderr)
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=20)
    first, last = rows[1]["rss_mb"], rows[-1]["rss_mb"]
    per_user = (last - first) / (users - 1) if users > 1 else None
    return {
        "index": str(index),
        "rows": rows,
        "first_user_mb": round(first - rows[0]["rss_mb"], 1),
        "per_extra_user_mb": None if per_user is None else round(per_user, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", required=True, type=Path, help="The index the app serves.")
    parser.add_argument("--users", type=int, default=8, help="Users to connect, one by one.")
    parser.add_argument("--json", action="store_true", help="Print JSON instead of a table.")
    args = parser.parse_args()
    result = measure(args.index, args.users)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print("users  server RSS MB  seconds to results")
    for row in result["rows"]:
        print(f"{row['users']:>5}  {row['rss_mb']:>13.0f}  {row['seconds']:>18.1f}")
    print(f"first user (model + index + session): {result['first_user_mb']:.0f} MB")
    if result["per_extra_user_mb"] is not None:
        print(f"each extra user: {result['per_extra_user_mb']:.1f} MB")


if __name__ == "__main__":
    main()

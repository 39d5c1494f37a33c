"""Crash safety: ``python -m scrsearch ingest`` killed with SIGKILL at each stage.

The child process runs the real CLI; a few lines of driver code (below, test-only)
make it stop at one chosen point and wait to be killed. After the kill the
previous index must open and answer exactly as before, ``check`` must pass, and a
re-run must complete.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scrsearch import load_config
from scrsearch.index.generations import Index, read_manifest
from scrsearch.index.maintenance import check_index
from scrsearch.ingestion.pipeline import ingest
from scrsearch.search.searcher import Searcher

#: Runs the CLI in the child, halting at $CRASH_AT until the test kills it.
DRIVER = r"""
import os, runpy, sys, time
from pathlib import Path

point, marker = os.environ["CRASH_AT"], Path(os.environ["CRASH_MARKER"])

def halt():
    marker.write_text(str(os.getpid()))
    time.sleep(120)
    os._exit(3)  # not reached: the test kills the process first

def after(fn, at_call=1):
    calls = []
    def wrapper(*args, **kwargs):
        result = fn(*args, **kwargs)
        calls.append(1)
        if len(calls) >= at_call:
            halt()
        return result
    return wrapper

def before(fn):
    return lambda *args, **kwargs: halt()

import scrsearch.index.generations as index
import scrsearch.ingestion.pipeline as pipeline
import scrsearch.index.store as store
from scrsearch.embed.hashing import HashEmbedder

if point == "extract":  # the third file is being read
    pipeline.extract = after(pipeline.extract, 2)
elif point == "embed":  # passages are being embedded
    HashEmbedder.embed_batch = before(HashEmbedder.embed_batch)
elif point == "write":  # inside the SQLite transaction, rows half written
    store.add_chunks = after(store.add_chunks, 2)
elif point == "faiss-build":  # the FAISS index is being built
    index.build_faiss = before(index.build_faiss)
elif point == "faiss-saved":  # the new FAISS file is written, the manifest not yet
    index.save_faiss = after(index.save_faiss)
elif point == "manifest":  # the new manifest is half written
    def torn(path, data):
        path.with_name(path.name + ".tmp").write_text('{"generation": 9')
        halt()
    index.write_json_atomic = torn
elif point == "swapped":  # the manifest is swapped, old files not yet removed
    index.remove_stale_generations = before(index.remove_stale_generations)
else:
    raise SystemExit(f"unknown point {point}")
sys.argv = ["scrsearch", *sys.argv[1:]]
runpy.run_module("scrsearch", run_name="__main__", alter_sys=True)
"""

POINTS = ["extract", "embed", "write", "faiss-build", "faiss-saved", "manifest", "swapped"]

BASE = {
    "a.txt": "The health visitor saw bruising on the baby and made no referral.",
    "b.txt": "The school escalated concerns about neglect to children's social care.",
    "c.txt": "The police attended a domestic abuse incident; the children were present.",
}
NEW = {
    f"new-{i}.txt": f"New review {i}: the {topic} was discussed at the strategy meeting."
    for i, topic in enumerate(
        ["nursery", "housing officer", "probation service", "GP surgery", "midwife"]
    )
}
QUERIES = ["bruising baby", "neglect school", "strategy meeting", "housing probation"]


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(f"{text} {text} {text}")
    return folder


def answers(index: Path, embedder) -> list:  # type: ignore[no-untyped-def]
    searcher = Searcher.open(index, config=load_config(), embedder=embedder)
    return [
        [(h.document.source, h.chunk.seq, round(h.score, 5)) for h in searcher.search(q, mode=m)]
        for q in QUERIES
        for m in ("semantic", "keyword", "hybrid")
    ]


def kill_at(point: str, folder: Path, index: Path, tmp_path: Path) -> None:
    marker = tmp_path / f"reached-{point}"
    env = {
        **os.environ,
        "SCRSEARCH_MODEL": "hash-64",
        "SCRSEARCH_OCR": "off",
        "CRASH_AT": point,
        "CRASH_MARKER": str(marker),
    }
    child = subprocess.Popen(
        [sys.executable, "-c", DRIVER, "ingest", str(folder), "--index", str(index)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 90
        while not marker.exists():
            if child.poll() is not None:
                pytest.fail(f"ingest ended before {point}: {child.stderr.read().decode()}")  # type: ignore[union-attr]
            if time.monotonic() > deadline:
                pytest.fail(f"ingest never reached {point}")
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        assert child.wait(10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stderr is not None:
            child.stderr.close()


@pytest.mark.parametrize("point", POINTS)
def test_sigkill_during_ingest_leaves_the_previous_index_whole(
    point: str, tmp_path: Path, hash_embedder
) -> None:
    config = load_config()
    index = config.index_dir
    ingest([write(tmp_path / "base", BASE)], config=config, embedder=hash_embedder)
    before = answers(index, hash_embedder)
    generation = read_manifest(index).generation  # type: ignore[union-attr]
    new = write(tmp_path / "new", NEW)

    kill_at(point, new, index, tmp_path)

    opened = Index.open(index)
    report = check_index(index)
    assert report.ok, report.problems
    if point == "swapped":  # the switch happened: the new index is whole
        assert opened.manifest.generation > generation
        assert opened.manifest.counts["documents"] == len(BASE) + len(NEW)
        assert opened.faiss.ntotal == opened.manifest.counts["passages"]
    else:  # the switch never happened: the old index, answering exactly as before
        assert opened.manifest.generation == generation
        assert answers(index, hash_embedder) == before

    rerun = ingest([new], config=config, embedder=hash_embedder)
    expected = "unchanged" if point == "swapped" else "indexed"
    assert [r.status for r in rerun.results] == [expected] * len(NEW)
    assert check_index(index).problems == (), "the re-run clears the crash's leftovers"
    after = Index.open(index)
    assert after.manifest.counts["documents"] == len(BASE) + len(NEW)
    searcher = Searcher.open(index, config=config, embedder=hash_embedder)
    found = {
        q: sorted(Path(h.document.source).name for h in searcher.search(q, k=10, mode="keyword"))
        for q in ("bruising baby", "strategy meeting")
    }
    assert found == {"bruising baby": ["a.txt"], "strategy meeting": sorted(NEW)}

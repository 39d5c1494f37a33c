"""Catalogue ingest: reading and checking the CSV, ingesting it from a local site on
127.0.0.1, metadata that wins, bad rows named by line, and runs that resume after an
exception or a real SIGKILL. The fake embedder keeps it fast."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from scrsearch import load_config
from scrsearch.cli import cli
from scrsearch.index import store
from scrsearch.index.generations import Index, read_manifest
from scrsearch.index.housekeeping import FETCH_STATE, FETCHED_DIR, PART_PREFIX
from scrsearch.ingestion.catalogue import (
    CatalogueError,
    CatalogueRow,
    ingest_catalogue,
    read_catalogue,
)
from scrsearch.ingestion.library import correct_metadata
from scrsearch.search.searcher import Searcher
from websites import HANG_SECOND, serve

ROOT = Path(__file__).resolve().parent.parent

#: Download settings with the waits cut down for tests.
FAST = {
    "fetch_delay": 0.0,
    "fetch_retries": 2,
    "fetch_backoff": 0.05,
    "fetch_backoff_max": 2.0,
    "fetch_timeout": 0.5,
}


@pytest.fixture
def site():
    with serve() as served:
        yield served


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text.lstrip("\n"), encoding="utf-8")
    return path


def config_for(tmp_path: Path, **changes):
    return load_config(index=str(tmp_path / "index"), **{**FAST, **changes})


def documents(index: Path) -> dict[str, tuple]:
    """source -> (metadata, extracted metadata, extra) of every indexed document."""
    conn = Index.open(index).conn()
    extracted = dict(conn.execute("SELECT source, extracted_metadata FROM documents"))
    return {
        doc.source: (doc.metadata.to_dict(), json.loads(extracted[doc.source]), extra)
        for doc, _, extra in store.list_documents(conn)
    }


def wait_for(probe, seconds: float = 10.0):
    """``probe()``'s first true answer within ``seconds`` (else its last)."""
    deadline = time.monotonic() + seconds
    while not (found := probe()) and time.monotonic() < deadline:
        time.sleep(0.02)
    return found


# --- Reading the CSV ------------------------------------------------------------


def test_read_catalogue_checks_every_row(tmp_path: Path) -> None:
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / "baby-l.txt").write_text("A review.")
    csv = write_csv(
        tmp_path / "reviews.csv",
        """
URL,path,Title,year,review_type,nation,notes,
https://example.org/child-t.pdf,,Child T,2021,CSPR,england,first
,local/baby-l.txt,,2019,,,
,,No address,2020,,,
https://example.org/x.pdf,local/x.pdf,,,,,
https://example.org/y.pdf,,,twenty,,,
https://example.org/z.pdf,,,,serious,,
https://example.org/w.pdf,,,,,france,
ftp://example.org/v.pdf,,,,,,
https://example.org/u.pdf,,,,,,,,,extra

https://example.org/child-t.pdf,,Again,,,,
"https://example.org/s.pdf",,"A title
over two lines",2018,,,
""",
    )
    catalogue = read_catalogue(csv)
    assert catalogue.rows == (
        CatalogueRow(
            2,
            url="https://example.org/child-t.pdf",
            metadata=(
                ("title", "Child T"),
                ("year", 2021),
                ("review_type", "cspr"),
                ("nation", "england"),
            ),
        ),
        CatalogueRow(3, path=tmp_path / "local" / "baby-l.txt", metadata=(("year", 2019),)),
        CatalogueRow(
            13,
            url="https://example.org/s.pdf",
            metadata=(("title", "A title\nover two lines"), ("year", 2018)),
        ),
    )
    assert catalogue.rows[1].source == str((tmp_path / "local" / "baby-l.txt").resolve())
    assert [(line, r.status, r.message) for line, r in catalogue.problems] == [
        (
            1,
            "failed",
            f"{csv} line 1: unknown column 'notes' (use url or path, and any of "
            "title, review_name, partnership, year, review_type, nation); its cells are ignored",
        ),
        (4, "failed", f"{csv} line 4: no url or path (give one of them)"),
        (
            5,
            "failed",
            f"{csv} line 5: https://example.org/x.pdf: both a url and a path (give one of them)",
        ),
        (
            6,
            "failed",
            f"{csv} line 6: https://example.org/y.pdf: Year 'twenty' is not a number: "
            "give a year like 2019",
        ),
        (
            7,
            "failed",
            f"{csv} line 7: https://example.org/z.pdf: Unknown review type 'serious': "
            "use one of scr, cspr, briefing, 7-minute-briefing, sar, dhr, pfd, guidance, other",
        ),
        (
            8,
            "failed",
            f"{csv} line 8: https://example.org/w.pdf: Unknown nation 'france': use one "
            "of england, wales, scotland, northern-ireland",
        ),
        (
            9,
            "failed",
            f"{csv} line 9: ftp://example.org/v.pdf: url 'ftp://example.org/v.pdf' is "
            "not a web address (give a full http:// or https:// URL)",
        ),
        (
            10,
            "failed",
            f"{csv} line 10: https://example.org/u.pdf: 10 cells but 8 columns "
            "(put quotes around a cell that holds a comma)",
        ),
        (
            12,
            "skipped",
            f"{csv} line 12: https://example.org/child-t.pdf: already on line 2; skipped",
        ),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "no such file (give the catalogue CSV's path)"),
        ("", "the file is empty (the first line must name the columns, e.g. url,title,year)"),
        (
            "title,year\nChild T,2020\n",
            "no url or path column (the first line must name the columns, e.g. url,title,year)",
        ),
    ],
)
def test_an_unreadable_catalogue_is_one_clear_error(
    tmp_path: Path, text: str | None, message: str
) -> None:
    csv = tmp_path / "reviews.csv"
    if text is not None:
        csv.write_text(text)
    with pytest.raises(CatalogueError) as info:
        read_catalogue(csv)
    assert str(info.value) == f"{csv}: {message}"


# --- Ingesting it -----------------------------------------------------------------


def test_catalogue_metadata_wins_and_every_failed_row_is_named(
    site, tmp_path: Path, hash_embedder
) -> None:
    base, web = site
    (tmp_path / "files").mkdir()
    local = tmp_path / "files" / "local-review.txt"
    local.write_text("The designated safeguarding lead did not share the concern with the GP.")
    csv = write_csv(
        tmp_path / "reviews.csv",
        f"""
url,path,title,partnership,year,review_type,nation
{base}/scr.txt,,Child Q: catalogue title,Northvale Safeguarding Children Partnership,2016,cspr,wales
,files/local-review.txt,Local review,,2022,,
{base}/missing.pdf,,,,,,
{base}/flaky.txt,,,,,,
,,,,2020,,
{base}/moved,,,,,,
,files/not-there.txt,,,,,
""",
    )
    config = config_for(tmp_path)
    report = ingest_catalogue(csv, config=config, embedder=hash_embedder)
    status = [(r.path, r.status, r.message) for r in report.results]
    assert status == [
        (f"{base}/scr.txt", "indexed", None),
        (str(local), "indexed", None),
        (
            f"{base}/missing.pdf",
            "failed",
            f"{csv} line 4: {base}/missing.pdf: the server answered 404 Not Found "
            "(check the address; the page may have moved)",
        ),
        (f"{base}/flaky.txt", "indexed", None),  # a 500, retried
        (f"{csv} line 6", "failed", f"{csv} line 6: no url or path (give one of them)"),
        (f"{base}/moved", "indexed", None),
        (
            str(tmp_path / "files" / "not-there.txt"),
            "failed",
            f"{csv} line 8: {tmp_path / 'files' / 'not-there.txt'}: no such file or folder",
        ),
    ]
    assert web.hits["/flaky.txt"] == 2 and web.hits["/missing.pdf"] == 1
    docs = documents(config.index_dir)
    meta, extracted, _ = docs[f"{base}/scr.txt"]
    # Extraction found its own values; the catalogue's won, and a field it left blank
    # (review_name) kept what extraction found.
    assert (extracted["year"], extracted["review_type"], extracted["nation"]) == (
        2015,
        "scr",
        "england",
    )
    assert meta == {
        "title": "Child Q: catalogue title",
        "review_name": "Child Q",
        "partnership": "Northvale Safeguarding Children Partnership",
        "year": 2016,
        "review_type": "cspr",
        "nation": "wales",
    }
    assert docs[str(local.resolve())][0]["year"] == 2022
    assert docs[f"{base}/moved"][2]["final_url"] == f"{base}/doc/moved-target.txt"
    hits = Searcher.open(config=config, embedder=hash_embedder).search(
        "neglect school nurse", mode="keyword"
    )
    assert hits[0].document.metadata.year == 2016  # what search shows is the catalogue's


def test_duplicates_are_indexed_once_and_named(site, tmp_path: Path, hash_embedder) -> None:
    base, _ = site
    csv = write_csv(
        tmp_path / "reviews.csv",
        f"""
url
{base}/copy-a/review.txt
{base}/copy-b/review.txt
{base}/twin-one.txt
{base}/twin-two.txt
""",
    )
    report = ingest_catalogue(csv, config=config_for(tmp_path), embedder=hash_embedder)
    assert [(r.status, r.message) for r in report.results] == [
        ("indexed", None),
        (
            "duplicate",
            f"{csv} line 3: {base}/copy-b/review.txt: same content as "
            f"{base}/copy-a/review.txt, indexed once",
        ),
        ("indexed", None),
        (
            "duplicate",
            f"{csv} line 5: {base}/twin-two.txt: same content as {base}/twin-one.txt, indexed once",
        ),
    ]
    assert not report.failed


def test_rerun_downloads_only_what_changed(site, tmp_path: Path, hash_embedder) -> None:
    base, web = site
    csv = write_csv(tmp_path / "reviews.csv", f"url\n{base}/doc/a.txt\n{base}/changing.txt\n")
    config = config_for(tmp_path)
    first = ingest_catalogue(csv, config=config, embedder=hash_embedder)
    assert [r.status for r in first.results] == ["indexed", "indexed"]
    again = ingest_catalogue(csv, config=config, embedder=hash_embedder)
    assert [r.status for r in again.results] == ["unchanged", "unchanged"]
    assert web.bodies == {"/doc/a.txt": 1, "/changing.txt": 1}  # two 304s
    assert not again.published
    web.version = 2
    changed = ingest_catalogue(csv, config=config, embedder=hash_embedder)
    assert [r.status for r in changed.results] == ["unchanged", "replaced"]
    assert web.bodies == {"/doc/a.txt": 1, "/changing.txt": 2}
    assert web.conditional["/changing.txt"] == [{"If-None-Match": '"v1"'}] * 2


def test_a_corrected_row_updates_an_unchanged_document(site, tmp_path: Path, hash_embedder) -> None:
    """Fixing the catalogue needs no re-download or re-embedding; the user's own
    corrections in the app still win."""
    base, web = site
    url = f"{base}/doc/a.txt"
    csv = write_csv(tmp_path / "reviews.csv", f"url,year,partnership\n{url},2010,\n")
    config = config_for(tmp_path)
    ingest_catalogue(csv, config=config, embedder=hash_embedder)
    [doc_id] = [d.doc_id for d, _, _ in store.list_documents(Index.open(config.index_dir).conn())]
    correct_metadata(config.index_dir, doc_id, {"partnership": "Set by hand"}, config=config)

    write_csv(csv, f"url,year,partnership\n{url},2011,From the catalogue\n")
    report = ingest_catalogue(csv, config=config, embedder=hash_embedder)
    [result] = report.results
    assert (result.status, result.message) == (
        "unchanged",
        f"{csv} line 2: {url}: unchanged; metadata updated (year)",
    )
    assert report.published and web.bodies["/doc/a.txt"] == 1
    meta = documents(config.index_dir)[url][0]
    assert (meta["year"], meta["partnership"]) == (2011, "Set by hand")
    conn = Index.open(config.index_dir).conn()
    assert [tuple(r) for r in conn.execute("SELECT field FROM corrections")] == [("partnership",)]
    again = ingest_catalogue(csv, config=config, embedder=hash_embedder)
    assert again.results[0].message is None and not again.published


def test_an_interrupted_run_resumes(site, tmp_path: Path, hash_embedder) -> None:
    """An exception midway (as Ctrl-C would be): the rerun fetches only the rest."""
    base, web = site
    urls = [f"{base}/plain/{n}.txt" for n in range(6)]  # no validators: nothing to ask
    csv = write_csv(tmp_path / "reviews.csv", "url\n" + "\n".join(urls) + "\n")
    config = config_for(tmp_path, fetch_per_host=1, fetch_threads=1)

    def stop_after_three(tally) -> None:
        if tally.done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ingest_catalogue(csv, config=config, embedder=hash_embedder, on_download=stop_after_three)
    assert read_manifest(config.index_dir) is None, "nothing was published"
    assert sum(web.hits.values()) == 3

    report = ingest_catalogue(csv, config=config, embedder=hash_embedder)
    assert [r.status for r in report.results] == ["indexed"] * 6
    assert all(web.hits[f"/plain/{n}.txt"] == 1 for n in range(6)), web.hits


def test_a_killed_run_resumes(site, tmp_path: Path, hash_embedder) -> None:
    """A real SIGKILL in the middle of a download: the partial file never counts, the
    finished downloads are not fetched again, and the rerun indexes everything."""
    base, web = site
    urls = [f"{base}/plain/{n}.txt" for n in range(3)] + [f"{base}/hang.txt", f"{base}/plain/9.txt"]
    csv = write_csv(tmp_path / "reviews.csv", "url\n" + "\n".join(urls) + "\n")
    index = tmp_path / "index"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "SCRSEARCH_MODEL": "hash-64",
        "SCRSEARCH_FETCH_PER_HOST": "1",
        "SCRSEARCH_FETCH_THREADS": "1",
        "SCRSEARCH_FETCH_DELAY": "0",
        "SCRSEARCH_FETCH_TIMEOUT": "30",
    }
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scrsearch",
            "ingest",
            "--catalogue",
            str(csv),
            "--index",
            str(index),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert web.hang_started.wait(60), "the child never reached the hanging download"
        parts = wait_for(lambda: list((index / FETCHED_DIR).glob(PART_PREFIX + "*")))
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    web.release_hang.set()
    assert child.returncode == -signal.SIGKILL
    assert parts, "a partial download was in progress"
    assert read_manifest(index) is None
    with sqlite3.connect(index / FETCHED_DIR / FETCH_STATE) as state:
        recorded = {url for (url,) in state.execute("SELECT url FROM downloads")}
    assert recorded == set(urls[:3]), "each finished download was recorded as it finished"

    web.hang_fast = True
    config = load_config(index=str(index), **FAST)
    report = ingest_catalogue(csv, config=config, embedder=hash_embedder)
    assert [r.status for r in report.results] == ["indexed"] * 5
    assert [web.hits[f"/plain/{n}.txt"] for n in (0, 1, 2, 9)] == [1, 1, 1, 1]
    assert web.hits["/hang.txt"] == 2
    hits = Searcher.open(config=config, embedder=hash_embedder).search(
        "quartermaster", mode="keyword"
    )
    assert hits and HANG_SECOND in hits[0].chunk.text, "the whole document, not the partial one"


# --- The command line ---------------------------------------------------------------


def test_cli_catalogue_exit_status_and_lines(site, tmp_path: Path, monkeypatch) -> None:
    base, _ = site
    monkeypatch.setenv("SCRSEARCH_MODEL", "hash-64")
    for name, value in FAST.items():
        monkeypatch.setenv(f"SCRSEARCH_{name.upper()}", str(value))
    extra = tmp_path / "extra.txt"
    extra.write_text("The police did not attend the strategy meeting about the child.")
    good = write_csv(tmp_path / "good.csv", f"url,year\n{base}/doc/a.txt,2020\n")
    runner = CliRunner()
    ok = runner.invoke(cli, ["ingest", "--catalogue", str(good), str(extra)])
    assert ok.exit_code == 0, ok.output
    assert "Indexed 2 new" in ok.stdout

    bad = write_csv(tmp_path / "bad.csv", f"url,year\n{base}/doc/b.txt,soon\n{base}/missing.pdf,\n")
    failed = runner.invoke(cli, ["ingest", "--catalogue", str(bad), "--json"])
    assert failed.exit_code == 1
    messages = [f["message"] for f in json.loads(failed.stdout)["files"] if f["status"] == "failed"]
    assert messages == [
        f"{bad} line 2: {base}/doc/b.txt: Year 'soon' is not a number: give a year like 2019",
        f"{bad} line 3: {base}/missing.pdf: the server answered 404 Not Found "
        "(check the address; the page may have moved)",
    ]
    shown = runner.invoke(cli, ["ingest", "--catalogue", str(bad)])
    assert f"   FAILED {bad} line 2: {base}/doc/b.txt: Year 'soon'" in shown.stdout

    nothing = runner.invoke(cli, ["ingest"])
    assert nothing.exit_code == 2 and "give PATHS to ingest, or --catalogue CSV" in nothing.output
    missing = runner.invoke(cli, ["ingest", "--catalogue", str(tmp_path / "none.csv")])
    assert missing.exit_code == 1
    assert missing.stderr.strip() == (
        f"Error: {tmp_path / 'none.csv'}: no such file (give the catalogue CSV's path)"
    )

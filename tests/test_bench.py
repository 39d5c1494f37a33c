"""A smoke run of `scrsearch bench` at one small size with the hash embedder (not timed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from scrsearch.cli import cli

ROOT = Path(__file__).resolve().parent.parent


def test_bench_smoke_json_contract(tmp_path: Path) -> None:
    corpus = ROOT / "corpus"
    args = ["bench", "--model", "hash-64", "--sizes", "2000", "--queries", "20"]
    args += ["--corpus", str(corpus / "kingsmere-2021-cspr-jayden.pdf")]
    work = tmp_path / "not" / "yet"  # made by the bench
    args += ["--ingest-corpus", str(corpus), "--work-dir", str(work), "--json"]
    args += ["--recurring-sizes", "600"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)

    ingest = data["ingest"]
    assert ingest["passages"] > 100
    for key in ("passages_per_s", "raw_encode_passages_per_s", "end_to_end_passages_per_s"):
        assert ingest[key] > 0
    ratio = ingest["raw_encode_passages_per_s"] / ingest["passages_per_s"]
    assert ingest["overhead_ratio"] == pytest.approx(ratio, rel=0.01)

    assert data["extraction"]["pdf_pages"] > 0 and data["extraction"]["pages_per_s"] > 0
    assert set(data["model"]) >= {"load_s", "first_query_ms", "embed_ms"}
    assert set(data["config"]) == {"exact_search_max", "nprobe", "keyword_budget"}

    rows = data["query"]
    assert {r["mode"] for r in rows} == {"hybrid", "semantic", "keyword"}
    for row in rows:
        assert row["passages"] == 2000 and row["queries"] == 20
        assert 0 < row["p50_ms"] <= row["p95_ms"]
    recall = {r["mode"]: r["recall_at_10"] for r in rows}
    # 2,000 passages are searched exactly (flat FAISS, BM25 over every query term),
    # so both retrievers agree with exact search.
    assert recall == {"semantic": 1.0, "hybrid": 1.0, "keyword": 1.0}

    (memory,) = data["memory"]
    assert memory["passages"] == 2000 and memory["faiss_kind"] == "flat"
    assert memory["peak_rss_mb"] > 10 and memory["index_mb"] > 0
    assert work.is_dir() and not any(work.iterdir())  # the temporary indexes are cleaned up

    (grouping,) = data["recurring"]
    assert grouping["passages"] == 600 and 0 < grouping["grouped_passages"] <= 600
    stages = grouping["features_s"] + grouping["cluster_s"] + grouping["label_s"]
    assert grouping["total_s"] == pytest.approx(stages, abs=0.05)


def test_serve_bench_short_bounded_load_run(tmp_path: Path) -> None:
    """`scrsearch bench --serve` on 127.0.0.1: a few requests at 1 and 3 clients, an ingest
    during the second level; no errors, and every answer equals the serial one."""
    from scrsearch import HashEmbedder, load_config
    from scrsearch.ingestion.pipeline import ingest

    index = tmp_path / "index"
    corpus = ROOT / "corpus"
    files = [corpus / "george-briefing.txt", corpus / "kingsmere-2021-cspr-jayden.pdf"]
    ingest(files, config=load_config(index=str(index)), embedder=HashEmbedder(64, 128))
    args = ["bench", "--serve", "--index", str(index), "--clients", "1,3", "--queries", "12"]
    args += ["--seconds", "30", "--ingest-at", "3", "--work-dir", str(tmp_path / "work"), "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["index"]["documents"] == 2 and data["mode"] == "hybrid"
    one, three = data["levels"]
    assert one["clients"] == 1 and one["requests"] == 12 and not one["ingest_during"]
    assert three["clients"] == 3 and three["requests"] >= 12 and three["ingest_during"]
    for level in (one, three):
        assert level["errors"] == 0, level["first_errors"]
        assert level["differ_from_serial"] == 0 and level["unverified"] == 0
        assert 0 < level["p50_ms"] <= level["p95_ms"] <= level["max_ms"]
        assert level["requests_per_s"] > 0 and level["server_rss_mb"] > 10
    ingested = data["ingest"]
    assert ingested["exit"] == 0 and ingested["clients"] == 3
    assert ingested["generation_after"] > ingested["generation_before"]
    assert one["generations"] == [ingested["generation_before"]]
    assert three["generations"][-1] == ingested["generation_after"]  # picked up mid-run
    assert not any((tmp_path / "work").iterdir())  # the served copy is cleaned up

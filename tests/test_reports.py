"""The library's reports carry their JSON shapes (``to_dict``); the CLI only prints them."""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from scrsearch.cli import cli
from scrsearch.config import load_config
from scrsearch.index.generations import Index
from scrsearch.index.info import index_info
from scrsearch.ingestion.library import documents
from scrsearch.ingestion.pipeline import ingest
from scrsearch.records import FileResult

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "scrsearch"
PDF = ROOT / "corpus" / "kingsmere-2021-cspr-jayden.pdf"
REVIEW = "Serious Case Review: Child A\nPublished: 2016\n\nLessons\n1. Use the escalation policy.\n"


def _folder(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text(REVIEW)
    (docs / "empty.txt").write_text("")
    shutil.copy(PDF, docs / PDF.name)
    return docs


def test_file_result_to_dict_lists_its_warnings() -> None:
    result = FileResult("a.pdf", "indexed", doc_id=3, pages=2, passages=5, warnings=("p. 2",))
    assert result.to_dict() == {
        "path": "a.pdf",
        "status": "indexed",
        "reason": None,
        "message": None,
        "doc_id": 3,
        "pages": 2,
        "passages": 5,
        "warnings": ["p. 2"],
    }
    json.dumps(result.to_dict())  # JSON-ready


def test_ingest_json_is_the_reports_to_dict(tmp_path: Path, monkeypatch, hash_embedder) -> None:
    monkeypatch.setenv("SCRSEARCH_MODEL", "hash-64")
    docs = _folder(tmp_path)
    result = CliRunner().invoke(
        cli, ["ingest", str(docs), "--index", str(tmp_path / "i"), "--json"]
    )
    assert result.exit_code == 1  # empty.txt failed
    printed = json.loads(result.stdout)
    report = ingest([docs], config=load_config(index=str(tmp_path / "j"), model="hash-64"))
    expected = report.to_dict()
    assert list(printed) == ["summary", "files"]
    printed["summary"]["seconds"] = expected["summary"]["seconds"]
    assert printed == json.loads(json.dumps(expected))
    assert expected["summary"]["indexed"] == 2 and expected["summary"]["failed"] == 1
    by_name = {Path(f["path"]).name: f for f in expected["files"]}
    assert by_name["empty.txt"]["status"] == "failed" and by_name["empty.txt"]["reason"] == "empty"


def test_document_listing_and_index_info(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SCRSEARCH_MODEL", "hash-64")
    docs = _folder(tmp_path)
    index = tmp_path / "idx"
    ingest([docs], config=load_config(index=str(index)))
    rows = {Path(r.document.source).name: r.to_dict() for r in documents(Index.open(index))}
    text, pdf = rows["a.txt"], rows[PDF.name]
    assert list(text)[:4] == ["doc_id", "title", "source", "review_name"]
    assert text["title"] == "Serious Case Review: Child A" and text["year"] == 2016
    assert text["format"] == "text" and text["pages"] is None and text["passages"] >= 1
    assert pdf["format"] == "pdf" and pdf["pages"] >= 1
    listed = json.loads(CliRunner().invoke(cli, ["docs", "--index", str(index), "--json"]).stdout)
    assert listed == sorted(rows.values(), key=lambda d: d["source"])

    info = index_info(index)
    data = info.to_dict()
    assert data["index"] == str(index.resolve()) and data["model"] == "hash-64"
    assert data["counts"]["documents"] == 2 and data["dimension"] == 64
    on_disk = sum((index / data[k]).stat().st_size for k in ("sqlite", "faiss"))
    assert data["size_mb"] == round(on_disk / 1e6, 2) > 0
    printed = json.loads(CliRunner().invoke(cli, ["info", "--index", str(index), "--json"]).stdout)
    assert printed == data


def test_only_the_clients_import_rich_or_click() -> None:
    """Tables and prompts are the CLI's: the library returns plain reports."""
    offenders = []
    for path in SRC.rglob("*.py"):
        if path.relative_to(SRC).parts[0] in ("cli", "app"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and not node.level
                else []
            )
            offenders += [
                f"{path.name}: {n}" for n in names if n.split(".")[0] in ("rich", "click")
            ]
    assert offenders == []


def test_bench_tables_show_every_measure() -> None:
    import io

    from rich.console import Console

    from scrsearch.cli.tables import bench_tables

    result = {
        "machine": {"cpus": 2, "cpu": "Test CPU"},
        "model": {"name": "hash-64", "load_s": 0.25, "first_query_ms": 3.0, "embed_ms": 1.5},
        "extraction": {"pages_per_s": 12.5, "pdf_pages": 40},
        "ingest": {
            "passages_per_s": 100.0,
            "passages": 500,
            "end_to_end_passages_per_s": 80.0,
            "raw_encode_passages_per_s": 150.0,
            "overhead_ratio": 1.5,
        },
        "query": [
            {"passages": 2000, "mode": "hybrid", "p50_ms": 1.25, "p95_ms": 2.5, "recall_at_10": 1.0}
        ],
        "memory": [
            {"passages": 2000, "faiss_kind": "flat", "peak_rss_mb": 90, "build_peak_rss_mb": 120}
            | {"index_mb": 7, "build_s": 3}
        ],
    }
    console = Console(file=io.StringIO(), width=160)
    for table in bench_tables(result):
        console.print(table)
    out = console.file.getvalue()
    assert "2 CPUs, Test CPU" in out and "model load (hash-64)" in out and "0.25 s" in out
    assert "12.5 pages/s (40 pages)" in out and "1.50x" in out and "ONNX" not in out
    assert "2,000" in out and "hybrid" in out and "1.000" in out and "flat" in out

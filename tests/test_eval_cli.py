"""`scrsearch eval` on a tiny index built with the hash embedder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from scrsearch.cli import cli
from scrsearch.config import load_config
from scrsearch.ingestion.pipeline import ingest
from scrsearch.measure.eval import evaluate, load_qrels

DOCS = {
    "county/lines.txt": "Child J was drawn into county lines drug running by older boys.\n",
    "sleep/safe.txt": "Safe sleeping advice: the baby slept on a sofa with a parent.\n",
    "school/attend.txt": "Poor school attendance went unnoticed for two terms.\n",
}


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hash_embedder) -> tuple[Path, Path]:
    monkeypatch.setenv("SCRSEARCH_MODEL", "hash-64")
    root = tmp_path / "collection"
    for name, text in DOCS.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    index = tmp_path / "idx"
    report = ingest([root], config=load_config(index=str(index)), embedder=hash_embedder)
    assert not report.failed
    qrels = {
        "collection": "tiny",
        "documents": [*DOCS, "missing/never-indexed.pdf"],
        "queries": [
            {"id": "t1", "query": "county lines", "kind": "keyword",
             "judgements": {"county/lines.txt": 2}},
            {"id": "t2", "query": "baby on a sofa", "kind": "question",
             "judgements": {"sleep/safe.txt": 2, "school/attend.txt": 1}},
            {"id": "t3", "query": "anything", "kind": "rare",
             "judgements": {"missing/never-indexed.pdf": 2}},
        ],
    }  # fmt: skip
    path = tmp_path / "qrels.json"
    path.write_text(json.dumps(qrels))
    return index, path


def test_eval_json_contract(tiny: tuple[Path, Path]) -> None:
    index, qrels = tiny
    result = CliRunner().invoke(cli, ["eval", str(qrels), "--index", str(index), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["collection"] == "tiny"
    assert set(data["modes"]) == {"keyword", "semantic", "hybrid"}
    for summary in data["modes"].values():
        assert set(summary) >= {"ndcg@10", "recall@10", "recall@50", "mrr", "by_kind"}
        assert all(0.0 <= summary[m] <= 1.0 for m in ("ndcg@10", "recall@10", "mrr"))
    # t3 judges only a document that is not indexed: skipped, with a warning line.
    assert [q["id"] for q in data["queries"]] == ["t1", "t2"]
    assert "1 judged document(s) not in the index" in result.stderr
    assert "query t3: no relevant document in the index, skipped" in result.stderr
    # "county lines" appears in one document only: keyword search ranks it first.
    t1 = data["queries"][0]
    assert t1["kind"] == "keyword" and t1["keyword"] == {
        "ndcg@10": 1.0,
        "recall@5": 1.0,
        "recall@10": 1.0,
        "recall@50": 1.0,
        "mrr": 1.0,
    }
    assert data["modes"]["keyword"]["by_kind"]["keyword"] == 1.0
    # The other modes against keyword search, paired over the two queries.
    against = {c["mode"]: c for c in data["comparisons"]}
    assert set(against) == {"semantic", "hybrid"}
    for mode, c in against.items():
        diffs = [q[mode]["ndcg@10"] - q["keyword"]["ndcg@10"] for q in data["queries"]]
        assert c["baseline"] == "keyword" and c["difference"] == pytest.approx(
            sum(diffs) / 2, abs=1e-4
        )
        assert c["better"] + c["worse"] + c["tied"] == 2
        assert c["ci95"][0] <= c["difference"] <= c["ci95"][1]


def test_eval_tables_and_modes_option(tiny: tuple[Path, Path]) -> None:
    index, qrels = tiny
    args = ["eval", str(qrels), "--index", str(index), "--modes", "keyword"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "nDCG@10 per query" in result.stdout and "county lines" in result.stdout
    assert "semantic" not in result.stdout
    assert "against keyword" not in result.stdout  # one mode: nothing to compare
    assert "│ t1 " in result.stdout and "1.000" in result.stdout  # 80 columns keep them whole
    args = ["eval", str(qrels), "--index", str(index), "--modes", "keyword,hybrid"]
    table = CliRunner().invoke(cli, [*args, "--baseline", "hybrid"]).stdout
    assert "nDCG@10 against hybrid, paired over the queries" in table
    missing = CliRunner().invoke(cli, [*args, "--baseline", "semantic"])
    assert missing.exit_code == 1
    assert "baseline 'semantic' is not among the modes evaluated" in missing.stderr
    assert "--modes" in missing.stderr


def test_eval_root_option_and_bad_mode(tiny: tuple[Path, Path], hash_embedder) -> None:
    index, qrels = tiny
    got = evaluate(
        load_qrels(qrels), index, modes=["keyword"], root=index.parent / "collection",
        embedder=hash_embedder,
    )  # fmt: skip
    assert len(got.queries) == 2
    result = CliRunner().invoke(
        cli, ["eval", str(qrels), "--index", str(index), "--modes", "fuzzy"]
    )
    assert result.exit_code == 1 and "Unknown mode 'fuzzy'" in result.stderr


def test_unreadable_qrels_is_one_clear_line(tmp_path: Path, tiny: tuple[Path, Path]) -> None:
    index, _ = tiny
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = CliRunner().invoke(cli, ["eval", str(bad), "--index", str(index)])
    assert result.exit_code == 1 and "Cannot read qrels file" in result.stderr


def test_eval_as_if_a_larger_index_scales_the_keyword_budget(tiny: tuple[Path, Path]) -> None:
    index, qrels = tiny
    args = ["eval", str(qrels), "--index", str(index), "--json"]
    plain = json.loads(CliRunner().invoke(cli, args).stdout)
    assert plain["simulated"] is None
    result = CliRunner().invoke(cli, [*args, "--as-if-passages", "3000000"])
    assert result.exit_code == 0, result.output
    scaled = json.loads(result.stdout)
    # 40,000 is 1/75 of 3M passages; 1/75 of this 3-passage index rounds up to 1.
    assert scaled["simulated"] == {"passages": 3_000_000, "keyword_budget": 1}
    # "county lines": only one of its terms fits that budget, and rescoring every term
    # keeps the exact ranking.
    assert scaled["queries"][0]["keyword"] == plain["queries"][0]["keyword"]
    table = CliRunner().invoke(cli, [*args[:-1], "--as-if-passages", "3000000"]).output
    assert "as if 3,000,000 passages" in table and "(keyword budget 1)" in table

"""CLI contract: every command and setting documented; JSON output for listings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

from scrsearch.cli import cli
from scrsearch.config import SETTINGS, Config, load_config


def test_every_command_and_option_has_help() -> None:
    for name, command in cli.commands.items():
        assert command.help, f"command {name} has no help"
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"{name} {param.opts} has no help"


def test_every_setting_has_help_and_an_env_override(monkeypatch) -> None:
    # model_chosen is no setting: it records whether model was set (see Config.model_for).
    assert {s.name for s in SETTINGS} == set(Config.__dataclass_fields__) - {"model_chosen"}
    for setting in SETTINGS:
        assert setting.help and setting.env.startswith("SCRSEARCH_")
    monkeypatch.setenv("SCRSEARCH_CHUNK_TOKENS", "123")
    monkeypatch.setenv("SCRSEARCH_KEYWORD_WEIGHT", "2.5")
    config = load_config(model="x")
    assert config.chunk_tokens == 123 and config.keyword_weight == 2.5 and config.model == "x"
    assert config.model_chosen and config.model_for("index-model") == "x"
    unchosen = load_config()
    assert not unchosen.model_chosen and unchosen.model_for("index-model") == "index-model"
    assert unchosen.model_for(None) == unchosen.model  # a new index: the default
    monkeypatch.setenv("SCRSEARCH_MODEL", "y")
    assert load_config().model_for("index-model") == "y"


def test_help_is_fast_and_needs_no_torch() -> None:
    code = "import sys; from scrsearch.cli import cli; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
    out = subprocess.run(
        [sys.executable, "-m", "scrsearch", "--help"], capture_output=True, text=True, check=True
    )
    assert "ingest" in out.stdout and "search" in out.stdout


def test_missing_index_is_one_clear_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["search", "neglect", "--index", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0
    assert "No index at" in result.stderr and "scrsearch ingest corpus/" in result.stderr


def test_docs_info_and_search_json(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SCRSEARCH_MODEL", "hash-64")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text(
        "Serious Case Review: Child A\nPublished: 2016\n\nLessons\n1. Use the escalation policy.\n"
    )
    index = str(tmp_path / "idx")
    runner = CliRunner()
    assert runner.invoke(cli, ["ingest", str(docs), "--index", index]).exit_code == 0
    listed = json.loads(runner.invoke(cli, ["docs", "--index", index, "--json"]).stdout)
    assert listed[0]["title"] == "Serious Case Review: Child A" and listed[0]["year"] == 2016
    assert listed[0]["review_type"] == "scr" and listed[0]["passages"] >= 1
    info = json.loads(runner.invoke(cli, ["info", "--index", index, "--json"]).stdout)
    assert (
        info["model"] == "hash-64" and info["dimension"] == 64 and info["counts"]["documents"] == 1
    )
    hits = json.loads(
        runner.invoke(cli, ["search", "escalation", "--index", index, "--json"]).stdout
    )
    assert isinstance(hits, list) and hits[0]["rank"] == 1 and hits[0]["section"] == "lessons"
    similar = runner.invoke(cli, ["similar", str(hits[0]["chunk_id"]), "--index", index, "--json"])
    assert similar.exit_code == 0 and isinstance(json.loads(similar.stdout), list)
    # The filter options reach the search: a type no document has finds nothing.
    like = ["similar", "--text", "escalation policy", "--index", index, "--json"]
    assert json.loads(runner.invoke(cli, [*like, "--type", "scr"]).stdout)
    assert json.loads(runner.invoke(cli, [*like, "--type", "cspr"]).stdout) == []


def test_cli_choices_are_the_library_vocabularies() -> None:
    """Every fixed choice of the CLI comes from the one constant the library checks."""
    from scrsearch.embed.registry import BACKENDS
    from scrsearch.measure.eval import BASELINE, EVAL_MODES
    from scrsearch.measure.theme_eval import SPLITS
    from scrsearch.present.export import FORMATS
    from scrsearch.records import REVIEW_TYPES, SECTIONS
    from scrsearch.search.request import DEFAULT_K
    from scrsearch.search.searcher import DEFAULT_MODE, MODES

    def option(command: click.Command, name: str) -> click.Option:
        (found,) = [p for p in command.params if isinstance(p, click.Option) and name in p.opts]
        return found

    def choices(command: click.Command, name: str) -> tuple[str, ...]:
        kind = option(command, name).type
        assert isinstance(kind, click.Choice)
        return tuple(kind.choices)

    assert choices(cli, "--backend") == BACKENDS
    for name in ("search", "similar", "export"):
        command = cli.commands[name]
        assert option(command, "-k").default == DEFAULT_K
        if name != "similar":
            assert choices(command, "--mode") == MODES
            assert option(command, "--mode").default == DEFAULT_MODE
        assert choices(command, "--type") == REVIEW_TYPES
        assert choices(command, "--section") == SECTIONS
    assert choices(cli.commands["export"], "--format") == FORMATS
    assert choices(cli.commands["eval-themes"], "--split") == ("all", *SPLITS)
    assert option(cli.commands["eval"], "--modes").default == ",".join(EVAL_MODES)
    assert EVAL_MODES[0] == BASELINE and sorted(EVAL_MODES) == sorted(MODES)


def test_review_type_choice_ignores_case(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SCRSEARCH_MODEL", "hash-64")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("Serious Case Review: Child A\n\nLessons\n1. Escalate.\n")
    runner = CliRunner()
    assert runner.invoke(cli, ["ingest", str(docs)]).exit_code == 0
    upper = runner.invoke(cli, ["search", "escalate", "--type", "SCR", "--json"])
    assert upper.exit_code == 0 and json.loads(upper.stdout)[0]["review_type"] == "scr"
    wrong = runner.invoke(cli, ["search", "escalate", "--type", "serious"])
    assert wrong.exit_code == 2 and "'serious' is not one of" in wrong.stderr

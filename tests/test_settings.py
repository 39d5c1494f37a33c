"""Bad settings fail clearly: one line naming the setting and the values it takes.

From the library, ``load_config`` raises :class:`SettingError`; from the command line,
the same line is printed and the command exits 1, as for the CLI's other errors.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from scrsearch.cli import cli
from scrsearch.config import SETTINGS, Setting, flag, load_config
from scrsearch.errors import ScrsearchError, SettingError

WHOLE = "use a whole number, 1 or more."

#: (variable, value, the message's end), one or more per kind of setting.
BAD = [
    # whole numbers
    ("SCRSEARCH_BATCH_SIZE", "abc", f"'abc': {WHOLE}"),
    ("SCRSEARCH_BATCH_SIZE", "0", f"'0': {WHOLE}"),
    ("SCRSEARCH_NPROBE", "-3", f"'-3': {WHOLE}"),
    ("SCRSEARCH_CHUNK_TOKENS", "2.5", f"'2.5': {WHOLE}"),
    ("SCRSEARCH_MAX_FILE_MB", "-1", f"'-1': {WHOLE}"),
    ("SCRSEARCH_RRF_K", "-1", "'-1': use a whole number, 0 or more."),
    ("SCRSEARCH_EXACT_SEARCH_MAX", "many", "'many': use a whole number, 0 or more."),
    # numbers
    ("SCRSEARCH_KEYWORD_WEIGHT", "heavy", "'heavy': use a number, 0 or more."),
    ("SCRSEARCH_KEYWORD_WEIGHT", "-0.5", "'-0.5': use a number, 0 or more."),
    ("SCRSEARCH_KEYWORD_WEIGHT", "nan", "'nan': use a number, 0 or more."),
    ("SCRSEARCH_KEYWORD_WEIGHT", "inf", "'inf': use a number, 0 or more."),
    # choices
    ("SCRSEARCH_BACKEND", "gpu", "'gpu': use one of torch, onnx."),
    ("SCRSEARCH_FUSION", "max", "'max': use one of score, rrf."),
    ("SCRSEARCH_OCR", "false", "'false': use one of auto, on, off."),
]


def expected(variable: str, end: str) -> str:
    return f"Invalid setting {variable}={end}"


@pytest.mark.parametrize(("variable", "value", "end"), BAD)
def test_a_bad_environment_value_is_a_setting_error(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, end: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingError) as info:
        load_config()
    assert str(info.value) == expected(variable, end)
    assert isinstance(info.value, ScrsearchError)
    assert (info.value.name, info.value.value) == (variable, value)


def test_paths_must_not_be_the_other_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "notes.txt"
    file.write_text("x")
    monkeypatch.setenv("SCRSEARCH_INDEX", str(file))
    with pytest.raises(SettingError) as info:
        load_config()
    assert str(info.value) == f"Invalid setting SCRSEARCH_INDEX='{file}': use a folder, not a file."
    monkeypatch.setenv("SCRSEARCH_INDEX", str(tmp_path / "new-index"))  # missing: made later
    monkeypatch.setenv("SCRSEARCH_THEMES", str(tmp_path))
    with pytest.raises(SettingError) as info:
        load_config()
    assert str(info.value) == (
        f"Invalid setting SCRSEARCH_THEMES='{tmp_path}': use a YAML file, not a folder."
    )
    monkeypatch.setenv("SCRSEARCH_THEMES", str(tmp_path / "mine.yaml"))  # missing: said on use
    assert load_config().themes == str(tmp_path / "mine.yaml")


def test_good_values_are_read_leniently(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable, value in [
        ("SCRSEARCH_BATCH_SIZE", " 64 "),
        ("SCRSEARCH_BACKEND", "ONNX"),
        ("SCRSEARCH_OCR", " Off"),
        ("SCRSEARCH_KEYWORD_WEIGHT", "0"),
        ("SCRSEARCH_EXACT_SEARCH_MAX", "0"),
        ("SCRSEARCH_FUSION", ""),  # empty: unset, the default
    ]:
        monkeypatch.setenv(variable, value)
    config = load_config()
    assert (config.batch_size, config.backend, config.ocr) == (64, "onnx", "off")
    assert (config.keyword_weight, config.exact_search_max, config.fusion) == (0.0, 0, "score")


def test_every_default_is_a_value_its_setting_takes() -> None:
    for setting in SETTINGS:
        assert setting.read(setting.default, setting.name) == setting.default, setting.name


def test_yes_no_settings_take_the_usual_words() -> None:
    setting = Setting("dry_run", False, "A yes/no setting.", flag())
    for word, value in [("true", True), ("1", True), ("YES", True), ("on", True)]:
        assert setting.read(word, setting.env) is value
    for word in ("false", "0", "no", " Off "):
        assert setting.read(word, setting.env) is False
    with pytest.raises(SettingError) as info:
        setting.read("maybe", setting.env)
    assert str(info.value) == (
        "Invalid setting SCRSEARCH_DRY_RUN='maybe': use true or false (or 1/0, yes/no, on/off)."
    )


def test_arguments_in_code_are_checked_by_name() -> None:
    with pytest.raises(SettingError) as info:
        load_config(batch_size=0)
    assert str(info.value) == "Invalid setting batch_size=0: use a whole number, 1 or more."
    with pytest.raises(SettingError) as info:
        load_config(backend="gpu")
    assert str(info.value) == "Invalid setting backend='gpu': use one of torch, onnx."
    config = load_config(index=Path("somewhere"), keyword_weight=2, model=None)
    assert (config.index, config.keyword_weight, config.model_chosen) == ("somewhere", 2.0, False)


@pytest.mark.parametrize("command", [["info"], ["search", "neglect"], ["themes"], ["ingest", "."]])
@pytest.mark.parametrize(("variable", "value", "end"), [BAD[0], BAD[7], BAD[11]])
def test_the_cli_prints_one_line_and_exits_1(
    command: list[str], variable: str, value: str, end: str
) -> None:
    result = CliRunner().invoke(cli, command, env={variable: value})
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == f"Error: {expected(variable, end)}\n"

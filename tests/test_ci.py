"""CI's own checks: .ci/run fails a run that tested nothing, and the lanes are as documented."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TESTS_RAN = ROOT / ".ci" / "tests_ran.py"

SUITE = """
import pytest

def test_one():
    assert True

def test_two():
    assert True

@pytest.mark.skip(reason="off")
def test_off():
    assert False
"""


def run_pytest(tmp_path: Path, *args: str) -> tuple[int, int]:
    """Run pytest on SUITE with a JUnit report; its exit status and tests_ran's count."""
    (tmp_path / "test_suite.py").write_text(SUITE)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    report = tmp_path / "junit.xml"
    status = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}"]
        + list(args),
        cwd=tmp_path,
        capture_output=True,
        check=False,
    ).returncode
    counted = subprocess.run(
        [sys.executable, str(TESTS_RAN), str(report)], capture_output=True, text=True, check=True
    )
    return status, int(counted.stdout)


@pytest.mark.parametrize(
    ("args", "status", "ran"),
    [
        ((), 0, 2),  # two run, one skipped
        (("-k", "no_such_test"), 5, 0),  # nothing collected: pytest exits 5
        (("-k", "off"), 0, 0),  # every selected test skipped: exit 0, yet nothing ran
    ],
)
def test_tests_ran_counts_only_tests_that_ran(
    tmp_path: Path, args: tuple[str, ...], status: int, ran: int
) -> None:
    assert run_pytest(tmp_path, *args) == (status, ran)


def test_a_missing_report_counts_as_no_tests(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(TESTS_RAN), str(tmp_path / "none.xml")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "0"


def test_ci_runs_lint_and_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert re.search(r"^make lint\b", ci, re.M) and re.search(r"\bmake test \|\|", ci)
    assert "make test   # runs the whole test suite (the same command CI runs)" in readme
    makefile = (ROOT / "Makefile").read_text()
    assert "\ntest: setup\n\t$(BIN)/pytest\n" in makefile
    assert '\ntest-fast: setup\n\t$(BIN)/pytest -m "not slow"\n' in makefile

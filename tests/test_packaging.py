"""The wheel: built offline from the source tree, it carries the whole package, the app
included (its entry, every page script and its Streamlit settings), and the app runs
from it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from scrsearch.app.common import PAGES

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "scrsearch"
GUARD_DIR = Path(__file__).resolve().parent / "model_guard"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel of a copy of the source tree (the checkout gets no build/ or egg-info)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index"]
        + ["--quiet", "--wheel-dir", str(work / "dist"), str(source)],
        check=True,
        capture_output=True,
    )
    (built,) = (work / "dist").glob("scrsearch-*.whl")
    return built


def package_files() -> set[str]:
    """Every file of the package in the source tree, as the wheel names it."""
    return {
        path.relative_to(PACKAGE.parent).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_the_wheel_holds_every_file_of_the_package(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {n for n in names if n.startswith("scrsearch/")} == package_files()
    pages = sorted(p.name for p in (PACKAGE / "app" / "pages").glob("*.py"))
    assert pages and all(f"scrsearch/app/pages/{page}" in names for page in pages)
    assert {"scrsearch/app/main.py", "scrsearch/app/common.py"} <= names
    assert {"scrsearch/app/config.toml", "scrsearch/data/themes.yaml"} <= names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "scrsearch = scrsearch.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


#: Run inside a Python that imports scrsearch from the unpacked wheel: every page script
#: of the app, opened with AppTest through the app's entry, with no index yet.
OPEN_EVERY_PAGE = """
import json
import scrsearch
from scrsearch.app import common
from scrsearch.cli.app_command import find_app, streamlit_options
from streamlit.testing.v1 import AppTest

report = {
    "package": scrsearch.__file__,
    "entry": str(find_app()),
    "options": streamlit_options(),
    "pages": {},
}
for script in sorted(common.PAGES_DIR.glob("*.py")):
    at = AppTest.from_file(str(find_app()), default_timeout=60)
    at.run()
    at.switch_page(str(script))
    at.run()
    report["pages"][script.stem] = {
        "script": str(script),
        "errors": [str(e.value) for e in at.exception],
        "info": " ".join(i.value for i in at.info),
    }
print(json.dumps(report))
"""


def test_the_app_runs_from_the_wheel(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), str(GUARD_DIR)]),  # not the checkout
        "SCRSEARCH_INDEX": str(tmp_path / "no-index"),
    }
    out = subprocess.run(
        [sys.executable, "-c", OPEN_EVERY_PAGE],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.splitlines()[-1])
    assert Path(report["package"]).is_relative_to(site)
    assert Path(report["entry"]).is_relative_to(site)
    assert report["options"]["server.address"] == "127.0.0.1"
    assert report["options"]["browser.gatherUsageStats"] == "false"
    scripts = sorted(p.stem for p in (PACKAGE / "app" / "pages").glob("*.py"))
    assert sorted(report["pages"]) == scripts == sorted(PAGES)
    for name, page in report["pages"].items():
        assert Path(page["script"]).is_relative_to(site), name
        assert page["errors"] == [], name
    for name in ("search", "review", "library", "export"):  # as test_app checks in the checkout
        assert "There is no index at" in report["pages"][name]["info"], name

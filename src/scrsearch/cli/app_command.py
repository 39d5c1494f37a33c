"""The ``app`` command: start the Streamlit web app."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..config import load_config
from .common import handle_errors, index_option


@click.command("app")
@index_option
@click.option("--port", type=int, default=None, help="Port to serve on. Default: 8501.")
@click.option(
    "--address",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind. Keep 127.0.0.1 unless other machines must reach the app.",
)
@handle_errors
def app_command(index: str | None, port: int | None, address: str) -> None:
    """Start the web app (search, read, build the library) in the browser."""
    import os
    import subprocess

    script = find_app()
    folder = load_config(index=index).index_dir.resolve()
    argv = [sys.executable, "-m", "streamlit", "run", str(script)]
    argv += ["--server.address", address, "--browser.gatherUsageStats", "false"]
    argv += ["--server.showEmailPrompt", "false", "--server.fileWatcherType", "none"]
    # No developer prompts in the page (Streamlit's "install skills" nudge); the URL is
    # printed below instead of in Streamlit's welcome message.
    argv += ["--logger.hideWelcomeMessage", "true"]
    # An error shows no "Ask Google" / "Ask ChatGPT" links: they would send its
    # message and traceback, which can name a review or quote it, off the machine.
    argv += ["--client.showErrorLinks", "false"]
    argv += ["--server.port", str(port)] if port else []
    click.echo(f"Starting the app on http://{address}:{port or 8501} with the index {folder}")
    env = {**os.environ, "SCRSEARCH_INDEX": str(folder)}
    try:
        code = subprocess.call(argv, env=env, cwd=script.parent)
    except KeyboardInterrupt:
        code = 0
    sys.exit(code)


def find_app() -> Any:
    """The app's ``app.py``: beside the source tree (a checkout), else in the current folder."""
    from pathlib import Path

    from ..errors import ScrsearchError

    for folder in (Path(__file__).resolve().parents[3], Path.cwd()):
        if (folder / "app.py").is_file() and (folder / "app_pages").is_dir():
            return folder / "app.py"
    raise ScrsearchError(
        "Cannot find the web app (app.py and app_pages/). Install scrsearch from a checkout "
        "with `pip install -e .`, or run `scrsearch app` in the checkout's folder."
    )

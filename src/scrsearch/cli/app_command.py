"""The ``app`` command: start the Streamlit web app shipped in ``scrsearch.app``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ..config import load_config
from ..errors import ScrsearchError
from .common import handle_errors, index_option

APP_DIR = Path(__file__).resolve().parents[1] / "app"


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
    options = streamlit_options()
    options["server.address"] = address
    if port:
        options["server.port"] = str(port)
    argv = [sys.executable, "-m", "streamlit", "run", str(script)]
    for name, value in options.items():
        argv += [f"--{name}", value]
    click.echo(f"Starting the app on http://{address}:{port or 8501} with the index {folder}")
    env = {**os.environ, "SCRSEARCH_INDEX": str(folder)}
    try:
        code = subprocess.call(argv, env=env)  # noqa: S603 - this Python, streamlit, our script
    except KeyboardInterrupt:
        code = 0
    sys.exit(code)


def streamlit_options() -> dict[str, str]:
    """The app's Streamlit settings (``scrsearch/app/config.toml``) as ``section.key`` flags.

    The same file is the checkout's ``.streamlit/config.toml``, so ``streamlit run app.py``
    and an installed ``scrsearch app`` run alike: local only, no usage statistics, no
    links that would send an error's text off the machine.
    """
    import tomllib

    config = tomllib.loads((APP_DIR / "config.toml").read_text())
    options: dict[str, str] = {}
    for section, values in config.items():
        for key, value in values.items():
            options[f"{section}.{key}"] = (
                str(value).lower() if isinstance(value, bool) else str(value)
            )
    return options


def find_app() -> Any:
    """The app's entry script, inside the installed package."""
    script = APP_DIR / "main.py"
    if not script.is_file():
        raise ScrsearchError(
            f"The web app is missing from this install ({script} not found). "
            "Reinstall scrsearch: `pip install --force-reinstall scrsearch`."
        )
    return script

"""The ``scrsearch`` command line: a thin client of the library.

This module builds the click group; ``index_commands``, ``search_commands``,
``theme_commands``, ``learning_commands`` (recurring, trends, eval-recurring),
``case_commands`` (match-case), ``measure_commands``, ``app_command`` and
``serve_command`` hold the commands (``app`` and ``serve`` start the other clients by path or by name, sharing
no code with them), ``common`` the shared options, error handling and output, and
``tables`` every table for people. Every listing command takes
``--json`` for machines; people get readable tables. Errors from the library print
as one line and exit with status 1.

May import: every library room; not the other clients (app, api).
(tests/test_architecture.py checks the room order.)
"""

from __future__ import annotations

import os

import click

from ..embed.registry import BACKENDS
from .app_command import app_command
from .case_commands import match_case_command
from .index_commands import check, docs, info, ingest, rebuild, remove
from .learning_commands import eval_recurring_command, recurring_command, trends_command
from .measure_commands import bench, eval_command, eval_themes_command
from .search_commands import export_command, search, similar
from .serve_command import serve_command
from .theme_commands import compare_command, retag_command, theme_command, themes_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="scrsearch")
@click.option(
    "--backend",
    type=click.Choice(BACKENDS),
    default=None,
    help="Embedding runtime for every command: torch, or onnx (int8 ONNX Runtime, about "
    "2x faster on CPU, same vectors to cosine 0.99). Default: $SCRSEARCH_BACKEND or torch.",
)
def cli(backend: str | None) -> None:
    """Search UK child safeguarding case reviews by meaning and by keyword, offline."""
    if backend:  # settings are read from the environment by every command's load_config
        os.environ["SCRSEARCH_BACKEND"] = backend


# Registered in this order so that ``cli.commands`` lists them as before.
for _command in (
    ingest,
    search,
    similar,
    match_case_command,
    docs,
    info,
    check,
    rebuild,
    export_command,
    remove,
    app_command,
    serve_command,
    eval_command,
    bench,
    themes_command,
    theme_command,
    compare_command,
    retag_command,
    eval_themes_command,
    recurring_command,
    trends_command,
    eval_recurring_command,
):
    cli.add_command(_command)
del _command


def main() -> None:
    cli(prog_name="scrsearch")

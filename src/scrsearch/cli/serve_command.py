"""The ``serve`` command: the read-only HTTP JSON API (``scrsearch.api``) on uvicorn."""

from __future__ import annotations

import os

import click

from ..config import load_config
from .common import handle_errors, index_option


@click.command("serve")
@index_option
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind. Keep 127.0.0.1 unless other machines must reach the API "
    "(behind a load balancer, see docs/deploy.md).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port to serve on.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Worker processes; each loads the model once (a worker is about 590 MB resident with torch) and answers requests in threads.",
)
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="info",
    show_default=True,
    help="How much uvicorn logs.",
)
@handle_errors
def serve_command(index: str | None, host: str, port: int, workers: int, log_level: str) -> None:
    """Serve the index as a read-only HTTP JSON API: /search, /similar, /docs, /info,
    /themes, /theme/SLUG, /compare/DOC and /health, each answering with the JSON of
    its CLI command; the schema is at /openapi.json.

    A new generation published by an ingest is picked up between requests.
    """
    import uvicorn

    config = load_config(index=index)
    folder = config.index_dir.resolve()
    os.environ["SCRSEARCH_INDEX"] = str(folder)  # the worker processes read the settings
    click.echo(
        f"Serving the index {folder} on http://{host}:{port} "
        f"({workers} worker{'s' if workers > 1 else ''}); the endpoints are listed at /",
        err=True,
    )
    uvicorn.run(
        "scrsearch.api.server:factory",  # by name: settings reach each worker through env
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        h11_max_incomplete_event_size=config.http_head_bytes,
        access_log=False,
    )

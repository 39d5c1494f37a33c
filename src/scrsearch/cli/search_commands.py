"""Commands that rank passages: search, similar and export."""

from __future__ import annotations

from typing import Any

import click

from ..config import load_config
from ..present.export import FORMATS
from ..search.request import DEFAULT_K
from .common import (
    _print_hits,
    filter_options,
    handle_errors,
    index_option,
    json_option,
    model_option,
    ranking_options,
)


@click.command()
@click.argument("query")
@ranking_options
@index_option
@model_option
@json_option
@handle_errors
def search(query: str, index: str | None, model: str | None, as_json: bool, **ranking: Any) -> None:
    """Find the passages that best match QUERY, cited by review, page and section."""
    from ..search.request import SearchRequest
    from ..search.searcher import Searcher

    config = load_config(index=index, model=model)
    hits = SearchRequest(query, **ranking).run(Searcher.open(config=config))
    _print_hits(hits, query, as_json)


@click.command()
@click.argument("chunk_id", type=int, required=False)
@click.option("--text", help="Find passages like this text instead of a stored passage.")
@click.option("-k", "k", type=int, default=DEFAULT_K, show_default=True, help="Number of results.")
@click.option("--other-reviews", is_flag=True, help="Only passages from other reviews.")
@filter_options
@index_option
@model_option
@json_option
@handle_errors
def similar(
    chunk_id: int | None,
    text: str | None,
    k: int,
    other_reviews: bool,
    index: str | None,
    model: str | None,
    as_json: bool,
    **filters: Any,
) -> None:
    """More like this: passages similar to passage CHUNK_ID, or to --text."""
    from ..search.searcher import Filters, Searcher

    config = load_config(index=index, model=model)
    hits = Searcher.open(config=config).similar(
        chunk_id, text=text, k=k, filters=Filters(**filters), exclude_same_review=other_reviews
    )
    _print_hits(hits, text or "", as_json)


@click.command("export")
@click.argument("query")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="markdown",
    show_default=True,
    help="CSV for spreadsheets, Markdown for slides; every passage is cited either way.",
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Write to this file, not stdout."
)
@ranking_options
@index_option
@model_option
@handle_errors
def export_command(
    query: str, fmt: str, output: str | None, index: str | None, model: str | None, **ranking: Any
) -> None:
    """Search for QUERY and write the results as cited CSV or Markdown."""
    from pathlib import Path

    from ..present.export import render
    from ..search.request import SearchRequest
    from ..search.searcher import Searcher

    config = load_config(index=index, model=model)
    request = SearchRequest(query, **ranking)
    text = render(request.run(Searcher.open(config=config)), fmt, about=request.describe())
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"Wrote {output}", err=True)
    else:
        click.echo(text, nl=False)

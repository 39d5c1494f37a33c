"""Shared pieces of the command line: options, error handling and output helpers."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

import click

from ..config import SETTINGS
from ..records import REVIEW_TYPES, SECTIONS
from ..search.request import DEFAULT_K
from ..search.searcher import DEFAULT_MODE, MODE_HELP, MODES

if TYPE_CHECKING:  # rich is imported when output is printed, not at start-up
    from rich.console import Console

_HELP = {s.name: s.help for s in SETTINGS}


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn library errors into one clear line on stderr and exit status 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from ..errors import ScrsearchError

        try:
            return func(*args, **kwargs)
        except ScrsearchError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)

    return wrapper


def index_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--index",
        "index",
        type=click.Path(file_okay=False),
        default=None,
        help=_HELP["index"] + " Default: ./index or $SCRSEARCH_INDEX.",
    )(func)


def model_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--model", default=None, help=_HELP["model"])(func)


def json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(
        func
    )


def filter_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--year-from", type=int, help="Only reviews published in or after this year."),
        click.option("--year-to", type=int, help="Only reviews published in or before this year."),
        click.option(
            "--partnership", help="Only reviews whose partnership/area contains this text."
        ),
        click.option(
            "--type",
            "review_type",
            type=click.Choice(REVIEW_TYPES, case_sensitive=False),
            help="Only reviews of this type.",
        ),
        click.option(
            "--section",
            type=click.Choice(SECTIONS),
            help="Only passages from this section.",
        ),
        click.option("--doc", help="Only this document (id, file name or path)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def ranking_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """-k, --mode, the filters and --group: what every ranked listing takes."""
    func = click.option(
        "--group", is_flag=True, help="Group by review: the best passage of each review."
    )(func)
    func = filter_options(func)
    func = click.option(
        "--mode",
        type=click.Choice(MODES),
        default=DEFAULT_MODE,
        show_default=True,
        help="Ranking: " + "; ".join(f"{m} {h}" for m, h in MODE_HELP.items()) + ".",
    )(func)
    return click.option(
        "-k", "k", type=int, default=DEFAULT_K, show_default=True, help="Number of results."
    )(func)


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _print_report(as_json: bool, data: Callable[[], Any], tables: Callable[[], list[Any]]) -> None:
    """``data()`` as JSON for machines, else the rich ``tables()`` for people; only the
    one asked for is built."""
    if as_json:
        _print_json(data())
        return
    console = _console()
    for table in tables():
        console.print(table)


def themes_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--themes",
        "themes_file",
        type=click.Path(dir_okay=False),
        default=None,
        help=_HELP["themes"] + " Default: $SCRSEARCH_THEMES.",
    )(func)


def _print_hits(hits: list[Any], query: str, as_json: bool) -> None:
    if as_json:
        _print_json([h.to_dict() for h in hits])
        return
    from rich.padding import Padding
    from rich.text import Text

    from ..present.highlight import segments, snippet

    console = _console()
    if not hits:
        console.print("No results. Try other words, --mode semantic, or fewer filters.")
        return
    for hit in hits:
        meta = hit.document.metadata
        pages = _pages(hit.chunk.page_start, hit.chunk.page_end)
        details = " · ".join(
            str(x)
            for x in (meta.partnership, meta.year, meta.review_type, pages, hit.chunk.section)
            if x
        )
        head = Text(f"{hit.rank:>2}. ", style="bold")
        head.append(hit.document.title, style="bold cyan")
        head.append(f"  [{hit.score:.3f}]", style="dim")
        console.print(head)
        console.print(Padding(Text(details, style="green"), (0, 0, 0, 4)))
        body = Text()
        for piece, matched in segments(snippet(hit.chunk.text, query), query):
            body.append(piece, style="bold yellow" if matched else None)
        console.print(Padding(body, (0, 0, 0, 4)))
        console.print(
            Padding(
                Text(f"{hit.document.source}  (passage {hit.chunk.chunk_id})", style="dim"),
                (0, 0, 0, 4),
            )
        )
        console.print()


def _pages(start: int | None, end: int | None) -> str | None:
    if start is None:
        return None
    return f"p. {start}" if start == end else f"pp. {start}-{end}"


def _snip(text: str, n: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1].rsplit(" ", 1)[0] + "…"

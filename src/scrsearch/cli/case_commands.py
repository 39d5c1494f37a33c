"""``scrsearch match-case``: the reviews that resemble a case description."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from ..config import load_config
from .common import (
    _console,
    _pages,
    _print_json,
    _snip,
    filter_options,
    handle_errors,
    index_option,
    json_option,
    model_option,
)

if TYPE_CHECKING:
    from ..themes.cases import CaseMatch

#: Lessons printed per review (the JSON has up to five, closest to the case first).
SHOWN_LESSONS = 3


def read_case(text: str | None, file: str | None) -> str:
    """The case description from TEXT, ``--file F`` or standard input (TEXT ``-``)."""
    from ..errors import ScrsearchError

    if (text is not None) == (file is not None):
        raise ScrsearchError(
            "Give the case description once: as TEXT, with --file F, or as - to read "
            "standard input (--file and standard input keep it out of your shell history)"
        )
    if file is not None:
        try:
            with open(file, encoding="utf-8") as handle:
                case = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise ScrsearchError(f"{file}: cannot read the case description ({exc})") from exc
    elif text == "-":
        case = sys.stdin.read()
    else:
        case = text or ""
    if not case.strip():
        raise ScrsearchError(
            "The case description is empty: describe the case in TEXT, a file (--file F) "
            "or standard input (-)"
        )
    return case


@click.command("match-case")
@click.argument("text", required=False)
@click.option(
    "--file",
    "file",
    type=click.Path(exists=True, dir_okay=False),
    help="Read the case description from this file.",
)
@click.option(
    "-k", "k", type=click.IntRange(1, 100), default=5, show_default=True, help="Number of reviews."
)
@filter_options
@index_option
@model_option
@json_option
@handle_errors
def match_case_command(
    text: str | None,
    file: str | None,
    k: int,
    index: str | None,
    model: str | None,
    as_json: bool,
    **filters: Any,
) -> None:
    """Find the reviews that resemble a case: TEXT, --file F, or - for standard input.

    Describe the case in your own words, at any length: text longer than the model
    reads at once is split into overlapping windows and every window is searched.
    Each review comes with why it matches (shared themes, agencies, age band, harm),
    its matching passages, cited, and its lessons and recommendations. The case text
    is not stored or printed. Prefer --file or standard input: TEXT stays in your
    shell history.
    """
    from ..search.searcher import Filters, Searcher
    from ..themes.cases import match_case

    case = read_case(text, file)
    config = load_config(index=index, model=model)
    result = match_case(Searcher.open(config=config), case, k=k, filters=Filters(**filters))
    if as_json:
        _print_json(result.to_dict())
        return
    _print_matches(result)


def _print_matches(result: CaseMatch) -> None:
    from rich.padding import Padding
    from rich.text import Text

    from ..themes.case_report import why_lines

    console = _console()
    themes = ", ".join(result.labels.get(s, s) for s, _ in result.case.themes) or "none"
    console.print(
        Text(
            f"Read the case as {result.case.windows} window(s), {result.case.tokens} word "
            f"pieces; its themes: {themes}",
            style="dim",
        )
    )
    console.print()
    if not result.reviews:
        console.print("No reviews found. Try fewer filters.")
        return
    for review in result.reviews:
        meta = review.document.metadata
        head = Text(f"{review.rank:>2}. ", style="bold")
        head.append(review.document.title, style="bold cyan")
        head.append(f"  [{review.score:.3f}]", style="dim")
        console.print(head)
        details = " · ".join(str(x) for x in (meta.partnership, meta.year, meta.review_type) if x)
        lines = [Text(details, style="green")] if details else []
        for label, items in why_lines(review, result.labels):
            line = Text(f"{label}: ", style="bold")
            line.append(items)
            lines.append(line)
        lines.append(Text("Matching passages:", style="bold"))
        for hit in review.passages:
            pages = _pages(hit.chunk.page_start, hit.chunk.page_end)
            cite = " · ".join(x for x in (pages, hit.chunk.section) if x)
            lines.append(Text(f"  - ({cite}) {_snip(hit.chunk.text)}"))
        if review.lessons:
            lines.append(Text(f"Lessons ({review.n_lessons}, closest first):", style="bold"))
            lines.extend(
                Text(f"  - {_snip(lesson.chunk.text)}") for lesson in review.lessons[:SHOWN_LESSONS]
            )
        for line in lines:
            console.print(Padding(line, (0, 0, 0, 4)))
        console.print(Padding(Text(review.document.source, style="dim"), (0, 0, 0, 4)))
        console.print()

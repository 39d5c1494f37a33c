"""Recurring learning and theme trends: recurring, trends and eval-recurring."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from ..config import load_config
from .common import (
    _console,
    _pages,
    _print_report,
    _snip,
    handle_errors,
    index_option,
    json_option,
)
from .tables import recurring_eval_tables
from .tables import table as _table


def review_filter_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Year range, type, partnership, nation and theme: which reviews are analysed."""
    options = [
        click.option("--year-from", type=int, help="Only reviews published in or after this year."),
        click.option("--year-to", type=int, help="Only reviews published in or before this year."),
        click.option(
            "--type",
            "review_type",
            help="Only this review type: scr, cspr, briefing, 7-minute-briefing, sar, dhr, pfd, "
            "guidance, other.",
        ),
        click.option(
            "--partnership", help="Only reviews whose partnership/area contains this text."
        ),
        click.option(
            "--nation",
            help="Only reviews from this nation: england, wales, scotland, northern-ireland.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def export_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option(
        "-o", "--output", type=click.Path(dir_okay=False), help="Write the export to this file."
    )(func)
    return click.option(
        "--export",
        "fmt",
        type=click.Choice(["csv", "markdown"]),
        help="Write cited CSV or Markdown instead of a table (every passage cited).",
    )(func)


def _filters(theme: str | None, **values: Any) -> Any:
    from ..themes.filters import ReviewFilters

    return ReviewFilters(theme=theme, **values)


def _write(text: str, output: str | None) -> None:
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"Wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


@contextmanager
def _progress_bar(quiet: bool) -> Iterator[Callable[[str, int, int], None]]:
    """A bar on stderr for grouping (shown only when the groups are not cached yet)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("{task.description:<20}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=_console(stderr=True),
        transient=True,
        disable=quiet,
    ) as bar:
        tasks: dict[str, Any] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task("Grouping passages", total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield progress


@click.command("recurring")
@click.option(
    "--min-reviews",
    type=click.IntRange(min=2),
    default=2,
    show_default=True,
    help="Only groups with passages from at least this many reviews.",
)
@click.option(
    "--section",
    type=click.Choice(["lessons", "recommendations", "findings"]),
    help="Only passages from this section.",
)
@review_filter_options
@click.option("--theme", help="Only groups that carry this theme (a slug: see scrsearch themes).")
@click.option(
    "-n", "limit", type=int, default=20, show_default=True, help="Groups shown in the table."
)
@index_option
@json_option
@export_options
@handle_errors
def recurring_command(
    min_reviews: int,
    section: str | None,
    theme: str | None,
    limit: int,
    index: str | None,
    as_json: bool,
    fmt: str | None,
    output: str | None,
    **filters: Any,
) -> None:
    """Which lessons keep coming back? Groups of lessons, findings and recommendations
    from different reviews that make the same point, most reviews first, each with
    its years, partnerships, themes and every passage cited."""
    from ..index.generations import Index
    from ..themes.learning_export import recurring_csv, recurring_markdown
    from ..themes.profiles import theme_labels
    from ..themes.recurring import recurring_groups

    config = load_config(index=index)
    idx = Index.open(config.index_dir)
    with _progress_bar(quiet=as_json or fmt is not None) as progress:
        report = recurring_groups(
            idx,
            filters=_filters(theme, **filters),
            section=section,
            min_reviews=min_reviews,
            progress=progress,
        )
    labels = theme_labels(idx.conn())
    if fmt is not None:
        render = recurring_csv if fmt == "csv" else recurring_markdown
        _write(render(report, labels), output)
        return
    _print_report(as_json, report.to_dict, lambda: _recurring_tables(report, labels, limit))


def _recurring_tables(report: Any, labels: dict[str, str], limit: int) -> list[Any]:
    from rich.text import Text

    table = _table(("id", "reviews", "years", "label", "themes"), whole=("id", "reviews", "years"))
    for group in report.groups[:limit]:
        years = f"{group.first_year}-{group.last_year}" if group.first_year else "?"
        themes = "; ".join(labels.get(s, s) for s in group.themes)
        table.add_row(str(group.id), str(group.reviews), years, group.label, themes)
    shown = min(limit, len(report.groups))
    note = Text(
        f"{len(report.groups)} groups of {report.pool_passages} lessons, findings and "
        f"recommendations ({report.filters.describe()}); {shown} shown. "
        "Each group's passages: scrsearch recurring --json, or --export markdown.",
        style="dim",
    )
    return [table, note]


@click.command("trends")
@click.argument("themes", nargs=-1)
@review_filter_options
@click.option("--theme", help="Add this theme (the same as naming it as an argument).")
@index_option
@json_option
@export_options
@handle_errors
def trends_command(
    themes: tuple[str, ...],
    theme: str | None,
    index: str | None,
    as_json: bool,
    fmt: str | None,
    output: str | None,
    **filters: Any,
) -> None:
    """For each theme (all, or THEMES by slug) and year: how many of that year's reviews
    carry it, always with the counts behind the share."""
    from ..index.generations import Index
    from ..themes.learning_export import trends_csv, trends_markdown
    from ..themes.trends import theme_trends

    config = load_config(index=index)
    idx = Index.open(config.index_dir)
    report = theme_trends(idx, list(themes), filters=_filters(theme, **filters))
    if fmt is not None:
        _write(trends_csv(idx, report) if fmt == "csv" else trends_markdown(idx, report), output)
        return
    _print_report(as_json, report.to_dict, lambda: _trend_tables(report))


def _trend_tables(report: Any) -> list[Any]:
    from rich.text import Text

    years = list(report.reviews_per_year)
    table = _table(("theme", *map(str, years)), whole=tuple(map(str, years)))
    table.add_row(
        Text("reviews that year", style="dim"),
        *(Text(str(report.reviews_per_year[y]), style="dim") for y in years),
    )
    for trend in report.themes:
        table.add_row(
            trend.label,
            *(
                f"{y.reviews}/{y.total_reviews}" + (f" {y.share:.0%}" if y.reviews else "")
                for y in trend.years
            ),
        )
    undated = f" {report.undated} reviews without a year are not counted." if report.undated else ""
    note = Text(
        f"Each cell: reviews that year carrying the theme / reviews that year, and the "
        f"share ({report.filters.describe()}).{undated}",
        style="dim",
    )
    return [table, note]


@click.command("eval-recurring")
@click.option(
    "--labels",
    type=click.Path(dir_okay=False),
    default="tests/data/recurring_labelled.json",
    show_default=True,
    help="The labelled groups (JSON; see tests/data/JUDGING_recurring.md).",
)
@click.option(
    "--linkage",
    type=click.Choice(["average", "complete", "single"]),
    help="Score this linkage instead of the default.",
)
@click.option("--threshold", type=float, help="Score this cosine-distance threshold instead.")
@click.option(
    "--max-exact",
    type=click.IntRange(min=2),
    help="Cluster at most this many passages at once (k-means cells above): to measure "
    "what large indexes lose.",
)
@click.option("--sweep", is_flag=True, help="Also try every linkage with a range of thresholds.")
@index_option
@json_option
@handle_errors
def eval_recurring_command(
    labels: str,
    linkage: str | None,
    threshold: float | None,
    max_exact: int | None,
    sweep: bool,
    index: str | None,
    as_json: bool,
) -> None:
    """B-cubed precision, recall and F1 of the recurring-learning groups on labelled
    groups, per split (tune, held-out test, all), beside a baseline of one group per
    theme tag computed in the same run."""
    from dataclasses import replace

    from ..measure.recurring_eval import evaluate
    from ..themes.recurring import DEFAULT_GROUPING

    config = load_config(index=index)
    grouping = DEFAULT_GROUPING
    if linkage is not None:
        grouping = replace(grouping, linkage=linkage)
    if threshold is not None:
        grouping = replace(grouping, threshold=threshold)
    if max_exact is not None:
        grouping = replace(grouping, max_exact=max_exact)
    result = evaluate(config.index_dir, labels, grouping=grouping, sweep=sweep, config=config)
    for line in result["unresolved"]:
        click.echo(f"Warning: labelled passage not found in the index: {line}", err=True)
    _print_report(as_json, lambda: result, lambda: recurring_eval_tables(result))


def print_said_before(recurrence: Any) -> None:
    """One line under a lesson in ``scrsearch compare``: its group and earlier reviews."""
    from rich.text import Text

    if recurrence is None:
        return
    earlier = recurrence.earlier
    line = Text(f"   recurring group {recurrence.group.id} ", style="magenta")
    line.append(f"({recurrence.group.reviews} reviews): ", style="magenta")
    if recurrence.year is None:
        line.append("this review has no year, so none is counted as earlier", style="dim")
    elif not earlier:
        line.append("no earlier review made this point", style="dim")
    else:
        names = "; ".join(
            f"{h.document.title} ({h.document.metadata.year}, "
            f"{_pages(h.chunk.page_start, h.chunk.page_end) or 'passage ' + str(h.chunk.chunk_id)})"
            for h in earlier
        )
        line.append(f"said before by {len(earlier)} earlier review(s): ", style="magenta")
        line.append(_snip(names, 300), style="dim")
    _console().print(line)

"""Theme and comparison commands: themes, theme, compare and retag."""

from __future__ import annotations

from typing import Any

import click

from ..config import load_config
from .common import (
    _console,
    _pages,
    _print_hits,
    _print_json,
    _snip,
    handle_errors,
    index_option,
    json_option,
    themes_option,
)
from .tables import table


@click.command("themes")
@click.option("--review", "review", help="Show one review's theme profile (id, file name or path).")
@click.option(
    "-n",
    "n_passages",
    type=int,
    default=1,
    show_default=True,
    help="With --review: passages shown per theme.",
)
@index_option
@themes_option
@json_option
@handle_errors
def themes_command(
    review: str | None, n_passages: int, index: str | None, themes_file: str | None, as_json: bool
) -> None:
    """List the themes with passage and review counts, or one review's theme profile."""
    from ..index.generations import Index
    from ..themes.profiles import review_profile, theme_counts
    from ..themes.tagging import load_themes, stored_digest

    config = load_config(index=index, themes=themes_file)
    idx = Index.open(config.index_dir)
    conn = idx.conn()
    if review:
        profile = review_profile(conn, review, config.index_dir)
        if as_json:
            _print_json(profile.to_dict())
        else:
            _print_profile(profile, n_passages)
        return
    counts = theme_counts(conn, config.index_dir)
    if as_json:
        _print_json([c.to_dict() for c in counts])
        return
    listing = table(
        ("slug", "theme", "group", "passages", "reviews"),
        whole=("slug", "passages", "reviews"),
    )
    for c in counts:
        listing.add_row(c.slug, c.label, c.group, str(c.passages), str(c.reviews))
    console = _console()
    console.print(listing)
    if stored_digest(conn) != load_themes(config=config).digest:
        console.print(
            "[yellow]The theme list has changed since this index was tagged: "
            f"run `scrsearch retag --index {config.index}` to update the tags.[/]"
        )


def _print_profile(profile: Any, n_passages: int) -> None:
    from rich.text import Text

    console = _console()
    doc = profile.document
    head = Text(doc.title, style="bold cyan")
    head.append(f"  ({profile.n_passages} passages, {len(profile.themes)} themes)", style="dim")
    console.print(head)
    console.print(Text(doc.source, style="dim"))
    if not profile.themes:
        console.print("No passage of this review was tagged with a theme.")
    for entry in profile.themes:
        bar = "█" * round(entry.strength * 10)
        line = Text(f"\n{entry.strength:4.2f} {bar:<10} ", style="green")
        line.append(entry.label, style="bold")
        n = len(entry.passages)
        line.append(f"  {entry.slug} · {n} passage{'' if n == 1 else 's'}", style="dim")
        console.print(line)
        for hit in entry.passages[:n_passages]:
            where = " · ".join(
                x
                for x in (_pages(hit.chunk.page_start, hit.chunk.page_end), hit.chunk.section)
                if x
            )
            console.print(Text(f"     [{hit.score:.2f}] {where}: ", style="dim"), end="")
            console.print(_snip(hit.chunk.text), markup=False, highlight=False)


@click.command("theme")
@click.argument("slug")
@click.option("-k", "k", type=int, default=20, show_default=True, help="Number of passages.")
@click.option(
    "--per-review",
    type=int,
    default=2,
    show_default=True,
    help="At most this many passages from each review.",
)
@index_option
@json_option
@handle_errors
def theme_command(slug: str, k: int, per_review: int, index: str | None, as_json: bool) -> None:
    """The strongest passages for theme SLUG across reviews, with citations."""
    from ..index.generations import Index
    from ..themes.profiles import theme_passages

    config = load_config(index=index)
    idx = Index.open(config.index_dir)
    hits = theme_passages(
        idx.conn(), slug, per_review=per_review, limit=k, index_dir=config.index_dir
    )
    _print_hits(hits, "", as_json)


@click.command("compare")
@click.argument("doc")
@click.argument("doc2", required=False)
@click.option(
    "-k", "k", type=int, default=3, show_default=True, help="Matching passages per lesson."
)
@click.option(
    "--reviews",
    "max_reviews",
    type=int,
    default=10,
    show_default=True,
    help="Similar reviews listed.",
)
@index_option
@json_option
@handle_errors
def compare_command(
    doc: str, doc2: str | None, k: int, max_reviews: int, index: str | None, as_json: bool
) -> None:
    """Where else has DOC's learning appeared? Each lesson of DOC with the closest
    passages in DOC2 (or in every other review), then the reviews ranked by shared
    learning, with the passage pairs and themes behind each score."""
    from ..index.generations import Index
    from ..themes.compare import compare
    from ..themes.recurring import comparison_json, said_before

    config = load_config(index=index)
    idx = Index.open(config.index_dir)
    result = compare(idx, doc, doc2, k=k, max_reviews=max_reviews, config=config)
    if as_json:
        _print_json(comparison_json(idx, result))
    else:
        _print_comparison(result, said_before(idx, result.document.doc_id))


def _print_comparison(result: Any, recurring: dict[int, Any]) -> None:
    from rich.text import Text

    from .learning_commands import print_said_before

    console = _console()
    doc = result.document
    title = Text("Learning of ", style="bold")
    title.append(doc.title, style="bold cyan")
    if result.other is not None:
        title.append(" compared with ", style="bold")
        title.append(result.other.title, style="bold cyan")
    console.print(title)
    for n, lesson in enumerate(result.lessons, 1):
        head = Text(f"\nL{n} ", style="bold")
        head.append(f"[{lesson.chunk.section}] ", style="dim")
        head.append(_snip(lesson.chunk.text, 300))
        console.print(head)
        if lesson.themes:
            console.print(Text("   themes: " + ", ".join(lesson.themes), style="dim"))
        print_said_before(recurring.get(lesson.chunk.chunk_id))
        for m in lesson.matches:
            _print_match(console, m)
    if not result.lessons:
        console.print("This document has no passages to compare.")
    heading = "\nReviews that share most learning" if result.other is None else "\nShared learning"
    console.print(Text(heading + f" (pairs of at least {result.min_pair}):", style="bold"))
    for rank, review in enumerate(result.similar_reviews, 1):
        line = Text(f"{rank:>2}. {review.score:.3f} ", style="green")
        line.append(review.document.title, style="bold cyan")
        year = review.document.metadata.year
        line.append(f" ({year})" if year else "", style="dim")
        line.append(f"  {len(review.pairs)}/{len(result.lessons)} lessons matched", style="dim")
        console.print(line)
        if review.shared_themes:
            console.print(Text("    themes: " + ", ".join(review.shared_themes), style="yellow"))
        order = {lesson.chunk.chunk_id: i for i, lesson in enumerate(result.lessons, 1)}
        for pair in review.pairs[:3]:
            console.print(
                Text(
                    f"    L{order.get(pair.lesson.chunk_id, '?')} ↔ [{pair.score:.2f}] "
                    + _snip(pair.passage.text, 110),
                    style="dim",
                )
            )


def _print_match(console: Any, match: Any) -> None:
    """One passage elsewhere that matches a lesson: score, review, where, shared themes."""
    from rich.text import Text

    hit = match.hit
    where = " · ".join(
        str(x)
        for x in (
            hit.document.metadata.year,
            _pages(hit.chunk.page_start, hit.chunk.page_end),
            hit.chunk.section,
        )
        if x
    )
    line = Text(f"   {hit.score:.2f} ", style="green")
    line.append(hit.document.title, style="cyan")
    line.append(f" ({where})" if where else "", style="dim")
    if match.shared_themes:
        line.append("  shared: " + ", ".join(match.shared_themes), style="yellow")
    console.print(line)
    console.print(Text("        " + _snip(hit.chunk.text), style="dim"))


@click.command("retag")
@index_option
@themes_option
@json_option
@handle_errors
def retag_command(index: str | None, themes_file: str | None, as_json: bool) -> None:
    """Re-tag every passage with the current themes (after changing them), as a new generation."""
    from ..themes.tagging import retag

    config = load_config(index=index, themes=themes_file)
    result = retag(config)
    if as_json:
        _print_json(result)
    else:
        click.echo(
            f"Tagged {result['passages']} passages with {result['themes']} themes "
            f"in {config.index}."
        )

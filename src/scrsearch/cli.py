"""The ``scrsearch`` command line: a thin client of the library.

Every listing command takes ``--json`` for machines; people get readable tables.
Errors from the library print as one line and exit with status 1.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from .config import SETTINGS, load_config

_HELP = {s.name: s.help for s in SETTINGS}


def _console(stderr: bool = False):  # type: ignore[no-untyped-def]
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn library errors into one clear line on stderr and exit status 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from .errors import ScrsearchError

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
            help="Only this review type: scr, cspr, briefing, 7-minute-briefing, sar, dhr, pfd, guidance, other.",
        ),
        click.option(
            "--section",
            help="Only passages from this section: lessons, recommendations, findings, background, chronology, other.",
        ),
        click.option("--doc", help="Only this document (id, file name or path)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="scrsearch")
def cli() -> None:
    """Search UK child safeguarding case reviews by meaning and by keyword, offline."""


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@index_option
@model_option
@click.option("--prune", is_flag=True, help="Drop indexed documents whose files are gone.")
@click.option("--rebuild", is_flag=True, help="Start a fresh index (needed to change model).")
@json_option
@handle_errors
def ingest(
    paths: tuple[str, ...],
    index: str | None,
    model: str | None,
    prune: bool,
    rebuild: bool,
    as_json: bool,
) -> None:
    """Index files and folders (PDF, HTML, DOCX, TXT, MD), recursively."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .ocr import default_ocr
    from .pipeline import ingest as run_ingest

    config = load_config(index=index, model=model)
    labels = {"extract": "Reading files", "embed": "Embedding passages", "index": "Building index"}
    with Progress(
        TextColumn("{task.description:<20}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=_console(stderr=True),
        transient=as_json,
    ) as bar:
        tasks: dict[str, Any] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(labels.get(stage, stage), total=total)
            bar.update(tasks[stage], completed=done, total=total)

        bar.console.print("Loading the embedding model…")
        report = run_ingest(
            paths,
            config=config,
            progress=progress,
            prune=prune,
            rebuild=rebuild,
            ocr=default_ocr(config.ocr),
        )
    if as_json:
        _print_json(
            {
                "summary": report.summary(),
                "files": [r.__dict__ | {"warnings": list(r.warnings)} for r in report.results],
            }
        )
    else:
        _print_ingest_report(report, config.index)
    if report.failed:
        sys.exit(1)


def _print_ingest_report(report: Any, index: str) -> None:
    console = _console()
    for result in report.results:
        if result.status in ("failed", "skipped", "duplicate", "removed") and result.message:
            style = "red" if result.status == "failed" else "yellow"
            console.print(f"[{style}]{result.status.upper():>9}[/] ", end="")
            console.print(result.message, markup=False)
        for warning in result.warnings:
            console.print("[yellow]  WARNING[/] ", end="")
            console.print(warning, markup=False)
    s = report.summary()
    console.print(
        f"\nIndexed {s['indexed']} new and {s['replaced']} changed documents "
        f"({s['pages_added']} pages, {s['passages_added']} passages); "
        f"{s['unchanged']} unchanged, {s['duplicate']} duplicates, {s['skipped']} skipped, "
        f"{s['failed']} failed"
        + (f", {s['removed']} removed" if s["removed"] else "")
        + f" in {s['seconds']:.1f} s.",
        markup=False,
    )
    if report.counts:
        c = report.counts
        console.print(
            f"Index {index}: {c.get('documents', 0)} documents, {c.get('passages', 0)} passages.",
            markup=False,
        )


@cli.command()
@click.argument("query")
@click.option("-k", "k", type=int, default=10, show_default=True, help="Number of results.")
@click.option(
    "--mode",
    type=click.Choice(["hybrid", "semantic", "keyword"]),
    default="hybrid",
    show_default=True,
    help="Ranking: fused keyword+semantic, meaning only, or words only.",
)
@filter_options
@click.option("--group", is_flag=True, help="Group by review: the best passage of each review.")
@index_option
@model_option
@json_option
@handle_errors
def search(
    query: str,
    k: int,
    mode: str,
    year_from: int | None,
    year_to: int | None,
    partnership: str | None,
    review_type: str | None,
    section: str | None,
    doc: str | None,
    group: bool,
    index: str | None,
    model: str | None,
    as_json: bool,
) -> None:
    """Find the passages that best match QUERY, cited by review, page and section."""
    from .search import Filters, Searcher

    config = load_config(index=index, model=model)
    filters = Filters(year_from, year_to, partnership, review_type, section, doc)
    hits = Searcher.open(config=config).search(
        query, k=k, mode=mode, filters=filters, group_by_review=group
    )
    _print_hits(hits, query, as_json)


def _print_hits(hits: list[Any], query: str, as_json: bool) -> None:
    if as_json:
        _print_json([h.to_dict() for h in hits])
        return
    from rich.text import Text

    from .highlight import segments, snippet

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
        console.print(Text("    " + details, style="green"))
        body = Text("    ")
        for piece, matched in segments(snippet(hit.chunk.text, query), query):
            body.append(piece, style="bold yellow" if matched else None)
        console.print(body)
        console.print(
            Text(f"    {hit.document.source}  (passage {hit.chunk.chunk_id})", style="dim")
        )
        console.print()


def _pages(start: int | None, end: int | None) -> str | None:
    if start is None:
        return None
    return f"p. {start}" if start == end else f"pp. {start}-{end}"


@cli.command()
@click.argument("chunk_id", type=int, required=False)
@click.option("--text", help="Find passages like this text instead of a stored passage.")
@click.option("-k", "k", type=int, default=10, show_default=True, help="Number of results.")
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
    year_from: int | None,
    year_to: int | None,
    partnership: str | None,
    review_type: str | None,
    section: str | None,
    doc: str | None,
    index: str | None,
    model: str | None,
    as_json: bool,
) -> None:
    """More like this: passages similar to passage CHUNK_ID, or to --text."""
    from .search import Filters, Searcher

    config = load_config(index=index, model=model)
    filters = Filters(year_from, year_to, partnership, review_type, section, doc)
    hits = Searcher.open(config=config).similar(
        chunk_id, text=text, k=k, filters=filters, exclude_same_review=other_reviews
    )
    _print_hits(hits, text or "", as_json)


@cli.command()
@index_option
@json_option
@handle_errors
def docs(index: str | None, as_json: bool) -> None:
    """List the indexed documents with their metadata."""
    from . import store
    from .index import Index

    config = load_config(index=index)
    idx = Index.open(config.index_dir)
    rows = store.list_documents(idx.conn())
    if as_json:
        _print_json(
            [
                {
                    "doc_id": d.doc_id,
                    "title": d.title,
                    "source": d.source,
                    **d.metadata.to_dict(),
                    "format": d.format,
                    "pages": d.n_pages if d.paged else None,
                    "passages": n,
                    **extra,
                }
                for d, n, extra in rows
            ]
        )
        return
    from rich.table import Table

    table = Table(show_lines=False)
    for col in ("id", "title", "type", "partnership", "year", "pages", "passages"):
        table.add_column(col, overflow="fold")
    for d, n, _ in rows:
        m = d.metadata
        table.add_row(
            str(d.doc_id),
            d.title,
            m.review_type or "",
            m.partnership or "",
            str(m.year or ""),
            str(d.n_pages) if d.paged else "",
            str(n),
        )
    _console().print(table)


@cli.command()
@index_option
@json_option
@handle_errors
def info(index: str | None, as_json: bool) -> None:
    """Show the index's model, size and counts."""
    from .index import Index

    config = load_config(index=index)
    idx = Index.open(config.index_dir)
    files = [idx.dir / idx.manifest.sqlite_name, idx.dir / idx.manifest.faiss_name]
    data = {
        "index": str(idx.dir.resolve()),
        **idx.manifest.to_dict(),
        "size_mb": round(sum(f.stat().st_size for f in files if f.exists()) / 1e6, 2),
    }
    if as_json:
        _print_json(data)
        return
    console = _console()
    for key in ("index", "model", "dimension", "faiss_kind", "generation", "created", "size_mb"):
        console.print(f"{key:>12}: {data[key]}", markup=False)
    for key, value in data["counts"].items():
        console.print(f"{key:>12}: {value}", markup=False)


def main() -> None:
    cli(prog_name="scrsearch")


if __name__ == "__main__":  # pragma: no cover
    main()

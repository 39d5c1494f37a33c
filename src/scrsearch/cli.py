"""The ``scrsearch`` command line: a thin client of the library.

Every listing command takes ``--json`` for machines; people get readable tables.
Errors from the library print as one line and exit with status 1.
"""

from __future__ import annotations

import json
import os
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


def ranking_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """-k, --mode, the filters and --group: what every ranked listing takes."""
    func = click.option(
        "--group", is_flag=True, help="Group by review: the best passage of each review."
    )(func)
    func = filter_options(func)
    func = click.option(
        "--mode",
        type=click.Choice(["hybrid", "semantic", "keyword"]),
        default="hybrid",
        show_default=True,
        help="Ranking: fused keyword+semantic, meaning only, or words only.",
    )(func)
    return click.option(
        "-k", "k", type=int, default=10, show_default=True, help="Number of results."
    )(func)


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="scrsearch")
@click.option(
    "--backend",
    type=click.Choice(["torch", "onnx"]),
    default=None,
    help="Embedding runtime for every command: torch, or onnx (int8 ONNX Runtime, about "
    "2x faster on CPU, same vectors to cosine 0.99). Default: $SCRSEARCH_BACKEND or torch.",
)
def cli(backend: str | None) -> None:
    """Search UK child safeguarding case reviews by meaning and by keyword, offline."""
    if backend:  # settings are read from the environment by every command's load_config
        os.environ["SCRSEARCH_BACKEND"] = backend


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
    """Index files and folders (PDF, HTML, DOCX, TXT, MD), recursively, and web pages by URL.

    A URL (http:// or https://) is downloaded into the index folder, with a timeout,
    a size cap and a type check; it is re-indexed only when its content changed.
    """
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
            console.print(result.message, markup=False, soft_wrap=True)
        for warning in result.warnings:
            console.print("[yellow]  WARNING[/] ", end="")
            console.print(warning, markup=False, soft_wrap=True)
    s = report.summary()
    console.print(
        f"\nIndexed {s['indexed']} new and {s['replaced']} changed documents "
        f"({s['pages_added']} pages, {s['passages_added']} passages); "
        f"{s['unchanged']} unchanged, {s['duplicate']} duplicates, {s['skipped']} skipped, "
        f"{s['failed']} failed"
        + (f", {s['removed']} removed" if s["removed"] else "")
        + f" in {s['seconds']:.1f} s.",
        markup=False,
        soft_wrap=True,
    )
    if report.counts:
        c = report.counts
        console.print(
            f"Index {index}: {c.get('documents', 0)} documents, {c.get('passages', 0)} passages.",
            markup=False,
        )


@cli.command()
@click.argument("query")
@ranking_options
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
    from rich.padding import Padding
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
    from rich.text import Text

    table = Table(show_lines=False)
    for col in ("id", "title", "type", "partnership", "year", "pages", "passages"):
        table.add_column(col, overflow="fold")
    for d, n, _ in rows:
        m = d.metadata
        table.add_row(  # Text(): titles come from documents and are never read as markup
            str(d.doc_id),
            Text(d.title),
            Text(m.review_type or ""),
            Text(m.partnership or ""),
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


@cli.command()
@index_option
@json_option
@handle_errors
def check(index: str | None, as_json: bool) -> None:
    """Verify the index (SQLite integrity, keyword index, FAISS file, manifest).

    Prints each problem with the command that repairs it; exits 1 if any is an error.
    """
    from .maintenance import check_index

    config = load_config(index=index)
    report = check_index(config.index_dir)
    if as_json:
        _print_json(report.to_dict())
    else:
        for problem in report.problems:
            click.echo(f"{problem.severity.upper()}: {problem}")
        if report.ok:
            c = report.counts
            click.echo(
                f"OK: {config.index_dir} generation {report.generation}, "
                f"{c.get('documents', 0)} documents, {c.get('passages', 0)} passages."
            )
    if not report.ok:
        sys.exit(1)


@cli.command()
@index_option
@click.option(
    "--model",
    default=None,
    help="The model the index was built with; needed only if manifest.json is lost.",
)
@handle_errors
def rebuild(index: str | None, model: str | None) -> None:
    """Rebuild the FAISS file and keyword index from stored data, as a new generation.

    Nothing is re-read or re-embedded. If the current database is damaged, the newest
    intact generation is used.
    """
    from .embed import canonical_model_name
    from .maintenance import rebuild_index

    config = load_config(index=index)
    report = rebuild_index(
        config.index_dir, model=canonical_model_name(model) if model else None, config=config
    )
    m = report.manifest
    if report.recovered_older:
        click.echo(
            f"The current database was damaged or missing: recovered generation "
            f"{report.source_generation}. Run your last ingest again to add what changed since."
        )
    click.echo(
        f"Rebuilt {config.index_dir} as generation {m.generation} ({m.faiss_kind} FAISS index): "
        f"{m.counts.get('documents', 0)} documents, {m.counts.get('passages', 0)} passages."
    )


@cli.command("export")
@click.argument("query")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "markdown"]),
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
    query: str,
    fmt: str,
    output: str | None,
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
) -> None:
    """Search for QUERY and write the results as cited CSV or Markdown."""
    from pathlib import Path

    from .export import render
    from .request import SearchRequest
    from .search import Searcher

    config = load_config(index=index, model=model)
    request = SearchRequest(
        query, mode, k, year_from, year_to, partnership, review_type, section, doc, group
    )
    text = render(request.run(Searcher.open(config=config)), fmt, about=request.describe())
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"Wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


@cli.command()
@click.argument("doc")
@index_option
@json_option
@handle_errors
def remove(doc: str, index: str | None, as_json: bool) -> None:
    """Remove document DOC (id, file name or path) from the index.

    A file uploaded through the app is deleted too; any other file stays on disk.
    """
    from .library import remove_document

    config = load_config(index=index)
    removed = remove_document(config.index_dir, doc, config=config)
    if as_json:
        _print_json({"doc_id": removed.doc_id, "title": removed.title, "source": removed.source})
    else:
        click.echo(f"Removed {removed.doc_id}: {removed.title} ({removed.source})")


@cli.command("app")
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

    from .errors import ScrsearchError

    for folder in (Path(__file__).resolve().parents[2], Path.cwd()):
        if (folder / "app.py").is_file() and (folder / "app_pages").is_dir():
            return folder / "app.py"
    raise ScrsearchError(
        "Cannot find the web app (app.py and app_pages/). Install scrsearch from a checkout "
        "with `pip install -e .`, or run `scrsearch app` in the checkout's folder."
    )


@cli.command("eval")
@click.argument("qrels", type=click.Path(exists=True, dir_okay=False))
@index_option
@click.option(
    "--root",
    type=click.Path(file_okay=False),
    help="Folder the qrels document ids are relative to. Default: match by path ending.",
)
@click.option(
    "--modes",
    default="keyword,semantic,hybrid",
    show_default=True,
    help="Comma-separated ranking modes to evaluate.",
)
@json_option
@handle_errors
def eval_command(
    qrels: str, index: str | None, root: str | None, modes: str, as_json: bool
) -> None:
    """Score ranking against judged queries QRELS: nDCG@10, Recall@10/50 and MRR per mode."""
    from .eval import evaluate, load_qrels, tables

    config = load_config(index=index)
    chosen = [m.strip() for m in modes.split(",") if m.strip()]
    result = evaluate(load_qrels(qrels), config.index_dir, modes=chosen, root=root, config=config)
    for warning in result.warnings:
        click.echo(f"Warning: {warning}", err=True)
    if as_json:
        _print_json(result.to_dict())
        return
    console = _console()
    for table in tables(result):
        console.print(table)


@cli.command("bench")
@click.option(
    "--sizes",
    default="10000,100000,1000000",
    show_default=True,
    help="Comma-separated index sizes (passages) to time searches at.",
)
@click.option("--queries", type=int, default=200, show_default=True, help="Searches per mode.")
@click.option(
    "--corpus",
    multiple=True,
    type=click.Path(exists=True),
    help="Files or folders whose PDFs time extraction. Default: ../shared/corpus-real or corpus/.",
)
@click.option(
    "--ingest-corpus",
    multiple=True,
    type=click.Path(exists=True),
    help="Files or folders to time ingest on; their passages seed the synthetic sizes. "
    "Default: corpus/.",
)
@model_option
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False),
    help="Where the temporary indexes go (about 3.5 GB at 1M passages). Default: system temp.",
)
@json_option
@handle_errors
def bench(
    sizes: str,
    queries: int,
    corpus: tuple[str, ...],
    ingest_corpus: tuple[str, ...],
    model: str | None,
    work_dir: str | None,
    as_json: bool,
) -> None:
    """Measure ingest, extraction, model load, search latency, recall and memory here."""
    from .bench import run_bench, tables

    try:
        chosen = [int(s.replace("_", "")) for s in sizes.split(",") if s.strip()]
    except ValueError as exc:
        raise click.BadParameter(
            "give whole numbers, e.g. 10000,100000", param_hint="--sizes"
        ) from exc
    err = _console(stderr=True)
    result = run_bench(
        sizes=chosen,
        queries=queries,
        corpus=list(corpus) or None,
        ingest_corpus=list(ingest_corpus) or None,
        config=load_config(model=model),
        work_dir=work_dir,
        log=lambda message: err.print(message, markup=False, highlight=False),
    )
    if as_json:
        _print_json(result)
        return
    console = _console()
    for table in tables(result):
        console.print(table)


# --- Themes and comparison ---------------------------------------------------


def themes_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--themes",
        "themes_file",
        type=click.Path(dir_okay=False),
        default=None,
        help=_HELP["themes"] + " Default: $SCRSEARCH_THEMES.",
    )(func)


@cli.command("themes")
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
    from .index import Index
    from .theme_profiles import review_profile, theme_counts
    from .themes import load_themes, stored_digest

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
    from rich.table import Table

    table = Table(show_lines=False)
    for col in ("slug", "theme", "group", "passages", "reviews"):
        table.add_column(col, overflow="fold")
    for c in counts:
        table.add_row(c.slug, c.label, c.group, str(c.passages), str(c.reviews))
    console = _console()
    console.print(table)
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


def _snip(text: str, n: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1].rsplit(" ", 1)[0] + "…"


@cli.command("theme")
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
    from .index import Index
    from .theme_profiles import theme_passages

    config = load_config(index=index)
    idx = Index.open(config.index_dir)
    hits = theme_passages(
        idx.conn(), slug, per_review=per_review, limit=k, index_dir=config.index_dir
    )
    _print_hits(hits, "", as_json)


@cli.command("compare")
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
    from .compare import compare

    config = load_config(index=index)
    result = compare(config.index_dir, doc, doc2, k=k, max_reviews=max_reviews, config=config)
    if as_json:
        _print_json(result.to_dict())
    else:
        _print_comparison(result)


def _print_comparison(result: Any) -> None:
    from rich.text import Text

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
        for m in lesson.matches:
            hit = m.hit
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
            if m.shared_themes:
                line.append("  shared: " + ", ".join(m.shared_themes), style="yellow")
            console.print(line)
            console.print(Text("        " + _snip(hit.chunk.text), style="dim"))
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


@cli.command("retag")
@index_option
@themes_option
@json_option
@handle_errors
def retag_command(index: str | None, themes_file: str | None, as_json: bool) -> None:
    """Re-tag every passage with the current themes (after changing them), as a new generation."""
    from .themes import retag

    config = load_config(index=index, themes=themes_file)
    result = retag(config)
    if as_json:
        _print_json(result)
    else:
        click.echo(
            f"Tagged {result['passages']} passages with {result['themes']} themes "
            f"in {config.index}."
        )


@cli.command("eval-themes")
@click.option(
    "--labels",
    type=click.Path(dir_okay=False),
    default="tests/data/themes_labelled.json",
    show_default=True,
    help="The labelled passages (JSON; see tests/data/JUDGING_themes.md).",
)
@click.option(
    "--split",
    type=click.Choice(["all", "tune", "test"]),
    default="all",
    show_default=True,
    help="Which labelled passages: those used for tuning, the held-out ones, or all.",
)
@click.option("--threshold", type=float, help="Use this threshold for every theme.")
@click.option("--sweep", is_flag=True, help="Also try a range of thresholds.")
@click.option(
    "--index",
    "index",
    type=click.Path(file_okay=False),
    default=None,
    help="Reuse the passages and vectors of files already in this index.",
)
@model_option
@themes_option
@json_option
@handle_errors
def eval_themes_command(
    labels: str,
    split: str,
    threshold: float | None,
    sweep: bool,
    index: str | None,
    model: str | None,
    themes_file: str | None,
    as_json: bool,
) -> None:
    """Precision and recall of theme tagging, per theme, on a labelled set."""
    from .theme_eval import evaluate_file

    config = load_config(model=model, themes=themes_file, **({"index": index} if index else {}))
    report, swept = evaluate_file(
        labels,
        config=config,
        split=None if split == "all" else split,
        threshold=threshold,
        sweep=sweep,
        use_index=index is not None,
    )
    if as_json:
        _print_json({**report.to_dict(), "sweep": [r.to_dict() for r in swept]})
        return
    _print_theme_eval(report, swept)


def _print_theme_eval(report: Any, swept: list[Any]) -> None:
    from rich.table import Table

    console = _console()
    table = Table(title=f"{report.passages} labelled passages", show_lines=False)
    for col in ("theme", "labelled", "tagged", "correct", "precision", "recall", "F1"):
        table.add_column(col, justify="left" if col == "theme" else "right")

    def fmt(x: float | None) -> str:
        return "–" if x is None else f"{x:.2f}"

    for s in [*report.themes, report.micro]:
        table.add_row(
            "all (micro)" if s.slug == "micro" else s.slug,
            str(s.support),
            str(s.predicted),
            str(s.true_positives),
            fmt(s.precision),
            fmt(s.recall),
            fmt(s.f1),
        )
    console.print(table)
    console.print(f"Macro F1 over themes with labels: {report.macro_f1:.3f}")
    for line in report.unresolved:
        console.print(f"[yellow]Not found:[/] {line}", markup=True, highlight=False)
    if swept:
        best = max(swept, key=lambda r: r.micro.f1 or 0)
        console.print("\nthreshold  precision  recall  F1")
        for r in swept:
            m = r.micro
            mark = "  <- best F1" if r is best else ""
            console.print(
                f"  {r.threshold:.2f}      {fmt(m.precision)}      {fmt(m.recall)}   {fmt(m.f1)}{mark}"
            )


def main() -> None:
    cli(prog_name="scrsearch")


if __name__ == "__main__":  # pragma: no cover
    main()

"""Index commands: ingest, docs, info, check, rebuild and remove."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..config import load_config
from .common import (
    _console,
    _print_json,
    _table,
    handle_errors,
    index_option,
    json_option,
    model_option,
)


@click.command()
@click.argument("paths", nargs=-1, required=True)
@index_option
@model_option
@click.option("--prune", is_flag=True, help="Drop indexed documents whose files are gone.")
@click.option(
    "--rebuild",
    is_flag=True,
    help="Start a fresh index (with --model: to change model; without, it keeps its model).",
)
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

    from ..ingestion.ocr import default_ocr
    from ..ingestion.pipeline import ingest as run_ingest

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


@click.command()
@index_option
@json_option
@handle_errors
def docs(index: str | None, as_json: bool) -> None:
    """List the indexed documents with their metadata."""
    from ..index import store
    from ..index.describe import document_list
    from ..index.generations import Index

    config = load_config(index=index)
    idx = Index.open(config.index_dir)
    if as_json:
        _print_json(document_list(idx))
        return
    rows = store.list_documents(idx.conn())
    from rich.text import Text

    table = _table(
        ("id", "title", "type", "partnership", "year", "pages", "passages"),
        whole=("id", "type", "year", "pages", "passages"),
    )
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


@click.command()
@index_option
@json_option
@handle_errors
def info(index: str | None, as_json: bool) -> None:
    """Show the index's model, size and counts."""
    from ..index.describe import index_info
    from ..index.generations import Index

    config = load_config(index=index)
    data = index_info(Index.open(config.index_dir))
    if as_json:
        _print_json(data)
        return
    console = _console()
    for key in ("index", "model", "dimension", "faiss_kind", "generation", "created", "size_mb"):
        console.print(f"{key:>12}: {data[key]}", markup=False)
    for key, value in data["counts"].items():
        console.print(f"{key:>12}: {value}", markup=False)


@click.command()
@index_option
@json_option
@handle_errors
def check(index: str | None, as_json: bool) -> None:
    """Verify the index (SQLite integrity, keyword index, FAISS file, manifest).

    Prints each problem with the command that repairs it; exits 1 if any is an error.
    """
    from ..index.maintenance import check_index

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


@click.command()
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
    from ..embed.base import canonical_model_name
    from ..index.maintenance import rebuild_index

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


@click.command()
@click.argument("doc")
@index_option
@json_option
@handle_errors
def remove(doc: str, index: str | None, as_json: bool) -> None:
    """Remove document DOC (id, file name or path) from the index.

    A file uploaded through the app is deleted too; any other file stays on disk.
    """
    from ..ingestion.library import remove_document

    config = load_config(index=index)
    removed = remove_document(config.index_dir, doc, config=config)
    if as_json:
        _print_json({"doc_id": removed.doc_id, "title": removed.title, "source": removed.source})
    else:
        click.echo(f"Removed {removed.doc_id}: {removed.title} ({removed.source})")

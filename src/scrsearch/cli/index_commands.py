"""Index commands: ingest, docs, info, check, rebuild and remove."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from ..config import load_config
from .common import (
    _console,
    _print_json,
    handle_errors,
    index_option,
    json_option,
    model_option,
)

if TYPE_CHECKING:
    from ..ingestion.download import DownloadTally
    from ..ingestion.pipeline import IngestReport


@click.command()
@click.argument("paths", nargs=-1)
@click.option(
    "--catalogue",
    type=click.Path(dir_okay=False),
    default=None,
    help="A CSV of reviews to ingest: a url or path column, and any of title, review_name, "
    "partnership, year, review_type, nation (these win over what extraction finds). "
    "Bad rows are named by line; the rest is ingested.",
)
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
    catalogue: str | None,
    index: str | None,
    model: str | None,
    prune: bool,
    rebuild: bool,
    as_json: bool,
) -> None:
    """Index files and folders (PDF, HTML, DOCX, TXT, MD), recursively, and web pages by URL.

    A URL (http:// or https://) is downloaded into the index folder, with a timeout,
    a size cap and a type check; it is re-indexed only when its content changed.
    Downloads are polite (SCRSEARCH_FETCH_PER_HOST at a time per host, retries with
    backoff) and resumable: a rerun downloads only what is missing or changed.
    """
    from ..ingestion.catalogue import ingest_catalogue, read_catalogue
    from ..ingestion.ocr import default_ocr
    from ..ingestion.pipeline import ingest as run_ingest

    if not paths and not catalogue:
        raise click.UsageError("give PATHS to ingest, or --catalogue CSV")
    config = load_config(index=index, model=model)
    rows = read_catalogue(catalogue) if catalogue else None  # a bad file fails before any work
    with _IngestBars(transient=as_json) as bars:
        bars.console.print("Loading the embedding model…")
        options: dict[str, Any] = {
            "config": config,
            "progress": bars.progress,
            "on_download": bars.on_download,
            "prune": prune,
            "rebuild": rebuild,
            "ocr": default_ocr(config.ocr),
        }
        if rows is not None:
            report = ingest_catalogue(rows, paths, **options)
        else:
            report = run_ingest(paths, **options)
    if as_json:
        _print_json(report.to_dict())
    else:
        _print_ingest_report(report, config.index)
    if report.failed:
        sys.exit(1)


class _IngestBars:
    """The ingest's progress bars: downloads (URLs, bytes, failures), then each stage."""

    LABELS = {"extract": "Reading files", "embed": "Embedding passages", "index": "Building index"}

    def __init__(self, transient: bool) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.bar = Progress(
            TextColumn("{task.description:<20}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[note]}"),
            console=_console(stderr=True),
            transient=transient,
        )
        self.console = self.bar.console
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> _IngestBars:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.bar.__exit__(*exc)

    def _task(self, stage: str, total: int) -> Any:
        if stage not in self.tasks:
            label = self.LABELS.get(stage, stage)
            self.tasks[stage] = self.bar.add_task(label, total=total, note="")
        return self.tasks[stage]

    def progress(self, stage: str, done: int, total: int) -> None:
        if stage == "fetch":  # on_download shows it, with bytes and failures
            return
        self.bar.update(self._task(stage, total), completed=done, total=total)

    def on_download(self, tally: DownloadTally) -> None:
        task = self._task("Downloading", tally.total)
        size = (
            f"{tally.bytes / 1e6:.1f} MB"
            if tally.bytes >= 100_000
            else f"{tally.bytes / 1e3:.0f} kB"
        )
        note = f"{size}, {tally.failed} failed"
        if tally.reused:
            note += f", {tally.reused} unchanged or resumed"
        self.bar.update(task, completed=tally.done, total=tally.total, note=note)


def _print_ingest_report(report: IngestReport, index: str) -> None:
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
    from ..index.generations import Index
    from ..ingestion.library import documents
    from .tables import documents_table

    config = load_config(index=index)
    rows = documents(Index.open(config.index_dir))
    if as_json:
        _print_json([r.to_dict() for r in rows])
    else:
        _console().print(documents_table(rows))


@click.command()
@index_option
@json_option
@handle_errors
def info(index: str | None, as_json: bool) -> None:
    """Show the index's model, size and counts."""
    from ..index.info import index_info

    data = index_info(load_config(index=index).index_dir).to_dict()
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

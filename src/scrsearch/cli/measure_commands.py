"""Commands that measure quality and speed: eval, bench and eval-themes."""

from __future__ import annotations

from typing import Any

import click

from ..config import load_config
from ..measure.eval import BASELINE, EVAL_MODES, RANKINGS
from ..measure.theme_eval import SPLITS
from .common import (
    _console,
    _print_json,
    _print_report,
    handle_errors,
    index_option,
    json_option,
    model_option,
    themes_option,
)


@click.command("eval")
@click.argument("qrels", type=click.Path(exists=True, dir_okay=False))
@index_option
@click.option(
    "--root",
    type=click.Path(file_okay=False),
    help="Folder the qrels document ids are relative to. Default: match by path ending.",
)
@click.option(
    "--modes",
    default=",".join(EVAL_MODES),
    show_default=True,
    help=f"Comma-separated ranking modes to evaluate, of {', '.join(RANKINGS)} (match-case: "
    "reviews like a case description, as `scrsearch match-case` ranks them).",
)
@click.option(
    "--as-if-passages",
    type=click.IntRange(min=1),
    help="Simulate a larger index's keyword search: scale the keyword budget to the "
    "share of this index that it is of this many passages.",
)
@click.option(
    "--baseline",
    help="The mode the others are compared with, query by query. "
    f"Default: {BASELINE}, when it is evaluated.",
)
@json_option
@handle_errors
def eval_command(
    qrels: str,
    index: str | None,
    root: str | None,
    modes: str,
    as_if_passages: int | None,
    baseline: str | None,
    as_json: bool,
) -> None:
    """Score ranking against judged queries QRELS: nDCG@10, Recall@10/50 and MRR per mode."""
    from ..measure.eval import evaluate, load_qrels
    from .tables import eval_tables

    config = load_config(index=index)
    chosen = [m.strip() for m in modes.split(",") if m.strip()]
    result = evaluate(
        load_qrels(qrels),
        config.index_dir,
        modes=chosen,
        root=root,
        config=config,
        as_if_passages=as_if_passages,
        baseline=baseline,
    )
    for warning in result.warnings:
        click.echo(f"Warning: {warning}", err=True)
    _print_report(as_json, result.to_dict, lambda: eval_tables(result))


@click.command("bench")
@click.option(
    "--sizes",
    default="10000,100000,1000000",
    show_default=True,
    help="Comma-separated index sizes (passages) to time searches at.",
)
@click.option(
    "--queries",
    type=int,
    default=200,
    show_default=True,
    help="Searches per mode (with --serve: requests per level).",
)
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
@click.option(
    "--recurring-sizes",
    default="10000",
    show_default=True,
    help="Comma-separated synthetic pool sizes (lessons) to time recurring-learning grouping "
    "at; 100000 takes minutes. Empty: skip.",
)
@model_option
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False),
    help="Where the temporary indexes go (about 3.5 GB at 1M passages). Default: system temp.",
)
@click.option(
    "--serve",
    "serve",
    is_flag=True,
    help="Instead: load on `scrsearch serve` over loopback (a copy of --index), with "
    "--clients concurrent clients, an ingest during the --ingest-at level, and every answer "
    "checked against the serial one. --queries is then the requests per level.",
)
@index_option
@click.option(
    "--clients",
    default="1,8,32",
    show_default=True,
    help="With --serve: comma-separated numbers of concurrent clients.",
)
@click.option(
    "--seconds",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    help="With --serve: the most seconds per level.",
)
@click.option(
    "--ingest-at",
    type=int,
    default=8,
    show_default=True,
    help="With --serve: the level (clients) during which an ingest publishes; 0 for none.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="With --serve: the server's worker processes.",
)
@json_option
@handle_errors
def bench(
    sizes: str,
    queries: int,
    corpus: tuple[str, ...],
    ingest_corpus: tuple[str, ...],
    recurring_sizes: str,
    model: str | None,
    work_dir: str | None,
    serve: bool,
    index: str | None,
    clients: str,
    seconds: float,
    ingest_at: int,
    workers: int,
    as_json: bool,
) -> None:
    """Measure ingest, extraction, model load, search latency, recall and memory here, and
    recurring-learning grouping on synthetic lessons; or, with --serve, the HTTP API under
    concurrent load."""
    if serve:
        from ..measure import serve_bench
        from .tables import serve_bench_tables

        err = _console(stderr=True)
        result = serve_bench.run_serve_bench(
            load_config(index=index).index_dir,
            clients=_numbers(clients, "--clients"),
            requests=queries,
            seconds=seconds,
            workers=workers,
            ingest_at=ingest_at or None,
            work_dir=work_dir,
            log=lambda message: err.print(message, markup=False, highlight=False),
        )
        _print_report(as_json, lambda: result, lambda: serve_bench_tables(result))
        return
    from ..measure.bench import run_bench
    from .tables import bench_tables

    err = _console(stderr=True)
    result = run_bench(
        sizes=_numbers(sizes, "--sizes"),
        queries=queries,
        corpus=list(corpus) or None,
        ingest_corpus=list(ingest_corpus) or None,
        config=load_config(model=model),
        work_dir=work_dir,
        log=lambda message: err.print(message, markup=False, highlight=False),
        recurring_sizes=_numbers(recurring_sizes, "--recurring-sizes"),
    )
    _print_report(as_json, lambda: result, lambda: bench_tables(result))


def _numbers(text: str, option: str) -> list[int]:
    try:
        return [int(s.replace("_", "")) for s in text.split(",") if s.strip()]
    except ValueError as exc:
        raise click.BadParameter("give whole numbers, e.g. 1,8,32", param_hint=option) from exc


@click.command("eval-themes")
@click.option(
    "--labels",
    type=click.Path(dir_okay=False),
    default="tests/data/themes_labelled.json",
    show_default=True,
    help="The labelled passages (JSON; see tests/data/JUDGING_themes.md).",
)
@click.option(
    "--split",
    type=click.Choice(["all", *SPLITS]),
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
    from ..measure.theme_eval import evaluate_file

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
    from .tables import score, theme_eval_table

    console = _console()
    console.print(theme_eval_table(report))
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
                f"  {r.threshold:.2f}      {score(m.precision)}      {score(m.recall)}   "
                f"{score(m.f1)}{mark}"
            )

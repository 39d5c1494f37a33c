"""Commands that measure quality and speed: eval, bench and eval-themes."""

from __future__ import annotations

from typing import Any

import click

from ..config import load_config
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
    default="keyword,semantic,hybrid",
    show_default=True,
    help="Comma-separated ranking modes to evaluate.",
)
@click.option(
    "--as-if-passages",
    type=click.IntRange(min=1),
    help="Simulate a larger index's keyword search: scale the keyword budget to the "
    "share of this index that it is of this many passages.",
)
@click.option(
    "--baseline",
    help="The mode the others are compared with, query by query. Default: keyword, "
    "when it is evaluated.",
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
    from ..measure.eval import evaluate, load_qrels, tables

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
    _print_report(as_json, result.to_dict, lambda: tables(result))


@click.command("bench")
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
    as_json: bool,
) -> None:
    """Measure ingest, extraction, model load, search latency, recall and memory here,
    and recurring-learning grouping on synthetic lessons."""
    from ..measure.bench import run_bench, tables

    def numbers(text: str, hint: str) -> list[int]:
        try:
            return [int(s.replace("_", "")) for s in text.split(",") if s.strip()]
        except ValueError as exc:
            raise click.BadParameter(
                "give whole numbers, e.g. 10000,100000", param_hint=hint
            ) from exc

    chosen = numbers(sizes, "--sizes")
    err = _console(stderr=True)
    result = run_bench(
        sizes=chosen,
        queries=queries,
        corpus=list(corpus) or None,
        ingest_corpus=list(ingest_corpus) or None,
        config=load_config(model=model),
        work_dir=work_dir,
        log=lambda message: err.print(message, markup=False, highlight=False),
        recurring_sizes=numbers(recurring_sizes, "--recurring-sizes"),
    )
    _print_report(as_json, lambda: result, lambda: tables(result))


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

"""Rich tables for people, built from the library's plain reports.

The library returns data (reports with ``to_dict()``); only the command line turns
it into tables. rich is imported when a table is built, not at start-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.table import Table

    from ..ingestion.library import LibraryRow
    from ..measure.eval import EvalResult
    from ..measure.theme_eval import EvalReport as ThemeEvalReport


def table(
    columns: tuple[str, ...], *, whole: tuple[str, ...] = (), title: str | None = None
) -> Table:
    """A rich table whose text columns fold, and whose ``whole`` columns (ids, slugs,
    numbers: things to copy into the next command) are never broken across lines."""
    from rich.table import Table

    out = Table(title=title, show_lines=False)
    for col in columns:
        if col in whole:
            out.add_column(col, no_wrap=True)
        else:
            out.add_column(col, overflow="fold")
    return out


def documents_table(rows: Sequence[LibraryRow]) -> Table:
    """``scrsearch docs``: one row per indexed document."""
    from rich.text import Text

    out = table(
        ("id", "title", "type", "partnership", "year", "pages", "passages"),
        whole=("id", "type", "year", "pages", "passages"),
    )
    for row in rows:
        d, m = row.document, row.document.metadata
        out.add_row(  # Text(): titles come from documents and are never read as markup
            str(d.doc_id),
            Text(d.title),
            Text(m.review_type or ""),
            Text(m.partnership or ""),
            str(m.year or ""),
            str(d.n_pages) if d.paged else "",
            str(row.passages),
        )
    return out


def _numbers(title: str, columns: Sequence[str], *, left: Sequence[str] = ()) -> Table:
    """A table of figures: right-aligned columns, except those named in ``left``; at least
    as wide as its title, so the title stays on one line where the terminal allows."""
    from rich.table import Table

    out = Table(title=title, min_width=len(title))
    for name in columns:
        out.add_column(name, justify="left" if name in left else "right")
    return out


def eval_tables(result: EvalResult) -> list[Table]:
    """``scrsearch eval``: the summary per mode, nDCG@10 per kind, the modes against
    the baseline, and nDCG@10 per query."""
    from ..measure.eval import METRICS

    title = f"{result.collection}: {len(result.queries)} judged queries"
    if result.simulated:
        title += (
            f", as if {result.simulated['passages']:,} passages"
            f" (keyword budget {result.simulated['keyword_budget']:,})"
        )
    summaries = {mode: result.summary(mode) for mode in result.modes}
    summary = _numbers(
        title, ("mode", "nDCG@10", "Recall@5", "Recall@10", "Recall@50", "MRR"), left=["mode"]
    )
    for mode, s in summaries.items():
        summary.add_row(mode, *(f"{s[m]:.3f}" for m in METRICS))
    by_kind = _numbers("nDCG@10 by query kind", ("kind", "queries", *result.modes), left=["kind"])
    for kind in dict.fromkeys(q["kind"] for q in result.queries):
        n = sum(q["kind"] == kind for q in result.queries)
        by_kind.add_row(kind, str(n), *(f"{s['by_kind'][kind]:.3f}" for s in summaries.values()))
    return [summary, by_kind, *_against_table(result), _per_query_table(result)]


def _against_table(result: EvalResult) -> list[Table]:
    """The modes against the baseline (no table when nothing was compared)."""
    from rich.table import Table

    compared = result.comparisons()
    if not compared:
        return []
    against = Table(title=f"nDCG@10 against {result.baseline}, paired over the queries")
    for name in ("mode", "difference", "95% interval", "queries better / worse / same"):
        against.add_column(name, justify="left" if name == "mode" else "right", no_wrap=True)
    for c in compared:
        against.add_row(
            c.mode,
            f"{c.difference:+.3f}",
            f"{c.ci95[0]:+.3f} to {c.ci95[1]:+.3f}",
            f"{c.better} / {c.worse} / {c.tied}",
        )
    return [against]


def _per_query_table(result: EvalResult) -> Table:
    from rich.table import Table

    per_query = Table(title="nDCG@10 per query")
    for name in ("id", "kind", *result.modes):
        per_query.add_column(
            name, justify="right" if name in result.modes else "left", no_wrap=True
        )
    per_query.add_column("query", max_width=44)  # wraps: narrow terminals keep the numbers
    for q in result.queries:
        per_query.add_row(
            q["id"],
            q["kind"],
            *(f"{q[m]['ndcg@10']:.3f}" for m in result.modes),
            _short(q["query"]),
        )
    return per_query


def _short(text: str, limit: int = 120) -> str:
    """A query for the per-query table: a long one (a case description) cut to ``limit``."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def bench_tables(result: dict[str, Any]) -> list[Table]:
    """``scrsearch bench``: the one-off measures, search latency, memory and disk, and
    recurring-learning grouping when it was measured."""
    out = [_bench_summary(result), _bench_query(result), _bench_memory(result)]
    if result.get("recurring"):
        out.append(_bench_recurring(result))
    return out


def _bench_recurring(result: dict[str, Any]) -> Table:
    from rich.table import Table

    grouping = Table(title="recurring-learning grouping (synthetic lessons; seconds)")
    for name in ("passages", "groups", "vectors", "clustering", "naming", "total"):
        grouping.add_column(name, justify="right")
    for row in result["recurring"]:
        grouping.add_row(
            f"{row['passages']:,}",
            f"{row['groups']:,}",
            f"{row['features_s']:.1f}",
            f"{row['cluster_s']:.1f}",
            f"{row['label_s']:.1f}",
            f"{row['total_s']:.1f}",
        )
    return grouping


def _bench_summary(result: dict[str, Any]) -> Table:
    m, x, i = result["model"], result["extraction"], result["ingest"]
    title = f"scrsearch bench: {result['machine']['cpus']} CPUs, {result['machine']['cpu']}"
    summary = _numbers(title, ("measure", "value"), left=["measure"])
    for measure, value in (
        (f"model load ({m['name']})", f"{m['load_s']:.2f} s"),
        ("first query embedding", f"{m['first_query_ms']:.0f} ms"),
        ("warm query embedding", f"{m['embed_ms']:.1f} ms"),
        ("PDF extraction", f"{x['pages_per_s']:.1f} pages/s ({x['pdf_pages']} pages)"),
        ("ingest: embedding", f"{i['passages_per_s']:.1f} passages/s ({i['passages']} passages)"),
        ("ingest: end to end", f"{i['end_to_end_passages_per_s']:.1f} passages/s"),
        ("bare model.encode", f"{i['raw_encode_passages_per_s']:.1f} passages/s"),
        ("bare / pipeline embedding", f"{i['overhead_ratio']:.2f}x"),
    ):
        summary.add_row(measure, value)
    if "onnx_passages_per_s" in i:
        summary.add_row(
            "int8 ONNX backend, same passages",
            f"{i['onnx_passages_per_s']:.1f} passages/s ({i['onnx_speedup']:.2f}x bare encode; "
            f"cosine {i['onnx_cosine_mean']:.3f} mean, {i['onnx_cosine_min']:.3f} min)",
        )
    return summary


def _bench_query(result: dict[str, Any]) -> Table:
    query = _numbers(
        "search latency (k=10; query embedding excluded)",
        ("passages", "mode", "p50 ms", "p95 ms", "recall@10 vs exact"),
        left=["mode"],
    )
    for row in result["query"]:
        recall = "" if row["recall_at_10"] is None else f"{row['recall_at_10']:.3f}"
        query.add_row(
            f"{row['passages']:,}",
            row["mode"],
            f"{row['p50_ms']:.1f}",
            f"{row['p95_ms']:.1f}",
            recall,
        )
    return query


def _bench_memory(result: dict[str, Any]) -> Table:
    memory = _numbers(
        "memory and disk",
        ("passages", "FAISS", "query peak RSS MB", "build peak RSS MB", "index MB", "build s"),
    )
    for row in result["memory"]:
        memory.add_row(
            f"{row['passages']:,}",
            row["faiss_kind"],
            f"{row['peak_rss_mb']:.0f}",
            f"{row['build_peak_rss_mb']:.0f}",
            f"{row['index_mb']:.0f}",
            f"{row['build_s']:.0f}",
        )
    return memory


def theme_eval_table(report: ThemeEvalReport) -> Table:
    """``scrsearch eval-themes``: precision, recall and F1 per theme, then over all."""
    out = _numbers(
        f"{report.passages} labelled passages",
        ("theme", "labelled", "tagged", "correct", "precision", "recall", "F1"),
        left=["theme"],
    )
    for s in [*report.themes, report.micro]:
        out.add_row(
            "all (micro)" if s.slug == "micro" else s.slug,
            str(s.support),
            str(s.predicted),
            str(s.true_positives),
            score(s.precision),
            score(s.recall),
            score(s.f1),
        )
    return out


def score(x: float | None) -> str:
    """A precision, recall or F1 to 2 places; a dash when it is undefined."""
    return "–" if x is None else f"{x:.2f}"


def serve_bench_tables(result: dict[str, Any]) -> list[Table]:
    """``scrsearch bench --serve`` for people: one row per level of concurrency."""
    from rich.table import Table

    index = result["index"]
    table = Table(
        title=f"scrsearch serve under load: {result['mode']} k={result['k']}, "
        f"{index['passages']:,} passages, {result['workers']} worker(s), "
        f"{result['machine']['cpus']} CPUs"
    )
    for name in ("clients", "requests", "req/s", "p50 ms", "p95 ms", "max ms", "errors"):
        table.add_column(name, justify="right")
    for name in ("≠ serial", "generations", "ingest", "server MB"):
        table.add_column(name, justify="right", no_wrap=True)
    for row in result["levels"]:
        latency = (row[key] for key in ("p50_ms", "p95_ms", "max_ms"))
        table.add_row(
            str(row["clients"]),
            str(row["requests"]),
            f"{row['requests_per_s']:.1f}",
            *("" if ms is None else f"{ms:.0f}" for ms in latency),
            str(row["errors"]),
            str(row["differ_from_serial"] + row["unverified"]),
            ",".join(map(str, row["generations"])),
            "yes" if row["ingest_during"] else "",
            f"{row['server_rss_mb']:.0f}",
        )
    return [table]


def recurring_eval_tables(result: dict[str, Any]) -> list[Table]:
    """``scrsearch eval-recurring``: each split's scores, and the sweep on the tune split."""
    from rich.table import Table

    g = result["grouping"]
    main = Table(
        title=f"Recurring learning groups ({g['linkage']} linkage, distance < {g['threshold']}, "
        f"theme weight {g['theme_weight']:g}, word weight {g['text_weight']:g}) vs one group "
        f"per theme tag: B-cubed over {result['labelled_passages']} labelled passages"
    )
    for col in ("split", "method", "passages", "groups", "precision", "recall", "F1"):
        main.add_column(col, justify="left" if col in ("split", "method") else "right")
    for split, scores in result["splits"].items():
        for method in ("grouping", "baseline"):
            s = scores[method]
            name = "recurring groups" if method == "grouping" else "theme-tag baseline"
            main.add_row(
                split,
                name,
                str(s["passages"]),
                str(s["groups"]),
                f"{s['precision']:.3f}",
                f"{s['recall']:.3f}",
                f"{s['f1']:.3f}",
            )
    out = [main]
    if result.get("sweep"):
        sweep = Table(title="Sweep (choose on tune; test shown for the record)")
        for col in (
            "linkage",
            "themes",
            "words",
            "threshold",
            "tune P",
            "tune R",
            "tune F1",
            "test F1",
        ):
            sweep.add_column(col, justify="left" if col == "linkage" else "right")
        best = max(result["sweep"], key=lambda r: r["tune"]["f1"])
        for row in result["sweep"]:
            mark = " <- best on tune" if row is best else ""
            sweep.add_row(
                row["linkage"],
                f"{row['theme_weight']:g}",
                f"{row['text_weight']:g}",
                f"{row['threshold']:.3f}",
                f"{row['tune']['precision']:.3f}",
                f"{row['tune']['recall']:.3f}",
                f"{row['tune']['f1']:.3f}{mark}",
                f"{row['test']['f1']:.3f}",
            )
        out.append(sweep)
    return out

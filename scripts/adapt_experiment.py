#!/usr/bin/env python
"""In-domain adaptation of the default model, measured without any judged query.

Research script for issue #15 (results in docs/EVAL_BENCH.md, "Independent collection
(eval-dev)"). all-MiniLM-L6-v2 is fine-tuned with sentence-transformers'
MultipleNegativesRankingLoss on pairs made from the corpus's own structure (never from
a judged query), then scored on the three judged collections the way `scrsearch eval`
scores them: the product's keyword ranking (FTS5 BM25, read once from the index), the
semantic ranking recomputed exactly with the new model's vectors (flat search, as the
product does at this size), `ranking.fuse_scores` and `ranking.aggregate_documents`.
The best variant is then confirmed through the product itself (`scrsearch ingest
--model PATH` and `scrsearch eval`).

Pairs (``--pairs``, comma separated):
  ict       inverse cloze: one sentence of a passage -> the passage without it (kept in
            10% of pairs), with its heading, as the product embeds it
  heading   a distinctive heading (at most twice among the training passages, 3-20
            words) -> the passage under it, heading removed
  next      a passage's last sentence -> the next passage of the same document
  themes    a theme's description or phrasing (the product's taxonomy) -> a passage the
            product tagged with that theme at ingest (weak supervision; no judged query)

Training documents (``--docs``):
  ooc   the demo corpus and the three national documents only: none of the 73 PFD
        reports, the 5 adult reports or the George briefing that eval-dev is mostly about
  h1/h2 one half of the 83 real documents (split by the SHA-1 of the file name); scored
        with --cross on a simulated index of the other half only
  all   every passage of both indexes (transductive: what a user's own index would do)

Usage (indexes built with the default model; see --real-index, --demo-index):
  python scripts/adapt_experiment.py prepare
  python scripts/adapt_experiment.py train --tag ict-ooc --docs ooc --pairs ict
  python scripts/adapt_experiment.py score --tag ict-ooc     # base is the packaged model
  python scripts/adapt_experiment.py score --cross h1tag,h2tag
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sqlite3
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from scrsearch.ingestion.chunk import embedding_text  # noqa: E402
from scrsearch.measure.eval import load_qrels, match_documents, ndcg_at_k  # noqa: E402
from scrsearch.search.ranking import aggregate_documents, fuse_scores  # noqa: E402

WORK = Path("/tmp/work/adapt")
COLLECTIONS = {  # name: (qrels, index)
    "dev": ("/work/shared/eval-dev/qrels.json", "real"),
    "real": (str(ROOT / "tests/data/qrels_real.json"), "real"),
    "demo": (str(ROOT / "tests/data/qrels_demo.json"), "demo"),
}
DEPTH = 300
NATIONAL = "csc-map-of-the-world/"
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9])")


# --- the corpus ----------------------------------------------------------------


def read_index(folder: str) -> list[dict]:
    """Every passage of an index folder, read-only, in document order."""
    manifest = json.loads((Path(folder) / "manifest.json").read_text())
    uri = f"file:{Path(folder) / manifest['sqlite']}?mode=ro"
    conn = sqlite3.connect(uri, uri=True)
    rows = conn.execute(
        "SELECT c.id, c.doc_id, d.source, c.seq, c.section, c.heading, c.text "
        "FROM chunks c JOIN documents d ON d.id = c.doc_id ORDER BY c.doc_id, c.seq"
    ).fetchall()
    keys = ("id", "doc", "source", "seq", "section", "heading", "text")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def half(source: str) -> str:
    """'h1' or 'h2': a document's half, from the SHA-1 of its file name."""
    return "h1" if hashlib.sha1(Path(source).name.encode()).digest()[0] % 2 == 0 else "h2"


def training_rows(docs: str, real: list[dict], demo: list[dict]) -> list[dict]:
    if docs == "ooc":
        return demo + [r for r in real if NATIONAL in r["source"]]
    if docs in ("h1", "h2"):
        return [r for r in real if half(r["source"]) == docs]
    if docs == "all":
        return real + demo
    if docs == "real":
        return real
    raise SystemExit(f"unknown --docs {docs}")


# --- pairs -----------------------------------------------------------------------


def sentences(text: str) -> list[str]:
    """A passage's sentences, its line breaks (PDF layout) folded into spaces first."""
    return [s.strip() for s in SENTENCE.split(re.sub(r"\s+", " ", text)) if s.strip()]


def usable(sentence: str) -> bool:
    words = len(sentence.split())
    return 6 <= words <= 60 and "[REDACTED]" not in sentence and "...." not in sentence


def ict_pairs(rows: list[dict], rng: random.Random, per_passage: int) -> list[tuple[str, str]]:
    out = []
    for r in rows:
        parts = sentences(r["text"])
        if len(parts) < 3:
            continue
        picks = [i for i, s in enumerate(parts) if usable(s)]
        for i in rng.sample(picks, min(per_passage, len(picks))):
            keep = rng.random() < 0.1
            context = " ".join(parts if keep else parts[:i] + parts[i + 1 :])
            out.append((parts[i], embedding_text(context, r["heading"])))
    return out


def heading_pairs(rows: list[dict]) -> list[tuple[str, str]]:
    counts = Counter((r["heading"] or "").strip().lower() for r in rows)
    out = []
    for r in rows:
        h = (r["heading"] or "").strip()
        distinctive = counts[h.lower()] <= 2 and 3 <= len(h.split()) <= 20 and "...." not in h
        if distinctive and len(r["text"].split()) >= 30:
            out.append((h, r["text"]))
    return out


def next_pairs(rows: list[dict]) -> list[tuple[str, str]]:
    out = []
    for a, b in zip(rows, rows[1:], strict=False):
        if a["doc"] != b["doc"] or a["source"] != b["source"]:
            continue
        tail = [s for s in sentences(a["text"]) if usable(s)]
        if tail and len(b["text"].split()) >= 30:
            out.append((tail[-1], embedding_text(b["text"], b["heading"])))
    return out


def theme_pairs(
    rows: list[dict], index: str, rng: random.Random, per_theme: int = 20
) -> list[tuple[str, str, str]]:
    """A theme's description or one of its phrasings -> a passage tagged with it at ingest.

    Weak supervision from the product's own taxonomy (src/scrsearch/data/themes.yaml),
    not from any judged query: the passages are the theme's most confident tags among
    the training passages. The third element is the theme, kept once per batch.
    """
    from scrsearch.themes.tagging import load_themes

    themes = {t.slug: t for t in load_themes()}
    wanted = {r["id"]: r for r in rows}
    manifest = json.loads((Path(index) / "manifest.json").read_text())
    conn = sqlite3.connect(f"file:{Path(index) / manifest['sqlite']}?mode=ro", uri=True)
    tagged: dict[str, list[int]] = {}
    for cid, slug in conn.execute(
        "SELECT chunk_id, slug FROM chunk_themes ORDER BY slug, confidence DESC, chunk_id"
    ):
        if cid in wanted and slug in themes:
            tagged.setdefault(slug, []).append(cid)
    out = []
    for slug, cids in sorted(tagged.items()):
        texts = list(themes[slug].texts)
        for cid in cids[:per_theme]:
            r = wanted[cid]
            out.append((rng.choice(texts), embedding_text(r["text"], r["heading"]), slug))
    return out


def make_pairs(
    rows: list[dict], kinds: list[str], seed: int, per_passage: int, indexes: tuple[str, ...] = ()
) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    pairs: list = []
    for kind in kinds:
        if kind == "ict":
            pairs += ict_pairs(rows, rng, per_passage)
        elif kind == "heading":
            pairs += heading_pairs(rows)
        elif kind == "next":
            pairs += next_pairs(rows)
        elif kind == "themes":
            for index in indexes:
                pairs += theme_pairs(rows, index, rng)
        else:
            raise SystemExit(f"unknown pair kind {kind}")
    return pairs


# --- training --------------------------------------------------------------------


def base_model_path() -> str:
    from scrsearch.embed.base import resolve_model

    return resolve_model("all-MiniLM-L6-v2")


def batches(pairs: list, size: int) -> list[list]:
    """Pairs in order, in batches of ``size``; a pair whose group (third element, e.g.
    a theme) is already in the batch waits for the next one, so that no in-batch
    negative shares the anchor's theme."""
    out, current, groups, waiting = [], [], set(), []
    for pair in pairs:
        queue = waiting + [pair]
        waiting = []
        for p in queue:
            g = p[2] if len(p) > 2 else None
            if g is not None and g in groups:
                waiting.append(p)
                continue
            current.append(p)
            if g is not None:
                groups.add(g)
            if len(current) == size:
                out.append(current)
                current, groups = [], set()
    rest = current + waiting
    out += [rest[i : i + size] for i in range(0, len(rest), size)]
    return out


def train(args: argparse.Namespace) -> None:
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    real, demo = read_index(args.real_index), read_index(args.demo_index)
    rows = training_rows(args.docs, real, demo)
    pairs = make_pairs(
        rows, args.pairs.split(","), args.seed, args.per_passage, (args.real_index, args.demo_index)
    )
    random.Random(args.seed).shuffle(pairs)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    model = SentenceTransformer(args.init or base_model_path(), device="cpu")
    full_length = model.max_seq_length
    model.max_seq_length = args.max_len
    loss = MultipleNegativesRankingLoss(model, scale=args.scale)
    steps_per_epoch = len(batches(pairs, args.batch))
    total = steps_per_epoch * args.epochs
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    warmup = max(1, int(0.1 * total))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / (total - warmup)))
    )
    model.train()
    start, step, losses = time.perf_counter(), 0, []
    for epoch in range(args.epochs):
        order = pairs if epoch == 0 else random.Random(args.seed + epoch).sample(pairs, len(pairs))
        for batch in batches(order, args.batch):
            if len(batch) < 2:
                continue
            features = [
                model.tokenize([p[0] for p in batch]),
                model.tokenize([p[1] for p in batch]),
            ]
            value = loss(features, None)
            value.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            losses.append(float(value))
            step += 1
            if step % 10 == 0 or step == total:
                print(
                    f"step {step}/{total} loss {np.mean(losses[-10:]):.3f} "
                    f"{time.perf_counter() - start:.0f} s",
                    flush=True,
                )
    seconds = time.perf_counter() - start
    model.max_seq_length = full_length
    out = WORK / "models" / args.tag
    model.save(str(out))
    log = {
        "tag": args.tag,
        "docs": args.docs,
        "pairs": args.pairs,
        "n_pairs": len(pairs),
        "passages": len(rows),
        "epochs": args.epochs,
        "lr": args.lr,
        "batch": args.batch,
        "max_len": args.max_len,
        "scale": args.scale,
        "seed": args.seed,
        "per_passage": args.per_passage,
        "steps": step,
        "train_seconds": round(seconds, 1),
        "first_loss": losses[:5],
        "last_loss": losses[-5:],
        "init": args.init,
    }
    (out / "adapt_log.json").write_text(json.dumps(log, indent=1))
    print(json.dumps(log))


# --- scoring ---------------------------------------------------------------------


def prepare(args: argparse.Namespace) -> None:
    """Cache, per collection, its queries, judgements and the product's keyword ranking."""
    from scrsearch import Searcher
    from scrsearch.search.searcher import Filters

    out = {}
    for name, (qrels_path, which) in COLLECTIONS.items():
        folder = args.real_index if which == "real" else args.demo_index
        searcher = Searcher.open(folder)
        conn = searcher.index.conn()
        sources = {int(d): str(s) for d, s in conn.execute("SELECT id, source FROM documents")}
        qrels = load_qrels(qrels_path)
        matched, warnings = match_documents(qrels.doc_ids(), sources)
        assert not warnings, warnings
        queries = []
        for q in qrels.queries:
            assert not searcher.keyword_leaves_out_terms(q.query)
            judged = {matched[d]: g for d, g in q.judgements.items() if d in matched}
            keyword = searcher.keyword(q.query, Filters(), DEPTH)
            queries.append(
                {
                    "id": q.id,
                    "kind": q.kind,
                    "query": q.query,
                    "judged": {str(d): g for d, g in judged.items()},
                    "keyword": keyword,
                }
            )
        out[name] = queries
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "queries.json").write_text(json.dumps(out))
    print("prepared", {k: len(v) for k, v in out.items()})


def vectors(tag: str, model_path: str, rows: list[dict], which: str) -> np.ndarray:
    cache = WORK / "vectors" / f"{tag}-{which}.npy"
    if cache.exists():
        return np.load(cache)
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(model_path, device="cpu")
    start = time.perf_counter()
    texts = [embedding_text(r["text"], r["heading"]) for r in rows]
    v = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    print(
        f"{tag}/{which}: {len(texts)} passages in {time.perf_counter() - start:.0f} s", flush=True
    )
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, v.astype(np.float32))
    return np.load(cache)


def query_vectors(tag: str, model_path: str, texts: list[str], name: str) -> np.ndarray:
    cache = WORK / "vectors" / f"{tag}-q-{name}.npy"
    if cache.exists():
        return np.load(cache)
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(model_path, device="cpu")
    v = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    np.save(cache, v.astype(np.float32))
    return v


def model_path(tag: str) -> str:
    return base_model_path() if tag == "base" else str(WORK / "models" / tag)


def per_query(
    tag: str,
    args: argparse.Namespace,
    allowed: dict[str, set[int]] | None = None,
    names: list[str] | None = None,
) -> dict[str, dict[str, dict[str, float]]]:
    """nDCG@10 per collection, query and mode; ``allowed`` keeps documents per collection."""
    data = json.loads((WORK / "queries.json").read_text())
    rows = {"real": read_index(args.real_index), "demo": read_index(args.demo_index)}
    out: dict[str, dict[str, dict[str, float]]] = {}
    for name in names or list(COLLECTIONS):
        which = COLLECTIONS[name][1]
        r = rows[which]
        ids = np.array([x["id"] for x in r])
        docs = np.array([x["doc"] for x in r])
        chunk_docs = {int(i): int(d) for i, d in zip(ids, docs, strict=True)}
        passages: dict[int, int] = {}
        for d in docs:
            passages[int(d)] = passages.get(int(d), 0) + 1
        keep = allowed.get(name) if allowed else None
        mask = np.isin(docs, list(keep)) if keep is not None else np.ones(len(ids), bool)
        V = vectors(tag, model_path(tag), r, which)
        Q = query_vectors(tag, model_path(tag), [q["query"] for q in data[name]], name)
        res = {}
        for qi, q in enumerate(data[name]):
            judged = {int(d): g for d, g in q["judged"].items() if keep is None or int(d) in keep}
            if not any(g >= 1 for g in judged.values()):
                continue
            s = np.where(mask, V @ Q[qi], -np.inf)
            order = np.argsort(-s, kind="stable")[: min(DEPTH, int(mask.sum()))]
            semantic = [(int(ids[i]), float(s[i])) for i in order]
            keyword = [
                (int(c), float(v))
                for c, v in q["keyword"]
                if keep is None or chunk_docs[int(c)] in keep
            ]
            rankings = {
                "keyword": keyword,
                "semantic": semantic,
                "hybrid": fuse_scores([keyword, semantic], weights=[args.keyword_weight, 1.0]),
            }
            jd = {str(d): g for d, g in judged.items()}
            res[q["id"]] = {"kind": q["kind"]} | {
                mode: ndcg_at_k(
                    [str(d) for d, _, _ in aggregate_documents(rk, chunk_docs, passages)], jd
                )
                for mode, rk in rankings.items()
            }
        out[name] = res
    return out


def parity(qid: str) -> str:
    """'even' or 'odd' by the query id's number ('d12', or 'd12@h2' for a half)."""
    return "even" if int(re.sub(r"\D", "", qid.split("@")[0])) % 2 == 0 else "odd"


def summarise(res: dict) -> dict[str, dict[str, float]]:
    table: dict[str, dict[str, float]] = {}
    for name, queries in res.items():
        groups = (
            {"all": list(queries)}
            if name != "dev"
            else {
                "even": [q for q in queries if parity(q) == "even"],
                "odd": [q for q in queries if parity(q) == "odd"],
                "all": list(queries),
                "no-guidance": [q for q in queries if queries[q]["kind"] != "guidance"],
            }
        )
        for g, qs in groups.items():
            table[f"{name}-{g}" if name == "dev" else name] = {
                m: round(float(np.mean([queries[q][m] for q in qs])), 4)
                for m in ("keyword", "semantic", "hybrid")
            }
    return table


def bootstrap(
    a: dict, b: dict, mode: str, n: int = 10000, seed: int = 0
) -> tuple[float, float, float]:
    """Mean paired difference b - a over shared queries, with a BCa 95% interval (scipy)."""
    from scipy.stats import bootstrap as bs

    common = [q for q in a if q in b]
    d = np.array([b[q][mode] - a[q][mode] for q in common])
    if np.allclose(d, d[0]):
        return float(d.mean()), float(d[0]), float(d[0])
    ci = bs((d,), np.mean, n_resamples=n, method="BCa", random_state=seed).confidence_interval
    return float(d.mean()), float(ci.low), float(ci.high)


def show(tag: str, res: dict, base: dict | None) -> None:
    table = summarise(res)
    print(f"== {tag}")
    for col, vals in table.items():
        print(f"  {col:16s} " + "  ".join(f"{m[:3]} {v:.3f}" for m, v in vals.items()))
    if base is not None:
        for name in res:
            parts = []
            for mode in ("semantic", "hybrid"):
                d, lo, hi = bootstrap(base[name], res[name], mode)
                parts.append(f"{mode[:3]} {d:+.3f} [{lo:+.3f}, {hi:+.3f}]")
            print(f"  vs base {name:8s} " + "  ".join(parts))


def score(args: argparse.Namespace) -> None:
    WORK.joinpath("results").mkdir(parents=True, exist_ok=True)
    if args.cross:
        t1, t2 = args.cross.split(",")  # t1 trained on h1 -> scored on h2, and the reverse
        real = read_index(args.real_index)
        halves = {h: {r["doc"] for r in real if half(r["source"]) == h} for h in ("h1", "h2")}
        merged: dict[str, dict] = {}
        merged_base: dict[str, dict] = {}
        for tag, other in ((t1, "h2"), (t2, "h1")):
            if tag == "-":  # one fold only
                continue
            allowed = {"dev": halves[other], "real": halves[other]}
            r = per_query(tag, args, allowed, ["dev", "real"])
            b = per_query("base", args, allowed, ["dev", "real"])
            for name in r:
                merged.setdefault(name, {}).update({f"{q}@{other}": v for q, v in r[name].items()})
                merged_base.setdefault(name, {}).update(
                    {f"{q}@{other}": v for q, v in b[name].items()}
                )
        demo = per_query(t1, args, None, ["demo"])
        merged["demo"] = demo["demo"]
        merged_base["demo"] = per_query("base", args, None, ["demo"])["demo"]
        show("base on the same halves", merged_base, None)
        show(f"cross {args.cross} (demo: {t1})", merged, merged_base)
        out = {
            "tag": f"cross:{args.cross}",
            "table": summarise(merged),
            "base_table": summarise(merged_base),
            "queries": merged,
            "base_queries": merged_base,
        }
        WORK.joinpath("results", f"cross-{t1}-{t2}.json").write_text(json.dumps(out))
        return
    res = per_query(args.tag, args)
    base = None if args.tag == "base" else per_query("base", args)
    show(args.tag, res, base)
    WORK.joinpath("results", f"{args.tag}.json").write_text(
        json.dumps({"tag": args.tag, "table": summarise(res), "queries": res})
    )


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--real-index", default="/tmp/work/realidx")
    p.add_argument("--demo-index", default="/tmp/work/demoidx")
    p.add_argument("--keyword-weight", type=float, default=1.0)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("prepare")
    t = sub.add_parser("train")
    t.add_argument("--tag", required=True)
    t.add_argument("--docs", default="ooc")
    t.add_argument("--pairs", default="ict")
    t.add_argument("--epochs", type=int, default=1)
    t.add_argument("--lr", type=float, default=2e-5)
    t.add_argument("--batch", type=int, default=32)
    t.add_argument("--max-len", type=int, default=128)
    t.add_argument("--scale", type=float, default=20.0)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--per-passage", type=int, default=1)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--init", default=None, help="start from this model folder")
    s = sub.add_parser("score")
    s.add_argument("--tag", default="base")
    s.add_argument("--cross", default=None, help="TAG_H1,TAG_H2: cross-fitted halves")
    args = p.parse_args()
    {"prepare": prepare, "train": train, "score": score}[args.cmd](args)


if __name__ == "__main__":
    main()

"""Evaluate recurring-learning groups against hand-labelled groups (``scrsearch eval-recurring``).

A labelled set is JSON (see ``tests/data/JUDGING_recurring.md``)::

    {"base": "../..",
     "groups": [{"id": "demo-E", "about": "the escalation procedure was not used",
                 "split": "tune",
                 "passages": [{"file": "corpus/george-briefing.txt",
                               "snippet": "6. Not all practitioners are aware of"}, ...]}]}

A passage is named by its file and a verbatim prefix of its text, never by chunk
id, and is found in the index by :func:`scrsearch.measure.theme_eval.find_chunk`.
A group with one passage says that passage makes a point no other labelled
passage makes.

The score is B-cubed precision, recall and F1 over the labelled passages of a
split: for each passage, the share of its predicted group (restricted to labelled
passages) that shares its label, and the share of its labelled group that was
predicted with it. A passage in no recurring group is a group of its own. The
baseline puts every passage in the group of its strongest theme tag (untagged
passages alone), computed in the same run on the same passages.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Config, load_config
from ..errors import ScrsearchError
from ..index import store
from ..index.generations import Index
from ..themes.clustering import LINKAGES
from ..themes.profiles import chunk_themes
from ..themes.recurring import DEFAULT_GROUPING, Grouping, Pool, cluster_pool, load_pool
from .theme_eval import find_chunk

SPLITS = ("tune", "test")
#: Distance thresholds tried by the sweep.
SWEEP_THRESHOLDS = tuple(round(x, 3) for x in np.arange(0.30, 0.851, 0.025))


@dataclass(frozen=True)
class LabelledGroup:
    id: str
    about: str
    split: str
    passages: tuple[tuple[str, str], ...]  #: (file, snippet)


@dataclass(frozen=True)
class BCubed:
    precision: float
    recall: float
    passages: int
    groups: int

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "passages": self.passages,
            "groups": self.groups,
        }


def bcubed(gold: Mapping[int, str], predicted: Mapping[int, Any]) -> BCubed:
    """B-cubed precision and recall over the items of ``gold`` (item -> label);
    an item missing from ``predicted`` is in a group of its own."""
    items = list(gold)
    if not items:
        return BCubed(0.0, 0.0, 0, 0)
    cluster = {i: predicted.get(i, ("alone", i)) for i in items}
    members: dict[Any, set[int]] = {}
    for i in items:
        members.setdefault(cluster[i], set()).add(i)
    truth: dict[str, set[int]] = {}
    for i in items:
        truth.setdefault(gold[i], set()).add(i)
    precision = recall = 0.0
    for i in items:
        both = len(members[cluster[i]] & truth[gold[i]])
        precision += both / len(members[cluster[i]])
        recall += both / len(truth[gold[i]])
    return BCubed(precision / len(items), recall / len(items), len(items), len(truth))


def load_labels(path: str | Path) -> tuple[list[LabelledGroup], Path]:
    """The labelled groups and the folder their file paths start from."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ScrsearchError(f"{path}: labelled groups not found (give --labels FILE)") from exc
    except ValueError as exc:
        raise ScrsearchError(f"{path}: not valid JSON ({exc})") from exc
    groups = []
    for i, raw in enumerate(data.get("groups") or []):
        try:
            passages = tuple((p["file"], p["snippet"]) for p in raw["passages"])
            group = LabelledGroup(str(raw["id"]), str(raw.get("about", "")), raw["split"], passages)
        except (KeyError, TypeError) as exc:
            raise ScrsearchError(f"{path}: group #{i + 1} lacks {exc}") from exc
        if group.split not in SPLITS:
            raise ScrsearchError(f"{path}: group '{group.id}' has split '{group.split}'")
        groups.append(group)
    return groups, (path.parent / data.get("base", ".")).resolve()


@dataclass(frozen=True)
class Resolved:
    """The labelled passages found in the index: chunk id -> (group id, split)."""

    labels: dict[int, tuple[str, str]]
    unresolved: tuple[str, ...]


def resolve(conn: Any, groups: Sequence[LabelledGroup], base: Path) -> Resolved:
    """Find each labelled passage's chunk in the index (by file, then snippet)."""
    by_ending: dict[str, list[Any]] = {}
    for doc, _, _ in store.list_documents(conn):
        parts = Path(doc.source).parts
        by_ending.setdefault("/".join(parts[-2:]), []).append(doc)
    chunks_of: dict[int, list[Any]] = {}
    labels: dict[int, tuple[str, str]] = {}
    missing: list[str] = []
    for group in groups:
        for file, snippet in group.passages:
            doc = _document(conn, base / file, by_ending)
            chunk = None
            if doc is not None:
                if doc.doc_id not in chunks_of:
                    chunks_of[doc.doc_id] = store.document_chunks(conn, doc.doc_id)
                chunk = find_chunk(chunks_of[doc.doc_id], snippet)
            if chunk is None:
                missing.append(f"{file}: {snippet!r}")
                continue
            if chunk.chunk_id in labels and labels[chunk.chunk_id][0] != group.id:
                raise ScrsearchError(
                    f"{file}: {snippet!r} is in the same passage as a passage of group "
                    f"'{labels[chunk.chunk_id][0]}', but labelled '{group.id}'"
                )
            labels[chunk.chunk_id] = (group.id, group.split)
    return Resolved(labels, tuple(missing))


def _document(conn: Any, path: Path, by_ending: dict[str, list[Any]]) -> Any:
    found = store.find_by_source(conn, str(path.resolve()))
    if found is not None:
        return store.get_document(conn, found.doc_id)
    candidates = by_ending.get("/".join(path.parts[-2:]), [])
    return candidates[0] if len(candidates) == 1 else None


def predicted_groups(
    pool: Pool, grouping: Grouping, features: np.ndarray | None = None
) -> dict[int, int]:
    """chunk id -> group number, for the passages in a recurring group."""
    return {
        int(pool.ids[row]): number
        for number, rows in enumerate(cluster_pool(pool, grouping, features=features))
        for row in rows
    }


def baseline_groups(conn: Any, chunk_ids: Sequence[int]) -> dict[int, str]:
    """chunk id -> its strongest theme tag (the baseline: one group per theme)."""
    return {cid: tags[0][0] for cid, tags in chunk_themes(conn, chunk_ids).items() if tags}


def _gold(resolved: Resolved, split: str | None) -> dict[int, str]:
    return {c: g for c, (g, s) in resolved.labels.items() if split in (None, s)}


def evaluate(
    index: Index | str | Path,
    labels: str | Path,
    *,
    grouping: Grouping = DEFAULT_GROUPING,
    sweep: bool = False,
    config: Config | None = None,
) -> dict[str, Any]:
    """Score ``grouping`` and the theme-tag baseline on each split; optionally sweep
    linkages and thresholds (reported on the tune split, with the best one's held-out
    score beside it). JSON-ready."""
    config = config or load_config()
    if not isinstance(index, Index):
        index = Index.open(index)
    conn = index.conn()
    groups, base = load_labels(labels)
    resolved = resolve(conn, groups, base)
    pool = load_pool(conn, grouping.min_words)
    in_pool = set(pool.ids.tolist())
    outside = sorted(c for c in resolved.labels if c not in in_pool)
    chosen = predicted_groups(pool, grouping)
    baseline = baseline_groups(conn, list(resolved.labels))
    splits: dict[str, Any] = {}
    for split in (*SPLITS, None):
        gold = _gold(resolved, split)
        splits[split or "all"] = {
            "grouping": bcubed(gold, chosen).to_dict(),
            "baseline": bcubed(gold, baseline).to_dict(),
        }
    result: dict[str, Any] = {
        "index": str(index.dir),
        "grouping": grouping.to_dict(),
        "pool_passages": len(pool),
        "labelled_passages": len(resolved.labels),
        "labelled_outside_pool": len(outside),
        "unresolved": list(resolved.unresolved),
        "splits": splits,
    }
    if sweep:
        result["sweep"] = _sweep(pool, resolved, grouping)
    return result


#: Theme and text weights tried by the sweep (average linkage).
SWEEP_WEIGHTS = ((0.0, 0.0), (0.15, 0.0), (0.0, 1.25), (0.15, 0.5), (0.15, 1.25), (0.5, 1.25))


def _sweep(pool: Pool, resolved: Resolved, grouping: Grouping) -> list[dict[str, Any]]:
    """Every linkage at the grouping's weights, then average linkage at other weights,
    each over :data:`SWEEP_THRESHOLDS`."""
    tune, test = _gold(resolved, "tune"), _gold(resolved, "test")
    settings = [(linkage, grouping.theme_weight, grouping.text_weight) for linkage in LINKAGES]
    settings += [
        ("average", theme, text)
        for theme, text in SWEEP_WEIGHTS
        if (theme, text) != (grouping.theme_weight, grouping.text_weight)
    ]
    rows = []
    features: dict[tuple[float, float], np.ndarray] = {}
    for linkage, theme, text in settings:
        base = replace(grouping, linkage=linkage, theme_weight=theme, text_weight=text)
        if (theme, text) not in features:
            features[(theme, text)] = pool.features(base)
        for threshold in SWEEP_THRESHOLDS:
            setting = replace(base, threshold=float(threshold))
            predicted = predicted_groups(pool, setting, features[(theme, text)])
            rows.append(
                {
                    "linkage": linkage,
                    "theme_weight": theme,
                    "text_weight": text,
                    "threshold": float(threshold),
                    "tune": bcubed(tune, predicted).to_dict(),
                    "test": bcubed(test, predicted).to_dict(),
                }
            )
    return rows

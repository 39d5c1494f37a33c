"""Evaluate theme tagging against a labelled set of passages.

A labelled set is JSON::

    {"base": "../..",            # where "file" paths start, relative to this JSON file
     "passages": [{"file": "corpus/george-briefing.txt",
                   "snippet": "Any new information emerging requires",
                   "themes": ["new-information"]}, ...]}

Passages are named by file and a verbatim snippet, not by chunk id, so the set
survives changes to the chunker: each file is extracted and chunked as ingest
would, and the passage is the chunk whose text contains the snippet.
"""

from __future__ import annotations

import json
import re
import sqlite3
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Config, load_config
from ..embed.base import Embedder
from ..errors import ScrsearchError
from ..index import store
from ..ingestion.chunk import chunk_pages, embedding_text
from ..ingestion.extract import extract
from ..records import Chunk
from ..themes.tagging import Tagger, ThemeSet

#: Thresholds tried by :func:`sweep`.
SWEEP = tuple(round(x, 2) for x in np.arange(0.30, 0.71, 0.02))

#: The labelled set's splits: passages used to tune the thresholds, and held-out ones.
SPLITS = ("tune", "test")


@dataclass(frozen=True)
class LabelledPassage:
    file: str
    snippet: str
    themes: tuple[str, ...]
    split: str = "test"


@dataclass(frozen=True)
class Resolved:
    """A labelled passage and the chunk it names."""

    item: LabelledPassage
    chunk: Chunk
    vector: np.ndarray


@dataclass(frozen=True)
class ThemeScore:
    slug: str
    support: int
    predicted: int
    true_positives: int

    @property
    def precision(self) -> float | None:
        return self.true_positives / self.predicted if self.predicted else None

    @property
    def recall(self) -> float | None:
        return self.true_positives / self.support if self.support else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if not p or not r:
            return 0.0 if (p is not None or r is not None) else None
        return 2 * p * r / (p + r)

    def to_dict(self) -> dict[str, Any]:
        def rnd(x: float | None) -> float | None:
            return None if x is None else round(x, 3)

        return {
            "slug": self.slug,
            "support": self.support,
            "predicted": self.predicted,
            "true_positives": self.true_positives,
            "precision": rnd(self.precision),
            "recall": rnd(self.recall),
            "f1": rnd(self.f1),
        }


@dataclass(frozen=True)
class EvalReport:
    threshold: float | None
    passages: int
    unresolved: tuple[str, ...]
    themes: tuple[ThemeScore, ...]

    @property
    def micro(self) -> ThemeScore:
        return ThemeScore(
            "micro",
            sum(t.support for t in self.themes),
            sum(t.predicted for t in self.themes),
            sum(t.true_positives for t in self.themes),
        )

    @property
    def macro_f1(self) -> float:
        scored = [t.f1 for t in self.themes if t.support and t.f1 is not None]
        return float(np.mean(scored)) if scored else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "passages": self.passages,
            "unresolved": list(self.unresolved),
            "micro": self.micro.to_dict(),
            "macro_f1": round(self.macro_f1, 3),
            "themes": [t.to_dict() for t in self.themes],
        }


def load_labelled(path: str | Path, split: str | None = None) -> tuple[list[LabelledPassage], Path]:
    """The labelled passages (of one ``split``, or all) and the folder their paths start from."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ScrsearchError(f"{path}: labelled set not found (give --labels FILE)") from exc
    except ValueError as exc:
        raise ScrsearchError(f"{path}: not valid JSON ({exc})") from exc
    base = (path.parent / data.get("base", ".")).resolve()
    items = [
        LabelledPassage(p["file"], p["snippet"], tuple(p.get("themes", ())), p.get("split", "test"))
        for p in data["passages"]
        if split in (None, p.get("split", "test"))
    ]
    return items, base


#: Curly quotes and dashes, as straight ones.
_STRAIGHT = str.maketrans("\u2018\u2019\u201c\u201d\u2013\u2014", "''\"\"--")


def normalise(text: str) -> str:
    """Lower-case, NFKC, straight quotes and dashes, single spaces: for snippet matching."""
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(_STRAIGHT)
    return re.sub(r"\s+", " ", text).strip().lower()


def find_chunk(chunks: Sequence[Chunk], snippet: str) -> Chunk | None:
    """The chunk containing ``snippet``: in its text; else the first chunk under a
    heading that contains it (a heading line the chunker now attaches to the passage
    below); else the chunk containing most of it (it straddles a new boundary)."""
    want = normalise(snippet)
    texts = [normalise(c.text) for c in chunks]
    hits = [c for c, t in zip(chunks, texts, strict=True) if want in t]
    if hits:
        return hits[0]
    hits = [c for c in chunks if c.heading and want in normalise(c.heading)]
    if hits:
        return hits[0]
    half = max(12, len(want) // 2)
    for part in (want[:half], want[-half:]):
        hits = [c for c, t in zip(chunks, texts, strict=True) if part in t]
        if hits:
            return hits[0]
    return None


def resolve(
    items: Sequence[LabelledPassage],
    base: Path,
    embedder: Embedder,
    config: Config | None = None,
    *,
    conn: sqlite3.Connection | None = None,
) -> tuple[list[Resolved], list[str]]:
    """Find each labelled passage's chunk and vector, as ingest would make them.

    Files already in the index open on ``conn`` reuse its chunks and stored vectors;
    other files are extracted, chunked and embedded here.
    """
    config = config or load_config()
    chunked: dict[str, list[Chunk]] = {}
    stored: dict[int, np.ndarray] = {}
    merged: dict[tuple[str, int], tuple[LabelledPassage, Chunk]] = {}
    missing: list[str] = []
    for item in items:
        if item.file not in chunked:
            chunked[item.file] = _chunks_of(base / item.file, embedder, config, conn)
        chunk = find_chunk(chunked[item.file], item.snippet)
        if chunk is None:
            missing.append(f"{item.file}: {item.snippet!r}")
            continue
        key = (item.file, chunk.chunk_id)
        if key in merged:  # two labelled passages are one passage now: it has both's themes
            first = merged[key][0]
            themes = tuple(dict.fromkeys(first.themes + item.themes))
            merged[key] = (replace(first, themes=themes), chunk)
        else:
            merged[key] = (item, chunk)
    found = list(merged.values())
    if conn is not None:
        stored = store.get_vectors(conn, [c.chunk_id for _, c in found if c.chunk_id > 0])
    fresh = [c for _, c in found if c.chunk_id not in stored]
    texts = [embedding_text(c.text, c.heading) for c in fresh]
    vectors = (
        embedder.embed_documents(texts, config.batch_size)
        if texts
        else np.zeros((0, embedder.dimension), dtype=np.float32)
    )
    made = {id(c): v for c, v in zip(fresh, vectors, strict=True)}
    return [
        Resolved(i, c, stored[c.chunk_id] if c.chunk_id in stored else made[id(c)])
        for i, c in found
    ], missing


def _chunks_of(
    path: Path, embedder: Embedder, config: Config, conn: sqlite3.Connection | None
) -> list[Chunk]:
    if conn is not None:
        doc = store.find_by_source(conn, str(path.resolve()))
        if doc is not None:
            return store.document_chunks(conn, doc.doc_id)
    try:
        extracted = extract(path, max_bytes=config.max_file_mb * 1024 * 1024)
    except (ScrsearchError, OSError):
        return []
    chunks = chunk_pages(
        extracted.pages,
        embedder.count_tokens,
        max_tokens=embedder.max_tokens,
        target_tokens=config.chunk_tokens,
    )
    # Not stored: mark with negative ids so they never collide with index rows.
    return [replace(c, chunk_id=-(i + 1)) for i, c in enumerate(chunks)]


def evaluate(
    resolved: Sequence[Resolved],
    tagger: Tagger,
    *,
    threshold: float | None = None,
    unresolved: Sequence[str] = (),
) -> EvalReport:
    """Per-theme precision and recall of the tagger on the resolved passages.

    ``threshold`` replaces every theme's threshold (for tuning); by default each
    theme's own threshold applies.
    """
    return _report(resolved, tagger, _scores(resolved, tagger), threshold, unresolved)


def threshold_sweep(
    resolved: Sequence[Resolved], tagger: Tagger, thresholds: Sequence[float] = SWEEP
) -> list[EvalReport]:
    """One report per global threshold: to choose the default."""
    scores = _scores(resolved, tagger)
    return [_report(resolved, tagger, scores, t, ()) for t in thresholds]


def _report(
    resolved: Sequence[Resolved],
    tagger: Tagger,
    scores: np.ndarray,
    threshold: float | None,
    unresolved: Sequence[str],
) -> EvalReport:
    themes: ThemeSet = tagger.themes
    limits = np.asarray(
        [threshold if threshold is not None else themes.threshold_for(s) for s in themes.slugs]
    )
    predicted = scores >= limits
    truth = np.zeros((len(resolved), len(themes)), dtype=bool)
    for i, r in enumerate(resolved):
        for j, slug in enumerate(themes.slugs):
            truth[i, j] = slug in r.item.themes
    per_theme = tuple(
        ThemeScore(
            slug,
            int(truth[:, j].sum()),
            int(predicted[:, j].sum()),
            int((truth[:, j] & predicted[:, j]).sum()),
        )
        for j, slug in enumerate(themes.slugs)
    )
    return EvalReport(threshold, len(resolved), tuple(unresolved), per_theme)


def _scores(resolved: Sequence[Resolved], tagger: Tagger) -> np.ndarray:
    if not resolved:
        return np.zeros((0, len(tagger.themes)))
    vectors = np.vstack([r.vector for r in resolved])
    return tagger.scores(vectors, [r.chunk.text for r in resolved])


def unknown_themes(items: Sequence[LabelledPassage], themes: ThemeSet) -> list[str]:
    """Theme slugs used in the labels but missing from the theme list."""
    known = set(themes.slugs)
    return sorted({s for i in items for s in i.themes} - known)


def evaluate_file(
    labels: str | Path,
    *,
    config: Config | None = None,
    split: str | None = None,
    threshold: float | None = None,
    sweep: bool = False,
    use_index: bool = False,
    embedder: Embedder | None = None,
) -> tuple[EvalReport, list[EvalReport]]:
    """Evaluate the configured themes on a labelled file: the report and an optional sweep."""
    from ..embed.registry import load_embedder
    from ..index.generations import Index
    from ..themes.tagging import load_themes, tagger_for

    config = config or load_config()
    items, base = load_labelled(labels, split)
    conn = None
    model = config.model
    if use_index:
        index = Index.open(config.index_dir)
        conn, model = index.conn(), index.model
    embedder = embedder or load_embedder(model, config.backend)
    themes = load_themes(config=config)
    unknown = unknown_themes(items, themes)
    if unknown:
        raise ScrsearchError(
            f"{labels}: labels use themes missing from the theme list: {', '.join(unknown)}"
        )
    resolved, missing = resolve(items, base, embedder, config, conn=conn)
    tagger = tagger_for(embedder, themes)
    report = evaluate(resolved, tagger, threshold=threshold, unresolved=missing)
    return report, (threshold_sweep(resolved, tagger) if sweep else [])

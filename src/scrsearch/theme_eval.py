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
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .chunk import chunk_pages, embedding_text
from .config import Config, load_config
from .embed import Embedder
from .errors import ScrsearchError
from .extract import extract
from .themes import Tagger, ThemeSet
from .types import Chunk

#: Thresholds tried by :func:`sweep`.
SWEEP = tuple(round(x, 2) for x in np.arange(0.30, 0.71, 0.02))


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


def normalise(text: str) -> str:
    """Lower-case, NFKC, straight quotes and dashes, single spaces: for snippet matching."""
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(
        str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-"})
    )
    return re.sub(r"\s+", " ", text).strip().lower()


def find_chunk(chunks: Sequence[Chunk], snippet: str) -> Chunk | None:
    """The chunk containing ``snippet``; failing that, the one containing most of it."""
    want = normalise(snippet)
    texts = [normalise(c.text) for c in chunks]
    hits = [c for c, t in zip(chunks, texts, strict=True) if want in t]
    if hits:
        return hits[0]
    half = max(12, len(want) // 2)  # the snippet may straddle a new chunk boundary
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
) -> tuple[list[Resolved], list[str]]:
    """Extract, chunk and embed each labelled passage as ingest would."""
    config = config or load_config()
    chunked: dict[str, list[Chunk]] = {}
    found: list[tuple[LabelledPassage, Chunk]] = []
    missing: list[str] = []
    for item in items:
        if item.file not in chunked:
            path = base / item.file
            try:
                extracted = extract(path, max_bytes=config.max_file_mb * 1024 * 1024)
            except (ScrsearchError, OSError):
                chunked[item.file] = []
            else:
                chunked[item.file] = chunk_pages(
                    extracted.pages,
                    embedder.count_tokens,
                    max_tokens=embedder.max_tokens,
                    target_tokens=config.chunk_tokens,
                )
        chunk = find_chunk(chunked[item.file], item.snippet)
        if chunk is None:
            missing.append(f"{item.file}: {item.snippet!r}")
        else:
            found.append((item, chunk))
    texts = [embedding_text(c.text, c.heading) for _, c in found]
    vectors = embedder.embed_documents(texts, config.batch_size) if texts else np.zeros((0, 1))
    return [Resolved(i, c, v) for (i, c), v in zip(found, vectors, strict=True)], missing


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
    themes: ThemeSet = tagger.themes
    scores = _scores(resolved, tagger)
    limits = np.asarray(
        [threshold if threshold is not None else themes.threshold_for(s) for s in themes.slugs]
    )
    predicted = scores >= limits
    truth = np.asarray([[s in r.item.themes for s in themes.slugs] for r in resolved], dtype=bool)
    if not len(resolved):
        truth = np.zeros((0, len(themes)), dtype=bool)
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


def sweep(
    resolved: Sequence[Resolved], tagger: Tagger, thresholds: Sequence[float] = SWEEP
) -> list[EvalReport]:
    """One report per global threshold: to choose the default."""
    return [evaluate(resolved, tagger, threshold=t) for t in thresholds]


def _scores(resolved: Sequence[Resolved], tagger: Tagger) -> np.ndarray:
    if not resolved:
        return np.zeros((0, len(tagger.themes)))
    vectors = np.vstack([r.vector for r in resolved])
    return tagger.scores(vectors, [r.chunk.text for r in resolved])


def unknown_themes(items: Sequence[LabelledPassage], themes: ThemeSet) -> list[str]:
    """Theme slugs used in the labels but missing from the theme list."""
    known = set(themes.slugs)
    return sorted({s for i in items for s in i.themes} - known)

"""Themes: a built-in list (``data/themes.yaml``), user overrides, and passage tagging.

Each passage is tagged with the themes it is about, with a confidence::

    confidence = mean cosine(passage, theme description and each phrasing)
                 + keyword_weight if one of the theme's keyword cues occurs

and a theme is kept when the confidence reaches the theme's threshold. Tags are
written at ingest (see :func:`tag_passages`) into the ``chunk_themes`` table, with
the theme list they were made from in ``themes``; :func:`retag` re-tags a whole
index from its stored vectors after the theme list changes. Reading the tags
(counts, profiles, a theme's passages) is in :mod:`scrsearch.themes.profiles`.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
import re
import sqlite3
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Config, load_config
from ..embed.base import Embedder
from ..errors import NotFoundError, ScrsearchError
from ..index import store
from ..records import Chunk

#: ``progress(stage, done, total)``.
Progress = Callable[[str, int, int], None]

ENV = "SCRSEARCH_THEMES"
GROUPS = ("harm", "context", "practice", "other")
_THEME_FIELDS = ("label", "description", "phrasings", "keywords", "group", "threshold")


class ThemesFileError(ScrsearchError):
    """A theme file is missing or malformed."""


class NoThemeTagsError(ScrsearchError):
    def __init__(self, index_dir: str) -> None:
        super().__init__(
            f"The index at {index_dir} has no theme tags yet (it was built before themes "
            f"existed). Tag it with: scrsearch retag --index {index_dir}"
        )


# --- Theme definitions -------------------------------------------------------


@dataclass(frozen=True)
class Theme:
    """One theme: what it means, examples of how reviews say it, and keyword cues."""

    slug: str
    label: str
    description: str
    phrasings: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    group: str = "other"
    threshold: float | None = None

    @property
    def texts(self) -> list[str]:
        """What the passage vectors are compared with."""
        return [self.description, *self.phrasings]

    @cached_property
    def cue(self) -> re.Pattern[str] | None:
        if not self.keywords:
            return None
        return re.compile("|".join(f"(?:{k})" for k in self.keywords), re.IGNORECASE)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["phrasings"] = list(self.phrasings)
        data["keywords"] = list(self.keywords)
        return data


@dataclass(frozen=True)
class ThemeSet:
    """The themes in force, and how passages are scored against them."""

    themes: tuple[Theme, ...]
    threshold: float = 0.47
    keyword_weight: float = 0.3
    sources: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_slug", {t.slug: t for t in self.themes})

    def __len__(self) -> int:
        return len(self.themes)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.themes)

    @property
    def slugs(self) -> list[str]:
        return [t.slug for t in self.themes]

    def get(self, slug: str) -> Theme:
        theme = self._by_slug.get(slug)  # type: ignore[attr-defined]
        if theme is None:
            raise NotFoundError(f"Unknown theme '{slug}'. List the themes with: scrsearch themes")
        return theme

    def threshold_for(self, slug: str) -> float:
        theme = self.get(slug)
        return self.threshold if theme.threshold is None else theme.threshold

    @cached_property
    def digest(self) -> str:
        """A hash of everything that decides the tags."""
        data = {
            "threshold": self.threshold,
            "keyword_weight": self.keyword_weight,
            "themes": [t.to_dict() for t in self.themes],
        }
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def builtin_path() -> Path:
    return Path(str(resources.files("scrsearch") / "data" / "themes.yaml"))


def load_themes(
    path: str | Path | None = None, *, config: Config | None = None, builtin: bool = True
) -> ThemeSet:
    """The built-in themes, overridden by a user file.

    The user file is ``path``, else the ``themes`` setting (``$SCRSEARCH_THEMES``).
    A theme with a built-in slug replaces the given fields of the built-in one; a
    new slug adds a theme; ``disabled: true`` removes one. Top-level ``threshold``
    and ``keyword_weight`` override the built-in values.
    """
    if path in (None, ""):
        path = (config.themes if config is not None else None) or os.environ.get(ENV) or None
    settings: dict[str, Any] = {}
    themes: dict[str, dict[str, Any]] = {}
    sources = []
    files = ([builtin_path()] if builtin else []) + ([Path(path)] if path else [])
    for file in files:
        data = _read_yaml(file)
        sources.append(str(file))
        for key in ("threshold", "keyword_weight"):
            if key in data:
                settings[key] = _number(data[key], file, key)
        for i, raw in enumerate(data.get("themes") or []):
            if not isinstance(raw, dict) or not raw.get("slug"):
                raise ThemesFileError(f"{file}: theme #{i + 1} has no 'slug'")
            slug = str(raw["slug"])
            if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", slug):
                raise ThemesFileError(
                    f"{file}: theme slug '{slug}' must be lower-case letters, digits and hyphens"
                )
            if raw.get("disabled"):
                themes.pop(slug, None)
                continue
            themes[slug] = {**themes.get(slug, {}), **raw}
    built = tuple(_make_theme(raw, sources[-1] if sources else "themes") for raw in themes.values())
    return ThemeSet(built, sources=tuple(sources), **settings)


def _read_yaml(file: Path) -> dict[str, Any]:
    try:
        stat = file.stat()
    except FileNotFoundError as exc:
        raise ThemesFileError(f"{file}: theme file not found. Check --themes or ${ENV}.") from exc
    return copy.deepcopy(_parse_yaml(str(file), stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=16)
def _parse_yaml(path: str, mtime_ns: int, size: int) -> dict[str, Any]:
    """Parse a theme file once per version of it (ingest tags document by document)."""
    import yaml

    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - a safe loader (C or Python)
    except FileNotFoundError as exc:
        raise ThemesFileError(f"{file}: theme file not found. Check --themes or ${ENV}.") from exc
    except yaml.YAMLError as exc:
        raise ThemesFileError(f"{file}: not valid YAML ({exc})") from exc
    if data is None:
        return {}
    if isinstance(data, list):
        data = {"themes": data}
    if not isinstance(data, dict):
        raise ThemesFileError(f"{file}: expected a mapping with a 'themes' list")
    return data


def _number(value: Any, file: Path, key: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise ThemesFileError(f"{file}: '{key}' must be a number, not {value!r}") from exc


def _make_theme(raw: dict[str, Any], file: str) -> Theme:
    slug = str(raw["slug"])
    unknown = set(raw) - {"slug", "disabled", *_THEME_FIELDS}
    if unknown:
        raise ThemesFileError(f"{file}: theme '{slug}' has unknown fields: {sorted(unknown)}")
    if not raw.get("description"):
        raise ThemesFileError(f"{file}: theme '{slug}' needs a 'description'")
    keywords = tuple(str(k) for k in raw.get("keywords") or ())
    for pattern in keywords:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ThemesFileError(
                f"{file}: theme '{slug}' has a bad keyword pattern {pattern!r} ({exc})"
            ) from exc
    threshold = raw.get("threshold")
    return Theme(
        slug=slug,
        label=str(raw.get("label") or slug.replace("-", " ").capitalize()),
        description=" ".join(str(raw["description"]).split()),
        phrasings=tuple(str(p) for p in raw.get("phrasings") or ()),
        keywords=keywords,
        group=str(raw.get("group") or "other"),
        threshold=None if threshold is None else _number(threshold, Path(file), "threshold"),
    )


# --- Scoring -----------------------------------------------------------------


class Tagger:
    """Scores passages against a theme set with one embedder.

    The themes' texts are embedded once, when the tagger is made.
    """

    def __init__(
        self, themes: ThemeSet, embedder: Embedder, vectors: np.ndarray | None = None
    ) -> None:
        self.themes = themes
        self.embedder = embedder
        texts: list[str] = []
        owners: list[int] = []
        for i, theme in enumerate(themes.themes):
            texts.extend(theme.texts)
            owners.extend([i] * len(theme.texts))
        if vectors is None or vectors.shape != (len(texts), embedder.dimension):
            vectors = (
                embedder.embed_documents(texts)
                if texts
                else np.zeros((0, embedder.dimension), np.float32)
            )
        self._vectors = np.asarray(vectors, dtype=np.float32)
        self._owners = np.asarray(owners, dtype=np.int64)
        self._thresholds = np.asarray(
            [themes.threshold_for(t.slug) for t in themes.themes], dtype=np.float32
        )

    def semantic(self, vectors: np.ndarray) -> np.ndarray:
        """``(n_passages, n_themes)``: each passage's mean similarity to each theme's texts."""
        vectors = np.asarray(vectors, dtype=np.float32).reshape(-1, self.embedder.dimension)
        sims = vectors @ self._vectors.T
        out = np.full((len(vectors), len(self.themes)), -1.0, dtype=np.float32)
        for i in range(len(self.themes)):
            cols = self._owners == i
            if cols.any():
                out[:, i] = sims[:, cols].mean(axis=1)
        return out

    def cues(self, texts: Sequence[str]) -> np.ndarray:
        """``(n_passages, n_themes)`` booleans: which themes' keyword cues occur."""
        out = np.zeros((len(texts), len(self.themes)), dtype=bool)
        flat = [" ".join(t.split()) for t in texts]  # PDF lines break mid-phrase
        for j, theme in enumerate(self.themes.themes):
            if theme.cue is not None:
                for i, text in enumerate(flat):
                    out[i, j] = theme.cue.search(text) is not None
        return out

    def scores(self, vectors: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """Confidences: semantic similarity plus the keyword bonus, clipped to [0, 1]."""
        score = self.semantic(vectors) + self.themes.keyword_weight * self.cues(texts)
        return np.clip(score, 0.0, 1.0)

    def tag(self, vectors: np.ndarray, texts: Sequence[str]) -> list[list[tuple[str, float]]]:
        """Each passage's themes at or above threshold, strongest first."""
        scores = self.scores(vectors, texts)
        slugs = self.themes.slugs
        out = []
        for row in scores:
            kept = np.nonzero(row >= self._thresholds)[0]
            out.append(sorted(((slugs[j], float(row[j])) for j in kept), key=lambda x: -x[1]))
        return out


_TAGGERS: weakref.WeakKeyDictionary[Embedder, dict[str, Tagger]] = weakref.WeakKeyDictionary()


def tagger_for(
    embedder: Embedder, themes: ThemeSet, conn: sqlite3.Connection | None = None
) -> Tagger:
    """A cached tagger: the theme texts are embedded once per embedder and theme set.

    With a writable index connection, the theme vectors are also kept in the index,
    so a later ingest with the same themes and model does not embed them again.
    """
    cache = _TAGGERS.setdefault(embedder, {})
    if themes.digest not in cache:
        key = f"vectors:{themes.digest}:{embedder.name}:{embedder.dimension}"
        row = (
            conn.execute("SELECT value FROM theme_meta WHERE key = ?", (key,)).fetchone()
            if conn
            else None
        )
        stored = (
            np.frombuffer(row[0], dtype=np.float32) if row and isinstance(row[0], bytes) else None
        )
        if stored is not None and stored.size % embedder.dimension:
            stored = None
        tagger = Tagger(
            themes, embedder, None if stored is None else stored.reshape(-1, embedder.dimension)
        )
        if conn is not None and stored is None:
            try:
                conn.execute("DELETE FROM theme_meta WHERE key LIKE 'vectors:%'")
                conn.execute(
                    "INSERT INTO theme_meta (key, value) VALUES (?, ?)",
                    (key, tagger._vectors.tobytes()),
                )
            except sqlite3.OperationalError:  # a reader's connection: keep them in memory
                pass
        cache[themes.digest] = tagger
    return cache[themes.digest]


# --- Writing tags ------------------------------------------------------------


def tag_passages(
    conn: sqlite3.Connection,
    chunk_ids: Sequence[int],
    chunks: Sequence[Chunk],
    vectors: np.ndarray,
    embedder: Embedder,
    config: Config | None = None,
) -> None:
    """The ingest hook: tag newly written passages, inside the caller's transaction.

    If the index was tagged with another theme list (or never), every stored
    passage is re-tagged first, so the index stays consistent.
    """
    tagger = tagger_for(embedder, load_themes(config=config), conn)
    if stored_digest(conn) != tagger.themes.digest:
        _tag_all(conn, tagger)
    _write_tags(conn, chunk_ids, tagger.tag(vectors, [c.text for c in chunks]))


def retag(
    config: Config | None = None,
    *,
    themes: ThemeSet | None = None,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Re-tag every passage of an index from its stored vectors, as a new generation."""
    from ..embed.registry import load_embedder
    from ..errors import IndexNotFoundError
    from ..index.generations import read_manifest
    from ..index.transaction import write_transaction

    config = config or load_config()
    themes = themes or load_themes(config=config)
    manifest = read_manifest(config.index_dir)
    if manifest is None:
        raise IndexNotFoundError(str(config.index_dir))
    embedder = embedder or load_embedder(manifest.model, config.backend)
    with write_transaction(config.index_dir, config=config) as tx:
        tx.require_current()
        conn = tx.begin()
        with conn:
            tagged = _tag_all(conn, tagger_for(embedder, themes, conn), progress)
        tx.publish()
    return {"passages": tagged, "themes": len(themes), "digest": themes.digest}


def _tag_all(conn: sqlite3.Connection, tagger: Tagger, progress: Progress | None = None) -> int:
    conn.execute("DELETE FROM chunk_themes")
    total = conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    done = 0
    for ids, vectors in store.iter_vectors(conn, batch=2000):
        texts = _texts(conn, ids)
        _write_tags(conn, ids.tolist(), tagger.tag(vectors, [texts[int(i)] for i in ids]))
        done += len(ids)
        if progress is not None:
            progress("tag", done, total)
    conn.execute("DELETE FROM themes")
    conn.executemany(
        "INSERT INTO themes (slug, position, label, grp, description) VALUES (?, ?, ?, ?, ?)",
        [(t.slug, i, t.label, t.group, t.description) for i, t in enumerate(tagger.themes)],
    )
    conn.execute(
        "INSERT OR REPLACE INTO theme_meta (key, value) VALUES ('digest', ?)",
        (tagger.themes.digest,),
    )
    return done


def _texts(conn: sqlite3.Connection, ids: Iterable[int]) -> dict[int, str]:
    sql = "SELECT id, text FROM chunks WHERE id IN ({marks})"
    return dict(store.select_in(conn, sql, (int(i) for i in ids)))


def _write_tags(
    conn: sqlite3.Connection, chunk_ids: Sequence[int], tags: Sequence[list[tuple[str, float]]]
) -> None:
    conn.executemany(
        "INSERT OR REPLACE INTO chunk_themes (chunk_id, slug, confidence) VALUES (?, ?, ?)",
        [
            (int(cid), slug, round(conf, 4))
            for cid, row in zip(chunk_ids, tags, strict=True)
            for slug, conf in row
        ],
    )


# --- Reading tags ------------------------------------------------------------


def has_tags(conn: sqlite3.Connection) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'theme_meta'"
    ).fetchone()
    return row is not None and stored_digest(conn) is not None


def stored_digest(conn: sqlite3.Connection) -> str | None:
    row = conn.execute("SELECT value FROM theme_meta WHERE key = 'digest'").fetchone()
    return row[0] if row else None

"""Recurring learning: which lessons keep coming back across reviews, and since when.

Every lesson, finding and recommendation passage of the index (coroners' matters
of concern are findings) is grouped with the passages of other reviews that make
the same point (:mod:`scrsearch.themes.clustering`: agglomerative clustering of the
stored vectors, average linkage under a cosine-distance threshold chosen by
``scrsearch eval-recurring``; see the README). A group needs passages from at
least two reviews and is ranked by how many reviews it has. Each group is named by
its most characteristic words and phrases and its most central passage, and cites
every member passage. No model is loaded: the vectors come from the index.

Groups depend only on the generation's passages, so they are computed once per
generation and kept beside it, in ``<index>/recurring/g000007-<method>.json``
(member passage ids and terms only, written atomically; no pickle), and in this
process. A read-only index folder just means they are computed in memory.
Filters (years, type, partnership, nation, theme, section) apply to the members
afterwards, so a group keeps its id and label under any filter.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ScrsearchError
from ..index import store
from ..index.generations import Index, write_json_atomic
from ..records import Document, Hit
from . import clustering
from .compare import LESSON_SECTIONS
from .filters import ReviewFilters
from .profiles import chunk_themes, resolve_document, theme_labels

#: ``progress(stage, done, total)``.
Progress = Callable[[str, int, int], None]

#: Folder inside an index that holds the groups of each generation.
CACHE_DIR = "recurring"
#: Bumped when the cached structure or the way groups are made changes.
CACHE_VERSION = 1
#: A group needs passages from at least this many reviews.
MIN_REVIEWS = 2


@dataclass(frozen=True)
class Grouping:
    """How passages are grouped (chosen by measurement: see ``scrsearch eval-recurring``).

    Two passages' similarity is a weighted mean of three cosines: of their stored
    embeddings (weight 1), of their theme-tag confidences (``theme_weight``) and of
    their words (``text_weight``: TF-IDF reduced to ``text_dims`` dimensions).

    Attributes:
        linkage: ``average``, ``complete`` or ``single`` (agglomerative clustering).
        threshold: the distance (1 - similarity) at or above which two groups are
            not merged.
        theme_weight, text_weight, text_dims: see above; a weight of 0 leaves a part out.
        min_words: shorter passages (headings, addressees, page furniture) are left out.
        max_exact: larger pools are cut into k-means cells of at most this many
            passages, each clustered on its own (see :func:`clustering.cluster`).
    """

    linkage: str = "average"
    threshold: float = 0.725
    theme_weight: float = 0.15
    text_weight: float = 1.25
    text_dims: int = 100
    min_words: int = 8
    max_exact: int = clustering.MAX_EXACT

    def __post_init__(self) -> None:
        if self.linkage not in clustering.LINKAGES:
            raise ScrsearchError(
                f"Unknown linkage '{self.linkage}': use one of {', '.join(clustering.LINKAGES)}"
            )
        if not 0.0 < self.threshold < 2.0:
            raise ScrsearchError(f"The distance threshold {self.threshold} must be in (0, 2)")
        if self.theme_weight < 0 or self.text_weight < 0:
            raise ScrsearchError("The theme and text weights cannot be negative")

    @property
    def key(self) -> str:
        """A short name for the cache file: the method and a hash of its settings."""
        data = json.dumps({"v": CACHE_VERSION, **asdict(self)}, sort_keys=True)
        return f"{self.linkage}-{hashlib.sha256(data.encode()).hexdigest()[:10]}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


DEFAULT_GROUPING = Grouping()


# --- The pool of passages and the raw groups ---------------------------------


@dataclass(frozen=True)
class Pool:
    """The passages that are grouped: every lesson, finding and recommendation.

    ``themes`` holds each passage's tag confidences, one column per theme.
    """

    ids: np.ndarray
    doc_ids: np.ndarray
    vectors: np.ndarray
    texts: list[str]
    themes: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def features(self, grouping: Grouping) -> np.ndarray:
        """The unit vectors whose cosines are the grouping's similarities."""
        parts = [(self.vectors, 1.0), (self.themes, grouping.theme_weight)]
        if grouping.text_weight > 0 and len(self):
            parts.append(
                (clustering.text_vectors(self.texts, grouping.text_dims), grouping.text_weight)
            )
        return clustering.combine(parts)


#: The statutory wording of a coroner's report, which every report repeats: a short
#: passage that says only this is left out, since it is no learning.
_BOILERPLATE = re.compile(
    r"risk that future deaths (?:will|could|may) occur unless action is taken|"
    r"action should be taken to prevent future deaths and I believe",
    re.IGNORECASE,
)


def _boilerplate(text: str) -> bool:
    return len(text.split()) < 50 and _BOILERPLATE.search(" ".join(text.split())) is not None


def load_pool(conn: Any, min_words: int = DEFAULT_GROUPING.min_words) -> Pool:
    """The stored passages of the learning sections with at least ``min_words`` words,
    in id order, with their vectors and theme confidences."""
    marks = ",".join("?" * len(LESSON_SECTIONS))
    rows = conn.execute(
        f"SELECT id, doc_id, text, embedding FROM chunks WHERE section IN ({marks}) ORDER BY id",  # noqa: S608
        LESSON_SECTIONS,
    )
    ids, docs, texts, blobs = [], [], [], []
    for cid, doc_id, text, blob in rows:
        if len(text.split()) >= min_words and not _boilerplate(text):
            ids.append(cid)
            docs.append(doc_id)
            texts.append(text)
            blobs.append(np.frombuffer(blob, dtype=np.float32))
    slugs = {slug: i for i, slug in enumerate(theme_labels(conn))}
    rows_of = {cid: row for row, cid in enumerate(ids)}
    themes = np.zeros((len(ids), max(1, len(slugs))), np.float32)
    for cid, tags in chunk_themes(conn, ids).items():
        for slug, confidence in tags:
            if slug in slugs:
                themes[rows_of[cid], slugs[slug]] = confidence
    vectors = clustering.unit(np.vstack(blobs)) if blobs else np.zeros((0, 1), np.float32)
    return Pool(np.asarray(ids, np.int64), np.asarray(docs, np.int64), vectors, texts, themes)


@dataclass(frozen=True)
class RawGroup:
    """A group as cached: its member passages, terms and central passage (by id)."""

    chunk_ids: tuple[int, ...]
    terms: tuple[str, ...]
    central: int


def cluster_pool(
    pool: Pool,
    grouping: Grouping = DEFAULT_GROUPING,
    progress: Progress | None = None,
    features: np.ndarray | None = None,
) -> list[list[int]]:
    """The pool's groups as lists of rows: clusters with passages from at least two
    reviews, most reviews first (then most passages, then the earliest passage).
    ``features`` may be given when :meth:`Pool.features` was computed already."""
    labels = clustering.cluster(
        pool.features(grouping) if features is None else features,
        linkage=grouping.linkage,
        threshold=grouping.threshold,
        max_exact=grouping.max_exact,
        progress=progress,
    )
    rows_of: dict[int, list[int]] = {}
    for row, label in enumerate(labels.tolist()):
        rows_of.setdefault(label, []).append(row)
    reviews = {label: len({int(pool.doc_ids[r]) for r in rows}) for label, rows in rows_of.items()}
    kept = [label for label, rows in rows_of.items() if reviews[label] >= MIN_REVIEWS]
    kept.sort(key=lambda label: (-reviews[label], -len(rows_of[label]), rows_of[label][0]))
    return [rows_of[label] for label in kept]


def group_pool(
    pool: Pool, grouping: Grouping = DEFAULT_GROUPING, progress: Progress | None = None
) -> list[RawGroup]:
    """Group a pool and name each group: its terms and its most central passage."""
    kept = cluster_pool(pool, grouping, progress)
    terms = clustering.characteristic_terms(pool.texts, kept, pool.doc_ids.tolist())
    return [
        RawGroup(
            tuple(int(pool.ids[r]) for r in rows),
            words,
            int(pool.ids[rows[clustering.central(pool.vectors[rows])]]),
        )
        for rows, words in zip(kept, terms, strict=True)
    ]


# --- Caching per generation ----------------------------------------------------


@dataclass(frozen=True)
class GroupSet:
    """A generation's groups, unfiltered, and how many passages were grouped."""

    groups: tuple[Group, ...]
    pool_passages: int


_MEMORY: dict[tuple[str, int, str], GroupSet] = {}
_LOCK = threading.Lock()


def cache_path(index: Index, grouping: Grouping = DEFAULT_GROUPING) -> Path:
    return index.dir / CACHE_DIR / f"g{index.manifest.generation:06d}-{grouping.key}.json"


def all_groups(
    index: Index, grouping: Grouping = DEFAULT_GROUPING, progress: Progress | None = None
) -> GroupSet:
    """The generation's groups: from this process, else the cache file, else computed
    (and cached). Thread-safe: one computation per generation and grouping."""
    key = (str(index.dir.resolve()), index.manifest.generation, grouping.key)
    with _LOCK:
        if key in _MEMORY:
            return _MEMORY[key]
        path = cache_path(index, grouping)
        cached = _read_cache(path, index.manifest.generation, grouping)
        if cached is None:
            pool = load_pool(index.conn(), grouping.min_words)
            cached = (group_pool(pool, grouping, progress), len(pool))
            _write_cache(path, index.manifest.generation, grouping, *cached)
        raw, pool_passages = cached
        if len(_MEMORY) >= 4:
            _MEMORY.clear()
        _MEMORY[key] = GroupSet(tuple(hydrate(index.conn(), raw)), pool_passages)
        return _MEMORY[key]


def _read_cache(
    path: Path, generation: int, grouping: Grouping
) -> tuple[list[RawGroup], int] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data["version"] != CACHE_VERSION or data["generation"] != generation:
            return None
        if data["grouping"] != grouping.to_dict():
            return None
        groups = [
            RawGroup(tuple(int(i) for i in g["chunk_ids"]), tuple(g["terms"]), int(g["central"]))
            for g in data["groups"]
        ]
        return groups, int(data["pool_passages"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_cache(
    path: Path, generation: int, grouping: Grouping, groups: list[RawGroup], pool_passages: int
) -> None:
    """Write the groups atomically; remove other generations' files. A folder that
    cannot be written to is no error: the groups stay in memory."""
    data = {
        "version": CACHE_VERSION,
        "generation": generation,
        "grouping": grouping.to_dict(),
        "pool_passages": pool_passages,
        "groups": [asdict(g) for g in groups],
    }
    with contextlib.suppress(OSError):
        path.parent.mkdir(exist_ok=True)
        write_json_atomic(path, data)
        for old in path.parent.glob("g*.json"):
            match = re.fullmatch(r"g(\d{6})-.*\.json", old.name)
            if match and int(match.group(1)) != generation:
                old.unlink(missing_ok=True)


# --- Groups for reading ------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """A recurring point: the passages of several reviews that make it.

    ``passages`` are ordered by year (unknown last), review and position; each is a
    :class:`Hit` whose score is its similarity to the group's centre.
    """

    id: int
    terms: tuple[str, ...]
    central: Hit
    passages: tuple[Hit, ...]
    themes: tuple[str, ...]

    @property
    def documents(self) -> list[Document]:
        """Its reviews, once each, in the order of ``passages``."""
        seen: dict[int, Document] = {}
        for hit in self.passages:
            seen.setdefault(hit.document.doc_id, hit.document)
        return list(seen.values())

    @property
    def reviews(self) -> int:
        return len(self.documents)

    @property
    def years(self) -> list[int]:
        return sorted({y for d in self.documents if (y := d.metadata.year) is not None})

    @property
    def first_year(self) -> int | None:
        return self.years[0] if self.years else None

    @property
    def last_year(self) -> int | None:
        return self.years[-1] if self.years else None

    @property
    def partnerships(self) -> list[str]:
        return _distinct(d.metadata.partnership for d in self.documents)

    @property
    def review_types(self) -> list[str]:
        return _distinct(d.metadata.review_type for d in self.documents)

    @property
    def label(self) -> str:
        """Its characteristic terms and its most central passage, shortened."""
        quote = _shorten(self.central.chunk.text, 150)
        return f"{', '.join(self.terms)}: “{quote}”" if self.terms else f"“{quote}”"

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of ``scrsearch recurring --json`` (see README)."""
        return {
            "id": self.id,
            "label": self.label,
            "reviews": self.reviews,
            "first_year": self.first_year,
            "last_year": self.last_year,
            "themes": list(self.themes),
            "passages": [passage_dict(h) for h in self.passages],
            "partnerships": self.partnerships,
            "review_types": self.review_types,
            "terms": list(self.terms),
            "central_chunk_id": self.central.chunk.chunk_id,
        }


def passage_dict(hit: Hit) -> dict[str, Any]:
    """A member passage, cited: review, year, section and pages."""
    return {
        "chunk_id": hit.chunk.chunk_id,
        "doc_id": hit.document.doc_id,
        "title": hit.document.title,
        "source": hit.document.source,
        "year": hit.document.metadata.year,
        "section": hit.chunk.section,
        "page_start": hit.chunk.page_start,
        "page_end": hit.chunk.page_end,
        "text": hit.chunk.text,
    }


@dataclass(frozen=True)
class RecurringReport:
    """The groups that pass the filters, and what was grouped."""

    groups: tuple[Group, ...]
    grouping: Grouping
    filters: ReviewFilters
    section: str | None
    min_reviews: int
    pool_passages: int

    def to_dict(self) -> dict[str, Any]:
        return {"groups": [g.to_dict() for g in self.groups]}


def recurring_groups(
    index: Index | str | Path,
    *,
    filters: ReviewFilters | None = None,
    section: str | None = None,
    min_reviews: int = MIN_REVIEWS,
    grouping: Grouping = DEFAULT_GROUPING,
    progress: Progress | None = None,
) -> RecurringReport:
    """The recurring learning groups of an index, filtered, most reviews first.

    Args:
        index: an open index or its folder.
        filters: keep member passages of matching reviews, and (``theme``) only the
            groups that carry that theme.
        section: keep member passages of this section (lessons, findings, recommendations).
        min_reviews: keep groups with passages from at least this many reviews (at least 2).
        grouping: the method and thresholds.
        progress: called while groups are computed (only when they are not cached yet).
    """
    if not isinstance(index, Index):
        index = Index.open(index)
    filters = filters or ReviewFilters()
    if section is not None and section not in LESSON_SECTIONS:
        raise ScrsearchError(
            f"Unknown section '{section}' for recurring learning: use one of "
            f"{', '.join(LESSON_SECTIONS)}"
        )
    conn = index.conn()
    if filters.theme and filters.theme not in theme_labels(conn):
        raise ScrsearchError(
            f"Unknown theme '{filters.theme}'. List the themes with: scrsearch themes"
        )
    found = all_groups(index, grouping, progress)
    kept = []
    for group in found.groups:
        hits = tuple(
            h
            for h in group.passages
            if filters.matches(h.document) and (section is None or h.chunk.section == section)
        )
        if len({h.document.doc_id for h in hits}) < max(MIN_REVIEWS, min_reviews):
            continue
        narrowed = _with_passages(conn, group, hits) if len(hits) < len(group.passages) else group
        if filters.theme and filters.theme not in narrowed.themes:
            continue
        kept.append(narrowed)
    return RecurringReport(
        tuple(kept), grouping, filters, section, max(MIN_REVIEWS, min_reviews), found.pool_passages
    )


def hydrate(conn: Any, raw: Sequence[RawGroup]) -> list[Group]:
    """Groups with their passages, documents and themes loaded; ids are ranks from 1."""
    ids = sorted({cid for g in raw for cid in g.chunk_ids})
    loaded = store.get_chunks(conn, ids)
    vectors = store.get_vectors(conn, ids)
    tags = chunk_themes(conn, ids)
    groups = []
    for number, g in enumerate(raw, 1):
        members = [cid for cid in g.chunk_ids if cid in loaded]
        if not members or g.central not in loaded:
            continue  # the cache and the index disagree: never for one generation
        matrix = np.vstack([vectors[cid] for cid in members])
        centre = matrix.mean(axis=0)
        centre /= np.linalg.norm(centre) or 1.0
        score = dict(zip(members, (matrix @ centre).tolist(), strict=True))
        members.sort(key=lambda cid: _reading_order(loaded[cid]))
        hits = tuple(
            Hit(loaded[cid][0], loaded[cid][1], score[cid], rank, "recurring")
            for rank, cid in enumerate(members, 1)
        )
        central = next(h for h in hits if h.chunk.chunk_id == g.central)
        groups.append(Group(number, g.terms, central, hits, _themes(hits, tags)))
    return groups


def _with_passages(conn: Any, group: Group, hits: tuple[Hit, ...]) -> Group:
    tags = chunk_themes(conn, [h.chunk.chunk_id for h in hits])
    ranked = tuple(
        Hit(h.chunk, h.document, h.score, rank, h.method) for rank, h in enumerate(hits, 1)
    )
    return Group(group.id, group.terms, group.central, ranked, _themes(ranked, tags))


def _themes(hits: Sequence[Hit], tags: dict[int, list[tuple[str, float]]]) -> tuple[str, ...]:
    """The themes tagged in at least a third of the group's reviews (and two)."""
    reviews: dict[str, set[int]] = {}
    for hit in hits:
        for slug, _ in tags.get(hit.chunk.chunk_id, []):
            reviews.setdefault(slug, set()).add(hit.document.doc_id)
    need = clustering.ceil_third(len({h.document.doc_id for h in hits}))
    counted = Counter({slug: len(docs) for slug, docs in reviews.items() if len(docs) >= need})
    return tuple(slug for slug, _ in sorted(counted.items(), key=lambda x: (-x[1], x[0])))


def _reading_order(item: tuple[Any, Document]) -> tuple[Any, ...]:
    chunk, document = item
    year = document.metadata.year
    return (year is None, year or 0, document.title.lower(), document.doc_id, chunk.seq)


def _distinct(values: Any) -> list[str]:
    return sorted({v for v in values if v})


def _shorten(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1].rsplit(" ", 1)[0] + "…"


# --- Has this been said before? ---------------------------------------------------


@dataclass(frozen=True)
class Recurrence:
    """A lesson's recurring group, and the reviews of earlier years in it."""

    group: Group
    year: int | None
    earlier: tuple[Hit, ...]  #: one passage of each earlier review, earliest first

    def to_dict(self) -> dict[str, Any]:
        return {
            "group_id": self.group.id,
            "label": self.group.label,
            "reviews": self.group.reviews,
            "earlier_reviews": len(self.earlier),
            "earlier": [
                {
                    "doc_id": h.document.doc_id,
                    "title": h.document.title,
                    "year": h.document.metadata.year,
                    "chunk_id": h.chunk.chunk_id,
                    "section": h.chunk.section,
                    "page_start": h.chunk.page_start,
                    "page_end": h.chunk.page_end,
                }
                for h in self.earlier
            ],
        }


def said_before(
    index: Index | str | Path, doc: str | int, *, grouping: Grouping = DEFAULT_GROUPING
) -> dict[int, Recurrence]:
    """``{chunk_id: Recurrence}`` for each passage of review ``doc`` in a recurring group.

    A review is earlier when its year is before this review's year; with no year on
    this review, none is.
    """
    if not isinstance(index, Index):
        index = Index.open(index)
    document = resolve_document(index.conn(), doc)
    year = document.metadata.year
    out: dict[int, Recurrence] = {}
    for group in all_groups(index, grouping).groups:
        mine = [h for h in group.passages if h.document.doc_id == document.doc_id]
        if not mine:
            continue
        earlier: dict[int, Hit] = {}
        for hit in group.passages:
            other = hit.document.metadata.year
            if year is not None and other is not None and other < year:
                earlier.setdefault(hit.document.doc_id, hit)
        for hit in mine:
            out[hit.chunk.chunk_id] = Recurrence(group, year, tuple(earlier.values()))
    return out


def annotate_lessons(
    comparison: dict[str, Any], recurrences: dict[int, Recurrence]
) -> dict[str, Any]:
    """A comparison's JSON (:meth:`Comparison.to_dict`) with each lesson's ``recurring``:
    its group and the earlier reviews in it, or ``None`` (``scrsearch compare --json``)."""
    for lesson in comparison.get("lessons", []):
        found = recurrences.get(lesson["chunk_id"])
        lesson["recurring"] = found.to_dict() if found is not None else None
    return comparison


def comparison_json(index: Index, comparison: Any) -> dict[str, Any]:
    """The JSON of ``scrsearch compare --json`` and the API's ``/compare``: a comparison
    (:meth:`Comparison.to_dict`) with each lesson's recurring group and earlier reviews."""
    return annotate_lessons(comparison.to_dict(), said_before(index, comparison.document.doc_id))

"""Grouping passages that make the same point, and naming the groups. Pure functions.

:func:`cluster` is agglomerative clustering (scikit-learn) of unit vectors with a
cosine-distance threshold, so it needs no number of groups and a threshold means
the same at 13 documents and at 10,000. Up to :data:`MAX_EXACT` passages are
clustered exactly, on their full distance matrix; a larger pool is first cut by
k-means into cells of at most that many, each clustered exactly.

The vectors are built by :func:`combine` from a passage's stored embedding, its
theme-tag confidences and :func:`text_vectors` (its words: TF-IDF reduced by
truncated SVD), so that similarity counts meaning, themes and shared wording.

:func:`characteristic_terms` names a group by class-based TF-IDF: the words and
two-word phrases frequent in the group and rare in the other passages, used by at
least two of its reviews (so that a child's name or one report's wording does not
name a group).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

#: The linkages :func:`cluster` offers.
LINKAGES = ("average", "complete", "single")
#: Components up to this size are clustered exactly, on a dense distance matrix.
MAX_EXACT = 4000

#: ``progress(stage, done, total)``.
Progress = Callable[[str, int, int], None]

#: Words of at least three letters (apostrophes and hyphens inside).
TOKEN_PATTERN = r"(?u)\b[a-z][a-z'-]+[a-z]\b"  # noqa: S105 - a regex, not a password

#: Words that say nothing about a lesson's point in reviews and coroners' reports.
DOMAIN_STOP_WORDS = frozenset(
    """
    review reviews case cases child's deceased death died inquest coroner coroners evidence
    report reports heard mr mrs ms miss dr redacted name 's lscb lcsb cscp scp lsab sab
    practice practitioners professionals professional agencies agency services service
    learning lesson lessons finding findings recommendation recommendations concern concerns
    """.split()
)


def cluster(
    vectors: np.ndarray,
    *,
    linkage: str,
    threshold: float,
    max_exact: int = MAX_EXACT,
    progress: Progress | None = None,
) -> np.ndarray:
    """Cluster unit vectors; return one label per row (0, 1, ... in order of each
    cluster's first row). Deterministic for a given input order.

    Up to ``max_exact`` rows are clustered at once, on their full distance matrix.
    More rows are first split into cells of at most ``max_exact`` by k-means
    (scikit-learn's MiniBatchKMeans, fixed random state), and each cell is clustered
    on its own: a group whose passages fall in two cells is found as two groups.
    ``scrsearch eval-recurring --max-exact`` measures what that costs.

    Args:
        vectors: ``(n, d)`` unit vectors.
        linkage: ``average``, ``complete`` or ``single``.
        threshold: clusters whose linkage distance (1 - cosine) is this or more are
            not merged.
        max_exact: the most rows clustered at once (memory grows with its square).
    """
    if linkage not in LINKAGES:
        raise ValueError(f"linkage must be one of {', '.join(LINKAGES)}")
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(vectors)
    if n == 0:
        return np.zeros(0, np.int64)
    cells = [np.arange(n)] if n <= max_exact else partition(vectors, max_exact)
    labels = np.empty(n, np.int64)
    done = next_label = 0
    for rows in cells:
        found = _exact(vectors[rows], linkage, threshold)
        labels[rows] = found + next_label
        next_label += int(found.max()) + 1
        done += len(rows)
        if progress is not None:
            progress("group", done, n)
    return _canonical(labels)


def partition(vectors: np.ndarray, max_size: int) -> list[np.ndarray]:
    """Rows split by k-means into cells of at most ``max_size`` (about half that on
    average), in a deterministic order."""
    from sklearn.cluster import MiniBatchKMeans

    out: list[np.ndarray] = []
    pending = [np.arange(len(vectors))]
    while pending:
        rows = pending.pop()
        if len(rows) <= max_size:
            out.append(rows)
            continue
        k = max(2, math.ceil(2 * len(rows) / max_size))
        model = MiniBatchKMeans(
            n_clusters=k, random_state=0, n_init=3, batch_size=4096, max_iter=50
        )
        cell = model.fit_predict(vectors[rows])
        parts = [rows[cell == c] for c in range(k) if (cell == c).any()]
        if len(parts) == 1:  # k-means could not split them (all identical): cut by order
            parts = [rows[i : i + max_size] for i in range(0, len(rows), max_size)]
        pending.extend(parts)
    return sorted(out, key=lambda rows: int(rows.min()))


def _exact(vectors: np.ndarray, linkage: str, threshold: float) -> np.ndarray:
    """Agglomerative clustering of a few thousand rows on their distance matrix."""
    if len(vectors) == 1:
        return np.zeros(1, np.int64)
    from sklearn.cluster import AgglomerativeClustering

    distances = np.clip(1.0 - vectors.astype(np.float64) @ vectors.T.astype(np.float64), 0, 2)
    np.fill_diagonal(distances, 0.0)
    model = AgglomerativeClustering(
        n_clusters=None, metric="precomputed", linkage=linkage, distance_threshold=threshold
    )
    return np.asarray(model.fit(distances).labels_, np.int64)


def text_vectors(texts: Sequence[str], dims: int) -> np.ndarray:
    """Each text as a unit vector of its words: TF-IDF (unigrams, sublinear counts,
    stop words left out), reduced to ``dims`` dimensions by truncated SVD (latent
    semantic analysis). Deterministic (a fixed random state). All zeros when the
    texts share no word."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

    n = len(texts)
    vectorizer = TfidfVectorizer(
        preprocessor=_clean,
        token_pattern=TOKEN_PATTERN,
        stop_words=sorted(ENGLISH_STOP_WORDS | DOMAIN_STOP_WORDS),
        min_df=2,
        sublinear_tf=True,
        dtype=np.float32,
    )
    try:
        matrix = vectorizer.fit_transform(texts)
    except ValueError:  # no word occurs in two texts
        return np.zeros((n, 1), np.float32)
    k = min(dims, matrix.shape[1] - 1, n - 1)
    if k < 1:
        return np.zeros((n, 1), np.float32)
    reduced = TruncatedSVD(k, random_state=0).fit_transform(matrix).astype(np.float32)
    return unit(reduced)


def combine(parts: Sequence[tuple[np.ndarray, float]]) -> np.ndarray:
    """Unit vectors whose inner product is the weighted sum of the parts' cosines
    (divided by the sum of the weights): each part made unit length, scaled by the
    square root of its weight, side by side, and the whole made unit length."""
    scaled = [unit(np.asarray(m, np.float32)) * math.sqrt(w) for m, w in parts if w > 0]
    return unit(np.hstack(scaled))


def unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def _canonical(labels: np.ndarray) -> np.ndarray:
    """Relabel 0, 1, ... in order of first appearance."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(len(first), np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inverse.reshape(-1)]


def central(vectors: np.ndarray) -> int:
    """The row closest to the others on average (the most central member)."""
    centroid = vectors.mean(axis=0)
    return int(np.argmax(vectors @ centroid))


def _clean(text: str) -> str:
    """Text for term counting: whitespace folded, numbers and list markers dropped."""
    text = re.sub(r"\d+", " ", text.replace("\u2019", "'"))
    return re.sub(r"\s+", " ", text).lower()


def _analyzer(stop: frozenset[str]) -> Callable[[str], list[str]]:
    """Words not in ``stop``, and pairs of such words standing side by side in the text."""
    pattern = re.compile(TOKEN_PATTERN)

    def analyse(text: str) -> list[str]:
        terms: list[str] = []
        text = _INITIAL.sub(" ", _clean(text))  # "Child P's drawings": no "p's"
        for part in _PUNCTUATION.split(text):  # no phrase across a full stop or comma
            words = pattern.findall(part)
            terms += [w for w in words if w not in stop]
            terms += [
                f"{a} {b}"
                for a, b in zip(words, words[1:], strict=False)
                if a != b and a not in stop and b not in stop
            ]
        return terms

    return analyse


#: Words too common in reviews to name a group (they still count for grouping).
LABEL_STOP_WORDS = frozenset({"child", "children", "young", "people", "person", "need", "needs"})
_INITIAL = re.compile(r"\b[a-z]'s\b")
_PUNCTUATION = re.compile(r"[.,;:!?()\[\]\"\u201c\u201d\u2022/]+|\s[-\u2013\u2014]\s")

#: Phrases are preferred to single words by this factor when naming a group.
PHRASE_BOOST = 1.5


def characteristic_terms(
    texts: Sequence[str],
    groups: Sequence[Sequence[int]],
    reviews_of: Sequence[int],
    *,
    n_terms: int = 4,
) -> list[tuple[str, ...]]:
    """The most characteristic words and two-word phrases of each group (class-based TF-IDF).

    Args:
        texts: every passage considered (grouped or not): the background the
            terms must stand out from.
        groups: each group's rows in ``texts``.
        reviews_of: the review (document id) of each row of ``texts``.
        n_terms: terms per group.

    A term's weight in a group is its share of the group's terms times
    ``log((1 + n) / (1 + df))``, with ``n`` the passages and ``df`` those that hold
    the term; phrases count :data:`PHRASE_BOOST` times. A term must occur in
    passages of at least two of the group's reviews, and a word already inside a
    chosen phrase is not chosen again.
    """
    if not groups:
        return []
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    vectorizer = CountVectorizer(
        analyzer=_analyzer(frozenset(ENGLISH_STOP_WORDS | DOMAIN_STOP_WORDS | LABEL_STOP_WORDS)),
        min_df=2,
        dtype=np.int32,
    )
    try:
        counts = vectorizer.fit_transform(texts).tocsr()
    except ValueError:  # no term occurs twice
        return [() for _ in groups]
    vocabulary = vectorizer.get_feature_names_out()
    df = np.bincount(counts.indices, minlength=counts.shape[1]).astype(np.float64)
    idf = np.log((1.0 + len(texts)) / (1.0 + df))
    idf *= np.where(np.char.find(vocabulary.astype(str), " ") >= 0, PHRASE_BOOST, 1.0)
    reviews = np.asarray(reviews_of)
    out = []
    for rows in groups:
        sub = counts[list(rows)]
        tf = np.asarray(sub.sum(axis=0)).ravel().astype(np.float64)
        tf /= max(tf.sum(), 1.0)
        spread = _reviews_per_term(sub, reviews[list(rows)])
        weight = np.where(spread >= 2, tf * idf, 0.0)
        out.append(_pick(vocabulary, weight, n_terms))
    return out


def _reviews_per_term(sub: Any, reviews: np.ndarray) -> np.ndarray:
    """For each term, in how many distinct reviews of the group it occurs (``sub``: a
    scipy sparse matrix, rows the group's passages, columns the terms)."""
    coo = sub.tocoo()
    pairs = np.unique(np.stack([coo.col, reviews[coo.row]], axis=1), axis=0)
    terms = sub.shape[1]
    return np.bincount(pairs[:, 0], minlength=terms) if len(pairs) else np.zeros(terms)


def _pick(vocabulary: np.ndarray, weight: np.ndarray, n_terms: int) -> tuple[str, ...]:
    chosen: list[str] = []
    for j in np.argsort(-weight, kind="stable"):
        if weight[j] <= 0 or len(chosen) == n_terms:
            break
        term = str(vocabulary[j])
        words = set(term.split())
        if any(words <= set(c.split()) or set(c.split()) <= words for c in chosen):
            continue
        chosen.append(term)
    return tuple(chosen)


def ceil_third(n: int) -> int:
    """At least two, and a third of ``n``: how many reviews a group's theme needs."""
    return max(2, math.ceil(n / 3))

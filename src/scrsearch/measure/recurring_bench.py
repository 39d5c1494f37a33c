"""Time recurring-learning grouping on synthetic pools (part of ``scrsearch bench``).

A pool of N synthetic lessons is made from a real index's lessons, findings and
recommendations: each synthetic passage copies a random real one, its vector with
Gaussian noise (cosine to the original about 0.9, renormalised), its text with a
fifth of its words dropped at random, and its theme confidences; reviews hold 20
passages each. The grouping then runs as it does on a real index (combined
vectors, k-means cells above ``max_exact``, exact average linkage in each cell,
naming), and each stage is timed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..themes import clustering
from ..themes.recurring import DEFAULT_GROUPING, Grouping, Pool, cluster_pool

#: Norm of the noise added to a copied unit vector (cosine to it about 0.9).
NOISE = 0.45
#: Share of a copied text's words kept.
KEEP_WORDS = 0.8
#: Passages per synthetic review.
PER_REVIEW = 20


def synthetic_pool(base: Pool, size: int, seed: int = 0) -> Pool:
    """``size`` passages copied from ``base`` with noise (see the module docstring)."""
    if not len(base):
        raise ValueError("the base index has no lessons, findings or recommendations to copy")
    rng = np.random.default_rng(seed)
    which = rng.integers(len(base), size=size)
    dim = base.vectors.shape[1]
    noise = rng.standard_normal((size, dim), dtype=np.float32) * (NOISE / math.sqrt(dim))
    vectors = clustering.unit(base.vectors[which] + noise)
    texts = []
    for i in which.tolist():
        words = base.texts[i].split()
        kept = [
            w for w, keep in zip(words, rng.random(len(words)) < KEEP_WORDS, strict=True) if keep
        ]
        texts.append(" ".join(kept or words))
    return Pool(
        np.arange(1, size + 1, dtype=np.int64),
        np.arange(size, dtype=np.int64) // PER_REVIEW,
        vectors,
        texts,
        base.themes[which],
    )


def time_grouping(
    base: Pool,
    sizes: Sequence[int],
    grouping: Grouping = DEFAULT_GROUPING,
    log: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """For each size: seconds to build the vectors, to cluster, and to name the groups."""
    rows = []
    for size in sizes:
        if log is not None:
            log(f"Recurring grouping: {size:,} synthetic passages")
        pool = synthetic_pool(base, size)
        t0 = time.perf_counter()
        features = pool.features(grouping)
        t1 = time.perf_counter()
        groups = cluster_pool(pool, grouping, features=features)
        t2 = time.perf_counter()
        clustering.characteristic_terms(pool.texts, groups, pool.doc_ids.tolist())
        t3 = time.perf_counter()
        rows.append(
            {
                "passages": size,
                "groups": len(groups),
                "grouped_passages": sum(len(g) for g in groups),
                "features_s": round(t1 - t0, 2),
                "cluster_s": round(t2 - t1, 2),
                "label_s": round(t3 - t2, 2),
                "total_s": round(t3 - t0, 2),
            }
        )
    return rows

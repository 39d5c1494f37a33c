"""Semantic, keyword and hybrid search over an index -> ranked :class:`Hit` lists.

Keyword search is SQLite FTS5 (BM25, Porter stemming) with user input always
escaped. Semantic search is FAISS inner product over normalised vectors. Hybrid
fuses the two: by default each side's scores are divided by that side's best
score and the two are averaged (weighted), see :func:`ranking.fuse_scores`; reciprocal-rank
fusion (:func:`ranking.fuse_rrf`) is the alternative.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Config, load_config
from ..embed.base import Embedder, canonical_model_name
from ..embed.registry import load_embedder
from ..errors import ModelMismatchError, NotFoundError, ScrsearchError
from ..index import store
from ..index.generations import Index
from ..records import SECTIONS, Hit
from . import bm25
from .query_text import fts_parts
from .ranking import fuse_rrf, fuse_scores, rank_documents

#: The ranking modes, each with what it does (for the CLI's and the app's help), the
#: default first.
MODE_HELP = {
    "hybrid": "combines meaning and words (best in most cases)",
    "semantic": "finds passages that mean the same thing in other words",
    "keyword": "finds the exact words",
}
MODES = tuple(MODE_HELP)
DEFAULT_MODE = MODES[0]
FUSIONS = ("score", "rrf")


@dataclass(frozen=True)
class Filters:
    """Restrict a search. Text filters match case-insensitively; ``partnership`` by substring."""

    year_from: int | None = None
    year_to: int | None = None
    partnership: str | None = None
    review_type: str | None = None
    section: str | None = None
    doc: str | int | None = None

    def active(self) -> bool:
        return any(getattr(self, f.name) not in (None, "") for f in fields(self))

    def sql(self) -> tuple[str, list[Any]]:
        """A WHERE clause over ``c`` (chunks) and ``d`` (documents), and its arguments."""
        where: list[str] = []
        args: list[Any] = []
        if self.year_from is not None:
            where.append("d.year >= ?")
            args.append(self.year_from)
        if self.year_to is not None:
            where.append("d.year <= ?")
            args.append(self.year_to)
        if self.partnership:
            where.append("lower(d.partnership) LIKE ?")
            args.append(f"%{self.partnership.lower()}%")
        if self.review_type:
            where.append("d.review_type = ?")
            args.append(self.review_type.lower())
        if self.section:
            if self.section not in SECTIONS:
                raise ScrsearchError(
                    f"Unknown section '{self.section}': use one of {', '.join(SECTIONS)}"
                )
            where.append("c.section = ?")
            args.append(self.section)
        if self.doc not in (None, ""):
            clause, doc_args = store._doc_ref_query(str(self.doc))
            where.append(f"({clause})")
            args.extend(doc_args)
        return (" AND ".join(where) or "1"), args


#: Passages ranked before they are grouped into reviews (at least 10 per review asked
#: for). ``scrsearch eval`` ranks this deep too, so it measures what users get:
#: nDCG@10 0.821 on the real collection, against 0.813 at 200 passages.
REVIEW_DEPTH = 300

#: Keyword search on a large index also scores this many of the semantic side's best
#: passages (see :meth:`Searcher._keyword_pool`).
KEYWORD_POOL = 300


class Searcher:
    """Searches one index. The embedding model is loaded only when needed."""

    def __init__(
        self,
        index: Index,
        *,
        config: Config | None = None,
        embedder: Embedder | None = None,
        keyword_pool: bool = True,
    ) -> None:
        """Search ``index``; the model is loaded on first need unless ``embedder`` is given.

        Args:
            keyword_pool: keyword search that leaves out terms too common for the
                keyword budget (large indexes only) also scores the semantic side's
                best passages, loading the model if needed (see :meth:`keyword`).
                False keeps keyword search from ever loading the model.
        """
        self.index = index
        self.config = config or load_config()
        self._embedder = embedder
        self.keyword_pool = keyword_pool
        if embedder is not None:
            self._check_model(embedder)

    @classmethod
    def open(
        cls,
        index_dir: str | Path | None = None,
        *,
        config: Config | None = None,
        embedder: Embedder | None = None,
    ) -> Searcher:
        config = config or load_config()
        index = Index.open(Path(index_dir) if index_dir else config.index_dir)
        if embedder is None and canonical_model_name(config.model_for(index.model)) != index.model:
            raise ModelMismatchError(
                str(index.dir),
                index.model,
                index.manifest.dimension,
                canonical_model_name(config.model),
                None,
            )
        return cls(index, config=config, embedder=embedder)

    def _check_model(self, embedder: Embedder) -> None:
        manifest = self.index.manifest
        if (
            canonical_model_name(embedder.name) != manifest.model
            or embedder.dimension != manifest.dimension
        ):
            raise ModelMismatchError(
                str(self.index.dir),
                manifest.model,
                manifest.dimension,
                embedder.name,
                embedder.dimension,
            )

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = load_embedder(self.index.model, self.config.backend)
            self._check_model(self._embedder)
        return self._embedder

    # --- public -------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        k: int = 10,
        mode: str = DEFAULT_MODE,
        filters: Filters | None = None,
        group_by_review: bool = False,
    ) -> list[Hit]:
        """Rank passages for ``query``; with ``group_by_review``, the best passage per review."""
        if mode not in MODES:
            raise ScrsearchError(f"Unknown mode '{mode}': use one of {', '.join(MODES)}")
        if not query.strip():
            return []
        filters = filters or Filters()
        depth = max(k * 10, REVIEW_DEPTH) if group_by_review else max(k * 4, 100)
        ranked = self.rank(query, mode=mode, filters=filters, depth=depth)
        return self._hits(ranked, mode, k, group_by_review)

    def rank(
        self,
        query: str,
        *,
        mode: str = DEFAULT_MODE,
        filters: Filters | None = None,
        depth: int = 100,
    ) -> list[tuple[int, float]]:
        """``(chunk_id, score)`` pairs, best first, without loading the passages."""
        filters = filters or Filters()
        if mode == "keyword":
            return self.keyword(
                query, filters, depth, candidates=self._keyword_pool(query, filters)
            )
        if mode == "semantic":
            return self.semantic(self.embedder.embed_query(query), filters, depth)
        semantic = self.semantic(self.embedder.embed_query(query), filters, depth)
        keyword = self.keyword(
            query, filters, depth, exhaustive=False, candidates=[cid for cid, _ in semantic]
        )
        return self.fuse(keyword, semantic)

    def fuse(
        self, keyword: Sequence[tuple[int, float]], semantic: Sequence[tuple[int, float]]
    ) -> list[tuple[int, float]]:
        """Fuse a keyword and a semantic ranking the way the configuration says."""
        weights = [self.config.keyword_weight, 1.0]
        if self.config.fusion == "score":
            return fuse_scores([keyword, semantic], weights=weights)
        if self.config.fusion == "rrf":
            return fuse_rrf([keyword, semantic], weights=weights, k=self.config.rrf_k)
        raise ScrsearchError(
            f"Unknown fusion '{self.config.fusion}': set SCRSEARCH_FUSION to one of "
            f"{', '.join(FUSIONS)}"
        )

    def similar(
        self,
        chunk_id: int | None = None,
        *,
        text: str | None = None,
        k: int = 10,
        filters: Filters | None = None,
        exclude_same_review: bool = False,
    ) -> list[Hit]:
        """Passages most like a stored passage (by id) or like a given text."""
        if chunk_id is not None:
            vector = store.get_vectors(self.index.conn(), [chunk_id]).get(chunk_id)
            if vector is None:
                raise NotFoundError(f"No passage with id {chunk_id} in {self.index.dir}")
        elif text:
            vector = self.embedder.embed_query(text)
        else:
            raise ScrsearchError("Give a passage id or --text to find similar passages")
        ranked = self.semantic(vector, filters or Filters(), max(k * 10, 100))
        ranked = [(cid, s) for cid, s in ranked if cid != chunk_id]
        hits = self._hits(ranked, "semantic", len(ranked), False)
        if exclude_same_review and chunk_id is not None:
            source = store.get_chunks(self.index.conn(), [chunk_id])[chunk_id][0].doc_id
            hits = [h for h in hits if h.chunk.doc_id != source]
        return [Hit(h.chunk, h.document, h.score, i, h.method) for i, h in enumerate(hits[:k], 1)]

    # --- the two retrievers ---------------------------------------------------

    def keyword(
        self,
        query: str,
        filters: Filters,
        depth: int,
        *,
        exhaustive: bool = True,
        budget: float | None = None,
        candidates: Sequence[int] | Callable[[], Sequence[int]] = (),
    ) -> list[tuple[int, float]]:
        """BM25 over FTS5: ``(chunk_id, score)`` pairs, best first.

        When the query's terms are common enough to be slow, FTS5 matches only the
        rarer ones (see :meth:`_keyword_parts`; ``budget`` overrides the
        ``keyword_budget`` setting, ``math.inf`` gives FTS5's exact ranking). The
        passages it finds, and ``candidates`` (hybrid search passes its semantic
        side's; keyword search the semantic side's best, see :meth:`_keyword_pool`),
        are then scored with exact BM25 over every term (:func:`bm25.rescore`), and
        those holding none of the terms are dropped. When every term is that common,
        ``exhaustive`` matches them all anyway (slow); otherwise only ``candidates``
        are scored. Filters must already hold for ``candidates``; a callable is
        called only when terms were left out.
        """
        every = fts_parts(query)
        budget = self.config.keyword_budget if budget is None else budget
        parts = self._matched_parts(every, budget, exhaustive)
        found = self._fts_match(parts, filters, depth) if parts else []
        if len(parts) == len(every):
            return found
        conn = self.index.conn()
        pool = candidates() if callable(candidates) else candidates
        ids = [cid for cid, _ in found] + list(pool)
        return bm25.rescore(conn, every, ids, self._bm25_stats)[:depth]

    def keyword_leaves_out_terms(self, query: str) -> bool:
        """Whether the keyword budget leaves out some, not all, of ``query``'s terms.

        Keyword search then also scores the semantic side's best passages, which needs
        the model (unless the searcher was made without ``keyword_pool``). Only on
        indexes large enough for the budget to matter.
        """
        every = fts_parts(query)
        return len(self._matched_parts(every, self.config.keyword_budget, True)) < len(every)

    def _matched_parts(self, every: list[str], budget: float, exhaustive: bool) -> list[str]:
        """The terms FTS5 matches: those within ``budget``, or, when none is and
        ``exhaustive``, all of them."""
        parts = self._keyword_parts(every, budget)
        return every if not parts and exhaustive else parts

    def _keyword_pool(self, query: str, filters: Filters) -> Callable[[], list[int]]:
        """The semantic side's best passages, as extra candidates for keyword search.

        A term left out by the keyword budget can make a passage relevant that holds
        none of the rarer terms; FTS5 would then never find it. The semantic side's
        :data:`KEYWORD_POOL` best passages are scored too (with BM25 alone, so
        keyword search still ranks by the words). On the real judged collection, with
        the budget scaled to an index of a million passages, this keeps keyword
        nDCG@10 at 0.773 against 0.715 without it (0.766 exact; ``docs/EVAL_BENCH.md``).
        """
        if not self.keyword_pool:
            return lambda: []
        return lambda: [
            cid for cid, _ in self.semantic(self.embedder.embed_query(query), filters, KEYWORD_POOL)
        ]

    @functools.cached_property
    def _bm25_stats(self) -> bm25.CorpusStats:
        return bm25.corpus_stats(self.index.conn())

    def _fts_match(
        self, parts: Sequence[str], filters: Filters, depth: int
    ) -> list[tuple[int, float]]:
        """FTS5's own BM25 ranking of the passages matching any of ``parts``."""
        match = " OR ".join(parts)
        weights = ", ".join(str(w) for w in bm25.COLUMN_WEIGHTS)
        if filters.active():
            where, args = filters.sql()
            sql = (
                f"SELECT f.rowid, bm25(chunks_fts, {weights}) AS s FROM chunks_fts f "  # noqa: S608 - constant weights; Filters.sql() binds values as ?
                "JOIN chunks c ON c.id = f.rowid JOIN documents d ON d.id = c.doc_id "
                f"WHERE chunks_fts MATCH ? AND {where} ORDER BY s LIMIT ?"
            )
        else:  # no joins: FTS5 ranks on its own, much faster on large indexes
            where, args = "1", []
            sql = (
                f"SELECT rowid, bm25(chunks_fts, {weights}) AS s FROM chunks_fts "  # noqa: S608
                "WHERE chunks_fts MATCH ? ORDER BY s LIMIT ?"
            )
        rows = self.index.conn().execute(sql, [match, *args, depth]).fetchall()
        return [(int(r[0]), -float(r[1])) for r in rows]

    def _keyword_parts(self, parts: list[str], budget: float) -> list[str]:
        """The terms to match: the rarest ones, within a budget of matched passages.

        FTS5 scores every passage that holds any matched term (about 1.6 microseconds
        each on this machine), so a query's cost grows with its terms' passage counts.
        Terms are taken rarest first while their counts add up to at most ``budget``;
        the terms left out are the common ones, which BM25 weighs least. Empty when
        even the rarest term is over budget. ``docs/EVAL_BENCH.md`` has the latency of
        each budget and its ranking cost.
        """
        if int(self.index.manifest.counts.get("passages", 0)) * len(parts) <= budget:
            return parts  # even if every term were in every passage, it would fit
        counts = bm25.term_counts(self.index.conn(), [p.strip('"') for p in parts])
        if counts is None:  # an index from before term counts were kept: no budget
            return parts
        kept: set[str] = set()
        for count, part in sorted(zip(counts, parts, strict=True)):
            if count > budget:
                break
            kept.add(part)
            budget -= count
        return [p for p in parts if p in kept]

    def semantic(self, vector: np.ndarray, filters: Filters, depth: int) -> list[tuple[int, float]]:
        import faiss

        query = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        params = None
        index = self.index.faiss
        if filters.active():
            where, args = filters.sql()
            ids = [
                r[0]
                for r in self.index.conn().execute(
                    f"SELECT c.id FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE {where}",  # noqa: S608
                    args,
                )
            ]
            if not ids:
                return []
            selector = faiss.IDSelectorBatch(np.asarray(ids, dtype=np.int64))
            # faiss's SWIG classes take keyword arguments its type stubs do not declare.
            params = (
                faiss.SearchParametersIVF(sel=selector, nprobe=self._nprobe())  # type: ignore[call-arg]
                if hasattr(index, "nprobe")
                else faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
            )
        elif hasattr(index, "nprobe"):
            index.nprobe = self._nprobe()
        depth = min(depth, max(index.ntotal, 1))
        scores, ids = (
            index.search(query, depth, params=params) if params else index.search(query, depth)
        )
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def _nprobe(self) -> int:
        return self.config.nprobe

    # --- assembling hits ----------------------------------------------------

    def _hits(
        self, ranked: Sequence[tuple[int, float]], method: str, k: int, group_by_review: bool
    ) -> list[Hit]:
        if group_by_review:
            return self._review_hits(ranked, method, k)
        wanted = [cid for cid, _ in ranked]
        loaded = store.get_chunks(self.index.conn(), wanted[:k])
        hits: list[Hit] = []
        for cid, score in ranked:
            if cid not in loaded:
                continue
            chunk, document = loaded[cid]
            hits.append(Hit(chunk, document, score, len(hits) + 1, method))
            if len(hits) == k:
                break
        return hits

    def _review_hits(self, ranked: Sequence[tuple[int, float]], method: str, k: int) -> list[Hit]:
        """One hit per review: its best passage, ranked by the review's aggregated score."""
        docs = rank_documents(self.index.conn(), ranked)[:k]
        loaded = store.get_chunks(self.index.conn(), [cid for _, _, cid in docs])
        return [
            Hit(loaded[cid][0], loaded[cid][1], score, rank, method)
            for rank, (_, score, cid) in enumerate(docs, start=1)
        ]

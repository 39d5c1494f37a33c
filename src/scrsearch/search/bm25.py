"""Keyword-index statistics, and exact BM25 for a chosen set of passages.

FTS5 can only score the passages a MATCH finds, and on a large index a query of
common words matches so many that keyword search leaves those words out (see
the ``keyword_budget`` setting, which :func:`term_counts` serves). :func:`rescore` gives
the passages that were found, and any others worth ranking (hybrid search adds its
semantic side's), their exact score over every query term: the index's own row
count, average length and per-term passage counts, and term frequencies from
SQLite's own tokenizer, in the formula of FTS5's ``fts5Bm25Function`` (k1 = 1.2,
b = 0.75, per-column weights). Tokenizing happens in a private in-memory database
per thread, so the index's read-only connections are never written to.
"""

from __future__ import annotations

import math
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..index import store

K1 = 1.2
B = 0.75
#: FTS5 column weights of ``chunks_fts``: text, heading, title.
COLUMN_WEIGHTS = (1.0, 0.5, 0.5)


@dataclass(frozen=True)
class CorpusStats:
    """What BM25 needs of the whole keyword index (one index generation: it never changes).

    ``phrases`` keeps each multi-token phrase's passage count once counted: an FTS5
    phrase count walks the doclists of all its tokens (about 30 ms for "child and
    adolescent mental health services" at 1M passages), and abbreviation expansions
    recur in query after query.
    """

    rows: int
    avg_tokens: float
    phrases: dict[tuple[str, ...], int] = field(default_factory=dict, compare=False)


def corpus_stats(conn: sqlite3.Connection) -> CorpusStats:
    """Row count and mean tokens per row (all columns), from FTS5's own totals record."""
    row = conn.execute("SELECT block FROM chunks_fts_data WHERE id = 1").fetchone()
    values = varints(bytes(row[0])) if row else []
    rows = values[0] if values else 0
    return CorpusStats(rows, sum(values[1:]) / rows if rows else 0.0)


def varints(blob: bytes) -> list[int]:
    """Decode SQLite's variable-length integers (as FTS5 stores sizes and totals)."""
    out: list[int] = []
    i = 0
    while i < len(blob):
        value = 0
        for n in range(9):
            byte = blob[i]
            i += 1
            if n == 8:
                value = (value << 8) | byte
                break
            value = (value << 7) | (byte & 0x7F)
            if byte < 0x80:
                break
        out.append(value)
    return out


def phrase_counts(
    conn: sqlite3.Connection,
    phrases: Sequence[Sequence[str]],
    known: dict[tuple[str, ...], int] | None = None,
) -> list[int]:
    """Passages holding each phrase (a list of index tokens), as FTS5 counts them for IDF.

    A one-token phrase is looked up in ``term_counts``; a longer one is taken from
    ``known`` (see :class:`CorpusStats`) or counted with an FTS5 phrase query and
    added to it.
    """
    found = _stored_counts(conn, {p[0] for p in phrases if len(p) == 1})
    known = {} if known is None else known
    counts = []
    for phrase in phrases:
        if len(phrase) <= 1:
            counts.append(found.get(phrase[0], 0) if phrase else 0)
            continue
        key = tuple(phrase)
        if key not in known:
            quoted = '"' + " ".join(phrase).replace('"', '""') + '"'
            sql = "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?"
            known[key] = int(conn.execute(sql, (quoted,)).fetchone()[0])
        counts.append(known[key])
    return counts


def term_counts(conn: sqlite3.Connection, texts: Sequence[str]) -> list[int] | None:
    """For each text, the passages holding its rarest keyword-index term (0 if absent).

    Texts are tokenized as the keyword index tokenizes passages (stemmed), so a count
    is exact for a single word and an upper bound for a phrase. ``None`` for indexes
    written before term counts were kept.
    """
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'term_counts'").fetchone():
        return None
    tokens = fts_tokens(texts)
    found = _stored_counts(conn, {t for toks in tokens for t in toks})
    return [min((found.get(t, 0) for t in toks), default=0) for toks in tokens]


def _stored_counts(conn: sqlite3.Connection, terms: Iterable[str]) -> dict[str, int]:
    """Passages holding each index token, from the ``term_counts`` table written at publish."""
    sql = "SELECT term, passages FROM term_counts WHERE term IN ({marks})"
    return {term: int(n) for term, n in store.select_in(conn, sql, sorted(set(terms)))}


def rescore(
    conn: sqlite3.Connection,
    parts: Sequence[str],
    ids: Iterable[int],
    stats: CorpusStats | None = None,
) -> list[tuple[int, float]]:
    """BM25 of each passage in ``ids`` for the FTS5 query ``" OR ".join(parts)``.

    ``parts`` are quoted terms and phrases as :func:`query_text.fts_parts` makes them.
    Returns ``(chunk_id, score)`` for the passages holding at least one of them, best
    first, with the scores FTS5's ``bm25(chunks_fts, 1.0, 0.5, 0.5)`` would give
    (sign flipped, so higher is better).
    """
    wanted = list(ids)  # store.select_in asks for each id once
    if not parts or not wanted:
        return []
    stats = stats or corpus_stats(conn)
    phrases = fts_tokens([p.strip('"').replace('""', '"') for p in parts])
    idf = [
        max(math.log((stats.rows - hits + 0.5) / (hits + 0.5)), 1e-6)
        for hits in phrase_counts(conn, phrases, stats.phrases)
    ]
    rows = list(
        store.select_in(
            conn,
            "SELECT c.id, c.c0, c.c1, c.c2, s.sz FROM chunks_fts_content c "
            "JOIN chunks_fts_docsize s ON s.id = c.id WHERE c.id IN ({marks})",
            wanted,
        )
    )
    lengths = [sum(varints(bytes(r[4]))) for r in rows]
    with ScratchPassages([r[1:4] for r in rows]) as scratch:
        freqs = phrase_frequencies(scratch, phrases)
    scored: list[tuple[int, float]] = []
    for row, length, row_freqs in zip(rows, lengths, freqs, strict=True):
        norm = K1 * (1 - B + B * length / stats.avg_tokens) if stats.avg_tokens else K1
        score = sum(
            weight * freq * (K1 + 1.0) / (freq + norm)
            for weight, freq in zip(idf, row_freqs, strict=True)
            if freq
        )
        if score > 0:
            scored.append((int(row[0]), score))
    return sorted(scored, key=lambda item: (-item[1], item[0]))


def phrase_frequencies(
    scratch: ScratchPassages, phrases: Sequence[Sequence[str]]
) -> list[list[float]]:
    """FTS5's weighted frequency of each phrase in each passage.

    Each place a phrase occurs counts its column's weight. A phrase of several
    tokens occurs where they stand at consecutive offsets in one column.
    """
    slots: dict[str, list[int]] = {}  # two query words can share a stem
    for i, phrase in enumerate(phrases):
        if len(phrase) == 1:
            slots.setdefault(phrase[0], []).append(i)
    long = [(i, p) for i, p in enumerate(phrases) if len(p) > 1]
    counts = scratch.counts(slots)
    offsets = scratch.offsets({t for _, p in long for t in p}) if long else []
    out = []
    for row, row_counts in enumerate(counts):
        freqs = [0.0] * len(phrases)
        for (col, term), n in row_counts.items():
            for i in slots[term]:
                freqs[i] += COLUMN_WEIGHTS[col] * n
        for i, phrase in long:
            for col, weight in enumerate(COLUMN_WEIGHTS):
                places = [offsets[row].get((col, t), set()) for t in phrase]
                freqs[i] += weight * sum(
                    all(start + n in places[n] for n in range(1, len(phrase)))
                    for start in places[0]
                )
        out.append(freqs)
    return out


# --- tokenizing as the keyword index does -----------------------------------

_scratch = threading.local()


def _scratch_conn() -> sqlite3.Connection:
    """This thread's private in-memory database for tokenizing with the index's tokenizer.

    Tokenizing there means the index's read-only connections are never written to.
    """
    conn = getattr(_scratch, "conn", None)
    if conn is None:
        conn = sqlite3.connect(":memory:")
        conn.executescript(
            f"""
            CREATE VIRTUAL TABLE query_tokens USING fts5(
                t, tokenize = '{store.FTS_TOKENIZER}', content = '', columnsize = 0
            );
            CREATE VIRTUAL TABLE query_vocab USING fts5vocab(query_tokens, 'instance');
            CREATE VIRTUAL TABLE passage_tokens USING fts5(
                text, heading, title, tokenize = '{store.FTS_TOKENIZER}', content = '', columnsize = 0
            );
            CREATE VIRTUAL TABLE passage_vocab USING fts5vocab(passage_tokens, 'instance');
            """
        )
        _scratch.conn = conn
    return conn


def fts_tokens(texts: Sequence[str]) -> list[list[str]]:
    """The keyword index's tokens of each text, from SQLite's own FTS5 tokenizer."""
    conn = _scratch_conn()
    with conn:
        conn.execute("INSERT INTO query_tokens (query_tokens) VALUES ('delete-all')")
        conn.executemany(
            "INSERT INTO query_tokens (rowid, t) VALUES (?, ?)", list(enumerate(texts))
        )
        rows = conn.execute("SELECT doc, term FROM query_vocab ORDER BY doc, offset").fetchall()
    out: list[list[str]] = [[] for _ in texts]
    for doc, term in rows:
        out[doc].append(term)
    return out


class ScratchPassages:
    """Passages tokenized by the keyword index's tokenizer, in this thread's scratch database.

    Use as a context manager; :meth:`counts` and :meth:`offsets` answer where terms
    occur. Columns are numbered as in ``chunks_fts``: 0 text, 1 heading, 2 title.
    """

    COLUMNS = {"text": 0, "heading": 1, "title": 2}

    def __init__(self, rows: Sequence[Sequence[str | None]]) -> None:
        self.rows = rows
        self.conn = _scratch_conn()

    def __enter__(self) -> ScratchPassages:
        self.conn.execute("INSERT INTO passage_tokens (passage_tokens) VALUES ('delete-all')")
        self.conn.executemany(
            "INSERT INTO passage_tokens (rowid, text, heading, title) VALUES (?, ?, ?, ?)",
            [(i, *row) for i, row in enumerate(self.rows)],
        )
        return self

    def __exit__(self, *exc: object) -> None:
        self.conn.rollback()

    def counts(self, terms: Iterable[str]) -> list[dict[tuple[int, str], int]]:
        """For each row, ``{(column, token): occurrences}`` of the given index tokens."""
        out: list[dict[tuple[int, str], int]] = [{} for _ in self.rows]
        sql = (
            "SELECT doc, col, term, count(*) FROM passage_vocab WHERE term IN ({marks}) "
            "GROUP BY doc, col, term"
        )
        for doc, col, term, n in store.select_in(self.conn, sql, sorted(set(terms))):
            out[doc][(self.COLUMNS[col], term)] = n
        return out

    def offsets(self, terms: Iterable[str]) -> list[dict[tuple[int, str], set[int]]]:
        """For each row, ``{(column, token): {token offsets}}`` of the given index tokens."""
        out: list[dict[tuple[int, str], set[int]]] = [{} for _ in self.rows]
        sql = "SELECT doc, col, offset, term FROM passage_vocab WHERE term IN ({marks})"
        for doc, col, offset, term in store.select_in(self.conn, sql, sorted(set(terms))):
            out[doc].setdefault((self.COLUMNS[col], term), set()).add(offset)
        return out

"""SQLite storage: schema with numbered migrations, documents, pages, passages and FTS5.

One integer joins a passage's row, its FTS5 row and its FAISS id: ``chunks.id``.
Embeddings are stored with the passages (float32 blobs), so the FAISS file can be
rebuilt at any time without re-reading or re-embedding a document.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ..records import METADATA_FIELDS, Chunk, Document, Metadata, Page

MIGRATIONS: list[tuple[str, str]] = [
    (
        "initial schema",
        """
        CREATE TABLE documents (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            source TEXT NOT NULL UNIQUE,
            sha256 TEXT NOT NULL,
            format TEXT NOT NULL,
            paged INTEGER NOT NULL,
            n_pages INTEGER NOT NULL,
            title TEXT, review_name TEXT, partnership TEXT, year INTEGER,
            review_type TEXT, nation TEXT,
            extracted_metadata TEXT NOT NULL DEFAULT '{}',
            extra TEXT NOT NULL DEFAULT '{}',
            size INTEGER, ingested_at TEXT
        );
        CREATE INDEX documents_sha256 ON documents(sha256);
        CREATE TABLE pages (
            doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            number INTEGER NOT NULL,
            char_start INTEGER NOT NULL,
            text TEXT NOT NULL,
            PRIMARY KEY (doc_id, number)
        );
        CREATE TABLE chunks (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            text TEXT NOT NULL,
            heading TEXT,
            section TEXT NOT NULL,
            page_start INTEGER, page_end INTEGER,
            char_start INTEGER NOT NULL, char_end INTEGER NOT NULL,
            embedding BLOB NOT NULL
        );
        CREATE INDEX chunks_doc ON chunks(doc_id, seq);
        CREATE VIRTUAL TABLE chunks_fts USING fts5(
            text, heading, title, tokenize = 'porter unicode61 remove_diacritics 2'
        );
        CREATE TABLE corrections (
            source TEXT NOT NULL, field TEXT NOT NULL, value TEXT,
            PRIMARY KEY (source, field)
        );
        """,
    ),
    (
        "theme tags (see themes.py)",
        """
        CREATE TABLE chunk_themes (
            chunk_id INTEGER NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
            slug TEXT NOT NULL,
            confidence REAL NOT NULL,
            PRIMARY KEY (chunk_id, slug)
        );
        CREATE INDEX chunk_themes_slug ON chunk_themes(slug, confidence);
        CREATE TABLE themes (
            slug TEXT PRIMARY KEY, position INTEGER NOT NULL, label TEXT NOT NULL,
            grp TEXT NOT NULL, description TEXT NOT NULL
        );
        CREATE TABLE theme_meta (key TEXT PRIMARY KEY, value TEXT);
        """,
    ),
    (
        "passages per keyword-index term, for bounding keyword search on large indexes",
        """
        CREATE TABLE term_counts (term TEXT PRIMARY KEY, passages INTEGER NOT NULL) WITHOUT ROWID;
        """,
    ),
]

#: The keyword index's tokenizer (``bm25`` tokenizes query words and passages with it).
FTS_TOKENIZER = "porter unicode61 remove_diacritics 2"

_CHUNK_COLUMNS = "c.id, c.doc_id, c.seq, c.text, c.page_start, c.page_end, c.char_start, c.char_end, c.section, c.heading"
_DOC_COLUMNS = "d.id, d.source, d.sha256, d.format, d.paged, d.n_pages, d.title, d.review_name, d.partnership, d.year, d.review_type, d.nation, COALESCE(json_extract(d.extra, '$.ocr'), 0)"


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """Open the database; read-only connections never write or lock."""
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    else:
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA secure_delete = ON")  # deleted text is overwritten, not left behind
        migrate(conn)
    conn.row_factory = sqlite3.Row
    return conn


def migrate(conn: sqlite3.Connection) -> None:
    """Apply the numbered migrations not yet recorded in the ``migrations`` table."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS migrations (id INTEGER PRIMARY KEY, name TEXT, applied_at TEXT)"
    )
    done = {row[0] for row in conn.execute("SELECT id FROM migrations")}
    for number, (name, sql) in enumerate(MIGRATIONS, start=1):
        if number in done:
            continue
        with conn:
            conn.executescript(sql)
            conn.execute(
                "INSERT INTO migrations (id, name, applied_at) VALUES (?, ?, ?)",
                (number, name, _now()),
            )


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# --- Rows to dataclasses ----------------------------------------------------


def document_from_row(row: Sequence[Any]) -> Document:
    return Document(
        doc_id=row[0],
        source=row[1],
        sha256=row[2],
        format=row[3],
        paged=bool(row[4]),
        n_pages=row[5],
        metadata=Metadata(*row[6:12]),
        ocr=bool(row[12]) if len(row) > 12 else False,
    )


def chunk_from_row(row: Sequence[Any]) -> Chunk:
    return Chunk(*row[:10])


# --- Writing ----------------------------------------------------------------


@dataclass(frozen=True)
class StoredFile:
    doc_id: int
    source: str
    sha256: str


def find_by_source(conn: sqlite3.Connection, source: str) -> StoredFile | None:
    row = conn.execute(
        "SELECT id, source, sha256 FROM documents WHERE source = ?", (source,)
    ).fetchone()
    return StoredFile(*row) if row else None


def find_by_hash(conn: sqlite3.Connection, sha256: str) -> StoredFile | None:
    row = conn.execute(
        "SELECT id, source, sha256 FROM documents WHERE sha256 = ? ORDER BY id LIMIT 1", (sha256,)
    ).fetchone()
    return StoredFile(*row) if row else None


def corrections_for(conn: sqlite3.Connection, source: str) -> dict[str, Any]:
    rows = conn.execute("SELECT field, value FROM corrections WHERE source = ?", (source,))
    return {f: (int(v) if f == "year" and v is not None else v) for f, v in rows}


def add_document(
    conn: sqlite3.Connection,
    *,
    source: str,
    sha256: str,
    fmt: str,
    paged: bool,
    pages: Sequence[Page],
    metadata: Metadata,
    extracted_metadata: Metadata,
    extra: dict[str, Any],
    size: int,
) -> int:
    """Insert a document and its pages; return its id. The caller owns the transaction."""
    cur = conn.execute(
        "INSERT INTO documents (source, sha256, format, paged, n_pages, title, review_name, "
        "partnership, year, review_type, nation, extracted_metadata, extra, size, ingested_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            source,
            sha256,
            fmt,
            int(paged),
            len(pages),
            *(getattr(metadata, f) for f in METADATA_FIELDS),
            json.dumps(extracted_metadata.to_dict()),
            json.dumps(extra),
            size,
            _now(),
        ),
    )
    doc_id = int(cur.lastrowid or 0)
    offset = 0
    for page in pages:
        conn.execute(
            "INSERT INTO pages (doc_id, number, char_start, text) VALUES (?, ?, ?, ?)",
            (doc_id, page.number, offset, page.text),
        )
        offset += len(page.text) + 2
    return doc_id


def add_chunks(
    conn: sqlite3.Connection,
    doc_id: int,
    title: str,
    chunks: Sequence[Chunk],
    vectors: np.ndarray,
) -> list[int]:
    """Insert passages with their vectors and FTS rows; return their new ids."""
    ids = []
    for chunk, vector in zip(chunks, vectors, strict=True):
        cur = conn.execute(
            "INSERT INTO chunks (doc_id, seq, text, heading, section, page_start, page_end, "
            "char_start, char_end, embedding) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                doc_id,
                chunk.seq,
                chunk.text,
                chunk.heading,
                chunk.section,
                chunk.page_start,
                chunk.page_end,
                chunk.char_start,
                chunk.char_end,
                np.asarray(vector, dtype=np.float32).tobytes(),
            ),
        )
        chunk_id = int(cur.lastrowid or 0)
        conn.execute(
            "INSERT INTO chunks_fts (rowid, text, heading, title) VALUES (?, ?, ?, ?)",
            (chunk_id, chunk.text, chunk.heading or "", title),
        )
        ids.append(chunk_id)
    return ids


def delete_document(conn: sqlite3.Connection, doc_id: int) -> None:
    """Delete a document and everything derived from it. The caller owns the transaction.

    The keyword index keeps a deleted passage's words in its segments until they
    merge, so the connection is marked for :func:`purge_deleted` (run by publish).
    """
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS purge_needed (x)")
    conn.execute(
        "DELETE FROM chunks_fts WHERE rowid IN (SELECT id FROM chunks WHERE doc_id = ?)", (doc_id,)
    )
    conn.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
    conn.execute("DELETE FROM pages WHERE doc_id = ?", (doc_id,))
    conn.execute("DELETE FROM documents WHERE id = ?", (doc_id,))


def purge_deleted(conn: sqlite3.Connection) -> bool:
    """If documents were deleted on this connection, merge the keyword index so no
    word of theirs remains in the file. Returns whether it ran."""
    marked = conn.execute("SELECT 1 FROM temp.sqlite_master WHERE name = 'purge_needed'").fetchone()
    if not marked:
        return False
    with conn:
        conn.execute("INSERT INTO chunks_fts (chunks_fts) VALUES ('optimize')")
        conn.execute("DROP TABLE temp.purge_needed")
    return True


def set_metadata(
    conn: sqlite3.Connection, doc_id: int, changes: dict[str, Any], *, remember: bool = True
) -> None:
    """Correct a document's metadata and (``remember``) record the correction for
    re-ingests; a catalogue's metadata is set without being recorded."""
    changes = {k: v for k, v in changes.items() if k in METADATA_FIELDS}
    row = conn.execute("SELECT source FROM documents WHERE id = ?", (doc_id,)).fetchone()
    if row is None:
        return
    for field, value in changes.items():
        conn.execute(f"UPDATE documents SET {field} = ? WHERE id = ?", (value, doc_id))  # noqa: S608
        if remember:
            conn.execute(
                "INSERT OR REPLACE INTO corrections (source, field, value) VALUES (?, ?, ?)",
                (row[0], field, None if value is None else str(value)),
            )
    if "title" in changes:
        conn.execute(
            "UPDATE chunks_fts SET title = ? WHERE rowid IN (SELECT id FROM chunks WHERE doc_id = ?)",
            (changes["title"] or "", doc_id),
        )


# --- Reading ----------------------------------------------------------------


def iter_vectors(
    conn: sqlite3.Connection, batch: int = 10_000
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(ids, vectors)`` batches of every stored passage, in id order."""
    last = -1
    while True:
        rows = conn.execute(
            "SELECT id, embedding FROM chunks WHERE id > ? ORDER BY id LIMIT ?", (last, batch)
        ).fetchall()
        if not rows:
            return
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        vectors = np.vstack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
        yield ids, vectors
        last = int(ids[-1])


def select_in(conn: sqlite3.Connection, sql: str, ids: Iterable[Any]) -> Iterator[Any]:
    """The rows of ``sql`` for ``ids``, queried 500 ids at a time.

    ``sql`` has one ``{marks}`` placeholder where the ``IN (...)`` list goes, and no
    other parameters. Repeated ids are asked for once, as one ``IN`` list would: in
    separate batches, each repeat would return its rows again.
    """
    ids = list(dict.fromkeys(ids))
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        yield from conn.execute(sql.format(marks=",".join("?" * len(part))), part)


def get_vectors(conn: sqlite3.Connection, ids: Iterable[int]) -> dict[int, np.ndarray]:
    sql = "SELECT id, embedding FROM chunks WHERE id IN ({marks})"
    return {cid: np.frombuffer(blob, dtype=np.float32) for cid, blob in select_in(conn, sql, ids)}


def chunk_documents(conn: sqlite3.Connection, ids: Iterable[int]) -> dict[int, int]:
    """``{chunk_id: doc_id}`` for the given passages."""
    return dict(select_in(conn, "SELECT id, doc_id FROM chunks WHERE id IN ({marks})", ids))


def passage_counts(conn: sqlite3.Connection, doc_ids: Iterable[int]) -> dict[int, int]:
    """``{doc_id: number of passages}`` for the given documents."""
    sql = "SELECT doc_id, count(*) FROM chunks WHERE doc_id IN ({marks}) GROUP BY doc_id"
    return dict(select_in(conn, sql, doc_ids))


def get_chunks(conn: sqlite3.Connection, ids: Iterable[int]) -> dict[int, tuple[Chunk, Document]]:
    """Load passages and their documents by id."""
    sql = (
        f"SELECT {_CHUNK_COLUMNS}, {_DOC_COLUMNS} FROM chunks c "  # noqa: S608 - constant columns
        "JOIN documents d ON d.id = c.doc_id WHERE c.id IN ({marks})"
    )
    return {
        row[0]: (chunk_from_row(row[:10]), document_from_row(row[10:]))
        for row in select_in(conn, sql, ids)
    }


def list_documents(conn: sqlite3.Connection) -> list[tuple[Document, int, dict[str, Any]]]:
    """Every document with its passage count and extra information."""
    rows = conn.execute(
        f"SELECT {_DOC_COLUMNS}, (SELECT COUNT(*) FROM chunks c WHERE c.doc_id = d.id), d.extra "  # noqa: S608
        "FROM documents d ORDER BY d.source"
    )
    return [(document_from_row(r[:13]), r[13], json.loads(r[14] or "{}")) for r in rows]


def get_document(conn: sqlite3.Connection, ref: str | int) -> Document | None:
    """Find a document by id, exact source path, or unique file-name/title match."""
    where, args = _doc_ref_query(ref)
    rows = conn.execute(f"SELECT {_DOC_COLUMNS} FROM documents d WHERE {where}", args).fetchall()  # noqa: S608
    return document_from_row(rows[0]) if len(rows) == 1 else None


def _doc_ref_query(ref: str | int) -> tuple[str, list[Any]]:
    text = str(ref)
    if re.fullmatch(r"\d+", text):
        return "d.id = ?", [int(text)]
    return (
        "d.source = ? OR d.source LIKE ? OR lower(d.title) = lower(?)",
        [text, f"%/{text}", text],
    )


def get_pages(conn: sqlite3.Connection, doc_id: int) -> list[Page]:
    rows = conn.execute(
        "SELECT number, text FROM pages WHERE doc_id = ? ORDER BY number", (doc_id,)
    )
    return [Page(n, t) for n, t in rows]


def document_chunks(conn: sqlite3.Connection, doc_id: int) -> list[Chunk]:
    rows = conn.execute(
        f"SELECT {_CHUNK_COLUMNS} FROM chunks c WHERE c.doc_id = ? ORDER BY c.seq",  # noqa: S608 - constant columns
        (doc_id,),
    )
    return [chunk_from_row(r) for r in rows]


def refresh_term_counts(conn: sqlite3.Connection) -> None:
    """Rewrite ``term_counts`` from the keyword index: passages holding each term."""
    conn.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.chunks_vocab "
        "USING fts5vocab(main, chunks_fts, 'row')"
    )
    with conn:
        conn.execute("DELETE FROM term_counts")
        conn.execute("INSERT INTO term_counts SELECT term, doc FROM temp.chunks_vocab")


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {
        "documents": conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0],
        "pages": conn.execute("SELECT COUNT(*) FROM pages").fetchone()[0],
        "passages": conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0],
    }


def facet_values(conn: sqlite3.Connection, column: str) -> list[Any]:
    """Distinct non-null values of a document column, for filter pickers."""
    if column not in METADATA_FIELDS:
        raise ValueError(column)
    rows = conn.execute(
        f"SELECT DISTINCT {column} FROM documents WHERE {column} IS NOT NULL ORDER BY {column}"  # noqa: S608
    )
    return [r[0] for r in rows]

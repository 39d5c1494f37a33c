"""The index: where passages, their vectors and their keyword index are kept.

``store`` is the SQLite database (numbered migrations, documents, pages, passages,
FTS5); ``generations`` is the index folder: generations of SQLite + FAISS files behind
an atomic JSON manifest, the writer lock and publishing; ``transaction`` is the one
write path (lock, begin a generation, publish on success, drop it on error) that
ingest, library edits, retag, rebuild and the bench share; ``housekeeping`` deletes
fetched copies no document refers to; ``maintenance`` checks an index folder and
rebuilds it; ``info`` summarises an index (model, counts, versions).

May import: records, config, errors, embed. (tests/test_architecture.py checks the
room order.)
"""

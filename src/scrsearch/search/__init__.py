"""Search: a query in, ranked :class:`~scrsearch.records.Hit` lists out.

``searcher`` runs semantic (FAISS), keyword (FTS5) and hybrid search over an index;
``bm25`` holds the keyword-index statistics and exact BM25; ``query_text`` the words
that matter and safe FTS5 queries; ``ranking`` the pure fusion and review-ranking
arithmetic; ``request`` a search as a value that round-trips through a URL; ``live`` follows an
index folder's current generation for long-running servers (one searcher per
generation, switched between requests); ``windows`` splits a long text into the model's
windows and combines their rankings; ``case_notes`` says whether a query looks like case
notes (and so must stay out of URLs).

May import: records, config, errors, embed, index. (tests/test_architecture.py checks
the room order.)
"""

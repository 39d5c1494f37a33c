"""Ingestion: files in, a published index generation out.

``pipeline`` runs the stages: ``discover`` (which files), ``fetch`` (a review from
the web; ``download`` fetches many politely and resumably, remembering each URL in
``fetch_state``), ``extract`` (text and pages from PDF, HTML, DOCX, text; ``ocr`` for
image-only pages), ``metadata`` (fields from the text and file name), ``chunk``
(passages along the document's structure), then embedding, storing and publishing.
``catalogue`` reads a CSV of reviews (a url or path per row, and their metadata) and
ingests it. ``library`` lists, corrects, adds and removes documents of the collection.

May import: records, config, errors, embed, index, search, present, themes.
(tests/test_architecture.py checks the room order.)
"""

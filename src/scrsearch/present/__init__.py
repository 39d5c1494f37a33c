"""Presenting results, for every client alike: no client formats a citation itself.

``export`` writes result lists as CSV and Markdown with every passage cited;
``highlight`` splits a text into query-term matches and the rest, leaving escaping
to each client.

May import: records, config, errors, embed, index, search. (tests/test_architecture.py
checks the room order.)
"""

"""Measuring the product: ranking quality, theme quality, speed and memory.

``eval`` scores ranking against judged queries (``scrsearch eval``); ``theme_eval``
scores theme tagging against labelled passages (``scrsearch eval-themes``);
``bench`` measures speed and memory (``scrsearch bench``), with ``bench_sizes`` its
per-size worker processes; ``serve_bench`` measures the HTTP API under concurrent load
(``scrsearch bench --serve``); ``recurring_eval`` scores recurring-learning groups
against labelled ones (``scrsearch eval-recurring``) and ``recurring_bench`` times the
grouping on synthetic lessons.

May import: every library room (records, config, errors, embed, index, search,
present, themes, ingestion); no client. (tests/test_architecture.py checks the room
order.)
"""

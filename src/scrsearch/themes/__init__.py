"""Themes and comparison: what the reviews are about, and where they agree.

``tagging`` holds the built-in and user theme lists and tags passages with them;
``profiles`` reads the tags (counts, a review's profile, a theme's passages,
heatmaps); ``compare`` pairs the lessons of one review with the closest passages of
others; ``cases`` finds the reviews like a case description (Like my case), with
``circumstances`` (the agencies, age band and harm a text states) saying why and
``case_report`` writing the result as Markdown; ``recurring`` groups the lessons,
recommendations and findings that recur across reviews (``clustering`` does the
grouping and names each group, ``filters`` narrows the reviews counted), ``trends``
counts each theme's reviews per year, and ``learning_export`` writes both as CSV and
Markdown, every passage cited.

May import: records, config, errors, embed, index, search, present.
(tests/test_architecture.py checks the room order.)
"""

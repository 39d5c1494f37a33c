"""Themes and comparison: what the reviews are about, and where they agree.

``tagging`` holds the built-in and user theme lists and tags passages with them;
``profiles`` reads the tags (counts, a review's profile, a theme's passages,
heatmaps); ``compare`` pairs the lessons of one review with the closest passages of
others.

May import: records, config, errors, embed, index, search, present.
(tests/test_architecture.py checks the room order.)
"""

"""Long query text: split into the model's windows, search each, combine the rankings.

The embedding model reads at most ``max_tokens`` word pieces of a text and silently
drops the rest. A case description can be far longer, so it is split into
overlapping windows that each fit, as the model's own tokenizer counts them:

- the text is cut into sentences (and lines), and sentences are packed into a
  window until the next one would not fit;
- the next window starts again :data:`OVERLAP` sentences back (at most a quarter of
  a window), so that a point made across a sentence boundary is read whole once;
- a sentence longer than a window is cut at words; nothing is ever left out.

Each window is searched on its own (:meth:`Searcher.rank`), and the rankings are
combined by :func:`combine`: a passage scores its best window's score, so a review
that speaks to any part of the case is found, and reviews are then ranked from the
combined passages exactly as the product ranks them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .searcher import Filters, Searcher

#: Sentences a window repeats from the end of the one before it.
OVERLAP = 2
#: At most this share of a window is repeated from the one before it.
OVERLAP_SHARE = 0.25

_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+|\s*\n\s*")


@dataclass(frozen=True)
class Window:
    """One piece of a long text: ``text[char_start:char_end]``, which fits the model."""

    text: str
    char_start: int
    char_end: int
    tokens: int


def _sentences(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence or line of ``text``, without the spaces between."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for match in _SENTENCE_END.finditer(text):
        if match.start() > pos:
            spans.append((pos, match.start()))
        pos = match.end()
    if pos < len(text.rstrip()):
        spans.append((pos, len(text.rstrip())))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def _fit_words(
    text: str, start: int, end: int, count: Callable[[str], int], limit: int
) -> list[tuple[int, int]]:
    """Cut ``text[start:end]`` at words into spans that each fit ``limit`` tokens."""
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text[start:end])]
    spans: list[tuple[int, int]] = []
    first = 0
    while first < len(words):
        last = first + 1
        while (
            last < len(words)
            and count(text[start + words[first][0] : start + words[last][1]]) <= limit
        ):
            last += 1
        spans.append((start + words[first][0], start + words[last - 1][1]))
        first = last
    return spans


def split_windows(
    text: str, count_tokens: Callable[[str], int], max_tokens: int, *, overlap: int = OVERLAP
) -> list[Window]:
    """Split ``text`` into windows of at most ``max_tokens`` tokens (see the module).

    Args:
        text: the long text.
        count_tokens: the model's own count (``Embedder.count_tokens``).
        max_tokens: the most tokens one window may hold.
        overlap: sentences repeated from the end of the window before.

    Returns:
        The windows in order; one window when the text fits; none when it is blank.
    """
    pieces: list[tuple[int, int, int]] = []  # sentence spans that each fit, with tokens
    for start, end in _sentences(text):
        n = count_tokens(text[start:end])
        spans = (
            [(start, end)]
            if n <= max_tokens
            else _fit_words(text, start, end, count_tokens, max_tokens)
        )
        pieces.extend((s, e, n if len(spans) == 1 else count_tokens(text[s:e])) for s, e in spans)
    windows: list[Window] = []
    first = 0
    while first < len(pieces):
        last = first + 1
        while (
            last < len(pieces)
            and count_tokens(text[pieces[first][0] : pieces[last][1]]) <= max_tokens
        ):
            last += 1
        start, end = pieces[first][0], pieces[last - 1][1]
        windows.append(Window(text[start:end], start, end, count_tokens(text[start:end])))
        if last == len(pieces):
            break
        back = last
        budget = int(max_tokens * OVERLAP_SHARE)
        while back > first + 1 and last - back < overlap and pieces[back - 1][2] <= budget:
            budget -= pieces[back - 1][2]
            back -= 1
        first = back
    return windows


def combine(rankings: Sequence[Sequence[tuple[int, float]]]) -> list[tuple[int, float]]:
    """One passage ranking from the rankings of several windows: each passage scores
    its best window's score. Pure: ``(chunk_id, score)`` lists in, best first out."""
    best: dict[int, float] = {}
    for ranking in rankings:
        for cid, score in ranking:
            if score > best.get(cid, float("-inf")):
                best[cid] = score
    return sorted(best.items(), key=lambda item: (-item[1], item[0]))


def rank_windows(
    searcher: Searcher,
    windows: Sequence[Window],
    *,
    mode: str = "hybrid",
    filters: Filters | None = None,
    depth: int = 300,
) -> list[tuple[int, float]]:
    """Search each window and combine the rankings (:func:`combine`)."""
    return combine(
        [searcher.rank(w.text, mode=mode, filters=filters, depth=depth) for w in windows]
    )


def query_windows(searcher: Searcher, text: str) -> list[Window]:
    """``text`` split into windows that fit ``searcher``'s model as a query (its query
    prompt counted)."""
    embedder = searcher.embedder
    room = embedder.max_tokens - (
        embedder.count_tokens(embedder.query_prefix) if embedder.query_prefix else 0
    )
    return split_windows(text, embedder.count_tokens, room)

"""Query-term highlighting that leaves escaping to each client.

:func:`segments` splits a text into ``(piece, is_match)`` pairs, so the CLI can
style matches with rich markup escaped, and the app can escape every piece as
HTML before wrapping matches in ``<mark>``. No text is ever trusted as markup.
"""

from __future__ import annotations

import html
import re

from .query_text import query_terms


def _pattern(query: str) -> re.Pattern[str] | None:
    terms = sorted({t for t in query_terms(query) if len(t) > 1}, key=len, reverse=True)
    if not terms:
        return None
    # Match a term and its inflections ("escalat" matches escalation, escalated).
    stems = [re.escape(t[:-1] if len(t) > 5 else t) for t in terms]
    return re.compile(r"\b(?:" + "|".join(stems) + r")\w*", re.I)


def segments(text: str, query: str) -> list[tuple[str, bool]]:
    """Split ``text`` into pieces, marking those that match the query's words."""
    pattern = _pattern(query)
    if pattern is None:
        return [(text, False)] if text else []
    out: list[tuple[str, bool]] = []
    pos = 0
    for match in pattern.finditer(text):
        if match.start() > pos:
            out.append((text[pos : match.start()], False))
        out.append((match.group(0), True))
        pos = match.end()
    if pos < len(text):
        out.append((text[pos:], False))
    return out


def snippet(text: str, query: str, width: int = 320) -> str:
    """A window of about ``width`` characters around the first match, whitespace folded."""
    flat = re.sub(r"\s+", " ", text).strip()
    if len(flat) <= width:
        return flat
    pattern = _pattern(query)
    match = pattern.search(flat) if pattern else None
    start = max(0, (match.start() if match else 0) - width // 4)
    end = min(len(flat), start + width)
    return ("…" if start else "") + flat[start:end].strip() + ("…" if end < len(flat) else "")


def to_html(text: str, query: str) -> str:
    """HTML with every piece escaped and matches wrapped in ``<mark>``."""
    return "".join(
        f"<mark>{html.escape(piece)}</mark>" if hit else html.escape(piece)
        for piece, hit in segments(text, query)
    )

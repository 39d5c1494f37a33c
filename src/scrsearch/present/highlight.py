"""Query-term highlighting that leaves escaping to each client.

:func:`segments` splits a text into ``(piece, is_match)`` pairs, so the CLI can
style matches with rich markup escaped, and the app can escape every piece as
HTML before wrapping matches in ``<mark>``. No text is ever trusted as markup.
"""

from __future__ import annotations

import html
import re

from ..search.query_text import query_terms


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


#: A line that starts a list item: a bullet, or a number or letter with "." or ")".
_LIST_ITEM = re.compile(r"^(?:[•●▪◦‣·*\-–—]|\(?(?:\d{1,3}|[a-z]|[ivx]{1,4})[.)])\s", re.I)


_SPACES = re.compile(r"[ \t]+")


def reflow(text: str) -> str:
    """Text with a PDF's line wraps undone, for reading: lines of one paragraph joined.

    The wrap width is taken as the length of the passage's longer lines (the 80th
    percentile). A line break stays where a blank line follows (a paragraph), where
    the next line starts a list item, after a line under 60% of that width (the end
    of a paragraph, or a heading), and after a line ending in a number when the next
    starts with a capital (a table of contents). Elsewhere lines are joined with a space, or
    with nothing after a hyphen ("pre-" + "birth"). Text whose lines are all short
    (under 50 characters: a list of labels and values, say) is left as it is. A
    blank line inside a sentence (a page break: a line ending in a letter or comma,
    then one starting in lower case) is joined too, and runs of spaces are one
    space. Only for display: stored text is unchanged.
    """
    lines = [_SPACES.sub(" ", line.strip()) for line in text.strip().splitlines()]
    joins = _joins(lines)
    if joins is None:
        return "\n".join(lines)
    out = ""
    for line, join in zip(lines, joins, strict=True):
        if not line:
            out += "\n\n" if out and not out.endswith("\n\n") else ""
        elif not out:
            out = line
        elif out.endswith("\n\n"):
            out = out[:-2] + " " + line if join == "sentence" else out + line
        else:
            out += {"space": " ", "hyphen": "", "line": "\n"}[join] + line
    return out.strip()


def unwrap(text: str) -> str:
    """:func:`reflow`'s line joins made in place: each wrap's newline becomes a space.

    Nothing else changes, so the result is exactly as long as ``text`` and offsets
    into one are offsets into the other (the Review page marks a passage by offset).
    Paragraphs, list items, short lines and hyphenated wraps keep their newlines.
    """
    raw = text.split("\n")
    joins = _joins([line.strip() for line in raw])
    if joins is None:
        return text
    return "".join(
        ("" if i == 0 else " " if join == "space" else "\n") + line
        for i, (line, join) in enumerate(zip(raw, joins, strict=True))
    )


def _joins(lines: list[str]) -> list[str] | None:
    """How each stripped line joins the text before it, or ``None`` to leave them all.

    ``"space"`` (a wrap), ``"hyphen"`` (a wrap after a hyphen), ``"line"`` (a new
    line), ``"sentence"`` (after blank lines, but continuing the sentence) or
    ``"paragraph"``; ``""`` for the first line and blank ones.
    """
    lengths = sorted(len(line) for line in lines if line)
    width = lengths[int(0.8 * (len(lengths) - 1))] if lengths else 0
    if width < 50:
        return None
    joins: list[str] = []
    previous = ""
    blank = False
    for line in lines:
        if not line:
            joins.append("")
            blank = bool(previous)
            continue
        if not previous:
            joins.append("")
        elif blank:
            continues = line[0].islower() and (previous[-1].isalpha() or previous[-1] in ",;")
            joins.append("sentence" if continues else "paragraph")
        elif (
            _LIST_ITEM.match(line)
            or len(previous) < width * 0.6
            or (previous[-1].isdigit() and line[0].isupper())  # a contents line's page number
        ):
            joins.append("line")
        elif previous.endswith("-") and previous[-2:-1].isalpha():
            joins.append("hyphen")
        else:
            joins.append("space")
        previous, blank = line, False
    return joins


def to_html(text: str, query: str) -> str:
    """HTML with every piece escaped and matches wrapped in ``<mark>``."""
    return "".join(
        f"<mark>{html.escape(piece)}</mark>" if hit else html.escape(piece)
        for piece, hit in segments(text, query)
    )

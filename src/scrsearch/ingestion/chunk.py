"""Pages -> passages along the document's own structure. Pure and deterministic.

The chunker reads the text line by line, detects headings and numbered items, and
labels every passage with a section (lessons, recommendations, findings, background,
chronology, other). Each numbered item in a lessons, recommendations or findings
section becomes its own passage, so George's seven lessons are seven passages.
Running text is packed into passages of about ``target_tokens`` word pieces.

No passage, with its heading, exceeds ``max_tokens`` as counted by the caller's
tokenizer: oversize units are split at sentences, then at words.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..records import PAGE_JOIN, Chunk, Page

TokenCounter = Callable[[str], int]

#: Sections whose numbered items each become a passage of their own.
ITEM_SECTIONS = ("lessons", "recommendations", "findings")

_SECTION_RULES: list[tuple[str, re.Pattern[str]]] = [
    (
        "other",
        re.compile(
            r"dissemination|contact|further (reading|information)|references|glossary|appendi|"
            r"acknowledg|your response|copies and publication|publication|coroner'?s legal powers|"
            r"^coroner$|this report is being sent|useful (links|resources)|disclaimer|cookies|"
            r"^contents$",
            re.I,
        ),
    ),
    (
        "recommendations",
        re.compile(
            r"recommendation|action should be taken|actions? (for|required|to take)|"
            r"what (you|agencies|practitioners) (should|can|need to) do|next steps|"
            r"questions? (to consider|for practitioners|for reflection)|what to do",
            re.I,
        ),
    ),
    (
        "lessons",
        re.compile(
            r"\blessons?\b|learning points?|key (learning|messages)|learning for|"
            r"learning (and|&) improvement|practice (points|learning)|implications for practice|"
            r"what (do|should) we learn|^learning$|why it matters",
            re.I,
        ),
    ),
    (
        "findings",
        re.compile(
            r"finding|analysis|concerns?(?![a-z])|issues (identified|arising)|key issues|themes|"
            r"appraisal|conclusions?|what went wrong|what happened and why|good practice",
            re.I,
        ),
    ),
    (
        "chronology",
        re.compile(
            r"chronolog|key events|timeline|summary of (events|involvement)|circumstances of the|"
            r"agency involvement|sequence of events|the events",
            re.I,
        ),
    ),
    (
        "background",
        re.compile(
            r"background|introduction|context|family|story|about (the )?(child|family|review)|"
            r"case summary|summary|overview|investigation|purpose|methodology|terms of reference|"
            r"scope|review process|^the (child|young person|baby)|inquest|information",
            re.I,
        ),
    ),
]

_ITEM_START = re.compile(
    r"^\s*(?:(?:lesson|learning point|learning|finding|key finding|recommendation|concern|point)"
    r"\s*\d{1,2}\s*[.:)–-]?|\(?\d{1,2}[.)]|\(\d{1,2}\)|[a-h][.)])\s+\S",
    re.I,
)
#: "Finding 2: New information did not change the plan" - a title over paragraphs.
_TITLED_ITEM = re.compile(
    r"^(?:key )?(?:finding|lesson|learning point|theme)\s*\d{1,2}\s*[:.–-]\s*\S",
    re.I,
)
_PARA_NUMBER = re.compile(r"^\s*\d{1,2}\.\d{1,2}(?:\.\d{1,2})?\s+\S")
_MD_HEADING = re.compile(r"^\s*#{1,6}\s+(.+?)\s*#*\s*$")
_NUMBERED_HEADING = re.compile(r"^\s*(?:\d{1,2}(?:\.\d)?[.)]?|section \d+[:.]?)\s+(.+)$", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+(?=[\"“‘(\[A-Z0-9•])")


@dataclass
class _Line:
    start: int
    end: int
    text: str


@dataclass
class _Unit:
    start: int
    end: int
    section: str
    heading: str | None
    standalone: bool


def classify_heading(heading: str) -> str | None:
    """Map a heading's words to a section label, or ``None`` if they say nothing."""
    words = heading.strip().strip("#:").strip()
    words = re.sub(r"^\s*(?:\d{1,2}(?:\.\d)?[.)]?|section \d+[:.]?)\s+", "", words, flags=re.I)
    for section, pattern in _SECTION_RULES:
        if pattern.search(words):
            return section
    return None


def is_heading(line: str, prev: str | None, next_line: str | None) -> bool:
    """Whether a line is a heading: short, title-like, standing apart from prose."""
    stripped = line.strip()
    if _MD_HEADING.match(stripped):
        return True
    if not stripped or len(stripped) > 90 or stripped[0] in "•-*–(\"“'‘":
        return False
    words = stripped.split()
    if len(words) > 12 or stripped[-1] in ",;–-" or re.search(r"[a-z]\.$", stripped):
        return False
    if not (stripped[0].isupper() or stripped[0].isdigit()):
        return False
    numbered = _NUMBERED_HEADING.match(stripped)
    if numbered and (len(words) > 7 or stripped.endswith(".")):
        return False
    if _PARA_NUMBER.match(stripped):
        return False
    if stripped.isupper() and len(words) >= 1 and any(c.isalpha() for c in stripped):
        return True
    prev_ok = prev is None or not prev.strip() or prev.strip()[-1] in ".:!?)"
    if not prev_ok:
        return False
    if numbered:
        return True
    if len(words) <= 8 and not stripped.endswith(".") and classify_heading(stripped):
        return True
    capitalised = sum(1 for w in words if w[0].isupper() or not w[0].isalpha())
    title_like = capitalised / len(words) >= 0.5 or len(words) <= 4
    next_ok = (
        next_line is None
        or not next_line.strip()
        or next_line.strip()[0].isupper()
        or (next_line.strip()[0].isdigit())
    )
    return (
        title_like
        and next_ok
        and not stripped.endswith(":")
        or (len(words) <= 6 and stripped.endswith(":") and capitalised == len(words))
    )


def chunk_pages(
    pages: Sequence[Page],
    count_tokens: TokenCounter,
    *,
    max_tokens: int,
    target_tokens: int,
    doc_id: int = 0,
    first_chunk_id: int = 0,
) -> list[Chunk]:
    """Split a document's pages into :class:`Chunk` passages.

    Args:
        pages: the document's pages in order.
        count_tokens: the embedding model's tokenizer, counting word pieces of a text.
        max_tokens: hard limit for ``heading + text`` of any passage.
        target_tokens: preferred size for passages of running text.
        doc_id: stamped on every chunk.
        first_chunk_id: the chunk id of the first chunk (ids are then consecutive).
    """
    text = PAGE_JOIN.join(p.text for p in pages)
    page_starts: list[int] = []
    offset = 0
    for page in pages:
        page_starts.append(offset)
        offset += len(page.text) + len(PAGE_JOIN)
    units = _units(text)
    spans = _pack(units, text, count_tokens, max_tokens, min(target_tokens, max_tokens))
    chunks: list[Chunk] = []
    numbers = [p.number for p in pages]
    for seq, (start, end, section, heading) in enumerate(spans):
        first = bisect.bisect_right(page_starts, start) - 1
        last = bisect.bisect_right(page_starts, max(start, end - 1)) - 1
        chunks.append(
            Chunk(
                chunk_id=first_chunk_id + seq,
                doc_id=doc_id,
                seq=seq,
                text=text[start:end],
                page_start=numbers[first],
                page_end=numbers[last],
                char_start=start,
                char_end=end,
                section=section,
                heading=heading,
            )
        )
    return chunks


def embedding_text(chunk_text: str, heading: str | None) -> str:
    """The text the model embeds for a passage: its heading, then its text."""
    return f"{heading}\n{chunk_text}" if heading else chunk_text


def _lines(text: str) -> list[_Line]:
    out = []
    pos = 0
    for raw in text.split("\n"):
        out.append(_Line(pos, pos + len(raw), raw))
        pos += len(raw) + 1
    return out


def _units(text: str) -> list[_Unit]:
    """Walk the lines: headings set the section; items and paragraphs become units."""
    lines = _lines(text)
    units: list[_Unit] = []
    section, heading = "other", None
    current: _Unit | None = None
    # A heading line not yet followed by any text: if another heading (or the end)
    # comes first, the line becomes text of its own so that no words are lost.
    bare_heading: _Unit | None = None

    def close() -> None:
        nonlocal current, bare_heading
        if current is not None:
            units.append(current)
            current = None
            bare_heading = None

    def flush_bare_heading() -> None:
        nonlocal bare_heading
        if bare_heading is not None:
            units.append(bare_heading)
            bare_heading = None

    for i, line in enumerate(lines):
        stripped = line.text.strip()
        if not stripped:
            # A blank line ends a paragraph, but not a numbered item, whose
            # continuation paragraphs belong to it until the next item or heading.
            if current is not None and not current.standalone:
                close()
            continue
        if _starts_heading(lines, i, section):
            close()
            flush_bare_heading()
            bare_heading = _Unit(_text_start(line), line.end, section, heading, False)
            md = _MD_HEADING.match(stripped)
            heading = (md.group(1) if md else stripped).strip()
            label = classify_heading(heading)
            if label is not None:
                section = label
            continue
        item = bool(_ITEM_START.match(stripped)) and section in ITEM_SECTIONS
        if item or _PARA_NUMBER.match(stripped) or stripped[0] == "•":
            close()
        if current is None:
            current = _Unit(_text_start(line), line.end, section, heading, item)
        else:
            current.end = line.end
    close()
    flush_bare_heading()
    return units


def _starts_heading(lines: list[_Line], i: int, section: str) -> bool:
    """Whether line ``i`` is a heading or a titled item (a short numbered title),
    rather than an item of a list section that only looks like a heading."""
    stripped = lines[i].text.strip()
    prev = _neighbour(lines, i, -1)
    nxt = _neighbour(lines, i, 1)
    titled_item = (
        _TITLED_ITEM.match(stripped)
        and len(stripped.split()) <= 15
        and stripped[-1] not in ".;"
        and not (nxt and nxt.strip() and nxt.strip()[0].islower())
    )
    list_item = (
        _ITEM_START.match(stripped) and section in ITEM_SECTIONS and len(stripped.split()) > 3
    )
    return bool(titled_item or (is_heading(lines[i].text, prev, nxt) and not list_item))


def _text_start(line: _Line) -> int:
    """Where the line's text starts, after its indentation."""
    return line.start + (len(line.text) - len(line.text.lstrip()))


def _neighbour(lines: list[_Line], i: int, step: int) -> str | None:
    j = i + step
    if 0 <= j < len(lines):
        return lines[j].text
    return None


def _pack(
    units: list[_Unit],
    text: str,
    count: TokenCounter,
    max_tokens: int,
    target: int,
) -> list[tuple[int, int, str, str | None]]:
    """Group units into passages: items alone, running text up to ``target``."""
    spans: list[tuple[int, int, str, str | None]] = []
    group: list[_Unit] = []
    group_tokens = 0

    def flush() -> None:
        nonlocal group, group_tokens
        if group:
            spans.extend(
                _fit(
                    group[0].start,
                    group[-1].end,
                    group[0].section,
                    group[0].heading,
                    text,
                    count,
                    max_tokens,
                )
            )
        group, group_tokens = [], 0

    for unit in units:
        tokens = count(text[unit.start : unit.end])
        if unit.standalone:
            flush()
            spans.extend(
                _fit(unit.start, unit.end, unit.section, unit.heading, text, count, max_tokens)
            )
            continue
        same_place = group and group[0].section == unit.section and group[0].heading == unit.heading
        if group and (not same_place or group_tokens + tokens > target):
            flush()
        group.append(unit)
        group_tokens += tokens
    flush()
    return spans


def _fit(
    start: int,
    end: int,
    section: str,
    heading: str | None,
    text: str,
    count: TokenCounter,
    max_tokens: int,
) -> list[tuple[int, int, str, str | None]]:
    """Return ``[start, end)`` as one span, or split at sentences/words until each fits."""
    while end > start and text[end - 1].isspace():
        end -= 1
    if end <= start:
        return []
    if count(embedding_text(text[start:end], heading)) <= max_tokens:
        return [(start, end, section, heading)]
    pieces = _split_points(text, start, end, _SENTENCE_END)
    if len(pieces) == 1:
        pieces = _split_points(text, start, end, re.compile(r"\s+"))
    if len(pieces) == 1:  # one enormous "word": cut by characters
        mid = (start + end) // 2
        return _fit(start, mid, section, heading, text, count, max_tokens) + _fit(
            mid, end, section, heading, text, count, max_tokens
        )
    out: list[tuple[int, int, str, str | None]] = []
    cur_start = pieces[0][0]
    cur_end = pieces[0][0]
    for p_start, p_end in pieces:
        candidate = embedding_text(text[cur_start:p_end], heading)
        if cur_end > cur_start and count(candidate) > max_tokens:
            out.extend(_fit(cur_start, cur_end, section, heading, text, count, max_tokens))
            cur_start = p_start
        cur_end = p_end
    out.extend(_fit(cur_start, cur_end, section, heading, text, count, max_tokens))
    return out


def _split_points(
    text: str, start: int, end: int, pattern: re.Pattern[str]
) -> list[tuple[int, int]]:
    pieces = []
    pos = start
    for match in pattern.finditer(text, start, end):
        if match.start() > pos:
            pieces.append((pos, match.start()))
        pos = match.end()
    if pos < end:
        pieces.append((pos, end))
    return pieces or [(start, end)]

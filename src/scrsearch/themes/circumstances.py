"""Circumstances a text states: the agencies involved, the child's age band, the harm.

The vocabularies are data (``data/circumstances.yaml``): each value has regular
expressions, matched case-insensitively at word boundaries. A match does not count
when a negation comes shortly before it in the same sentence ("there was no police
involvement", "she was not known to CAMHS"). Age bands also follow stated ages:
"aged 14", "a 14-year-old", "two years old" and "six weeks old" fall into the band
whose ``years`` range holds the age.

A negation is one of "no", "nor", "without", "denied", or "not/never (been) known,
referred or open to", at most three words before the match; "was not brought to
the GP" and "did not attend school" still count, as the GP and the school were
involved.

Every value found is counted, so a long review that mentions a toddler once, in
passing, can be told from one about a toddler (:meth:`Circumstances.dominant`).
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import ScrsearchError

#: The kinds of circumstance, in the order they are shown.
KINDS = ("agencies", "age_bands", "harms")

#: How far back (characters) a negation is looked for.
NEGATION_REACH = 60
_NEGATION = re.compile(
    r"\b(?:no|nor|without|denie[sd]|(?:not|never)(?:\s+been)?\s+(?:known|referred|open)\s+to)"
    r"(?:\s+[\w'’-]+){0,3}\s+$",
    re.I,
)

_NUMBERS = {
    word: n
    for n, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen "
        "fourteen fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
}
_NUMBER = r"(\d{1,2}|" + "|".join(_NUMBERS) + r")"
_YEARS_OLD = re.compile(
    rf"\b(?:aged|age)\s+{_NUMBER}\b(?![- ](?:days?|weeks?|months?)\b)"
    rf"|\b{_NUMBER}[- ]years?[- ]old\b|\b{_NUMBER}[- ]year[- ]olds?\b",
    re.I,
)
#: "six weeks old", "20 months old", "aged 20 months" (group 1: "aged", 2: the number, 3: the unit).
_WEEKS_OLD = re.compile(rf"\b(aged\s+)?{_NUMBER}[- ](days?|weeks?|months?)(?(1)\b|[- ]old\b)", re.I)


class CircumstancesFileError(ScrsearchError):
    """The circumstances vocabulary is missing or malformed."""


@dataclass(frozen=True)
class Value:
    """One circumstance: a slug, a label for people, and how texts say it."""

    kind: str
    slug: str
    label: str
    pattern: re.Pattern[str] | None
    years: tuple[int, int] | None = None


@dataclass(frozen=True)
class Circumstances:
    """The circumstances of one text: ``{kind: {slug: mentions}}``."""

    mentions: dict[str, dict[str, int]]

    def stated(self, kind: str, min_mentions: int = 1) -> tuple[str, ...]:
        """The slugs of ``kind`` mentioned at least ``min_mentions`` times, most first."""
        counts = self.mentions.get(kind, {})
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        return tuple(slug for slug, n in ranked if n >= min_mentions)

    def dominant(self, kind: str, share: float) -> tuple[str, ...]:
        """The slugs of ``kind`` mentioned at least ``share`` times as often as the most
        mentioned one (``share`` 0: every slug mentioned), most first."""
        counts = self.mentions.get(kind, {})
        top = max(counts.values(), default=0)
        return tuple(s for s in self.stated(kind) if counts[s] >= max(1.0, share * top))

    def to_dict(self) -> dict[str, list[str]]:
        return {kind: list(self.stated(kind)) for kind in KINDS}


def vocabulary_path() -> Path:
    return Path(str(resources.files("scrsearch") / "data" / "circumstances.yaml"))


@functools.lru_cache(maxsize=4)
def load_vocabulary(path: str | None = None) -> tuple[Value, ...]:
    """The values of every kind, read once from ``path`` (default: the built-in file)."""
    import yaml

    file = Path(path) if path else vocabulary_path()
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise CircumstancesFileError(f"{file}: cannot read the vocabulary ({exc})") from exc
    values: list[Value] = []
    for kind in KINDS:
        for i, raw in enumerate(data.get(kind) or []):
            values.append(_value(kind, raw, file, i))
    return tuple(values)


def _value(kind: str, raw: Any, file: Path, i: int) -> Value:
    if not isinstance(raw, dict) or not raw.get("slug") or not raw.get("label"):
        raise CircumstancesFileError(f"{file}: {kind} entry #{i + 1} needs a slug and a label")
    patterns = [str(p) for p in raw.get("patterns") or []]
    try:
        pattern = (
            re.compile(r"\b(?:" + "|".join(f"(?:{p})" for p in patterns) + r")", re.I)
            if patterns
            else None
        )
    except re.error as exc:
        raise CircumstancesFileError(
            f"{file}: {kind} '{raw['slug']}' has a bad pattern ({exc})"
        ) from exc
    years = raw.get("years")
    return Value(
        kind,
        str(raw["slug"]),
        str(raw["label"]),
        pattern,
        (int(years[0]), int(years[1])) if years else None,
    )


def labels() -> dict[str, str]:
    """``{slug: label}`` for every value of every kind."""
    return {v.slug: v.label for v in load_vocabulary()}


def negated(text: str, start: int) -> bool:
    """Whether a negation comes just before ``text[start:]`` (see the module)."""
    return _NEGATION.search(text[max(0, start - NEGATION_REACH) : start]) is not None


def stated_ages(text: str) -> list[tuple[int, int]]:
    """``(position, age in years)`` of every age the text states: "20 months old" is 1,
    "six weeks old" 0."""
    ages = []
    for match in _YEARS_OLD.finditer(text):
        word = next(g for g in match.groups() if g)
        ages.append((match.start(), _as_number(word)))
    for match in _WEEKS_OLD.finditer(text):
        months = match.group(3).lower().startswith("month")
        ages.append((match.start(), _as_number(match.group(2)) // 12 if months else 0))
    return sorted(ages)


def _as_number(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBERS[word.lower()]


def extract(text: str) -> Circumstances:
    """The agencies, age bands and harms ``text`` states, each with its mentions."""
    flat = " ".join(text.split())  # PDF lines break mid-phrase
    mentions: dict[str, Counter[str]] = {kind: Counter() for kind in KINDS}
    vocabulary = load_vocabulary()
    for value in vocabulary:
        if value.pattern is None:
            continue
        for match in value.pattern.finditer(flat):
            if not negated(flat, match.start()):
                mentions[value.kind][value.slug] += 1
    bands = [(v.slug, v.years) for v in vocabulary if v.kind == "age_bands" and v.years]
    for position, age in stated_ages(flat):
        if negated(flat, position):
            continue
        for slug, (low, high) in bands:
            if low <= age <= high:
                mentions["age_bands"][slug] += 1
    return Circumstances({kind: dict(counts) for kind, counts in mentions.items()})

"""Metadata of a review from its text and file name: tested rules, never a wild guess.

Each field is found by an explicit pattern; where no pattern matches, the field is
``None``. A sidecar ``manifest.csv`` or ``manifest.yaml`` in a folder overrides any
field for the files it lists.
"""

from __future__ import annotations

import csv
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import ScrsearchError
from ..records import METADATA_FIELDS, NATIONS, REVIEW_TYPES, Extracted, Metadata

SIDECAR_NAMES = ("manifest.csv", "manifest.yaml", "manifest.yml")

#: How much of the start of a document the rules read (front matter lives there).
HEAD_CHARS = 4000

_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"

_PARTNERSHIP_SUFFIX = (
    r"(?:Local Safeguarding Children(?:'s)? Board|Safeguarding Children(?:'s)? Partnership"
    r"|Safeguarding Children Board|Safeguarding Adults? Board|Safeguarding Partnership"
    r"|Regional Safeguarding (?:Children )?Board|Community Safety Partnership"
    r"|Child Protection Committee|LSCB|LSCP|CSCP|SCP|SAB)"
)
_PARTNERSHIP = re.compile(
    r"\b((?:[A-Z][\w'’&.-]*(?:,? (?:and|&|of|upon|on|the) )?[ ]?){1,5}?)" + _PARTNERSHIP_SUFFIX
)
_NAME_WORDS = (
    r"(?:(?:Child|Baby|Adult|Young Person|Mr|Mrs|Ms|Miss) [A-Z]{1,2}\d?\b"
    r"|[A-Z][a-z]+(?: [A-Z][a-z]+)?)"
)
_REVIEW_NAME_PATTERNS = [
    re.compile(
        r"(?:Serious Case Review|Practice Review|Safeguarding Adults? Review|Domestic Homicide "
        r"Review|Learning Review|Briefing|SCR|CSPR|SAR|DHR)\s*(?:\(\w+\)\s*)?"
        r"(?:[:–—-]\s*|\s+)(?:into |regarding |concerning |about |of |for )?(?:the case of )?"
        rf"(?:the death of )?(?:\"|'|‘|“)?({_NAME_WORDS})\b"
    ),
    re.compile(
        r"\b(?i:regarding|concerning|in respect of|learning from|into the death of|"
        rf"(?:review|briefing) into) (?:the )?[\"'‘“]?({_NAME_WORDS})\b"
    ),
]
#: Capitalised words that start headings, not names ("Safer Sleep", "Overview Report").
_NOT_NAMES = frozenset(
    """The This A An Overview Executive Summary Report Published Learning Briefing Review
    Lessons Key Findings Introduction In Why What Child Safeguarding Serious Case Practice
    Local For Safer Sleep Resolving Professional Professionals Disagreement Disagreements
    Neglect Domestic Abuse Adults Children Partnership Board Multi Agency Final Extended
    Thematic Rapid National Panel Under Minute Seven Homicide""".split()
)

_TYPE_RULES: list[tuple[str, re.Pattern[str]]] = [
    (
        "pfd",
        re.compile(
            r"regulation 28|report to prevent future deaths|prevention of future deaths", re.I
        ),
    ),
    ("7-minute-briefing", re.compile(r"\b(7|seven)[- ]minute briefing", re.I)),
    ("dhr", re.compile(r"domestic homicide review", re.I)),
    ("sar", re.compile(r"safeguarding adults? review", re.I)),
    ("briefing", re.compile(r"learning (brief|briefing|summary)|briefing|\blearning from\b", re.I)),
    ("other", re.compile(r"\bchild practice review|adult practice review", re.I)),
    ("cspr", re.compile(r"child safeguarding practice review|\bcspr\b|\blcspr\b", re.I)),
    ("scr", re.compile(r"serious case review|\bscr\b", re.I)),
    (
        "guidance",
        re.compile(
            r"statutory guidance|non[- ]statutory (?:information sharing )?advice|"
            r"advice for practitioners|national framework|working together to safeguard",
            re.I,
        ),
    ),
]

_WELSH_AREAS = re.compile(
    r"\b(wales|welsh|gwent|cardiff|swansea|powys|ceredigion|carmarthenshire|pembrokeshire|"
    r"gwynedd|anglesey|conwy|denbighshire|flintshire|wrexham|bridgend|neath|port talbot|"
    r"rhondda|cwm taf|merthyr|caerphilly|newport|monmouthshire|torfaen|blaenau|vale of glamorgan)\b",
    re.I,
)


def extract_metadata(extracted: Extracted, path: Path) -> Metadata:
    """Apply the rules to the text and file name of one document."""
    text = extracted.text
    head = text[:HEAD_CHARS]
    review_type = detect_review_type(head, extracted.title, path.stem)
    return Metadata(
        title=detect_title(extracted, review_type, path),
        review_name=detect_review_name(head, review_type, path.stem, extracted.title),
        partnership=detect_partnership(head, review_type),
        year=detect_year(head, path.stem, review_type, extracted.title),
        review_type=review_type,
        nation=detect_nation(head, review_type),
    )


def detect_review_type(head: str, title: str | None, stem: str) -> str | None:
    # The title and the first lines say what a document is; later text may only
    # mention other kinds ("this briefing summarises the serious case review").
    first_lines = "\n".join(head.strip().splitlines()[:6])
    for where in (title or "", stem.replace("-", " ").replace("_", " "), first_lines, head):
        for name, pattern in _TYPE_RULES:
            if pattern.search(where):
                return name
    return None


def detect_title(extracted: Extracted, review_type: str | None, path: Path) -> str | None:
    if extracted.title and len(extracted.title) > 3:
        return _clean(extracted.title)
    if review_type == "pfd":
        name = _pfd_name(extracted.text[:HEAD_CHARS], path.stem)
        if name:
            return f"{name} - Prevention of future deaths report"
    lines = [
        ln.strip().lstrip("#").strip()
        for ln in extracted.text[:HEAD_CHARS].splitlines()
        if len(ln.strip().lstrip("#").strip()) >= 4
    ]
    lines = [ln for ln in lines if not re.match(r"^(this is a fictional|page \d)", ln, re.I)]
    if not lines:
        return None
    # Prefer the first line that names the kind of document over, say, the
    # partnership's name in a letterhead.
    for i, line in enumerate(lines[:8]):
        if _TITLE_WORDS.search(line) and not _PARTNERSHIP.fullmatch(line) and len(line) <= 150:
            title = line
            if len(line.split()) <= 3 and i + 1 < len(lines):
                title += " - " + lines[i + 1]
            return _clean(" - ".join(_unshout(part) for part in title.split(" - ")))
    return _clean(_unshout(lines[0][:200]))


_TITLE_WORDS = re.compile(r"\b(review|briefing|report|learning from|guidance|framework)\b", re.I)


def _unshout(text: str) -> str:
    """Title-case a line written in capitals."""
    return text.title() if text.isupper() else text


def _clean(value: str) -> str:
    return re.sub(r"\s+", " ", value).strip(" -–|:")


def _pfd_name(head: str, stem: str) -> str | None:
    match = re.search(
        r"(?:death of|touching the death of|into the death of)\s+(?:(?:Mr|Mrs|Ms|Miss|Master|Dr)\.?\s+)?"
        r"([A-Z][A-Za-z'’-]+(?: [A-Z][A-Za-z'’-]+){0,3})",
        head,
    )
    if match and "[" not in match.group(1) and match.group(1).upper() != match.group(1):
        return match.group(1).strip()
    slug = re.match(r"^\d{4}-\d{4}_([a-z-]+?)(?:-\d+)?$", stem)
    if slug:
        return " ".join(w.capitalize() for w in slug.group(1).split("-"))
    return None


def detect_review_name(
    head: str, review_type: str | None, stem: str, title: str | None = None
) -> str | None:
    if review_type == "pfd":
        named = re.match(r"^(.+?) - Prevention of future deaths", title or "", re.I)
        return named.group(1).strip() if named else _pfd_name(head, stem)
    if review_type == "guidance":
        return None
    for pattern in _REVIEW_NAME_PATTERNS:
        for match in pattern.finditer(head[:1500]):
            name = match.group(1)
            titled = re.match(
                r"^(Child|Baby|Adult|Young Person|Mr|Mrs|Ms|Miss) [A-Z]{1,2}\d?$", name
            )
            if titled or not set(name.split()) & _NOT_NAMES:
                return name
    return None


def detect_partnership(head: str, review_type: str | None) -> str | None:
    area = re.search(
        r"(?i:coroner area)(?i: of)?\s*[:\-]?\s*([A-Z][A-Za-z ,&'-]+?)\s*(?:\n|\.|$)", head
    )
    if review_type == "pfd" and area and "[" not in area.group(1):
        return f"Coroner area: {area.group(1).strip()}"
    match = _PARTNERSHIP.search(head)
    if match:
        return _clean(match.group(0))
    return None


def detect_year(
    head: str, stem: str, review_type: str | None, title: str | None = None
) -> int | None:
    patterns = [
        rf"published[:\s]+(?:on\s+)?(?:\d{{1,2}}(?:st|nd|rd|th)?\s+)?(?:(?:{_MONTHS})\s+)?((?:19|20)\d\d)",
        r"date of report[:\s]+((?:19|20)\d\d)",
        rf"date of (?:publication|report)[:\s]+\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTHS})\s+((?:19|20)\d\d)",
        rf"^\s*(?:{_MONTHS})\s+((?:19|20)\d\d)\s*$",
        r"^\s*((?:19|20)\d\d)\s*$",
    ]
    for pattern in patterns:
        match = re.search(pattern, head, re.I | re.M)
        if match:
            return int(match.group(1))
    if review_type == "pfd":
        # A coroner's report reference is YEAR-NNNN, in the title or the file name.
        ref = re.search(r"\b((?:19|20)\d\d)-\d{4}\b", f"{title or ''} {stem}")
        if ref:
            return int(ref.group(1))
    slug = re.match(r"^((?:19|20)\d\d)[-_]", stem)
    if slug:
        return int(slug.group(1))
    return None


def detect_nation(head: str, review_type: str | None) -> str | None:
    if re.search(r"northern ireland|case management review", head, re.I):
        return "northern-ireland"
    if re.search(r"\bscotland\b|child protection committee|significant case review", head, re.I):
        return "scotland"
    if _WELSH_AREAS.search(head) or re.search(
        r"child practice review|adult practice review", head, re.I
    ):
        return "wales"
    if review_type in ("cspr", "scr") or re.search(
        r"local safeguarding children board|safeguarding children partnership|"
        r"working together to safeguard children|department for education|\bdfe\b|ofsted|"
        r"care act 2014",
        head,
        re.I,
    ):
        return "england"
    if review_type in ("pfd", "dhr", "sar"):
        # Coroners' reports and Domestic Homicide Reviews cover England and Wales, and
        # Welsh areas were matched above; Safeguarding Adult Reviews are England's (the
        # Care Act 2014): Wales holds Adult Practice Reviews, also matched above.
        return "england"
    return None


# --- Sidecar manifests -----------------------------------------------------


def read_sidecar(folder: Path) -> dict[str, dict[str, Any]]:
    """Read a folder's sidecar manifest: ``{file name: {field: value}}``.

    Only the fields in :data:`METADATA_FIELDS` are read; blank cells are ignored.
    """
    for name in SIDECAR_NAMES:
        path = folder / name
        if path.is_file():
            rows = _read_rows(path)
            out: dict[str, dict[str, Any]] = {}
            for row in rows:
                file = str(row.get("file") or "").strip()
                if not file:
                    continue
                out[file] = {
                    k: _coerce(k, v)
                    for k, v in row.items()
                    if k in METADATA_FIELDS and v not in (None, "")
                }
            return out
    return {}


def _read_rows(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as fh:
            return list(csv.DictReader(fh))
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    if isinstance(data, dict):
        return [{"file": k, **(v or {})} for k, v in data.items()]
    return list(data)


def _coerce(field: str, value: Any) -> Any:
    if field == "year":
        return int(value)
    value = str(value).strip()
    if field == "review_type" and value not in REVIEW_TYPES:
        raise ValueError(f"review_type must be one of {', '.join(REVIEW_TYPES)}, not '{value}'")
    if field == "nation" and value not in NATIONS:
        raise ValueError(f"nation must be one of {', '.join(NATIONS)}, not '{value}'")
    return value


def apply_overrides(meta: Metadata, overrides: dict[str, Any] | None) -> Metadata:
    if not overrides:
        return meta
    return replace(meta, **{k: v for k, v in overrides.items() if k in METADATA_FIELDS})


# --- Checking values a person gives ----------------------------------------


class MetadataError(ScrsearchError):
    """A metadata value (a correction, a catalogue cell) that cannot be stored."""


def clean_metadata(changes: dict[str, Any]) -> dict[str, Any]:
    """Check and normalise a metadata correction; blank values mean unknown.

    Raises:
        MetadataError: an unknown field or a value that cannot be stored.
    """
    out: dict[str, Any] = {}
    for name, raw in changes.items():
        if name not in METADATA_FIELDS:
            raise MetadataError(
                f"Unknown metadata field '{name}': use one of {', '.join(METADATA_FIELDS)}"
            )
        value = raw.strip() if isinstance(raw, str) else raw
        if value is None or value == "" or (isinstance(value, float) and value != value):
            out[name] = None
            continue
        if name == "year":
            try:
                year = int(float(value))
            except (TypeError, ValueError):
                raise MetadataError(
                    f"Year '{raw}' is not a number: give a year like 2019"
                ) from None
            if not 1900 <= year <= 2100:
                raise MetadataError(f"Year {year} is out of range: give a year from 1900 to 2100")
            out[name] = year
        elif name in ("review_type", "nation"):
            allowed = REVIEW_TYPES if name == "review_type" else NATIONS
            value = str(value).lower()
            if value not in allowed:
                raise MetadataError(
                    f"Unknown {name.replace('_', ' ')} '{raw}': use one of {', '.join(allowed)}"
                )
            out[name] = value
        else:
            out[name] = str(value)
    return out

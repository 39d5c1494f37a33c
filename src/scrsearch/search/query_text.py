"""Query text: the words that matter, domain abbreviations, and safe FTS5 queries."""

from __future__ import annotations

import re

#: Words left out of keyword queries and highlighting.
STOPWORDS = frozenset(
    (
        "a about above after again against all am an and any are as at be because been "
        "before being below between both but by can could did do does doing down during "
        "each few for from further had has have having he her here hers herself him "
        "himself his how i if in into is it its itself just me more most my myself no nor "
        "not of off on once only or other our ours ourselves out over own same she should "
        "so some such than that the their theirs them themselves then there these they "
        "this those through to too under until up very was we were what when where which "
        "while who whom why will with would you your yours yourself yourselves didnt dont "
        "doesnt isnt wasnt werent anyone anything"
    ).split()
)

#: Domain abbreviations and their expansions, added to keyword queries both ways.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "camhs": ("child and adolescent mental health services",),
    "lac": ("looked after children", "child in care"),
    "cla": ("children looked after",),
    "cp": ("child protection",),
    "cin": ("child in need",),
    "s47": ("section 47",),
    "mash": ("multi agency safeguarding hub",),
    "marac": ("multi agency risk assessment conference",),
    "mappa": ("multi agency public protection arrangements",),
    "dv": ("domestic violence",),
    "da": ("domestic abuse",),
    "cse": ("child sexual exploitation",),
    "cce": ("child criminal exploitation",),
    "sudi": ("sudden unexpected death in infancy",),
    "fii": ("fabricated or induced illness",),
    "hv": ("health visitor",),
    "gp": ("general practitioner",),
    "ae": ("accident and emergency",),
    "ehc": ("education health and care",),
    "send": ("special educational needs",),
    "nai": ("non accidental injury",),
    "scr": ("serious case review",),
    "cspr": ("child safeguarding practice review",),
    "sar": ("safeguarding adults review",),
    "dhr": ("domestic homicide review",),
    "pfd": ("prevention of future deaths",),
    "lado": ("local authority designated officer",),
}


def query_terms(query: str) -> list[str]:
    """The words of a query that matter: lower-cased, without stopwords."""
    words = re.findall(r"\w+", query.lower())
    kept = [w for w in words if w not in STOPWORDS]
    return kept or words


def fts_query(query: str, *, expand: bool = True) -> str | None:
    """Build a safe FTS5 query: every term and phrase quoted, joined by OR.

    Double-quoted phrases in the user's query stay phrases. Nothing the user types
    can reach FTS5 syntax, so ``"``, ``AND(`` or ``*`` never raise.
    """
    return " OR ".join(fts_parts(query, expand=expand)) or None


def fts_parts(query: str, *, expand: bool = True) -> list[str]:
    """The quoted terms and phrases of :func:`fts_query`, in query order."""
    phrases = [p for p in re.findall(r'"([^"]+)"', query) if re.search(r"\w", p)]
    rest = re.sub(r'"[^"]*"', " ", query)  # an unmatched quote's words stay terms
    terms = query_terms(rest)
    parts = [" ".join(re.findall(r"\w+", p)) for p in phrases] + terms
    if expand:
        for term in list(terms):
            parts.extend(SYNONYMS.get(term, ()))
    return list(dict.fromkeys('"' + p.replace('"', '""') + '"' for p in parts if p))

"""Does a query look like case notes? Then it must not go into a URL.

The Search page keeps a query in the address bar (``?q=...``) so that a search can
be shared; the browser then keeps it in its history, its bookmarks and any link
copied from it. That is right for "escalation policy not used", and wrong for a
pasted description of a child. :func:`case_note_signs` names what makes a query
look like case notes; a :class:`~scrsearch.search.request.SearchRequest` whose
query shows any sign leaves it out of its URL parameters.

The signs (each a plain rule, so the page can say which one it saw):

- **long**: more than :data:`LONG_WORDS` words or :data:`LONG_CHARS` characters
  (the longest of the 97 judged search queries has 22 words and 133 characters);
- **a name**: a title and a capitalised word ("Mrs Patel"), or two capitalised
  words in a row that are not common words or safeguarding vocabulary
  ("Kayden Marsh", but not "Serious Case Review" or "Clare's Law");
- **a date of birth**: "DOB", "date of birth", "born on ...", or a full date with
  its day ("12/03/2019", "3 March 2019");
- **an NHS number** (ten digits, 3-3-4) or **a postcode**.

A false alarm costs little (the search still runs, only the link cannot be shared);
a miss would leave a child's details in the browser's history, so the rules lean
towards seeing case notes.
"""

from __future__ import annotations

import re

from .query_text import STOPWORDS

#: More words than this: case notes, not a search.
LONG_WORDS = 30
#: More characters than this: case notes, not a search.
LONG_CHARS = 200

_MONTHS = (
    "january february march april may june july august september october november "
    "december jan feb mar apr jun jul aug sep sept oct nov dec"
).split()

#: Capitalised words that are not names: the vocabulary of case reviews, agencies,
#: places in review titles, days and months. Lower case; compared lower-cased.
NOT_NAMES = frozenset(
    (
        "serious case review reviews child children childrens baby babies safeguarding "
        "practice partnership partnerships board boards local learning briefing briefings "
        "lesson lessons domestic homicide adult adults social care services service council "
        "county borough city police court courts family families law laws operation "
        "encompass national framework prevention future deaths death report reports coroner "
        "coroners regulation mental health act trust nhs hospital hospitals school schools "
        "college university youth justice team teams early help multi agency agencies "
        "protection plan plans conference conferences strategy discussion meeting meetings "
        "minute seven executive summary overview safer sleep england wales welsh scotland "
        "northern ireland ofsted department education working together section public "
        "guidance information sharing advice panel extended office officer officers "
        "designated authority authorities independent inquiry inquest government home "
        "secretary probation housing emergency department unit ward general practitioner "
        "primary secondary special needs young person people offender institution "
        "institutions community safety commissioner commissioning standards quality "
        "clinical commissioning group integrated dr mr mrs ms miss mx mum mother dad "
        "father gran grandmother grandfather nan aunt uncle brother sister partner "
        "monday tuesday wednesday thursday friday saturday sunday"
    ).split()
    + _MONTHS
)

_TITLE_NAME = re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr)\.?\s+[A-Z][a-z]+")
_CAPITALISED = re.compile(r"\b[A-Z][a-z]+(?:['’][a-z]+)?(?:-[A-Z][a-z]+)?\b")
_DOB_WORDS = re.compile(r"\b(?:d\.?o\.?b\b\.?|date of birth|born (?:on|in)\b)", re.IGNORECASE)
_NUMERIC_DATE = re.compile(r"\b\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})\b")
_WORDED_DATE = re.compile(
    r"\b\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:" + "|".join(_MONTHS) + r")\.?,?\s+\d{4}\b",
    re.IGNORECASE,
)
_NHS_NUMBER = re.compile(r"\b\d{3}[ -]?\d{3}[ -]?\d{4}\b")
_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b")


def case_note_signs(text: str) -> tuple[str, ...]:
    """What makes ``text`` look like case notes, in words; empty when nothing does.

    >>> case_note_signs("escalation policy not used")
    ()
    >>> case_note_signs("Kayden Marsh, DOB 04/07/2019")
    ('a name', 'a date of birth')
    """
    signs: list[str] = []
    words = len(text.split())
    if words > LONG_WORDS or len(text.strip()) > LONG_CHARS:
        signs.append(f"it is long ({words} words)")
    if _has_name(text):
        signs.append("a name")
    if _DOB_WORDS.search(text) or _NUMERIC_DATE.search(text) or _WORDED_DATE.search(text):
        signs.append("a date of birth")
    if _NHS_NUMBER.search(text):
        signs.append("an NHS number")
    if _POSTCODE.search(text):
        signs.append("a postcode")
    return tuple(signs)


def looks_like_case_notes(text: str) -> bool:
    """Whether ``text`` shows any sign of being case notes (see :func:`case_note_signs`)."""
    return bool(case_note_signs(text))


def _has_name(text: str) -> bool:
    if _TITLE_NAME.search(text):
        return True
    previous_end, previous_is_name = -1, False
    for match in _CAPITALISED.finditer(text):
        word = re.split(r"['’]", match.group())[0].lower()
        is_name = word not in NOT_NAMES and word not in STOPWORDS and len(word) > 1
        adjacent = text[previous_end : match.start()] in (" ", "-")
        if is_name and previous_is_name and adjacent:
            return True
        previous_end, previous_is_name = match.end(), is_name
    return False

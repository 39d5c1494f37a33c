"""Does a query look like case notes? Then the Search page keeps it out of the URL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scrsearch.search.case_notes import (
    LONG_CHARS,
    LONG_WORDS,
    case_note_signs,
    looks_like_case_notes,
)
from scrsearch.search.request import SearchRequest

DATA = Path(__file__).resolve().parent / "data"


def _queries(name: str) -> list[str]:
    return [q["query"] for q in json.loads((DATA / name).read_text())["queries"]]


def test_no_judged_search_query_looks_like_case_notes() -> None:
    searches = _queries("qrels_real.json") + _queries("qrels_demo.json")
    assert len(searches) == 97
    flagged = [q for q in searches if looks_like_case_notes(q)]
    assert flagged == []


def test_every_judged_case_description_looks_like_case_notes() -> None:
    cases = _queries("qrels_cases.json")
    assert len(cases) >= 20
    assert all(looks_like_case_notes(c) for c in cases)


@pytest.mark.parametrize(
    ("text", "sign"),
    [
        ("word " * (LONG_WORDS + 1), "it is long"),
        ("x" * (LONG_CHARS + 1), "it is long"),
        ("Kayden Marsh was seen at school", "a name"),
        ("seen with Mrs Patel at the door", "a name"),
        ("Dr. Okafor referred", "a name"),
        ("Amy-Leigh Jones-Smith", "a name"),
        ("DOB 04/07/2019", "a date of birth"),
        ("d.o.b. unknown", "a date of birth"),
        ("date of birth on file", "a date of birth"),
        ("born on the ward", "a date of birth"),
        ("seen 12/03/19 by the HV", "a date of birth"),
        ("3rd March 2019 strategy", "a date of birth"),
        ("nhs no 943 476 5919", "an NHS number"),
        ("moved to LS6 2AB", "a postcode"),
    ],
)
def test_each_sign_is_seen(text: str, sign: str) -> None:
    assert any(s.startswith(sign) for s in case_note_signs(text)), case_note_signs(text)


@pytest.mark.parametrize(
    "text",
    [
        "escalation policy not used",
        "Serious Case Review George",
        "Learning from Serious Case Review George",
        "Clare's Law disclosure",
        "Operation Encompass notifications",
        "Child K bruising",
        "Baby M pre-birth assessment",
        "Domestic Homicide Review coercive control",
        "CAMHS waiting list March 2017",
        "child protection plan (Mum and Dad)",
        "review published in 2019 about a 14-year-old",
    ],
)
def test_searches_are_not_case_notes(text: str) -> None:
    assert case_note_signs(text) == ()


def test_a_sentence_break_between_two_capitalised_words_is_not_a_name() -> None:
    assert "a name" not in case_note_signs("Visited Tuesday. Nursery said fine.")
    assert "a name" not in case_note_signs("Mum. Harrowdale is where")


def test_a_private_request_keeps_its_query_out_of_the_url() -> None:
    private = SearchRequest("Kayden Marsh, two, bruising", mode="semantic", group=True)
    assert private.private
    assert private.to_params() == {"mode": "semantic", "group": "1"}
    assert "Kayden" not in json.dumps(SearchRequest(query=private.query, like=5).to_params())
    shared = SearchRequest("new partner not checked", mode="semantic")
    assert not shared.private
    assert shared.to_params() == {"q": "new partner not checked", "mode": "semantic"}
    assert SearchRequest.from_params(shared.to_params()) == shared

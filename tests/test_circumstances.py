"""The agencies, age bands and harms a text states, from data/circumstances.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

from scrsearch.themes import circumstances
from scrsearch.themes.circumstances import (
    KINDS,
    CircumstancesFileError,
    extract,
    load_vocabulary,
    negated,
    stated_ages,
)

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


def stated(text: str, kind: str) -> tuple[str, ...]:
    return extract(text).stated(kind)


def test_the_vocabulary_loads_with_every_kind() -> None:
    values = load_vocabulary()
    assert {v.kind for v in values} == set(KINDS)
    slugs = [v.slug for v in values]
    assert len(slugs) == len(set(slugs)), "slugs are unique across kinds"
    assert all(v.label for v in values)
    assert circumstances.labels()["camhs"] == "Child and adolescent mental health services"


@pytest.mark.parametrize(
    ("text", "agency"),
    [
        ("the health visitor saw the baby", "health-visiting"),
        ("referred to CAMHS in May", "camhs"),
        ("the DSL spoke to her form tutor at school", "school"),
        ("police attended the address", "police"),
        ("the GP noticed a bruise", "gp"),
        ("seen in A&E after an overdose", "hospital"),
        ("the nursery manager was uneasy", "early-years"),
        ("his probation officer knew", "probation-youth-justice"),
        ("a child in need plan", "childrens-social-care"),
        ("the IDVA referred to MARAC", "domestic-abuse-services"),
    ],
)
def test_agencies(text: str, agency: str) -> None:
    assert agency in stated(text, "agencies")


@pytest.mark.parametrize(
    ("text", "band"),
    [
        ("a two-year-old boy", "pre-school"),
        ("Child B, aged 20 months", "pre-school"),
        ("she is 20 months old", "pre-school"),
        ("George was two years old", "pre-school"),
        ("aged 14 at the time", "adolescent"),
        ("a 15 year old girl", "adolescent"),
        ("a teenager who self-harms", "adolescent"),
        ("the baby was seven weeks old", "baby"),
        ("Baby M, ten weeks old", "baby"),
        ("a pre-birth assessment", "unborn"),
        ("a nine-year-old", "primary-age"),
        ("the care leaver, aged 19", "young-adult"),
        ("Mr D was 68 when he died, aged 68", "adult"),
    ],
)
def test_age_bands(text: str, band: str) -> None:
    assert band in stated(text, "age_bands")


def test_stated_ages_read_words_and_numbers() -> None:
    text = "a 14-year-old, her sister aged three, a baby six weeks old and one 20 months old"
    assert [age for _, age in stated_ages(text)] == [14, 3, 0, 1]


@pytest.mark.parametrize(
    ("text", "harm"),
    [
        ("a fractured skull and bruising", "physical-injury"),
        ("the home conditions were poor", "neglect"),
        ("county lines drug running", "criminal-exploitation"),
        ("coercive and controlling behaviour", "domestic-abuse"),
        ("she took her own life", "suicide-self-harm"),
        ("he was cutting himself", "suicide-self-harm"),
        ("asleep on the sofa with his father", "sudden-infant-death"),
        ("self-harm images on Instagram", "online-harm"),
        ("the toddler ingested methadone", "ingestion-poisoning"),
        ("groomed by older men", "sexual-exploitation"),
    ],
)
def test_harms(text: str, harm: str) -> None:
    assert harm in stated(text, "harms")


@pytest.mark.parametrize(
    ("text", "kind", "slug"),
    [
        ("There was no police involvement.", "agencies", "police"),
        ("She was not known to CAMHS.", "agencies", "camhs"),
        ("never been known to children's social care", "agencies", "childrens-social-care"),
        ("Mum denied any domestic abuse.", "harms", "domestic-abuse"),
        ("no previous police involvement at all", "agencies", "police"),
    ],
)
def test_a_negated_statement_does_not_count(text: str, kind: str, slug: str) -> None:
    assert slug not in stated(text, kind)


@pytest.mark.parametrize(
    ("text", "kind", "slug"),
    [
        ("He was not brought to the GP.", "agencies", "gp"),
        ("She did not attend school for weeks.", "agencies", "school"),
        ("No one told the police. The police attended later.", "agencies", "police"),
    ],
)
def test_not_brought_and_did_not_attend_still_count(text: str, kind: str, slug: str) -> None:
    assert slug in stated(text, kind)


def test_negation_reaches_over_three_words_at_most() -> None:
    near = "no contact with the police"
    assert negated(near, near.index("police")) is True  # three words between
    far = "no recorded contact with the police"
    assert negated(far, far.index("police")) is False  # four words between


def test_counts_let_a_long_text_name_its_main_age_band() -> None:
    text = "The 14-year-old girl, aged 14, a teenager. Her mother was aged 19 at her birth."
    found = extract(text)
    assert found.mentions["age_bands"] == {"adolescent": 3, "young-adult": 1}
    assert found.dominant("age_bands", 0.5) == ("adolescent",)
    assert found.dominant("age_bands", 0.0) == ("adolescent", "young-adult")


def test_the_george_briefing() -> None:
    found = extract((CORPUS / "george-briefing.txt").read_text(encoding="utf-8"))
    assert found.stated("age_bands") == ("pre-school",)
    assert "childrens-social-care" in found.stated("agencies")
    assert set(found.stated("harms")) >= {"neglect", "physical-injury"}


def test_a_bad_vocabulary_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("agencies:\n  - slug: x\n    label: X\n    patterns: ['(unclosed']\n")
    with pytest.raises(CircumstancesFileError, match=r"bad\.yaml: agencies 'x' has a bad pattern"):
        load_vocabulary(str(bad))
    bad.write_text("harms:\n  - label: no slug\n")
    with pytest.raises(CircumstancesFileError, match="harms entry #1 needs a slug and a label"):
        load_vocabulary(str(bad))

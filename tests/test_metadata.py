"""Metadata rules: each field from an explicit pattern, unknown is None, sidecars override."""

from __future__ import annotations

from pathlib import Path

import pytest

from scrsearch.ingestion.metadata import (
    apply_overrides,
    detect_nation,
    detect_partnership,
    detect_review_name,
    detect_review_type,
    detect_year,
    extract_metadata,
    read_sidecar,
)
from scrsearch.records import Extracted, Metadata, Page

GEORGE = Path(__file__).resolve().parents[2] / "shared" / "seed" / "george-briefing.txt"


def doc(text: str, title: str | None = None) -> Extracted:
    return Extracted((Page(1, text),), False, "text", title=title)


def test_george_briefing() -> None:
    from scrsearch.ingestion.extract import extract

    meta = extract_metadata(extract(GEORGE), GEORGE)
    assert meta == Metadata(
        title="Learning from Serious Case Review George",
        review_name="George",
        partnership="Cumbria LSCB",
        year=2020,
        review_type="briefing",
        nation="england",
    )


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        ("REGULATION 28: REPORT TO PREVENT FUTURE DEATHS", "pfd"),
        ("7 Minute Briefing: Neglect", "7-minute-briefing"),
        ("Seven minute briefing\nChild N", "7-minute-briefing"),
        ("Safeguarding Adults Review: Mr B", "sar"),
        ("Domestic Homicide Review\nExecutive summary", "dhr"),
        ("Local Child Safeguarding Practice Review: Child F", "cspr"),
        ("Serious Case Review\nOverview report", "scr"),
        ("Learning from Serious Case Review George", "briefing"),
        ("Working Together to Safeguard Children: statutory guidance", "guidance"),
        ("Minutes of the board meeting", None),
    ],
)
def test_review_type_rules(head: str, expected: str | None) -> None:
    assert detect_review_type(head, None, "file") == expected


def test_type_from_first_lines_beats_later_mentions() -> None:
    head = "7 Minute Briefing: Escalation\nLearning from the Serious Case Review into Child T"
    assert detect_review_type(head, None, "x") == "7-minute-briefing"


@pytest.mark.parametrize(
    ("head", "stem", "expected"),
    [
        ("George (published 15 May 2020)", "x", 2020),
        ("Published: March 2017", "x", 2017),
        ("Date of report: 2022-10-13", "x", 2022),
        ("December 2023", "x", 2023),
        ("No date anywhere in this text", "2019-0090_ellie-long", 2019),
        ("Written in 2015 about events in 2013", "report", None),  # no explicit date: unknown
    ],
)
def test_year_rules(head: str, stem: str, expected: int | None) -> None:
    assert detect_year(head, stem, None) == expected


def test_pfd_year_from_reference_in_title() -> None:
    title = "Amy Henderson - Prevention of future deaths report - 2023-0129"
    assert detect_year("no date", "Amy_Henderson", "pfd", title) == 2023


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (
            "Harrowdale Local Safeguarding Children Board\nSerious Case Review",
            "Harrowdale Local Safeguarding Children Board",
        ),
        ("Commissioned by Cumbria LSCB in 2018", "Cumbria LSCB"),
        ("Calder Brook Safeguarding Adults Board", "Calder Brook Safeguarding Adults Board"),
        ("Nothing about who wrote this.", None),
    ],
)
def test_partnership_rules(head: str, expected: str | None) -> None:
    assert detect_partnership(head, None) == expected


def test_coroner_area_and_blank_template() -> None:
    assert detect_partnership("Coroner area: London North\n", "pfd") == "Coroner area: London North"
    template = "I am [NAME], for the coroner area of \n[NAME OF AREA]\n"
    assert detect_partnership(template, "pfd") is None


@pytest.mark.parametrize(
    ("head", "rtype", "expected"),
    [
        ("Serious Case Review: Child K - Overview Report", "scr", "Child K"),
        ("7 Minute Briefing: Safer Sleep - Learning from Baby R", "7-minute-briefing", "Baby R"),
        ('DOMESTIC HOMICIDE REVIEW\nInto the death of "Sarah" in June 2015', "dhr", "Sarah"),
        ("Safeguarding Adult Review: Mr D", "sar", "Mr D"),
        ("Learning Briefing: Child Safeguarding Practice Review - Ellie", "briefing", "Ellie"),
        ("Thematic review of neglect across the county", "other", None),
    ],
)
def test_review_name_rules(head: str, rtype: str, expected: str | None) -> None:
    assert detect_review_name(head, rtype, "file") == expected


def test_pfd_name_from_text_then_file_name() -> None:
    head = "I opened an investigation touching the death of Molly Rose Russell, aged 14"
    assert detect_review_name(head, "pfd", "x") == "Molly Rose Russell"
    assert (
        detect_review_name("no name here", "pfd", "2014-0047_tallulah-wilson") == "Tallulah Wilson"
    )


def test_nation_rules() -> None:
    assert detect_nation("Cwm Taf Regional Safeguarding Board", None) == "wales"
    assert detect_nation("Edinburgh Child Protection Committee", None) == "scotland"
    assert detect_nation("Harrowdale Safeguarding Children Partnership", None) == "england"
    assert detect_nation("A report with no place", None) is None


@pytest.mark.parametrize("review_type", ["dhr", "sar", "pfd"])
def test_england_and_wales_review_types_are_english_unless_a_welsh_area_is_named(
    review_type: str,
) -> None:
    assert (
        detect_nation("Domestic Homicide Review into the death of Ms A", review_type) == "england"
    )
    assert detect_nation("Cardiff Community Safety Partnership", review_type) == "wales"
    assert detect_nation("Review into the death of Ms A", None) is None


def test_unknown_fields_stay_none() -> None:
    meta = extract_metadata(
        doc("Some notes\nabout nothing in particular, undated."), Path("notes.txt")
    )
    assert meta.year is None and meta.partnership is None and meta.review_type is None
    assert meta.review_name is None and meta.nation is None


def test_sidecar_csv_overrides_fields(tmp_path: Path) -> None:
    (tmp_path / "manifest.csv").write_text(
        "file,title,year,review_type,partnership\na.txt,Corrected title,2011,scr,\n",
        encoding="utf-8",
    )
    sidecar = read_sidecar(tmp_path)
    assert sidecar == {"a.txt": {"title": "Corrected title", "year": 2011, "review_type": "scr"}}
    meta = apply_overrides(Metadata(title="Wrong", partnership="Kept"), sidecar["a.txt"])
    assert meta == Metadata(
        title="Corrected title", year=2011, review_type="scr", partnership="Kept"
    )


def test_sidecar_yaml_and_bad_values(tmp_path: Path) -> None:
    (tmp_path / "manifest.yaml").write_text("b.pdf:\n  nation: wales\n  year: 2019\n")
    assert read_sidecar(tmp_path) == {"b.pdf": {"nation": "wales", "year": 2019}}
    (tmp_path / "manifest.yaml").write_text("b.pdf:\n  review_type: memo\n")
    with pytest.raises(ValueError, match="review_type must be one of"):
        read_sidecar(tmp_path)

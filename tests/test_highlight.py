"""Display helpers: reflowing a PDF's wrapped lines, and escaped highlighting."""

from __future__ import annotations

from scrsearch.present.highlight import reflow, to_html, unwrap

# As pypdf gives a page of the Children's social care national framework: every
# line ends where the PDF's line did, with a trailing space.
WRAPPED = (
    "• Practitioners integrate their help and protection roles with confidence and \n"
    "compassion, making good use of their professional authority, clearly conveying \n"
    "their concerns to parents, carers, family networks and other agencies so everyone \n"
    "is clear about what needs to change in children and young people’s lives. \n"
    "• Practitioners use professional curiosity and critical analysis to challenge \n"
    "themselves to consider all relevant evidence. \n"
    " \n"
    "Practice supervisors provide supervision to facilitate curiosity, learning and \n"
    "reflection, and build on the strengths of practitioners, helping teams with pre-\n"
    "birth assessments.\n"
    "Next steps\n"
    "Local authorities should review their multi-agency arrangements for the whole \n"
    "of the year ahead."
)


def test_wrapped_lines_are_joined_and_structure_kept() -> None:
    assert reflow(WRAPPED).split("\n") == [
        "• Practitioners integrate their help and protection roles with confidence and "
        "compassion, making good use of their professional authority, clearly conveying "
        "their concerns to parents, carers, family networks and other agencies so everyone "
        "is clear about what needs to change in children and young people’s lives.",
        # a bullet starts a new line
        "• Practitioners use professional curiosity and critical analysis to challenge "
        "themselves to consider all relevant evidence.",
        "",  # a blank line is a paragraph break
        "Practice supervisors provide supervision to facilitate curiosity, learning and "
        "reflection, and build on the strengths of practitioners, helping teams with "
        "pre-birth assessments.",  # a hyphen at a line end joins without a space
        "Next steps",  # a short line ends its paragraph, and a heading stands alone
        "Local authorities should review their multi-agency arrangements for the whole "
        "of the year ahead.",
    ]


def test_numbered_items_keep_their_lines() -> None:
    text = (
        "7. After the identification of the disabled toilet as a high-risk area in 2021, the\n"
        "ligature risk was not effectively managed although the Priory considered it was.\n"
        "8. Amy had unrestricted access to the disabled toilet, which was accessible to all\n"
        "patients, staff and visitors.\n"
        "(b) The Jury was not able to make a finding as to whether Amy was alive then."
    )
    assert reflow(text).split("\n") == [
        "7. After the identification of the disabled toilet as a high-risk area in 2021, the "
        "ligature risk was not effectively managed although the Priory considered it was.",
        "8. Amy had unrestricted access to the disabled toilet, which was accessible to all "
        "patients, staff and visitors.",
        "(b) The Jury was not able to make a finding as to whether Amy was alive then.",
    ]


def test_a_table_of_contents_keeps_its_lines() -> None:
    # The contents page of the Children's social care national framework, as pypdf gives it.
    contents = (
        "Introduction 3 \n"
        "About this guidance 3 \n"
        "The Children’s Social Care Dashboard 4 \n"
        "Support to embed the National Framework 4 \n"
        "Review date 5 \n"
        "What is the status of this guidance? 5 \n"
        "Who is this guidance for? 6 \n"
        "National Framework: Key Concepts 10 \n"
    )
    assert reflow(contents).split("\n") == [line.strip() for line in contents.splitlines()]


def test_short_lines_are_left_alone() -> None:
    header = "Report ref: 2014-0285\nDate of report: 2014-05-25\nCoroner: A. Walker  \n\n\n"
    assert reflow(header) == "Report ref: 2014-0285\nDate of report: 2014-05-25\nCoroner: A. Walker"
    assert reflow("") == ""
    assert reflow("One line of text.") == "One line of text."


def test_paragraph_breaks_collapse_to_one_blank_line() -> None:
    long = "The review found that " + "x" * 60 + "."
    assert reflow(f"{long}\n\n\n \n{long}") == f"{long}\n\n{long}"


def test_a_sentence_split_by_a_page_break_is_joined() -> None:
    # The end of page 19 and the start of page 20 of the DfE information sharing advice.
    text = (
        "cases, e.g., neglect, the indicators may be subtle and appear or build up over time.\n"
        "In these cases, the situation can often be more difficult\n\n"
        "to judge, however action should still be taken, and you should report concerns.\n\n"
        "Practitioners should use their judgement when making decisions on what to share."
    )
    assert reflow(text).split("\n") == [
        "cases, e.g., neglect, the indicators may be subtle and appear or build up over time. "
        "In these cases, the situation can often be more difficult to judge, however action "
        "should still be taken, and you should report concerns.",
        "",  # a full stop, then a capital: a real paragraph break
        "Practitioners should use their judgement when making decisions on what to share.",
    ]


def test_to_html_escapes_every_piece() -> None:
    html = to_html("<script>alert(1)</script> escalation & policy", "escalation")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<mark>escalation</mark> &amp; policy" in html


def test_unwrap_joins_in_place_and_keeps_every_offset() -> None:
    """The Review page marks a passage by its offsets in the page text, so unwrapping
    must only turn wrap newlines into spaces."""
    page = WRAPPED + "\n\n" + "Report ref: 2014-0285"
    flat = unwrap(page)
    assert len(flat) == len(page)
    assert [i for i, (a, b) in enumerate(zip(page, flat, strict=True)) if a != b] == [
        i for i, c in enumerate(page) if c == "\n" and flat[i] == " "
    ]
    lines = flat.split("\n")
    assert lines[0].startswith("• Practitioners integrate") and "compassion," in lines[0]
    assert lines[1].startswith("• Practitioners use professional curiosity")
    assert "helping teams with pre-" in flat and "\nbirth assessments." in flat  # kept
    assert "Next steps\nLocal authorities" in flat
    # Reading it as reflow does gives reflow's text.
    assert reflow(flat) == reflow(page)


def test_unwrap_leaves_short_lines_alone() -> None:
    header = "Report ref: 2014-0285\nDate of report: 2014-05-25\nCoroner: A. Walker"
    assert unwrap(header) == header

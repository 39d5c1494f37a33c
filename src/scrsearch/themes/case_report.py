"""A "Like my case" result as Markdown, for a supervision note or a team meeting.

The case text is left out unless it is passed in (the app asks first): the result
itself never holds it. Every passage and lesson is cited by review, partnership,
year, page and section, as in any other export.
"""

from __future__ import annotations

from datetime import date

from ..present.export import _md, _quote, citation
from ..records import Hit
from . import circumstances
from .cases import CaseMatch, LessonMatch, ReviewMatch

#: The export's file name: fixed, so that nothing of the case reaches the file system
#: through it.
FILE_NAME = "scrsearch-like-my-case.md"

_WHY = (
    ("agencies", "Agencies in both"),
    ("age_bands", "Age band in both"),
    ("harms", "Harm in both"),
)


def why_lines(review: ReviewMatch, labels: dict[str, str]) -> list[tuple[str, str]]:
    """``(label, items)`` for each kind of thing the case and the review share, in words."""
    named = circumstances.labels()
    lines = []
    if review.why.themes:
        lines.append(("Shared themes", ", ".join(labels.get(s, s) for s, _ in review.why.themes)))
    for kind, label in _WHY:
        slugs = getattr(review.why, kind)
        if slugs:
            lines.append((label, ", ".join(named.get(s, s) for s in slugs)))
    return lines


def to_markdown(match: CaseMatch, *, case_text: str | None = None) -> str:
    """The reviews like the case, why, their matching passages and their lessons.

    Args:
        match: the result of :func:`scrsearch.themes.cases.match_case`.
        case_text: the case description, quoted at the top; ``None`` leaves it out.
    """
    lines = ["# Reviews like my case", ""]
    lines += [f"Exported {date.today().isoformat()} · {len(match.reviews)} reviews", ""]
    if case_text is not None:
        lines += ["## The case as described", "", _quote(case_text), ""]
    else:
        lines += ["_The case description is not included in this file._", ""]
    themes = ", ".join(match.labels.get(s, s) for s, _ in match.case.themes) or "none"
    lines += [f"Themes read in the case: {_md(themes)}", ""]
    for review in match.reviews:
        lines += _review(review, match.labels)
    return "\n".join(lines).rstrip() + "\n"


def _review(review: ReviewMatch, labels: dict[str, str]) -> list[str]:
    meta = review.document.metadata
    details = " · ".join(str(x) for x in (meta.partnership, meta.year, meta.review_type) if x)
    lines = [f"## {review.rank}. {_md(review.document.title)}", ""]
    lines += [f"*{_md(details)}* · score {review.score:.3f}", ""] if details else []
    for label, items in why_lines(review, labels):
        lines += [f"- **{label}:** {_md(items)}"]
    lines += ["", "### Matching passages", ""]
    for hit in review.passages:
        lines += [_quote(hit.chunk.text), "", f"— {_md(citation(hit))}", ""]
    if review.lessons:
        lines += [f"### Lessons and recommendations ({review.n_lessons}, closest first)", ""]
        for lesson in review.lessons:
            lines += [
                _quote(lesson.chunk.text),
                "",
                f"— {_md(_lesson_citation(review, lesson))}",
                "",
            ]
    return lines


def _lesson_citation(review: ReviewMatch, lesson: LessonMatch) -> str:
    return citation(Hit(lesson.chunk, review.document, lesson.similarity, 0, "lesson"))

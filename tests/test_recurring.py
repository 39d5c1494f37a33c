"""Recurring learning groups and "said before": determinism, caching, filters, JSON shapes.

On the demo corpus indexed with the hash embedder (fast; the real model's groups are
measured by ``scrsearch eval-recurring``, see tests/data/JUDGING_recurring.md).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import CORPUS, build_hash_index
from scrsearch.cli import cli
from scrsearch.errors import ScrsearchError
from scrsearch.index.generations import Index
from scrsearch.themes import clustering, recurring
from scrsearch.themes.filters import ReviewFilters
from scrsearch.themes.recurring import recurring_groups, said_before

GROUP_KEYS = ["id", "label", "reviews", "first_year", "last_year", "themes", "passages"]
PASSAGE_KEYS = [
    "chunk_id",
    "doc_id",
    "title",
    "source",
    "year",
    "section",
    "page_start",
    "page_end",
    "text",
]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_hash_index(tmp_path_factory, "recurring", [CORPUS])


@pytest.fixture
def index_dir(template: Path, tmp_path: Path) -> Path:
    """A fresh copy, with no cached groups and none in this process."""
    target = tmp_path / "index"
    shutil.copytree(template, target)
    recurring._MEMORY.clear()
    return target


def test_groups_are_deterministic_and_cached_beside_the_generation(index_dir: Path) -> None:
    first = recurring_groups(index_dir).to_dict()
    index = Index.open(index_dir)
    cache = recurring.cache_path(index)
    assert cache.exists() and cache.parent.name == "recurring"
    assert json.loads(cache.read_text())["generation"] == index.manifest.generation
    recurring._MEMORY.clear()
    assert recurring_groups(index_dir).to_dict() == first  # read back from the file
    cache.unlink()
    recurring._MEMORY.clear()
    assert recurring_groups(index_dir).to_dict() == first  # computed again
    assert first["groups"], "the demo corpus shares learning across reviews"


def test_groups_have_two_reviews_are_ranked_and_cite_every_passage(index_dir: Path) -> None:
    report = recurring_groups(index_dir)
    reviews = [g.reviews for g in report.groups]
    assert reviews == sorted(reviews, reverse=True)
    assert [g.id for g in report.groups] == list(range(1, len(report.groups) + 1))
    for group in report.groups:
        assert group.reviews == len({h.document.doc_id for h in group.passages}) >= 2
        years = [h.document.metadata.year for h in group.passages if h.document.metadata.year]
        assert (group.first_year, group.last_year) == (min(years), max(years))
        assert group.central in group.passages
        assert group.label.endswith("”") and "“" in group.label
        for hit in group.passages:
            assert hit.chunk.section in ("lessons", "findings", "recommendations")
            assert len(hit.chunk.text.split()) >= recurring.DEFAULT_GROUPING.min_words
        partnerships = {h.document.metadata.partnership for h in group.passages} - {None}
        assert group.partnerships == sorted(partnerships)


def test_json_shape_is_the_documented_contract(index_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["recurring", "--index", str(index_dir), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert list(data) == ["groups"]
    for group in data["groups"]:
        assert list(group)[: len(GROUP_KEYS)] == GROUP_KEYS
        assert set(group) - set(GROUP_KEYS) == {
            "partnerships",
            "review_types",
            "terms",
            "central_chunk_id",
        }
        assert all(list(p) == PASSAGE_KEYS for p in group["passages"])


@pytest.mark.parametrize(
    ("filters", "check"),
    [
        (
            ReviewFilters(year_from=2016, year_to=2020),
            lambda d: 2016 <= (d.metadata.year or 0) <= 2020,
        ),
        (ReviewFilters(review_type="scr"), lambda d: d.metadata.review_type == "scr"),
        (
            ReviewFilters(partnership="harrowdale"),
            lambda d: "harrowdale" in (d.metadata.partnership or "").lower(),
        ),
        (ReviewFilters(nation="england"), lambda d: d.metadata.nation == "england"),
    ],
)
def test_review_filters_keep_only_matching_passages(index_dir: Path, filters, check) -> None:  # type: ignore[no-untyped-def]
    everything = recurring_groups(index_dir)
    report = recurring_groups(index_dir, filters=filters)
    ids = {g.id: g for g in everything.groups}
    for group in report.groups:
        assert group.reviews >= 2
        assert all(check(h.document) for h in group.passages)
        full = ids[group.id]  # a filtered group keeps its id and label
        assert group.label == full.label
        kept = [h.chunk.chunk_id for h in full.passages if check(h.document)]
        assert [h.chunk.chunk_id for h in group.passages] == kept


def test_theme_section_and_min_reviews_filters(index_dir: Path) -> None:
    everything = recurring_groups(index_dir)
    theme = next(s for g in everything.groups for s in g.themes)
    carrying = recurring_groups(index_dir, filters=ReviewFilters(theme=theme))
    assert carrying.groups and all(theme in g.themes for g in carrying.groups)
    assert {g.id for g in carrying.groups} == {g.id for g in everything.groups if theme in g.themes}
    lessons = recurring_groups(index_dir, section="lessons")
    assert all(h.chunk.section == "lessons" for g in lessons.groups for h in g.passages)
    top = everything.groups[0].reviews
    assert all(g.reviews >= top for g in recurring_groups(index_dir, min_reviews=top).groups)
    with pytest.raises(ScrsearchError, match="Unknown theme 'nope'"):
        recurring_groups(index_dir, filters=ReviewFilters(theme="nope"))
    with pytest.raises(ScrsearchError, match="Unknown section 'chronology'"):
        recurring_groups(index_dir, section="chronology")
    with pytest.raises(ScrsearchError, match="Unknown review type"):
        ReviewFilters(review_type="novel")


def test_said_before_counts_earlier_reviews_by_year(index_dir: Path) -> None:
    report = recurring_groups(index_dir)
    group = next(g for g in report.groups if len(set(g.years)) >= 2)
    latest = max(group.documents, key=lambda d: d.metadata.year or 0)
    found = said_before(index_dir, latest.doc_id)
    mine = [h for h in group.passages if h.document.doc_id == latest.doc_id]
    recurrence = found[mine[0].chunk.chunk_id]
    assert recurrence.group.id == group.id
    expected = {
        d.doc_id for d in group.documents if (d.metadata.year or 9999) < latest.metadata.year
    }
    assert {h.document.doc_id for h in recurrence.earlier} == expected
    years = [h.document.metadata.year for h in recurrence.earlier]
    assert years == sorted(years)
    assert recurrence.to_dict()["earlier_reviews"] == len(expected)


def test_compare_json_shows_each_lessons_recurring_group(index_dir: Path) -> None:
    report = recurring_groups(index_dir)
    doc = report.groups[0].passages[-1].document
    result = CliRunner().invoke(
        cli, ["compare", str(doc.doc_id), "--index", str(index_dir), "--json"]
    )
    assert result.exit_code == 0, result.output
    lessons = json.loads(result.stdout)["lessons"]
    assert lessons and all("recurring" in lesson for lesson in lessons)
    found = [lesson["recurring"] for lesson in lessons if lesson["recurring"]]
    assert found
    for item in found:
        assert set(item) == {"group_id", "label", "reviews", "earlier_reviews", "earlier"}
        assert item["earlier_reviews"] == len(item["earlier"])
    text = CliRunner().invoke(cli, ["compare", str(doc.doc_id), "--index", str(index_dir)])
    assert text.exit_code == 0 and "recurring group" in text.output


def test_exports_cite_every_passage(index_dir: Path) -> None:
    report = recurring_groups(index_dir)
    runner = CliRunner()
    csv_out = runner.invoke(cli, ["recurring", "--index", str(index_dir), "--export", "csv"])
    md_out = runner.invoke(cli, ["recurring", "--index", str(index_dir), "--export", "markdown"])
    assert csv_out.exit_code == md_out.exit_code == 0
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(csv_out.stdout)))
    assert len(rows) == sum(len(g.passages) for g in report.groups)
    assert all(r["citation"] and r["passage_id"] and r["group"] for r in rows)
    for group in report.groups:
        assert f"## {group.id}. " in md_out.stdout
    assert md_out.stdout.count("\n— ") == len(rows)


def test_cluster_is_exact_and_deterministic() -> None:
    rng = np.random.default_rng(1)
    centres = clustering.unit(rng.standard_normal((6, 32)).astype(np.float32))
    points = clustering.unit(np.repeat(centres, 5, axis=0) + 0.05 * rng.standard_normal((30, 32)))
    labels = clustering.cluster(points, linkage="average", threshold=0.3)
    assert labels.tolist() == np.repeat(np.arange(6), 5).tolist()  # canonical: first seen first
    again = clustering.cluster(points, linkage="average", threshold=0.3)
    assert (labels == again).all()
    # Cells: k-means cuts the six tight groups apart, so cells lose nothing here.
    cells = clustering.cluster(points, linkage="average", threshold=0.3, max_exact=10)
    assert cells.tolist() == labels.tolist()
    assert len(set(clustering.cluster(points, linkage="single", threshold=0.01).tolist())) == 30


def test_characteristic_terms_need_two_reviews() -> None:
    texts = [
        "the escalation procedure was not used by the nursery",
        "practitioners did not use the escalation procedure",
        "Child Zebedee was not seen alone by anyone",
        "Zebedee Zebedee was never seen alone",
        "safe sleeping advice was not repeated",
        "the family moved house twice",
    ]
    terms = clustering.characteristic_terms(texts, [[0, 1], [2, 3]], [1, 2, 3, 3, 4, 5])
    assert "escalation procedure" in terms[0]
    assert not any("zebedee" in t for t in terms[1])  # one review's name never names a group


def test_boilerplate_of_coroners_reports_is_left_out() -> None:
    assert recurring._boilerplate(
        "In my opinion action should be taken to prevent future deaths and I believe you "
        "have the power to take such action."
    )
    assert not recurring._boilerplate("Staff did not carry a ligature cutter on the ward.")

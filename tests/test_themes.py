"""Themes: the built-in list, user overrides, tagging at ingest, retag, profiles, CLI.

Fast tests use the hash embedder (its similarities are meaningless, so they test
plumbing and the keyword cues); tests marked slow check tagging quality, profiles
and theme pages on the demo index with the real model.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from scrsearch import HashEmbedder, Index, load_config
from scrsearch.cli import cli
from scrsearch.index import store
from scrsearch.index.generations import read_manifest
from scrsearch.ingestion.pipeline import ingest
from scrsearch.themes.profiles import (
    chunk_themes,
    review_profile,
    theme_counts,
    theme_matrix,
    theme_passages,
)
from scrsearch.themes.tagging import (
    GROUPS,
    NoThemeTagsError,
    Tagger,
    ThemesFileError,
    load_themes,
    stored_digest,
    tagger_for,
)

#: The themes of the reference list (../shared/themes.md) that the built-in list must cover.
REFERENCE = """
neglect physical-abuse sexual-abuse-intrafamilial child-sexual-exploitation
child-criminal-exploitation harmful-sexual-behaviour fabricated-induced-illness
suicide-self-harm babies-prebirth adolescents-extrafamilial-harm disabled-children
looked-after-children domestic-abuse parental-mental-health parental-substance-misuse
toxic-trio unseen-men parental-history-trauma culture-ethnicity-race education-schools
voice-of-child professional-curiosity disguised-compliance non-engagement optimism-bias
respectful-uncertainty critical-thinking use-of-history start-again-syndrome
new-information information-sharing assessment-quality thresholds case-closure-drift
escalation-challenge multi-agency-processes supervision wider-family-concerns
cross-boundary-transfer
""".split()

REVIEW_A = (
    "Serious Case Review: Child A\nPublished: 2016\n\nLessons\n"
    "1. Practitioners did not use the escalation procedure when they disagreed with the plan.\n"
    "2. The mother's new partner was not checked with the police or probation.\n"
    "3. The young person self-harmed and later took her own life.\n"
)
REVIEW_B = (
    "Learning Briefing: Child B\nPublished: 2019\n\nKey learning\n"
    "1. Information sharing between agencies was hindered by worries about consent.\n"
    "2. The baby died after sleeping on a sofa with a parent; safer sleep advice was not repeated.\n"
)


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


@pytest.fixture
def small_index(tmp_path: Path, hash_embedder: HashEmbedder) -> Path:
    docs = _write(tmp_path / "docs", {"a.txt": REVIEW_A, "b.txt": REVIEW_B})
    index = tmp_path / "idx"
    report = ingest([docs], config=load_config(index=str(index)), embedder=hash_embedder)
    assert not report.failed
    return index


# --- The built-in list -------------------------------------------------------------


def test_builtin_themes_cover_the_reference_list() -> None:
    themes = load_themes()
    assert set(REFERENCE) <= set(themes.slugs)
    assert len(themes) >= 39
    for theme in themes:
        assert theme.label and theme.group in GROUPS
        assert len(theme.description.split()) >= 20, theme.slug  # a paragraph, not a phrase
        assert len(theme.phrasings) >= 3, theme.slug
        assert theme.keywords and theme.cue is not None, theme.slug
    assert 0 < themes.threshold < 1 and 0 <= themes.keyword_weight < 1


def test_user_file_overrides_adds_and_disables(tmp_path: Path) -> None:
    user = tmp_path / "mine.yaml"
    user.write_text(
        "threshold: 0.55\n"
        "themes:\n"
        "  - slug: neglect\n"
        "    label: Neglect (our wording)\n"
        "  - slug: online-gaming\n"
        "    label: Online gaming\n"
        "    description: Children groomed or bullied through online games and their chat.\n"
        "    phrasings: [He met the man through an online game.]\n"
        "    keywords: ['online gam(e|es|ing)']\n"
        "    threshold: 0.3\n"
        "  - slug: toxic-trio\n"
        "    disabled: true\n"
    )
    builtin = load_themes()
    themes = load_themes(user)
    neglect = themes.get("neglect")
    assert neglect.label == "Neglect (our wording)"
    assert neglect.description == builtin.get("neglect").description  # other fields kept
    assert neglect.phrasings == builtin.get("neglect").phrasings
    assert themes.get("online-gaming").threshold == 0.3
    assert themes.threshold_for("online-gaming") == 0.3
    assert themes.threshold == 0.55 and themes.threshold_for("neglect") == 0.55
    assert "toxic-trio" not in themes.slugs
    assert themes.digest != builtin.digest
    assert themes.sources[-1] == str(user)


def test_user_file_from_the_environment_or_config(tmp_path: Path, monkeypatch) -> None:
    user = tmp_path / "mine.yaml"
    user.write_text("themes:\n  - slug: neglect\n    label: From the file\n")
    monkeypatch.setenv("SCRSEARCH_THEMES", str(user))
    assert load_themes().get("neglect").label == "From the file"
    assert load_config().themes == str(user)
    monkeypatch.delenv("SCRSEARCH_THEMES")
    assert load_themes().get("neglect").label == "Neglect"
    assert load_themes(config=load_config(themes=str(user))).get("neglect").label == "From the file"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "theme file not found"),
        ("themes: [", "not valid YAML"),
        ("themes:\n  - label: no slug\n", "has no 'slug'"),
        ("themes:\n  - slug: Bad Slug\n    description: x\n", "must be lower-case"),
        ("themes:\n  - slug: new-one\n    label: New\n", "needs a 'description'"),
        ("themes:\n  - slug: neglect\n    keywords: ['(unclosed']\n", "bad keyword pattern"),
        ("themes:\n  - slug: neglect\n    colour: red\n", "unknown fields"),
        ("threshold: high\n", "'threshold' must be a number"),
    ],
)
def test_bad_theme_files_name_the_file_and_the_problem(
    tmp_path: Path, content: str | None, message: str
) -> None:
    user = tmp_path / "mine.yaml"
    if content is not None:
        user.write_text(content)
    with pytest.raises(ThemesFileError) as err:
        load_themes(user)
    assert str(user) in str(err.value) and message in str(err.value)


def test_unknown_theme_names_the_fix() -> None:
    with pytest.raises(Exception, match="scrsearch themes"):
        load_themes().get("no-such-theme")


# --- Keyword cues --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "slug", "expected"),
    [
        ("The mother's new\npartner was not checked.", "unseen-men", True),  # PDF line break
        ("The plan continued unchanged.", "suicide-self-harm", False),  # not "hanged"
        ("He was found hanged in his cell.", "suicide-self-harm", True),
        ("The referrals for self-neglect were closed.", "neglect", False),
        ("Children have a right to be protected from abuse and neglect.", "neglect", False),
        ("A child protection plan under the category of neglect.", "neglect", True),
        (
            "Practitioners did not know the escalation procedure existed.",
            "escalation-challenge",
            True,
        ),
        ("Risk was escalating quickly.", "escalation-challenge", False),
        ("The boy fell from the sofa at nursery.", "babies-prebirth", False),
        ("The baby was sleeping on a sofa with his father.", "babies-prebirth", True),
    ],
)
def test_keyword_cues(hash_embedder: HashEmbedder, text: str, slug: str, expected: bool) -> None:
    themes = load_themes()
    tagger = Tagger(themes, hash_embedder)
    assert bool(tagger.cues([text])[0, themes.slugs.index(slug)]) is expected


def test_confidence_is_similarity_plus_the_keyword_bonus(hash_embedder: HashEmbedder) -> None:
    themes = load_themes()
    tagger = Tagger(themes, hash_embedder)
    texts = ["Nobody used the escalation policy.", "The weather was fine."]
    vectors = hash_embedder.embed_documents(texts)
    expected = np.clip(
        tagger.semantic(vectors) + themes.keyword_weight * tagger.cues(texts), 0.0, 1.0
    )
    assert np.allclose(tagger.scores(vectors, texts), expected)
    tags = tagger.tag(vectors, texts)
    for row, scores in zip(tags, expected, strict=True):
        assert [c for _, c in row] == sorted((c for _, c in row), reverse=True)
        for slug, conf in row:
            assert conf >= themes.threshold_for(slug)
            assert conf == pytest.approx(scores[themes.slugs.index(slug)])


# --- Tagging at ingest, retag, lazy re-tagging --------------------------------------------


def test_ingest_tags_every_passage_with_the_themes_in_force(small_index: Path) -> None:
    idx = Index.open(small_index)
    conn = idx.conn()
    assert stored_digest(conn) == load_themes().digest
    counts = {c.slug: c for c in theme_counts(conn, small_index)}
    assert set(counts) == set(load_themes().slugs)
    for slug in ("escalation-challenge", "unseen-men", "information-sharing", "babies-prebirth"):
        assert counts[slug].passages >= 1, slug  # each is named by a cue in the text
    assert counts["child-sexual-exploitation"].passages == 0
    ids = [r[0] for r in conn.execute("SELECT id FROM chunks")]
    tagged = chunk_themes(conn, ids)
    assert set(tagged) <= set(ids)
    matrix = theme_matrix(conn, small_index)
    assert {m["slug"] for m in matrix} == {c.slug for c in counts.values() if c.passages}


def test_theme_vectors_are_kept_in_the_index(small_index: Path, monkeypatch) -> None:
    """A later ingest or retag with the same themes and model does not embed them again."""
    conn = Index.open(small_index).conn()
    themes = load_themes()
    fresh = HashEmbedder(dimension=64, max_tokens=128)  # not in the in-memory cache
    computed = Tagger(themes, fresh)._vectors

    def no_embedding(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the theme texts were embedded again")

    monkeypatch.setattr(fresh, "embed_documents", no_embedding)
    assert np.array_equal(tagger_for(fresh, themes, conn)._vectors, computed)


def test_replacing_a_document_replaces_its_tags(tmp_path: Path, hash_embedder) -> None:
    docs = _write(tmp_path / "docs", {"a.txt": REVIEW_A})
    config = load_config(index=str(tmp_path / "idx"))
    ingest([docs], config=config, embedder=hash_embedder)
    (docs / "a.txt").write_text(REVIEW_B)
    ingest([docs], config=config, embedder=hash_embedder)
    conn = Index.open(config.index_dir).conn()
    orphans = conn.execute(
        "SELECT COUNT(*) FROM chunk_themes WHERE chunk_id NOT IN (SELECT id FROM chunks)"
    ).fetchone()[0]
    assert orphans == 0
    counts = {c.slug: c.passages for c in theme_counts(conn, config.index_dir)}
    assert counts["escalation-challenge"] == 0 and counts["babies-prebirth"] >= 1


def _drop_theme_tables(index: Path) -> None:
    """Make the index look like one built before themes existed."""
    manifest = read_manifest(index)
    assert manifest is not None
    conn = sqlite3.connect(index / manifest.sqlite_name)
    with conn:
        conn.executescript(
            "DROP TABLE chunk_themes; DROP TABLE themes; DROP TABLE theme_meta;"
            "DELETE FROM migrations WHERE name LIKE 'theme tags%';"
        )
    conn.close()


def test_an_index_from_before_themes_says_to_retag_then_retag_works(small_index: Path) -> None:
    _drop_theme_tables(small_index)
    with pytest.raises(NoThemeTagsError, match=f"scrsearch retag --index {small_index}"):
        theme_counts(Index.open(small_index).conn(), small_index)
    result = CliRunner().invoke(cli, ["themes", "--index", str(small_index)])
    assert result.exit_code == 1 and "scrsearch retag" in result.stderr
    before = read_manifest(small_index).generation
    result = CliRunner().invoke(cli, ["retag", "--index", str(small_index)])
    assert result.exit_code == 0, result.output
    assert "Tagged" in result.output
    assert read_manifest(small_index).generation == before + 1
    counts = theme_counts(Index.open(small_index).conn(), small_index)
    assert sum(c.passages for c in counts) > 0


def test_the_themes_table_never_breaks_a_slug(small_index: Path) -> None:
    """Slugs are what `scrsearch theme SLUG` takes: on an 80-column terminal they once
    folded ("sexual-abuse-intrafa" / "milial")."""
    result = CliRunner().invoke(cli, ["themes", "--index", str(small_index)], terminal_width=80)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    for count in theme_counts(Index.open(small_index).conn(), small_index):
        assert any(f"│ {count.slug} " in line for line in lines), count.slug


def test_retag_with_a_user_theme(small_index: Path, tmp_path: Path) -> None:
    user = tmp_path / "mine.yaml"
    user.write_text(
        "themes:\n"
        "  - slug: sleep\n"
        "    label: Sleep\n"
        "    description: Where and how babies sleep.\n"
        "    keywords: [sleep]\n"
        "    threshold: 0.2\n"
    )
    runner = CliRunner()
    listed = runner.invoke(cli, ["themes", "--index", str(small_index), "--themes", str(user)])
    assert "retag" in listed.output  # the tags do not follow the new list yet
    assert (
        runner.invoke(cli, ["retag", "--index", str(small_index), "--themes", str(user)]).exit_code
        == 0
    )
    out = runner.invoke(cli, ["themes", "--index", str(small_index), "--json"])
    rows = {r["slug"]: r for r in json.loads(out.output)}
    assert rows["sleep"]["passages"] >= 1 and rows["sleep"]["label"] == "Sleep"
    out = runner.invoke(cli, ["theme", "sleep", "--index", str(small_index), "--json"])
    assert "sleeping on a sofa" in json.loads(out.output)[0]["text"]  # the cue ranks it first


def test_ingest_into_an_index_tagged_with_other_themes_retags_everything(
    tmp_path: Path, hash_embedder, monkeypatch
) -> None:
    config = load_config(index=str(tmp_path / "idx"))
    ingest([_write(tmp_path / "a", {"a.txt": REVIEW_A})], config=config, embedder=hash_embedder)
    user = tmp_path / "mine.yaml"
    user.write_text(
        "themes:\n  - slug: child-a\n    label: Child A\n    description: About Child A.\n"
        "    keywords: ['child a']\n    threshold: 0.2\n"
    )
    monkeypatch.setenv("SCRSEARCH_THEMES", str(user))
    config = load_config(index=str(tmp_path / "idx"))
    ingest([_write(tmp_path / "b", {"b.txt": REVIEW_B})], config=config, embedder=hash_embedder)
    conn = Index.open(config.index_dir).conn()
    assert stored_digest(conn) == load_themes(config=config).digest
    hits = theme_passages(conn, "child-a", index_dir=config.index_dir)
    assert hits[0].document.source.endswith("a.txt")  # the older document was re-tagged


# --- Profiles and theme pages, on the small index ---------------------------------------


def test_profile_and_theme_passages(small_index: Path) -> None:
    conn = Index.open(small_index).conn()
    profile = review_profile(conn, "a.txt", small_index)
    assert profile.document.source.endswith("a.txt")
    strengths = [e.strength for e in profile.themes]
    assert strengths == sorted(strengths, reverse=True)
    for entry in profile.themes:
        confs = [h.score for h in entry.passages]
        assert confs == sorted(confs, reverse=True)
        assert entry.strength == pytest.approx(sum(confs[:3]) / 3)
        assert all(h.document.doc_id == profile.document.doc_id for h in entry.passages)
    hits = theme_passages(conn, "escalation-challenge", per_review=1, index_dir=small_index)
    per_doc = [h.document.doc_id for h in hits]
    assert len(per_doc) == len(set(per_doc))
    with pytest.raises(Exception, match="Unknown theme 'nope'"):
        theme_passages(conn, "nope", index_dir=small_index)
    with pytest.raises(Exception, match="No document 'missing.txt'"):
        review_profile(conn, "missing.txt", small_index)


def test_cli_themes_review_and_theme_json(small_index: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(cli, ["themes", "--review", "a.txt", "--index", str(small_index), "--json"])
    assert out.exit_code == 0, out.output
    profile = json.loads(out.output)
    assert profile["doc"]["source"].endswith("a.txt")
    entry = profile["themes"][0]
    assert {"slug", "label", "strength", "n_passages", "passages"} <= set(entry)
    assert {"chunk_id", "text", "page_start", "section", "confidence"} <= set(entry["passages"][0])
    out = runner.invoke(
        cli, ["theme", "escalation-challenge", "--index", str(small_index), "--json"]
    )
    hits = json.loads(out.output)
    assert hits and hits[0]["method"] == "theme" and "a.txt" in hits[0]["source"]
    human = runner.invoke(cli, ["themes", "--review", "a.txt", "--index", str(small_index)])
    assert human.exit_code == 0 and "Escalation and professional challenge" in human.output
    bad = runner.invoke(cli, ["theme", "nope", "--index", str(small_index)])
    assert bad.exit_code == 1 and "Unknown theme 'nope'" in bad.stderr


# --- With the real model, on the demo corpus ----------------------------------------------


@pytest.mark.slow
def test_stored_tags_are_what_the_tagger_says(demo_index: Path, real_embedder) -> None:
    """Oracle: the tags written at ingest equal a fresh tagging of the stored vectors."""
    conn = Index.open(demo_index).conn()
    tagger = tagger_for(real_embedder, load_themes())
    ids, vectors = next(store.iter_vectors(conn))
    texts = dict(conn.execute("SELECT id, text FROM chunks"))
    expected = tagger.tag(vectors, [texts[int(i)] for i in ids])
    stored = chunk_themes(conn, ids.tolist())
    for cid, row in zip(ids.tolist(), expected, strict=True):
        assert [s for s, _ in stored.get(cid, [])] == [s for s, _ in row]


@pytest.mark.slow
def test_review_profiles_on_the_demo_corpus(demo_index: Path) -> None:
    """Judged from the documents themselves (see corpus/README.md)."""
    conn = Index.open(demo_index).conn()

    def slugs(doc: str) -> set[str]:
        return {e.slug for e in review_profile(conn, doc, demo_index).themes}

    george = slugs("george-briefing.txt")
    assert {"new-information", "escalation-challenge", "information-sharing"} <= george
    assert not george & {"child-sexual-exploitation", "suicide-self-harm", "babies-prebirth"}
    assert {"disabled-children", "neglect", "voice-of-child"} <= slugs(
        "brackenford-2012-scr-child-l-executive-summary.txt"
    )
    assert "suicide-self-harm" in slugs("tarnside-2020-learning-briefing-ellie.html")
    assert "babies-prebirth" in slugs("harrowdale-2024-7-minute-briefing-safer-sleep.html")
    assert "child-criminal-exploitation" in slugs("kingsmere-2021-cspr-jayden.pdf")
    assert "domestic-abuse" in slugs("calder-brook-2016-dhr-executive-summary-sarah.txt")
    top = review_profile(conn, "westmere-2018-7-minute-briefing-escalation.txt", demo_index)
    assert top.themes[0].slug == "escalation-challenge"  # the briefing is about escalation


@pytest.mark.slow
def test_theme_passages_across_the_demo_corpus(demo_index: Path) -> None:
    conn = Index.open(demo_index).conn()
    hits = theme_passages(conn, "escalation-challenge", per_review=2, index_dir=demo_index)
    per_review: dict[int, int] = {}
    for hit in hits:
        per_review[hit.document.doc_id] = per_review.get(hit.document.doc_id, 0) + 1
    assert max(per_review.values()) <= 2
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    names = {Path(h.document.source).name for h in hits}
    assert {
        "harrowdale-2015-scr-child-k-overview.pdf",
        "fenwick-vale-2023-cspr-baby-m.docx",
        "westmere-2018-7-minute-briefing-escalation.txt",
        "george-briefing.txt",
    } <= names
    assert "harrowdale-2024-7-minute-briefing-safer-sleep.html" not in names

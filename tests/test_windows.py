"""Long query text: split into windows that fit the model, and rankings combined."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from scrsearch.search.windows import OVERLAP_SHARE, combine, split_windows


def words(text: str) -> int:
    return len(text.split())


def pieces(text: str) -> int:
    """A stand-in tokenizer: every 4 letters of a word are one piece, punctuation one."""
    return sum(max(1, -(-len(w) // 4)) for w in re.findall(r"\w+|[^\w\s]", text))


def covered(text: str, windows: list) -> bool:
    """Every word of ``text`` lies inside some window."""
    spans = [(w.char_start, w.char_end) for w in windows]
    return all(
        any(s <= m.start() and m.end() <= e for s, e in spans) for m in re.finditer(r"\S+", text)
    )


def test_short_text_is_one_window_and_blank_text_none() -> None:
    text = "Mum's new partner moved in. The plan stayed the same."
    [window] = split_windows(text, words, 50)
    assert window.text == text and (window.char_start, window.char_end) == (0, len(text))
    assert window.tokens == words(text)
    assert split_windows("  \n ", words, 50) == []


def test_long_text_is_cut_at_sentences_with_overlap_and_nothing_left_out() -> None:
    sentences = [f"Sentence number {i} says something about the case." for i in range(40)]
    text = " ".join(sentences)
    windows = split_windows(text, words, 40)
    assert len(windows) > 5
    assert all(w.tokens <= 40 and words(w.text) == w.tokens for w in windows)
    assert all(w.text == text[w.char_start : w.char_end] for w in windows)
    assert all(w.text.endswith(".") for w in windows), "windows end at a sentence end"
    assert covered(text, windows)
    for before, after in zip(windows, windows[1:], strict=False):
        assert after.char_start < before.char_end, "consecutive windows overlap"
        assert after.char_start > before.char_start, "each window moves on"
        shared = text[after.char_start : before.char_end]
        assert words(shared) <= 40 * OVERLAP_SHARE


def test_a_sentence_longer_than_a_window_is_cut_at_words() -> None:
    text = "and then " * 100 + "the end."
    windows = split_windows(text, pieces, 40)
    assert len(windows) >= 5
    assert all(pieces(w.text) <= 40 for w in windows)
    assert covered(text, windows)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.sampled_from("abcdefghij .\n,;!?"), min_size=0, max_size=80),
        max_size=30,
    ),
    st.integers(min_value=3, max_value=60),
)
def test_any_text_fits_and_is_covered(parts: list[str], limit: int) -> None:
    text = " ".join(parts)
    windows = split_windows(text, pieces, limit)
    assert all(pieces(w.text) <= limit or len(w.text.split()) == 1 for w in windows)
    assert covered(text, windows)


def test_combine_keeps_each_passage_best_window() -> None:
    first = [(1, 1.0), (2, 0.5), (3, 0.2)]
    second = [(3, 0.9), (2, 0.4), (4, 0.3)]
    assert combine([first, second]) == [(1, 1.0), (3, 0.9), (2, 0.5), (4, 0.3)]
    assert combine([first]) == first
    assert combine([]) == []

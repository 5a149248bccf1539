"""Tokenization with code-point offsets, window planning and the window limit."""

from __future__ import annotations

import itertools
import logging
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deid_pipeline.bundle import Bundle
from deid_pipeline.notes import Limits, Note, RejectReason
from deid_pipeline.windows import (
    TokenizedNote,
    build_windows,
    check_window_limit,
    estimate_window_count,
    plan_windows,
    tokenize_notes,
    window_count,
)


@pytest.fixture(scope="module")
def tokenizer(tiny_bundle: Bundle):  # type: ignore[no-untyped-def]
    """The tiny bundle's real fast tokenizer (cased WordPiece, model_max_length 512)."""
    return tiny_bundle.load_tokenizer()


@st.composite
def geometries(draw: st.DrawFn) -> tuple[int, int, int]:
    """(n_tokens, window_length, window_overlap) with a valid window geometry."""
    window_length = draw(st.integers(3, 40))
    overlap = draw(st.integers(0, window_length - 3))
    n_tokens = draw(st.integers(0, 400))
    return n_tokens, window_length, overlap


@settings(max_examples=300, deadline=None)
@given(geometries())
def test_plan_windows_covers_every_token_with_overlap(geometry: tuple[int, int, int]) -> None:
    n, window_length, overlap = geometry
    content = window_length - 2
    ranges = plan_windows(n, window_length, overlap)
    assert len(ranges) == window_count(n, window_length, overlap)
    if n == 0:
        assert ranges == []
        return
    assert ranges[0][0] == 0
    assert ranges[-1][1] == n
    covered = np.zeros(n, dtype=int)
    for start, end in ranges:
        assert 0 <= start < end <= n
        assert end - start <= content
        # Every window is full unless the whole note fits in one window.
        assert end - start == min(content, n)
        covered[start:end] += 1
    assert covered.min() >= 1
    for (s1, e1), (s2, e2) in itertools.pairwise(ranges):
        assert s1 < s2 and e1 < e2
        assert e1 - s2 >= overlap
    # Regular stride except the last, end-anchored window.
    stride = content - overlap
    assert [s for s, _ in ranges[:-1]] == [i * stride for i in range(len(ranges) - 1)]


@pytest.mark.parametrize(
    ("n", "window_length", "overlap", "expected"),
    [
        (0, 10, 2, []),
        (5, 10, 2, [(0, 5)]),
        (8, 10, 2, [(0, 8)]),
        (9, 10, 2, [(0, 8), (1, 9)]),
        (20, 10, 2, [(0, 8), (6, 14), (12, 20)]),
        (21, 10, 2, [(0, 8), (6, 14), (12, 20), (13, 21)]),
        (3, 3, 0, [(0, 1), (1, 2), (2, 3)]),
    ],
)
def test_plan_windows_table(
    n: int, window_length: int, overlap: int, expected: list[tuple[int, int]]
) -> None:
    assert plan_windows(n, window_length, overlap) == expected


@pytest.mark.parametrize(("window_length", "overlap"), [(2, 0), (10, 8), (10, -1), (0, 0)])
def test_bad_geometry_is_refused(window_length: int, overlap: int) -> None:
    with pytest.raises(ValueError):
        plan_windows(10, window_length, overlap)
    with pytest.raises(ValueError):
        window_count(10, window_length, overlap)


def test_estimate_window_count_matches_documented_formula() -> None:
    assert estimate_window_count(0, 128) == 0
    assert estimate_window_count(1, 128) == 1
    assert estimate_window_count(512, 128) == 1
    assert estimate_window_count(513, 128) == 2
    assert estimate_window_count(37_000, 128) == math.ceil(37_000 / 512)
    assert estimate_window_count(1000, 64, chars_per_token=5.0) == math.ceil(1000 / 320)


def _tokenized(note_id: str, n: int, first_id: int = 10) -> TokenizedNote:
    ids = np.arange(first_id, first_id + n, dtype=np.int32)
    starts = np.arange(n, dtype=np.int32) * 2
    return TokenizedNote(note_id, 2 * n, ids, starts, starts + 1)


def test_build_windows_wraps_content_in_specials() -> None:
    notes = [_tokenized("a", 20), _tokenized("b", 3, first_id=500), _tokenized("c", 0)]
    windows = build_windows(notes, window_length=10, window_overlap=2, cls_id=2, sep_id=3)
    assert [(w.note_index, w.window_index) for w in windows] == [(0, 0), (0, 1), (0, 2), (1, 0)]
    for window in windows:
        note = notes[window.note_index]
        assert window.input_ids.dtype == np.int32
        assert len(window.input_ids) <= 10
        assert window.input_ids[0] == 2 and window.input_ids[-1] == 3
        np.testing.assert_array_equal(
            window.input_ids[1:-1], note.token_ids[window.token_start : window.token_end]
        )
    assert [(w.token_start, w.token_end) for w in windows[:3]] == [(0, 8), (6, 14), (12, 20)]


def test_check_window_limit_rejects_with_figures_only() -> None:
    note = _tokenized("note-7", 50)
    limits = Limits(max_windows_per_record=3)
    n_windows = window_count(note.n_tokens, 10, 2)
    assert n_windows > 3
    rejection = check_window_limit(note, n_windows, limits)
    assert rejection is not None
    assert rejection.reason is RejectReason.TOO_LONG
    assert rejection.note_id == "note-7"
    assert str(n_windows) in rejection.message and "3" in rejection.message
    assert check_window_limit(note, 3, limits) is None


def test_tokenized_note_refuses_mismatched_arrays() -> None:
    with pytest.raises(ValueError):
        TokenizedNote("x", 3, np.zeros(2, np.int32), np.zeros(3, np.int32), np.zeros(2, np.int32))


def test_tokenize_notes_gives_code_point_offsets(tokenizer) -> None:  # type: ignore[no-untyped-def]
    # Astral-plane emoji (one code point, two UTF-16 units, four UTF-8 bytes) and accents
    # before the words would shift byte- or UTF-16-based offsets.
    texts = [
        "😀😀 Patiënt Jansen, geboren 12-03-1950 te Utrecht.",
        "Ééé — Dhr. de Vries\tbelde 06-12345678 ✓",
        "kort",
    ]
    notes = [Note(note_id=f"n{i}", text=text) for i, text in enumerate(texts)]
    tokenized = tokenize_notes(tokenizer, notes)
    assert [t.note_id for t in tokenized] == ["n0", "n1", "n2"]
    vocab = {index: token for token, index in tokenizer.get_vocab().items()}
    for note, tok in zip(notes, tokenized, strict=True):
        assert tok.text_length == len(note.text)
        assert tok.token_ids.dtype == np.int32 and tok.char_starts.dtype == np.int32
        assert np.all(tok.char_starts <= tok.char_ends)
        assert np.all(tok.char_ends <= len(note.text))
        assert np.all(np.diff(tok.char_starts) >= 0)
        for token_id, start, end in zip(tok.token_ids, tok.char_starts, tok.char_ends, strict=True):
            piece = vocab[int(token_id)]
            if piece != tokenizer.unk_token:
                # The cased tokenizer does not normalize letters: the offsets cut out the piece.
                assert note.text[start:end] == piece.removeprefix("##")
    patient = texts[0].index("Jansen")
    assert patient in tokenized[0].char_starts.tolist()


def test_tokenize_notes_long_note_no_truncation_no_warning(
    tokenizer,  # type: ignore[no-untyped-def]
    caplog: pytest.LogCaptureFixture,
) -> None:
    text = "Patiënt werd opgenomen op de afdeling cardiologie. " * 200
    with caplog.at_level(logging.WARNING):
        [tok] = tokenize_notes(tokenizer, [Note(note_id="long", text=text)])
    assert tok.n_tokens > tokenizer.model_max_length
    assert int(tok.char_ends.max()) == len(text.rstrip())
    assert not [r for r in caplog.records if "longer than" in r.getMessage()]
    # The shared tokenizer object is not modified.
    assert tokenizer.model_max_length == 512


def test_tokenize_notes_empty_batch(tokenizer) -> None:  # type: ignore[no-untyped-def]
    assert tokenize_notes(tokenizer, []) == []


# --------------------------------------------------------------------------- tidy_offsets

_TIDY_ALPHABET = st.sampled_from(
    [
        *"ab Z9.",
        *(" ", "\t", "\n", "\u00a0", "\u200b", "\ufeff", "\u3000", "\u2009"),
        *("\u0301", "\u0308", "é", "ë", "\U0001f600"),
    ]
)


@st.composite
def texts_and_offsets(draw: st.DrawFn) -> tuple[str, np.ndarray, np.ndarray]:
    """A text of blanks, letters and combining marks with token offsets like a tokenizer's:
    non-decreasing, possibly empty or overlapping, inside the text."""
    text = "".join(draw(st.lists(_TIDY_ALPHABET, max_size=40)))
    n = draw(st.integers(0, 12))
    bounds = sorted(draw(st.lists(st.integers(0, len(text)), min_size=2 * n, max_size=2 * n)))
    starts = np.array(bounds[0::2], dtype=np.int32)
    ends = np.array(bounds[1::2], dtype=np.int32)
    if n and draw(st.booleans()):
        # Overlapping or inverted tokens, which the loop also handles.
        i = draw(st.integers(0, n - 1))
        starts[i] = draw(st.integers(0, len(text)))
    return text, starts, ends


@settings(max_examples=400, deadline=None)
@given(texts_and_offsets())
def test_tidy_offsets_vectorised_equals_the_loop(case: tuple[str, np.ndarray, np.ndarray]) -> None:
    from deid_pipeline.windows import _tidy_offsets_reference, tidy_offsets

    text, starts, ends = case
    fast = tidy_offsets(text, starts, ends)
    slow = _tidy_offsets_reference(text, starts, ends)
    assert fast[0].dtype == np.int32 and fast[1].dtype == np.int32
    assert fast[0].tolist() == slow[0].tolist()
    assert fast[1].tolist() == slow[1].tolist()


def test_blank_chars_equal_a_scan_of_every_code_point() -> None:
    from deid_pipeline.windows import _BLANK_CHARS

    every_space = {chr(c) for c in range(0x110000) if chr(c).isspace()}
    extra = {"\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\ufeff"}
    assert frozenset(every_space | extra) == _BLANK_CHARS


def test_window_geometry_from_a_loaded_tokenizer_equals_the_bundles(tiny_bundle: Bundle) -> None:
    from deid_pipeline.core import WindowGeometry, special_token_ids

    tokenizer = tiny_bundle.load_tokenizer()
    assert WindowGeometry.of(tiny_bundle, tokenizer) == WindowGeometry.of(tiny_bundle)
    assert special_token_ids(tokenizer) == (
        tiny_bundle.cls_token_id,
        tiny_bundle.sep_token_id,
        tiny_bundle.pad_token_id,
    )

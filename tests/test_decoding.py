"""Overlap averaging, BIO decoding, character mapping and span cleanup."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deid_pipeline.bundle import Bundle
from deid_pipeline.decoding import (
    DecodingError,
    TokenSpan,
    average_window_logits,
    clean_model_spans,
    decode_note,
    decode_shard,
    decode_token_spans,
    expand_to_word_boundaries,
    merge_fragments,
    resolve_overlaps,
    token_spans_to_char_spans,
    trim_span,
)
from deid_pipeline.labels import DEFAULT_ENTITY_LABELS
from deid_pipeline.notes import Note
from deid_pipeline.shards import (
    META_LOGITS_SHARD_SHA256,
    LogitsFileError,
    build_shard_table,
    read_logits,
    read_shard,
    write_logits,
    write_shard,
)
from deid_pipeline.spans import Span, check_spans
from deid_pipeline.windows import build_windows, plan_windows, tokenize_notes

LABELS = ("Name", "Date", "City")
HIGH = 8.0  # a logit that makes its class win by a wide margin


def _bio(tags: str) -> np.ndarray:
    """BIO logits [n, 3] from a tag string such as "OBIIO"."""
    logits = np.zeros((len(tags), 3), dtype=np.float32)
    for row, tag in enumerate(tags):
        logits[row, "OBI".index(tag)] = HIGH
    return logits


def _entity(labels: Sequence[int]) -> np.ndarray:
    logits = np.zeros((len(labels), len(LABELS)), dtype=np.float32)
    for row, label in enumerate(labels):
        logits[row, label] = HIGH
    return logits


# --------------------------------------------------------------------------------------------
# Token level


def test_average_window_logits_is_the_mean_of_covering_windows() -> None:
    windows = [(0, 4), (2, 6), (3, 6)]
    bio = [np.full((4, 3), 1.0), np.full((4, 3), 3.0), np.full((3, 3), 8.0)]
    entity = [np.full((4, 2), 2.0), np.full((4, 2), 4.0), np.full((3, 2), 0.0)]
    bio_avg, entity_avg = average_window_logits(6, windows, bio, entity)
    np.testing.assert_allclose(bio_avg[:, 0], [1, 1, 2, 4, 5.5, 5.5])
    np.testing.assert_allclose(entity_avg[:, 1], [2, 2, 3, 2, 2, 2])
    assert bio_avg.shape == (6, 3) and entity_avg.shape == (6, 2)


def test_average_window_logits_refuses_gaps_and_bad_shapes() -> None:
    with pytest.raises(DecodingError, match="covered by no window"):
        average_window_logits(5, [(0, 2), (3, 5)], [np.zeros((2, 3))] * 2, [np.zeros((2, 1))] * 2)
    with pytest.raises(DecodingError, match="do not fit"):
        average_window_logits(3, [(0, 3)], [np.zeros((2, 3))], [np.zeros((2, 1))])


@pytest.mark.parametrize(
    ("tags", "labels", "expected"),
    [
        ("OOOO", [0, 0, 0, 0], []),
        ("BIIO", [0, 0, 0, 0], [(0, 3, "Name")]),
        ("BIBI", [0, 0, 0, 0], [(0, 2, "Name"), (2, 4, "Name")]),
        # Lenient: an I after O starts a span.
        ("OIIO", [0, 0, 0, 0], [(1, 3, "Name")]),
        # The entity label changes inside a run of I: two spans.
        ("BIII", [0, 0, 1, 1], [(0, 2, "Name"), (2, 4, "Date")]),
        ("IOBI", [2, 0, 1, 1], [(0, 1, "City"), (2, 4, "Date")]),
    ],
)
def test_decode_token_spans_table(
    tags: str, labels: list[int], expected: list[tuple[int, int, str]]
) -> None:
    spans = decode_token_spans(_bio(tags), _entity(labels), LABELS, [0.5, 0.5, 0.5])
    assert [(s.token_start, s.token_end, s.label) for s in spans] == expected
    for span in spans:
        assert 0.99 < span.score <= 1.0


def test_thresholds_are_per_entity_label() -> None:
    # P(O) = 0.6 for every token: PHI probability 0.4.
    bio = np.log(np.array([[0.6, 0.3, 0.1]] * 4, dtype=np.float32))
    entity = _entity([0, 0, 1, 1])
    spans = decode_token_spans(bio, entity, LABELS, [0.5, 0.39, 0.5])
    assert [(s.token_start, s.token_end, s.label) for s in spans] == [
        (2, 3, "Date"),
        (3, 4, "Date"),
    ]
    # Score = mean PHI probability x mean label probability.
    label_prob = np.exp(HIGH) / (np.exp(HIGH) + 2)
    assert spans[0].score == pytest.approx(0.4 * label_prob, rel=1e-5)
    assert decode_token_spans(bio, entity, LABELS, [0.41, 0.41, 0.41]) == []


def test_decode_token_spans_refuses_wrong_shapes() -> None:
    with pytest.raises(DecodingError):
        decode_token_spans(_bio("BI"), _entity([0, 0]), LABELS, [0.5, 0.5])
    with pytest.raises(DecodingError):
        decode_token_spans(_bio("BI"), _entity([0, 0])[:, :2], LABELS, [0.5] * 3)


# --------------------------------------------------------------------------------------------
# Character level


def test_token_spans_to_char_spans_skips_empty_offsets() -> None:
    starts = np.array([0, 4, 4, 9, 12], dtype=np.int32)
    ends = np.array([3, 4, 8, 11, 12], dtype=np.int32)
    spans = token_spans_to_char_spans(
        [TokenSpan(1, 4, "Name", 0.9), TokenSpan(4, 5, "Date", 0.8)], starts, ends
    )
    assert spans == [Span(4, 11, "Name", 0.9, "model")]


def _spans(text: str, *parts: tuple[str, str]) -> list[Span]:
    """Spans located by their text (first occurrence after the previous span)."""
    result: list[Span] = []
    position = 0
    for fragment, label in parts:
        start = text.index(fragment, position)
        result.append(Span(start, start + len(fragment), label, 0.5))
        position = start + 1
    return result


def _texts(text: str, spans: Sequence[Span]) -> list[tuple[str, str]]:
    return [(text[s.start : s.end], s.label) for s in spans]


@pytest.mark.parametrize(
    ("text", "fragment", "expected"),
    [
        ("Dhr. Jansen kwam", "Jans", "Jansen"),
        ("Dhr. Jansen kwam", "nse", "Jansen"),
        ("Dhr. Jansen kwam", "Jansen", "Jansen"),
        ("Dhr. Jansen kwam", "Jansen ", "Jansen "),  # ends at a space: not grown
        ("Mevr. Perić-Müller", "Peri", "Perić"),  # stops at the hyphen
        ("in Zoë's kamer", "Zo", "Zoë"),
        ("naam: Rene\u0301 X", "Rene", "Rene\u0301"),  # a combining accent stays with its letter
        ("tel 0612345678.", "61234", "0612345678"),
    ],
)
def test_expand_to_word_boundaries(text: str, fragment: str, expected: str) -> None:
    [span] = expand_to_word_boundaries(text, _spans(text, (fragment, "Name")))
    assert text[span.start : span.end] == expected


@pytest.mark.parametrize(
    ("text", "fragment", "expected"),
    [
        ("zie (Jansen), kamer", "(Jansen), ", "Jansen"),
        ("op 12-03-2020.\n", " 12-03-2020.\n", "12-03-2020"),
        ("bel +31 6 1234", "+31 6 1234", "+31 6 1234"),  # a leading symbol is kept
        ("a , . b", " , . ", None),
        ("x\u200bJansen\u200b y", "\u200bJansen\u200b", "Jansen"),
        # The closing dot of initials and of a day.month date is part of the value.
        ("Patiënt: Mestdagh, D.S.H.\n", "Mestdagh, D.S.H.\n", "Mestdagh, D.S.H."),
        ("Patiënt: Mestdagh, D.S.H.\n", "Mestdagh, D.S.H", "Mestdagh, D.S.H."),
        ("door Spies, G.\n", "Spies, G", "Spies, G."),
        ("bij Van Wessex B.V.. Zijn", "Van Wessex B.V", "Van Wessex B.V."),
        ("controle 18.12.\tTIJD", "18.12", "18.12."),
        ("op 12.03.2020. Daarna", "12.03.2020.", "12.03.2020"),
        ("gezien door Jansen. Daarna", "Jansen.", "Jansen"),
        ("op 29 dec. opgenomen", "29 dec", "29 dec."),
        ("T (0227) 110125\n", "0227) 110125", "(0227) 110125"),
        ("zie (0227) 110125 en", "(0227) 110125 ", "(0227) 110125"),
    ],
)
def test_trim_span(text: str, fragment: str, expected: str | None) -> None:
    [span] = _spans(text, (fragment, "Name"))
    trimmed = trim_span(text, span)
    if expected is None:
        assert trimmed is None
    else:
        assert trimmed is not None and text[trimmed.start : trimmed.end] == expected


@pytest.mark.parametrize(
    ("text", "parts", "expected"),
    [
        ("Jan Jansen kwam", [("Jan", "N"), ("Jansen", "N")], [("Jan Jansen", "N")]),
        ("J. Jansen kwam", [("J", "N"), ("Jansen", "N")], [("J. Jansen", "N")]),
        ("J.P. Jansen", [("J", "N"), ("P", "N"), ("Jansen", "N")], [("J.P. Jansen", "N")]),
        ("Jansen-de Vries", [("Jansen", "N"), ("de Vries", "N")], [("Jansen-de Vries", "N")]),
        ("op 12/03/2020", [("12", "D"), ("03", "D"), ("2020", "D")], [("12/03/2020", "D")]),
        ("'s-Hertogenbosch", [("s", "C"), ("Hertogenbosch", "C")], [("s-Hertogenbosch", "C")]),
        (
            "PATIËNT: Stoffel, C.I.\n",
            [("Stoffel", "Name"), ("C.I.", "Name")],
            [("Stoffel, C.I.", "Name")],
        ),
        # Not merged: commas, line breaks, long gaps, spaced joiners, other labels.
        ("Jansen, Pietersen", [("Jansen", "N"), ("Pietersen", "N")], None),
        ("Jansen, Pietersen", [("Jansen", "Name"), ("Pietersen", "Name")], None),
        ("Kerkstraat 1\n1234 AB", [("Kerkstraat 1", "C"), ("1234 AB", "C")], None),
        ("Jan    Jansen", [("Jan", "N"), ("Jansen", "N")], None),
        ("1-3-2020 - 5-3-2020", [("1-3-2020", "D"), ("5-3-2020", "D")], None),
        ("Jan Utrecht", [("Jan", "N"), ("Utrecht", "C")], None),
        # Overlapping fragments of one label become their union.
        ("Jansenweg", [("Jansen", "C"), ("senweg", "C")], [("Jansenweg", "C")]),
    ],
)
def test_merge_fragments(
    text: str, parts: list[tuple[str, str]], expected: list[tuple[str, str]] | None
) -> None:
    spans = _spans(text, *parts)
    merged = merge_fragments(text, spans)
    assert _texts(text, merged) == (parts if expected is None else expected)


def test_merge_keeps_the_highest_score() -> None:
    text = "Jan Jansen"
    merged = merge_fragments(text, [Span(0, 3, "N", 0.2), Span(4, 10, "N", 0.7)])
    assert merged == [Span(0, 10, "N", 0.7)]


def test_resolve_overlaps_priority_and_remainders() -> None:
    text = "aaaa bbbb cccc dddd"
    order = ["X", "Y", "Z"]
    # Higher score wins; the loser keeps what the winner does not cover (trimmed).
    spans = [Span(0, 9, "Y", 0.9), Span(5, 19, "X", 0.5)]
    assert resolve_overlaps(text, spans, order) == [
        Span(0, 9, "Y", 0.9),
        Span(10, 19, "X", 0.5),
    ]
    # Same score: the longer one wins.
    spans = [Span(0, 4, "X", 0.5), Span(0, 9, "Y", 0.5)]
    assert resolve_overlaps(text, spans, order) == [Span(0, 9, "Y", 0.5)]
    # Same score and length: the earlier label in the order wins.
    spans = [Span(5, 9, "Z", 0.5), Span(5, 9, "Y", 0.5)]
    assert resolve_overlaps(text, spans, order) == [Span(5, 9, "Y", 0.5)]
    # A loser that surrounds the winner keeps both sides.
    spans = [Span(5, 9, "X", 0.9), Span(0, 14, "Y", 0.5)]
    assert resolve_overlaps(text, spans, order) == [
        Span(0, 4, "Y", 0.5),
        Span(5, 9, "X", 0.9),
        Span(10, 14, "Y", 0.5),
    ]


def _resolve_reference(text: str, spans: list[Span], order: Sequence[str]) -> list[Span]:
    """Obvious quadratic version of resolve_overlaps: subtract every winner from each loser."""
    rank = {label: i for i, label in enumerate(order)}
    accepted: list[Span] = []
    for span in sorted(
        spans, key=lambda s: (-s.score, -s.length, rank.get(s.label, 99), s.label, s.start)
    ):
        pieces = [(span.start, span.end)]
        for taken in accepted:
            pieces = [
                piece
                for start, end in pieces
                for piece in ((start, min(end, taken.start)), (max(start, taken.end), end))
                if piece[0] < piece[1]
            ]
        for start, end in pieces:
            trimmed = trim_span(text, Span(start, end, span.label, span.score))
            if trimmed is not None:
                accepted.append(trimmed)
    return sorted(accepted)


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(alphabet="ab ,", min_size=1, max_size=60),
    raw=st.lists(
        st.tuples(
            st.integers(0, 60), st.integers(1, 20), st.sampled_from("XYZ"), st.integers(0, 3)
        ),
        max_size=12,
    ),
)
def test_resolve_overlaps_matches_reference(
    text: str, raw: list[tuple[int, int, str, int]]
) -> None:
    spans = [
        Span(min(start, len(text) - 1), min(start + length, len(text)), label, score / 4)
        for start, length, label, score in raw
    ]
    resolved = resolve_overlaps(text, spans, ["X", "Y", "Z"])
    check_spans(resolved, len(text))
    assert sorted(resolved) == _resolve_reference(text, spans, ["X", "Y", "Z"])


def test_clean_model_spans_subword_and_overlap() -> None:
    text = "Dhr. Jansen woont in Utrecht."
    # Two subword fragments of one name with different labels, and a city split in two.
    spans = [
        Span(5, 8, "Name:Patient", 0.9),
        Span(8, 11, "Name:Other", 0.6),
        Span(21, 24, "Address_Location:Patient", 0.7),
        Span(24, 28, "Address_Location:Patient", 0.8),
    ]
    cleaned = clean_model_spans(text, spans, DEFAULT_ENTITY_LABELS)
    assert _texts(text, cleaned) == [
        ("Jansen", "Name:Patient"),
        ("Utrecht", "Address_Location:Patient"),
    ]
    assert cleaned[1].score == 0.8


# --------------------------------------------------------------------------------------------
# Random logits on random texts


_TEXT_ALPHABET = st.sampled_from(
    [
        *"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéëüñ0123456789",
        *[" ", " ", "  ", "\n", "\t", ".", ",", "-", "/", "(", ")", "'", "+", "\u0301", "😀"],
    ]
)


def _simple_tokens(text: str, piece: int) -> tuple[np.ndarray, np.ndarray]:
    """Word pieces of at most ``piece`` characters and single punctuation marks, with offsets,
    plus an empty-offset token after every tenth token (as some tokenizers emit)."""
    starts: list[int] = []
    ends: list[int] = []
    for match in re.finditer(r"\w+|[^\w\s]", text):
        for start in range(match.start(), match.end(), piece):
            starts.append(start)
            ends.append(min(start + piece, match.end()))
            if len(starts) % 10 == 0:
                starts.append(ends[-1])
                ends.append(ends[-1])
    return np.asarray(starts, dtype=np.int32), np.asarray(ends, dtype=np.int32)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.lists(_TEXT_ALPHABET, min_size=0, max_size=200).map("".join),
    piece=st.integers(1, 5),
    window_length=st.integers(3, 24),
    overlap_fraction=st.floats(0.0, 0.9),
    seed=st.integers(0, 2**32 - 1),
    scale=st.sampled_from([0.5, 3.0, 10.0]),
    thresholds=st.lists(st.floats(0.0, 1.0), min_size=3, max_size=3),
)
def test_decode_note_random_logits_give_valid_spans(
    text: str,
    piece: int,
    window_length: int,
    overlap_fraction: float,
    seed: int,
    scale: float,
    thresholds: list[float],
) -> None:
    overlap = int(overlap_fraction * (window_length - 2))
    starts, ends = _simple_tokens(text, piece)
    windows = plan_windows(len(starts), window_length, overlap)
    rng = np.random.default_rng(seed)
    bio = [rng.normal(scale=scale, size=(e - s + 2, 3)) for s, e in windows]
    entity = [rng.normal(scale=scale, size=(e - s + 2, len(LABELS))) for s, e in windows]
    spans = decode_note(text, starts, ends, windows, bio, entity, LABELS, thresholds)
    check_spans(spans, len(text))  # sorted, non-empty, within the text, disjoint
    for span in spans:
        assert span.label in LABELS and span.source == "model"
        assert 0.0 <= span.score <= 1.0
        # No whitespace or punctuation at the edges and no word cut in half.
        assert trim_span(text, span) == span
        assert not (
            span.start > 0 and text[span.start - 1].isalnum() and text[span.start].isalnum()
        )
        assert not (
            span.end < len(text) and text[span.end].isalnum() and text[span.end - 1].isalnum()
        )


# --------------------------------------------------------------------------------------------
# Real tokenizer, window-boundary invariance and the shard/logits file path


@pytest.fixture(scope="module")
def bundle(tiny_bundle: Bundle) -> Bundle:
    """The session's tiny bundle (tests/conftest.py): real tokenizer and torch model."""
    return tiny_bundle


NOTE_TEXT = (
    "Dhr. Jan Jansen (geboren 12 maart 1950) werd op 03-04-2021 opgenomen in het Erasmus MC. "
    "Verwezen door huisarts dr. de Vries uit Utrecht, tel. 06-12345678. "
    "Mevr. Femke Bakker-de Groot, verpleegkundige, belde met dochter Sanne. "
    "Patiënt woont Kerkstraat 12 te Zwolle; BSN 123456782. "
)


def _per_token_tables(vocab_size: int, n_labels: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-token-id logits, fp16-representable so that the fp16 logits file is exact."""
    rng = np.random.default_rng(1234)
    bio = rng.normal(scale=3.0, size=(vocab_size, 3))
    bio[:, 0] += rng.choice([-6.0, 2.0], size=vocab_size, p=[0.3, 0.7])  # some tokens PHI
    entity = rng.normal(scale=3.0, size=(vocab_size, n_labels))
    return bio.astype(np.float16).astype(np.float32), entity.astype(np.float16).astype(np.float32)


@pytest.fixture(scope="module")
def invariance_setup(bundle):  # type: ignore[no-untyped-def]
    tokenizer = bundle.load_tokenizer()
    [tokenized] = tokenize_notes(tokenizer, [Note(note_id="n1", text=NOTE_TEXT)])
    bio_table, entity_table = _per_token_tables(len(tokenizer), len(bundle.entity_labels))
    thresholds = [bundle.threshold_for(label) for label in bundle.entity_labels]

    def decode(window_length: int, overlap: int) -> list[Span]:
        windows = build_windows(
            [tokenized], window_length, overlap, bundle.cls_token_id, bundle.sep_token_id
        )
        return decode_note(
            NOTE_TEXT,
            tokenized.char_starts,
            tokenized.char_ends,
            [(w.token_start, w.token_end) for w in windows],
            [bio_table[w.input_ids] for w in windows],
            [entity_table[w.input_ids] for w in windows],
            bundle.entity_labels,
            thresholds,
        )

    reference = decode(tokenized.n_tokens + 2, 0)  # one window holds the whole note
    assert len(reference) >= 3
    return tokenized, decode, reference, (bio_table, entity_table), thresholds


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(window_length=st.integers(3, 80), overlap_fraction=st.floats(0.0, 0.9))
def test_window_boundaries_do_not_change_spans(
    invariance_setup,  # type: ignore[no-untyped-def]
    window_length: int,
    overlap_fraction: float,
) -> None:
    # With logits that depend only on the token, averaging over windows is exact, so any window
    # geometry must reproduce the single-window spans exactly.
    _, decode, reference, _, _ = invariance_setup
    overlap = int(overlap_fraction * (window_length - 2))
    assert decode(window_length, overlap) == reference


def _write_shard_and_logits(bundle, tokenized, tmp_path: Path, logits_fn):  # type: ignore[no-untyped-def]
    windows = build_windows(tokenized, 24, 6, bundle.cls_token_id, bundle.sep_token_id)
    table = build_shard_table(
        tokenized,
        windows,
        shard_id="s0",
        bundle_sha256=bundle.sha256,
        window_length=24,
        window_overlap=6,
    )
    info = write_shard(tmp_path / "s0.arrow", table)
    shard = read_shard(info.path, expected_sha256=info.content_sha256)
    outputs = [logits_fn(ids) for ids in shard.input_ids]
    write_logits(
        tmp_path / "s0.safetensors",
        [b for b, _ in outputs],
        [e for _, e in outputs],
        {META_LOGITS_SHARD_SHA256: shard.content_sha256},
    )
    return shard, read_logits(tmp_path / "s0.safetensors")


def test_decode_shard_matches_decode_note_through_files(
    bundle,  # type: ignore[no-untyped-def]
    invariance_setup,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    tokenized, _, reference, (bio_table, entity_table), thresholds = invariance_setup
    shard, logits = _write_shard_and_logits(
        bundle, [tokenized], tmp_path, lambda ids: (bio_table[ids], entity_table[ids])
    )
    decoded = decode_shard(shard, logits, {"n1": NOTE_TEXT}, bundle.entity_labels, thresholds)
    assert decoded == {"n1": reference}


def test_real_forward_pass_end_to_end(bundle, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import torch

    from deid_pipeline.modeling import load_torch_model

    model = load_torch_model(bundle)
    texts = {"a": NOTE_TEXT, "b": "Kort: Jansen belt 😀 morgen.", "c": NOTE_TEXT[::-1] * 2}
    notes = [Note(note_id=k, text=v) for k, v in texts.items()]
    tokenized = tokenize_notes(bundle.load_tokenizer(), notes)

    @torch.no_grad()
    def forward(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        input_ids = torch.from_numpy(ids.astype(np.int64))[None]
        bio, entity = model(input_ids, torch.ones_like(input_ids))
        return bio[0].numpy(), entity[0].numpy()

    shard, logits = _write_shard_and_logits(bundle, tokenized, tmp_path, forward)
    assert logits.n_windows == shard.n_windows > len(notes)
    # A random model is unsure: a low threshold makes sure spans are produced and cleaned.
    thresholds = [0.3] * len(bundle.entity_labels)
    decoded = decode_shard(shard, logits, texts, bundle.entity_labels, thresholds)
    assert list(decoded) == ["a", "b", "c"]
    assert sum(len(spans) for spans in decoded.values()) > 0
    for note_id, spans in decoded.items():
        check_spans(spans, len(texts[note_id]))
        assert all(s.label in bundle.entity_labels for s in spans)
    # Same as decoding each note directly from its windows.
    for note in shard.notes:
        direct = decode_note(
            texts[note.note_id],
            note.char_starts,
            note.char_ends,
            note.windows,
            [logits.bio[r] for r in note.window_rows],
            [logits.entity[r] for r in note.window_rows],
            bundle.entity_labels,
            thresholds,
        )
        assert decoded[note.note_id] == direct


def test_decode_shard_refuses_foreign_logits_and_changed_text(
    bundle,  # type: ignore[no-untyped-def]
    invariance_setup,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    tokenized, _, _, (bio_table, entity_table), thresholds = invariance_setup
    shard, logits = _write_shard_and_logits(
        bundle, [tokenized], tmp_path, lambda ids: (bio_table[ids], entity_table[ids])
    )
    labels = bundle.entity_labels
    foreign = type(logits)(logits.bio, logits.entity, {META_LOGITS_SHARD_SHA256: "f" * 64})
    with pytest.raises(LogitsFileError, match="s0"):
        decode_shard(shard, foreign, {"n1": NOTE_TEXT}, labels, thresholds)
    short = type(logits)(logits.bio[:-1], logits.entity[:-1], logits.metadata)
    with pytest.raises(LogitsFileError):
        decode_shard(shard, short, {"n1": NOTE_TEXT}, labels, thresholds)
    with pytest.raises(DecodingError, match="n1") as error:
        decode_shard(shard, logits, {"n1": NOTE_TEXT + "x"}, labels, thresholds)
    assert "Jansen" not in str(error.value)
    with pytest.raises(DecodingError, match="no text"):
        decode_shard(shard, logits, {}, labels, thresholds)

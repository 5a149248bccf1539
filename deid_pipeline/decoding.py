"""From per-window logits to character spans: overlap averaging, thresholds, BIO, cleanup.

Steps for one note:

1. :func:`average_window_logits`: every token's logits are the mean over the windows that
   cover it (logits, not probabilities, are averaged: the same as averaging log-odds).
2. :func:`decode_token_spans`: softmax of both heads; a token is PHI when
   ``1 - P(O) >= threshold(label)`` where ``label`` is the argmax of the entity head; spans
   start at a B, at an I after a non-PHI token (lenient), or where the label changes.
3. :func:`token_spans_to_char_spans`: token ranges to code-point ranges.
4. :func:`clean_model_spans`: :func:`expand_to_word_boundaries`, :func:`trim_span`,
   :func:`merge_fragments`, :func:`resolve_overlaps`: sorted, disjoint, non-empty spans.
"""

from __future__ import annotations

import bisect
import itertools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from deid_pipeline.labels import BIO_BEGIN, BIO_INSIDE, BIO_OUTSIDE, BIO_TAGS
from deid_pipeline.shards import META_LOGITS_SHARD_SHA256, LogitsBlock, LogitsFileError, Shard
from deid_pipeline.spans import Span, check_spans
from deid_pipeline.windows import N_SPECIAL_TOKENS, ModelWindow, TokenizedNote


class DecodingError(ValueError):
    """Logits, windows and offsets do not fit together. Messages hold ids and figures only."""


@dataclass(frozen=True, slots=True)
class TokenSpan:
    """A PHI span over content tokens ``[token_start, token_end)``."""

    token_start: int
    token_end: int
    label: str
    score: float


# --------------------------------------------------------------------------------------------
# Token level


def average_window_logits(
    n_tokens: int,
    windows: Sequence[tuple[int, int]],
    bio: Sequence[np.ndarray],
    entity: Sequence[np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Mean BIO ``[n, 3]`` and entity ``[n, E]`` logits over all windows covering each token.

    ``bio[i]``/``entity[i]`` are *content-only* arrays of window ``i`` (one row per token in
    ``windows[i]``, no [CLS]/[SEP] rows). Raises :class:`DecodingError` if a token is covered
    by no window or an array does not match its window.
    """
    if not len(windows) == len(bio) == len(entity):
        raise DecodingError(
            f"{len(windows)} windows, {len(bio)} bio and {len(entity)} entity arrays"
        )
    n_labels = entity[0].shape[-1] if len(entity) else 0
    bio_sum = np.zeros((n_tokens, len(BIO_TAGS)), dtype=np.float64)
    entity_sum = np.zeros((n_tokens, n_labels), dtype=np.float64)
    counts = np.zeros(n_tokens, dtype=np.int64)
    for index, ((start, end), b, e) in enumerate(zip(windows, bio, entity, strict=True)):
        rows = end - start
        if not 0 <= start < end <= n_tokens:
            raise DecodingError(f"window {index} [{start}, {end}) outside {n_tokens} tokens")
        if b.shape != (rows, len(BIO_TAGS)) or e.shape != (rows, n_labels):
            raise DecodingError(
                f"window {index}: logits shapes {b.shape}/{e.shape} do not fit {rows} tokens"
            )
        bio_sum[start:end] += b
        entity_sum[start:end] += e
        counts[start:end] += 1
    uncovered = int((counts == 0).sum())
    if uncovered:
        raise DecodingError(f"{uncovered} of {n_tokens} tokens are covered by no window")
    divisor = counts[:, None].astype(np.float64)
    return (bio_sum / divisor).astype(np.float32), (entity_sum / divisor).astype(np.float32)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits.astype(np.float64) - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def decode_token_spans(
    bio_avg: np.ndarray,
    entity_avg: np.ndarray,
    entity_labels: Sequence[str],
    thresholds: Sequence[float],
) -> list[TokenSpan]:
    """Turn averaged token logits into token spans.

    A token is PHI when ``1 - P(O) >= thresholds[label]``, with ``label`` the argmax of the
    entity head. Its tag is B or I, whichever is more probable. A span starts at a PHI token
    tagged B, at a PHI token after a non-PHI token (an I after O is read leniently as a start),
    or where the entity label changes; it ends before the first token that does not continue it.

    ``score = mean(1 - P(O)) * mean(P(label))`` over the span's tokens: the confidence that
    the span is PHI times the confidence in its label, both in ``[0, 1]``.
    """
    n_labels = len(entity_labels)
    if len(thresholds) != n_labels:
        raise DecodingError(f"{len(thresholds)} thresholds for {n_labels} labels")
    if bio_avg.ndim != 2 or bio_avg.shape[1] != len(BIO_TAGS):
        raise DecodingError(f"bio logits have shape {bio_avg.shape}")
    if entity_avg.shape != (len(bio_avg), n_labels):
        raise DecodingError(
            f"entity logits have shape {entity_avg.shape}, expected ({len(bio_avg)}, {n_labels})"
        )
    if len(bio_avg) == 0:
        return []
    bio_prob = _softmax(bio_avg)
    entity_prob = _softmax(entity_avg)
    phi_prob = 1.0 - bio_prob[:, BIO_OUTSIDE]
    label_ids = entity_prob.argmax(axis=1)
    label_prob = entity_prob[np.arange(len(label_ids)), label_ids]
    is_phi = phi_prob >= np.asarray(thresholds, dtype=np.float64)[label_ids]
    is_begin = bio_prob[:, BIO_BEGIN] > bio_prob[:, BIO_INSIDE]

    # Prefix sums give every span's means in O(1); plain Python lists keep the loop cheap.
    phi_sums = np.concatenate([[0.0], np.cumsum(phi_prob)]).tolist()
    label_sums = np.concatenate([[0.0], np.cumsum(label_prob)]).tolist()
    label_list = label_ids.tolist()
    phi_list = is_phi.tolist()
    begin_list = is_begin.tolist()
    spans: list[TokenSpan] = []
    start: int | None = None

    def close(end: int) -> None:
        assert start is not None
        n = end - start
        score = ((phi_sums[end] - phi_sums[start]) / n) * (
            (label_sums[end] - label_sums[start]) / n
        )
        # Clamp rounding noise of the prefix sums into the documented [0, 1].
        score = min(max(score, 0.0), 1.0)
        spans.append(TokenSpan(start, end, entity_labels[label_list[start]], score))

    for token in range(len(bio_avg)):
        if not phi_list[token]:
            if start is not None:
                close(token)
                start = None
            continue
        if start is not None and (begin_list[token] or label_list[token] != label_list[start]):
            close(token)
            start = None
        if start is None:
            start = token
    if start is not None:
        close(len(bio_avg))
    return spans


# --------------------------------------------------------------------------------------------
# Character level


def token_spans_to_char_spans(
    spans: Sequence[TokenSpan], char_starts: np.ndarray, char_ends: np.ndarray
) -> list[Span]:
    """Map token spans to code-point spans ``[start of first token, end of last token)``.

    Tokens with empty offsets (they cover no text) are ignored; a span made only of such
    tokens is dropped.
    """
    result: list[Span] = []
    for span in spans:
        starts = char_starts[span.token_start : span.token_end]
        ends = char_ends[span.token_start : span.token_end]
        non_empty = ends > starts
        if not non_empty.any():
            continue
        result.append(
            Span(
                int(starts[non_empty].min()),
                int(ends[non_empty].max()),
                span.label,
                span.score,
                "model",
            )
        )
    return result


def _is_word_char(char: str) -> bool:
    # Combining marks belong to the letter before them ("e" + U+0301); a tokenizer that strips
    # accents gives the mark no token, so without this a span could stop before it.
    return char.isalnum() or unicodedata.category(char).startswith("M")


def expand_to_word_boundaries(text: str, spans: Sequence[Span]) -> list[Span]:
    """Grow each span that cuts through a word to the whole word, so no subword is left.

    A span edge moves only when the characters on both sides of it are word characters
    (alphanumerics or combining marks): a span ending at ``"Jans"`` of ``"Jansen"`` becomes
    ``"Jansen"``, one ending before a space or punctuation stays as it is.
    """
    result: list[Span] = []
    n = len(text)
    for span in spans:
        start, end = span.start, span.end
        if start < end:
            while start > 0 and _is_word_char(text[start - 1]) and _is_word_char(text[start]):
                start -= 1
            while end < n and _is_word_char(text[end]) and _is_word_char(text[end - 1]):
                end += 1
        result.append(Span(start, end, span.label, span.score, span.source))
    return result


def _is_trimmable(char: str) -> bool:
    # Whitespace, punctuation (P*) and invisible controls/format characters (C*) are never the
    # identifying part of a value; symbols (S*, e.g. "+" of "+31") are kept.
    category = unicodedata.category(char)
    return char.isspace() or category.startswith("P") or category.startswith("C")


#: The last word of a span that is an abbreviation whose closing dot belongs to it: initials
#: ("D.S.H", "M"), "B.V", year-less day.month dates ("18.12", "1.1") and abbreviated months
#: ("29 dec"). A long last segment ("12.03.2020") makes a following dot sentence punctuation.
_DOTTED_ABBREVIATION: Final = re.compile(
    r"(?:\w{1,2}\.)+\w{1,2}|[^\W\d_]|(?i:jan|febr?|mrt|apr|jun|jul|aug|sept?|okt|oct|nov|dec)"
)


def _keeps_closing_dot(text: str, start: int, end: int) -> bool:
    if end >= len(text) or text[end] != ".":
        return False
    last_word = text[start:end].rsplit(None, 1)[-1]
    return _DOTTED_ABBREVIATION.fullmatch(last_word) is not None


def _keeps_opening_parenthesis(text: str, start: int, end: int) -> bool:
    # "(0227) 110125": the bracket opens a part of the value, closed inside the span. A value
    # wholly in brackets, "(Jansen)", is trimmed to its content.
    if start == 0 or text[start - 1] != "(":
        return False
    close = text.find(")", start, end)
    return 0 <= close < end - 1 and "(" not in text[start:close]


def trim_span(text: str, span: Span) -> Span | None:
    """Strip whitespace and punctuation from both ends; ``None`` when nothing is left.

    Two kinds of punctuation belong to the written value and stay in (or join) the span: the
    closing dot of an abbreviation at the end ("Mestdagh, D.S.H.", "18.12.", "29 dec.") and an
    opening bracket closed inside the span ("(0227) 110125").
    """
    start, end = span.start, span.end
    while start < end and _is_trimmable(text[start]):
        start += 1
    while end > start and _is_trimmable(text[end - 1]):
        end -= 1
    if start >= end:
        return None
    if _keeps_closing_dot(text, start, end):
        end += 1
    if _keeps_opening_parenthesis(text, start, end):
        start -= 1
    return Span(start, end, span.label, span.score, span.source)


#: Gaps across which two fragments of the same label are one value:
#: - one or two horizontal spaces ("Jan" "Jansen", "12 maart" "2020", "1234" "AB");
#: - one joiner without spaces: hyphen and Unicode hyphens ("Jansen-de Vries", "06-12345678",
#:   "12-03-2020"), apostrophes ("'s-Hertogenbosch", "d'Ancona"), dot ("J.P.", "12.03.2020"),
#:   slash ("12/03/2020");
#: - a dot followed by one space (initials: "J. Jansen").
#: Not merged: commas (lists of different people/places), line breaks (separate lines such as
#: address lines), and joiners surrounded by spaces ("12-03 - 15-03" is two dates, which the
#: date shifter must see separately).
MERGEABLE_GAP: Final = re.compile(r"[ \t\u00a0]{1,2}|[-\u2010\u2011'\u2019./]|\.[ \t\u00a0]")


#: Initials written after a surname and a comma ("Stoffel, C.I.", "Fierens, J.").
_INITIALS: Final = re.compile(r"(?:[^\W\d_]\.)+")


def _initials_after_comma(text: str, left: Span, right: Span) -> bool:
    # A comma separates different people ("Jansen, Pietersen") except before initials, which
    # always belong to the name before them.
    return (
        left.label.startswith("Name")
        and text[left.end : right.start] in (",", ", ")
        and _INITIALS.fullmatch(text, right.start, right.end) is not None
    )


def merge_fragments(text: str, spans: Sequence[Span]) -> list[Span]:
    """Join same-label spans that overlap, touch, or are separated by a :data:`MERGEABLE_GAP`.

    The merged span keeps the highest score of its parts. Spans of different labels are left
    alone (see :func:`resolve_overlaps`). Output is sorted by (start, end, label).
    """
    by_label: dict[str, list[Span]] = {}
    for span in spans:
        by_label.setdefault(span.label, []).append(span)
    merged: list[Span] = []
    for label, group in by_label.items():
        group.sort(key=lambda s: (s.start, s.end))
        current = group[0]
        for span in group[1:]:
            gap_ok = (
                span.start <= current.end
                or MERGEABLE_GAP.fullmatch(text, current.end, span.start) is not None
                or _initials_after_comma(text, current, span)
            )
            if gap_ok:
                current = Span(
                    current.start,
                    max(current.end, span.end),
                    label,
                    max(current.score, span.score),
                    current.source,
                )
            else:
                merged.append(current)
                current = span
        merged.append(current)
    merged.sort(key=lambda s: (s.start, s.end, s.label))
    return merged


def resolve_overlaps(text: str, spans: Sequence[Span], label_order: Sequence[str]) -> list[Span]:
    """Make spans of different labels disjoint, deterministically.

    Spans win in order of higher score, then longer, then earlier label in ``label_order``
    (unknown labels after known ones, by name), then earlier start. A winner is kept whole; a
    loser keeps only the parts no winner covers (trimmed again), so text that only the loser
    marked as PHI is never released. Returns sorted, disjoint, non-empty spans.
    """
    ordered = sorted(spans, key=lambda s: (s.start, s.end))
    if all(a.end <= b.start for a, b in itertools.pairwise(ordered)):
        # The common case after merging: nothing to resolve, skip the search for winners.
        return [t for t in (trim_span(text, s) for s in ordered) if t is not None]
    rank = {label: index for index, label in enumerate(label_order)}

    def priority(span: Span) -> tuple[float, int, int, str, int]:
        return (-span.score, -span.length, rank.get(span.label, len(rank)), span.label, span.start)

    # Accepted spans are kept disjoint and sorted by start, so the winners a candidate overlaps
    # are found by bisection: O(n log n) overall instead of comparing every pair.
    accepted: list[Span] = []
    accepted_starts: list[int] = []
    for span in sorted(spans, key=priority):
        pieces: list[tuple[int, int]] = []
        cursor = span.start
        index = max(bisect.bisect_right(accepted_starts, span.start) - 1, 0)
        while index < len(accepted) and accepted[index].start < span.end:
            taken = accepted[index]
            if taken.end > cursor:
                if taken.start > cursor:
                    pieces.append((cursor, taken.start))
                cursor = taken.end
            index += 1
        if cursor < span.end:
            pieces.append((cursor, span.end))
        for start, end in pieces:
            trimmed = trim_span(text, Span(start, end, span.label, span.score, span.source))
            if trimmed is not None:
                position = bisect.bisect_left(accepted_starts, trimmed.start)
                accepted.insert(position, trimmed)
                accepted_starts.insert(position, trimmed.start)
    return accepted


def clean_model_spans(text: str, spans: Sequence[Span], label_order: Sequence[str]) -> list[Span]:
    """Word expansion, trimming, fragment merging and overlap resolution, in that order."""
    expanded = expand_to_word_boundaries(text, spans)
    trimmed = [t for t in (trim_span(text, s) for s in expanded) if t is not None]
    merged = merge_fragments(text, trimmed)
    resolved = resolve_overlaps(text, merged, label_order)
    check_spans(resolved, len(text))
    return resolved


# --------------------------------------------------------------------------------------------
# Notes and shards


def _content_rows(
    windows: Sequence[tuple[int, int]], arrays: Sequence[np.ndarray], name: str
) -> list[np.ndarray]:
    """Drop the [CLS] and [SEP] rows of full-window logits."""
    if len(arrays) != len(windows):
        raise DecodingError(f"{len(windows)} windows but {len(arrays)} {name} arrays")
    content: list[np.ndarray] = []
    for index, ((start, end), array) in enumerate(zip(windows, arrays, strict=True)):
        expected = end - start + N_SPECIAL_TOKENS
        if array.ndim != 2 or len(array) != expected:
            raise DecodingError(
                f"window {index}: {name} logits have {array.shape[0] if array.ndim else 0} "
                f"rows, expected {expected}"
            )
        content.append(array[1 : 1 + end - start])
    return content


def decode_note(
    text: str,
    char_starts: np.ndarray,
    char_ends: np.ndarray,
    windows: Sequence[tuple[int, int]],
    bio_windows: Sequence[np.ndarray],
    entity_windows: Sequence[np.ndarray],
    entity_labels: Sequence[str],
    thresholds: Sequence[float],
) -> list[Span]:
    """Decode one note from full-window logits (rows ``[CLS] + content + [SEP]``).

    Returns sorted, disjoint model spans (``source="model"``) in code points of ``text``.
    """
    n_tokens = len(char_starts)
    if n_tokens and (int(char_ends.max()) > len(text) or int(char_starts.min()) < 0):
        raise DecodingError(f"token offsets exceed text of length {len(text)}")
    if not windows:
        if n_tokens:
            raise DecodingError(f"{n_tokens} tokens but no windows")
        return []
    bio_avg, entity_avg = average_window_logits(
        n_tokens,
        windows,
        _content_rows(windows, bio_windows, "bio"),
        _content_rows(windows, entity_windows, "entity"),
    )
    token_spans = decode_token_spans(bio_avg, entity_avg, entity_labels, thresholds)
    char_spans = token_spans_to_char_spans(token_spans, char_starts, char_ends)
    return clean_model_spans(text, char_spans, entity_labels)


def decode_windows(
    texts: Sequence[str],
    tokenized: Sequence[TokenizedNote],
    windows: Sequence[ModelWindow],
    bio_windows: Sequence[np.ndarray],
    entity_windows: Sequence[np.ndarray],
    entity_labels: Sequence[str],
    thresholds: Sequence[float],
) -> list[list[Span]]:
    """Model spans of every note from in-memory windows (``build_windows`` order) and logits.

    ``windows[i].note_index`` indexes ``texts`` and ``tokenized``; a note without windows
    (no tokens) gets no spans. The in-memory twin of :func:`decode_shard`.
    """
    windows_of_note: dict[int, list[int]] = {}
    for position, window in enumerate(windows):
        windows_of_note.setdefault(window.note_index, []).append(position)
    result: list[list[Span]] = []
    for index, (text, tokens) in enumerate(zip(texts, tokenized, strict=True)):
        mine = windows_of_note.get(index, [])
        result.append(
            decode_note(
                text,
                tokens.char_starts,
                tokens.char_ends,
                [(windows[i].token_start, windows[i].token_end) for i in mine],
                [bio_windows[i] for i in mine],
                [entity_windows[i] for i in mine],
                entity_labels,
                thresholds,
            )
        )
    return result


def decode_shard(
    shard: Shard,
    logits: LogitsBlock,
    texts: Mapping[str, str],
    entity_labels: Sequence[str],
    thresholds: Sequence[float],
) -> dict[str, list[Span]]:
    """Decode every note of a shard; returns ``{note_id: spans}`` in shard order.

    Refuses (:class:`~deid_pipeline.shards.LogitsFileError`) logits computed for another shard,
    and (:class:`DecodingError`) a text whose length differs from the tokenized one. Notes with
    zero tokens have no rows in a shard and therefore no entry here.
    """
    if logits.metadata.get(META_LOGITS_SHARD_SHA256) != shard.content_sha256:
        raise LogitsFileError(f"logits do not belong to shard {shard.shard_id}")
    if logits.n_windows != shard.n_windows:
        raise LogitsFileError(
            f"shard {shard.shard_id}: {shard.n_windows} windows but {logits.n_windows} logits"
        )
    result: dict[str, list[Span]] = {}
    for note in shard.notes:
        text = texts.get(note.note_id)
        if text is None:
            raise DecodingError(f"shard {shard.shard_id}: no text for note {note.note_id}")
        if len(text) != note.text_length:
            raise DecodingError(
                f"shard {shard.shard_id}: note {note.note_id} has {len(text)} characters, "
                f"tokenized text had {note.text_length}"
            )
        rows = note.window_rows
        result[note.note_id] = decode_note(
            text,
            note.char_starts,
            note.char_ends,
            note.windows,
            [logits.bio[row] for row in rows],
            [logits.entity[row] for row in rows],
            entity_labels,
            thresholds,
        )
    return result

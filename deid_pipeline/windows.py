"""Tokenization with code-point offsets, sliding model windows and the window-count limit.

A note is tokenized once, without special tokens; the token sequence is then cut into model
windows ``[CLS] + tokens[token_start:token_end] + [SEP]`` of at most ``window_length`` ids.
Consecutive windows share at least ``window_overlap`` content tokens and the last window is
anchored at the end of the note, so every window but the only window of a short note is full
(the model never sees a short tail window with little context).

Everything here is pure: the tokenizer is passed in, no bundle or file is touched.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from deid_pipeline.notes import Limits, Note, Rejection, RejectReason

Int32Array = npt.NDArray[np.int32]

#: Number of special tokens ([CLS] and [SEP]) around the content of every window.
N_SPECIAL_TOKENS = 2


@dataclass(frozen=True, slots=True, eq=False)
class TokenizedNote:
    """One note's tokens (no special tokens) and their code-point offsets into the note text.

    ``char_starts[i]:char_ends[i]`` is the text of token ``i``. Tokens whose offsets are empty
    (``start == end``) are kept: they cover no text, so they never affect span offsets, but
    dropping them would change the id sequence the model was trained on.
    """

    note_id: str
    text_length: int
    token_ids: Int32Array
    char_starts: Int32Array
    char_ends: Int32Array

    def __post_init__(self) -> None:
        n = len(self.token_ids)
        if len(self.char_starts) != n or len(self.char_ends) != n:
            raise ValueError(
                f"note {self.note_id}: {n} token ids but {len(self.char_starts)} starts "
                f"and {len(self.char_ends)} ends"
            )

    @property
    def n_tokens(self) -> int:
        """Number of content tokens."""
        return len(self.token_ids)


@dataclass(frozen=True, slots=True, eq=False)
class ModelWindow:
    """One model input: ``[CLS] + note tokens[token_start:token_end] + [SEP]``."""

    note_index: int
    window_index: int
    token_start: int
    token_end: int
    input_ids: Int32Array

    @property
    def n_content_tokens(self) -> int:
        """Number of note tokens in the window (without the two special tokens)."""
        return self.token_end - self.token_start


def tokenize_notes(tokenizer: Any, notes: Sequence[Note]) -> list[TokenizedNote]:
    """Tokenize notes in one batched call of a Hugging Face fast tokenizer.

    No special tokens and no truncation: a note of any length becomes one token sequence that
    :func:`plan_windows` cuts into model windows. ``verbose=False`` silences the tokenizer's
    "sequence length is longer than the specified maximum" warning without mutating the
    (possibly shared) tokenizer object: the maximum is the window's concern, not the tokenizer's.

    Offsets from a fast tokenizer called on Python ``str`` are code-point offsets into the
    original (un-normalized) text, which is the offset convention of the whole pipeline.
    """
    if not notes:
        return []
    if not getattr(tokenizer, "is_fast", False):
        # Slow tokenizers cannot return offsets; offsets are the whole point of this step.
        raise TypeError("tokenize_notes needs a fast tokenizer (offset mapping)")
    texts = [note.text for note in notes]
    encoded = tokenizer(
        texts,
        add_special_tokens=False,
        return_offsets_mapping=True,
        return_attention_mask=False,
        return_token_type_ids=False,
        truncation=False,
        padding=False,
        verbose=False,
    )
    result: list[TokenizedNote] = []
    for note, ids, offsets in zip(
        notes, encoded["input_ids"], encoded["offset_mapping"], strict=True
    ):
        offset_array = np.asarray(offsets, dtype=np.int32).reshape(-1, 2)
        starts, ends = tidy_offsets(note.text, offset_array[:, 0], offset_array[:, 1])
        result.append(
            TokenizedNote(
                note_id=note.note_id,
                text_length=len(note.text),
                token_ids=np.asarray(ids, dtype=np.int32),
                char_starts=starts,
                char_ends=ends,
            )
        )
    return result


#: Highest code point of a Unicode white-space character (U+3000 IDEOGRAPHIC SPACE); scanning
#: up to it instead of all 0x110000 code points keeps this import cheap (a test checks the set
#: equals the full scan's).
_LAST_SPACE_CODE_POINT = 0x3000
#: Characters a token's offsets never start on: Unicode white space and the invisible
#: separators a SentencePiece tokenizer folds into its word-boundary marker.
_BLANK_CHARS = frozenset(
    [chr(c) for c in range(_LAST_SPACE_CODE_POINT + 1) if chr(c).isspace()]
    + ["\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\ufeff"]
)
_BLANK_CODES = np.array(sorted(ord(c) for c in _BLANK_CHARS), dtype=np.uint32)
#: Combining marks start at U+0300; below it no character is one.
_FIRST_COMBINING = 0x300


def _next_clear(flags: np.ndarray) -> np.ndarray:
    """For every position ``i`` (and one past the end), the first ``j >= i`` with no flag."""
    n = len(flags)
    positions = np.arange(n + 1, dtype=np.int64)
    clear = np.append(~flags, True)
    candidates = np.where(clear, positions, n)
    return np.minimum.accumulate(candidates[::-1])[::-1]


def tidy_offsets(text: str, starts: np.ndarray, ends: np.ndarray) -> tuple[Int32Array, Int32Array]:
    """Token offsets without leading blanks and with trailing combining marks.

    A metaspace tokenizer (XLM-R, SentencePiece) reports ``" de"`` for the piece ``▁de`` and an
    empty-looking ``" "`` for a standalone ``▁``; a span must start on the word, so a token's
    start moves past blanks (a token of blanks only becomes empty). NFKC composes ``e`` + U+0301
    into one normalised character whose offsets end before the combining mark; the end moves
    over combining marks no other token covers, so no accent is left outside a span.

    Vectorised over the tokens (numpy); :func:`_tidy_offsets_reference` is the same rule as a
    plain loop, kept for the tests.
    """
    starts = np.ascontiguousarray(starts, dtype=np.int32).copy()
    ends = np.ascontiguousarray(ends, dtype=np.int32).copy()
    n = len(starts)
    if n == 0:
        return starts, ends
    length = len(text)
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    blank = np.isin(codes, _BLANK_CODES)
    combining = np.zeros(length, dtype=bool)
    for position in np.flatnonzero(codes >= _FIRST_COMBINING).tolist():
        combining[position] = unicodedata.combining(text[position]) != 0
    s = starts.astype(np.int64)
    e = ends.astype(np.int64)
    # Leading blanks: the start moves to the first non-blank, never past the end.
    new_s = s.copy()
    moves = s < e
    new_s[moves] = np.minimum(_next_clear(blank)[s[moves]], e[moves])
    empty = new_s == e
    # Trailing combining marks: up to the next token's (original) start and the text's end.
    bound = np.empty(n, dtype=np.int64)
    bound[:-1] = s[1:]
    bound[-1] = length
    np.minimum(bound, length, out=bound)
    new_e = e.copy()
    grows = ~empty & (e < bound)
    new_e[grows] = np.minimum(_next_clear(combining)[e[grows]], bound[grows])
    # A token of blanks only: empty at its end, so it covers no text.
    new_s[empty] = e[empty]
    new_e[empty] = e[empty]
    return new_s.astype(np.int32), new_e.astype(np.int32)


def _tidy_offsets_reference(
    text: str, starts: np.ndarray, ends: np.ndarray
) -> tuple[Int32Array, Int32Array]:
    """:func:`tidy_offsets` as a per-token loop (the rule's plain statement; tests only)."""
    starts = np.ascontiguousarray(starts, dtype=np.int32).copy()
    ends = np.ascontiguousarray(ends, dtype=np.int32).copy()
    n = len(starts)
    length = len(text)
    for i in range(n):
        start, end = int(starts[i]), int(ends[i])
        while start < end and text[start] in _BLANK_CHARS:
            start += 1
        if start == end:
            starts[i] = ends[i] = end
            continue
        limit = int(starts[i + 1]) if i + 1 < n else length
        while end < length and end < limit and unicodedata.combining(text[end]):
            end += 1
        starts[i], ends[i] = start, end
    return starts, ends


def _content_length(window_length: int, window_overlap: int) -> int:
    """Validate the window geometry and return the number of content tokens per window."""
    content = window_length - N_SPECIAL_TOKENS
    if content < 1:
        raise ValueError(f"window_length {window_length} leaves no room for content tokens")
    if not 0 <= window_overlap < content:
        raise ValueError(
            f"window_overlap {window_overlap} must be in [0, {content}) for window_length "
            f"{window_length}"
        )
    return content


def plan_windows(n_tokens: int, window_length: int, window_overlap: int) -> list[tuple[int, int]]:
    """Content token ranges ``[start, end)`` of the windows of a note with ``n_tokens`` tokens.

    Windows hold ``window_length - 2`` content tokens and start every
    ``stride = content - overlap`` tokens; the last window is anchored at the end
    (``start = n_tokens - content``) so it is full and overlaps its predecessor by at least
    ``window_overlap`` tokens. A note no longer than one window gets one short window;
    0 tokens give no window.
    """
    content = _content_length(window_length, window_overlap)
    if n_tokens < 0:
        raise ValueError(f"n_tokens {n_tokens} is negative")
    if n_tokens == 0:
        return []
    if n_tokens <= content:
        return [(0, n_tokens)]
    stride = content - window_overlap
    last_start = n_tokens - content
    ranges = [(start, start + content) for start in range(0, last_start, stride)]
    ranges.append((last_start, n_tokens))
    return ranges


def window_count(n_tokens: int, window_length: int, window_overlap: int) -> int:
    """Number of windows :func:`plan_windows` makes, in closed form (no list built)."""
    content = _content_length(window_length, window_overlap)
    if n_tokens <= 0:
        return 0
    if n_tokens <= content:
        return 1
    stride = content - window_overlap
    return 1 + math.ceil((n_tokens - content) / stride)


def estimate_window_count(n_chars: int, window_length: int, chars_per_token: float = 4.0) -> int:
    """Estimate model windows from characters, before tokenization (for request limits/packing).

    ``ceil(n_chars / (chars_per_token * window_length))``: with the defaults of the system this
    project grew from (128-token windows, ~4 characters per token) that is ``ceil(chars / 512)``.
    It ignores overlap and special tokens, so it under-counts long notes by roughly the overlap
    fraction; it is a packing heuristic, never a limit check (that uses :func:`window_count`).
    """
    if n_chars <= 0:
        return 0
    if chars_per_token <= 0 or window_length <= 0:
        raise ValueError("chars_per_token and window_length must be positive")
    return math.ceil(n_chars / (chars_per_token * window_length))


def build_windows(
    tokenized: Sequence[TokenizedNote],
    window_length: int,
    window_overlap: int,
    cls_id: int,
    sep_id: int,
) -> list[ModelWindow]:
    """Cut every tokenized note into model windows, in note order then window order."""
    windows: list[ModelWindow] = []
    for note_index, note in enumerate(tokenized):
        for window_index, (start, end) in enumerate(
            plan_windows(note.n_tokens, window_length, window_overlap)
        ):
            input_ids = np.empty(end - start + N_SPECIAL_TOKENS, dtype=np.int32)
            input_ids[0] = cls_id
            input_ids[1:-1] = note.token_ids[start:end]
            input_ids[-1] = sep_id
            windows.append(ModelWindow(note_index, window_index, start, end, input_ids))
    return windows


def check_window_limit(
    tokenized: TokenizedNote, n_windows: int, limits: Limits
) -> Rejection | None:
    """Reject a note that needs more model windows than ``limits.max_windows_per_record``."""
    if n_windows <= limits.max_windows_per_record:
        return None
    return Rejection(
        RejectReason.TOO_LONG,
        f"{tokenized.n_tokens} tokens need {n_windows} windows, exceeds limit of "
        f"{limits.max_windows_per_record}",
        tokenized.note_id,
    )

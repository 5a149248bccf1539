"""One normalised matching view of a text, shared by the metadata recognizer and the leak check.

Names and known values are searched in a *view* of the note in which the ways of writing the
same letters differently are undone, and every match is mapped back to code-point offsets of
the original text. The metadata recognizer (:mod:`deid_pipeline.recognizers.metadata`) and the
blocking leak check (:mod:`deid_pipeline.leakcheck`) use this same view, so the check is a
second net with the same eyes (and no model).

What the view undoes (each view character remembers the original characters it came from):

* Unicode compatibility forms and composition: NFKC per character with its combining marks,
  so fullwidth ``Ｊａｎｓｅｎ`` and NFD ``e`` + U+0301 read like plain NFC text; diacritics are
  then dropped (``é`` ~ ``e``) and the text case-folded;
* look-alike letters from other scripts (Cyrillic ``а``, Greek ``ο`` ...) folded to Latin;
* invisible characters (format characters such as zero-width space, zero-width joiner, BOM,
  word joiner; the soft hyphen) removed;
* hyphenation across a line break joined: ``zwanen-`` + newline + ``burg`` reads
  ``zwanenburg`` (a hyphen before a capital is kept: ``Zwanenburg-`` / ``Kloosterhof`` is a
  double surname written over two lines);
* letter-spaced writing (``J a n s e n``, four or more single letters apart by single spaces)
  read as one word.

Case is folded in the view; rules about case (a one-word value written in lower case is the
everyday word) look at the original surface through :meth:`MatchingView.surface`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

__all__ = [
    "MatchingView",
    "expand_over_invisibles",
    "fold",
    "has_invisibles",
    "is_invisible",
    "matching_view",
]

#: Look-alike letters of other scripts, folded to the Latin letter they are mistaken for
#: (lower case: the view is case-folded before this table is applied).
_CONFUSABLES: Final = str.maketrans(
    {
        # Cyrillic
        "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
        "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i",
        "ј": "j", "һ": "h", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ь": "b", "г": "r", "п": "n",
        # Greek
        "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o",
        "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ζ": "z", "μ": "m", "ω": "w",
        # Latin look-alikes outside ASCII
        "ı": "i", "ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ŀ": "l", "ß": "ss",
    }
)  # fmt: skip

_SOFT_HYPHEN: Final = "\u00ad"
_HYPHENS: Final = "-\u2010\u2011" + _SOFT_HYPHEN
# A hyphen (or soft hyphen) at the end of a line between two letters: hyphenation.
_LINE_BREAK_HYPHEN: Final = re.compile(
    rf"(?<=[^\W\d_])[{_HYPHENS}][ \t]*(?:\r\n|\n|\r)[ \t]*(?=[^\W\d_])"
)
# Four or more single letters apart by single spaces: letter-spaced writing.
_LETTER_SPACED: Final = re.compile(r"(?<![^\W_])[^\W\d_](?: [^\W\d_]){3,}(?![^\W_])")


def is_invisible(char: str) -> bool:
    """Whether ``char`` is a format character (zero-width space, joiners, BOM, soft hyphen)."""
    return unicodedata.category(char) == "Cf"


def _is_mark(char: str) -> bool:
    return unicodedata.category(char).startswith("M")


@lru_cache(maxsize=8192)
def _fold_cluster(cluster: str) -> str:
    """A base character with its combining marks, as the view writes it."""
    if cluster.isascii():
        return cluster.lower()
    composed = unicodedata.normalize("NFKC", cluster)
    stripped = "".join(
        char for char in unicodedata.normalize("NFD", composed) if not _is_mark(char)
    )
    return unicodedata.normalize("NFC", stripped.casefold()).translate(_CONFUSABLES)


@dataclass(frozen=True, slots=True)
class MatchingView:
    """The normalised text and, per view character, the original ``[start, end)`` it covers."""

    original: str
    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Original offsets of the view range ``[start, end)`` (non-empty)."""
        return self.starts[start], self.ends[end - 1]

    def surface(self, start: int, end: int) -> str:
        """The original text of a view range, NFKC, invisible characters and hyphenation
        removed, case kept: what a case rule should look at."""
        low, high = self.to_original(start, end)
        piece = unicodedata.normalize("NFKC", self.original[low:high])
        piece = _LINE_BREAK_HYPHEN.sub("", piece)
        return "".join(char for char in piece if not is_invisible(char))


def _build(text: str) -> MatchingView:
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    index = 0
    length = len(text)
    while index < length:
        char = text[index]
        end = index + 1
        while end < length and _is_mark(text[end]):
            end += 1
        if char == _SOFT_HYPHEN:
            # Kept for now: a soft hyphen before a line break marks hyphenation.
            folded = _SOFT_HYPHEN
        elif is_invisible(char):
            index = end
            continue
        else:
            folded = _fold_cluster(text[index:end])
        for piece in folded:
            chars.append(piece)
            starts.append(index)
            ends.append(end)
        index = end
    view = "".join(chars)
    drop: set[int] = set()
    for match in _LINE_BREAK_HYPHEN.finditer(view):
        hyphen = view[match.start()]
        following = text[starts[match.end()]]
        # A hyphen before a capital is a double name over two lines: keep the hyphen.
        if hyphen == _SOFT_HYPHEN or not following.isupper():
            drop.update(range(match.start(), match.end()))
        else:
            drop.update(range(match.start() + 1, match.end()))
    for match in _LETTER_SPACED.finditer(view):
        drop.update(range(match.start() + 1, match.end(), 2))
    drop.update(position for position, char in enumerate(view) if char == _SOFT_HYPHEN)
    if drop:
        keep = [position for position in range(len(view)) if position not in drop]
        view = "".join(view[position] for position in keep)
        starts = [starts[position] for position in keep]
        ends = [ends[position] for position in keep]
    return MatchingView(text, view, tuple(starts), tuple(ends))


@lru_cache(maxsize=16)
def matching_view(text: str) -> MatchingView:
    """The normalised matching view of ``text`` (module docstring); cached per text."""
    return _build(text)


@lru_cache(maxsize=8192)
def fold(value: str) -> str:
    """A metadata value (name, known value) normalised the way :func:`matching_view` does."""
    return _build(value).text


def expand_over_invisibles(text: str, bounds: tuple[int, int]) -> tuple[int, int]:
    """``[start, end)`` grown over invisible characters and combining marks at its edges and
    the letters joined on through them: a zero-width space inside a surname must not leave
    the rest of the surname behind ("[Name:Patient]" + U+200B + "jans")."""
    start, end = bounds
    while end < len(text) and (is_invisible(text[end]) or _is_mark(text[end])):
        probe = end
        while probe < len(text) and (is_invisible(text[probe]) or _is_mark(text[probe])):
            probe += 1
        end = probe
        while end < len(text) and (text[end].isalnum() or _is_mark(text[end])):
            end += 1
    while start > 0 and is_invisible(text[start - 1]):
        probe = start
        while probe > 0 and is_invisible(text[probe - 1]):
            probe -= 1
        start = probe
        while start > 0 and (text[start - 1].isalnum() or _is_mark(text[start - 1])):
            start -= 1
    return start, end


def has_invisibles(text: str) -> bool:
    """Whether ``text`` holds a format character or a combining mark (a fast pre-check)."""
    return not text.isascii() and any(is_invisible(char) or _is_mark(char) for char in text)

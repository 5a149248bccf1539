"""Text assembly with exact gold spans.

Documents are composed from templates such as ``"Patiënt {pt_t} werd op {adm} opgenomen."``.
Every ``{slot}`` is filled with a :data:`Fragment`: a sequence of ``(text, label)`` pieces where
``label`` is ``None`` for plain text (titles like "dhr.", punctuation) and an entity label for a
PHI value. The builder records a span for each labelled piece at the code-point offsets where it
lands, so gold spans are exact by construction rather than found again by searching.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache

from deid_pipeline.labels import DEFAULT_ENTITY_LABELS
from deid_pipeline.spans import Span

Piece = tuple[str, str | None]
Fragment = tuple[Piece, ...]
SlotValue = Fragment | str | Callable[[], "Fragment | str"]

_SLOT = re.compile(r"\{(\w+)\}")
_LABELS = frozenset(DEFAULT_ENTITY_LABELS)


def phi(text: str, label: str) -> Fragment:
    """A fragment that is one PHI value."""
    return ((text, label),)


def plain(text: str) -> Fragment:
    """A fragment of plain text (no PHI)."""
    return ((text, None),)


def join(*parts: Fragment | str) -> Fragment:
    """Concatenate fragments; bare strings are plain text."""
    pieces: list[Piece] = []
    for part in parts:
        if isinstance(part, str):
            if part:
                pieces.append((part, None))
        else:
            pieces.extend(part)
    return tuple(pieces)


@lru_cache(maxsize=8192)
def _parse(template: str) -> tuple[tuple[str, str | None], ...]:
    """Split a template into ``(literal, slot name or None)`` pairs; cached per template."""
    parsed: list[tuple[str, str | None]] = []
    position = 0
    for match in _SLOT.finditer(template):
        parsed.append((template[position : match.start()], match.group(1)))
        position = match.end()
    parsed.append((template[position:], None))
    return tuple(parsed)


class MissingSlotError(KeyError):
    """A template names a slot the document context does not provide (a generator bug)."""


class DocBuilder:
    """Accumulates text pieces and the gold spans of their PHI values."""

    __slots__ = ("_parts", "_spans", "length")

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._spans: list[Span] = []
        self.length = 0

    def add(self, text: str) -> None:
        """Append plain text."""
        if text:
            self._parts.append(text)
            self.length += len(text)

    def add_fragment(self, fragment: Fragment | str) -> None:
        """Append a fragment, recording a span for each labelled piece."""
        if isinstance(fragment, str):
            self.add(fragment)
            return
        for text, label in fragment:
            if label is None:
                self.add(text)
                continue
            if label not in _LABELS:
                raise ValueError(f"unknown label {label!r}")
            # A value never starts or ends with blanks; keep any as plain text around it.
            stripped = text.strip()
            if not stripped:
                self.add(text)
                continue
            lead = len(text) - len(text.lstrip())
            self.add(text[:lead])
            self._spans.append(Span(self.length, self.length + len(stripped), label))
            self.add(stripped)
            self.add(text[lead + len(stripped) :])

    def render(self, template: str, slots: Mapping[str, SlotValue]) -> None:
        """Append ``template`` with each ``{slot}`` filled; callables are called per occurrence."""
        for literal, name in _parse(template):
            self.add(literal)
            if name is None:
                continue
            try:
                value = slots[name]
            except KeyError:
                raise MissingSlotError(name) from None
            if callable(value):
                value = value()
            self.add_fragment(value)

    def mark(self) -> tuple[int, int, int]:
        """A checkpoint for :meth:`rollback`."""
        return len(self._parts), len(self._spans), self.length

    def rollback(self, mark: tuple[int, int, int]) -> None:
        """Drop everything appended after ``mark``."""
        parts, spans, length = mark
        del self._parts[parts:]
        del self._spans[spans:]
        self.length = length

    def tail(self, n: int = 2) -> str:
        """The last ``n`` characters (used to decide on paragraph breaks)."""
        out = ""
        for part in reversed(self._parts):
            out = part + out
            if len(out) >= n:
                break
        return out[-n:]

    def build(self) -> tuple[str, list[Span]]:
        """The text, trimmed of trailing blanks, and its spans sorted by offset."""
        text = "".join(self._parts)
        trimmed = text.rstrip()
        leading = len(trimmed) - len(trimmed.lstrip())
        trimmed = trimmed.lstrip()
        spans = [Span(span.start - leading, span.end - leading, span.label) for span in self._spans]
        return trimmed, sorted(spans)


def spans_text(text: str, spans: Sequence[Span]) -> list[str]:
    """The covered text of each span (test helper; never log its output)."""
    return [text[span.start : span.end] for span in spans]

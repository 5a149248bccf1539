"""Text assembly with exact gold spans and non-PHI annotations.

Documents are composed from templates such as ``"Patiënt {pt_t} werd op {adm} opgenomen."``.
Every ``{slot}`` is filled with a :data:`Fragment`: a sequence of ``(text, label)`` pieces where
``label`` is ``None`` for plain text (titles like "dhr.", punctuation), an entity label for a
PHI value, or ``"@kind"`` for a non-PHI annotation (a quantity, a field label, a code). The
builder records a span for each labelled piece at the code-point offsets where it lands, so gold
spans are exact by construction rather than found again by searching.

Non-PHI annotations (:data:`ANNOTATION_KINDS`) are what the evaluation measures besides PHI:

* ``quantities``: number plus unit, dose, frequency, lab value, vital sign, score, clock time;
* ``field_labels``: field labels ("Voorgeschiedenis" in "Voorgeschiedenis: ..."), section
  titles ("BEHANDELPLAN") and table headers, without their colon or decoration;
* ``codes``: codes that are not PHI (ICD-10, ATC, SNOMED ids, gene variants);
* ``sentence_initial``: the capitalised first word of a sentence or line, when it is none of
  the above and no PHI (found in the finished text, see :func:`sentence_initial_words`).

Templates mark annotations inline with ``<q>…</q>`` (quantity), ``<f>…</f>`` (field label) and
``<c>…</c>`` (code); a field label written as ``Label:`` at the start of a template line or
sentence, an ALL-CAPS title line and a SOAP ``S/`` are recognised in the template itself (once,
cached), so templates stay readable.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache

from deid_pipeline.labels import DEFAULT_ENTITY_LABELS
from deid_pipeline.spans import Span

Piece = tuple[str, str | None]
Fragment = tuple[Piece, ...]
SlotValue = Fragment | str | Callable[[], "Fragment | str"]
#: ``(start, end)`` of a non-PHI annotation, code points, whitespace-trimmed.
Range = tuple[int, int]

QUANTITIES = "quantities"
FIELD_LABELS = "field_labels"
CODES = "codes"
SENTENCE_INITIAL = "sentence_initial"
#: Annotation kinds, in the order the gold JSONL writes them.
ANNOTATION_KINDS: tuple[str, ...] = (QUANTITIES, FIELD_LABELS, SENTENCE_INITIAL, CODES)
_MARKUP_KINDS = {"q": QUANTITIES, "f": FIELD_LABELS, "c": CODES}

_TOKEN = re.compile(r"\{(\w+)\}|<(/?)([qfc])>")
_LABELS = frozenset(DEFAULT_ENTITY_LABELS)
_UPPER = "A-ZÀ-ÖØ-Þ"
_LOWER = "a-zß-öø-ÿ"
# "Label:" at the start of a template line, sentence, table cell or "| " field (not across a
# slot or markup); dots are allowed inside ("Pat.nr.:", "Tel. patiënt:") but not a sentence end.
_TEMPLATE_LABEL = re.compile(
    rf"(?:^|(?<=\n)|(?<=\. )|(?<=\| )|(?<=\t))"
    rf"(?P<label>[{_UPPER}](?:[^\n:{{}}<>|;.\t]|\.(?! [{_UPPER}{{]))*?) ?:(?=[ \t\n]|$)"
)
_TEMPLATE_TITLE = re.compile(
    rf"(?:^|(?<=\n))(?P<label>[{_UPPER}][{_UPPER}0-9 /&'-]*[{_UPPER}])(?=\n|$| - )"
)
_TEMPLATE_SOAP = re.compile(r"(?:^|(?<=\n))(?P<label>[SOAEP])/(?= )")
_MAX_TEMPLATE_LABEL = 48
# A capitalised (not ALL-CAPS) word; it counts when it starts the text, a line, a bullet or a
# sentence (checked on the characters before it, which is faster than look-behinds).
_CAPITALISED = re.compile(
    rf"(?<![\w'-])[{_UPPER}][{_LOWER}]+(?:['-][{_LOWER}]+)*(?![\w'/-])(?! ?:)"
)
_SENTENCE_END = frozenset({". ", "! ", "? "})
_BULLETS = frozenset({"\n- ", "\n* ", "\n• ", "\n> "})


def phi(text: str, label: str) -> Fragment:
    """A fragment that is one PHI value."""
    return ((text, label),)


def plain(text: str) -> Fragment:
    """A fragment of plain text (no PHI)."""
    return ((text, None),)


def annotated(text: str, kind: str) -> Fragment:
    """A fragment that is one non-PHI annotation of ``kind`` (see :data:`ANNOTATION_KINDS`)."""
    return ((text, "@" + kind),)


def qty(text: str) -> Fragment:
    """A fragment that is one quantity (number + unit, dose, score, clock time ...)."""
    return ((text, "@" + QUANTITIES),)


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


def _auto_markup(template: str) -> str:
    """``template`` with ``<f>`` markup around the field labels it writes literally."""
    if "<f>" in template:
        return template
    found: list[tuple[int, int]] = []
    for pattern in (_TEMPLATE_LABEL, _TEMPLATE_TITLE, _TEMPLATE_SOAP):
        for match in pattern.finditer(template):
            start, end = match.span("label")
            label = template[start:end]
            if len(label) > _MAX_TEMPLATE_LABEL or any(c in label for c in "{}<>"):
                continue
            if pattern is _TEMPLATE_TITLE and sum(c.isalpha() for c in label) < 2:
                continue
            if not any(s < end and start < e for s, e in found):
                found.append((start, end))
    for start, end in sorted(found, reverse=True):
        template = f"{template[:start]}<f>{template[start:end]}</f>{template[end:]}"
    return template


# A parsed template: ("text", literal) | ("slot", name) | ("open", kind) | ("close", kind).
Token = tuple[str, str]


@lru_cache(maxsize=8192)
def _parse(template: str) -> tuple[Token, ...]:
    """Split a template into literal, slot and markup tokens; cached per template."""
    marked = _auto_markup(template)
    tokens: list[Token] = []
    position = 0
    for match in _TOKEN.finditer(marked):
        if match.start() > position:
            tokens.append(("text", marked[position : match.start()]))
        if match.group(1) is not None:
            tokens.append(("slot", match.group(1)))
        else:
            kind = _MARKUP_KINDS[match.group(3)]
            tokens.append(("close" if match.group(2) else "open", kind))
        position = match.end()
    if position < len(marked):
        tokens.append(("text", marked[position:]))
    return tuple(tokens)


@lru_cache(maxsize=4096)
def markup(text: str) -> Fragment:
    """A fragment from a slot-free template with inline markup (``"CRP <q>60 mg/l</q>"``)."""
    pieces: list[Piece] = []
    kind: str | None = None
    for token_kind, value in _parse(text):
        if token_kind == "slot":
            raise ValueError("markup() takes text without slots")
        if token_kind == "open":
            kind = value
        elif token_kind == "close":
            kind = None
        else:
            pieces.append((value, None if kind is None else "@" + kind))
    return tuple(pieces)


def template_labels(template: str) -> list[str]:
    """The field labels a template writes literally (recognised or marked ``<f>``)."""
    labels: list[str] = []
    inside: list[str] | None = None
    for kind, value in _parse(template):
        if kind == "open" and value == FIELD_LABELS:
            inside = []
        elif kind == "close" and value == FIELD_LABELS and inside is not None:
            labels.append("".join(inside).strip())
            inside = None
        elif kind == "text" and inside is not None:
            inside.append(value)
    return labels


class MissingSlotError(KeyError):
    """A template names a slot the document context does not provide (a generator bug)."""


class AnnotationOverlapError(ValueError):
    """A non-PHI annotation overlaps a PHI span (a generator bug). Offsets only."""


class DocBuilder:
    """Accumulates text pieces, the gold spans of their PHI values and non-PHI annotations."""

    __slots__ = ("_marks", "_open", "_parts", "_spans", "length")

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._spans: list[Span] = []
        self._marks: list[tuple[int, int, str]] = []
        self._open: dict[str, int] = {}
        self.length = 0

    def add(self, text: str) -> None:
        """Append plain text."""
        if text:
            self._parts.append(text)
            self.length += len(text)

    def annotate(self, text: str, kind: str) -> None:
        """Append ``text`` as one non-PHI annotation of ``kind``."""
        if kind not in ANNOTATION_KINDS:
            raise ValueError(f"unknown annotation kind {kind!r}")
        start = self.length
        self.add(text)
        self._marks.append((start, self.length, kind))

    def add_fragment(self, fragment: Fragment | str) -> None:
        """Append a fragment, recording a span for each labelled piece."""
        if isinstance(fragment, str):
            self.add(fragment)
            return
        parts = self._parts
        for text, label in fragment:
            if label is None:
                if text:
                    parts.append(text)
                    self.length += len(text)
                continue
            if label[0] == "@":
                self.annotate(text, label[1:])
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
        for kind, value in _parse(template):
            if kind == "text":
                self.add(value)
            elif kind == "slot":
                try:
                    filled = slots[value]
                except KeyError:
                    raise MissingSlotError(value) from None
                if callable(filled):
                    filled = filled()
                self.add_fragment(filled)
            elif kind == "open":
                self._open[value] = self.length
            else:
                start = self._open.pop(value, None)
                if start is not None:
                    self._marks.append((start, self.length, value))

    def mark(self) -> tuple[int, int, int, int]:
        """A checkpoint for :meth:`rollback`."""
        return len(self._parts), len(self._spans), len(self._marks), self.length

    def rollback(self, mark: tuple[int, int, int, int]) -> None:
        """Drop everything appended after ``mark``."""
        parts, spans, marks, length = mark
        del self._parts[parts:]
        del self._spans[spans:]
        del self._marks[marks:]
        self._open.clear()
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
        """The text, trimmed of blanks at both ends, and its spans sorted by offset."""
        text, spans, _ = self.build_annotated()
        return text, spans

    def build_annotated(self) -> tuple[str, list[Span], dict[str, list[Range]]]:
        """Text, sorted PHI spans and the non-PHI annotations of every kind.

        Annotations are whitespace-trimmed, sorted and merged per kind; sentence-initial words
        are found in the finished text (:func:`sentence_initial_words`). Raises
        :class:`AnnotationOverlapError` when an annotation overlaps a PHI span.
        """
        raw = "".join(self._parts)
        text = raw.rstrip()
        leading = len(text) - len(text.lstrip())
        text = text.lstrip()
        spans = sorted(
            Span(span.start - leading, span.end - leading, span.label) for span in self._spans
        )
        length = len(text)
        by_kind: dict[str, list[Range]] = {kind: [] for kind in ANNOTATION_KINDS}
        for start, end, kind in self._marks:
            start, end = max(0, start - leading), min(length, end - leading)
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
            if start < end:
                by_kind[kind].append((start, end))
        for kind, ranges in by_kind.items():
            by_kind[kind] = _merge(ranges)
        span_starts = [span.start for span in spans]
        for kind, ranges in by_kind.items():
            for start, end in ranges:
                if _overlaps(span_starts, spans, start, end):
                    raise AnnotationOverlapError(
                        f"{kind} annotation [{start}, {end}) overlaps a PHI span"
                    )
        taken = [r for kind in (QUANTITIES, FIELD_LABELS, CODES) for r in by_kind[kind]]
        by_kind[SENTENCE_INITIAL] = _merge(
            by_kind[SENTENCE_INITIAL] + sentence_initial_words(text, spans, taken)
        )
        return text, spans, by_kind


def _merge(ranges: list[Range]) -> list[Range]:
    merged: list[Range] = []
    for start, end in sorted(ranges):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _overlaps(starts: list[int], spans: Sequence[Span], start: int, end: int) -> bool:
    """Whether ``[start, end)`` overlaps one of the sorted, disjoint ``spans``."""
    index = bisect.bisect_left(starts, end)
    return index > 0 and spans[index - 1].end > start


def sentence_initial_words(
    text: str, spans: Sequence[Span], taken: Sequence[Range] = ()
) -> list[Range]:
    """Capitalised words that start the text, a line, a bullet item or a sentence.

    A word counts when it is written with a capital and lower-case letters (not ALL CAPS, no
    digits), is not followed by a colon (a field label), and overlaps no PHI span and none of
    the ``taken`` ranges (other annotations). ``spans`` must be sorted and disjoint.
    """
    starts = [span.start for span in spans]
    blocked = _merge(list(taken))
    blocked_starts = [start for start, _ in blocked]
    found: list[Range] = []
    for match in _CAPITALISED.finditer(text):
        start, end = match.span()
        opens = (
            start == 0
            or text[start - 1] == "\n"
            or text[start - 2 : start] in _SENTENCE_END
            or text[start - 3 : start] in _BULLETS
        )
        if not opens or _overlaps(starts, spans, start, end):
            continue
        index = bisect.bisect_left(blocked_starts, end)
        if index > 0 and blocked[index - 1][1] > start:
            continue
        found.append((start, end))
    return found


def spans_text(text: str, spans: Sequence[Span]) -> list[str]:
    """The covered text of each span (test helper; never log its output)."""
    return [text[span.start : span.end] for span in spans]

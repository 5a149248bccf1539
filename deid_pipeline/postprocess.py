"""Deterministic merge of model, metadata and pattern spans into the final, disjoint span list.

Merge rules (PHI safety: the merge never shrinks what any source covered):

* Spans are grouped into clusters of overlapping spans; a span that only *touches* the cluster
  (starts where it ends) joins it when it has the label of a cluster member ending there.
* A cluster becomes one span over the union of its extents; resulting spans of the same label
  that touch are joined as well.
* Its label, score and source come from the winner: source priority metadata > pattern > model
  (structured data and checksummed patterns are more trustworthy than the model), then the
  longer span, then the higher score, then the earlier label in the default taxonomy.
* Patterns cannot know whose postcode or id they found; when a pattern wins and the model put a
  label of the same family (e.g. ``Address_Location``) on the cluster, the model's role is kept.

* Patterns cannot know a birth date from another date either: a pattern ``Date`` in a cluster
  with a model ``Age_Birthdate`` span becomes ``Age_Birthdate``.

The result does not depend on the order of the inputs.

:func:`postprocess` runs these steps around the merge (guards a researcher relies on):

1. Model spans whose text cannot be an entity of their label are dropped
   (:func:`drop_shapeless_model_spans`): a name in lower case only, a date without a digit or
   month; a run next to a metadata span is kept.
2. Protected quantities (doses, lab values, vital signs, scores, clock times, SOAP letters:
   :mod:`deid_pipeline.recognizers.quantities`) are never covered by a model span: model spans
   are cut around them and what is left without its label's shape is dropped
   (:func:`guard_protected`). Only a pattern span (date, phone, identifier ...) or a metadata
   span claims a quantity's characters; metadata spans are never cut nor dropped.
3. No fragment is left next to a span (:func:`complete_fragments`): identifier and contact spans
   grow to the whole identifier ("NL-123456", "NL91 ABNA 0417 1643 00"), address spans take the
   house number and its suffix ("Dorpsstraat 12a", "12-II", "12 bus 3").
4. After the merge, every ``Date``/``Age_Birthdate`` span grows to the whole date expression it
   overlaps (:func:`complete_dates`, grammar in :mod:`deid_pipeline.recognizers.dates`): a date
   is replaced or shifted whole, never in part.
5. A span that ends or starts at an invisible character inside a word (zero-width space, soft
   hyphen, combining mark) grows over it and the rest of the word
   (:func:`deid_pipeline.recognizers.matching.expand_over_invisibles`): no fragment of a name.

Metadata spans come from the normalised matching view (:mod:`deid_pipeline.recognizers.matching`),
so a model span over the patient's own name in any writing ("mevrouw zwanen-" / "burg") is
next to an anchor and survives the label-shape filter.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Final

from deid_pipeline.labels import DEFAULT_ENTITY_LABELS, label_family
from deid_pipeline.notes import Note
from deid_pipeline.recognizers.dates import DateExpression, find_date_expressions
from deid_pipeline.recognizers.matching import expand_over_invisibles, has_invisibles
from deid_pipeline.recognizers.metadata import find_metadata_spans
from deid_pipeline.recognizers.patterns import find_pattern_spans
from deid_pipeline.recognizers.quantities import STREET_SUFFIXES, UNIT_AHEAD, protected_ranges
from deid_pipeline.spans import Span, SpanInvariantError, check_spans

__all__ = [
    "SOURCE_PRIORITY",
    "complete_dates",
    "complete_fragments",
    "drop_shapeless_model_spans",
    "guard_protected",
    "has_label_shape",
    "merge_spans",
    "postprocess",
    "unclaimed",
]

#: Higher wins when overlapping spans of different labels are merged.
SOURCE_PRIORITY: dict[str, int] = {"metadata": 2, "pattern": 1, "model": 0}

_LABEL_ORDER = {label: index for index, label in enumerate(DEFAULT_ENTITY_LABELS)}


def _winner_key(span: Span) -> tuple[int, int, float, int, str]:
    """Sort key where the smallest value is the winner of a cluster."""
    return (
        -SOURCE_PRIORITY.get(span.source, -1),
        -span.length,
        -span.score,
        _LABEL_ORDER.get(span.label, len(_LABEL_ORDER)),
        span.label,
    )


def _require_inside(spans: Sequence[Span], text_length: int, what: str) -> None:
    """Raise :class:`SpanInvariantError` (offsets only) for an empty or out-of-text span."""
    for index, span in enumerate(spans):
        if not 0 <= span.start < span.end <= text_length:
            raise SpanInvariantError(
                f"{what} {index} [{span.start}, {span.end}) is empty "
                f"or outside text of length {text_length}"
            )


def merge_spans(text_length: int, *span_lists: Sequence[Span]) -> list[Span]:
    """Merge any number of span lists into sorted, disjoint spans (rules in the module docstring).

    Raises :class:`SpanInvariantError` (offsets only in the message) for an input span that is
    empty or outside ``[0, text_length]``: a bad offset upstream is a bug to surface, not to hide.
    """
    spans: list[Span] = []
    for list_index, span_list in enumerate(span_lists):
        _require_inside(span_list, text_length, f"input list {list_index} span")
        spans.extend(span_list)
    # A total order on the fields makes the result independent of the input order.
    spans.sort(key=lambda s: (s.start, s.end, s.label, s.score, s.source))
    merged: list[Span] = []
    cluster: list[Span] = []
    cluster_end = -1
    for span in spans:
        joins = cluster and (
            span.start < cluster_end
            or (
                span.start == cluster_end
                and any(m.end == cluster_end and m.label == span.label for m in cluster)
            )
        )
        if cluster and not joins:
            merged.append(_collapse(cluster))
            cluster = []
        cluster.append(span)
        cluster_end = max(cluster_end, span.end) if len(cluster) > 1 else span.end
    if cluster:
        merged.append(_collapse(cluster))
    # A cluster whose winner took the label of a touching neighbour: merge those too, so that
    # no two output spans of one label touch.
    result: list[Span] = []
    for span in merged:
        if result and result[-1].end == span.start and result[-1].label == span.label:
            span = _collapse([result.pop(), span])
        result.append(span)
    return result


def _collapse(cluster: list[Span]) -> Span:
    winner = min(cluster, key=_winner_key)
    start = min(span.start for span in cluster)
    end = max(span.end for span in cluster)
    if all(span.label == winner.label for span in cluster):
        # Fragments of one entity: keep the best evidence of the winning source.
        score = max(s.score for s in cluster if s.source == winner.source)
    else:
        score = winner.score
    return Span(start, end, _role_aware_label(winner, cluster), score, winner.source)


def _role_family(label: str) -> str:
    # A birth date is a date with a role: a date pattern cannot tell the two apart.
    return "Date" if label == "Age_Birthdate" else label_family(label)


def _role_aware_label(winner: Span, cluster: list[Span]) -> str:
    """The winner's label, with the role the model saw when a role-blind pattern won."""
    if winner.source != "pattern":
        return winner.label
    family = _role_family(winner.label)
    same_family = [s for s in cluster if s.source == "model" and _role_family(s.label) == family]
    if not same_family:
        return winner.label
    return min(same_family, key=_winner_key).label


_MONTH = re.compile(
    r"(?i)\b(januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november"
    r"|december|jan|feb|febr|mrt|apr|jun|jul|aug|sep|sept|okt|nov|dec)\b"
)
_TENS = re.compile(r"(?i)(twintig|dertig|veertig|vijftig|zestig|zeventig|tachtig|negentig|honderd)")


def _date_shape(surface: str) -> bool:
    # A lone day or count ("5", "25") identifies no date; a month name does ("eind maart").
    stripped = surface.strip()
    bare_number = stripped.isdigit() and len(stripped) <= 2
    has_digit = any(char.isdigit() for char in surface)
    return (has_digit and not bare_number) or bool(_MONTH.search(surface))


def _entity_shape(surface: str) -> bool:
    # Proper nouns, numbers, e-mail addresses and written ages; not lower-case running text.
    return (
        any(char.isupper() or char.isdigit() for char in surface)
        or "@" in surface
        or bool(_TENS.search(surface))
    )


#: Label families whose model spans may be lower-case words (professions are common nouns).
_SHAPELESS_FAMILIES = frozenset({"Profession"})
#: Families of the default taxonomy; labels of other taxonomies are never filtered.
_KNOWN_FAMILIES = frozenset(label_family(label) for label in DEFAULT_ENTITY_LABELS)


def has_label_shape(surface: str, label: str) -> bool:
    """Whether ``surface`` can be an entity of ``label`` on its own.

    Names, organisations, places, identifiers and contact details are proper nouns, numbers or
    e-mail addresses, so they show a capital letter, a digit or an ``@``; dates need a digit
    (not a bare one- or two-digit number, which identifies no date) or a month name; a written
    age has a number word. Professions are common nouns and always pass, as do labels of other
    taxonomies (unknown families).
    """
    family = label_family(label)
    if family in _SHAPELESS_FAMILIES or family not in _KNOWN_FAMILIES:
        return True
    if family == "Date":
        return _date_shape(surface)
    return _entity_shape(surface)


def drop_shapeless_model_spans(
    text: str, spans: Sequence[Span], *, anchors: Sequence[Span] = ()
) -> list[Span]:
    """Model spans of ``text`` without the runs in which no span has its label's shape.

    A run is a sequence of spans that overlap or are separated by whitespace only, whatever
    their labels: a name the model cut into "van" + "der Berg", a date cut into "12" + "maart",
    or "BovenIJ" + "ziekenhuis" with two labels stands or falls as a whole (PHI safety first).
    Why:
    a model trained on synthetic notes tags some unfamiliar everyday words ("glaucoom",
    "gestopt") as names; a name has a capital letter, so such runs are dropped. A run that
    overlaps an ``anchors`` span (metadata: a known name of the patient) or is separated from
    one by whitespace only is kept: "piet" before a known "de vries" is the given name. Raises
    :class:`SpanInvariantError` for a span that is empty or outside the text.
    """
    _require_inside(spans, len(text), "model span")
    ordered = sorted(spans, key=lambda span: (span.start, span.end, span.label))
    by_start = sorted((a.start, a.end) for a in anchors)
    anchor_starts = [start for start, _ in by_start]
    anchor_ends: list[int] = []  # running maximum of the ends, in start order
    for _, end in by_start:
        anchor_ends.append(max(end, anchor_ends[-1]) if anchor_ends else end)
    kept: list[Span] = []
    run: list[Span] = []

    def near_anchor(start: int, end: int) -> bool:
        """Whether an anchor overlaps ``[start, end)`` or touches it across whitespace."""
        while start > 0 and text[start - 1].isspace():
            start -= 1
        while end < len(text) and text[end].isspace():
            end += 1
        index = bisect.bisect_right(anchor_starts, end)
        return index > 0 and anchor_ends[index - 1] >= start

    def close_run() -> None:
        if any(has_label_shape(text[s.start : s.end], s.label) for s in run) or (
            run and anchors and near_anchor(run[0].start, max(s.end for s in run))
        ):
            kept.extend(run)
        run.clear()

    run_end = 0
    for span in ordered:
        # Overlapping spans and spans apart by whitespace only are one run, in any input order.
        if run and span.start > run_end and text[run_end : span.start].strip():
            close_run()
        run_end = max(run_end, span.end) if run else span.end
        run.append(span)
    close_run()
    return kept


# --------------------------------------------------------------------------- protected quantities

Ranges = list[tuple[int, int]]
_FAR: Final = 1 << 62  # an end beyond any text, for bisecting (start, end) pairs


def _normalise_ranges(ranges: Iterable[tuple[int, int]]) -> Ranges:
    result: Ranges = []
    for start, end in sorted(r for r in ranges if r[0] < r[1]):
        if result and start <= result[-1][1]:
            result[-1] = (result[-1][0], max(result[-1][1], end))
        else:
            result.append((start, end))
    return result


def unclaimed(protected: Iterable[tuple[int, int]], claims: Iterable[Span]) -> Ranges:
    """The characters of ``protected`` ranges that no ``claims`` span covers (sorted, disjoint).

    Claims are pattern and metadata spans: a date, phone number or identifier found by its own
    pattern, or a value known from metadata, is PHI even where it looks like a quantity.
    """
    claimed = _normalise_ranges((c.start, c.end) for c in claims)
    result: Ranges = []
    for start, end in _normalise_ranges(protected):
        cursor = start
        index = max(bisect.bisect_right(claimed, (start, _FAR)) - 1, 0)
        while index < len(claimed) and claimed[index][0] < end:
            c_start, c_end = claimed[index]
            if c_end > cursor:
                if c_start > cursor:
                    result.append((cursor, c_start))
                cursor = max(cursor, c_end)
            index += 1
        if cursor < end:
            result.append((cursor, end))
    return result


def _is_trimmable(char: str) -> bool:
    # The rule of decoding.trim_span: whitespace, punctuation and controls are never PHI.
    category = unicodedata.category(char)
    return char.isspace() or category.startswith(("P", "C"))


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and _is_trimmable(text[start]):
        start += 1
    while end > start and _is_trimmable(text[end - 1]):
        end -= 1
    return start, end


def _overlapping(ranges: Ranges, start: int, end: int) -> Ranges:
    index = max(bisect.bisect_right(ranges, (start, _FAR)) - 1, 0)
    found: Ranges = []
    while index < len(ranges) and ranges[index][0] < end:
        if ranges[index][1] > start:
            found.append(ranges[index])
        index += 1
    return found


def guard_protected(
    text: str,
    spans: Sequence[Span],
    protected: Sequence[tuple[int, int]],
    *,
    require_label_shape: bool = True,
) -> list[Span]:
    """``spans`` cut so that they cover no ``protected`` character; fragments dropped.

    A span that covers no protected character is kept as it is. One that does is cut into the
    pieces around the protected characters, each trimmed of whitespace and punctuation; a
    piece is dropped when it has fewer than two letters or digits, or (with
    ``require_label_shape``) not its label's shape (:func:`has_label_shape`): "0" of
    "0,4 ml" as a phone number is dropped, "Jansen" of "Jansen 5 mg" is kept. Only apply this
    to spans that may lose characters (the model's), never to metadata or pattern spans.
    """
    ranges = _normalise_ranges(protected)
    result: list[Span] = []
    for span in spans:
        inside = _overlapping(ranges, span.start, span.end)
        if not inside:
            result.append(span)
            continue
        cursor = span.start
        pieces: Ranges = []
        for p_start, p_end in inside:
            if p_start > cursor:
                pieces.append((cursor, p_start))
            cursor = max(cursor, p_end)
        if cursor < span.end:
            pieces.append((cursor, span.end))
        for raw_start, raw_end in pieces:
            start, end = _trimmed(text, raw_start, raw_end)
            piece = text[start:end]
            if sum(char.isalnum() for char in piece) < 2:
                continue
            if require_label_shape and not has_label_shape(piece, span.label):
                continue
            result.append(Span(start, end, span.label, span.score, span.source))
    return result


# --------------------------------------------------------------------------- fragments

#: Characters that join the parts of one identifier ("PA-12345", "123.456.782", "12/3456");
#: contact details also join at "@" (e-mail addresses).
_ID_JOINERS: Final = frozenset("-./_")
_CONTACT_JOINERS: Final = frozenset("-./_@")
#: Identifiers written in groups: IBAN "NL91 ABNA 0417 1643 00", "123 456 782", "06 1234 5678".
_GROUPED_ID: Final = re.compile(
    r"(?<![\w])(?:[A-Z]{2}\d{2}(?:[ ][A-Z0-9]{4}){2,7}(?:[ ][A-Z0-9]{1,4})?"
    r"|\+?\d{2,4}(?:[ ]\d{2,4}){1,4})(?![\w])"
)
#: Country codes written before an identifier with a space ("NL 123456789B01").
_COUNTRY_BEFORE: Final = re.compile(r"(?<![\w])(?:NL|BE|DE|FR|LU|GB)[ ]$")
_HOUSE_SUFFIX: Final = (
    r"(?:[ \t]?[a-zA-Z](?![\w])"
    r"|[ \t]?-[ \t]?(?:[IVX]{1,4}|hs|bis|[a-zA-Z]{1,2}|\d{1,4}[a-zA-Z]?)(?![\w])"
    r"|/\d{1,4}[a-zA-Z]?(?![\w])"
    r"|[ \t]?(?:hs|bis|huis|boven|beneden)(?![\w]))?"
    r"(?:[ \t]*,?[ \t]*(?:bus|bte|b\.)[ \t]*\d{1,4}[a-zA-Z]?(?![\w]))?"
)
#: A house number (and suffix) after a street name: " 12", " 12a", " 12-II", " 12 bus 3".
_HOUSE_NUMBER: Final = re.compile(rf"[ \t\u00a0]+\d{{1,5}}{_HOUSE_SUFFIX}(?![\w]|[.,]\d)")
#: The suffix of a house number the span already holds: "a", "-II", "/3", " bus 3".
_HOUSE_NUMBER_SUFFIX: Final = re.compile(rf"{_HOUSE_SUFFIX}(?![\w]|[.,]\d)")
_STREET_WORD: Final = re.compile("(?i)(?:" + "|".join(STREET_SUFFIXES) + ")$")
#: What may follow an address with a house number ("12 te Utrecht", "12, 1234 AB", "12\n").
_AFTER_ADDRESS: Final = re.compile(r"(?:[ \t]*(?:$|[\n\r,.;:)\]/]|te\b|in\b|[A-Z0-9]))")


def _blocked(ranges: Ranges, start: int, end: int) -> bool:
    return bool(_overlapping(ranges, start, end))


def _grow_identifier(text: str, span: Span, protected: Ranges, groups: Ranges) -> tuple[int, int]:
    joiners = _CONTACT_JOINERS if label_family(span.label) == "Contactdetails" else _ID_JOINERS
    start, end = span.start, span.end
    n = len(text)
    while True:
        if start > 0 and text[start - 1].isalnum() and not _blocked(protected, start - 1, start):
            start -= 1
        elif (
            start > 1
            and text[start - 1] in joiners
            and text[start - 2].isalnum()
            and start < n
            and text[start].isalnum()
            and not _blocked(protected, start - 2, start)
        ):
            start -= 2
        else:
            break
    while True:
        if end < n and text[end].isalnum() and not _blocked(protected, end, end + 1):
            end += 1
        elif (
            end + 1 < n
            and text[end] in joiners
            and text[end + 1].isalnum()
            and text[end - 1].isalnum()
            and not _blocked(protected, end, end + 2)
        ):
            end += 2
        else:
            break
    for g_start, g_end in _overlapping(groups, start, end):
        if not _blocked(protected, g_start, g_end):
            start, end = min(start, g_start), max(end, g_end)
    if start < n and text[start].isdigit():
        country = _COUNTRY_BEFORE.search(text, max(0, start - 3), start)
        if country and not _blocked(protected, country.start(), start):
            start = country.start()
        elif start > 0 and text[start - 1] == "+":
            start -= 1  # "+31 ..."
    return start, end


def _grow_address(text: str, span: Span, protected: Ranges) -> tuple[int, int]:
    end = span.end
    last = text[end - 1]
    if last.isdigit():
        match = _HOUSE_NUMBER_SUFFIX.match(text, end)
    elif last.isalpha():
        match = _HOUSE_NUMBER.match(text, end)
        if match is not None:
            word = re.search(r"[^\W\d_]+$", text[span.start : end])
            street = word is not None and _STREET_WORD.search(word.group(0)) is not None
            digits_end = re.match(r"[ \t\u00a0]+\d+", text[end:])
            number_end = end + (digits_end.end() if digits_end else 0)
            if UNIT_AHEAD.match(text, number_end) or not (
                street or _AFTER_ADDRESS.match(text, match.end())
            ):
                match = None
    else:
        match = None
    if match is None or match.end() == end or _blocked(protected, end, match.end()):
        return span.start, end
    return span.start, match.end()


def complete_fragments(
    text: str, spans: Sequence[Span], protected: Sequence[tuple[int, int]] = ()
) -> list[Span]:
    """Spans grown so that no part of an identifier or address is left next to them.

    * ``ID`` and ``Contactdetails`` spans grow to the whole identifier: the run of letters and
      digits joined by ``- . / _`` (and ``@`` for contact details: "PA-12345" from "12345",
      "j.devries@zorg.nl" from "devries"), a value written in groups ("NL91 ABNA 0417 1643
      00", "123 456 782"), a country code or "+" before it ("NL 12345", "+31").
    * ``Address_Location`` spans ending in a street name take the house number with its suffix
      ("Dorpsstraat 12a", "12-II", "12 bus 3") unless a unit follows the number ("3 jaar",
      "12 mg") or, for a name that is no street, running text does ("Utrecht 12 patiënten").

    Growth never enters a ``protected`` character. Spans may overlap afterwards; merge them.
    """
    ranges = _normalise_ranges(protected)
    groups: Ranges | None = None
    result: list[Span] = []
    for span in spans:
        family = label_family(span.label)
        if family in ("ID", "Contactdetails"):
            if groups is None:
                groups = [(m.start(), m.end()) for m in _GROUPED_ID.finditer(text)]
            start, end = _grow_identifier(text, span, ranges, groups)
        elif family == "Address_Location":
            start, end = _grow_address(text, span, ranges)
        else:
            start, end = span.start, span.end
        result.append(Span(start, end, span.label, span.score, span.source))
    return result


# --------------------------------------------------------------------------- dates

_DATE_LABELS: Final = frozenset({"Date", "Age_Birthdate"})


def complete_dates(
    text_length: int,
    spans: Sequence[Span],
    expressions: Sequence[DateExpression],
    *,
    merge: bool = True,
) -> list[Span]:
    """``spans`` with every ``Date``/``Age_Birthdate`` span grown to the whole date expressions
    it overlaps ("9/2/2025" from "2/2025", "12-14 maart" from "14 maart").

    With ``merge`` (the default; for merged, disjoint spans) the result is merged again with
    :func:`merge_spans` when a span grew, so it stays sorted and disjoint; without, spans are
    returned one for one, in input order.
    """
    starts = [e.start for e in expressions]
    grown: list[Span] = []
    changed = False
    for span in spans:
        start, end = span.start, span.end
        if span.label in _DATE_LABELS:
            index = max(bisect.bisect_right(starts, start) - 1, 0)
            while index < len(expressions) and expressions[index].start < span.end:
                expression = expressions[index]
                if expression.end > span.start:
                    start, end = min(start, expression.start), max(end, expression.end)
                index += 1
        if (start, end) != (span.start, span.end):
            changed = True
            span = Span(start, end, span.label, span.score, span.source)
        grown.append(span)
    return merge_spans(text_length, grown) if changed and merge else grown


# --------------------------------------------------------------------------- composition


def postprocess(
    note: Note, model_spans: Sequence[Span], *, require_label_shape: bool = True
) -> list[Span]:
    """Final spans of a note: model spans merged with metadata and pattern recognizer spans.

    Steps (module docstring): label-shape filter (with ``require_label_shape``, the default;
    turn it off for text written in all lower case), model spans kept off protected quantities,
    identifiers and addresses completed, merge, dates completed. The result is checked with
    :func:`deid_pipeline.spans.check_spans` before it is returned.
    """
    text = note.text
    _require_inside(model_spans, len(text), "model span")
    quantities = protected_ranges(text)
    metadata = find_metadata_spans(text, note.metadata)
    expressions = find_date_expressions(text, quantities)
    patterns = find_pattern_spans(text, dates=expressions)
    # A model date grows to its whole expression first: "24" of "24.2" is no bare number.
    model_spans = complete_dates(len(text), model_spans, expressions, merge=False)
    if require_label_shape:
        model_spans = drop_shapeless_model_spans(text, model_spans, anchors=metadata)
    protected = unclaimed(quantities, [*patterns, *metadata])
    model = guard_protected(
        text,
        complete_fragments(text, model_spans, protected),
        protected,
        require_label_shape=require_label_shape,
    )
    spans = merge_spans(len(text), model, complete_fragments(text, metadata, protected), patterns)
    spans = complete_dates(len(text), spans, expressions)
    if has_invisibles(text):
        # A span never stops at an invisible character inside a word: "[Name:Patient]" +
        # U+200B + "jans" would leave a fragment of the name.
        grown = [
            Span(*expand_over_invisibles(text, (s.start, s.end)), s.label, s.score, s.source)
            for s in spans
        ]
        if grown != spans:
            spans = merge_spans(len(text), grown)
    check_spans(spans, len(text))
    return spans

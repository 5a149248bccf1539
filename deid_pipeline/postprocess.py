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

The result does not depend on the order of the inputs.

Before the merge, model spans whose text cannot be an entity of their label are dropped
(:func:`drop_shapeless_model_spans`): a name in lower case only, a date without a digit or month.
Metadata and pattern spans are never filtered.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from deid_pipeline.labels import DEFAULT_ENTITY_LABELS, label_family
from deid_pipeline.notes import Note
from deid_pipeline.recognizers.metadata import find_metadata_spans
from deid_pipeline.recognizers.patterns import find_pattern_spans
from deid_pipeline.spans import Span, SpanInvariantError, check_spans

__all__ = [
    "SOURCE_PRIORITY",
    "drop_shapeless_model_spans",
    "has_label_shape",
    "merge_spans",
    "postprocess",
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


def _role_aware_label(winner: Span, cluster: list[Span]) -> str:
    """The winner's label, with the role the model saw when a role-blind pattern won."""
    if winner.source != "pattern":
        return winner.label
    family = label_family(winner.label)
    same_family = [s for s in cluster if s.source == "model" and label_family(s.label) == family]
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


def drop_shapeless_model_spans(text: str, spans: Sequence[Span]) -> list[Span]:
    """Model spans of ``text`` without the runs in which no span has its label's shape.

    A run is a sequence of spans separated by whitespace only, whatever their labels: a name
    the model cut into "van" + "der Berg", a date cut into "12" + "maart", or "BovenIJ" +
    "ziekenhuis" with two labels stands or falls as a whole (PHI safety first). Why:
    a model trained on synthetic notes tags some unfamiliar everyday words ("glaucoom",
    "gestopt") as names; a name has a capital letter, so such runs are dropped. Raises
    :class:`SpanInvariantError` for a span that is empty or outside the text.
    """
    _require_inside(spans, len(text), "model span")
    ordered = sorted(spans, key=lambda span: (span.start, span.end, span.label))
    kept: list[Span] = []
    run: list[Span] = []

    def close_run() -> None:
        if any(has_label_shape(text[s.start : s.end], s.label) for s in run):
            kept.extend(run)
        run.clear()

    for span in ordered:
        if run and not (span.start >= run[-1].end and not text[run[-1].end : span.start].strip()):
            close_run()
        run.append(span)
    close_run()
    return kept


def postprocess(
    note: Note, model_spans: Sequence[Span], *, require_label_shape: bool = True
) -> list[Span]:
    """Final spans of a note: model spans merged with metadata and pattern recognizer spans.

    With ``require_label_shape`` (the default) model spans are first filtered by
    :func:`drop_shapeless_model_spans`; turn it off for text written in all lower case. The
    result is checked with :func:`deid_pipeline.spans.check_spans` before it is returned.
    """
    text = note.text
    if require_label_shape:
        model_spans = drop_shapeless_model_spans(text, model_spans)
    spans = merge_spans(
        len(text),
        model_spans,
        find_metadata_spans(text, note.metadata),
        find_pattern_spans(text),
    )
    check_spans(spans, len(text))
    return spans

"""Entity- and character-level evaluation of predicted PHI spans against gold annotations.

Inputs are JSON lines. Gold: ``{"note_id", "text", "spans": [{"start", "end", "label"}],
"locale"?}`` (as written by :mod:`deid_pipeline.synth`), optionally with non-PHI annotations,
one list of ``{"start", "end"}`` per kind: ``quantities`` (number plus unit, dose, lab value,
vital sign, score, clock time), ``field_labels`` (field labels, section titles, table
headers), ``sentence_initial`` (capitalised ordinary words that open a sentence or line) and
``codes`` (ICD-10, ATC, SNOMED ids, gene variants). Predictions: the ``deidentify`` CLI output
``{"note_id", "deid_text", "spans": [{"start", "end", "label", "score", "source"}]}``; only
``note_id`` and ``spans`` are read.

Metrics
-------
* **Entity level, exact**: a predicted span is a true positive when a gold span of the same note
  has the same ``start``, ``end`` and ``label``.
* **Entity level, overlap**: a predicted span matches a gold span with the same label that shares
  at least one character. Matching is one-to-one (a maximum bipartite matching per note and
  label), so each gold span is matched at most once and so is each prediction: a gold span split
  into two predicted fragments gives one true positive and one false positive.
* **Character level** (label-agnostic), counted over *non-whitespace* characters only so that a
  span's trailing blank or the spaces inside a multi-word name neither help nor hurt:

  - PHI recall: share of gold PHI characters that lie inside any predicted span;
  - non-PHI redaction rate: share of non-PHI characters that lie inside a predicted span
    (over-redaction, the price paid in lost text);
  - clean documents: share of documents whose every gold PHI character is covered (a document
    without gold PHI is clean by definition; ``documents_with_phi`` says how many had any).

* **PHI span coverage** (per label): a gold span is *fully covered* when all its
  non-whitespace characters lie inside predicted spans (of any label), *partly covered* when
  some do (a date left half visible, an identifier without its prefix, a street without its
  house number), *missed* when none do.
* **Non-PHI annotations** (per kind), the over-redaction failures that matter to researchers:

  - intact share: share of annotations that no predicted span overlaps at all (the headline
    figure for quantities and codes: a dose with its unit redacted is lost);
  - redaction rate: share of their non-whitespace characters inside predicted spans (the
    headline figure for field labels and sentence-initial words);
  - ``predicted_labels``: how many predicted spans of each label overlap one of them.

Breakdowns: per label (entity level and coverage), and per locale (when gold lines carry
``locale``) and by note length (``<= 10,000`` vs ``> 10,000`` characters) for everything else:
entity scores, character figures, coverage and non-PHI annotations.

Gold notes without a prediction line count as "nothing predicted" and are reported; prediction
lines without a gold note are reported and otherwise ignored. Nothing in a report, a log line or
an error message contains note text: only ids, offsets, labels and figures.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from deid_pipeline.labels import DEFAULT_ENTITY_LABELS

#: Notes longer than this many characters fall into the ``long`` length bucket.
LONG_NOTE_CHARS = 10_000
SHORT_BUCKET = "<=10000"
LONG_BUCKET = ">10000"
#: How many missing / unexpected note ids a report lists (the counts are always complete).
MAX_LISTED_IDS = 20
QUANTITIES = "quantities"
FIELD_LABELS = "field_labels"
SENTENCE_INITIAL = "sentence_initial"
CODES = "codes"
#: Non-PHI annotation kinds read from gold lines (see the module docstring).
ANNOTATION_KINDS: tuple[str, ...] = (QUANTITIES, FIELD_LABELS, SENTENCE_INITIAL, CODES)


class EvaluationInputError(ValueError):
    """A gold or prediction line is malformed. The message carries ids, offsets and line numbers."""


# --------------------------------------------------------------------------------------------
# Report models (pydantic, so ``report.model_dump_json()`` is the JSON form)
# --------------------------------------------------------------------------------------------


class Scores(BaseModel):
    """Counts and precision/recall/F1. A ratio whose denominator is zero is ``None``."""

    model_config = ConfigDict(frozen=True)

    tp: int
    fp: int
    fn: int
    precision: float | None
    recall: float | None
    f1: float | None

    @property
    def support(self) -> int:
        """Number of gold spans."""
        return self.tp + self.fn

    @classmethod
    def from_counts(cls, tp: int, fp: int, fn: int) -> Scores:
        """Compute the ratios from raw counts."""
        precision = _ratio(tp, tp + fp)
        recall = _ratio(tp, tp + fn)
        if precision is None or recall is None:
            f1 = None
        elif precision + recall == 0:
            f1 = 0.0
        else:
            f1 = 2 * precision * recall / (precision + recall)
        return cls(tp=tp, fp=fp, fn=fn, precision=precision, recall=recall, f1=f1)


class MatchScores(BaseModel):
    """Entity-level scores for one matching mode, overall (micro) and per label."""

    model_config = ConfigDict(frozen=True)

    overall: Scores
    per_label: dict[str, Scores]


class CharacterScores(BaseModel):
    """Label-agnostic character-level figures over non-whitespace characters."""

    model_config = ConfigDict(frozen=True)

    documents: int
    documents_with_phi: int
    clean_documents: int
    clean_document_share: float | None
    phi_chars: int
    phi_chars_covered: int
    phi_recall: float | None
    non_phi_chars: int
    non_phi_chars_redacted: int
    non_phi_redaction_rate: float | None


class CoverageScores(BaseModel):
    """How completely gold PHI spans are covered by predicted spans (non-whitespace chars)."""

    model_config = ConfigDict(frozen=True)

    spans: int
    fully_covered: int
    partly_covered: int
    missed: int
    fully_covered_share: float | None
    partly_covered_share: float | None
    missed_share: float | None
    chars: int
    chars_covered: int
    char_recall: float | None


class AnnotationScores(BaseModel):
    """What predictions did to one kind of non-PHI annotation (quantities, field labels ...).

    ``documents`` counts gold lines that carry this kind at all (older gold files do not).
    """

    model_config = ConfigDict(frozen=True)

    documents: int
    items: int
    items_intact: int
    intact_share: float | None
    chars: int
    chars_redacted: int
    redaction_rate: float | None
    predicted_labels: dict[str, int]


class GroupScores(BaseModel):
    """All figures for one group of notes (a locale or a length bucket)."""

    model_config = ConfigDict(frozen=True)

    exact: Scores
    overlap: Scores
    characters: CharacterScores
    coverage: CoverageScores
    annotations: dict[str, AnnotationScores]


class EvaluationReport(BaseModel):
    """Everything :func:`evaluate` measures. Contains figures, label names and note ids only."""

    model_config = ConfigDict(frozen=True)

    documents: int
    gold_spans: int
    predicted_spans: int
    missing_predictions: int
    missing_prediction_ids: list[str]
    unexpected_predictions: int
    unexpected_prediction_ids: list[str]
    exact: MatchScores
    overlap: MatchScores
    characters: CharacterScores
    coverage: CoverageScores
    coverage_per_label: dict[str, CoverageScores]
    annotations: dict[str, AnnotationScores]
    by_locale: dict[str, GroupScores]
    by_length: dict[str, GroupScores]


# --------------------------------------------------------------------------------------------
# Accumulators
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _SimpleSpan:
    start: int
    end: int
    label: str


@dataclass
class _Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, tp: int, fp: int, fn: int) -> None:
        self.tp += tp
        self.fp += fp
        self.fn += fn

    def scores(self) -> Scores:
        return Scores.from_counts(self.tp, self.fp, self.fn)


@dataclass
class _CharCounts:
    documents: int = 0
    documents_with_phi: int = 0
    clean_documents: int = 0
    phi_chars: int = 0
    phi_chars_covered: int = 0
    non_phi_chars: int = 0
    non_phi_chars_redacted: int = 0

    def add(self, phi: int, covered: int, non_phi: int, redacted: int) -> None:
        self.documents += 1
        self.documents_with_phi += phi > 0
        self.clean_documents += covered == phi
        self.phi_chars += phi
        self.phi_chars_covered += covered
        self.non_phi_chars += non_phi
        self.non_phi_chars_redacted += redacted

    def scores(self) -> CharacterScores:
        return CharacterScores(
            documents=self.documents,
            documents_with_phi=self.documents_with_phi,
            clean_documents=self.clean_documents,
            clean_document_share=_ratio(self.clean_documents, self.documents),
            phi_chars=self.phi_chars,
            phi_chars_covered=self.phi_chars_covered,
            phi_recall=_ratio(self.phi_chars_covered, self.phi_chars),
            non_phi_chars=self.non_phi_chars,
            non_phi_chars_redacted=self.non_phi_chars_redacted,
            non_phi_redaction_rate=_ratio(self.non_phi_chars_redacted, self.non_phi_chars),
        )


@dataclass
class _CoverageCounts:
    spans: int = 0
    fully: int = 0
    partly: int = 0
    missed: int = 0
    chars: int = 0
    covered: int = 0

    def add(self, chars: int, covered: int, touched: bool) -> None:
        self.spans += 1
        self.chars += chars
        self.covered += covered
        if covered == chars and (chars > 0 or touched):
            self.fully += 1
        elif covered > 0 or touched:
            self.partly += 1
        else:
            self.missed += 1

    def scores(self) -> CoverageScores:
        return CoverageScores(
            spans=self.spans,
            fully_covered=self.fully,
            partly_covered=self.partly,
            missed=self.missed,
            fully_covered_share=_ratio(self.fully, self.spans),
            partly_covered_share=_ratio(self.partly, self.spans),
            missed_share=_ratio(self.missed, self.spans),
            chars=self.chars,
            chars_covered=self.covered,
            char_recall=_ratio(self.covered, self.chars),
        )


@dataclass
class _AnnotationCounts:
    documents: int = 0
    items: int = 0
    intact: int = 0
    chars: int = 0
    redacted: int = 0
    labels: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def scores(self) -> AnnotationScores:
        return AnnotationScores(
            documents=self.documents,
            items=self.items,
            items_intact=self.intact,
            intact_share=_ratio(self.intact, self.items),
            chars=self.chars,
            chars_redacted=self.redacted,
            redaction_rate=_ratio(self.redacted, self.chars),
            predicted_labels=dict(sorted(self.labels.items(), key=lambda kv: (-kv[1], kv[0]))),
        )


def _annotation_table() -> dict[str, _AnnotationCounts]:
    return {kind: _AnnotationCounts() for kind in ANNOTATION_KINDS}


@dataclass
class _Group:
    exact: _Counts = field(default_factory=_Counts)
    overlap: _Counts = field(default_factory=_Counts)
    chars: _CharCounts = field(default_factory=_CharCounts)
    coverage: _CoverageCounts = field(default_factory=_CoverageCounts)
    annotations: dict[str, _AnnotationCounts] = field(default_factory=_annotation_table)

    def scores(self) -> GroupScores:
        return GroupScores(
            exact=self.exact.scores(),
            overlap=self.overlap.scores(),
            characters=self.chars.scores(),
            coverage=self.coverage.scores(),
            annotations={kind: counts.scores() for kind, counts in self.annotations.items()},
        )


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------


def _note_id(line: Mapping[str, Any], kind: str, index: int) -> str:
    value = line.get("note_id") if isinstance(line, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value) == "":
        raise EvaluationInputError(f"{kind} line {index}: missing or invalid note_id")
    return str(value)


def _parse_spans(raw: Any, note_id: str, kind: str, text_length: int | None) -> list[_SimpleSpan]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise EvaluationInputError(f"{kind} note {note_id}: spans is not a list")
    spans: list[_SimpleSpan] = []
    for position, item in enumerate(raw):
        try:
            start, end, label = item["start"], item["end"], item["label"]
        except (KeyError, TypeError):
            raise EvaluationInputError(
                f"{kind} note {note_id}: span {position} lacks start, end or label"
            ) from None
        if not (isinstance(start, int) and isinstance(end, int) and isinstance(label, str)):
            raise EvaluationInputError(f"{kind} note {note_id}: span {position} has bad types")
        upper = text_length if text_length is not None else end
        if not 0 <= start < end <= upper:
            raise EvaluationInputError(
                f"{kind} note {note_id}: span {position} [{start}, {end}) outside text of "
                f"length {text_length}"
            )
        spans.append(_SimpleSpan(start, end, label))
    return spans


def _parse_ranges(
    raw: Any, note_id: str, kind: str, text_length: int
) -> list[tuple[int, int]] | None:
    """A gold line's ``kind`` annotations as ``(start, end)`` pairs; ``None`` when absent."""
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise EvaluationInputError(f"gold note {note_id}: {kind} is not a list")
    ranges: list[tuple[int, int]] = []
    for position, item in enumerate(raw):
        try:
            start, end = (item["start"], item["end"]) if isinstance(item, Mapping) else item
        except (KeyError, TypeError, ValueError):
            raise EvaluationInputError(
                f"gold note {note_id}: {kind} item {position} lacks start or end"
            ) from None
        if not (isinstance(start, int) and isinstance(end, int)) or isinstance(start, bool):
            raise EvaluationInputError(f"gold note {note_id}: {kind} item {position} bad types")
        if not 0 <= start < end <= text_length:
            raise EvaluationInputError(
                f"gold note {note_id}: {kind} item {position} [{start}, {end}) outside text of "
                f"length {text_length}"
            )
        ranges.append((start, end))
    return ranges


# --------------------------------------------------------------------------------------------
# Matching
# --------------------------------------------------------------------------------------------


def _exact_matches(gold: Sequence[_SimpleSpan], pred: Sequence[_SimpleSpan]) -> int:
    """Number of one-to-one (start, end, label) matches (duplicates only match once each)."""
    remaining: dict[_SimpleSpan, int] = defaultdict(int)
    for span in gold:
        remaining[span] += 1
    matched = 0
    for span in pred:
        if remaining[span] > 0:
            remaining[span] -= 1
            matched += 1
    return matched


def _overlap_matches(gold: Sequence[_SimpleSpan], pred: Sequence[_SimpleSpan]) -> int:
    """Size of a maximum one-to-one matching between overlapping spans of the same label.

    Kuhn's augmenting-path algorithm; span lists per note and label are small, so its
    ``O(V * E)`` cost does not matter, and unlike a greedy pass it never under-counts.
    """
    neighbours: list[list[int]] = []
    for g in gold:
        candidates = [
            (min(g.end, p.end) - max(g.start, p.start), j)
            for j, p in enumerate(pred)
            if p.label == g.label and p.start < g.end and g.start < p.end
        ]
        # Largest overlap first: deterministic, and the natural partner is tried first.
        neighbours.append([j for _, j in sorted(candidates, key=lambda c: (-c[0], c[1]))])
    owner: list[int | None] = [None] * len(pred)

    def augment(i: int, seen: list[bool]) -> bool:
        for j in neighbours[i]:
            if seen[j]:
                continue
            seen[j] = True
            current = owner[j]
            if current is None or augment(current, seen):
                owner[j] = i
                return True
        return False

    return sum(augment(i, [False] * len(pred)) for i in range(len(gold)) if neighbours[i])


class _NoteMasks:
    """Character masks of one note and prefix sums for counting inside ``[start, end)``."""

    __slots__ = ("counts", "pred_cum", "pred_visible_cum", "visible_cum")

    def __init__(self, text: str, gold: Sequence[_SimpleSpan], pred: Sequence[_SimpleSpan]) -> None:
        length = len(text)
        gold_mask = np.zeros(length, dtype=bool)
        pred_mask = np.zeros(length, dtype=bool)
        for span in gold:
            gold_mask[span.start : span.end] = True
        for span in pred:
            pred_mask[span.start : span.end] = True
        # str.isspace covers Unicode spaces (NBSP, U+2009 ...) that clinical exports contain.
        visible = np.fromiter((not char.isspace() for char in text), dtype=bool, count=length)
        phi = gold_mask & visible
        non_phi = ~gold_mask & visible
        #: (PHI chars, PHI chars covered, non-PHI chars, non-PHI chars redacted), non-whitespace
        self.counts = (
            int(phi.sum()),
            int((phi & pred_mask).sum()),
            int(non_phi.sum()),
            int((non_phi & pred_mask).sum()),
        )
        zero = np.zeros(1, dtype=np.int64)
        self.pred_cum = np.concatenate([zero, np.cumsum(pred_mask, dtype=np.int64)])
        self.visible_cum = np.concatenate([zero, np.cumsum(visible, dtype=np.int64)])
        self.pred_visible_cum = np.concatenate(
            [zero, np.cumsum(pred_mask & visible, dtype=np.int64)]
        )

    def inside(
        self, starts: np.ndarray, ends: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per range: predicted chars, visible chars, visible predicted chars."""
        return (
            self.pred_cum[ends] - self.pred_cum[starts],
            self.visible_cum[ends] - self.visible_cum[starts],
            self.pred_visible_cum[ends] - self.pred_visible_cum[starts],
        )


def _char_counts(
    text: str, gold: Sequence[_SimpleSpan], pred: Sequence[_SimpleSpan]
) -> tuple[int, int, int, int]:
    """(PHI chars, PHI chars covered, non-PHI chars, non-PHI chars redacted), non-whitespace."""
    return _NoteMasks(text, gold, pred).counts


def _add_coverage(
    masks: _NoteMasks,
    gold: Sequence[_SimpleSpan],
    targets: Iterable[_CoverageCounts],
    per_label: Mapping[str, _CoverageCounts],
) -> None:
    """Count each gold span as fully covered, partly covered or missed."""
    if not gold:
        return
    starts = np.array([span.start for span in gold], dtype=np.int64)
    ends = np.array([span.end for span in gold], dtype=np.int64)
    touched, chars, covered = masks.inside(starts, ends)
    groups = list(targets)
    for index, span in enumerate(gold):
        values = (int(chars[index]), int(covered[index]), bool(touched[index] > 0))
        per_label[span.label].add(*values)
        for group in groups:
            group.add(*values)


def _add_annotations(
    masks: _NoteMasks,
    kind: str,
    ranges: Sequence[tuple[int, int]],
    pred: Sequence[_SimpleSpan],
    targets: Iterable[_AnnotationCounts],
) -> None:
    """Count intact annotations, redacted characters and the labels that overlap them."""
    groups = list(targets)
    for group in groups:
        group.documents += 1
    if not ranges:
        return
    ordered = sorted(ranges)
    starts = np.array([start for start, _ in ordered], dtype=np.int64)
    ends = np.array([end for _, end in ordered], dtype=np.int64)
    touched, chars, redacted = masks.inside(starts, ends)
    items, intact = len(ordered), int((touched == 0).sum())
    visible, hidden = int(chars.sum()), int(redacted.sum())
    # A predicted span overlaps some annotation when one starts before the span's end and
    # the running maximum of annotation ends before that point passes the span's start.
    running_end = np.maximum.accumulate(ends)
    labels: dict[str, int] = defaultdict(int)
    for span in pred:
        index = int(np.searchsorted(starts, span.end, side="left"))
        if index > 0 and running_end[index - 1] > span.start:
            labels[span.label] += 1
    for group in groups:
        group.items += items
        group.intact += intact
        group.chars += visible
        group.redacted += hidden
        for label, count in labels.items():
            group.labels[label] += count


def _by_label(spans: Iterable[_SimpleSpan]) -> dict[str, list[_SimpleSpan]]:
    grouped: dict[str, list[_SimpleSpan]] = defaultdict(list)
    for span in spans:
        grouped[span.label].append(span)
    return grouped


def _label_order(labels: Iterable[str]) -> list[str]:
    """Default taxonomy order first, then any other label alphabetically."""
    known = {label: index for index, label in enumerate(DEFAULT_ENTITY_LABELS)}
    return sorted(set(labels), key=lambda label: (known.get(label, len(known)), label))


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def evaluate(
    gold: Iterable[Mapping[str, Any]], pred: Iterable[Mapping[str, Any]]
) -> EvaluationReport:
    """Score predicted spans against gold spans; see the module docstring for the metrics.

    Raises :class:`EvaluationInputError` on malformed lines, duplicate note ids, or predicted
    spans that fall outside their gold note's text.
    """
    predictions: dict[str, Any] = {}
    for index, line in enumerate(pred, start=1):
        note_id = _note_id(line, "pred", index)
        if note_id in predictions:
            raise EvaluationInputError(f"pred line {index}: duplicate note_id {note_id}")
        predictions[note_id] = line.get("spans")

    exact_by_label: dict[str, _Counts] = defaultdict(_Counts)
    overlap_by_label: dict[str, _Counts] = defaultdict(_Counts)
    coverage_by_label: dict[str, _CoverageCounts] = defaultdict(_CoverageCounts)
    total = _Group()
    by_locale: dict[str, _Group] = defaultdict(_Group)
    by_length: dict[str, _Group] = {SHORT_BUCKET: _Group(), LONG_BUCKET: _Group()}
    seen: set[str] = set()
    missing: list[str] = []
    gold_span_count = 0
    pred_span_count = 0

    for index, line in enumerate(gold, start=1):
        note_id = _note_id(line, "gold", index)
        if note_id in seen:
            raise EvaluationInputError(f"gold line {index}: duplicate note_id {note_id}")
        seen.add(note_id)
        text = line.get("text")
        if not isinstance(text, str):
            raise EvaluationInputError(f"gold note {note_id}: text is missing or not a string")
        gold_spans = _parse_spans(line.get("spans"), note_id, "gold", len(text))
        if note_id in predictions:
            pred_spans = _parse_spans(predictions[note_id], note_id, "pred", len(text))
        else:
            missing.append(note_id)
            pred_spans = []
        gold_span_count += len(gold_spans)
        pred_span_count += len(pred_spans)

        annotations = {
            kind: _parse_ranges(line.get(kind), note_id, kind, len(text))
            for kind in ANNOTATION_KINDS
        }

        locale = line.get("locale")
        groups = [total, by_length[LONG_BUCKET if len(text) > LONG_NOTE_CHARS else SHORT_BUCKET]]
        if isinstance(locale, str) and locale:
            groups.append(by_locale[locale])

        gold_groups, pred_groups = _by_label(gold_spans), _by_label(pred_spans)
        for label in gold_groups.keys() | pred_groups.keys():
            g, p = gold_groups.get(label, []), pred_groups.get(label, [])
            exact_tp = _exact_matches(g, p)
            overlap_tp = _overlap_matches(g, p)
            exact_by_label[label].add(exact_tp, len(p) - exact_tp, len(g) - exact_tp)
            overlap_by_label[label].add(overlap_tp, len(p) - overlap_tp, len(g) - overlap_tp)
            for group in groups:
                group.exact.add(exact_tp, len(p) - exact_tp, len(g) - exact_tp)
                group.overlap.add(overlap_tp, len(p) - overlap_tp, len(g) - overlap_tp)

        masks = _NoteMasks(text, gold_spans, pred_spans)
        for group in groups:
            group.chars.add(*masks.counts)
        _add_coverage(masks, gold_spans, (group.coverage for group in groups), coverage_by_label)
        for kind, ranges in annotations.items():
            if ranges is not None:
                targets = (group.annotations[kind] for group in groups)
                _add_annotations(masks, kind, ranges, pred_spans, targets)

    unexpected = sorted(set(predictions) - seen)
    labels = _label_order(exact_by_label)
    return EvaluationReport(
        documents=len(seen),
        gold_spans=gold_span_count,
        predicted_spans=pred_span_count,
        missing_predictions=len(missing),
        missing_prediction_ids=missing[:MAX_LISTED_IDS],
        unexpected_predictions=len(unexpected),
        unexpected_prediction_ids=unexpected[:MAX_LISTED_IDS],
        exact=MatchScores(
            overall=total.exact.scores(),
            per_label={label: exact_by_label[label].scores() for label in labels},
        ),
        overlap=MatchScores(
            overall=total.overlap.scores(),
            per_label={label: overlap_by_label[label].scores() for label in labels},
        ),
        characters=total.chars.scores(),
        coverage=total.coverage.scores(),
        coverage_per_label={
            label: coverage_by_label[label].scores() for label in _label_order(coverage_by_label)
        },
        annotations={kind: counts.scores() for kind, counts in total.annotations.items()},
        by_locale={locale: group.scores() for locale, group in sorted(by_locale.items())},
        by_length={bucket: group.scores() for bucket, group in by_length.items()},
    )


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned first column, right-aligned figures."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [row[0].ljust(widths[0])] + [
            cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * width for width in widths))
    return lines


def _score_row(name: str, scores: Scores) -> list[str]:
    return [
        name,
        str(scores.support),
        str(scores.tp),
        str(scores.fp),
        str(scores.fn),
        _fmt(scores.precision),
        _fmt(scores.recall),
        _fmt(scores.f1),
    ]


def _char_row(name: str, chars: CharacterScores) -> list[str]:
    return [
        name,
        str(chars.documents),
        str(chars.phi_chars),
        _fmt(chars.phi_recall),
        _fmt(chars.non_phi_redaction_rate),
        _fmt(chars.clean_document_share),
    ]


def _coverage_row(name: str, coverage: CoverageScores) -> list[str]:
    return [
        name,
        str(coverage.spans),
        _fmt(coverage.fully_covered_share),
        _fmt(coverage.partly_covered_share),
        _fmt(coverage.missed_share),
        _fmt(coverage.char_recall),
    ]


def _annotation_row(name: str, scores: AnnotationScores) -> list[str]:
    return [
        name,
        str(scores.items),
        _fmt(scores.intact_share),
        str(scores.chars),
        _fmt(scores.redaction_rate),
    ]


def _top_labels(scores: AnnotationScores, count: int = 4) -> str:
    pairs = list(scores.predicted_labels.items())[:count]
    return ", ".join(f"{label} {number}" for label, number in pairs) or "-"


def _groups(report: EvaluationReport) -> list[tuple[str, GroupScores]]:
    return [(f"length {bucket}", group) for bucket, group in report.by_length.items()] + [
        (f"locale {locale}", group) for locale, group in report.by_locale.items()
    ]


def headline(report: EvaluationReport) -> dict[str, float | None]:
    """The figures a run is judged by, in one flat mapping (figures only).

    PHI recall (characters), non-PHI redaction rate, entity F1 (overlap), share of fully clean
    documents, share of gold PHI spans only partly covered, quantities and codes left intact,
    and the redaction rates of field labels and sentence-initial words.
    """
    annotations = report.annotations
    return {
        "phi_recall": report.characters.phi_recall,
        "non_phi_redaction_rate": report.characters.non_phi_redaction_rate,
        "entity_f1_overlap": report.overlap.overall.f1,
        "clean_document_share": report.characters.clean_document_share,
        "phi_spans_partly_covered": report.coverage.partly_covered_share,
        "quantities_intact": annotations[QUANTITIES].intact_share,
        "codes_intact": annotations[CODES].intact_share,
        "field_labels_redacted": annotations[FIELD_LABELS].redaction_rate,
        "sentence_initial_redacted": annotations[SENTENCE_INITIAL].redaction_rate,
    }


def format_report(report: EvaluationReport) -> str:
    """Render a report as readable plain-text tables (figures and label names only)."""
    score_header = ["label", "support", "tp", "fp", "fn", "precision", "recall", "f1"]
    char_header = ["group", "docs", "phi_chars", "phi_recall", "non_phi_redacted", "clean_docs"]
    coverage_header = ["label", "spans", "fully", "partly", "missed", "char_recall"]
    annotation_header = ["kind", "items", "intact", "chars", "redacted"]
    out = [
        f"documents: {report.documents}  gold spans: {report.gold_spans}  "
        f"predicted spans: {report.predicted_spans}",
        f"gold notes without prediction: {report.missing_predictions}  "
        f"predictions without gold note: {report.unexpected_predictions}",
        "",
        "Headline",
        *(f"  {name}: {_fmt(value)}" for name, value in headline(report).items()),
    ]
    for title, scores in (("exact", report.exact), ("overlap", report.overlap)):
        rows = [_score_row("ALL (micro)", scores.overall)]
        rows += [_score_row(label, s) for label, s in scores.per_label.items()]
        out += ["", f"Entity level, {title} match", *_table(score_header, rows)]
    char_rows = [_char_row("all", report.characters)]
    char_rows += [_char_row(name, group.characters) for name, group in _groups(report)]
    out += ["", "Character level (non-whitespace)", *_table(char_header, char_rows)]
    coverage_rows = [_coverage_row("ALL", report.coverage)]
    coverage_rows += [_coverage_row(label, c) for label, c in report.coverage_per_label.items()]
    coverage_rows += [_coverage_row(name, group.coverage) for name, group in _groups(report)]
    out += ["", "PHI span coverage (share of gold spans)", *_table(coverage_header, coverage_rows)]
    annotation_rows = [_annotation_row(kind, a) for kind, a in report.annotations.items()]
    for name, group in _groups(report):
        annotation_rows += [
            _annotation_row(f"{kind}, {name}", a) for kind, a in group.annotations.items()
        ]
    out += [
        "",
        "Non-PHI annotations (intact: share untouched; redacted: share of their characters)",
        *_table(annotation_header, annotation_rows),
        "predicted labels over them (spans):",
        *(f"  {kind}: {_top_labels(a)}" for kind, a in report.annotations.items()),
    ]
    rows = []
    for name, group in _groups(report):
        rows.append(_score_row(f"{name} exact", group.exact))
        rows.append(_score_row(f"{name} overlap", group.overlap))
    out += ["", "Entity level per length and locale", *_table(["group", *score_header[1:]], rows)]
    if report.missing_prediction_ids:
        out += [
            "",
            "first gold notes without prediction: " + ", ".join(report.missing_prediction_ids),
        ]
    if report.unexpected_prediction_ids:
        out += [
            "",
            "first predictions without gold note: " + ", ".join(report.unexpected_prediction_ids),
        ]
    return "\n".join(out) + "\n"


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Yield one object per non-blank line; errors name the file's line number, not its content."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                raise EvaluationInputError(f"{path.name} line {number}: invalid JSON") from None
            if not isinstance(value, dict):
                raise EvaluationInputError(f"{path.name} line {number}: not a JSON object")
            yield value


def evaluate_files(gold_path: Path, pred_path: Path) -> EvaluationReport:
    """:func:`evaluate` on two JSON-lines files."""
    return evaluate(read_jsonl(gold_path), read_jsonl(pred_path))


def _run(args: argparse.Namespace) -> int:
    try:
        report = evaluate_files(Path(args.gold), Path(args.pred))
    except (EvaluationInputError, OSError) as error:
        # OSError messages name the path only; EvaluationInputError messages carry no text.
        print(f"evaluate: {error}", file=sys.stderr)
        return 2
    if args.json:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
    else:
        sys.stdout.write(format_report(report))
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``evaluate`` command; the handler is stored as ``handler`` (returns an exit code)."""
    parser = subparsers.add_parser(
        "evaluate",
        help="score predicted spans against gold spans",
        description="Entity- and character-level metrics of predictions against gold JSONL.",
    )
    parser.add_argument("--gold", required=True, help="gold JSONL (note_id, text, spans, locale)")
    parser.add_argument("--pred", required=True, help="predictions JSONL (deidentify output)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(handler=_run)

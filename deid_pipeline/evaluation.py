"""Entity- and character-level evaluation of predicted PHI spans against gold annotations.

Inputs are JSON lines. Gold: ``{"note_id", "text", "spans": [{"start", "end", "label"}],
"locale"?}`` (as written by :mod:`deid_pipeline.synth`). Predictions: the ``deidentify`` CLI
output ``{"note_id", "deid_text", "spans": [{"start", "end", "label", "score", "source"}]}``;
only ``note_id`` and ``spans`` are read.

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

Breakdowns: per label (entity level), per locale (when gold lines carry ``locale``) and by note
length (``<= 10,000`` vs ``> 10,000`` characters) for the character metrics.

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


class GroupScores(BaseModel):
    """Overall entity scores and character figures for one group of notes (a locale)."""

    model_config = ConfigDict(frozen=True)

    exact: Scores
    overlap: Scores
    characters: CharacterScores


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
    by_locale: dict[str, GroupScores]
    by_length: dict[str, CharacterScores]


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
class _Group:
    exact: _Counts = field(default_factory=_Counts)
    overlap: _Counts = field(default_factory=_Counts)
    chars: _CharCounts = field(default_factory=_CharCounts)


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


def _char_counts(
    text: str, gold: Sequence[_SimpleSpan], pred: Sequence[_SimpleSpan]
) -> tuple[int, int, int, int]:
    """(PHI chars, PHI chars covered, non-PHI chars, non-PHI chars redacted), non-whitespace."""
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
    return (
        int(phi.sum()),
        int((phi & pred_mask).sum()),
        int(non_phi.sum()),
        int((non_phi & pred_mask).sum()),
    )


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
    total = _Group()
    by_locale: dict[str, _Group] = defaultdict(_Group)
    by_length: dict[str, _CharCounts] = {SHORT_BUCKET: _CharCounts(), LONG_BUCKET: _CharCounts()}
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

        locale = line.get("locale")
        groups = [total]
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

        counts = _char_counts(text, gold_spans, pred_spans)
        for group in groups:
            group.chars.add(*counts)
        by_length[LONG_BUCKET if len(text) > LONG_NOTE_CHARS else SHORT_BUCKET].add(*counts)

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
        by_locale={
            locale: GroupScores(
                exact=group.exact.scores(),
                overlap=group.overlap.scores(),
                characters=group.chars.scores(),
            )
            for locale, group in sorted(by_locale.items())
        },
        by_length={bucket: counts.scores() for bucket, counts in by_length.items()},
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


def format_report(report: EvaluationReport) -> str:
    """Render a report as readable plain-text tables (figures and label names only)."""
    score_header = ["label", "support", "tp", "fp", "fn", "precision", "recall", "f1"]
    char_header = ["group", "docs", "phi_chars", "phi_recall", "non_phi_redacted", "clean_docs"]
    out = [
        f"documents: {report.documents}  gold spans: {report.gold_spans}  "
        f"predicted spans: {report.predicted_spans}",
        f"gold notes without prediction: {report.missing_predictions}  "
        f"predictions without gold note: {report.unexpected_predictions}",
    ]
    for title, scores in (("exact", report.exact), ("overlap", report.overlap)):
        rows = [_score_row("ALL (micro)", scores.overall)]
        rows += [_score_row(label, s) for label, s in scores.per_label.items()]
        out += ["", f"Entity level, {title} match", *_table(score_header, rows)]
    char_rows = [_char_row("all", report.characters)]
    char_rows += [_char_row(f"length {bucket}", c) for bucket, c in report.by_length.items()]
    char_rows += [_char_row(f"locale {loc}", g.characters) for loc, g in report.by_locale.items()]
    out += ["", "Character level (non-whitespace)", *_table(char_header, char_rows)]
    if report.by_locale:
        rows = []
        for locale, group in report.by_locale.items():
            rows.append(_score_row(f"{locale} exact", group.exact))
            rows.append(_score_row(f"{locale} overlap", group.overlap))
        out += ["", "Entity level per locale", *_table(["locale", *score_header[1:]], rows)]
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

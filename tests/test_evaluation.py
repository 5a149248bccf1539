"""Tests for deid_pipeline.evaluation: metrics on hand-made cases, properties, CLI."""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deid_pipeline.evaluation import (
    LONG_BUCKET,
    SHORT_BUCKET,
    EvaluationInputError,
    EvaluationReport,
    _overlap_matches,
    _SimpleSpan,
    evaluate,
    format_report,
    register,
)

# Synthetic text only. "Jan Jansen" is a made-up name at [8, 18); "12-03-2020" a date at [22, 32).
TEXT = "Patient Jan Jansen op 12-03-2020 gezien."
NAME = {"start": 8, "end": 18, "label": "Name:Patient"}
DATE = {"start": 22, "end": 32, "label": "Date"}


def gold_line(note_id: str, spans: list[dict], text: str = TEXT, **extra: object) -> dict:
    return {"note_id": note_id, "text": text, "spans": spans, **extra}


def pred_line(note_id: str, spans: list[dict]) -> dict:
    return {
        "note_id": note_id,
        "deid_text": "[redacted]",
        "spans": [{**s, "score": 0.9, "source": "model"} for s in spans],
    }


def test_perfect_prediction_scores_one() -> None:
    report = evaluate([gold_line("n1", [NAME, DATE])], [pred_line("n1", [NAME, DATE])])
    for mode in (report.exact, report.overlap):
        assert (mode.overall.tp, mode.overall.fp, mode.overall.fn) == (2, 0, 0)
        assert mode.overall.f1 == 1.0
        assert set(mode.per_label) == {"Name:Patient", "Date"}
    assert report.characters.phi_recall == 1.0
    assert report.characters.non_phi_redaction_rate == 0.0
    assert report.characters.clean_document_share == 1.0


@pytest.mark.parametrize(
    ("pred_spans", "exact", "overlap"),
    [
        # boundary off by one: overlap match only
        ([{**NAME, "start": 9}], (0, 1, 1), (1, 0, 0)),
        # right place, wrong label: no match in either mode
        ([{**NAME, "label": "Name:Other"}], (0, 1, 1), (0, 1, 1)),
        # one gold span split into two fragments: one TP and one FP in overlap mode
        (
            [{**NAME, "end": 11}, {**NAME, "start": 12}],
            (0, 2, 1),
            (1, 1, 0),
        ),
        # nothing predicted
        ([], (0, 0, 1), (0, 0, 1)),
        # prediction in non-PHI text
        ([NAME, {"start": 0, "end": 7, "label": "Name:Patient"}], (1, 1, 0), (1, 1, 0)),
    ],
)
def test_entity_matching_table(
    pred_spans: list[dict], exact: tuple[int, int, int], overlap: tuple[int, int, int]
) -> None:
    report = evaluate([gold_line("n1", [NAME])], [pred_line("n1", pred_spans)])
    e, o = report.exact.overall, report.overlap.overall
    assert (e.tp, e.fp, e.fn) == exact
    assert (o.tp, o.fp, o.fn) == overlap


def test_overlap_one_prediction_covering_two_golds_matches_once() -> None:
    first = {"start": 0, "end": 7, "label": "Name:Patient"}
    second = {"start": 8, "end": 18, "label": "Name:Patient"}
    whole = {"start": 0, "end": 18, "label": "Name:Patient"}
    report = evaluate([gold_line("n1", [first, second])], [pred_line("n1", [whole])])
    o = report.overlap.overall
    assert (o.tp, o.fp, o.fn) == (1, 0, 1)
    # ... yet every PHI character is covered.
    assert report.characters.phi_recall == 1.0


def test_character_metrics_skip_whitespace() -> None:
    # Predict only "Jan" (3 of the 9 non-space characters of "Jan Jansen") plus "Patient".
    pred = [{"start": 8, "end": 11, "label": "Name:Patient"}, {"start": 0, "end": 7, "label": "X"}]
    report = evaluate([gold_line("n1", [NAME])], [pred_line("n1", pred)])
    chars = report.characters
    assert chars.phi_chars == 9
    assert chars.phi_chars_covered == 3
    assert chars.phi_recall == pytest.approx(3 / 9)
    non_phi_visible = sum(not c.isspace() for c in TEXT) - 9
    assert chars.non_phi_chars == non_phi_visible
    assert chars.non_phi_chars_redacted == 7
    assert chars.clean_documents == 0
    # Label-agnostic: the character metrics ignore that "X" is not a gold label.
    assert "X" in report.exact.per_label


def test_label_agnostic_char_recall_with_wrong_label() -> None:
    report = evaluate([gold_line("n1", [NAME])], [pred_line("n1", [{**NAME, "label": "Date"}])])
    assert report.characters.phi_recall == 1.0
    assert report.exact.overall.tp == 0


def test_missing_and_unexpected_predictions_are_reported() -> None:
    gold = [gold_line("n1", [NAME]), gold_line("n2", [DATE]), gold_line("n3", [])]
    pred = [pred_line("n1", [NAME]), pred_line("extra", [])]
    report = evaluate(gold, pred)
    assert report.documents == 3
    assert report.missing_predictions == 2
    assert report.missing_prediction_ids == ["n2", "n3"]
    assert report.unexpected_predictions == 1
    assert report.unexpected_prediction_ids == ["extra"]
    assert report.exact.overall.fn == 1  # the date of n2 counts as missed
    # n1 clean, n2 not, n3 has no PHI and is clean by definition
    assert report.characters.clean_documents == 2
    assert report.characters.documents_with_phi == 2


def test_locale_and_length_breakdowns() -> None:
    long_text = TEXT + " " + "x" * 10_000
    gold = [
        gold_line("nl", [NAME, DATE], locale="nl-NL"),
        gold_line("be", [NAME], text=long_text, locale="nl-BE"),
        gold_line("none", [DATE]),
    ]
    pred = [pred_line("nl", [NAME, DATE]), pred_line("be", []), pred_line("none", [DATE])]
    report = evaluate(gold, pred)
    assert set(report.by_locale) == {"nl-BE", "nl-NL"}
    assert report.by_locale["nl-NL"].exact.recall == 1.0
    assert report.by_locale["nl-BE"].exact.recall == 0.0
    assert report.by_locale["nl-BE"].characters.phi_recall == 0.0
    assert report.by_length[LONG_BUCKET].documents == 1
    assert report.by_length[LONG_BUCKET].phi_recall == 0.0
    assert report.by_length[SHORT_BUCKET].documents == 2
    assert report.by_length[SHORT_BUCKET].phi_recall == 1.0


def test_undefined_ratios_are_none() -> None:
    report = evaluate([gold_line("n1", [])], [pred_line("n1", [])])
    assert report.exact.overall.precision is None
    assert report.exact.overall.recall is None
    assert report.characters.phi_recall is None
    assert report.by_length[LONG_BUCKET].phi_recall is None
    format_report(report)  # renders "-" rather than failing


@pytest.mark.parametrize(
    ("gold", "pred", "fragment"),
    [
        ([gold_line("n1", [{"start": 5, "end": 99, "label": "Date"}])], [], "outside text"),
        (
            [gold_line("n1", [])],
            [pred_line("n1", [{"start": 3, "end": 3, "label": "D"}])],
            "[3, 3)",
        ),
        ([gold_line("n1", []), gold_line("n1", [])], [], "duplicate"),
        ([{"text": TEXT, "spans": []}], [], "note_id"),
        ([gold_line("n1", [{"start": 0, "label": "Date"}])], [], "span 0"),
    ],
)
def test_bad_input_raises_without_text(gold: list, pred: list, fragment: str) -> None:
    with pytest.raises(EvaluationInputError) as info:
        evaluate(gold, pred)
    assert fragment in str(info.value)
    assert "Jansen" not in str(info.value)


# ---------------------------------------------------------------- properties


def _spans_strategy(text_length: int, labels: list[str]) -> st.SearchStrategy[list[dict]]:
    def make(bounds: tuple[int, int], label: str) -> dict:
        a, b = sorted(bounds)
        return {"start": a, "end": max(b, a + 1), "label": label}

    span = st.builds(
        make,
        st.tuples(st.integers(0, text_length - 1), st.integers(0, text_length - 1)),
        st.sampled_from(labels),
    )
    return st.lists(span, max_size=6)


LABELS = ["Name:Patient", "Date", "Profession"]


@st.composite
def _case(draw: st.DrawFn) -> tuple[str, list[dict], list[dict]]:
    text = draw(st.text(alphabet="ab \n\u00a0é", min_size=2, max_size=60))
    gold = draw(_spans_strategy(len(text), LABELS))
    pred = draw(_spans_strategy(len(text), LABELS))
    return text, gold, pred


@settings(max_examples=150, deadline=None)
@given(_case())
def test_report_invariants(case: tuple[str, list[dict], list[dict]]) -> None:
    text, gold, pred = case
    report = evaluate([gold_line("n", gold, text=text)], [pred_line("n", pred)])
    exact, overlap = report.exact.overall, report.overlap.overall
    assert exact.tp + exact.fn == overlap.tp + overlap.fn == len(gold)
    assert exact.tp + exact.fp == overlap.tp + overlap.fp == len(pred)
    assert exact.tp <= overlap.tp
    for mode in (report.exact, report.overlap):
        assert sum(s.tp for s in mode.per_label.values()) == mode.overall.tp
    chars = report.characters
    assert 0 <= chars.phi_chars_covered <= chars.phi_chars
    assert chars.phi_chars + chars.non_phi_chars == sum(not c.isspace() for c in text)
    # Predicting exactly the gold spans is always perfect.
    perfect = evaluate([gold_line("n", gold, text=text)], [pred_line("n", gold)])
    assert perfect.exact.overall.fp == perfect.exact.overall.fn == 0
    assert perfect.characters.clean_documents == 1
    assert perfect.characters.non_phi_chars_redacted == 0


def _brute_force_matching(gold: list[_SimpleSpan], pred: list[_SimpleSpan]) -> int:
    """Largest k such that some k gold spans pair injectively with overlapping predictions."""

    def ok(g: _SimpleSpan, p: _SimpleSpan) -> bool:
        return g.label == p.label and g.start < p.end and p.start < g.end

    best = 0
    for k in range(1, min(len(gold), len(pred)) + 1):
        for gs in itertools.combinations(gold, k):
            if any(
                all(ok(g, p) for g, p in zip(gs, ps, strict=True))
                for ps in itertools.permutations(pred, k)
            ):
                best = k
                break
    return best


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 20), st.integers(1, 6)), max_size=4),
    st.lists(st.tuples(st.integers(0, 20), st.integers(1, 6)), max_size=4),
)
def test_overlap_matching_is_maximum(
    gold_raw: list[tuple[int, int]], pred_raw: list[tuple[int, int]]
) -> None:
    gold = [_SimpleSpan(s, s + n, "L") for s, n in gold_raw]
    pred = [_SimpleSpan(s, s + n, "L") for s, n in pred_raw]
    assert _overlap_matches(gold, pred) == _brute_force_matching(gold, pred)


# ---------------------------------------------------------------- CLI and output safety


def _write_jsonl(path: Path, lines: list[dict]) -> None:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deid-pipeline")
    register(parser.add_subparsers(dest="command", required=True))
    return parser


@pytest.mark.parametrize("as_json", [False, True])
def test_cli_outputs_figures_not_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], as_json: bool
) -> None:
    gold_path, pred_path = tmp_path / "gold.jsonl", tmp_path / "pred.jsonl"
    _write_jsonl(gold_path, [gold_line("n1", [NAME, DATE], locale="nl-NL"), gold_line("n2", [])])
    _write_jsonl(pred_path, [pred_line("n1", [NAME])])
    argv = ["evaluate", "--gold", str(gold_path), "--pred", str(pred_path)]
    args = _parser().parse_args(argv + (["--json"] if as_json else []))
    assert args.handler(args) == 0
    out = capsys.readouterr().out
    for secret in ("Jan", "Jansen", "12-03-2020", "gezien"):
        assert secret not in out
    if as_json:
        report = EvaluationReport.model_validate_json(out)
        assert report.exact.overall.recall == 0.5
        assert report.missing_prediction_ids == ["n2"]
    else:
        assert "Name:Patient" in out
        assert "0.5000" in out


def test_cli_reports_bad_json_by_line_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gold_path, pred_path = tmp_path / "gold.jsonl", tmp_path / "pred.jsonl"
    gold_path.write_text(json.dumps(gold_line("n1", [NAME])) + "\n{Jansen\n", encoding="utf-8")
    pred_path.write_text("", encoding="utf-8")
    args = _parser().parse_args(["evaluate", "--gold", str(gold_path), "--pred", str(pred_path)])
    assert args.handler(args) == 2
    err = capsys.readouterr().err
    assert "line 2" in err
    assert "Jansen" not in err

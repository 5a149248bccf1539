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
    ANNOTATION_KINDS,
    LONG_BUCKET,
    SHORT_BUCKET,
    EvaluationInputError,
    EvaluationReport,
    _overlap_matches,
    _SimpleSpan,
    evaluate,
    format_report,
    headline,
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
    assert report.by_length[LONG_BUCKET].characters.documents == 1
    assert report.by_length[LONG_BUCKET].characters.phi_recall == 0.0
    assert report.by_length[LONG_BUCKET].overlap.recall == 0.0
    assert report.by_length[SHORT_BUCKET].characters.documents == 2
    assert report.by_length[SHORT_BUCKET].characters.phi_recall == 1.0
    assert report.by_length[SHORT_BUCKET].overlap.f1 == 1.0


def test_undefined_ratios_are_none() -> None:
    report = evaluate([gold_line("n1", [])], [pred_line("n1", [])])
    assert report.exact.overall.precision is None
    assert report.exact.overall.recall is None
    assert report.characters.phi_recall is None
    assert report.by_length[LONG_BUCKET].characters.phi_recall is None
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


# ---------------------------------------------------------------- non-PHI annotations and coverage

# Synthetic. "Beleid" [0, 6) is a field label, "Jan Jansen" [8, 18) the patient, "500 mg" [25, 31)
# and "14:30" [35, 40) quantities, "Gisteren" [42, 50) a sentence-initial word. 58 characters.
NOTE = "Beleid: Jan Jansen kreeg 500 mg om 14:30. Gisteren rustig."
NOTE_NAME = {"start": 8, "end": 18, "label": "Name:Patient"}
NOTE_ANNOTATIONS = {
    "quantities": [{"start": 25, "end": 31}, {"start": 35, "end": 40}],
    "field_labels": [{"start": 0, "end": 6}],
    "sentence_initial": [{"start": 42, "end": 50}],
}


def annotated_line(note_id: str = "a1", **extra: object) -> dict:
    return gold_line(note_id, [NOTE_NAME], text=NOTE, **NOTE_ANNOTATIONS, **extra)


def test_annotation_figures_worked_by_hand() -> None:
    pred = [
        NOTE_NAME,
        {"start": 35, "end": 40, "label": "Date"},  # the clock time
        {"start": 0, "end": 3, "label": "Name:Other"},  # "Bel" of the field label
        {"start": 42, "end": 46, "label": "Name:Patient"},  # "Gist" of "Gisteren"
    ]
    report = evaluate([annotated_line()], [pred_line("a1", pred)])
    quantities = report.annotations["quantities"]
    # 2 quantities, "500 mg" untouched, "14:30" redacted: 1 of 2 intact; 5 of 10 chars hidden.
    assert (quantities.items, quantities.items_intact, quantities.intact_share) == (2, 1, 0.5)
    assert (quantities.chars, quantities.chars_redacted) == (10, 5)
    assert quantities.predicted_labels == {"Date": 1}
    labels = report.annotations["field_labels"]
    # "Bel" of "Beleid": 3 of 6 characters, the one label not intact.
    assert (labels.items, labels.items_intact, labels.chars, labels.chars_redacted) == (1, 0, 6, 3)
    assert labels.redaction_rate == 0.5
    assert labels.predicted_labels == {"Name:Other": 1}
    initial = report.annotations["sentence_initial"]
    assert (initial.chars, initial.chars_redacted, initial.redaction_rate) == (8, 4, 0.5)
    assert initial.predicted_labels == {"Name:Patient": 1}
    # No "codes" key in the gold line: nothing measured, no ratio.
    codes = report.annotations["codes"]
    assert (codes.documents, codes.items, codes.intact_share) == (0, 0, None)
    assert report.coverage.fully_covered == 1 and report.coverage.spans == 1
    figures = headline(report)
    assert figures["quantities_intact"] == 0.5
    assert figures["field_labels_redacted"] == 0.5
    assert figures["sentence_initial_redacted"] == 0.5
    assert figures["codes_intact"] is None
    assert figures["phi_recall"] == 1.0


def test_nothing_predicted_leaves_every_annotation_intact() -> None:
    report = evaluate([annotated_line()], [pred_line("a1", [])])
    for kind in ("quantities", "field_labels", "sentence_initial"):
        scores = report.annotations[kind]
        assert scores.documents == 1
        assert scores.intact_share == 1.0 and scores.redaction_rate == 0.0
    assert report.coverage.missed == 1 and report.coverage.missed_share == 1.0


# "(24/2)": a date without a year at [10, 14); "12-14 maart" a range (one Date span) at [19, 30).
DATES = "Controle (24/2) en 12-14 maart."
SHORT_DATE = {"start": 10, "end": 14, "label": "Date"}
RANGE = {"start": 19, "end": 30, "label": "Date"}


@pytest.mark.parametrize(
    ("pred", "fully", "partly", "missed", "covered"),
    [
        ([SHORT_DATE, RANGE], 2, 0, 0, 14),
        # only the day of "24/2", the whole range
        ([{**SHORT_DATE, "end": 12}, RANGE], 1, 1, 0, 12),
        # only "14 maart" of the range (a model that splits it), nothing of "24/2"
        ([{"start": 22, "end": 30, "label": "Date"}], 0, 1, 1, 7),
        # a wrong label still covers the characters
        ([{**SHORT_DATE, "label": "Age_Birthdate"}], 1, 0, 1, 4),
        ([], 0, 0, 2, 0),
    ],
)
def test_phi_span_coverage_table(
    pred: list[dict], fully: int, partly: int, missed: int, covered: int
) -> None:
    report = evaluate([gold_line("d1", [SHORT_DATE, RANGE], text=DATES)], [pred_line("d1", pred)])
    coverage = report.coverage_per_label["Date"]
    assert (coverage.fully_covered, coverage.partly_covered, coverage.missed) == (
        fully,
        partly,
        missed,
    )
    # "24/2" has 4 visible characters, "12-14 maart" 10.
    assert (coverage.chars, coverage.chars_covered) == (14, covered)
    assert coverage.char_recall == pytest.approx(covered / 14)
    assert report.coverage == coverage


def test_annotation_breakdown_by_locale_and_length() -> None:
    long_note = NOTE + " " + "x" * 10_000
    gold = [
        annotated_line("nl", locale="nl-NL"),
        gold_line(
            "be",
            [NOTE_NAME],
            text=long_note,
            locale="nl-BE",
            quantities=[{"start": 25, "end": 31}],
            codes=[[51, 57]],  # [start, end] pairs are read too
        ),
    ]
    pred = [
        pred_line("nl", [NOTE_NAME]),
        pred_line("be", [{"start": 8, "end": 31, "label": "Name:Patient"}]),
    ]
    report = evaluate(gold, pred)
    nl, be = report.by_locale["nl-NL"], report.by_locale["nl-BE"]
    assert nl.annotations["quantities"].intact_share == 1.0
    assert be.annotations["quantities"].intact_share == 0.0
    assert be.annotations["codes"].intact_share == 1.0
    assert report.annotations["quantities"].items == 3
    assert report.annotations["quantities"].items_intact == 2
    assert report.annotations["codes"].documents == 1
    long_group = report.by_length[LONG_BUCKET]
    short_group = report.by_length[SHORT_BUCKET]
    assert long_group.annotations["quantities"].items_intact == 0
    assert short_group.annotations["quantities"].items_intact == 2
    assert short_group.annotations["field_labels"].redaction_rate == 0.0
    assert long_group.annotations["field_labels"].documents == 0
    # The long note's name is covered (by one over-long span): overlap F1 1.0 in both buckets.
    assert long_group.overlap.f1 == short_group.overlap.f1 == 1.0
    # [8, 31) minus the name [8, 18) is " kreeg 500 mg": 10 visible non-PHI characters.
    assert long_group.characters.non_phi_chars_redacted == 10
    text = format_report(report)
    for kind in ANNOTATION_KINDS:
        assert kind in text
    for secret in ("Jansen", "Gisteren", "Beleid"):
        assert secret not in text


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"quantities": [{"start": 50, "end": 70}]}, "quantities item 0 [50, 70)"),
        ({"field_labels": {"start": 0}}, "field_labels is not a list"),
        ({"codes": [{"start": 1}]}, "codes item 0 lacks start or end"),
        ({"sentence_initial": [{"start": "0", "end": 3}]}, "sentence_initial item 0 bad types"),
    ],
)
def test_bad_annotations_raise_without_text(extra: dict, fragment: str) -> None:
    with pytest.raises(EvaluationInputError) as info:
        evaluate([gold_line("a1", [], text=NOTE, **extra)], [])
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


@settings(max_examples=120, deadline=None)
@given(_case(), st.lists(st.tuples(st.integers(0, 59), st.integers(1, 8)), max_size=5))
def test_annotation_invariants(
    case: tuple[str, list[dict], list[dict]], raw: list[tuple[int, int]]
) -> None:
    text, gold, pred = case
    ranges = [
        {"start": min(a, len(text) - 1), "end": min(a + n, len(text))}
        for a, n in raw
        if min(a, len(text) - 1) < min(a + n, len(text))
    ]

    def run(predicted: list[dict]) -> object:
        line = gold_line("n", gold, text=text, quantities=ranges)
        return evaluate([line], [pred_line("n", predicted)]).annotations["quantities"]

    scores = run(pred)
    assert scores.items == len(ranges)
    assert 0 <= scores.items_intact <= scores.items
    assert 0 <= scores.chars_redacted <= scores.chars
    assert scores.chars == sum(
        not text[i].isspace() for r in ranges for i in range(r["start"], r["end"])
    )
    assert sum(scores.predicted_labels.values()) <= len(pred)
    untouched = run([])
    assert untouched.items_intact == len(ranges) and untouched.chars_redacted == 0
    everything = run([{"start": 0, "end": len(text), "label": "Date"}])
    assert everything.items_intact == 0 and everything.chars_redacted == everything.chars
    assert everything.predicted_labels == ({"Date": 1} if ranges else {})


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


def test_heldout_inputs_carry_annotations_and_gold_as_prediction_spares_them(
    tmp_path: Path,
) -> None:
    from deid_pipeline.evaluation import read_jsonl
    from deid_pipeline.evaluation_run import write_heldout_inputs

    gold_path, with_metadata, without_metadata = write_heldout_inputs(tmp_path, 25, seed=3)
    gold = list(read_jsonl(gold_path))
    assert len(gold) == 25 and with_metadata.exists() and without_metadata.exists()
    assert all(kind in line for line in gold for kind in ANNOTATION_KINDS)
    # Predicting exactly the gold PHI spans redacts no annotation: they never overlap PHI.
    report = evaluate(gold, [pred_line(line["note_id"], line["spans"]) for line in gold])
    assert report.characters.phi_recall == 1.0
    assert report.coverage.fully_covered_share == 1.0
    for kind in ANNOTATION_KINDS:
        scores = report.annotations[kind]
        assert scores.documents == 25 and scores.items > 0, kind
        assert scores.intact_share == 1.0 and scores.redaction_rate == 0.0, kind


def test_heldout_run_scores_released_notes_and_counts_withheld_ones(
    tmp_path: Path, tiny_bundle_dir: Path
) -> None:
    """A withheld note exposes nothing: it is counted by reason, not scored as a total miss."""
    import json

    from deid_pipeline import evaluation_run

    gold_path, _, _ = evaluation_run.write_heldout_inputs(tmp_path / "ref", 6, seed=5)
    withheld_id = json.loads(gold_path.read_text(encoding="utf-8").splitlines()[0])["note_id"]
    rejected = tmp_path / "pred.rejected.jsonl"
    rejected.write_text(
        json.dumps({"note_id": withheld_id, "reason": "leak_check_failed", "message": "x"}) + "\n"
    )
    assert evaluation_run._not_released(rejected) == {withheld_id: "leak_check_failed"}
    assert evaluation_run._not_released(tmp_path / "absent.jsonl") == {}
    released = tmp_path / "released.jsonl"
    evaluation_run._write_gold_without(gold_path, released, {withheld_id})
    ids = [json.loads(line)["note_id"] for line in released.read_text().splitlines()]
    assert len(ids) == 5 and withheld_id not in ids

    reports = evaluation_run.run_heldout_evaluation(
        tmp_path / "run", n_notes=4, seed=5, bundle=tiny_bundle_dir, backend="onnx"
    )
    summary = json.loads((tmp_path / "run" / "summary.json").read_text(encoding="utf-8"))
    assert set(summary) == set(reports) == {"without_metadata", "with_metadata"}
    for setting, figures in summary.items():
        assert isinstance(figures["not_released"], dict)
        scored = reports[setting].documents
        assert scored + sum(figures["not_released"].values()) == 4

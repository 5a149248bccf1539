"""The file CLI: good lines out in order, bad lines rejected with a reason, no text leaks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deid_pipeline.cli import main

PATIENT_SURNAME = "Bloemendaal"  # synthetic
GOOD = [
    {
        "note_id": "n1",
        "text": f"Mevr. {PATIENT_SURNAME} werd gezien op 03-02-2026. Tel 06-12345678.",
        "patient_id": "p1",
        "metadata": {"patient": {"given_names": "Anna", "surname": PATIENT_SURNAME}},
    },
    {"note_id": "n2", "text": "Geen bijzonderheden. Controle over 6 weken.", "patient_id": "p2"},
    {"note_id": "n3", "text": f"Dhr. {PATIENT_SURNAME} belt terug.", "patient_id": "p1"},
]


def _write_input(path: Path) -> None:
    lines = [
        json.dumps(GOOD[0]),
        "{this is not json " + PATIENT_SURNAME,
        json.dumps({"note_id": "e1", "text": "   "}),
        json.dumps(GOOD[1]),
        json.dumps({"note_id": "n1", "text": "duplicate of an earlier id"}),
        json.dumps({"note_id": "x1", "text": "a\u0000b"}),
        json.dumps({"note_id": "m1", "text": "ok", "metadata": "{broken"}),
        "",
        json.dumps({"text": "no id"}),
        json.dumps(GOOD[2]),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_deidentify_file_with_good_and_bad_lines(
    tmp_path: Path,
    tiny_bundle_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEID_SECRET_KEY", "test-secret-key-with-at-least-32-characters!")
    source, output = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write_input(source)

    status = main(["deidentify", str(source), "-o", str(output), "--bundle", str(tiny_bundle_dir)])

    assert status == 0
    results = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [result["note_id"] for result in results] == ["n1", "n2", "n3"]
    for result, note in zip(results, GOOD, strict=True):
        assert PATIENT_SURNAME not in result["deid_text"]
        for span in result["spans"]:
            assert 0 <= span["start"] < span["end"] <= len(note["text"])
            assert span["source"] in {"model", "metadata", "pattern"}
    rejected = [
        json.loads(line)
        for line in (tmp_path / "out.rejected.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert [(row["line"], row["note_id"], row["reason"]) for row in rejected] == [
        (2, None, "malformed"),
        (3, "e1", "empty_text"),
        (5, "n1", "duplicate_id"),
        (6, "x1", "invalid_text"),
        (7, "m1", "bad_metadata"),
        (9, None, "malformed"),
    ]
    captured = capsys.readouterr()
    assert PATIENT_SURNAME not in captured.err
    assert "notes=3 rejected=6" in captured.err


def test_missing_secret_fails_with_a_clear_message(
    tmp_path: Path,
    tiny_bundle_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DEID_SECRET_KEY", raising=False)
    monkeypatch.delenv("DEID_DEMO_MODE", raising=False)
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps(GOOD[1]) + "\n", encoding="utf-8")
    status = main(
        [
            "deidentify",
            str(source),
            "-o",
            str(tmp_path / "o.jsonl"),
            "--bundle",
            str(tiny_bundle_dir),
        ]
    )
    assert status == 2
    assert "DEID_SECRET_KEY" in capsys.readouterr().err


def test_stdin_to_stdout_in_demo_mode(
    tmp_path: Path,
    tiny_bundle_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io

    monkeypatch.delenv("DEID_SECRET_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(GOOD[2]) + "\n"))
    status = main(["deidentify", "-", "-o", "-", "--bundle", str(tiny_bundle_dir), "--demo"])
    captured = capsys.readouterr()
    assert status == 0
    assert json.loads(captured.out)["note_id"] == "n3"
    assert "DEMO" in captured.err
    assert PATIENT_SURNAME not in captured.err


def test_lower_case_model_spans_are_dropped_unless_asked_to_keep_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deid_pipeline.labels import DEFAULT_ENTITY_LABELS
    from deid_pipeline.testing import make_tiny_bundle

    # A random model that calls every token PHI (threshold 0), never with a shapeless label.
    thresholds = {label: 0.0 for label in DEFAULT_ENTITY_LABELS} | {"Profession": 1.0}
    make_tiny_bundle(tmp_path / "bundle", thresholds=thresholds)
    monkeypatch.setenv("DEID_SECRET_KEY", "test-secret-key-with-at-least-32-characters!")
    text = "geen klachten meer, goed herstel na de ingreep"
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"note_id": "n1", "text": text}) + "\n", encoding="utf-8")

    def run(*extra: str) -> dict:
        output = tmp_path / f"out{len(extra)}.jsonl"
        args = ["deidentify", str(source), "-o", str(output), "--bundle", str(tmp_path / "bundle")]
        assert main([*args, *extra]) == 0
        return json.loads(output.read_text(encoding="utf-8"))

    assert run()["deid_text"] == text  # lower-case words are no names, places or ids
    kept = run("--keep-shapeless-spans")
    assert kept["spans"] and all(span["source"] == "model" for span in kept["spans"])
    assert kept["deid_text"] != text


def _run_cli(
    tmp_path: Path, records: list[dict], *extra: str
) -> tuple[int, list[dict], list[dict]]:
    """Run ``deidentify`` over ``records``; returns status, output lines and rejected lines."""
    source, output = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    status = main(["deidentify", str(source), "-o", str(output), *extra])
    rejected_file = tmp_path / "out.rejected.jsonl"

    def lines(path: Path) -> list[dict]:
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]

    return status, lines(output), lines(rejected_file)


def test_a_note_with_known_phi_left_is_withheld_like_the_pipeline_does(
    tmp_path: Path, tiny_bundle_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import deid_pipeline.core as core

    # Force a miss: no span survives detection, so the metadata name stays in the text.
    monkeypatch.setattr(core, "postprocess", lambda note, model_spans, **options: [])
    monkeypatch.setenv("DEID_SECRET_KEY", "test-secret-key-with-at-least-32-characters!")
    leaking = {**GOOD[2], "metadata": GOOD[0]["metadata"]}
    status, out, rejected = _run_cli(tmp_path, [GOOD[1], leaking], "--bundle", str(tiny_bundle_dir))
    assert status == 0
    assert [line["note_id"] for line in out] == ["n2"]
    assert [(r["line"], r["note_id"], r["reason"]) for r in rejected] == [
        (2, "n3", "leak_check_failed")
    ]
    assert "patient_name" in rejected[0]["message"]
    assert PATIENT_SURNAME not in json.dumps(rejected)
    # The released note carries what the pipeline's output table carries.
    assert out[0]["patient_pseudonym"].startswith("p_") and out[0]["note_date_shifted"] is None


def test_record_limits_are_flags(
    tmp_path: Path, tiny_bundle_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEID_SECRET_KEY", "test-secret-key-with-at-least-32-characters!")
    short = {"note_id": "s", "text": "Kort."}
    status, out, rejected = _run_cli(
        tmp_path,
        [GOOD[1], short],
        "--bundle",
        str(tiny_bundle_dir),
        "--max-chars-per-record",
        "20",
    )
    assert status == 0
    assert [line["note_id"] for line in out] == ["s"]
    assert [(r["note_id"], r["reason"]) for r in rejected] == [("n2", "too_long")]
    assert "limit of 20" in rejected[0]["message"]


def test_bad_flags_and_a_tampered_bundle_give_a_clean_error(
    tmp_path: Path,
    tiny_bundle_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import shutil

    monkeypatch.setenv("DEID_SECRET_KEY", "test-secret-key-with-at-least-32-characters!")
    tampered = tmp_path / "bundle"
    shutil.copytree(tiny_bundle_dir, tampered)
    with (tampered / "config.json").open("a", encoding="utf-8") as handle:
        handle.write(" ")
    status, out, _ = _run_cli(tmp_path, [GOOD[1]], "--bundle", str(tampered))
    err = capsys.readouterr().err
    assert status == 2 and out == []
    assert "model bundle refused" in err and "config.json" in err
    assert "Traceback" not in err
    status, _, _ = _run_cli(
        tmp_path, [GOOD[1]], "--bundle", str(tiny_bundle_dir), "--max-windows-per-record", "0"
    )
    assert status == 2
    assert "--max-windows-per-record must be" in capsys.readouterr().err


def test_a_line_that_is_not_json_is_named_in_plain_words(
    tmp_path: Path, tiny_bundle_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEID_SECRET_KEY", "test-secret-key-with-at-least-32-characters!")
    _write_input(tmp_path / "in.jsonl")
    main(
        [
            "deidentify",
            str(tmp_path / "in.jsonl"),
            "-o",
            str(tmp_path / "o.jsonl"),
            "--bundle",
            str(tiny_bundle_dir),
        ]
    )
    rejected = (tmp_path / "o.rejected.jsonl").read_text(encoding="utf-8").splitlines()
    messages = [json.loads(line)["message"] for line in rejected]
    assert messages[0] == "line is not valid JSON"
    assert not any("Json" in message for message in messages)

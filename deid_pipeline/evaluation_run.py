"""Held-out evaluation of a bundle on the synthetic corpus: ``make evaluate``.

Generates the held-out split (phrasings, values, field labels and ordinary words never seen
in training), runs the ``deidentify`` command twice (notes without metadata, then with it),
scores both runs with ``evaluate`` and writes the reports next to the inputs, plus
``summary.json`` with the headline figures of both settings (PHI recall, entity F1, clean
documents, partly covered PHI spans, quantities and codes left intact, field labels and
sentence-initial words redacted). Notes the CLI does not release (withheld by the leak check,
or rejected) are counted per reason and left out of the figures: they expose nothing, but
they are lost to research. Prints figures only.

    python -m deid_pipeline.evaluation_run --out build/eval [--notes 1000] [--bundle DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from deid_pipeline.cli import main as cli_main
from deid_pipeline.evaluation import EvaluationReport, evaluate_files, format_report, headline
from deid_pipeline.synth import generate_notes, gold_record


def write_heldout_inputs(out_dir: Path, n_notes: int, seed: int) -> tuple[Path, Path, Path]:
    """Write gold JSONL and the two deidentify inputs (with and without metadata)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    gold_path = out_dir / "gold.jsonl"
    with_metadata = out_dir / "input_with_metadata.jsonl"
    without_metadata = out_dir / "input_without_metadata.jsonl"
    with (
        gold_path.open("w", encoding="utf-8") as gold,
        with_metadata.open("w", encoding="utf-8") as full,
        without_metadata.open("w", encoding="utf-8") as bare,
    ):
        for item in generate_notes(n_notes, seed=seed, split="heldout"):
            gold.write(json.dumps(gold_record(item), ensure_ascii=False, default=str) + "\n")
            full.write(item.note.model_dump_json() + "\n")
            bare.write(item.note.model_dump_json(exclude={"metadata"}) + "\n")
    return gold_path, with_metadata, without_metadata


def _not_released(rejected_path: Path) -> dict[str, str]:
    """note_id -> reason code of every note the CLI wrote to its rejected file."""
    if not rejected_path.is_file():
        return {}
    lines = (json.loads(line) for line in rejected_path.read_text(encoding="utf-8").splitlines())
    return {str(line["note_id"]): str(line["reason"]) for line in lines if line.get("note_id")}


def _write_gold_without(gold: Path, out: Path, excluded: set[str]) -> None:
    with gold.open(encoding="utf-8") as source, out.open("w", encoding="utf-8") as target:
        for line in source:
            if json.loads(line)["note_id"] not in excluded:
                target.write(line)


def run_heldout_evaluation(
    out_dir: Path, *, n_notes: int, seed: int, bundle: Path | None, backend: str
) -> dict[str, EvaluationReport]:
    """Run both settings and return their reports keyed by setting name."""
    gold, with_metadata, without_metadata = write_heldout_inputs(out_dir, n_notes, seed)
    reports: dict[str, EvaluationReport] = {}
    not_released: dict[str, dict[str, int]] = {}
    for setting, source in (
        ("without_metadata", without_metadata),
        ("with_metadata", with_metadata),
    ):
        predictions = out_dir / f"pred_{setting}.jsonl"
        arguments = ["deidentify", str(source), "-o", str(predictions), "--backend", backend]
        arguments += ["--demo"] + (["--bundle", str(bundle)] if bundle else [])
        if cli_main(arguments) != 0:
            raise SystemExit(f"deidentify failed for setting {setting}")
        # A note the CLI withholds (leak check) or rejects is not released: scored as a note
        # with nothing found it would count its PHI as leaked, so the figures are over the
        # released notes and the withheld ones are counted apart.
        withheld = _not_released(predictions.with_suffix(".rejected.jsonl"))
        released_gold = out_dir / f"gold_released_{setting}.jsonl"
        _write_gold_without(gold, released_gold, set(withheld))
        report = evaluate_files(released_gold, predictions)
        (out_dir / f"report_{setting}.json").write_text(report.model_dump_json(indent=2))
        reports[setting] = report
        not_released[setting] = dict(Counter(withheld.values()))
    summary = {
        setting: {**headline(report), "not_released": not_released[setting]}
        for setting, report in reports.items()
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return reports


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("build/eval"))
    parser.add_argument("--notes", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--bundle", type=Path, help="bundle folder (default: bundle/)")
    parser.add_argument("--backend", choices=["torch", "onnx"], default="onnx")
    args = parser.parse_args()
    reports = run_heldout_evaluation(
        args.out, n_notes=args.notes, seed=args.seed, bundle=args.bundle, backend=args.backend
    )
    for setting, report in reports.items():
        sys.stdout.write(f"\n=== held-out split, {setting.replace('_', ' ')} ===\n")
        sys.stdout.write(format_report(report))
    sys.stdout.write("\n=== headline (held-out) ===\n")
    summary = json.loads((args.out / "summary.json").read_text(encoding="utf-8"))
    for setting, report in reports.items():
        figures = "  ".join(
            f"{name}={'-' if value is None else f'{value:.4f}'}"
            for name, value in headline(report).items()
        )
        sys.stdout.write(f"{setting}: {figures}  not_released={summary[setting]['not_released']}\n")
    sys.stdout.write(f"\nreports and predictions in {args.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

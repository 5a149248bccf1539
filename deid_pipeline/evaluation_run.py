"""Held-out evaluation of a bundle on the synthetic corpus: ``make evaluate``.

Generates the held-out split (phrasings, values, field labels and ordinary words never seen
in training), runs the ``deidentify`` command twice (notes without metadata, then with it),
scores both runs with ``evaluate`` and writes the reports next to the inputs, plus
``summary.json`` with the headline figures of both settings (PHI recall, entity F1, clean
documents, partly covered PHI spans, quantities and codes left intact, field labels and
sentence-initial words redacted). Prints figures only.

    python -m deid_pipeline.evaluation_run --out build/eval [--notes 1000] [--bundle DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
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


def run_heldout_evaluation(
    out_dir: Path, *, n_notes: int, seed: int, bundle: Path | None, backend: str
) -> dict[str, EvaluationReport]:
    """Run both settings and return their reports keyed by setting name."""
    gold, with_metadata, without_metadata = write_heldout_inputs(out_dir, n_notes, seed)
    reports: dict[str, EvaluationReport] = {}
    for setting, source in (
        ("without_metadata", without_metadata),
        ("with_metadata", with_metadata),
    ):
        predictions = out_dir / f"pred_{setting}.jsonl"
        arguments = ["deidentify", str(source), "-o", str(predictions), "--backend", backend]
        arguments += ["--demo"] + (["--bundle", str(bundle)] if bundle else [])
        if cli_main(arguments) != 0:
            raise SystemExit(f"deidentify failed for setting {setting}")
        report = evaluate_files(gold, predictions)
        (out_dir / f"report_{setting}.json").write_text(report.model_dump_json(indent=2))
        reports[setting] = report
    summary = {setting: headline(report) for setting, report in reports.items()}
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
    for setting, report in reports.items():
        figures = "  ".join(
            f"{name}={'-' if value is None else f'{value:.4f}'}"
            for name, value in headline(report).items()
        )
        sys.stdout.write(f"{setting}: {figures}\n")
    sys.stdout.write(f"\nreports and predictions in {args.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

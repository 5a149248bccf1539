"""CLI throughput, torch vs ONNX Runtime, measured side by side in one run.

Each backend runs `deid-pipeline deidentify` in its own process (two runtimes in one process
slow each other down), on the same synthetic notes and the same bundle, twice in alternation;
the best docs/s of each is kept and the ratio printed. No note text is printed.

    python bench/backends.py [--notes 1000] [--bundle DIR | --tiny] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

SUMMARY = re.compile(r"notes=(\d+) rejected=(\d+) windows=(\d+) docs_per_s=([\d.]+)")


def _write_notes(path: Path, n_notes: int, seed: int) -> None:
    from deid_pipeline.synth import generate_notes

    with path.open("w", encoding="utf-8") as handle:
        for synthetic in generate_notes(n_notes, seed=seed, split="heldout"):
            handle.write(synthetic.note.model_dump_json() + "\n")


def _run(backend: str, notes: Path, bundle: Path, threads: int, out_dir: Path) -> dict[str, float]:
    command = [
        sys.executable,
        "-m",
        "deid_pipeline",
        "deidentify",
        str(notes),
        "-o",
        str(out_dir / f"{backend}.jsonl"),
        "--bundle",
        str(bundle),
        "--backend",
        backend,
        "--threads",
        str(threads),
        "--demo",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    completed = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    match = SUMMARY.search(completed.stderr)
    if match is None:
        raise RuntimeError(f"{backend}: no summary line in the CLI's stderr")
    return {
        "notes": int(match.group(1)),
        "rejected": int(match.group(2)),
        "windows": int(match.group(3)),
        "docs_per_s": float(match.group(4)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--notes", type=int, default=1000)
    parser.add_argument("--bundle", type=Path, help="bundle folder (default: the tiny test model)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        bundle = args.bundle
        if bundle is None:
            from deid_pipeline.testing import make_tiny_bundle

            bundle = make_tiny_bundle(
                work / "tiny", window_length=512, window_overlap=64, with_onnx=True
            ).root
        notes = work / "notes.jsonl"
        _write_notes(notes, args.notes, args.seed)
        best: dict[str, dict[str, float]] = {}
        for _ in range(args.repeats):
            for backend in ("torch", "onnx"):
                figures = _run(backend, notes, bundle, args.threads, work)
                if backend not in best or figures["docs_per_s"] > best[backend]["docs_per_s"]:
                    best[backend] = figures
        for backend, figures in best.items():
            print(f"{backend:6s} " + json.dumps(figures))
        ratio = best["onnx"]["docs_per_s"] / best["torch"]["docs_per_s"]
        print(
            f"onnx/torch docs/s ratio: {ratio:.2f} ({args.notes} notes, {args.threads} threads, "
            f"bundle={'tiny' if args.bundle is None else bundle})"
        )


if __name__ == "__main__":
    main()

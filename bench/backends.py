"""CLI throughput, torch vs ONNX Runtime fp32 vs ONNX Runtime int8, side by side in one run.

Each variant runs `deid-pipeline deidentify` in its own process (two runtimes in one process
slow each other down), on the same synthetic notes and the same bundle, twice in alternation;
the best docs/s (and its windows/s) of each is kept and the ratios printed. The int8 variant
needs a materialized bundle (``weights_onnx_int8``); it is skipped for bundles without one. No
note text is printed.

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


#: (name, backend, extra environment)
VARIANTS: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("torch", "torch", {}),
    ("onnx", "onnx", {"DEID_ONNX_PRECISION": "fp32"}),
    ("onnx-int8", "onnx", {"DEID_ONNX_PRECISION": "int8"}),
)


def _run(
    name: str,
    backend: str,
    extra_env: dict[str, str],
    notes: Path,
    bundle: Path,
    threads: int,
    out_dir: Path,
) -> dict[str, float]:
    command = [
        sys.executable,
        "-m",
        "deid_pipeline",
        "deidentify",
        str(notes),
        "-o",
        str(out_dir / f"{name}.jsonl"),
        "--bundle",
        str(bundle),
        "--backend",
        backend,
        "--threads",
        str(threads),
        "--demo",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), **extra_env}
    completed = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    match = SUMMARY.search(completed.stderr)
    if match is None:
        raise RuntimeError(f"{name}: no summary line in the CLI's stderr")
    notes_done, windows, docs_per_s = (
        int(match.group(1)),
        int(match.group(3)),
        float(match.group(4)),
    )
    return {
        "notes": notes_done,
        "rejected": int(match.group(2)),
        "windows": windows,
        "docs_per_s": docs_per_s,
        "windows_per_s": round(windows * docs_per_s / notes_done, 2) if notes_done else 0.0,
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
        from deid_pipeline.bundle import load_bundle

        has_int8 = load_bundle(bundle).path_of("weights_onnx_int8") is not None
        variants = [v for v in VARIANTS if v[0] != "onnx-int8" or has_int8]
        best: dict[str, dict[str, float]] = {}
        for _ in range(args.repeats):
            for name, backend, extra_env in variants:
                figures = _run(name, backend, extra_env, notes, bundle, args.threads, work)
                if name not in best or figures["docs_per_s"] > best[name]["docs_per_s"]:
                    best[name] = figures
        for name, figures in best.items():
            print(f"{name:10s} " + json.dumps(figures))
        torch_rate = best["torch"]["docs_per_s"]
        for name in best:
            if name != "torch":
                ratio = best[name]["docs_per_s"] / torch_rate
                print(f"{name}/torch docs/s ratio: {ratio:.2f}")
        print(
            f"({args.notes} notes, {args.threads} threads, "
            f"bundle={'tiny' if args.bundle is None else bundle})"
        )


if __name__ == "__main__":
    main()

"""Where the file CLI's time goes outside the model: a CPU-time profile of one run, in buckets.

Runs ``deid-pipeline deidentify`` in this process under ``cProfile`` with a per-thread CPU clock
(``time.thread_time``), so the figures hold on a busy machine too: they are the main thread's
CPU seconds, not wall time. ONNX Runtime and torch compute on the main thread plus their own
pool threads, so ``model`` here is the main thread's share of the model; the other buckets are
all on the main thread. Buckets (cumulative time of the function that owns the step):

* ``startup``: imports, bundle verification, runtime and tokenizer (``cli.main`` before the
  first record);
* ``validate`` (records -> notes), ``prepare`` (tokenize, window limit, pack, windows),
  ``model`` (the runtime's ``run``), ``batching`` (``run_windows`` around the model: plan,
  padding, per-window copies), ``decode`` (overlap averaging, BIO decoding),
  ``recognizers`` (label-shape filter, metadata, patterns, merge), ``release`` (replacement,
  leak check, pseudonym), ``output`` (JSON lines written);
* ``other``: the rest of the record loop.

    python bench/profile_cli.py NOTES.jsonl [--bundle DIR] [--backend onnx] [--threads 2]
    python bench/profile_cli.py --from-stats PROFILE.out   # summarise a saved profile
    python bench/profile_cli.py --synth 300 --seed 7 ...   # write held-out notes first

No note text is printed; the output JSONL goes to a temp folder.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

#: bucket -> (file suffix, function name) whose cumulative time it is
OWNERS: dict[str, tuple[str, str]] = {
    "validate": ("deid_pipeline/core.py", "__call__"),
    "prepare": ("deid_pipeline/core.py", "prepare"),
    "run_windows": ("deid_pipeline/runtimes/base.py", "run_windows"),
    "decode": ("deid_pipeline/decoding.py", "decode_windows"),
    "recognizers": ("deid_pipeline/postprocess.py", "postprocess"),
    "release": ("deid_pipeline/core.py", "release"),
    "output": ("deid_pipeline/cli.py", "_output_line"),
    "records": ("deid_pipeline/engine.py", "process_records"),
    "main": ("deid_pipeline/cli.py", "main"),
}
MODEL_FILES = ("runtimes/onnx_runtime.py", "runtimes/torch_runtime.py")


def buckets(stats: pstats.Stats) -> dict[str, float]:
    """CPU seconds per bucket from a profile of ``cli.main``."""
    cumulative: dict[str, float] = {}
    model = 0.0
    for (filename, _, function), row in stats.stats.items():  # type: ignore[attr-defined]
        cum = row[3]
        for bucket, (suffix, name) in OWNERS.items():
            if filename.endswith(suffix) and function == name:
                cumulative[bucket] = cumulative.get(bucket, 0.0) + cum
        if function == "run" and filename.endswith(MODEL_FILES):
            model += cum
    get = cumulative.get
    records, main = get("records", 0.0), get("main", 0.0)
    figures = {
        "startup": main - records - get("output", 0.0),
        "validate": get("validate", 0.0),
        "prepare": get("prepare", 0.0),
        "model": model,
        "batching": get("run_windows", 0.0) - model,
        "decode": get("decode", 0.0),
        "recognizers": get("recognizers", 0.0),
        "release": get("release", 0.0),
        "output": get("output", 0.0),
    }
    inside = sum(figures[k] for k in figures if k not in ("startup", "output"))
    figures["other"] = max(0.0, records - inside)
    figures["total"] = main
    return figures


def print_buckets(figures: dict[str, float], notes: int | None) -> None:
    """The bucket table; shares of the record loop exclude start-up."""
    loop = figures["total"] - figures["startup"]
    print(f"{'bucket':12s} {'CPU s':>8s} {'ms/note':>8s} {'of loop':>8s}")
    for name, seconds in figures.items():
        if name == "total":
            continue
        per_note = f"{1000 * seconds / notes:8.1f}" if notes else "       -"
        share = "       -" if name == "startup" else f"{seconds / loop:8.1%}"
        print(f"{name:12s} {seconds:8.2f} {per_note} {share}")
    outside = loop - figures["model"]
    print(
        f"outside the model (main-thread CPU, record loop): {outside:.2f} s = "
        f"{outside / loop:.1%} of the loop"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notes", nargs="?", type=Path)
    parser.add_argument("--synth", type=int, help="write this many held-out notes first")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--bundle", default="bundle")
    parser.add_argument("--backend", default="onnx")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--from-stats", type=Path, help="summarise this saved profile")
    parser.add_argument("--count", type=int, help="notes of the saved profile (--from-stats)")
    parser.add_argument("--save", type=Path, help="keep the profile here")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    n_notes: int | None = None
    with tempfile.TemporaryDirectory(prefix="deid-profile-") as temp:
        if args.from_stats:
            stats = pstats.Stats(str(args.from_stats))
            n_notes = args.count
        else:
            notes = args.notes
            if args.synth:
                from deid_pipeline.synth import generate_notes

                notes = Path(temp) / "notes.jsonl"
                with notes.open("w", encoding="utf-8") as handle:
                    for s in generate_notes(args.synth, seed=args.seed, split="heldout"):
                        handle.write(s.note.model_dump_json() + "\n")
            if notes is None:
                parser.error("give NOTES.jsonl, --synth N or --from-stats FILE")
            n_notes = sum(1 for _ in notes.open(encoding="utf-8"))
            from deid_pipeline import cli

            argv = ["deidentify", str(notes), "-o", str(Path(temp) / "out.jsonl")]
            argv += ["--bundle", args.bundle, "--backend", args.backend]
            argv += ["--threads", str(args.threads), "--demo"]
            profile = cProfile.Profile(time.thread_time)
            profile.enable()
            code = cli.main(argv)
            profile.disable()
            if code != 0:
                return code
            if args.save:
                profile.dump_stats(str(args.save))
            stats = pstats.Stats(profile)
    figures = buckets(stats)
    print_buckets(figures, n_notes)
    if args.json:
        report: dict[str, Any] = {"notes": n_notes, "cpu_seconds": figures}
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

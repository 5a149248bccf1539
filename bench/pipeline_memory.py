"""Peak memory of a whole pipeline run over one partition: ``python bench/pipeline_memory.py N``.

Three processes, so each figure means what it says:

1. ``python -m deid_pipeline synth`` writes N synthetic notes for one day into a temp folder
   (the generator's memory never counts);
2. a tiny random bundle is built in its own process, unless ``DEID_BUNDLE_DIR`` is set (its
   thresholds are ``--threshold``, default 1.0: no model spans, since random logits would make
   decoding, not the pipeline, the measured cost);
3. a fresh process runs every asset for that day through the all-stages job (in-process, temp
   Dagster instance, inference worker as a Pipes subprocess) and prints its own peak RSS
   (``ru_maxrss`` of itself: imports, Dagster and the orchestrator side of every stage), the
   worker's peak (``RUSAGE_CHILDREN``: the worker is that process's only child) and, per stage,
   the peak RSS while the stage ran (``VmHWM``, reset before each stage through
   ``/proc/self/clear_refs``) and the RSS left after it.

Every stage streams, so none of these figures should grow with N.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DAY = dt.date(2026, 1, 1)

#: Stage functions of deid_pipeline.pipeline.stages that the assets call (orchestrator side).
STAGE_FUNCTIONS = (
    "run_raw_notes",
    "run_request_shards",
    "worker_params",
    "commit_logits",
    "run_spans",
    "run_deidentified_notes",
)


def _status_kib(field: str) -> int | None:
    """A ``/proc/self/status`` figure in KiB (``VmRSS``, ``VmHWM``), None off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    """Reset this process's peak RSS (Linux >= 4.0); False when not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _instrument(peaks: dict[str, dict[str, float]]) -> None:
    """Wrap the stage functions so each records its peak and final RSS in MiB."""
    from deid_pipeline.pipeline import stages

    def wrap(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            reset = _reset_peak()
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                hwm, rss = _status_kib("VmHWM"), _status_kib("VmRSS")
                peaks[name] = {
                    "peak_mib": (hwm or 0) / 1024 if reset else float("nan"),
                    "rss_after_mib": (rss or 0) / 1024,
                    "seconds": time.perf_counter() - started,
                }

        return wrapped

    for name in STAGE_FUNCTIONS:
        setattr(stages, name, wrap(name, getattr(stages, name)))


def run_pipeline() -> int:
    """Child mode: run the job once over DAY and print figures as one JSON line."""
    import resource

    import_started = time.perf_counter()
    import dagster as dg

    from deid_pipeline.definitions import build_definitions
    from deid_pipeline.pipeline import delta_io
    from deid_pipeline.pipeline.jobs import materialize_partitions

    peaks: dict[str, dict[str, float]] = {}
    _instrument(peaks)
    imported = time.perf_counter() - import_started
    rss_imports = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    folder = Path(os.environ["DEID_STORAGE_ROOT"]).parent
    (folder / "dagster_home").mkdir(exist_ok=True)
    with dg.instance_for_test(temp_dir=str(folder / "dagster_home")) as instance:
        started = time.perf_counter()
        result = materialize_partitions(build_definitions(), [DAY.isoformat()], instance=instance)
        elapsed = time.perf_counter() - started
    rows_out = delta_io.count_partition(
        delta_io.table_uri(os.environ["DEID_STORAGE_ROOT"], "deidentified_notes"),
        DAY.isoformat(),
    )
    # ru_maxrss is in KiB on Linux; RUSAGE_CHILDREN is the largest waited-for child (the worker).
    figures = {
        "success": result.success,
        "rows_out": rows_out,
        "seconds": elapsed,
        "import_seconds": imported,
        "rss_after_imports_mib": rss_imports,
        "orchestrator_peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "worker_peak_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "stages": peaks,
    }
    print("FIGURES " + json.dumps(figures))
    return 0 if result.success else 1


def make_bundle(path: str, threshold: float) -> int:
    """Child mode: a tiny random bundle whose every threshold is ``threshold``."""
    from deid_pipeline.labels import DEFAULT_ENTITY_LABELS
    from deid_pipeline.testing import make_tiny_bundle

    make_tiny_bundle(Path(path), thresholds={label: threshold for label in DEFAULT_ENTITY_LABELS})
    return 0


def _child(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        # Synthetic data only; the full output (Dagster events, worker log) goes to a file.
        log = Path(tempfile.gettempdir()) / f"deid-bench-failed-{os.getpid()}.log"
        log.write_text(done.stdout + "\n" + done.stderr)
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"{args[1:4]} failed with exit status {done.returncode}; log: {log}")
    return done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notes", type=int, nargs="?", default=2000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--threshold",
        type=float,
        default=1.0,
        help="tiny bundle threshold for every label; 1.0 (default) makes the random model "
        "find nothing, so the run measures the pipeline rather than decoding random spans",
    )
    parser.add_argument("--child", choices=("run", "bundle"), help=argparse.SUPPRESS)
    parser.add_argument("--bundle-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "run":
        return run_pipeline()
    if args.child == "bundle":
        return make_bundle(args.bundle_out, args.threshold)

    env = dict(os.environ)
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("DEID_DEVICE", "cpu")
    env["DEID_DEMO_MODE"] = "1"
    me = [sys.executable, str(Path(__file__).resolve())]
    with tempfile.TemporaryDirectory(prefix="deid-bench-") as tmp:
        folder = Path(tmp)
        env["DEID_STORAGE_ROOT"] = str(folder / "lake")
        env["DEID_SOURCE_URI"] = str(folder / "source_notes")
        if not env.get("DEID_BUNDLE_DIR"):
            bundle = folder / "bundle"
            _child([*me, "--child", "bundle", "--bundle-out", str(bundle), "--threshold",
                    str(args.threshold)], env)  # fmt: skip
            env["DEID_BUNDLE_DIR"] = str(bundle)
        started = time.perf_counter()
        _child(
            [sys.executable, "-m", "deid_pipeline", "synth", "--notes", str(args.notes),
             "--days", "1", "--start-date", DAY.isoformat(), "--seed", str(args.seed),
             "--out", env["DEID_SOURCE_URI"]],
            env,
        )  # fmt: skip
        generated = time.perf_counter() - started
        done = _child([*me, "--child", "run"], env)
    line = next(x for x in done.stdout.splitlines() if x.startswith("FIGURES "))
    figures = json.loads(line.removeprefix("FIGURES "))
    seconds = figures["seconds"] or 1e-9
    print(f"notes                      {args.notes} (generated in {generated:.1f} s, own process)")
    print(f"run                        {'success' if figures['success'] else 'FAILED'}")
    print(f"rows out                   {figures['rows_out']}")
    print(
        f"pipeline wall time         {seconds:.1f} s ({figures['rows_out'] / seconds:.1f} docs/s)"
    )
    print(f"RSS after imports          {figures['rss_after_imports_mib']:.0f} MiB")
    print(f"peak RSS orchestrator      {figures['orchestrator_peak_mib']:.0f} MiB (whole process)")
    print(f"peak RSS worker (child)    {figures['worker_peak_mib']:.0f} MiB")
    print("per stage (orchestrator)   peak MiB  RSS after  seconds")
    for name, stage in figures["stages"].items():
        print(
            f"  {name:<24} {stage['peak_mib']:8.0f}  {stage['rss_after_mib']:9.0f}  "
            f"{stage['seconds']:7.1f}"
        )
    return 0 if figures["success"] else 1


if __name__ == "__main__":
    sys.exit(main())

"""Peak memory of a whole pipeline run over one partition: ``python bench/pipeline_memory.py N``.

Every stage streams, so none of the figures below should grow with N (the number of notes).

Set-up, each in its own process so its memory never counts: ``python -m deid_pipeline synth``
writes N synthetic notes for one day into a temp folder; a tiny random bundle is built unless
``DEID_BUNDLE_DIR`` is set (thresholds ``--threshold``, default 1.0: no model spans, since
random logits would make decoding, not the pipeline, the measured cost).

Production shape (default). The run goes through ``dagster asset materialize -m
deid_pipeline.definitions --select <the five stages> --partition DAY`` on a temp
``DAGSTER_HOME``: the same code path as the CLI, the UI and the daemon, with the Definitions'
executor (Dagster's default multiprocess executor: one process per step). Figures:

* ``run process``: peak RSS (``ru_maxrss``) of the process that ran the CLI; it holds the
  executor and event log, never data;
* ``step <asset>``: peak RSS of that step's own process, from ``peak_rss_mib`` in the asset's
  materialization metadata (``ru_maxrss`` of the step process at the end of the step; it
  includes Python, Dagster and the code location). This is the figure to size a pod/VM by:
  steps run one after another, each in a fresh process;
* ``inference worker``: peak RSS of the Pipes worker subprocess of the ``logits`` step, as
  ``worker_peak_rss_mib`` (the step process's ``RUSAGE_CHILDREN``, which counts the child from
  its fork, so it is never below the step process's size at that time) and as sampled
  ``VmHWM`` of the worker process itself; while it runs, the ``logits`` step process and the
  worker are both alive, so that step needs the sum;
* ``check <name>``: peak RSS of the asset-check step processes, sampled from
  ``/proc/<pid>/status`` (``VmHWM``) every 0.2 s (a check reads whole partitions too);
* ``join rows waiting``: most rows a stage's keyed join held at once (``spans``: raw notes
  ahead of their shard; ``deidentified_notes``: spans rows ahead of their note);
* ``seconds``: a step's wall time from its start to its success event (the step process's
  start-up and imports before them are not included; the run's wall time is).

In-process shape (``--in-process``): the all-stages job through ``execute_in_process`` in one
fresh process, as the tests run it. Figures: that process's peak (imports, Dagster and every
stage), its largest child's peak (``RUSAGE_CHILDREN``: the worker, but counted from its fork,
so never below the orchestrator's size when the worker started; the worker's own figure is
the production shape's sampled one), and per stage function the peak RSS while it ran
(``VmHWM`` reset before each stage through ``/proc/self/clear_refs``) and the RSS left after it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import runpy
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deid_pipeline.pipeline.jobs import STAGES

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


def _status_kib(field: str, pid: int | str = "self") -> int | None:
    """A ``/proc/<pid>/status`` figure in KiB (``VmRSS``, ``VmHWM``), None if unavailable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
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


class DescendantPeaks(threading.Thread):
    """Samples ``VmHWM`` of every descendant process of this one until stopped."""

    def __init__(self, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.peaks_kib: dict[int, int] = {}
        self.commands: dict[int, str] = {}
        self._halt = threading.Event()

    def _descendants(self) -> list[int]:
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                # Field 4 of /proc/<pid>/stat is the parent; the name (field 2) may hold spaces.
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
        found, frontier = [], [os.getpid()]
        while frontier:
            parent = frontier.pop()
            children = [pid for pid, ppid in parents.items() if ppid == parent]
            found.extend(children)
            frontier.extend(children)
        return found

    def run(self) -> None:
        """Sample until :meth:`stop`."""
        while not self._halt.wait(self.interval):
            for pid in self._descendants():
                hwm = _status_kib("VmHWM", pid)
                if pid not in self.commands:
                    try:
                        command = Path(f"/proc/{pid}/cmdline").read_bytes()
                        self.commands[pid] = command.replace(b"\0", b" ").decode(errors="replace")
                    except OSError:
                        pass
                if hwm:
                    self.peaks_kib[pid] = max(hwm, self.peaks_kib.get(pid, 0))

    def stop(self) -> None:
        """Stop sampling and wait for the thread."""
        self._halt.set()
        self.join()


def run_cli() -> int:
    """Child mode: ``dagster asset materialize`` in this process; print figures as JSON."""
    import resource

    sampler = DescendantPeaks()
    sampler.start()
    sys.argv = [
        "dagster", "asset", "materialize", "-m", "deid_pipeline.definitions",
        "--select", ",".join(STAGES), "--partition", DAY.isoformat(),
    ]  # fmt: skip
    started = time.perf_counter()
    code: Any = 0
    try:
        runpy.run_module("dagster", run_name="__main__", alter_sys=True)
    except SystemExit as done:
        code = done.code
    elapsed = time.perf_counter() - started
    sampler.stop()
    run_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    import dagster as dg

    from deid_pipeline.pipeline import delta_io

    figures: dict[str, Any] = {
        "success": code in (0, None),
        "seconds": elapsed,
        "run_process_peak_mib": run_peak,
        "steps": {},
        "checks": {},
    }
    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_runs(limit=1)
        step_seconds: dict[str, float] = {}
        step_pid: dict[str, int] = {}
        worker_starting: dict[str, float] = {}
        step_started: dict[str, float] = {}
        for record in instance.all_logs(run.run_id):
            event = record.dagster_event
            if event is None or record.step_key is None:
                continue
            if event.event_type_value == "STEP_WORKER_STARTING":
                worker_starting[record.step_key] = record.timestamp
            if event.event_type_value == "STEP_START":
                step_started[record.step_key] = record.timestamp
                step_seconds[record.step_key] = -record.timestamp
                if event.pid is not None:
                    step_pid[record.step_key] = event.pid
            elif event.event_type_value == "STEP_SUCCESS":
                step_seconds[record.step_key] = step_seconds.get(record.step_key, 0.0) + (
                    record.timestamp
                )
        for stage in STAGES:
            event = instance.get_latest_materialization_event(dg.AssetKey(stage))
            materialization = event.asset_materialization if event else None
            metadata = {
                name: getattr(value, "value", value)
                for name, value in (materialization.metadata if materialization else {}).items()
            }
            starting = worker_starting.get(stage)
            figures["steps"][stage] = {
                # the step process's fixed cost: spawn, imports, code location, resources
                "start_seconds": (
                    step_started[stage] - starting
                    if starting is not None and stage in step_started
                    else None
                ),
                "rows": metadata.get("rows"),
                "windows": metadata.get("windows"),
                "stage_seconds": metadata.get("elapsed_seconds"),
                "peak_mib": metadata.get("peak_rss_mib"),
                "sampled_mib": sampler.peaks_kib.get(step_pid.get(stage, -1), 0) / 1024,
                "seconds": step_seconds.get(stage),
                "worker_peak_mib": metadata.get("worker_peak_rss_mib"),
                "join_waiting_max": metadata.get("join_rows_waiting_max"),
            }
        for step_key, pid in step_pid.items():
            if step_key not in STAGES:
                figures["checks"][step_key] = {
                    "sampled_mib": sampler.peaks_kib.get(pid, 0) / 1024,
                    "seconds": step_seconds.get(step_key),
                }
    # The inference worker by its command line (a sampled figure, like the checks').
    figures["worker_sampled_mib"] = max(
        (
            kib / 1024
            for pid, kib in sampler.peaks_kib.items()
            if "deid_pipeline.worker" in sampler.commands.get(pid, "")
        ),
        default=0.0,
    )
    figures["rows_out"] = delta_io.count_partition(
        delta_io.table_uri(os.environ["DEID_STORAGE_ROOT"], "deidentified_notes"),
        DAY.isoformat(),
    )
    print("FIGURES " + json.dumps(figures))
    return 0 if figures["success"] else 1


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


def run_in_process() -> int:
    """Child mode: run the job in-process once over DAY and print figures as one JSON line."""
    import resource

    import_started = time.perf_counter()
    import dagster as dg

    from deid_pipeline.definitions import defs
    from deid_pipeline.pipeline import delta_io
    from deid_pipeline.pipeline.jobs import materialize_partitions

    peaks: dict[str, dict[str, float]] = {}
    _instrument(peaks)
    imported = time.perf_counter() - import_started
    rss_imports = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with dg.instance_for_test(temp_dir=os.environ["DAGSTER_HOME"]) as instance:
        started = time.perf_counter()
        result = materialize_partitions(defs, [DAY.isoformat()], instance=instance)
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


def _mib(value: float | None) -> str:
    return f"{value:8.0f}" if value else "       -"


def _print_production(figures: dict[str, Any]) -> None:
    print(f"run process (dagster CLI)  {_mib(figures['run_process_peak_mib'])} MiB peak")
    print("step process               peak MiB  sampled  seconds")
    for stage, step in figures["steps"].items():
        seconds = step["seconds"] or 0.0
        print(
            f"  {stage:<24} {_mib(step['peak_mib'])}  {_mib(step['sampled_mib'])}  {seconds:7.1f}"
        )
        if stage == "logits":
            worker = figures["worker_sampled_mib"]
            print(f"    inference worker       {_mib(step['worker_peak_mib'])}  {_mib(worker)}")
        if step.get("join_waiting_max") is not None:
            print(f"    join rows waiting (max) {step['join_waiting_max']:7d}")
    for name, check in sorted(figures["checks"].items()):
        seconds = check["seconds"] or 0.0
        print(f"  check {name}")
        print(f"  {'':<24} {'':>8}  {_mib(check['sampled_mib'])}  {seconds:7.1f}")
    _print_throughput(figures)


def _rate(count: Any, seconds: Any) -> str:
    return f"{count / seconds:9.1f}" if count is not None and seconds else "        -"


def _print_throughput(figures: dict[str, Any]) -> None:
    """Per stage: docs/s and windows/s over the step (start to success) and over the stage
    function alone, and the step process's fixed start cost (spawn to step start)."""
    rows_in = figures["rows_out"]
    print("throughput per step        docs/s  windows/s  step s  stage s  start s")
    for stage, step in figures["steps"].items():
        seconds, windows = step["seconds"], step.get("windows")
        start = step.get("start_seconds")
        print(
            f"  {stage:<22} {_rate(rows_in, seconds)}  {_rate(windows or None, seconds)}  "
            f"{seconds or 0:6.1f}  {step.get('stage_seconds') or 0:7.1f}  "
            f"{start if start is not None else float('nan'):7.1f}"
        )


def _print_in_process(figures: dict[str, Any]) -> None:
    print(f"RSS after imports          {figures['rss_after_imports_mib']:.0f} MiB")
    print(f"peak RSS orchestrator      {figures['orchestrator_peak_mib']:.0f} MiB (whole process)")
    print(f"peak RSS largest child     {figures['worker_peak_mib']:.0f} MiB (from its fork)")
    print("per stage (orchestrator)   peak MiB  RSS after  seconds")
    for name, stage in figures["stages"].items():
        print(
            f"  {name:<24} {stage['peak_mib']:8.0f}  {stage['rss_after_mib']:9.0f}  "
            f"{stage['seconds']:7.1f}"
        )


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
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run every stage in one process (execute_in_process, as the tests do) instead of "
        "the production shape (dagster asset materialize, one process per step)",
    )
    parser.add_argument("--json", type=Path, help="write the figures here as JSON")
    parser.add_argument("--child", choices=("cli", "in-process", "bundle"), help=argparse.SUPPRESS)
    parser.add_argument("--bundle-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "cli":
        return run_cli()
    if args.child == "in-process":
        return run_in_process()
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
        env["DEID_PARTITION_START"] = DAY.isoformat()
        env["DAGSTER_HOME"] = str(folder / "dagster_home")
        (folder / "dagster_home").mkdir()
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
        mode = "in-process" if args.in_process else "cli"
        done = _child([*me, "--child", mode], env)
    line = next(x for x in done.stdout.splitlines() if x.startswith("FIGURES "))
    figures = json.loads(line.removeprefix("FIGURES "))
    seconds = figures["seconds"] or 1e-9
    shape = "in-process" if args.in_process else "production (one process per step)"
    print(f"notes                      {args.notes} (generated in {generated:.1f} s, own process)")
    print(f"shape                      {shape}")
    print(f"run                        {'success' if figures['success'] else 'FAILED'}")
    print(f"rows out                   {figures['rows_out']}")
    print(
        f"pipeline wall time         {seconds:.1f} s ({figures['rows_out'] / seconds:.1f} docs/s)"
    )
    if args.in_process:
        _print_in_process(figures)
    else:
        _print_production(figures)
    if args.json:
        args.json.write_text(json.dumps({"notes": args.notes, **figures}, indent=2))
    return 0 if figures["success"] else 1


if __name__ == "__main__":
    sys.exit(main())

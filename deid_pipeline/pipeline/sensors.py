"""Crash safety of the embedded instance: a run whose process is gone is failed, its pool
slots freed.

With the default run launcher (one machine, SQLite) Dagster's run monitoring cannot check a
run worker's health, so a run killed with ``kill -9`` stays STARTED for ever and keeps the
``gpu`` pool slot its ``logits`` step claimed: every later inference step waits. The sensor
:func:`dead_run_reaper` looks at the runs in progress, and when none of the processes that
wrote a run's events is alive any more (same host: the embedded instance), it marks the run
failed and frees its concurrency slots. Where the launcher can check a worker's health (the
Kubernetes run launcher), the instance's own run monitoring does this and the sensor skips.
``run_monitoring.free_slots_after_run_end_seconds`` in ``dagster_home/dagster.yaml`` frees the
slots of any other run that ends while holding some.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg
from dagster._core.events import DagsterEventType
from dagster._core.storage.dagster_run import DagsterRunStatus, RunsFilter

__all__ = ["dead_run_reaper", "process_alive", "reap_dead_runs"]

#: A run younger than this is left alone (its first events may not be written yet).
GRACE_SECONDS = 60
_IN_PROGRESS = [DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]


def _boot_time() -> float | None:
    try:
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    except OSError:
        return None
    return None


def process_alive(pid: int, since: float | None = None) -> bool:
    """Whether process ``pid`` exists, is no zombie and (Linux) started before ``since``
    (else the pid was reused by another process)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    stat = Path(f"/proc/{pid}/stat")
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return True  # no procfs: trust kill(0)
    if fields[0] == "Z":
        return False
    boot = _boot_time()
    if since is not None and boot is not None:
        started = boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
        if started > since + 5:
            return False
    return True


def _run_pids(instance: dg.DagsterInstance, run_id: str) -> list[tuple[int, float]]:
    """(pid, first event time) of every process that wrote an event of the run."""
    seen: dict[int, float] = {}
    kinds = {DagsterEventType.RUN_START, DagsterEventType.STEP_START, DagsterEventType.ENGINE_EVENT}
    for record in instance.all_logs(run_id, of_type=kinds):
        event = record.dagster_event
        pid = event.pid if event is not None else None
        if pid is not None and pid not in seen:
            seen[pid] = record.timestamp
    return list(seen.items())


def reap_dead_runs(
    instance: dg.DagsterInstance,
    *,
    alive: Callable[[int, float | None], bool] = process_alive,
    grace_seconds: float = GRACE_SECONDS,
) -> list[str]:
    """Fail the runs in progress none of whose processes is alive; free their slots.

    Returns the run ids it failed. Only for launchers without worker health checks (one host).
    """
    if instance.run_launcher.supports_check_run_worker_health:
        return []
    reaped: list[str] = []
    now = time.time()
    for record in instance.get_run_records(filters=RunsFilter(statuses=_IN_PROGRESS)):
        run = record.dagster_run
        started = record.start_time or record.create_timestamp.timestamp()
        if now - started < grace_seconds:
            continue
        pids = _run_pids(instance, run.run_id)
        if not pids or any(alive(pid, since) for pid, since in pids):
            continue
        instance.report_run_failed(
            run, "run worker process is gone (killed?): run failed by dead_run_reaper"
        )
        if instance.event_log_storage.supports_global_concurrency_limits:
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        reaped.append(run.run_id)
    return reaped


@dg.sensor(
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Fails runs whose process is gone (kill -9, a crashed host) and frees their concurrency "
        "pool slots, so a dead run never blocks the gpu pool."
    ),
)
def dead_run_reaper(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    reaped = reap_dead_runs(context.instance)
    return dg.SkipReason(f"failed {len(reaped)} dead run(s)" if reaped else "no dead runs")

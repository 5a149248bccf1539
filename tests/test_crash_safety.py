"""Crash safety and one run per partition (issue 10), on temporary instances and storage."""

from __future__ import annotations

import os
import time
from pathlib import Path

import dagster as dg
import pyarrow as pa
from dagster._core.events import DagsterEvent, DagsterEventType
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus

from deid_pipeline.pipeline import delta_io
from deid_pipeline.pipeline.sensors import process_alive, reap_dead_runs

DEAD_PID = 2**22 + 12345  # above pid_max on Linux defaults: no such process


def _started_run(instance: dg.DagsterInstance, pid: int) -> str:
    run = instance.add_run(DagsterRun(job_name="deid_daily_job", status=DagsterRunStatus.STARTED))
    event = DagsterEvent(DagsterEventType.RUN_START.value, job_name="deid_daily_job", pid=pid)
    instance.handle_new_event(
        EventLogEntry(
            error_info=None,
            level="DEBUG",
            user_message="",
            run_id=run.run_id,
            timestamp=time.time(),
            dagster_event=event,
            job_name="deid_daily_job",
        )
    )
    return run.run_id


def test_a_killed_run_is_failed_and_frees_its_gpu_slot(tmp_path: Path) -> None:
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        storage = instance.event_log_storage
        storage.set_concurrency_slots("gpu", 1)
        dead = _started_run(instance, DEAD_PID)
        alive = _started_run(instance, os.getpid())
        storage.claim_concurrency_slot("gpu", dead, "logits")
        assert storage.get_concurrency_info("gpu").active_slot_count == 1

        assert reap_dead_runs(instance, grace_seconds=0) == [dead]
        assert instance.get_run_by_id(dead).status == DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(alive).status == DagsterRunStatus.STARTED
        assert storage.get_concurrency_info("gpu").active_slot_count == 0
        # a young run is left alone: its process may not have written events yet
        young = _started_run(instance, DEAD_PID)
        assert young not in reap_dead_runs(instance)


def test_process_alive_sees_reused_pids() -> None:
    assert process_alive(os.getpid())
    assert not process_alive(DEAD_PID)
    # This process started before now: a pid of a process that started later is another one.
    assert not process_alive(os.getpid(), since=time.time() - 10**6) or not Path("/proc").exists()


def test_the_instance_queues_a_second_run_of_a_partition() -> None:
    from dagster._core.instance.config import dagster_instance_config

    home = Path(__file__).resolve().parents[1] / "dagster_home"
    config, _ = dagster_instance_config(str(home))
    limits = config["concurrency"]["runs"]["tag_concurrency_limits"]
    per_partition = [limit for limit in limits if limit["key"] == "dagster/partition"]
    assert per_partition == [
        {"key": "dagster/partition", "value": {"applyLimitPerUniqueValue": True}, "limit": 1}
    ]
    assert config["run_monitoring"]["free_slots_after_run_end_seconds"] > 0


def _index(root: Path, asset: str, day: str, folder: Path) -> None:
    rows = pa.table(
        {
            delta_io.PARTITION_COLUMN: [day],
            "path": [str(folder / "x.bin")],
        }
    )
    delta_io.replace_partition(delta_io.table_uri(str(root), asset), rows, day)


def test_clean_up_keeps_an_uncommitted_run_folder_of_another_run(tmp_path: Path) -> None:
    root, asset, day = tmp_path, "request_shards", "2026-01-05"
    run_a = delta_io.run_folder(str(root), asset, day, "a")
    run_b = delta_io.run_folder(str(root), asset, day, "b")  # in flight, not committed
    _index(root, asset, day, run_a)
    assert delta_io.remove_stale_runs(str(root), asset, day, keep=run_a) == []
    assert run_b.exists()
    _index(root, asset, day, run_b)  # b commits: a is superseded
    assert delta_io.remove_stale_runs(str(root), asset, day, keep=run_b) == ["run-a"]
    old = delta_io.run_folder(str(root), asset, day, "crashed")
    os.utime(old, (time.time() - 3 * 86400,) * 2)
    assert delta_io.remove_stale_runs(str(root), asset, day, keep=run_b) == ["run-crashed"]


_KILLED_WRITE = """
import os, signal, sys
import pyarrow as pa
from deid_pipeline.pipeline import delta_io

uri, day = sys.argv[1], sys.argv[2]
schema = pa.schema([(delta_io.PARTITION_COLUMN, pa.string()), ("text", pa.string())])

def batches():
    for index in range(50):
        yield pa.record_batch([[day] * 2000, ["synthetic row %d" % index] * 2000], schema=schema)
        if index == 10:
            os.kill(os.getpid(), signal.SIGKILL)

delta_io.replace_partition(uri, delta_io.stream(schema, batches()), day)
"""


def test_a_write_killed_mid_stream_leaves_nothing_in_the_live_partition_folder(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    uri, day = str(tmp_path / "raw_notes"), "2026-01-05"
    schema = pa.schema([(delta_io.PARTITION_COLUMN, pa.string()), ("text", pa.string())])
    committed = pa.table([[day], ["committed row"]], schema=schema)
    delta_io.replace_partition(uri, committed, day)
    live = tmp_path / "raw_notes" / f"{delta_io.PARTITION_COLUMN}={day}"
    before = sorted(path.name for path in live.iterdir())

    process = subprocess.run([sys.executable, "-c", _KILLED_WRITE, uri, day], check=False)
    assert process.returncode == -9
    assert sorted(path.name for path in live.iterdir()) == before  # nothing uncommitted
    assert list((tmp_path / "raw_notes" / delta_io.STAGING_DIR).rglob("*.parquet"))

    # A crash between the rename and the commit (or an older version of this code) left a
    # footerless file in the live folder: the next write of the partition removes it.
    (live / "part-deadbeef.snappy.parquet").write_bytes(b"PAR1 synthetic half file")
    delta_io.replace_partition(uri, committed, day)
    assert not list((tmp_path / "raw_notes" / delta_io.STAGING_DIR).rglob("*.parquet"))
    assert "part-deadbeef.snappy.parquet" not in {path.name for path in live.iterdir()}
    rows = list(delta_io.iter_rows(delta_io.read_partition(uri, day)))
    assert [row["text"] for row in rows] == ["committed row"]


def test_parallel_first_starts_of_a_fresh_sqlite_instance_are_serialised(tmp_path: Path) -> None:
    import shutil
    import sqlite3
    import subprocess
    import sys

    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(Path(__file__).resolve().parents[1] / "dagster_home" / "dagster.yaml", home)
    command = [sys.executable, "-m", "deid_pipeline.pipeline.instance_init", str(home)]
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    starts = [subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL) for _ in range(2)]
    assert [process.wait(timeout=120) for process in starts] == [0, 0]
    for database in (home / "history" / "runs.db", home / "history" / "runs" / "index.db"):
        with sqlite3.connect(database) as connection:
            heads = connection.execute("select version_num from alembic_version").fetchall()
        assert len(heads) == 1

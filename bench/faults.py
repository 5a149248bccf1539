"""Fault experiments of issue 10, repeated: crashes, races and bad input, on temp storage.

    python bench/faults.py            # prints one line per experiment and the total time

Synthetic data only; prints figures and verdicts, never a row. Each experiment reproduces a
finding of the issue against the current code:

1. kill -9 of a process in the middle of a Delta partition write: uncommitted files in the
   live partition folder (before: a footerless Parquet file with clear text stayed there);
2. the next write of that partition: leftovers removed;
3. a run killed while holding the ``gpu`` pool slot: the dead-run sensor fails it, frees it;
4. two runs of one partition, each cleaning up after its commit: files the index names exist;
5. two first starts of a fresh SQLite ``DAGSTER_HOME`` at once: alembic heads per database;
6. a source with a null note_date and a row with invalid UTF-8: counted, the day goes on.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa

from deid_pipeline.pipeline import delta_io

DAY = "2026-01-05"
SCHEMA = pa.schema([(delta_io.PARTITION_COLUMN, pa.string()), ("text", pa.string())])
KILLED_WRITE = f"""
import os, signal, sys
import pyarrow as pa
from deid_pipeline.pipeline import delta_io
schema = pa.schema([(delta_io.PARTITION_COLUMN, pa.string()), ("text", pa.string())])
def batches():
    for index in range(50):
        yield pa.record_batch([["{DAY}"] * 2000, ["synthetic %d" % index] * 2000], schema=schema)
        if index == 10:
            os.kill(os.getpid(), signal.SIGKILL)
delta_io.replace_partition(sys.argv[1], delta_io.stream(schema, batches()), "{DAY}")
"""


def _live_files(uri: str) -> list[str]:
    folder = Path(uri) / f"{delta_io.PARTITION_COLUMN}={DAY}"
    return sorted(path.name for path in folder.glob("*.parquet"))


def killed_write(work: Path) -> str:
    uri = str(work / "raw_notes")
    delta_io.replace_partition(uri, pa.table([[DAY], ["committed"]], schema=SCHEMA), DAY)
    before = _live_files(uri)
    code = subprocess.run([sys.executable, "-c", KILLED_WRITE, uri], check=False).returncode
    extra = sorted(set(_live_files(uri)) - set(before))
    staged = len(list((Path(uri) / delta_io.STAGING_DIR).rglob("*.parquet")))
    verdict = "OK" if not extra else "FOUND"
    return (
        f"{verdict}: writer exit {code}; uncommitted files in the live partition folder: "
        f"{len(extra)}; in staging: {staged}"
    )


def next_write_cleans(work: Path) -> str:
    uri = str(work / "raw_notes")
    live = Path(uri) / f"{delta_io.PARTITION_COLUMN}={DAY}"
    (live / "part-00000000.snappy.parquet").write_bytes(b"PAR1 synthetic half file")
    delta_io.replace_partition(uri, pa.table([[DAY], ["committed"]], schema=SCHEMA), DAY)
    left = len(list((Path(uri) / delta_io.STAGING_DIR).rglob("*.parquet")))
    stray = "part-00000000.snappy.parquet" in _live_files(uri)
    verdict = "OK" if not left and not stray else "FOUND"
    return f"{verdict}: after the next write: staging files {left}, stray file left {stray}"


def dead_run_slot(work: Path) -> str:
    import dagster as dg
    from dagster._core.events import DagsterEvent, DagsterEventType
    from dagster._core.events.log import EventLogEntry
    from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus

    from deid_pipeline.pipeline.sensors import reap_dead_runs

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    (work / "home").mkdir()
    job = "deid_daily_job"
    with dg.instance_for_test(temp_dir=str(work / "home")) as instance:
        storage = instance.event_log_storage
        storage.set_concurrency_slots("gpu", 1)
        run = instance.add_run(DagsterRun(job_name=job, status=DagsterRunStatus.STARTED))
        event = DagsterEvent(DagsterEventType.RUN_START.value, job_name=job, pid=child.pid)
        instance.handle_new_event(
            EventLogEntry(
                error_info=None,
                level="DEBUG",
                user_message="",
                run_id=run.run_id,
                timestamp=time.time(),
                dagster_event=event,
                job_name=job,
            )
        )
        storage.claim_concurrency_slot("gpu", run.run_id, "logits")
        child.send_signal(signal.SIGKILL)
        child.wait()
        reaped = reap_dead_runs(instance, grace_seconds=0)
        status = instance.get_run_by_id(run.run_id).status.value
        held = storage.get_concurrency_info("gpu").active_slot_count
    verdict = "OK" if held == 0 and status == "FAILURE" else "FOUND"
    return f"{verdict}: killed run -> status {status}, gpu slots held {held}, reaped {len(reaped)}"


def two_runs_one_partition(work: Path) -> str:
    root, asset = str(work / "lake"), "request_shards"

    def commit(folder: Path) -> None:
        (folder / "shard.bin").write_bytes(b"synthetic")
        rows = pa.table({delta_io.PARTITION_COLUMN: [DAY], "path": [str(folder / "shard.bin")]})
        delta_io.replace_partition(delta_io.table_uri(root, asset), rows, DAY)

    run_a = delta_io.run_folder(root, asset, DAY, "a")
    run_b = delta_io.run_folder(root, asset, DAY, "b")
    commit(run_a)
    delta_io.remove_stale_runs(root, asset, DAY, keep=run_a)  # a cleans while b still writes
    commit(run_b)
    delta_io.remove_stale_runs(root, asset, DAY, keep=run_b)
    index = delta_io.iter_rows(
        delta_io.read_partition(delta_io.table_uri(root, asset), DAY, columns=["path"])
    )
    missing = sum(not Path(row["path"]).exists() for row in index)
    verdict = "OK" if not missing else "FOUND"
    return f"{verdict}: index entries naming deleted files after both clean-ups: {missing}"


def parallel_first_start(work: Path) -> str:
    home = work / "dagster_home"
    home.mkdir()
    shutil.copy(Path(__file__).resolve().parents[1] / "dagster_home" / "dagster.yaml", home)
    command = [sys.executable, "-m", "deid_pipeline.pipeline.instance_init", str(home)]
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    starts = [subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL) for _ in range(2)]
    codes = [process.wait(timeout=300) for process in starts]
    heads = []
    for database in sorted(home.rglob("*.db")):
        with sqlite3.connect(database) as connection:
            try:
                heads.append(len(connection.execute("select * from alembic_version").fetchall()))
            except sqlite3.OperationalError:
                continue
    verdict = "OK" if codes == [0, 0] and all(n == 1 for n in heads) else "FOUND"
    return f"{verdict}: exit codes {codes}; alembic heads per database {heads}"


def bad_input(work: Path) -> str:
    from deltalake import write_deltalake

    from deid_pipeline.pipeline import stages
    from deid_pipeline.settings import PipelineSettings

    meta = json.dumps({"patient": {"given_names": "Synthia", "surname": "Testperson"}})
    rows = [
        {"note_id": f"n{i}", "patient_id": "p1", "note_date": dt.date(2026, 1, 5),
         "text": f"Controle {i} gepland.", "metadata": meta}
        for i in range(4)
    ]  # fmt: skip
    rows.append({**rows[0], "note_id": "undated", "note_date": None})
    schema = pa.schema(
        [("note_id", pa.string()), ("patient_id", pa.string()), ("note_date", pa.date32()),
         ("text", pa.string()), ("metadata", pa.string())]
    )  # fmt: skip
    table = pa.Table.from_pylist(rows, schema=schema)
    texts = [text.encode() for text in table.column("text").to_pylist()]
    texts[2] = b"Controle \xff gepland."
    offsets = [0]
    for text in texts:
        offsets.append(offsets[-1] + len(text))
    array = pa.Array.from_buffers(
        pa.string(),
        len(texts),
        [None, pa.array(offsets, pa.int32()).buffers()[1], pa.py_buffer(b"".join(texts))],
    )
    table = table.set_column(table.schema.get_field_index("text"), "text", array)
    source = str(work / "source")
    write_deltalake(source, table)
    os.environ.update(
        DEID_STORAGE_ROOT=str(work / "lake6"), DEID_SOURCE_URI=source, DEID_DEMO_MODE="1"
    )
    try:
        figures = stages.run_raw_notes(PipelineSettings(), DAY, "faults")
        day = f"rows {figures.rows}, quarantined {figures.quarantined}"
    except Exception as error:  # the finding before the fix: the whole day failed
        day = f"day failed ({type(error).__name__})"
    undated = delta_io.undated_source_rows(source)
    verdict = "OK" if day.startswith("rows 3") and undated["null_note_date"] == 1 else "FOUND"
    return f"{verdict}: invalid UTF-8 row -> {day}; undated source rows {undated}"


EXPERIMENTS: list[tuple[str, Callable[[Path], str]]] = [
    ("kill -9 mid-write", killed_write),
    ("next write cleans", next_write_cleans),
    ("killed run holding the gpu slot", dead_run_slot),
    ("two runs of one partition", two_runs_one_partition),
    ("parallel first start (SQLite)", parallel_first_start),
    ("null date / invalid UTF-8", bad_input),
]


def main() -> int:
    started = time.perf_counter()
    found = 0
    with tempfile.TemporaryDirectory(prefix="deid-faults-") as temp:
        work = Path(temp)
        for name, experiment in EXPERIMENTS:
            begun = time.perf_counter()
            try:
                line = experiment(work)
            except Exception as error:
                line = f"FOUND: raised {type(error).__name__}"
            found += line.startswith("FOUND")
            print(f"{name:34s} {time.perf_counter() - begun:6.1f}s  {line}", flush=True)
    print(f"faults found: {found}; total {time.perf_counter() - started:.1f}s")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

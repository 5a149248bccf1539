"""Tables on S3-compatible object storage, against a local S3 server (moto's server mode on
127.0.0.1, started and stopped here). Credentials and endpoint come from the standard
environment variables only (``AWS_*``), as in a pod; nothing else is configured.

What is covered: a partition written, replaced by a re-run (no duplicates, other partitions
untouched), a crash in the middle of a write (nothing visible, the old rows still there), the
quarantine slice, and the streamed read. Not yet covered (issue 11, item 3): shard and logits
*files* on object storage — ``files_dir`` still refuses a non-local storage root, tested below.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pyarrow as pa
import pytest

from deid_pipeline.pipeline import delta_io

DAY1, DAY2 = "2026-01-01", "2026-01-02"


@pytest.fixture(scope="module")
def s3_root() -> Iterator[str]:
    """A bucket on a moto S3 server at 127.0.0.1; the AWS_* variables point at it."""
    pytest.importorskip("moto")
    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = pytest.MonkeyPatch()
    endpoint = f"http://127.0.0.1:{port}"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "moto-test",
        "AWS_SECRET_ACCESS_KEY": "moto-test",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ALLOW_HTTP": "true",
    }.items():
        env.setenv(name, value)
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="lake")
    try:
        yield "s3://lake/deid"
    finally:
        env.undo()
        server.stop()


def _rows(day: str, ids: list[str], stage: str | None = None) -> pa.Table:
    columns: dict[str, list[str]] = {"note_id": ids, "partition_date": [day] * len(ids)}
    if stage is not None:
        columns["stage"] = [stage] * len(ids)
    return pa.table(columns)


def test_partition_replace_and_rerun_on_s3(s3_root: str) -> None:
    uri = delta_io.table_uri(s3_root, "raw_notes")
    delta_io.replace_partition(uri, _rows(DAY1, ["a", "b", "c"]), DAY1)
    delta_io.replace_partition(uri, _rows(DAY2, ["d"]), DAY2)
    # A re-run of day 1 replaces it: no duplicates, day 2 untouched.
    version = delta_io.replace_partition(uri, _rows(DAY1, ["a", "b"]), DAY1)
    assert delta_io.count_partition(uri, DAY1) == 2
    assert delta_io.count_partition(uri, DAY2) == 1
    rows = list(delta_io.iter_rows(delta_io.read_partition(uri, DAY1)))
    assert sorted(row["note_id"] for row in rows) == ["a", "b"]
    assert version >= 2


def test_crash_mid_write_leaves_no_partial_partition_on_s3(s3_root: str) -> None:
    uri = delta_io.table_uri(s3_root, "spans")
    before = delta_io.replace_partition(uri, _rows(DAY1, ["a", "b"]), DAY1)
    schema = _rows(DAY1, []).schema

    def crashing() -> Iterator[pa.RecordBatch]:
        yield _rows(DAY1, [f"n{i}" for i in range(100)]).to_batches()[0]
        raise RuntimeError("worker died")  # after a batch was handed to the writer

    with pytest.raises(delta_io.DeltaWriteError):
        delta_io.replace_partition(uri, pa.RecordBatchReader.from_batches(schema, crashing()), DAY1)
    from deltalake import DeltaTable

    assert DeltaTable(uri).version() == before  # nothing committed
    assert delta_io.count_partition(uri, DAY1) == 2  # readers see the old partition whole


def test_quarantine_slice_on_s3(s3_root: str) -> None:
    uri = delta_io.table_uri(s3_root, "quarantine")
    delta_io.replace_partition(
        uri, _rows(DAY1, ["a", "b"], "raw_notes"), DAY1, equals={"stage": "raw_notes"}
    )
    delta_io.replace_partition(uri, _rows(DAY1, ["c"], "spans"), DAY1, equals={"stage": "spans"})
    delta_io.replace_partition(
        uri, _rows(DAY1, [], "raw_notes"), DAY1, equals={"stage": "raw_notes"}
    )
    assert delta_io.count_partition(uri, DAY1, equals={"stage": "raw_notes"}) == 0
    assert delta_io.count_partition(uri, DAY1, equals={"stage": "spans"}) == 1


def test_shard_files_still_need_a_local_root(s3_root: str) -> None:
    with pytest.raises(Exception, match=r"(?i)local|mount|path"):
        delta_io.files_dir(s3_root, "request_shards", DAY1)

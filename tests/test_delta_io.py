"""The local partition write of delta_io: pyarrow Parquet files plus one Delta transaction.

Synthetic rows only, real tables in tmp folders, read back through deltalake.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable, write_deltalake
from deltalake import Schema as DeltaSchema
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from deid_pipeline.pipeline import delta_io
from deid_pipeline.pipeline.delta_io import PARTITION_COLUMN

DAY1 = "2026-02-03"
DAY2 = "2026-02-04"

SCHEMA = pa.schema(
    [
        pa.field(PARTITION_COLUMN, pa.string(), nullable=False),
        pa.field("note_id", pa.string(), nullable=False),
        pa.field("note_date", pa.date32()),
        pa.field("n_chars", pa.int64(), nullable=False),
        pa.field("text", pa.large_string(), nullable=False),
        pa.field("tags", pa.list_(pa.struct([pa.field("start", pa.int32())]))),
        pa.field("written_at", pa.timestamp("us", tz="UTC")),
    ]
)


def _rows(day: str, n: int, tag: str = "a") -> list[dict[str, Any]]:
    return [
        {
            PARTITION_COLUMN: day,
            "note_id": f"{tag}-{day}-{i:05d}",
            "note_date": dt.date(2026, 2, 1) + dt.timedelta(days=i % 7) if i % 5 else None,
            "n_chars": 10 * i + 3,
            "text": f"Synthetische notitie {i} " * (1 + i % 4),
            "tags": [{"start": i}] if i % 2 else [],
            "written_at": dt.datetime(2026, 2, 5, tzinfo=dt.UTC),
        }
        for i in range(n)
    ]


def _table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def _read(uri: str, day: str) -> list[dict[str, Any]]:
    return list(delta_io.iter_rows(delta_io.read_partition(uri, day)))


def _adds(table: DeltaTable) -> list[dict[str, Any]]:
    # get_add_actions returns an arro3 table; pyarrow reads it through the C stream interface.
    return pa.table(table.get_add_actions(flatten=True)).to_pylist()


def _data_files(uri: str) -> list[Path]:
    return sorted(Path(uri).rglob("*.parquet"))


def test_new_table_has_the_schema_and_partitioning_of_write_deltalake(tmp_path: Path) -> None:
    ours, theirs = str(tmp_path / "ours"), str(tmp_path / "theirs")
    rows = _rows(DAY1, 5)
    version = delta_io.replace_partition(ours, _table(rows), DAY1)
    write_deltalake(theirs, _table(rows), partition_by=[PARTITION_COLUMN])
    table = DeltaTable(ours)
    assert version == table.version() == 0
    assert table.schema().to_json() == DeltaTable(theirs).schema().to_json()
    assert table.schema().to_json() == DeltaSchema.from_arrow(SCHEMA).to_json()
    assert list(table.metadata().partition_columns) == [PARTITION_COLUMN]
    assert _read(ours, DAY1) == _read(theirs, DAY1)
    # Delta keeps partition values in the log, not in the files.
    (data_file,) = _data_files(ours)
    assert data_file.parent.name == f"{PARTITION_COLUMN}={DAY1}"
    assert PARTITION_COLUMN not in pq.read_schema(data_file).names
    (add,) = _adds(table)
    assert add["num_records"] == 5


def test_replace_is_one_commit_scoped_to_its_partition_and_idempotent(tmp_path: Path) -> None:
    uri = str(tmp_path / "t")
    delta_io.replace_partition(uri, _table(_rows(DAY1, 4)), DAY1)
    delta_io.replace_partition(uri, _table(_rows(DAY2, 3)), DAY2)
    day2 = _read(uri, DAY2)
    new_rows = _rows(DAY1, 6, tag="b")
    before = DeltaTable(uri).version()
    assert delta_io.replace_partition(uri, _table(new_rows), DAY1) == before + 1
    assert _read(uri, DAY1) == _table(new_rows).to_pylist()
    assert _read(uri, DAY2) == day2  # the other partition is left alone
    # A re-run gives the same rows, no duplicates; the replaced files leave the snapshot.
    delta_io.replace_partition(uri, _table(new_rows), DAY1)
    assert _read(uri, DAY1) == _table(new_rows).to_pylist()
    assert (
        len(DeltaTable(uri).file_uris(file_pruning_predicate=[(PARTITION_COLUMN, "=", DAY1)])) == 1
    )
    # Empty data deletes the partition, and only it.
    delta_io.replace_partition(uri, _table([]), DAY1)
    assert _read(uri, DAY1) == [] and _read(uri, DAY2) == day2


def test_table_made_by_write_deltalake_takes_the_new_path_and_back(tmp_path: Path) -> None:
    uri = str(tmp_path / "t")
    write_deltalake(uri, _table(_rows(DAY1, 3) + _rows(DAY2, 2)), partition_by=[PARTITION_COLUMN])
    delta_io.replace_partition(uri, _table(_rows(DAY1, 7, tag="c")), DAY1)
    assert [r["note_id"] for r in _read(uri, DAY1)] == [f"c-{DAY1}-{i:05d}" for i in range(7)]
    assert len(_read(uri, DAY2)) == 2
    # The slice path (write_deltalake with a predicate) works on files the new path wrote.
    slice_rows = [{**_rows(DAY1, 1)[0], "note_id": "x"}]
    delta_io.replace_partition(uri, _table(slice_rows), DAY1, equals={"note_id": "x"})
    delta_io.replace_partition(uri, _table(slice_rows), DAY1, equals={"note_id": "x"})
    assert len(_read(uri, DAY1)) == 8
    assert delta_io.count_partition(uri, DAY1, equals={"note_id": "x"}) == 1


@hypothesis_settings(max_examples=12, deadline=None)
@given(
    n_rows=st.integers(min_value=0, max_value=300),
    batch_rows=st.integers(min_value=1, max_value=90),
    target=st.sampled_from([1, 4_000, 1 << 30]),
)
def test_streamed_write_round_trips_in_order(
    tmp_path_factory: pytest.TempPathFactory, n_rows: int, batch_rows: int, target: int
) -> None:
    uri = str(tmp_path_factory.mktemp("stream") / "t")
    rows = _rows(DAY1, n_rows)
    batches = _table(rows).to_batches(max_chunksize=batch_rows)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(delta_io, "TARGET_FILE_SIZE", target)
        patch.setattr(delta_io, "ROW_GROUP_ROWS", 64)
        delta_io.replace_partition(uri, delta_io.stream(SCHEMA, iter(batches)), DAY1)
    # Same rows in the same order: a later stage joins tables written from one read order.
    assert _read(uri, DAY1) == _table(rows).to_pylist()
    files = _data_files(uri)
    table = DeltaTable(uri)
    assert sorted(Path(f.removeprefix("file://")).resolve() for f in table.file_uris()) == files
    # Small batches are gathered into full row groups (only the last may be short); a file
    # closes at the target size, so with a tiny target every row group gets its own file.
    groups = [
        metadata.row_group(i).num_rows
        for metadata in (pq.read_metadata(Path(uri, add["path"])) for add in _adds(table))
        for i in range(metadata.num_row_groups)
    ]
    assert sum(groups) == n_rows
    assert all(size == 64 for size in groups[:-1]) and all(0 < size <= 64 for size in groups)
    if target == 1:
        assert len(files) == len(groups)
    if target == 1 << 30:
        assert len(files) == (1 if n_rows else 0)
    # The row counts in the log match the data.
    adds = _adds(table)
    assert sum(add["num_records"] for add in adds) == n_rows
    for add in adds:
        assert add["num_records"] == pq.read_metadata(Path(uri, add["path"])).num_rows


def test_file_stats_never_copy_text_into_the_log(tmp_path: Path) -> None:
    uri = str(tmp_path / "t")
    delta_io.replace_partition(uri, _table(_rows(DAY1, 20)), DAY1)
    log = "".join(p.read_text() for p in sorted(Path(uri, "_delta_log").glob("*.json")))
    assert "Synthetische" not in log and f"a-{DAY1}" not in log
    (stats,) = [
        json.loads(json.loads(line)["add"]["stats"]) for line in log.splitlines() if '"add"' in line
    ]
    assert stats == {"numRecords": 20}


def test_failed_or_refused_writes_commit_nothing_and_leave_no_files(tmp_path: Path) -> None:
    uri = str(tmp_path / "t")
    delta_io.replace_partition(uri, _table(_rows(DAY1, 3)), DAY1)
    version, files, rows = DeltaTable(uri).version(), _data_files(uri), _read(uri, DAY1)

    def failing() -> Iterator[pa.RecordBatch]:
        yield from _table(_rows(DAY1, 50)).to_batches(max_chunksize=10)
        raise RuntimeError("Mevr. Zonnebloem")  # a message that quotes a value

    refused: list[tuple[Any, str]] = [
        (delta_io.stream(SCHEMA, failing()), "RuntimeError"),
        (_table(_rows(DAY2, 2)), "rows outside partition"),
        (_table(_rows(DAY1, 2)).set_column(1, SCHEMA.field(1), pa.array([None, "x"])), "nulls"),
        (_table(_rows(DAY1, 2)).drop_columns(["tags"]), "schema of the data differs"),
    ]
    for data, reason in refused:
        with pytest.raises(delta_io.DeltaWriteError) as error:
            delta_io.replace_partition(uri, data, DAY1)
        assert reason in str(error.value) and error.value.__cause__ is None
        assert "Zonnebloem" not in str(error.value) and f"{DAY2}-0" not in str(error.value)
        assert DeltaTable(uri).version() == version
        assert _data_files(uri) == files
        assert _read(uri, DAY1) == rows
    assert DeltaTable(uri).schema().to_json() == DeltaSchema.from_arrow(SCHEMA).to_json()


def test_slice_replacement_still_goes_through_write_deltalake(tmp_path: Path) -> None:
    uri = str(tmp_path / "q")
    schema = delta_io.QUARANTINE_SCHEMA

    def rows(stage: str, n: int) -> pa.Table:
        return pa.Table.from_pylist(
            [
                {"note_id": f"{stage}{i}", PARTITION_COLUMN: DAY1, "stage": stage, "reason": "x"}
                for i in range(n)
            ],
            schema=schema,
        )

    delta_io.replace_partition(uri, rows("a", 2), DAY1)  # new table by the local path
    delta_io.replace_partition(uri, rows("b", 3), DAY1, equals={"stage": "b"})
    delta_io.replace_partition(uri, rows("b", 1), DAY1, equals={"stage": "b"})
    assert delta_io.count_partition(uri, DAY1, equals={"stage": "a"}) == 2
    assert delta_io.count_partition(uri, DAY1, equals={"stage": "b"}) == 1


@pytest.mark.parametrize("commit_lands", [False, True])
def test_commit_error_removes_files_only_when_the_commit_did_not_land(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, commit_lands: bool
) -> None:
    uri = str(tmp_path / "t")
    delta_io.replace_partition(uri, _table(_rows(DAY1, 3)), DAY1)
    real_commit = DeltaTable.create_write_transaction

    def commit_then_fail(self: DeltaTable, *args: Any, **kwargs: Any) -> None:
        if commit_lands:  # e.g. a post-commit hook failing after the log entry was written
            real_commit(self, *args, **kwargs)
        raise OSError("commit interrupted")

    monkeypatch.setattr(DeltaTable, "create_write_transaction", commit_then_fail)
    new_rows = _rows(DAY1, 4, tag="d")
    with pytest.raises(delta_io.DeltaWriteError, match="OSError"):
        delta_io.replace_partition(uri, _table(new_rows), DAY1)
    expected = new_rows if commit_lands else _rows(DAY1, 3)
    assert _read(uri, DAY1) == _table(expected).to_pylist()  # every listed file still exists
    assert len(_data_files(uri)) == (2 if commit_lands else 1)

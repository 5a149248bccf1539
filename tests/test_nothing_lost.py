"""Nothing lost: every source row is released, quarantined or withheld, or a check fails.

Synthetic notes only (the helpers of test_pipeline). Findings of issue 10: a row with invalid
UTF-8 failed the whole day; a row with a null note_date was read by no partition and reported
nowhere; the same note_id on two days was released twice, unflagged.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import dagster as dg
import pyarrow as pa
from deltalake import write_deltalake
from test_pipeline import DAY1, DAY2, SOURCE_SCHEMA, _note, _rows, defs, env  # noqa: F401

from deid_pipeline.pipeline import delta_io, stages
from deid_pipeline.pipeline.jobs import materialize_partitions


def _with_invalid_utf8(table: pa.Table, row: int) -> pa.Table:
    """``table`` with the text of ``row`` replaced by bytes that are not UTF-8."""
    texts = [value.encode() for value in table.column("text").to_pylist()]
    texts[row] = b"Controle \xff\xfe gepland."
    offsets = [0]
    for text in texts:
        offsets.append(offsets[-1] + len(text))
    array = pa.Array.from_buffers(
        pa.string(),
        len(texts),
        [None, pa.array(offsets, pa.int32()).buffers()[1], pa.py_buffer(b"".join(texts))],
    )
    return table.set_column(table.schema.get_field_index("text"), "text", array)


def test_bad_bytes_null_dates_and_ids_on_two_days_are_counted(
    env: Path,  # noqa: F811
    defs: dg.Definitions,  # noqa: F811
) -> None:
    rows = [_note(i, DAY1) for i in range(3)] + [_note(i, DAY2) for i in range(2)]
    rows.append({**_note(7, DAY1), "note_id": "undated", "note_date": None})
    rows.append({**_note(8, DAY2), "note_id": rows[0]["note_id"]})  # the same id on DAY2
    table = _with_invalid_utf8(pa.Table.from_pylist(rows, schema=SOURCE_SCHEMA), 1)
    write_deltalake(os.environ["DEID_SOURCE_URI"], table, mode="overwrite")

    result = materialize_partitions(defs, [DAY1, DAY2])
    assert result.success  # one bad row does not stop the day
    quarantine = _rows(env, "quarantine", DAY1)
    raw_rejects = [(r["note_id"], r["reason"]) for r in quarantine if r["stage"] == "raw_notes"]
    assert raw_rejects == [(rows[1]["note_id"], "invalid_text")]
    assert all("Controle" not in (r["message"] or "") for r in quarantine)
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    undated = checks["source_rows_have_a_note_date"]
    assert undated.passed is False and undated.metadata["null_note_date"].value == 1
    shared = checks["note_ids_unique_across_partitions"]
    assert shared.passed is False
    assert shared.metadata["note_ids_in_other_partitions"].value == 1
    accounted = checks["rows_accounted_for"]
    assert accounted.passed is True
    per_partition = accounted.metadata["per_partition"].value
    assert per_partition[DAY1]["source_rows"] == 3
    assert per_partition[DAY1]["released_rows"] + per_partition[DAY1]["withheld_rows"] == 2
    assert per_partition[DAY2]["source_rows"] == 3
    materialization = [
        m
        for m in result.get_asset_materialization_events()
        if m.asset_key == dg.AssetKey("deidentified_notes")
    ]
    assert all(m.materialization.metadata["rows_accounted"].value for m in materialization)


def test_unparseable_text_dates_are_counted(tmp_path: Path) -> None:
    schema = SOURCE_SCHEMA.set(2, pa.field("note_date", pa.string()))
    rows = [
        {**_note(0, DAY1), "note_date": "05-01-2026"},
        {**_note(1, DAY1), "note_id": "x1", "note_date": "gisteren"},
        {**_note(2, DAY1), "note_id": "x2", "note_date": "31-02-2026"},
        {**_note(3, DAY1), "note_id": "x3", "note_date": None},
        {**_note(3, DAY1), "note_id": "x4", "note_date": ""},
    ]
    uri = str(tmp_path / "source")
    write_deltalake(uri, pa.Table.from_pylist(rows, schema=schema), mode="overwrite")
    assert delta_io.undated_source_rows(uri) == {"null_note_date": 2, "unparseable_note_date": 2}


def test_decoded_records_reject_only_the_bad_row() -> None:
    rows = [{**_note(i, DAY1), "note_date": dt.date(2026, 1, 5)} for i in range(3)]
    table = _with_invalid_utf8(pa.Table.from_pylist(rows, schema=SOURCE_SCHEMA), 2)
    (batch,) = table.to_batches()
    records = stages.decoded_records(batch)
    assert [type(r).__name__ for r in records] == ["dict", "dict", "Rejection"]
    assert records[2].note_id == rows[2]["note_id"]  # type: ignore[union-attr]
    assert "text" in records[2].message  # type: ignore[union-attr]


def test_a_quarantine_slice_of_another_run_is_flagged(env: Path) -> None:  # noqa: F811
    from deid_pipeline.notes import Rejection, RejectReason
    from deid_pipeline.settings import PipelineSettings

    rows = [_note(i, DAY1) for i in range(2)] + [{**_note(5, DAY1), "note_id": "e", "text": " "}]
    write_deltalake(os.environ["DEID_SOURCE_URI"], pa.Table.from_pylist(rows, schema=SOURCE_SCHEMA))
    settings = PipelineSettings()
    stages.run_raw_notes(settings, DAY1, "run-1")
    assert stages.partition_accounting(settings, DAY1)["quarantine_of_another_run"] == []
    # A crash between the two commits of a stage: the slice describes another run.
    delta_io.replace_quarantine(
        settings.storage_root,
        [Rejection(RejectReason.EMPTY_TEXT, "empty", "e")],
        partition_date=DAY1,
        stage="raw_notes",
        run_id="run-0",
    )
    account = stages.partition_accounting(settings, DAY1)
    assert account["quarantine_of_another_run"] == ["raw_notes"]
    assert account["rows_accounted"] is False

"""Delta Lake I/O for the pipeline: partition-atomic replacement, batched reads, quarantine.

Every table of the project is partitioned by a ``partition_date`` string column (``YYYY-MM-DD``,
the Dagster partition key). A stage replaces exactly its own partition in one Delta commit
(an ``overwrite`` of that partition), so a re-run leaves the same rows, never duplicates, and
readers never see a half-written partition: either the old commit or the new one.

Writes take a stream of record batches (``pyarrow.RecordBatchReader``), so a stage can produce
its output batch by batch without holding a partition in memory; the commit only happens after
the last batch was written. On a local table the files are written by pyarrow's Parquet writer
(memory: one row group) and committed with deltalake's transaction API; see
:func:`replace_partition` for why, and for the ``write_deltalake`` fallback. Rows are written in
the order they are given, and reads go file by file in Delta's file order (the commit's), so a
later stage reads them back in that order; joins do not rely on it for correctness, only for
memory (:class:`KeyedBuffer`).

Reads (:func:`read_partition`, :func:`source_batches`) go one Parquet file and one batch at a
time (:func:`_scan`), and :func:`bound_heap` keeps the allocators from holding on to freed
batches, so neither side of a stage grows with the partition.

Error messages of deltalake can quote row values (e.g. "Preview of invalid data"); this module
therefore replaces every deltalake error by one that carries the table name, partition and the
error class only.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import functools
import json
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq
from deltalake import DeltaTable, WriterProperties, write_deltalake
from deltalake import Schema as DeltaSchema
from deltalake.exceptions import TableNotFoundError
from deltalake.transaction import AddAction, create_table_with_add_actions

from deid_pipeline.notes import Rejection, parse_record_date

PARTITION_COLUMN = "partition_date"

#: Schema of the quarantine table. It never holds note text, only ids, codes and figures.
QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("note_id", pa.string()),
        pa.field(PARTITION_COLUMN, pa.string(), nullable=False),
        pa.field("stage", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("message", pa.string()),
        pa.field("run_id", pa.string()),
        pa.field("recorded_at", pa.timestamp("us", tz="UTC")),
    ]
)

QUARANTINE_TABLE = "quarantine"

#: Parquet file size a partition write aims for: a file is closed once it is this large. It
#: bounds the work a reader does per file, not the writer's memory (one row group either way).
TARGET_FILE_SIZE = 32 * 1024 * 1024

#: Rows per Parquet row group of every table the pipeline writes. Both sides of a stage's
#: memory depend on it, not on the partition size: the writer holds the open row group's
#: columns until the group is full (deltalake's default is about a million rows, i.e. a whole
#: partition), and a reader decodes a whole row group before it hands out the first batch.
ROW_GROUP_ROWS = 1024

#: Allocations of at least this size get their own memory mapping (see :func:`bound_heap`).
MMAP_THRESHOLD = 1024 * 1024
_M_MMAP_THRESHOLD = -3  # mallopt parameter number in glibc's malloc.h


@functools.cache
def bound_heap() -> bool:
    """Make freed memory of a stage go back to the system; once per process, idempotent.

    Two allocator settings, both process-wide, because a stage's streamed batches are freed
    and allocated again thousands of times and a retaining allocator turns that into growth:

    * Arrow's default memory pool becomes the system allocator: pyarrow's default (mimalloc)
      keeps freed pages of its per-thread heaps;
    * glibc's mmap threshold is fixed at :data:`MMAP_THRESHOLD`. glibc raises it each time a
      large mapped block is freed (up to 32 MiB); after that, buffers of a few MiB (a decoded
      row group, a batch of note texts) come from the heap, where freed blocks fragment and
      stay. A fixed threshold turns that adjustment off.

    The measurements behind both are in docs/decisions.md ("Stage memory").

    Called by every read and write of this module. Returns whether glibc took the setting
    (False off Linux/glibc, where only the Arrow pool is changed).
    """
    pa.set_memory_pool(pa.system_memory_pool())
    if not sys.platform.startswith("linux"):
        return False
    try:
        return bool(ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    except (OSError, AttributeError):
        return False


class DeltaWriteError(RuntimeError):
    """A Delta write failed. The message names the table and partition only, never row values."""


def table_uri(storage_root: str, name: str) -> str:
    """URI of the table ``name`` under the storage root (local path or any deltalake URI)."""
    return f"{storage_root.rstrip('/')}/{name}"


def is_local(uri: str) -> bool:
    """True when ``uri`` is a local path (plain path or ``file://``)."""
    scheme = urlparse(uri).scheme
    # A Windows drive letter parses as a one-letter scheme; treat it as local too.
    return scheme in ("", "file") or len(scheme) == 1


def local_path(uri: str) -> Path:
    """Local filesystem path of a local ``uri``."""
    parsed = urlparse(uri)
    return Path(parsed.path) if parsed.scheme == "file" else Path(uri)


def _quote(value: str) -> str:
    # Partition keys and stage names are code-controlled, but quote defensively anyway.
    return "'" + value.replace("'", "''") + "'"


def partition_predicate(partition_date: str, **equals: str) -> str:
    """SQL predicate selecting one partition (and optionally equal values of other columns)."""
    dt.date.fromisoformat(partition_date)  # refuses anything that is not a date key
    parts = [f"{PARTITION_COLUMN} = {_quote(partition_date)}"]
    parts.extend(f"{column} = {_quote(value)}" for column, value in sorted(equals.items()))
    return " AND ".join(parts)


def open_table(uri: str, storage_options: dict[str, str] | None = None) -> DeltaTable | None:
    """The Delta table at ``uri``, or None when no table exists there yet."""
    try:
        return DeltaTable(uri, storage_options=storage_options)
    except TableNotFoundError:
        return None


class _RefusedWrite(ValueError):
    """A write refused by this module; its message is fixed text (names, never row values)."""


def replace_partition(
    uri: str,
    data: pa.Table | pa.RecordBatchReader,
    partition_date: str,
    *,
    equals: dict[str, str] | None = None,
    storage_options: dict[str, str] | None = None,
) -> int:
    """Atomically replace the rows of one partition (and ``equals`` slice) with ``data``.

    Every row of ``data`` must belong to the replaced slice; the write is refused otherwise.
    An empty ``data`` deletes the slice. Returns the new table version.

    Two write paths keep this one contract (one commit, nothing visible before it, errors
    without row values):

    * a whole partition of a local table (every stage output): Parquet files written by
      pyarrow into the partition folder, then one ``overwrite`` commit of that partition with
      deltalake's transaction API. Memory stays at one row group whatever the partition size;
      ``write_deltalake``'s grew with the bytes written (docs/decisions.md, "Stage memory");
    * a slice (``equals``, the small quarantine table) or a non-local URI (object storage,
      where pyarrow would need its own credentials): ``write_deltalake`` with a predicate.
    """
    bound_heap()
    predicate = partition_predicate(partition_date, **(equals or {}))
    name = uri.rstrip("/").rsplit("/", 1)[-1]
    try:
        if equals or not is_local(uri):
            write_deltalake(
                uri,
                data,
                mode="overwrite",
                predicate=predicate,
                partition_by=[PARTITION_COLUMN],
                storage_options=storage_options,
                target_file_size=TARGET_FILE_SIZE,
                writer_properties=WriterProperties(max_row_group_size=ROW_GROUP_ROWS),
            )
        else:
            _replace_local_partition(uri, data, partition_date, storage_options)
        return DeltaTable(uri, storage_options=storage_options).version()
    except Exception as error:
        # Only this module's own refusals are known to carry no values: say what they were.
        reason = f": {error}" if isinstance(error, _RefusedWrite) else ""
        message = (
            f"write of table {name!r} partition {partition_date} failed "
            f"({type(error).__name__}){reason}"
        )
    # Raised outside the except block, without chaining: the original message may quote rows.
    raise DeltaWriteError(message)


def _replace_local_partition(
    uri: str,
    data: pa.Table | pa.RecordBatchReader,
    partition_date: str,
    storage_options: dict[str, str] | None,
) -> None:
    """Write ``data`` as Parquet files of one partition folder and commit them in one overwrite.

    Files are written into a staging folder (``_staging/<partition folder>/<uuid>/`` of the
    table) and moved into the partition folder (a rename) only when every file is complete,
    right before the commit; on failure they are removed again. A ``kill -9`` while streaming
    leaves files in the staging folder only, never a footerless file in the live partition
    folder; what a crash leaves (staging leftovers, or moved files whose commit never happened)
    is removed at the start of the next write of the partition
    (:func:`remove_uncommitted_files`; one run per partition at a time, see dagster.yaml).
    """
    reader = (
        data
        if isinstance(data, pa.RecordBatchReader)
        else data.to_reader(max_chunksize=ROW_GROUP_ROWS)
    )
    schema = reader.schema
    if PARTITION_COLUMN not in schema.names:
        raise _RefusedWrite(f"data has no {PARTITION_COLUMN} column")
    delta_schema = DeltaSchema.from_arrow(schema)
    table = open_table(uri, storage_options)
    if table is not None:
        _check_table(table, delta_schema)
    folder_name = f"{PARTITION_COLUMN}={partition_date}"
    folder = local_path(uri) / folder_name
    remove_uncommitted_files(uri, partition_date, storage_options)
    staging = local_path(uri) / STAGING_DIR / folder_name / uuid.uuid4().hex
    staged: list[Path] = []
    written: list[Path] = []
    committing = False
    try:
        complete = list(_write_files(reader, partition_date, staging, staged))
        for path in complete:
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / path.name
            os.replace(path, target)
            written.append(target)
        actions = [
            AddAction(
                # No percent-encoding: the key is a checked date, the name hex; deltalake reads
                # the path as written (an encoded "=" is not decoded).
                path=f"{folder_name}/{path.name}",
                size=path.stat().st_size,
                partition_values={PARTITION_COLUMN: partition_date},
                modification_time=int(path.stat().st_mtime * 1000),
                data_change=True,
                stats=file_stats(pq.read_metadata(path)),
            )
            for path in written
        ]
        committing = True
        if table is None:
            try:
                create_table_with_add_actions(
                    uri,
                    delta_schema,
                    actions,
                    mode="error",
                    partition_by=[PARTITION_COLUMN],
                    storage_options=storage_options,
                )
                return
            except Exception:
                # Another writer may have created the table meanwhile: commit onto it.
                table = open_table(uri, storage_options)
                if table is None:
                    raise
                _check_table(table, delta_schema)
        table.create_write_transaction(
            actions,
            mode="overwrite",
            schema=delta_schema,
            partition_by=[PARTITION_COLUMN],
            partition_filters=[(PARTITION_COLUMN, "=", partition_date)],
        )
    except BaseException:
        if not committing or not _referenced(uri, partition_date, written, storage_options):
            for path in written:
                path.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


#: Folder of a table in which a local partition write stages its files before the commit.
STAGING_DIR = "_staging"


def remove_uncommitted_files(
    uri: str, partition_date: str, storage_options: dict[str, str] | None = None
) -> list[str]:
    """Remove what a crashed write of one partition left: its staging folder, and Parquet
    files in the live partition folder that no commit in the table's log names.

    A file any commit names (the current version or an older one, for time travel) is kept;
    ``DeltaTable.vacuum`` handles those. Call only while no other write of the partition runs.
    Returns the names removed (file names only).
    """
    root = local_path(uri)
    folder_name = f"{PARTITION_COLUMN}={partition_date}"
    removed: list[str] = []
    staging = root / STAGING_DIR / folder_name
    if staging.exists():
        removed.extend(path.name for path in staging.rglob("*.parquet"))
        shutil.rmtree(staging, ignore_errors=True)
    folder = root / folder_name
    candidates = sorted(folder.glob("*.parquet")) if folder.exists() else []
    if not candidates:
        return removed
    log = root / "_delta_log"
    named = "".join(entry.read_text(errors="replace") for entry in sorted(log.glob("*.json")))
    table = open_table(uri, storage_options)
    live: set[str] = set()
    if table is not None:
        live = {found.rstrip("/").rsplit("/", 1)[-1] for found in table.file_uris()}
    for path in candidates:
        if path.name not in live and path.name not in named:
            path.unlink(missing_ok=True)
            removed.append(path.name)
    return removed


def _check_table(table: DeltaTable, delta_schema: DeltaSchema) -> None:
    """Refuse data that does not fit the table: a commit would silently change its schema."""
    if table.schema().to_json() != delta_schema.to_json():
        raise _RefusedWrite("schema of the data differs from the table's schema")
    if list(table.metadata().partition_columns) != [PARTITION_COLUMN]:
        raise _RefusedWrite(f"table is not partitioned by {PARTITION_COLUMN} alone")


def _referenced(
    uri: str, partition_date: str, paths: list[Path], storage_options: dict[str, str] | None
) -> bool:
    """Whether a commit that raised still made it into the log (e.g. a post-commit hook failed)."""
    try:
        table = DeltaTable(uri, storage_options=storage_options)
        uris = table.file_uris(file_pruning_predicate=partition_predicate(partition_date))
        live = {found.rstrip("/").rsplit("/", 1)[-1] for found in uris}
    except Exception:
        return True  # unknown: leave the files; vacuum removes them if unreferenced
    return any(path.name in live for path in paths)


def _row_groups(reader: pa.RecordBatchReader, partition_date: str) -> Iterator[pa.Table]:
    """The checked rows of ``reader`` without the partition column, in groups of row-group size.

    Every row must belong to ``partition_date`` and fill the non-nullable columns. Small
    batches (the spans stage writes one per shard, a few notes each) are gathered into groups
    of :data:`ROW_GROUP_ROWS` rows (the last group may be shorter): a Parquet writer keeps the
    metadata of every row group until the file is closed and a reader decodes the whole footer,
    so one row group per batch made both grow with the partition (docs/decisions.md). Holds
    at most one group plus one batch.
    """
    schema = reader.schema
    file_schema = schema.remove(schema.get_field_index(PARTITION_COLUMN))
    required = [field.name for field in schema if not field.nullable]
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in reader:
        if batch.num_rows == 0:
            continue
        key = batch.column(PARTITION_COLUMN)
        if key.null_count or not pc.all(pc.equal(key, partition_date)).as_py():
            raise _RefusedWrite(f"rows outside partition {partition_date}")
        for column in required:
            if batch.column(column).null_count:
                raise _RefusedWrite(f"nulls in non-nullable column {column!r}")
        pending.append(batch.drop_columns([PARTITION_COLUMN]))
        rows += batch.num_rows
        while rows >= ROW_GROUP_ROWS:
            table = pa.Table.from_batches(pending, schema=file_schema)
            yield table.slice(0, ROW_GROUP_ROWS)
            rest = table.slice(ROW_GROUP_ROWS)
            pending, rows = rest.to_batches(), rest.num_rows
    if rows:
        yield pa.Table.from_batches(pending, schema=file_schema)


def _write_files(
    reader: pa.RecordBatchReader, partition_date: str, folder: Path, written: list[Path]
) -> Iterator[Path]:
    """Write the rows of ``reader`` into new Parquet files; yield each file once closed.

    The partition column is left out of the files, as Delta keeps partition values in the log.
    Row groups have :data:`ROW_GROUP_ROWS` rows (see :func:`_row_groups`) and are flushed as
    they fill, so the writer holds at most one; a file is closed once it reaches
    :data:`TARGET_FILE_SIZE`.
    """
    schema = reader.schema
    file_schema = schema.remove(schema.get_field_index(PARTITION_COLUMN))
    sink: pa.NativeFile | None = None
    writer: pq.ParquetWriter | None = None
    try:
        for group in _row_groups(reader, partition_date):
            if writer is None or sink is None:
                path = folder / f"part-{uuid.uuid4().hex}.snappy.parquet"
                folder.mkdir(parents=True, exist_ok=True)
                written.append(path)
                sink = pa.OSFile(str(path), "wb")
                writer = pq.ParquetWriter(sink, file_schema, compression="snappy")
            writer.write_table(group, row_group_size=ROW_GROUP_ROWS)
            if sink.tell() >= TARGET_FILE_SIZE:
                writer.close()
                sink.close()
                writer = sink = None
                yield written[-1]
        if writer is not None and sink is not None:
            writer.close()
            sink.close()
            writer = sink = None
            yield written[-1]
    finally:
        # A failed write leaves its file open otherwise (the caller removes the files).
        if sink is not None:
            sink.close()


def file_stats(metadata: pq.FileMetaData) -> str:
    """Delta ``stats`` JSON of a Parquet file: its row count only.

    Column stats are optional in Delta and only serve data skipping, which no stage needs (every
    read selects a partition). They are left out on purpose: with null counts but no min/max of
    a string column, deltalake 1.6's predicate overwrite (the ``equals`` path) dropped rows
    outside the slice in a test here, and min/max of text columns would copy note text into the
    transaction log.
    """
    return json.dumps({"numRecords": metadata.num_rows})


def stream(schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> pa.RecordBatchReader:
    """Wrap a generator of record batches as a reader that deltalake consumes lazily."""
    return pa.RecordBatchReader.from_batches(schema, batches)


def read_partition(
    uri: str,
    partition_date: str,
    *,
    columns: Sequence[str] | None = None,
    batch_rows: int = 1024,
    storage_options: dict[str, str] | None = None,
) -> Iterator[pa.RecordBatch]:
    """Stream the rows of one partition in record batches (nothing when the table is absent).

    The table is opened now, not on the first batch: a stream handed to ``write_deltalake``
    is consumed inside deltalake's async runtime, where opening a table would panic.
    """
    bound_heap()
    table = open_table(uri, storage_options)
    if table is None:
        return iter(())
    return _scan(
        table.to_pyarrow_dataset(),
        pads.field(PARTITION_COLUMN) == partition_date,
        columns=columns,
        filter_columns=(),
        batch_rows=batch_rows,
    )


def _scan(
    dataset: pads.FileSystemDataset,
    expression: pads.Expression,
    *,
    columns: Sequence[str] | None,
    filter_columns: Sequence[str],
    batch_rows: int,
) -> Iterator[pa.RecordBatch]:
    """Rows of ``dataset`` matching ``expression``: one file, one batch at a time, in order.

    pyarrow's dataset scanner decodes ahead of a slow consumer whatever its readahead options
    say (docs/decisions.md), so its memory grew with the file, up to TARGET_FILE_SIZE, and
    further for sources written with larger files. Here each file is read synchronously with
    ``ParquetFile.iter_batches``, without pre-buffering (which keeps every byte range fetched
    from a file until the file is done). The files are the dataset's own fragments (Delta's
    file list, pruned by partition values and statistics), opened through its filesystem, so
    any URI deltalake accepts works; partition columns come from the fragment, columns a file
    lacks are null, and types are cast to the table's. ``expression`` is applied to each batch
    only when it involves data columns (``filter_columns``); a partition filter is settled by
    the file pruning.
    """
    schema = dataset.schema
    names = list(columns) if columns is not None else list(schema.names)
    full = pa.schema([schema.field(name) for name in dict.fromkeys([*names, *filter_columns])])
    fragments = list(dataset.get_fragments(filter=expression))

    def column(batch: pa.RecordBatch, field: pa.Field, keys: dict[str, Any]) -> pa.Array:
        if field.name in batch.schema.names:
            return batch.column(field.name).cast(field.type)
        if field.name in keys:
            return pa.repeat(pa.scalar(keys[field.name], field.type), batch.num_rows)
        return pa.nulls(batch.num_rows, field.type)

    def batches() -> Iterator[pa.RecordBatch]:
        for fragment in fragments:
            keys = pads.get_partition_keys(fragment.partition_expression)
            with dataset.filesystem.open_input_file(fragment.path) as handle:
                parquet = pq.ParquetFile(handle, pre_buffer=False)
                present = set(parquet.schema_arrow.names)
                wanted = [field.name for field in full if field.name in present]
                for batch in parquet.iter_batches(batch_size=batch_rows, columns=wanted):
                    arrays = [column(batch, field, keys) for field in full]
                    out = pa.RecordBatch.from_arrays(arrays, schema=full)
                    if filter_columns:
                        out = out.filter(expression)
                    if out.num_rows:
                        yield out.select(names)

    return batches()


def iter_rows(batches: Iterable[pa.RecordBatch]) -> Iterator[dict[str, Any]]:
    """Rows of a batch stream as dicts, one batch in memory at a time."""
    for batch in batches:
        yield from batch.to_pylist()


def count_partition(
    uri: str,
    partition_date: str,
    *,
    equals: dict[str, str] | None = None,
    storage_options: dict[str, str] | None = None,
) -> int:
    """Number of rows of one partition (0 when the table does not exist)."""
    table = open_table(uri, storage_options)
    if table is None:
        return 0
    expression = pads.field(PARTITION_COLUMN) == partition_date
    for column, value in (equals or {}).items():
        expression = expression & (pads.field(column) == value)
    return table.to_pyarrow_dataset().count_rows(filter=expression)


def table_columns(uri: str, storage_options: dict[str, str] | None = None) -> list[str] | None:
    """Column names of the table at ``uri``, or None when there is no table."""
    table = open_table(uri, storage_options)
    return None if table is None else list(table.schema().to_arrow().names)


def source_batches(
    uri: str,
    day: dt.date,
    *,
    columns: Sequence[str] | None = None,
    batch_rows: int = 1024,
    storage_options: dict[str, str] | None = None,
) -> Iterator[pa.RecordBatch]:
    """Stream the source notes of one day (``note_date == day``) in record batches.

    Opens the table eagerly, like :func:`read_partition`. Memory follows the source's Parquet
    row groups (a reader decodes a whole group's column chunks at a time), which its producer
    chooses: a source written with row groups of a whole day makes this read grow with the day.
    """
    bound_heap()
    table = open_table(uri, storage_options)
    if table is None:
        raise FileNotFoundError("source notes table not found at the configured DEID_SOURCE_URI")
    dataset = table.to_pyarrow_dataset()
    note_date_type = dataset.schema.field("note_date").type
    if pa.types.is_string(note_date_type) or pa.types.is_large_string(note_date_type):
        # Dates written as text: the ISO form and the day-first forms validation accepts.
        forms = {day.isoformat()}
        for sep in "-/.":
            for d in {f"{day.day:02d}", str(day.day)}:
                for m in {f"{day.month:02d}", str(day.month)}:
                    forms.add(f"{d}{sep}{m}{sep}{day.year}")
        expression = pads.field("note_date").isin(sorted(forms))
    else:
        expression = pads.field("note_date") == pads.scalar(day)
    return _scan(
        dataset,
        expression,
        columns=columns,
        filter_columns=("note_date",),
        batch_rows=batch_rows,
    )


def undated_source_rows(uri: str, storage_options: dict[str, str] | None = None) -> dict[str, int]:
    """Source rows no daily partition reads: ``note_date`` null, or text no date form parses.

    Only the ``note_date`` column is read. Counts only, never values.
    """
    table = open_table(uri, storage_options)
    if table is None:
        return {"null_note_date": 0, "unparseable_note_date": 0}
    column = table.to_pyarrow_dataset().to_table(columns=["note_date"]).column("note_date")
    nulls = column.null_count
    unparseable = 0
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        counts = pc.value_counts(column.drop_null())
        for entry in counts.to_pylist():
            value = entry["values"]
            try:
                parsed = parse_record_date(value)
            except ValueError:
                parsed = None
            if parsed is None and value is not None and value.strip():
                unparseable += entry["counts"]
            elif parsed is None:
                nulls += entry["counts"]  # "" reads as no date
    return {"null_note_date": nulls, "unparseable_note_date": unparseable}


def note_ids_in_other_partitions(
    uri: str, partition_date: str, storage_options: dict[str, str] | None = None
) -> list[str]:
    """Note ids of one partition of a table that also appear in another of its partitions."""
    table = open_table(uri, storage_options)
    if table is None:
        return []
    rows = table.to_pyarrow_dataset().to_table(columns=["note_id", PARTITION_COLUMN])
    here = pc.equal(rows.column(PARTITION_COLUMN), partition_date)
    mine = set(rows.filter(here).column("note_id").to_pylist())
    others = set(rows.filter(pc.invert(here)).column("note_id").to_pylist())
    return sorted(mine & others)


def quarantine_rows(
    rejections: Iterable[Rejection],
    *,
    partition_date: str,
    stage: str,
    run_id: str,
    recorded_at: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Quarantine rows for rejections; messages are figures only by the notes.py contract."""
    when = recorded_at or dt.datetime.now(dt.UTC)
    return [
        {
            "note_id": rejection.note_id,
            PARTITION_COLUMN: partition_date,
            "stage": stage,
            "reason": rejection.reason.value,
            "message": rejection.message,
            "run_id": run_id,
            "recorded_at": when,
        }
        for rejection in rejections
    ]


def replace_quarantine(
    storage_root: str,
    rejections: Iterable[Rejection],
    *,
    partition_date: str,
    stage: str,
    run_id: str,
    storage_options: dict[str, str] | None = None,
) -> int:
    """Replace the quarantine slice (partition, stage) with ``rejections``; returns the count."""
    rows = quarantine_rows(rejections, partition_date=partition_date, stage=stage, run_id=run_id)
    table = pa.Table.from_pylist(rows, schema=QUARANTINE_SCHEMA)
    replace_partition(
        table_uri(storage_root, QUARANTINE_TABLE),
        table,
        partition_date,
        equals={"stage": stage},
        storage_options=storage_options,
    )
    return table.num_rows


def files_dir(storage_root: str, asset: str, partition_date: str) -> Path:
    """Local folder holding the files (shards, logits) of one asset partition."""
    if not is_local(storage_root):
        # Shard and logits files are written with local file APIs; on object storage the
        # storage root must be mounted (e.g. a shared volume in the GPU pod) as a local path.
        raise ValueError("shard and logits files need a local (or mounted) DEID_STORAGE_ROOT")
    return local_path(storage_root) / "files" / asset / partition_date


def run_folder(storage_root: str, asset: str, partition_date: str, run_id: str) -> Path:
    """A fresh run-specific folder for the files of one asset partition."""
    folder = files_dir(storage_root, asset, partition_date) / f"run-{run_id}"
    if folder.exists():
        # Same run retried (e.g. a step retry): start clean, nothing references it yet.
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


#: A run folder no committed index version references is left alone this long: its run may
#: still be writing (a second run of the partition); older ones are abandoned by a crash.
ABANDONED_RUN_SECONDS = 24 * 3600
#: How many earlier versions of an index table are read to find superseded run folders.
INDEX_HISTORY_VERSIONS = 20


def _index_run_folders(table: DeltaTable, partition_date: str, parent: Path) -> set[str]:
    """Names of the run folders under ``parent`` that one version of an index table names."""
    rows = table.to_pyarrow_dataset().to_table(
        columns=["path"], filter=pads.field(PARTITION_COLUMN) == partition_date
    )
    folders: set[str] = set()
    for path in rows.column("path").to_pylist():
        try:
            folders.add(Path(path).relative_to(parent).parts[0])
        except (TypeError, ValueError, IndexError):
            continue
    return folders


def committed_run_folders(
    storage_root: str, asset: str, partition_date: str
) -> tuple[set[str], set[str]]:
    """``(current, earlier)``: run folders of a partition named by the index table's current
    version and by any of its last :data:`INDEX_HISTORY_VERSIONS` earlier versions."""
    uri = table_uri(storage_root, asset)
    parent = files_dir(storage_root, asset, partition_date)
    table = open_table(uri)
    if table is None:
        return set(), set()
    current = _index_run_folders(table, partition_date, parent)
    earlier: set[str] = set()
    latest = table.version()
    for version in range(max(0, latest - INDEX_HISTORY_VERSIONS), latest):
        try:
            earlier |= _index_run_folders(DeltaTable(uri, version=version), partition_date, parent)
        except Exception:  # a version whose log was cleaned up: nothing to learn from it
            continue
    return current, earlier - current


def remove_stale_runs(
    storage_root: str,
    asset: str,
    partition_date: str,
    keep: Path,
    *,
    abandoned_after_s: float = ABANDONED_RUN_SECONDS,
) -> list[str]:
    """Remove the run folders of a partition that no run needs any more; call after the index
    commit. Removed: folders an earlier committed version of the index named and the current
    one does not (superseded), and folders no version names that are older than
    ``abandoned_after_s`` (a crashed run). Kept: ``keep``, the folders the current version
    names, and young unreferenced folders: another run of the partition may still be writing
    them (two runs of one partition both reported success while the index named deleted
    files, issue 10)."""
    parent = files_dir(storage_root, asset, partition_date)
    removed: list[str] = []
    if not parent.exists():
        return removed
    current, superseded = committed_run_folders(storage_root, asset, partition_date)
    now = time.time()
    for child in sorted(parent.iterdir()):
        if not child.is_dir() or child.resolve() == keep.resolve() or child.name in current:
            continue
        abandoned = now - child.stat().st_mtime > abandoned_after_s
        if child.name in superseded or abandoned:
            shutil.rmtree(child, ignore_errors=True)
            removed.append(child.name)
    return removed


class KeyedBuffer:
    """A lookup that pulls rows from a stream until the wanted key appears.

    Rows met before they are wanted are kept until asked for, so a join with it is correct for
    any order; its memory is the distance between the two orders. Local partition writes keep
    the row order (:func:`replace_partition`), so two tables written from the same read order
    join with next to nothing waiting; ``write_deltalake`` (the fallback for object storage)
    reorders batches (one writer stream per CPU), so put the lighter table in the buffer. Fed record
    batches (:meth:`from_batches`), a waiting row costs a reference into its Arrow batch, not
    a Python dict, until it is taken.
    """

    def __init__(
        self, entries: Iterable[tuple[str, Any]], to_row: Callable[[Any], dict[str, Any]]
    ) -> None:
        """A buffer over ``(key, item)`` pairs; ``to_row`` turns an item into the row handed out."""
        self._iterator: Iterator[tuple[str, Any]] = iter(entries)
        self._to_row = to_row
        self._pending: dict[str, Any] = {}
        #: Most rows ever waiting at once: the join's memory figure.
        self.max_pending = 0

    @classmethod
    def from_rows(cls, rows: Iterable[dict[str, Any]], key: str) -> KeyedBuffer:
        """A buffer over row dicts, keyed by their ``key`` column."""
        return cls(((row[key], row) for row in rows), lambda row: row)

    @classmethod
    def from_batches(cls, batches: Iterable[pa.RecordBatch], key: str) -> KeyedBuffer:
        """A buffer over the rows of record batches, converted to dicts only when taken."""

        def refs() -> Iterator[tuple[str, tuple[pa.RecordBatch, int]]]:
            for batch in batches:
                for index, value in enumerate(batch.column(key).to_pylist()):
                    yield value, (batch, index)

        return cls(refs(), lambda ref: ref[0].slice(ref[1], 1).to_pylist()[0])

    def __call__(self, wanted: str) -> dict[str, Any] | None:
        """The row with key ``wanted``, or None when the stream has none (left or right)."""
        if wanted in self._pending:
            return self._to_row(self._pending.pop(wanted))
        for row_key, row in self._iterator:
            if row_key == wanted:
                return self._to_row(row)
            self._pending[row_key] = row
            self.max_pending = max(self.max_pending, len(self._pending))
        return None

    def rest(self) -> Iterator[str]:
        """Keys of the rows never taken: those waiting, then the rest of the stream."""
        yield from list(self._pending)
        for row_key, _row in self._iterator:
            yield row_key

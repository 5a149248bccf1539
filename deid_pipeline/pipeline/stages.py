"""The work of each pipeline stage for one partition: core calls between a read and a write.

Each ``run_*`` function reads its inputs from the storage root, calls the core API
(:mod:`deid_pipeline.core`: prepare -> detect -> release), writes its outputs (one Delta
partition replaced atomically, files in a fresh run folder) and returns
:class:`StageFigures` (counts and timings only, no text). The Dagster assets in
:mod:`deid_pipeline.pipeline.assets` call these functions once per partition, which also lets
the memory benchmark run a stage directly.

Memory: every stage streams. Tables are read in record batches, shards are built and written
one read batch of notes at a time, and outputs go to Delta as a stream of record batches
committed once at the end. Joins of two tables of one partition (raw notes with spans) use a
:class:`~deid_pipeline.pipeline.delta_io.KeyedBuffer`; every stage writes in raw_notes read
order, so a join holds about one read batch (see :mod:`deid_pipeline.pipeline.delta_io`).

PHI: errors raised here carry ids, offsets and counts. A per-note failure in a core function
is re-raised as :class:`StageError` naming the note id and the error class only, because a
third-party message might quote text.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import resource
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.dataset as pads

from deid_pipeline import __version__ as PIPELINE_VERSION
from deid_pipeline.core import (
    ModelMismatchError,
    RecordValidator,
    Released,
    WindowGeometry,
    detect_in_shard,
    prepare,
    release,
)
from deid_pipeline.notes import Note, Rejection, RejectReason
from deid_pipeline.pipeline import delta_io
from deid_pipeline.pipeline.delta_io import PARTITION_COLUMN, replace_partition, table_uri
from deid_pipeline.pipeline.tables import (
    DEID_SCHEMA,
    DEIDENTIFIED_NOTES,
    LOGITS,
    LOGITS_SCHEMA,
    NOTE_COLUMNS,
    RAW_NOTES,
    RAW_SCHEMA,
    REQUEST_SHARDS,
    SHARDS_SCHEMA,
    SOURCE_COLUMNS,
    SPANS,
    SPANS_SCHEMA,
    missing_source_columns_message,
    note_from_row,
    span_records,
    spans_from_row,
    to_json,
)
from deid_pipeline.settings import PipelineSettings

T = TypeVar("T")


class StageError(RuntimeError):
    """A stage failed. The message carries ids, counts and error classes, never text."""


@dataclass(slots=True)
class StageFigures:
    """Figures of one stage run over one partition (safe for metadata and logs)."""

    rows: int = 0
    characters: int = 0
    windows: int = 0
    shards: int = 0
    quarantined: int = 0
    withheld: int = 0
    elapsed_seconds: float = 0.0
    entity_counts: Counter[str] = field(default_factory=Counter)
    extra: dict[str, Any] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        """Plain metadata values for a partition's materialization."""
        elapsed = self.elapsed_seconds or 1e-9
        return {
            "rows": self.rows,
            "characters": self.characters,
            "windows": self.windows,
            "shards": self.shards,
            "quarantined": self.quarantined,
            "withheld": self.withheld,
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "docs_per_second": round(self.rows / elapsed, 2),
            "windows_per_second": round(self.windows / elapsed, 2),
            "entity_counts": dict(sorted(self.entity_counts.items())),
            **self.extra,
        }


def peak_rss_mib(children: bool = False) -> float:
    """Peak resident memory of this process (or of its largest waited-for child) in MiB.

    Under Dagster's default multiprocess executor every step runs in its own process, so at the
    end of a step this is the step's peak, the figure to size a pod or VM by; run in-process
    (``execute_in_process``, tests) it is the peak of the whole run so far. ``children=True``
    gives the largest child process that has exited, e.g. the local inference worker (a child
    counts from its fork, so the figure is at least this process's size when it started it).
    """
    usage = resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF)
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return round(usage.ru_maxrss / scale, 1)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _safe(note_id: str | None, stage: str, action: Callable[[], T]) -> T:
    """Run ``action``; turn any exception into a StageError with ids and class only."""
    try:
        return action()
    except ModelMismatchError:
        raise  # its message is ours: digests and what to do
    except Exception as error:
        subject = f"note {note_id}" if note_id is not None else "a batch of notes"
        message = f"{stage}: {type(error).__name__} while processing {subject}"
    # Outside the except block and unchained, so the original message (may quote text) is lost.
    raise StageError(message)


def _read_rows(
    settings: PipelineSettings, name: str, partition_date: str, columns: list[str]
) -> list[dict[str, Any]]:
    """All rows of a small index table partition (one row per shard)."""
    return list(
        delta_io.iter_rows(
            delta_io.read_partition(
                table_uri(settings.storage_root, name),
                partition_date,
                columns=columns,
                storage_options=settings.storage_options(),
            )
        )
    )


def _raw_note_batches(settings: PipelineSettings, partition_date: str) -> Iterator[pa.RecordBatch]:
    return delta_io.read_partition(
        table_uri(settings.storage_root, RAW_NOTES),
        partition_date,
        columns=NOTE_COLUMNS,
        batch_rows=settings.read_batch_rows,
        storage_options=settings.storage_options(),
    )


def _quarantine(
    settings: PipelineSettings,
    rejections: list[Rejection],
    partition_date: str,
    stage: str,
    run_id: str,
) -> int:
    return delta_io.replace_quarantine(
        settings.storage_root,
        rejections,
        partition_date=partition_date,
        stage=stage,
        run_id=run_id,
        storage_options=settings.storage_options(),
    )


def _write_partition(
    settings: PipelineSettings,
    name: str,
    rows: pa.Table | Iterator[pa.RecordBatch],
    schema: pa.Schema,
    partition_date: str,
) -> None:
    """Replace the table's partition with ``rows`` (a table, or batches streamed as made).

    The Delta write hides its cause's message (a library's may quote rows); a stage's own
    error raised while the batches are made says what to do, so it is raised as it is.
    """
    own: list[Exception] = []

    def guarded(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        try:
            yield from batches
        except (StageError, ModelMismatchError) as error:
            own.append(error)
            raise

    data = rows if isinstance(rows, pa.Table) else delta_io.stream(schema, guarded(rows))
    try:
        replace_partition(
            table_uri(settings.storage_root, name),
            data,
            partition_date,
            storage_options=settings.storage_options(),
        )
    except delta_io.DeltaWriteError:
        if own:
            raise own[0] from None
        raise


# ------------------------------------------------------------------------------------------
# raw_notes: validate (core prepare, first half)


def decoded_records(batch: pa.RecordBatch) -> list[dict[str, Any] | Rejection]:
    """The rows of a source batch as dicts; a row with invalid UTF-8 in a text column becomes
    a rejection (``invalid_text``) instead of failing the whole day."""
    try:
        return batch.to_pylist()
    except UnicodeDecodeError:
        pass
    arrays = []
    for column in batch.columns:
        if pa.types.is_large_string(column.type):
            column = column.cast(pa.large_binary())  # no validation: the bytes as stored
        elif pa.types.is_string(column.type):
            column = column.cast(pa.binary())
        arrays.append(column)
    records: list[dict[str, Any] | Rejection] = []
    for raw in pa.RecordBatch.from_arrays(arrays, names=batch.schema.names).to_pylist():
        record: dict[str, Any] = {}
        bad: list[str] = []
        for name, value in raw.items():
            if isinstance(value, bytes) and not pa.types.is_binary(batch.schema.field(name).type):
                try:
                    value = value.decode("utf-8")
                except UnicodeDecodeError:
                    bad.append(name)
                    value = value.decode("utf-8", errors="replace")
            record[name] = value
        if bad:
            note_id = record.get("note_id")
            records.append(
                Rejection(
                    RejectReason.INVALID_TEXT,
                    f"invalid UTF-8 in column(s) {', '.join(bad)}",
                    None if "note_id" in bad or note_id is None else str(note_id),
                )
            )
        else:
            records.append(record)
    return records


def run_raw_notes(settings: PipelineSettings, partition_date: str, run_id: str) -> StageFigures:
    """Validated snapshot of one day of source notes; rejected records go to quarantine."""
    started = time.perf_counter()
    source_uri = settings.get_source_uri()
    columns = delta_io.table_columns(source_uri, settings.storage_options())
    if columns is not None and (message := missing_source_columns_message(columns)):
        raise StageError(message)
    source = delta_io.source_batches(
        source_uri,
        dt.date.fromisoformat(partition_date),
        columns=[name for name in SOURCE_COLUMNS if columns is None or name in columns],
        batch_rows=settings.read_batch_rows,
        storage_options=settings.storage_options(),
    )
    validate = RecordValidator(settings.limits())
    figures = StageFigures()
    rejections: list[Rejection] = []
    now = _now()

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in source:
            rows: list[dict[str, Any]] = []
            for record in decoded_records(batch):
                note = record if isinstance(record, Rejection) else validate(record)
                if isinstance(note, Rejection):
                    rejections.append(note)
                    continue
                figures.rows += 1
                figures.characters += len(note.text)
                rows.append(
                    {
                        PARTITION_COLUMN: partition_date,
                        "note_id": note.note_id,
                        "patient_id": note.patient_id,
                        "note_date": note.note_date,
                        "text": note.text,
                        "metadata": note.metadata.model_dump_json(exclude_defaults=True),
                        "n_chars": len(note.text),
                        "run_id": run_id,
                        "ingested_at": now,
                    }
                )
            if rows:
                yield pa.RecordBatch.from_pylist(rows, schema=RAW_SCHEMA)

    _write_partition(settings, RAW_NOTES, batches(), RAW_SCHEMA, partition_date)
    figures.quarantined = _quarantine(settings, rejections, partition_date, RAW_NOTES, run_id)
    figures.extra["source_rows"] = figures.rows + figures.quarantined
    figures.extra["quarantine_reasons"] = dict(Counter(r.reason.value for r in rejections))
    figures.elapsed_seconds = time.perf_counter() - started
    return figures


# ------------------------------------------------------------------------------------------
# request_shards: tokenize, window limit, pack (core prepare, second half)


def run_request_shards(
    settings: PipelineSettings, partition_date: str, run_id: str
) -> StageFigures:
    """Tokenize, cut into windows, pack and write shard files; window-limit rejects quarantined."""
    from deid_pipeline.shards import build_shard_table, write_shard

    started = time.perf_counter()
    root = settings.storage_root
    limits = settings.limits()
    bundle = settings.load_bundle()
    tokenizer = bundle.load_tokenizer()
    geometry = WindowGeometry.of(bundle)
    folder = delta_io.run_folder(root, REQUEST_SHARDS, partition_date, run_id)
    figures = StageFigures()
    rejections: list[Rejection] = []
    index: list[dict[str, Any]] = []
    now = _now()

    for batch in delta_io.read_partition(
        table_uri(root, RAW_NOTES),
        partition_date,
        columns=["note_id", "text"],
        batch_rows=settings.read_batch_rows,
        storage_options=settings.storage_options(),
    ):
        notes = [Note(note_id=row["note_id"], text=row["text"]) for row in batch.to_pylist()]
        prepared = _safe(
            None, REQUEST_SHARDS, lambda notes=notes: prepare(notes, tokenizer, geometry, limits)
        )
        rejections += prepared.rejections
        for shard in prepared.shards:
            shard_id = f"{partition_date}-{len(index):05d}"
            table = build_shard_table(
                shard.notes,
                shard.windows,
                shard_id=shard_id,
                bundle_sha256=bundle.sha256,
                window_length=geometry.window_length,
                window_overlap=geometry.window_overlap,
            )
            info = write_shard(folder / f"{shard_id}.arrow", table)
            index.append(
                {
                    PARTITION_COLUMN: partition_date,
                    "shard_id": shard_id,
                    "path": info.path,
                    "sha256": info.content_sha256,
                    "note_ids": shard.note_ids,
                    "n_records": len(shard.notes),
                    "n_windows": info.n_windows,
                    "n_tokens": info.n_tokens,
                    "n_chars": shard.n_chars,
                    "bundle_sha256": bundle.sha256,
                    "window_length": geometry.window_length,
                    "window_overlap": geometry.window_overlap,
                    "run_id": run_id,
                    "created_at": now,
                }
            )
            figures.rows += len(shard.notes)
            figures.characters += shard.n_chars
            figures.windows += info.n_windows
            figures.extra["tokens"] = figures.extra.get("tokens", 0) + info.n_tokens

    figures.shards = len(index)
    index_table = pa.Table.from_pylist(index, schema=SHARDS_SCHEMA)
    _write_partition(settings, REQUEST_SHARDS, index_table, SHARDS_SCHEMA, partition_date)
    figures.quarantined = _quarantine(settings, rejections, partition_date, REQUEST_SHARDS, run_id)
    # Only now, with the new index committed, are the older run folders unreferenced.
    delta_io.remove_stale_runs(root, REQUEST_SHARDS, partition_date, keep=folder)
    figures.extra.update(model_name=bundle.manifest.name, **_provenance(bundle))
    figures.elapsed_seconds = time.perf_counter() - started
    return figures


def _provenance(bundle: Any) -> dict[str, str]:
    return {
        "model_version": bundle.model_version,
        "bundle_sha256": bundle.sha256,
        "pipeline_version": PIPELINE_VERSION,
    }


# ------------------------------------------------------------------------------------------
# logits: the worker request and the commit of its answer (the model runs in the worker)


def worker_params(settings: PipelineSettings, partition_date: str, out_dir: Path) -> dict[str, Any]:
    """The worker request for every shard of a partition (JSON-ready Pipes extras)."""
    from deid_pipeline.worker import ShardRef, WorkerParams

    shards = sorted(
        _read_rows(settings, REQUEST_SHARDS, partition_date, ["shard_id", "path", "sha256"]),
        key=lambda row: row["shard_id"],
    )
    params = WorkerParams(
        shards=[ShardRef(**row, out_dir=str(out_dir)) for row in shards],
        out_dir=str(out_dir),
        bundle_dir=settings.get_bundle_dir(),
        backend=settings.backend,
        device=settings.device,
        token_budget=settings.token_budget,
        max_batch=settings.max_batch,
    )
    return params.model_dump()


def commit_logits(
    settings: PipelineSettings,
    partition_date: str,
    run_id: str,
    params: dict[str, Any],
    messages: list[Any],
    worker_metadata: dict[str, Any],
) -> StageFigures:
    """Verify the worker's logits files against the request and commit the logits index."""
    from deid_pipeline.worker import logits_ref_from_file, parse_report

    root = settings.storage_root
    wanted = {shard["shard_id"]: shard for shard in params["shards"]}
    # One worker may have served several partitions of a backfill range: keep this one's.
    refs = {ref.shard_id: ref for ref in parse_report(messages) if ref.shard_id in wanted}
    # Pipes messages are a report, not the record: a message lost on the way (seen with
    # thousands of shards) must not fail a run whose files are all there. The run folder is
    # new for this run and files are renamed into place when complete, so trust the disk.
    recovered = 0
    for shard_id in sorted(set(wanted) - set(refs)):
        out_dir = wanted[shard_id].get("out_dir") or params["out_dir"]
        from_disk = logits_ref_from_file(shard_id, out_dir)
        if from_disk is not None:
            refs[shard_id] = from_disk
            recovered += 1
    missing = sorted(set(wanted) - set(refs))
    if missing:
        raise StageError(
            f"worker answered for {len(refs)} shards, {len(wanted)} requested "
            f"({len(missing)} missing)"
        )
    now = _now()
    rows: list[dict[str, Any]] = []
    figures = StageFigures()
    for shard_id in sorted(wanted):
        ref = refs[shard_id]
        if ref.shard_sha256 != wanted[shard_id]["sha256"]:
            raise StageError(f"logits of shard {shard_id} were computed for other shard content")
        with Path(ref.path).open("rb") as handle:
            if hashlib.file_digest(handle, "sha256").hexdigest() != ref.sha256:
                raise StageError(f"logits file of shard {shard_id} does not match its sha256")
        rows.append(
            {
                PARTITION_COLUMN: partition_date,
                "shard_id": shard_id,
                "shard_sha256": ref.shard_sha256,
                "path": ref.path,
                "sha256": ref.sha256,
                "n_windows": ref.n_windows,
                "backend": str(worker_metadata.get("backend", settings.backend)),
                "device": str(worker_metadata.get("device", settings.device)),
                "model_version": ref.model_version,
                "bundle_sha256": ref.bundle_sha256,
                "run_id": run_id,
                "created_at": now,
            }
        )
        figures.windows += ref.n_windows
    figures.rows = figures.shards = len(rows)
    figures.extra["logits_files_found_on_disk"] = recovered
    logits_table = pa.Table.from_pylist(rows, schema=LOGITS_SCHEMA)
    _write_partition(settings, LOGITS, logits_table, LOGITS_SCHEMA, partition_date)
    delta_io.remove_stale_runs(root, LOGITS, partition_date, keep=Path(params["out_dir"]))
    return figures


# ------------------------------------------------------------------------------------------
# spans: decode and recognize (core detect)


def run_spans(settings: PipelineSettings, partition_date: str, run_id: str) -> StageFigures:
    """Decode logits to character spans and merge the recognizers' spans (core detect).

    Refuses shards and logits made by another bundle than the configured one: decoding them
    with other labels or thresholds would give wrong spans under the wrong provenance.
    """
    from deid_pipeline.core import LOGITS_BUNDLE_KEY, check_same_model
    from deid_pipeline.shards import read_logits, read_shard

    started = time.perf_counter()
    bundle = settings.load_bundle()
    detection = settings.detection(bundle)
    detection_json = to_json(detection.knobs())
    shard_columns = ["shard_id", "path", "sha256", "note_ids", "bundle_sha256"]
    shards = sorted(
        _read_rows(settings, REQUEST_SHARDS, partition_date, shard_columns),
        key=lambda row: row["shard_id"],
    )
    logits_columns = ["shard_id", "shard_sha256", "path", "bundle_sha256"]
    logits = {
        row["shard_id"]: row for row in _read_rows(settings, LOGITS, partition_date, logits_columns)
    }
    # Refuse before writing anything (the files are checked again as they are read).
    for row in shards:
        check_same_model(row["bundle_sha256"], bundle.sha256, f"shard {row['shard_id']}")
    for row in logits.values():
        check_same_model(row["bundle_sha256"], bundle.sha256, f"logits of shard {row['shard_id']}")
    take = delta_io.KeyedBuffer.from_rows(
        delta_io.iter_rows(_raw_note_batches(settings, partition_date)), "note_id"
    )
    figures = StageFigures()
    now = _now()

    def batches() -> Iterator[pa.RecordBatch]:
        for shard_row in shards:
            shard_id = shard_row["shard_id"]
            logits_row = logits.get(shard_id)
            if logits_row is None or logits_row["shard_sha256"] != shard_row["sha256"]:
                raise StageError(f"no current logits for shard {shard_id}; re-run logits")
            shard = read_shard(shard_row["path"], expected_sha256=shard_row["sha256"])
            block = read_logits(logits_row["path"])
            notes: dict[str, Note] = {}
            for note_id in shard_row["note_ids"]:
                raw = take(note_id)
                if raw is None:
                    raise StageError(
                        f"note {note_id} of shard {shard_id} is not in raw_notes; "
                        "re-run request_shards"
                    )
                notes[note_id] = _safe(note_id, SPANS, lambda raw=raw: note_from_row(raw))
            found = _safe(
                None,
                SPANS,
                lambda shard=shard, block=block, notes=notes: detect_in_shard(
                    shard, block, notes, detection, bundle.sha256
                ),
            )
            rows: list[dict[str, Any]] = []
            for note_id, note in notes.items():
                spans = found[note_id]
                figures.rows += 1
                figures.characters += len(note.text)
                figures.entity_counts.update(span.label for span in spans)
                rows.append(
                    {
                        PARTITION_COLUMN: partition_date,
                        "note_id": note_id,
                        "shard_id": shard_id,
                        "text_length": len(note.text),
                        "n_spans": len(spans),
                        "spans": span_records(spans),
                        "detection_settings": detection_json,
                        # The model that made the logits (checked equal to the configured one).
                        "model_version": block.metadata.get("deid.model_version", ""),
                        "bundle_sha256": block.metadata.get(LOGITS_BUNDLE_KEY, ""),
                        "pipeline_version": PIPELINE_VERSION,
                        "run_id": run_id,
                        "processed_at": now,
                    }
                )
            figures.windows += shard.n_windows
            figures.shards += 1
            if rows:
                yield pa.RecordBatch.from_pylist(rows, schema=SPANS_SCHEMA)

    _write_partition(settings, SPANS, batches(), SPANS_SCHEMA, partition_date)
    figures.extra.update(_provenance(bundle))
    # Rows that arrived ahead of their shard: bounded by one read batch, not by the partition.
    figures.extra["join_rows_waiting_max"] = take.max_pending
    figures.elapsed_seconds = time.perf_counter() - started
    return figures


# ------------------------------------------------------------------------------------------
# deidentified_notes: replace, leak check, pseudonym, shifted date (core release)


def run_deidentified_notes(
    settings: PipelineSettings, partition_date: str, run_id: str
) -> StageFigures:
    """Release each note (core release); notes with known PHI left are withheld to quarantine."""
    started = time.perf_counter()
    secret = settings.secret()
    policy = settings.replacement_policy()
    policy_json = to_json(policy.model_dump(mode="json"))
    withheld: list[Rejection] = []
    figures = StageFigures()
    now = _now()
    # The raw notes (the heavy side: text) drive the join in their own read order, and the
    # light spans rows wait in the keyed buffer: better ids and offsets than whole texts.
    # Notes that request_shards quarantined have no spans row; the shards index says which
    # notes to expect, so they are skipped without draining the spans stream.
    expected: set[str] = {
        note_id
        for row in _read_rows(settings, REQUEST_SHARDS, partition_date, ["note_ids"])
        for note_id in row["note_ids"] or []
    }
    take = delta_io.KeyedBuffer.from_batches(
        delta_io.read_partition(
            table_uri(settings.storage_root, SPANS),
            partition_date,
            columns=[
                "note_id",
                "spans",
                "text_length",
                "detection_settings",
                "model_version",
                "bundle_sha256",
            ],
            batch_rows=settings.read_batch_rows,
            storage_options=settings.storage_options(),
        ),
        "note_id",
    )
    provenance: dict[str, str] = {}

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in _raw_note_batches(settings, partition_date):
            rows: list[dict[str, Any]] = []
            for raw in batch.to_pylist():
                note_id = raw["note_id"]
                if note_id not in expected:
                    continue
                span_row = take(note_id)
                if span_row is None or len(raw["text"] or "") != span_row["text_length"]:
                    raise StageError(
                        f"spans of note {note_id} do not match raw_notes; re-run spans"
                    )
                note = _safe(note_id, DEIDENTIFIED_NOTES, lambda raw=raw: note_from_row(raw))
                spans = spans_from_row(span_row)
                outcome = _safe(
                    note_id,
                    DEIDENTIFIED_NOTES,
                    lambda note=note, spans=spans: release(
                        note, spans, secret=secret, policy=policy
                    ),
                )
                if not isinstance(outcome, Released):
                    withheld.append(outcome)
                    continue
                figures.rows += 1
                figures.characters += len(note.text)
                figures.entity_counts.update(outcome.entity_counts)
                provenance["model_version"] = span_row["model_version"]
                provenance["bundle_sha256"] = span_row["bundle_sha256"]
                rows.append(
                    {
                        PARTITION_COLUMN: partition_date,
                        "note_id": note_id,
                        "patient_pseudonym": outcome.patient_pseudonym,
                        "note_date_shifted": outcome.note_date_shifted,
                        "deid_text": outcome.deid_text,
                        "n_spans": len(outcome.spans),
                        "entity_counts": to_json(outcome.entity_counts),
                        "detection_settings": span_row["detection_settings"],
                        "replacement_policy": policy_json,
                        "model_version": span_row["model_version"],
                        "bundle_sha256": span_row["bundle_sha256"],
                        "pipeline_version": PIPELINE_VERSION,
                        "run_id": run_id,
                        "processed_at": now,
                    }
                )
            if rows:
                yield pa.RecordBatch.from_pylist(rows, schema=DEID_SCHEMA)
        # A spans row whose note is not in raw_notes (or not in the shards) is stale.
        for note_id in take.rest():
            raise StageError(f"spans of note {note_id} do not match raw_notes; re-run spans")

    _write_partition(settings, DEIDENTIFIED_NOTES, batches(), DEID_SCHEMA, partition_date)
    figures.withheld = _quarantine(settings, withheld, partition_date, DEIDENTIFIED_NOTES, run_id)
    figures.extra.update(provenance)
    figures.extra["pipeline_version"] = PIPELINE_VERSION
    # Spans rows that arrived ahead of their note (next to none when written in raw order).
    figures.extra["join_rows_waiting_max"] = take.max_pending
    figures.extra["demo_secret"] = secret.is_demo
    figures.extra.update(partition_accounting(settings, partition_date))
    figures.elapsed_seconds = time.perf_counter() - started
    return figures


def partition_accounting(settings: PipelineSettings, partition_date: str) -> dict[str, Any]:
    """``source rows = released + quarantined (every stage) + withheld`` of one partition.

    ``source_rows`` are the rows raw_notes read (written plus rejected there); ``quarantined``
    counts the rejections of raw_notes and request_shards, ``withheld`` the leak-check
    rejections of deidentified_notes. ``rows_accounted`` is True when the sum is exact and no
    quarantine slice comes from another run than its stage's data (``quarantine_of_another_run``
    names such stages; re-run the partition).
    """
    options = settings.storage_options()
    quarantine = table_uri(settings.storage_root, delta_io.QUARANTINE_TABLE)

    def rejected(stage: str) -> int:
        return delta_io.count_partition(
            quarantine, partition_date, equals={"stage": stage}, storage_options=options
        )

    def rows(name: str) -> int:
        return delta_io.count_partition(
            table_uri(settings.storage_root, name), partition_date, storage_options=options
        )

    def run_ids(name: str, **equals: str) -> set[str]:
        table = delta_io.open_table(table_uri(settings.storage_root, name), options)
        if table is None:
            return set()
        expression = pads.field(delta_io.PARTITION_COLUMN) == partition_date
        for column, value in equals.items():
            expression = expression & (pads.field(column) == value)
        found = table.to_pyarrow_dataset().to_table(columns=["run_id"], filter=expression)
        return {run for run in found.column("run_id").to_pylist() if run is not None}

    # A stage commits its partition, then its quarantine slice: a crash in between leaves a
    # slice of another run. Every quarantine row must come from the run that wrote the data.
    stale = sorted(
        stage
        for stage in (RAW_NOTES, REQUEST_SHARDS, DEIDENTIFIED_NOTES)
        if (data := run_ids(stage)) and not run_ids(delta_io.QUARANTINE_TABLE, stage=stage) <= data
    )
    source_rows = rows(RAW_NOTES) + rejected(RAW_NOTES)
    released = rows(DEIDENTIFIED_NOTES)
    quarantined = rejected(RAW_NOTES) + rejected(REQUEST_SHARDS)
    withheld = rejected(DEIDENTIFIED_NOTES)
    return {
        "source_rows": source_rows,
        "released_rows": released,
        "quarantined_rows": quarantined,
        "withheld_rows": withheld,
        "quarantine_of_another_run": stale,
        "rows_accounted": source_rows == released + quarantined + withheld and not stale,
    }

"""The work of each pipeline stage for one partition, without Dagster.

Each ``run_*`` function reads its inputs from the storage root, writes its outputs (one Delta
partition replaced atomically, files in a fresh run folder) and returns :class:`StageFigures`
(counts and timings only, no text). The Dagster assets in :mod:`deid_pipeline.pipeline.assets`
are thin wrappers around these functions; keeping the work here makes it testable and lets the
memory benchmark run a stage directly.

Memory: every stage streams. Source and table reads come in record batches, shards are built
and written one chunk of notes at a time, and outputs are handed to deltalake as a stream of
record batches that is committed once at the end. Joins between two tables of one partition
(raw notes with spans, say) use :func:`~deid_pipeline.pipeline.delta_io.keyed_buffer`, which
holds only rows that arrive ahead of their partner. Local partition writes keep the row order,
and every stage writes in raw_notes read order (the shard index lists notes in that order, and
packing only reorders notes within one read batch), so a join buffers at most about one read
batch. ``write_deltalake`` (the object-storage fallback) does not keep the order (one writer
stream per CPU, batches of 8192 rows), so the heavy side (note text) always drives and only
light rows wait.

Each asset records ``peak_rss_mib`` (:func:`peak_rss_mib`) in its materialization metadata:
under Dagster's default multiprocess executor that is the peak of the step's own process.

PHI: errors raised here carry ids, offsets and counts. A per-note failure in a core function
is re-raised as :class:`StageError` naming the note id and the error class only, because a
third-party message might quote text.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import resource
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from deid_pipeline import __version__ as PIPELINE_VERSION
from deid_pipeline.notes import (
    Limits,
    Note,
    NoteMetadata,
    Rejection,
    RejectReason,
    validate_record,
)
from deid_pipeline.pipeline import delta_io
from deid_pipeline.pipeline.delta_io import PARTITION_COLUMN, replace_partition, table_uri
from deid_pipeline.pipeline.leakcheck import find_known_phi
from deid_pipeline.pipeline.resources import DeidSettings
from deid_pipeline.spans import Span, check_spans

log = logging.getLogger(__name__)

RAW_NOTES = "raw_notes"
REQUEST_SHARDS = "request_shards"
LOGITS = "logits"
SPANS = "spans"
DEIDENTIFIED_NOTES = "deidentified_notes"
SOURCE_NOTES = "source_notes"

#: Notes per tokenizer call in request_shards.
TOKENIZE_GROUP = 64

SOURCE_COLUMNS = ("note_id", "patient_id", "note_date", "text", "metadata")

RAW_SCHEMA = pa.schema(
    [
        pa.field(PARTITION_COLUMN, pa.string(), nullable=False),
        pa.field("note_id", pa.string(), nullable=False),
        pa.field("patient_id", pa.string()),
        pa.field("note_date", pa.date32()),
        pa.field("text", pa.large_string(), nullable=False),
        pa.field("metadata", pa.string()),
        pa.field("n_chars", pa.int64(), nullable=False),
        pa.field("run_id", pa.string()),
        pa.field("ingested_at", pa.timestamp("us", tz="UTC")),
    ]
)

SHARDS_SCHEMA = pa.schema(
    [
        pa.field(PARTITION_COLUMN, pa.string(), nullable=False),
        pa.field("shard_id", pa.string(), nullable=False),
        pa.field("path", pa.string(), nullable=False),
        pa.field("sha256", pa.string(), nullable=False),
        pa.field("note_ids", pa.list_(pa.string())),
        pa.field("n_records", pa.int64()),
        pa.field("n_windows", pa.int64()),
        pa.field("n_tokens", pa.int64()),
        pa.field("n_chars", pa.int64()),
        pa.field("bundle_sha256", pa.string()),
        pa.field("window_length", pa.int64()),
        pa.field("window_overlap", pa.int64()),
        pa.field("run_id", pa.string()),
        pa.field("created_at", pa.timestamp("us", tz="UTC")),
    ]
)

LOGITS_SCHEMA = pa.schema(
    [
        pa.field(PARTITION_COLUMN, pa.string(), nullable=False),
        pa.field("shard_id", pa.string(), nullable=False),
        pa.field("shard_sha256", pa.string(), nullable=False),
        pa.field("path", pa.string(), nullable=False),
        pa.field("sha256", pa.string(), nullable=False),
        pa.field("n_windows", pa.int64()),
        pa.field("backend", pa.string()),
        pa.field("device", pa.string()),
        pa.field("model_version", pa.string()),
        pa.field("bundle_sha256", pa.string()),
        pa.field("run_id", pa.string()),
        pa.field("created_at", pa.timestamp("us", tz="UTC")),
    ]
)

SPAN_STRUCT = pa.struct(
    [
        pa.field("start", pa.int32()),
        pa.field("end", pa.int32()),
        pa.field("label", pa.string()),
        pa.field("score", pa.float32()),
        pa.field("source", pa.string()),
    ]
)

SPANS_SCHEMA = pa.schema(
    [
        pa.field(PARTITION_COLUMN, pa.string(), nullable=False),
        pa.field("note_id", pa.string(), nullable=False),
        pa.field("shard_id", pa.string()),
        pa.field("text_length", pa.int64()),
        pa.field("n_spans", pa.int64()),
        pa.field("spans", pa.list_(SPAN_STRUCT)),
        pa.field("model_version", pa.string()),
        pa.field("bundle_sha256", pa.string()),
        pa.field("pipeline_version", pa.string()),
        pa.field("run_id", pa.string()),
        pa.field("processed_at", pa.timestamp("us", tz="UTC")),
    ]
)

DEID_SCHEMA = pa.schema(
    [
        pa.field(PARTITION_COLUMN, pa.string(), nullable=False),
        pa.field("note_id", pa.string(), nullable=False),
        pa.field("patient_pseudonym", pa.string()),
        pa.field("note_date_shifted", pa.date32()),
        pa.field("deid_text", pa.large_string(), nullable=False),
        pa.field("n_spans", pa.int64()),
        pa.field("entity_counts", pa.string()),
        pa.field("model_version", pa.string()),
        pa.field("bundle_sha256", pa.string()),
        pa.field("pipeline_version", pa.string()),
        pa.field("run_id", pa.string()),
        pa.field("processed_at", pa.timestamp("us", tz="UTC")),
    ]
)


class StageError(RuntimeError):
    """A stage failed. The message carries ids, counts and error classes, never text."""


@dataclass(slots=True)
class StageFigures:
    """Figures of one stage run over one or more partitions (safe for metadata and logs)."""

    rows: int = 0
    characters: int = 0
    windows: int = 0
    shards: int = 0
    quarantined: int = 0
    withheld: int = 0
    elapsed_seconds: float = 0.0
    entity_counts: Counter[str] = field(default_factory=Counter)
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, other: StageFigures) -> None:
        """Accumulate another partition's figures."""
        self.rows += other.rows
        self.characters += other.characters
        self.windows += other.windows
        self.shards += other.shards
        self.quarantined += other.quarantined
        self.withheld += other.withheld
        self.elapsed_seconds += other.elapsed_seconds
        self.entity_counts.update(other.entity_counts)
        for key, value in other.extra.items():
            if key.endswith("_max") and isinstance(value, (int, float)):
                self.extra[key] = max(self.extra.get(key, value), value)
            elif isinstance(value, (int, float)) and isinstance(
                self.extra.get(key, 0), (int, float)
            ):
                self.extra[key] = self.extra.get(key, 0) + value
            else:
                self.extra[key] = value

    def metadata(self) -> dict[str, Any]:
        """Plain metadata values for a MaterializeResult."""
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
    gives the largest child process that has exited, e.g. the local inference worker; a child
    counts from its fork, before ``exec``, so the figure is at least this process's size at the
    time it started the child (in-process runs report the orchestrator's size, not the worker's).
    """
    usage = resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF)
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return round(usage.ru_maxrss / scale, 1)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _safe(note_id: str | None, stage: str, action: Callable[[], Any]) -> Any:
    """Run ``action``; turn any exception into a StageError with ids and class only."""
    try:
        return action()
    except Exception as error:
        message = f"{stage}: {type(error).__name__} while processing note {note_id}"
    # Outside the except block and unchained, so the original message (may quote text) is lost.
    raise StageError(message)


def _note_from_row(row: dict[str, Any]) -> Note:
    """Rebuild a validated Note from a raw_notes row (it passed validation when written)."""
    return Note(
        note_id=row["note_id"],
        text=row["text"],
        patient_id=row.get("patient_id"),
        note_date=row.get("note_date"),
        metadata=row.get("metadata") or {},
    )


def _bundle_provenance(settings: DeidSettings) -> Any:
    return settings.load_bundle()


# ------------------------------------------------------------------------------------------
# raw_notes


def run_raw_notes(settings: DeidSettings, partition_date: str, run_id: str) -> StageFigures:
    """Validated snapshot of one day of source notes; rejected records go to quarantine."""
    started = time.perf_counter()
    root = settings.get_storage_root()
    options = settings.get_storage_options()
    limits = settings.get_limits()
    day = dt.date.fromisoformat(partition_date)
    figures = StageFigures()
    rejections: list[Rejection] = []
    seen: set[str] = set()
    now = _now()

    source = delta_io.source_batches(
        settings.get_source_uri(),
        day,
        columns=SOURCE_COLUMNS,
        batch_rows=settings.read_batch_rows,
        storage_options=options,
    )

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in source:
            rows: list[dict[str, Any]] = []
            for record in batch.to_pylist():
                result = _validate(record, limits)
                if isinstance(result, Note) and result.note_id in seen:
                    result = Rejection(
                        RejectReason.DUPLICATE_ID, "note_id occurs more than once", result.note_id
                    )
                if isinstance(result, Rejection):
                    rejections.append(result)
                    continue
                seen.add(result.note_id)
                figures.rows += 1
                figures.characters += len(result.text)
                rows.append(
                    {
                        PARTITION_COLUMN: partition_date,
                        "note_id": result.note_id,
                        "patient_id": result.patient_id,
                        "note_date": result.note_date,
                        "text": result.text,
                        "metadata": result.metadata.model_dump_json(exclude_defaults=True),
                        "n_chars": len(result.text),
                        "run_id": run_id,
                        "ingested_at": now,
                    }
                )
            if rows:
                yield pa.RecordBatch.from_pylist(rows, schema=RAW_SCHEMA)

    replace_partition(
        table_uri(root, RAW_NOTES),
        delta_io.stream(RAW_SCHEMA, batches()),
        partition_date,
        storage_options=options,
    )
    figures.quarantined = delta_io.replace_quarantine(
        root,
        rejections,
        partition_date=partition_date,
        stage=RAW_NOTES,
        run_id=run_id,
        storage_options=options,
    )
    figures.extra["quarantine_reasons"] = dict(Counter(r.reason.value for r in rejections))
    figures.elapsed_seconds = time.perf_counter() - started
    return figures


def _validate(record: dict[str, Any], limits: Limits) -> Note | Rejection:
    """validate_record, with metadata given as JSON text in the source table."""
    try:
        return validate_record(record, limits)
    except Exception as error:
        note_id = record.get("note_id")
        return Rejection(
            RejectReason.MALFORMED,
            f"could not read record ({type(error).__name__})",
            str(note_id) if note_id is not None else None,
        )


# ------------------------------------------------------------------------------------------
# request_shards


def run_request_shards(settings: DeidSettings, partition_date: str, run_id: str) -> StageFigures:
    """Tokenize, cut into windows, pack and write shard files; window-limit rejects quarantined."""
    from deid_pipeline.shards import build_shard_table, pack_shards, write_shard
    from deid_pipeline.windows import (
        build_windows,
        check_window_limit,
        tokenize_notes,
        window_count,
    )

    started = time.perf_counter()
    root = settings.get_storage_root()
    options = settings.get_storage_options()
    limits = settings.get_limits()
    bundle = settings.load_bundle()
    tokenizer = bundle.load_tokenizer()
    window_length, window_overlap = bundle.window_length, bundle.window_overlap
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
        storage_options=options,
    ):
        notes = [Note(note_id=row["note_id"], text=row["text"]) for row in batch.to_pylist()]
        # Tokenize in small groups: the tokenizer's batch output is Python lists (heavy);
        # the TokenizedNote arrays kept for packing are compact int32 numpy arrays.
        tokenized = [
            tokens
            for start in range(0, len(notes), TOKENIZE_GROUP)
            for tokens in _safe(
                None,
                REQUEST_SHARDS,
                lambda group=notes[start : start + TOKENIZE_GROUP]: tokenize_notes(
                    tokenizer, group
                ),
            )
        ]
        accepted: list[int] = []
        counts: list[int] = []
        for position, tokens in enumerate(tokenized):
            n_windows = window_count(tokens.n_tokens, window_length, window_overlap)
            rejection = check_window_limit(tokens, n_windows, limits)
            if rejection is not None:
                rejections.append(rejection)
                continue
            accepted.append(position)
            counts.append(n_windows)
        plans = pack_shards(counts, [len(notes[i].text) for i in accepted], limits)
        for plan in plans:
            members = [accepted[i] for i in plan.note_indices]
            shard_tokens = [tokenized[i] for i in members]
            shard_id = f"{partition_date}-{len(index):05d}"
            windows = build_windows(
                shard_tokens,
                window_length,
                window_overlap,
                bundle.cls_token_id,
                bundle.sep_token_id,
            )
            table = build_shard_table(
                shard_tokens,
                windows,
                shard_id=shard_id,
                bundle_sha256=bundle.sha256,
                window_length=window_length,
                window_overlap=window_overlap,
            )
            info = write_shard(folder / f"{shard_id}.arrow", table)
            index.append(
                {
                    PARTITION_COLUMN: partition_date,
                    "shard_id": shard_id,
                    "path": info.path,
                    "sha256": info.content_sha256,
                    "note_ids": [tokens.note_id for tokens in shard_tokens],
                    "n_records": len(members),
                    "n_windows": info.n_windows,
                    "n_tokens": info.n_tokens,
                    "n_chars": plan.n_chars,
                    "bundle_sha256": bundle.sha256,
                    "window_length": window_length,
                    "window_overlap": window_overlap,
                    "run_id": run_id,
                    "created_at": now,
                }
            )
            figures.rows += len(members)
            figures.characters += plan.n_chars
            figures.windows += info.n_windows
            figures.extra["tokens"] = figures.extra.get("tokens", 0) + info.n_tokens

    figures.shards = len(index)
    replace_partition(
        table_uri(root, REQUEST_SHARDS),
        pa.Table.from_pylist(index, schema=SHARDS_SCHEMA),
        partition_date,
        storage_options=options,
    )
    figures.quarantined = delta_io.replace_quarantine(
        root,
        rejections,
        partition_date=partition_date,
        stage=REQUEST_SHARDS,
        run_id=run_id,
        storage_options=options,
    )
    # Only now, with the new index committed, are the older run folders unreferenced.
    delta_io.remove_stale_runs(root, REQUEST_SHARDS, partition_date, keep=folder)
    figures.extra.update(_provenance(bundle))
    figures.elapsed_seconds = time.perf_counter() - started
    return figures


def _provenance(bundle: Any) -> dict[str, Any]:
    return {
        "model_name": bundle.manifest.name,
        "model_version": bundle.model_version,
        "bundle_sha256": bundle.sha256,
        "pipeline_version": PIPELINE_VERSION,
    }


def _read_rows(
    settings: DeidSettings, name: str, partition_date: str, columns: list[str] | None = None
) -> list[dict[str, Any]]:
    """All rows of a small index table partition (one row per shard)."""
    return list(
        delta_io.iter_rows(
            delta_io.read_partition(
                table_uri(settings.get_storage_root(), name),
                partition_date,
                columns=columns,
                storage_options=settings.get_storage_options(),
            )
        )
    )


# ------------------------------------------------------------------------------------------
# logits


def worker_params(settings: DeidSettings, partition_date: str, out_dir: Path) -> dict[str, Any]:
    """The worker request for every shard of a partition (JSON-ready Pipes extras)."""
    from deid_pipeline.worker import ShardRef, WorkerParams

    shards = sorted(
        _read_rows(settings, REQUEST_SHARDS, partition_date, ["shard_id", "path", "sha256"]),
        key=lambda row: row["shard_id"],
    )
    params = WorkerParams(
        shards=[ShardRef(**row, out_dir=str(out_dir)) for row in shards],
        out_dir=str(out_dir),
        bundle_dir=str(Path(settings.get_bundle_dir()).resolve()),
        backend=settings.get_backend(),
        device=settings.get_device(),
        token_budget=settings.get_token_budget(),
        max_batch=settings.get_max_batch(),
    )
    return params.model_dump()


def commit_logits(
    settings: DeidSettings,
    partition_date: str,
    run_id: str,
    params: dict[str, Any],
    messages: list[Any],
    worker_metadata: dict[str, Any],
) -> StageFigures:
    """Verify the worker's logits files against the request and commit the logits index."""
    from deid_pipeline.worker import logits_ref_from_file, parse_report

    root = settings.get_storage_root()
    refs = {ref.shard_id: ref for ref in parse_report(messages)}
    wanted = {shard["shard_id"]: shard for shard in params["shards"]}
    # One worker may have served several partitions of a backfill range: keep this one's.
    refs = {shard_id: ref for shard_id, ref in refs.items() if shard_id in wanted}
    # Pipes messages are a report, not the record: a message lost on the way (seen with
    # thousands of shards) must not fail a run whose files are all there. The run folder is
    # new for this run and files are renamed into place when complete, so trust the disk.
    recovered = 0
    for shard_id in sorted(set(wanted) - set(refs)):
        shard = wanted[shard_id]
        from_disk = logits_ref_from_file(shard_id, shard.get("out_dir") or params["out_dir"])
        if from_disk is not None:
            refs[shard_id] = from_disk
            recovered += 1
    missing = sorted(set(wanted) - set(refs))
    if missing or set(refs) - set(wanted):
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
                "backend": str(worker_metadata.get("backend", settings.get_backend())),
                "device": str(worker_metadata.get("device", settings.get_device())),
                "model_version": str(worker_metadata.get("model_version", "")),
                "bundle_sha256": str(worker_metadata.get("bundle_sha256", "")),
                "run_id": run_id,
                "created_at": now,
            }
        )
        figures.windows += ref.n_windows
    figures.shards = len(rows)
    figures.extra["logits_files_found_on_disk"] = recovered
    replace_partition(
        table_uri(root, LOGITS),
        pa.Table.from_pylist(rows, schema=LOGITS_SCHEMA),
        partition_date,
        storage_options=settings.get_storage_options(),
    )
    delta_io.remove_stale_runs(root, LOGITS, partition_date, keep=Path(params["out_dir"]))
    return figures


# ------------------------------------------------------------------------------------------
# spans


def _span_dicts(spans: list[Span]) -> list[dict[str, Any]]:
    return [
        {
            "start": span.start,
            "end": span.end,
            "label": span.label,
            "score": float(span.score),
            "source": span.source,
        }
        for span in spans
    ]


def run_spans(settings: DeidSettings, partition_date: str, run_id: str) -> StageFigures:
    """Decode logits to character spans and post-process them (metadata, patterns)."""
    from deid_pipeline.decoding import decode_shard
    from deid_pipeline.postprocess import postprocess
    from deid_pipeline.shards import read_logits, read_shard

    started = time.perf_counter()
    root = settings.get_storage_root()
    options = settings.get_storage_options()
    bundle = settings.load_bundle()
    labels = list(bundle.entity_labels)
    thresholds = [bundle.threshold_for(label) for label in labels]
    require_label_shape = settings.require_label_shape()
    # One row per shard for the whole stage: only the columns used (ids, paths, hashes).
    shards = sorted(
        _read_rows(
            settings, REQUEST_SHARDS, partition_date, ["shard_id", "path", "sha256", "note_ids"]
        ),
        key=lambda row: row["shard_id"],
    )
    logits = {
        row["shard_id"]: row
        for row in _read_rows(
            settings, LOGITS, partition_date, ["shard_id", "shard_sha256", "path"]
        )
    }
    take = delta_io.keyed_buffer(
        delta_io.iter_rows(
            delta_io.read_partition(
                table_uri(root, RAW_NOTES),
                partition_date,
                columns=["note_id", "patient_id", "note_date", "text", "metadata"],
                batch_rows=settings.read_batch_rows,
                storage_options=options,
            )
        ),
        "note_id",
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
                notes[note_id] = _safe(note_id, SPANS, lambda raw=raw: _note_from_row(raw))
            texts = {note_id: note.text for note_id, note in notes.items()}
            model_spans = _safe(
                None,
                SPANS,
                lambda shard=shard, block=block, texts=texts: decode_shard(
                    shard, block, texts, labels, thresholds
                ),
            )
            rows: list[dict[str, Any]] = []
            for note_id, note in notes.items():
                found = model_spans.get(note_id, [])
                final = _safe(
                    note_id,
                    SPANS,
                    lambda note=note, found=found: postprocess(
                        note, found, require_label_shape=require_label_shape
                    ),
                )
                _safe(
                    note_id,
                    SPANS,
                    lambda final=final, note=note: check_spans(final, len(note.text)),
                )
                figures.rows += 1
                figures.characters += len(note.text)
                figures.entity_counts.update(span.label for span in final)
                rows.append(
                    {
                        PARTITION_COLUMN: partition_date,
                        "note_id": note_id,
                        "shard_id": shard_id,
                        "text_length": len(note.text),
                        "n_spans": len(final),
                        "spans": _span_dicts(final),
                        "model_version": bundle.model_version,
                        "bundle_sha256": bundle.sha256,
                        "pipeline_version": PIPELINE_VERSION,
                        "run_id": run_id,
                        "processed_at": now,
                    }
                )
            figures.windows += shard.n_windows
            figures.shards += 1
            if rows:
                yield pa.RecordBatch.from_pylist(rows, schema=SPANS_SCHEMA)

    replace_partition(
        table_uri(root, SPANS),
        delta_io.stream(SPANS_SCHEMA, batches()),
        partition_date,
        storage_options=options,
    )
    figures.extra.update(_provenance(bundle))
    # Rows that arrived ahead of their shard: bounded by one read batch, not by the partition.
    figures.extra["join_rows_waiting_max"] = take.max_pending
    figures.elapsed_seconds = time.perf_counter() - started
    return figures


def spans_from_row(row: dict[str, Any]) -> list[Span]:
    """Span objects of a spans-table row."""
    return [
        Span(item["start"], item["end"], item["label"], float(item["score"]), item["source"])
        for item in row["spans"] or []
    ]


# ------------------------------------------------------------------------------------------
# deidentified_notes


def _shifted_date(secret: Any, policy: Any, note: Note) -> dt.date | None:
    """The note date moved by the patient's HMAC offset (the same shift as dates in the text).

    None when dates are not shifted by the policy: the real date must not be released then.
    """
    if note.note_date is None or not policy.shift_dates:
        return None
    from deid_pipeline.replace import date_shift_days

    days = date_shift_days(secret, note.patient_id or note.note_id, policy)
    return note.note_date + dt.timedelta(days=days)


def run_deidentified_notes(
    settings: DeidSettings, partition_date: str, run_id: str
) -> StageFigures:
    """Apply replacements, run the leak check, write the output partition; leaks withheld."""
    from deid_pipeline.replace import deidentify_note, patient_pseudonym

    started = time.perf_counter()
    root = settings.get_storage_root()
    options = settings.get_storage_options()
    secret = settings.secret()
    policy = settings.replacement_policy()
    withheld: list[Rejection] = []
    figures = StageFigures()
    now = _now()
    # The raw notes (the heavy side: text) drive the join in their own read order, and the
    # light spans rows wait in the keyed buffer. The spans table was written in that order,
    # so next to nothing waits; written by write_deltalake (object storage) it comes back in
    # another order, and whichever side is buffered holds up to (CPUs - 1) x 8192 rows: better
    # ids and offsets than whole texts.
    # Notes that request_shards quarantined have no spans row; the shards index says which
    # notes to expect, so they are skipped without draining the spans stream.
    expected: set[str] = {
        note_id
        for row in _read_rows(settings, REQUEST_SHARDS, partition_date, ["note_ids"])
        for note_id in row["note_ids"] or []
    }
    take = delta_io.KeyedBuffer.from_batches(
        delta_io.read_partition(
            table_uri(root, SPANS),
            partition_date,
            columns=["note_id", "spans", "text_length", "model_version", "bundle_sha256"],
            batch_rows=settings.read_batch_rows,
            storage_options=options,
        ),
        "note_id",
    )
    provenance: dict[str, str] = {}

    raw_batches = delta_io.read_partition(
        table_uri(root, RAW_NOTES),
        partition_date,
        columns=["note_id", "patient_id", "note_date", "text", "metadata"],
        batch_rows=settings.read_batch_rows,
        storage_options=options,
    )

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in raw_batches:
            rows: list[dict[str, Any]] = []
            for raw in batch.to_pylist():
                note_id = raw["note_id"]
                if note_id not in expected:
                    continue
                span_row = take(note_id)
                if (
                    span_row is None
                    or raw["text"] is None
                    or len(raw["text"]) != span_row["text_length"]
                ):
                    raise StageError(
                        f"spans of note {note_id} do not match raw_notes; re-run spans"
                    )
                note = _safe(note_id, DEIDENTIFIED_NOTES, lambda raw=raw: _note_from_row(raw))
                spans = spans_from_row(span_row)
                text = _safe(
                    note_id,
                    DEIDENTIFIED_NOTES,
                    lambda note=note, spans=spans: deidentify_note(
                        note, spans, secret=secret, policy=policy
                    ),
                )
                leaks = find_known_phi(text, note.metadata)
                if leaks:
                    withheld.append(
                        Rejection(
                            RejectReason.LEAK_CHECK_FAILED,
                            f"{len(leaks)} kind(s) of known PHI in output: {', '.join(leaks)}",
                            note_id,
                        )
                    )
                    continue
                counts = Counter(span.label for span in spans)
                figures.rows += 1
                figures.characters += len(note.text)
                figures.entity_counts.update(counts)
                provenance["model_version"] = span_row["model_version"]
                provenance["bundle_sha256"] = span_row["bundle_sha256"]
                rows.append(
                    {
                        PARTITION_COLUMN: partition_date,
                        "note_id": note_id,
                        "patient_pseudonym": (
                            patient_pseudonym(secret, note.patient_id)
                            if note.patient_id is not None
                            else None
                        ),
                        "note_date_shifted": _safe(
                            note_id,
                            DEIDENTIFIED_NOTES,
                            lambda note=note: _shifted_date(secret, policy, note),
                        ),
                        "deid_text": text,
                        "n_spans": len(spans),
                        "entity_counts": json.dumps(dict(sorted(counts.items()))),
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

    replace_partition(
        table_uri(root, DEIDENTIFIED_NOTES),
        delta_io.stream(DEID_SCHEMA, batches()),
        partition_date,
        storage_options=options,
    )
    figures.withheld = delta_io.replace_quarantine(
        root,
        withheld,
        partition_date=partition_date,
        stage=DEIDENTIFIED_NOTES,
        run_id=run_id,
        storage_options=options,
    )
    figures.quarantined = figures.withheld
    figures.extra.update(provenance)
    figures.extra["pipeline_version"] = PIPELINE_VERSION
    # Spans rows that arrived ahead of their note (next to none when written in raw order).
    figures.extra["join_rows_waiting_max"] = take.max_pending
    figures.extra["demo_secret"] = settings.is_demo()
    figures.elapsed_seconds = time.perf_counter() - started
    return figures


def note_metadata(raw: dict[str, Any]) -> NoteMetadata:
    """Metadata of a raw_notes row."""
    value = raw.get("metadata")
    return NoteMetadata.model_validate_json(value) if value else NoteMetadata()

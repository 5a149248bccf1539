"""The pipeline's tables: names, Arrow schemas and conversions between rows and core objects.

Every table is partitioned by ``partition_date`` (the Dagster partition key, ``YYYY-MM-DD``,
the source ``note_date``); see :mod:`deid_pipeline.pipeline.delta_io` for how a partition is
replaced. The quarantine table's schema lives there too (it holds no text).
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from deid_pipeline.notes import Note, NoteMetadata
from deid_pipeline.pipeline.delta_io import PARTITION_COLUMN
from deid_pipeline.spans import Span

SOURCE_NOTES = "source_notes"
RAW_NOTES = "raw_notes"
REQUEST_SHARDS = "request_shards"
LOGITS = "logits"
SPANS = "spans"
DEIDENTIFIED_NOTES = "deidentified_notes"

#: Columns read from the source table: the required ones with the types they may have.
SOURCE_REQUIRED = {
    "note_id": "string (or integer)",
    "note_date": "date (or a YYYY-MM-DD / DD-MM-YYYY string)",
    "text": "string",
}
SOURCE_OPTIONAL = {"patient_id": "string", "metadata": "JSON string"}
SOURCE_COLUMNS = (*SOURCE_REQUIRED, *SOURCE_OPTIONAL)
#: Columns of raw_notes that rebuild a Note.
NOTE_COLUMNS = ["note_id", "patient_id", "note_date", "text", "metadata"]


def missing_source_columns_message(present: list[str]) -> str | None:
    """What to tell the user when the source lacks required columns; None when none lack."""
    missing = [name for name in SOURCE_REQUIRED if name not in present]
    if not missing:
        return None
    required = ", ".join(f"{name} ({kind})" for name, kind in SOURCE_REQUIRED.items())
    optional = ", ".join(f"{name} ({kind})" for name, kind in SOURCE_OPTIONAL.items())
    return (
        f"the source notes table (DEID_SOURCE_URI) has no column {', '.join(missing)}; "
        f"required: {required}; optional: {optional}"
    )


def _provenance_fields() -> list[pa.Field]:
    return [
        pa.field("model_version", pa.string()),
        pa.field("bundle_sha256", pa.string()),
        pa.field("pipeline_version", pa.string()),
        pa.field("run_id", pa.string()),
        pa.field("processed_at", pa.timestamp("us", tz="UTC")),
    ]


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
        # Thresholds and label-shape filter the spans were decoded with (JSON).
        pa.field("detection_settings", pa.string()),
        *_provenance_fields(),
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
        pa.field("detection_settings", pa.string()),
        # The replacement policy the text was made with (JSON).
        pa.field("replacement_policy", pa.string()),
        *_provenance_fields(),
    ]
)


def note_from_row(row: dict[str, Any]) -> Note:
    """Rebuild a validated Note from a raw_notes row (it passed validation when written)."""
    return Note(
        note_id=row["note_id"],
        text=row["text"],
        patient_id=row.get("patient_id"),
        note_date=row.get("note_date"),
        metadata=row.get("metadata") or {},
    )


def note_metadata(row: dict[str, Any]) -> NoteMetadata:
    """Metadata of a raw_notes row."""
    value = row.get("metadata")
    return NoteMetadata.model_validate_json(value) if value else NoteMetadata()


def span_records(spans: list[Span]) -> list[dict[str, Any]]:
    """The ``spans`` column value of a list of spans."""
    return [span.to_dict() for span in spans]


def spans_from_row(row: dict[str, Any]) -> list[Span]:
    """Span objects of a spans-table row."""
    return [
        Span(item["start"], item["end"], item["label"], float(item["score"]), item["source"])
        for item in row["spans"] or []
    ]


def to_json(value: Any) -> str:
    """Canonical JSON of a provenance value (sorted keys, so equal settings compare equal)."""
    return json.dumps(value, sort_keys=True)

"""Writers: the source Delta table the pipeline reads, and the gold JSONL for training/eval."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, Literal

import pyarrow as pa

from deid_pipeline.synth.builder import ANNOTATION_KINDS
from deid_pipeline.synth.generator import SyntheticNote

#: Schema of the source notes table (plain table; the pipeline filters on ``note_date``).
SOURCE_SCHEMA = pa.schema(
    [
        pa.field("note_id", pa.string(), nullable=False),
        pa.field("patient_id", pa.string()),
        pa.field("note_date", pa.date32()),
        pa.field("text", pa.string(), nullable=False),
        pa.field("metadata", pa.string()),
    ]
)

#: Rows per Arrow record batch while streaming to Delta.
BATCH_ROWS = 500


def _metadata_json(item: SyntheticNote) -> str:
    return json.dumps(item.note.metadata.model_dump(mode="json"), ensure_ascii=False)


def _batches(notes: Iterable[SyntheticNote], batch_rows: int) -> Iterator[pa.RecordBatch]:
    columns: dict[str, list[Any]] = {name: [] for name in SOURCE_SCHEMA.names}
    for item in notes:
        note = item.note
        columns["note_id"].append(note.note_id)
        columns["patient_id"].append(note.patient_id)
        columns["note_date"].append(note.note_date)
        columns["text"].append(note.text)
        columns["metadata"].append(_metadata_json(item))
        if len(columns["note_id"]) >= batch_rows:
            yield pa.RecordBatch.from_pydict(columns, schema=SOURCE_SCHEMA)
            columns = {name: [] for name in SOURCE_SCHEMA.names}
    if columns["note_id"]:
        yield pa.RecordBatch.from_pydict(columns, schema=SOURCE_SCHEMA)


def write_source_table(
    uri: str,
    notes: Iterable[SyntheticNote],
    mode: Literal["overwrite", "append", "error", "ignore"] = "overwrite",
    *,
    batch_rows: int = BATCH_ROWS,
) -> int:
    """Stream ``notes`` into a Delta table at ``uri`` in one commit; return the row count.

    Columns: note_id, patient_id, note_date (date32), text, metadata (JSON of the note's
    metadata with ISO dates). Rows are converted in batches of ``batch_rows`` as the iterator
    is consumed, so a large corpus is never held in memory at once.
    """
    from deltalake import WriterProperties, write_deltalake

    count = 0

    def counted() -> Iterator[pa.RecordBatch]:
        nonlocal count
        for batch in _batches(notes, batch_rows):
            count += batch.num_rows
            yield batch

    reader = pa.RecordBatchReader.from_batches(SOURCE_SCHEMA, counted())
    # Row groups of one batch, as the pipeline's own tables: a reader decodes a whole row
    # group at once, so deltalake's default (about a million rows) costs a whole day.
    write_deltalake(
        uri, reader, mode=mode, writer_properties=WriterProperties(max_row_group_size=batch_rows)
    )
    return count


def gold_record(item: SyntheticNote) -> dict[str, Any]:
    """The gold JSON object of one note (the format :mod:`deid_pipeline.evaluation` reads).

    Besides the PHI ``spans`` it carries one list of ``{"start", "end"}`` per non-PHI
    annotation kind (``quantities``, ``field_labels``, ``sentence_initial``, ``codes``).
    """
    record: dict[str, Any] = {
        "note_id": item.note.note_id,
        "text": item.note.text,
        "spans": [{"start": s.start, "end": s.end, "label": s.label} for s in item.spans],
        "locale": item.locale,
        "doc_type": item.doc_type,
        "metadata": item.note.metadata.model_dump(mode="json"),
    }
    for kind in ANNOTATION_KINDS:
        record[kind] = [
            {"start": start, "end": end} for start, end in item.annotations.get(kind, ())
        ]
    return record


def write_gold_line(handle: IO[str], item: SyntheticNote) -> None:
    """Append one gold line to an open text file."""
    handle.write(json.dumps(gold_record(item), ensure_ascii=False) + "\n")


def write_gold_jsonl(path: str | Path, notes: Iterable[SyntheticNote]) -> int:
    """Write one gold JSON line per note to ``path``; return the number of lines."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with open(target, "w", encoding="utf-8") as handle:
        for item in notes:
            write_gold_line(handle, item)
            count += 1
    return count

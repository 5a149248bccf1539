"""De-identify one day of a Delta table of notes through the HTTP service.

The source is the table the pipeline reads (``note_id``, ``note_date``, ``text``, optional
``patient_id`` and ``metadata`` as JSON); the day is selected on ``note_date`` exactly as the
pipeline's ``raw_notes`` stage selects it. Released notes replace the day's partition of the
output table in one Delta commit (re-runs never duplicate), rejected and withheld records
replace it in ``<output>_rejected``; the counts add up to the rows read::

    export DEID_SERVICE_API_KEY=...            # the client's key (the server stores its hash)
    python examples/deidentify_delta_partition.py \\
        --source data/demo/source_notes --day 2026-01-02 \\
        --output data/service/deidentified_notes --url http://127.0.0.1:8080

This is what an ETL job or a Spark task (one partition per task, ``mapPartitions``) does; the
service does the model work, the caller keeps its tables. Nothing here prints note text.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from deid_pipeline.client import DeidClient, Outcome
from deid_pipeline.pipeline.delta_io import source_batches, table_columns

OUTPUT_SCHEMA = pa.schema(
    [
        pa.field("partition_date", pa.string(), nullable=False),
        pa.field("note_id", pa.string(), nullable=False),
        pa.field("patient_pseudonym", pa.string()),
        pa.field("note_date_shifted", pa.string()),
        pa.field("deid_text", pa.large_string()),
        pa.field("spans", pa.string()),  # JSON list of {start, end, label, score, source}
        pa.field("model_version", pa.string()),
        pa.field("bundle_sha256", pa.string()),
    ]
)
REJECTED_SCHEMA = pa.schema(
    [
        pa.field("partition_date", pa.string(), nullable=False),
        pa.field("note_id", pa.string()),
        pa.field("reason", pa.string()),
        pa.field("message", pa.string()),
    ]
)
BATCH_ROWS = 500


def partition_records(source: str, day: dt.date) -> Iterator[dict[str, Any]]:
    """The day's source rows as service records (dates as ISO text, metadata as given)."""
    wanted = ["note_id", "note_date", "text", "patient_id", "metadata"]
    present = table_columns(source) or []
    batches = source_batches(source, day, columns=[c for c in wanted if c in present])
    return _records(batches)


def _records(batches: Iterable[pa.RecordBatch]) -> Iterator[dict[str, Any]]:
    for batch in batches:
        for row in batch.to_pylist():
            if isinstance(row.get("note_date"), dt.date):
                row["note_date"] = row["note_date"].isoformat()
            yield row


def _released_batches(
    outcomes: Iterable[Outcome], day: str, rejected: list[dict[str, Any]], counts: Counter[str]
) -> Iterator[pa.RecordBatch]:
    rows: list[dict[str, Any]] = []
    for outcome in outcomes:
        counts["read"] += 1
        if outcome.rejection is not None:
            counts[outcome.rejection["reason"]] += 1
            rejected.append(
                {
                    "partition_date": day,
                    "note_id": outcome.rejection["note_id"],
                    "reason": outcome.rejection["reason"],
                    "message": outcome.rejection["message"],
                }
            )
            continue
        result = outcome.result or {}
        counts["released"] += 1
        rows.append(
            {
                "partition_date": day,
                "note_id": result["note_id"],
                "patient_pseudonym": result["patient_pseudonym"],
                "note_date_shifted": result["note_date_shifted"],
                "deid_text": result["deid_text"],
                "spans": json.dumps(result["spans"]),
                "model_version": outcome.model_version,
                "bundle_sha256": outcome.bundle_sha256,
            }
        )
        if len(rows) >= BATCH_ROWS:
            yield pa.RecordBatch.from_pylist(rows, schema=OUTPUT_SCHEMA)
            rows = []
    if rows:
        yield pa.RecordBatch.from_pylist(rows, schema=OUTPUT_SCHEMA)


def deidentify_partition(
    client: DeidClient,
    source: str,
    day: dt.date,
    output: str,
    *,
    options: dict[str, Any] | None = None,
    concurrency: int = 2,
) -> Counter[str]:
    """Send the day's notes through ``client``; replace the day in ``output`` and
    ``<output>_rejected``. Returns the counts (read, released, one per reject reason)."""
    import pyarrow.parquet as pq
    from deltalake import write_deltalake

    key = day.isoformat()
    counts: Counter[str] = Counter()
    rejected: list[dict[str, Any]] = []
    outcomes = client.deidentify_all(
        partition_records(source, day), options=options, concurrency=concurrency
    )
    predicate = f"partition_date = '{key}'"
    with tempfile.TemporaryDirectory(prefix="deid-partition-") as tmp:
        # Released rows are staged in a local Parquet file first: memory stays at one batch,
        # and the source is read before the Delta writer starts (deltalake cannot read a
        # table from inside its own writer's stream).
        staged = Path(tmp) / "released.parquet"
        with pq.ParquetWriter(staged, OUTPUT_SCHEMA) as writer:
            for batch in _released_batches(outcomes, key, rejected, counts):
                writer.write_batch(batch)
        released = pq.ParquetFile(staged)
        reader = pa.RecordBatchReader.from_batches(
            OUTPUT_SCHEMA, released.iter_batches(batch_size=BATCH_ROWS)
        )
        # One commit per table: the day's old rows are replaced atomically, never duplicated.
        write_deltalake(
            output, reader, mode="overwrite", predicate=predicate, partition_by=["partition_date"]
        )
    write_deltalake(
        f"{output}_rejected",
        pa.Table.from_pylist(rejected, schema=REJECTED_SCHEMA),
        mode="overwrite",
        predicate=predicate,
        partition_by=["partition_date"],
    )
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, help="source notes Delta table")
    parser.add_argument("--day", required=True, type=dt.date.fromisoformat, help="YYYY-MM-DD")
    parser.add_argument("--output", required=True, help="output Delta table")
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="the service")
    parser.add_argument("--replace", choices=["tags", "surrogates"], default=None)
    parser.add_argument("--concurrency", type=int, default=2, help="requests in flight")
    args = parser.parse_args(argv)
    key = os.environ.get("DEID_SERVICE_API_KEY")
    if not key:
        print("error: set DEID_SERVICE_API_KEY to the client's API key", file=sys.stderr)
        return 2
    options = {"replace": args.replace} if args.replace else None
    with DeidClient(args.url, api_key=key) as client:
        counts = deidentify_partition(
            client,
            args.source,
            args.day,
            args.output,
            options=options,
            concurrency=args.concurrency,
        )
    rejected = {reason: n for reason, n in counts.items() if reason not in ("read", "released")}
    print(
        f"day={args.day} read={counts['read']} released={counts['released']} "
        f"rejected={sum(rejected.values())} {json.dumps(rejected)} retries={client.retries}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

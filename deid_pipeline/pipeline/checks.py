"""Asset checks: known PHI in the output (blocking), span validity, quarantine rate and
empty source partitions (warnings); nothing lost: every source row released, quarantined or
withheld (``rows_accounted_for``), source rows without a usable ``note_date``
(``source_rows_have_a_note_date``), a note id in two partitions
(``note_ids_unique_across_partitions``).

``no_known_phi_in_output`` re-reads the written ``deidentified_notes`` partition and runs the
core's leak check (:func:`deid_pipeline.leakcheck.find_known_phi`) again, so a note with a leak
was already withheld; it fails if the scan finds anything in the table, or if a withheld note is
in the table anyway. Check metadata carries counts and note ids, never text. In a range run a
check covers every partition of the range and reports figures per partition.
"""

from collections.abc import Sequence
from typing import Any

import dagster as dg

from deid_pipeline.leakcheck import find_known_phi
from deid_pipeline.notes import RejectReason
from deid_pipeline.pipeline import delta_io, stages, tables
from deid_pipeline.pipeline.assets import deidentified_notes, raw_notes, spans
from deid_pipeline.pipeline.delta_io import QUARANTINE_TABLE, table_uri
from deid_pipeline.pipeline.resources import DeidSettings
from deid_pipeline.settings import PipelineSettings
from deid_pipeline.spans import SpanInvariantError, check_spans

MAX_IDS_IN_METADATA = 20


def _partition_keys(context: dg.AssetCheckExecutionContext) -> Sequence[str]:
    """Partitions of the run; a check run without partitions covers none."""
    if context.has_partition_key_range or context.has_partition_key:
        return context.partition_keys
    return []


def _rows(settings: PipelineSettings, name: str, partition_date: str, columns: list[str]) -> Any:
    return delta_io.iter_rows(
        delta_io.read_partition(
            table_uri(settings.storage_root, name),
            partition_date,
            columns=columns,
            storage_options=settings.storage_options(),
        )
    )


def scan_output_partition(settings: PipelineSettings, partition_date: str) -> dict[str, Any]:
    """Leak scan over one written output partition plus the withheld-note cross check."""
    withheld = {
        row["note_id"]
        for row in _rows(settings, QUARANTINE_TABLE, partition_date, ["note_id", "stage", "reason"])
        if row["stage"] == tables.DEIDENTIFIED_NOTES
        and row["reason"] == RejectReason.LEAK_CHECK_FAILED.value
    }
    take = delta_io.KeyedBuffer.from_rows(
        _rows(settings, tables.RAW_NOTES, partition_date, ["note_id", "metadata"]), "note_id"
    )
    scanned = 0
    leaking: list[str] = []
    withheld_present: list[str] = []
    missing_source: list[str] = []
    for row in _rows(settings, tables.DEIDENTIFIED_NOTES, partition_date, ["note_id", "deid_text"]):
        scanned += 1
        note_id = row["note_id"]
        if note_id in withheld:
            withheld_present.append(note_id)
        raw = take(note_id)
        if raw is None:
            missing_source.append(note_id)
            continue
        if find_known_phi(row["deid_text"], tables.note_metadata(raw)):
            leaking.append(note_id)
    return {
        "scanned": scanned,
        "withheld": len(withheld),
        "leaking": leaking,
        "withheld_present": withheld_present,
        "missing_source": missing_source,
    }


def partition_counts(settings: PipelineSettings, partition_date: str) -> dict[str, int]:
    """Source rows of one partition (valid + rejected by raw_notes) and all quarantined rows."""
    options = settings.storage_options()
    quarantine = table_uri(settings.storage_root, QUARANTINE_TABLE)
    raw_rejected = delta_io.count_partition(
        quarantine, partition_date, equals={"stage": tables.RAW_NOTES}, storage_options=options
    )
    raw = delta_io.count_partition(
        table_uri(settings.storage_root, tables.RAW_NOTES), partition_date, storage_options=options
    )
    quarantined = delta_io.count_partition(quarantine, partition_date, storage_options=options)
    return {"source_rows": raw + raw_rejected, "quarantined": quarantined}


@dg.asset_check(
    asset=deidentified_notes,
    additional_deps=[raw_notes],
    blocking=True,
    description=(
        "No patient/caregiver name or known metadata value in any output text; no withheld "
        "note in the table."
    ),
)
def no_known_phi_in_output(
    context: dg.AssetCheckExecutionContext, settings: DeidSettings
) -> dg.AssetCheckResult:
    resolved = settings.resolve()
    scans = {key: scan_output_partition(resolved, key) for key in _partition_keys(context)}
    flagged = sorted(
        note_id
        for scan in scans.values()
        for note_id in scan["leaking"] + scan["withheld_present"] + scan["missing_source"]
    )
    return dg.AssetCheckResult(
        passed=not flagged,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "scanned_rows": sum(scan["scanned"] for scan in scans.values()),
            "withheld_notes": sum(scan["withheld"] for scan in scans.values()),
            "leaking_rows": sum(len(scan["leaking"]) for scan in scans.values()),
            "withheld_present": sum(len(scan["withheld_present"]) for scan in scans.values()),
            "rows_without_source": sum(len(scan["missing_source"]) for scan in scans.values()),
            "leaking_note_ids": flagged[:MAX_IDS_IN_METADATA],
        },
    )


@dg.asset_check(
    asset=spans,
    description="Span offsets inside their note, sorted, non-empty and non-overlapping.",
)
def spans_valid(
    context: dg.AssetCheckExecutionContext, settings: DeidSettings
) -> dg.AssetCheckResult:
    resolved = settings.resolve()
    checked = 0
    invalid: list[str] = []
    for key in _partition_keys(context):
        for row in _rows(resolved, tables.SPANS, key, ["note_id", "text_length", "spans"]):
            checked += 1
            try:
                check_spans(tables.spans_from_row(row), int(row["text_length"]))
            except SpanInvariantError:
                invalid.append(row["note_id"])
    return dg.AssetCheckResult(
        passed=not invalid,
        metadata={
            "checked_rows": checked,
            "invalid_rows": len(invalid),
            "invalid_note_ids": sorted(invalid)[:MAX_IDS_IN_METADATA],
        },
    )


@dg.asset_check(
    asset=deidentified_notes,
    additional_deps=[raw_notes],
    description="Warns when a partition's quarantine rate passes DEID_QUARANTINE_WARN_RATE.",
)
def quarantine_rate_below_threshold(
    context: dg.AssetCheckExecutionContext, settings: DeidSettings
) -> dg.AssetCheckResult:
    resolved = settings.resolve()
    counts = {key: partition_counts(resolved, key) for key in _partition_keys(context)}
    rates = {
        key: round(c["quarantined"] / c["source_rows"], 4) if c["source_rows"] else 0.0
        for key, c in counts.items()
    }
    worst = max(rates.values(), default=0.0)
    return dg.AssetCheckResult(
        passed=worst <= resolved.quarantine_warn_rate,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "threshold": resolved.quarantine_warn_rate,
            "max_rate": worst,
            "quarantined": sum(c["quarantined"] for c in counts.values()),
            "source_rows": sum(c["source_rows"] for c in counts.values()),
            "rate_per_partition": rates,
        },
    )


@dg.asset_check(
    asset=raw_notes,
    description=(
        "Warns when a partition has no source notes at all (a day the source did not deliver, "
        "or notes whose note_date is not that day)."
    ),
)
def source_partition_not_empty(
    context: dg.AssetCheckExecutionContext, settings: DeidSettings
) -> dg.AssetCheckResult:
    resolved = settings.resolve()
    rows = {key: partition_counts(resolved, key)["source_rows"] for key in _partition_keys(context)}
    empty = sorted(key for key, count in rows.items() if count == 0)
    return dg.AssetCheckResult(
        passed=not empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"source_rows_per_partition": rows, "empty_partitions": empty},
    )


@dg.asset_check(
    asset=deidentified_notes,
    additional_deps=[raw_notes],
    description=("Nothing lost: per partition, source rows = released + quarantined + withheld."),
)
def rows_accounted_for(
    context: dg.AssetCheckExecutionContext, settings: DeidSettings
) -> dg.AssetCheckResult:
    resolved = settings.resolve()
    accounts = {key: stages.partition_accounting(resolved, key) for key in _partition_keys(context)}
    off = sorted(key for key, account in accounts.items() if not account["rows_accounted"])
    return dg.AssetCheckResult(
        passed=not off,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"per_partition": accounts, "partitions_not_accounted": off},
    )


@dg.asset_check(
    asset=raw_notes,
    description=(
        "Fails when source rows have a null or unparseable note_date: no daily partition reads "
        "them, so they are neither released nor quarantined. Fix them in the source."
    ),
)
def source_rows_have_a_note_date(settings: DeidSettings) -> dg.AssetCheckResult:
    resolved = settings.resolve()
    counts = delta_io.undated_source_rows(resolved.get_source_uri(), resolved.storage_options())
    return dg.AssetCheckResult(
        passed=not any(counts.values()),
        severity=dg.AssetCheckSeverity.ERROR,
        metadata=counts,
    )


@dg.asset_check(
    asset=raw_notes,
    description=(
        "Fails when a note id of the partition is also in another partition (the same note "
        "on two days would be released twice)."
    ),
)
def note_ids_unique_across_partitions(
    context: dg.AssetCheckExecutionContext, settings: DeidSettings
) -> dg.AssetCheckResult:
    resolved = settings.resolve()
    uri = table_uri(resolved.storage_root, tables.RAW_NOTES)
    shared = {
        key: delta_io.note_ids_in_other_partitions(uri, key, resolved.storage_options())
        for key in _partition_keys(context)
    }
    ids = sorted({note_id for found in shared.values() for note_id in found})
    return dg.AssetCheckResult(
        passed=not ids,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "note_ids_in_other_partitions": len(ids),
            "per_partition": {key: len(found) for key, found in shared.items()},
            "note_ids": ids[:MAX_IDS_IN_METADATA],
        },
    )

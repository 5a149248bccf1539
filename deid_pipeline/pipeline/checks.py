"""Asset checks: known PHI in the output (blocking), span validity, quarantine rate (warning).

``no_known_phi_in_output`` re-reads the written ``deidentified_notes`` partition and runs the
same leak scan the asset ran before writing (so a note with a leak was already withheld to
quarantine); it fails if the scan finds anything in the table, or if a note that was withheld
is present in the table anyway. Check metadata carries counts and note ids, never text.
"""

from collections.abc import Sequence
from typing import Any

import dagster as dg

from deid_pipeline.notes import RejectReason
from deid_pipeline.pipeline import delta_io, stages
from deid_pipeline.pipeline.delta_io import QUARANTINE_TABLE, table_uri
from deid_pipeline.pipeline.leakcheck import find_known_phi
from deid_pipeline.pipeline.resources import DeidSettings
from deid_pipeline.spans import SpanInvariantError, check_spans

MAX_IDS_IN_METADATA = 20


def _partition_keys(context: dg.AssetCheckExecutionContext) -> Sequence[str]:
    """Partitions of the run; a check run without partitions covers none."""
    if context.has_partition_key_range or context.has_partition_key:
        return context.partition_keys
    return []


def scan_output_partition(settings: DeidSettings, partition_date: str) -> dict[str, Any]:
    """Leak scan over one written output partition plus the withheld-note cross check."""
    root = settings.get_storage_root()
    options = settings.get_storage_options()
    withheld = {
        row["note_id"]
        for row in delta_io.iter_rows(
            delta_io.read_partition(
                table_uri(root, QUARANTINE_TABLE),
                partition_date,
                columns=["note_id", "stage", "reason"],
                storage_options=options,
            )
        )
        if row["stage"] == stages.DEIDENTIFIED_NOTES
        and row["reason"] == RejectReason.LEAK_CHECK_FAILED.value
    }
    take = delta_io.keyed_buffer(
        delta_io.iter_rows(
            delta_io.read_partition(
                table_uri(root, stages.RAW_NOTES),
                partition_date,
                columns=["note_id", "metadata"],
                storage_options=options,
            )
        ),
        "note_id",
    )
    scanned = 0
    leaking: list[str] = []
    withheld_present: list[str] = []
    missing_source: list[str] = []
    for row in delta_io.iter_rows(
        delta_io.read_partition(
            table_uri(root, stages.DEIDENTIFIED_NOTES),
            partition_date,
            columns=["note_id", "deid_text"],
            storage_options=options,
        )
    ):
        scanned += 1
        note_id = row["note_id"]
        if note_id in withheld:
            withheld_present.append(note_id)
        raw = take(note_id)
        if raw is None:
            missing_source.append(note_id)
            continue
        if find_known_phi(row["deid_text"], stages.note_metadata(raw)):
            leaking.append(note_id)
    return {
        "scanned": scanned,
        "withheld": len(withheld),
        "leaking": leaking,
        "withheld_present": withheld_present,
        "missing_source": missing_source,
    }


def quarantine_rate(settings: DeidSettings, partition_date: str) -> tuple[int, int, float]:
    """(quarantined, source rows, rate) of one partition over all stages."""
    root = settings.get_storage_root()
    options = settings.get_storage_options()
    quarantined = delta_io.count_partition(
        table_uri(root, QUARANTINE_TABLE), partition_date, storage_options=options
    )
    raw_rejected = delta_io.count_partition(
        table_uri(root, QUARANTINE_TABLE),
        partition_date,
        equals={"stage": stages.RAW_NOTES},
        storage_options=options,
    )
    raw = delta_io.count_partition(
        table_uri(root, stages.RAW_NOTES), partition_date, storage_options=options
    )
    source_rows = raw + raw_rejected
    return quarantined, source_rows, (quarantined / source_rows if source_rows else 0.0)


def build_checks(assets: dict[str, dg.AssetsDefinition]) -> list[dg.AssetChecksDefinition]:
    """The asset checks, bound to the given asset definitions."""

    @dg.asset_check(
        asset=assets[stages.DEIDENTIFIED_NOTES],
        blocking=True,
        description=(
            "No patient/caregiver name or known metadata value in any output text; no withheld "
            "note in the table."
        ),
    )
    def no_known_phi_in_output(
        context: dg.AssetCheckExecutionContext, settings: DeidSettings
    ) -> dg.AssetCheckResult:
        scanned = withheld = 0
        leaking: list[str] = []
        present: list[str] = []
        missing: list[str] = []
        for key in _partition_keys(context):
            result = scan_output_partition(settings, key)
            scanned += result["scanned"]
            withheld += result["withheld"]
            leaking += result["leaking"]
            present += result["withheld_present"]
            missing += result["missing_source"]
        passed = not leaking and not present and not missing
        return dg.AssetCheckResult(
            passed=passed,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "scanned_rows": scanned,
                "withheld_notes": withheld,
                "leaking_rows": len(leaking),
                "withheld_present": len(present),
                "rows_without_source": len(missing),
                "leaking_note_ids": sorted(leaking + present + missing)[:MAX_IDS_IN_METADATA],
            },
        )

    @dg.asset_check(
        asset=assets[stages.SPANS],
        description="Span offsets inside their note, sorted, non-empty and non-overlapping.",
    )
    def spans_valid(
        context: dg.AssetCheckExecutionContext, settings: DeidSettings
    ) -> dg.AssetCheckResult:
        checked = 0
        invalid: list[str] = []
        for key in _partition_keys(context):
            for row in delta_io.iter_rows(
                delta_io.read_partition(
                    table_uri(settings.get_storage_root(), stages.SPANS),
                    key,
                    columns=["note_id", "text_length", "spans"],
                    storage_options=settings.get_storage_options(),
                )
            ):
                checked += 1
                try:
                    check_spans(stages.spans_from_row(row), int(row["text_length"]))
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
        asset=assets[stages.DEIDENTIFIED_NOTES],
        description="Warns when a partition's quarantine rate passes DEID_QUARANTINE_WARN_RATE.",
    )
    def quarantine_rate_below_threshold(
        context: dg.AssetCheckExecutionContext, settings: DeidSettings
    ) -> dg.AssetCheckResult:
        threshold = settings.get_quarantine_warn_rate()
        rates: dict[str, float] = {}
        total_q = total_rows = 0
        for key in _partition_keys(context):
            quarantined, rows, rate = quarantine_rate(settings, key)
            rates[key] = round(rate, 4)
            total_q += quarantined
            total_rows += rows
        worst = max(rates.values(), default=0.0)
        return dg.AssetCheckResult(
            passed=worst <= threshold,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "threshold": threshold,
                "max_rate": worst,
                "quarantined": total_q,
                "source_rows": total_rows,
                "rate_per_partition": rates,
            },
        )

    return [no_known_phi_in_output, spans_valid, quarantine_rate_below_threshold]

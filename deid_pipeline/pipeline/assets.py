"""The five daily-partitioned assets of the pipeline and the external source table.

``source_notes`` (external, Delta at ``DEID_SOURCE_URI``) -> ``raw_notes`` -> ``request_shards``
-> ``logits`` -> ``spans`` -> ``deidentified_notes``. Each asset is a short function over one
stage of :mod:`deid_pipeline.pipeline.stages` and persists its own partition, so a stage can be
re-run alone: new thresholds re-run ``spans`` and ``deidentified_notes``; a new replacement
policy only ``deidentified_notes``. ``deps`` name every table a stage reads, so lineage and
staleness in the UI are true.

Partitions: one per *note date* (``note_date`` of the source), from ``DEID_PARTITION_START``
(default 2026-01-01, read when the code location loads); a day becomes a partition once it is
over. The key is a processing key and stays inside the hospital; the research output carries
``note_date_shifted`` instead.

Backfills: every asset has ``BackfillPolicy.single_run()``, so a range is one run (and
``dagster asset materialize --partition-range`` works); each asset loops over the range and
replaces each partition separately, and each partition's materialization carries that
partition's own figures. ``logits`` starts one worker for the whole range and sits in the
``gpu`` pool, so across runs only as many inference steps run as the pool allows.

Staleness: ``code_version`` of the bundle-dependent assets is the pipeline version plus the
first 16 hex characters of the bundle digest, so partitions made by an older model show as
stale in the UI after a bundle change.
"""

import os
from collections.abc import Callable
from typing import Any

import dagster as dg

from deid_pipeline import __version__ as PIPELINE_VERSION
from deid_pipeline.pipeline import delta_io, stages, tables
from deid_pipeline.pipeline.resources import DeidSettings, InferenceLauncher
from deid_pipeline.pipeline.stages import StageFigures
from deid_pipeline.settings import PipelineSettings

GROUP = "deid"
SOURCES_GROUP = "sources"
DEFAULT_PARTITION_START = "2026-01-01"


def bundle_code_version() -> str:
    """Pipeline version plus the configured bundle's digest prefix (manifest read only)."""
    try:
        from deid_pipeline.bundle import default_bundle_path, read_manifest

        manifest = read_manifest(os.environ.get("DEID_BUNDLE_DIR") or default_bundle_path())
        return f"{PIPELINE_VERSION}+{manifest.bundle_sha256[:16]}"
    except Exception:
        return f"{PIPELINE_VERSION}+nobundle"


daily_partitions = dg.DailyPartitionsDefinition(
    start_date=os.environ.get("DEID_PARTITION_START") or DEFAULT_PARTITION_START, end_offset=0
)
BUNDLE_CODE_VERSION = bundle_code_version()
_STAGE = {
    "partitions_def": daily_partitions,
    "backfill_policy": dg.BackfillPolicy.single_run(),
    "group_name": GROUP,
}


def _materialize(
    context: dg.AssetExecutionContext,
    figures_by_partition: dict[str, StageFigures],
    **run_metadata: Any,
) -> dg.MaterializeResult:
    """Each partition's own figures on its materialization; what the run shares on all."""
    for key, figures in figures_by_partition.items():
        context.add_asset_metadata(figures.metadata(), partition_key=key)
        context.log.info(
            f"{context.asset_key.to_user_string()} {key}: {figures.rows} rows, "
            f"{figures.quarantined} quarantined, {figures.withheld} withheld, "
            f"{figures.elapsed_seconds:.2f} s"
        )
    return dg.MaterializeResult(
        metadata={
            "run_id": context.run.run_id,
            "partitions_in_run": len(figures_by_partition),
            # Peak RSS of this step's process (its own under the multiprocess executor).
            "peak_rss_mib": stages.peak_rss_mib(),
            **run_metadata,
        }
    )


def _run_stage(
    context: dg.AssetExecutionContext,
    settings: DeidSettings,
    stage: Callable[[PipelineSettings, str, str], StageFigures],
    **run_metadata: Any,
) -> dg.MaterializeResult:
    resolved = settings.resolve()
    figures = {key: stage(resolved, key, context.run.run_id) for key in context.partition_keys}
    return _materialize(context, figures, **run_metadata)


source_notes = dg.AssetSpec(
    key=tables.SOURCE_NOTES,
    description=(
        "External Delta table of clinical notes at DEID_SOURCE_URI: note_id, patient_id, "
        "note_date (date), text, metadata (JSON string, may be null)."
    ),
    group_name=SOURCES_GROUP,
    kinds={"delta"},
    partitions_def=daily_partitions,
)


@dg.asset(
    deps=[source_notes],
    code_version=PIPELINE_VERSION,
    kinds={"delta", "python"},
    description="Validated snapshot of one day of source notes; bad records to quarantine.",
    **_STAGE,
)
def raw_notes(context: dg.AssetExecutionContext, settings: DeidSettings) -> dg.MaterializeResult:
    return _run_stage(context, settings, stages.run_raw_notes)


@dg.asset(
    deps=[raw_notes],
    code_version=BUNDLE_CODE_VERSION,
    kinds={"delta", "arrow"},
    description="Tokenized, windowed notes packed into shard files (token ids, offsets).",
    **_STAGE,
)
def request_shards(
    context: dg.AssetExecutionContext, settings: DeidSettings
) -> dg.MaterializeResult:
    return _run_stage(context, settings, stages.run_request_shards)


@dg.asset(
    deps=[request_shards],
    code_version=BUNDLE_CODE_VERSION,
    kinds={"delta", "python"},
    pool="gpu",
    description="fp16 logits per shard from the inference worker (Dagster Pipes).",
    **_STAGE,
)
def logits(
    context: dg.AssetExecutionContext, settings: DeidSettings, launcher: InferenceLauncher
) -> dg.MaterializeResult:
    resolved = settings.resolve()
    requests = {
        key: stages.worker_params(
            resolved,
            key,
            delta_io.run_folder(resolved.storage_root, tables.LOGITS, key, context.run.run_id),
        )
        for key in context.partition_keys
    }
    # One worker for the whole run (one model load, one pod for a backfill range); each
    # shard names its partition's run folder.
    shards = [shard for params in requests.values() for shard in params["shards"]]
    messages: list[Any] = []
    worker: dict[str, Any] = {}
    if shards:
        first = next(iter(requests.values()))
        invocation = launcher.launch(context, {**first, "shards": shards})
        messages = list(invocation.get_custom_messages())
        reported = invocation.get_materialize_result().metadata or {}
        worker = {name: getattr(value, "value", value) for name, value in reported.items()}
    figures = {
        key: stages.commit_logits(resolved, key, context.run.run_id, params, messages, worker)
        for key, params in requests.items()
    }
    worker_peak = stages.peak_rss_mib(children=True)
    if worker_peak > 0:
        # The local worker is this step's child; a pod's memory is measured by the cluster.
        worker["worker_peak_rss_mib"] = worker_peak
    return _materialize(context, figures, **worker)


@dg.asset(
    deps=[logits, request_shards, raw_notes],
    code_version=BUNDLE_CODE_VERSION,
    kinds={"delta", "python"},
    description=(
        "Final PHI spans per note: decoded model spans plus metadata and pattern recognizers; "
        "refuses logits of another bundle."
    ),
    **_STAGE,
)
def spans(context: dg.AssetExecutionContext, settings: DeidSettings) -> dg.MaterializeResult:
    resolved = settings.resolve()
    knobs = resolved.detection(resolved.load_bundle()).knobs()
    return _run_stage(context, settings, stages.run_spans, **knobs)


@dg.asset(
    deps=[spans, request_shards, raw_notes],
    code_version=PIPELINE_VERSION,
    kinds={"delta", "python"},
    description=(
        "De-identified notes with provenance; notes failing the leak check are withheld "
        "to quarantine."
    ),
    **_STAGE,
)
def deidentified_notes(
    context: dg.AssetExecutionContext, settings: DeidSettings
) -> dg.MaterializeResult:
    resolved = settings.resolve()
    policy = resolved.replacement_policy().model_dump(mode="json")
    return _run_stage(context, settings, stages.run_deidentified_notes, replacement_policy=policy)

"""The five daily-partitioned assets of the pipeline and the external source table.

``source_notes`` (external, Delta at ``DEID_SOURCE_URI``) -> ``raw_notes`` -> ``request_shards``
-> ``logits`` -> ``spans`` -> ``deidentified_notes``. Each asset persists its own partition
(see :mod:`deid_pipeline.pipeline.stages`), so a stage can be re-run alone; e.g. a new
replacement policy only re-runs ``deidentified_notes``.

Partitions and dates: the partition key is the *note date* (``note_date`` of the source), one
partition per day, starting at ``DEID_PARTITION_START`` (default 2026-01-01); a day becomes a
partition only once it is over. Every table stores the key as a ``partition_date`` string
column; it is a processing key and stays inside the hospital. The research output never needs
it to be real: ``deidentified_notes`` also carries ``note_date_shifted``, the note date moved by
the patient's HMAC offset (the same offset as the dates inside the text), and that is the date
column to hand out; drop ``partition_date`` (a real date) from any extract that leaves.

Backfills: every asset has ``BackfillPolicy.single_run()``, so a backfill over a range is one
run (and ``dagster asset materialize --partition-range`` works); inside the run each asset
loops over its partition keys, replacing each partition separately. ``logits`` starts one
worker per partition inside that run and sits in the ``gpu`` concurrency pool, so across runs
only as many inference steps run as the pool allows (1 on the embedded instance).

Staleness: ``code_version`` of the bundle-dependent assets is the pipeline version plus the
first 16 hex characters of the bundle digest, so partitions made by an older model show as
stale in the UI after a bundle change.
"""

import os
from collections.abc import Callable, Sequence
from typing import Any

import dagster as dg

from deid_pipeline import __version__ as PIPELINE_VERSION
from deid_pipeline.pipeline import delta_io, stages
from deid_pipeline.pipeline.resources import DeidSettings, InferenceLauncher
from deid_pipeline.pipeline.stages import StageFigures

GROUP = "deid"
DEFAULT_PARTITION_START = "2026-01-01"


def partition_start() -> str:
    """First partition day: ``DEID_PARTITION_START`` or 2026-01-01."""
    return os.environ.get("DEID_PARTITION_START") or DEFAULT_PARTITION_START


def make_partitions_def(start: str | None = None) -> dg.DailyPartitionsDefinition:
    """Daily partitions over the note date; ``end_offset=0`` leaves out the running day."""
    return dg.DailyPartitionsDefinition(start_date=start or partition_start(), end_offset=0)


def bundle_code_version(bundle_dir: str | None) -> str:
    """Pipeline version plus the bundle digest prefix (manifest read only, no file hashing)."""
    try:
        from deid_pipeline.bundle import default_bundle_path, read_manifest

        manifest = read_manifest(bundle_dir or default_bundle_path())
        return f"{PIPELINE_VERSION}+{manifest.bundle_sha256[:16]}"
    except Exception:
        return f"{PIPELINE_VERSION}+nobundle"


def _keys(context: dg.AssetExecutionContext) -> Sequence[str]:
    return context.partition_keys


def _result(
    context: dg.AssetExecutionContext, figures: StageFigures, per_partition: dict[str, Any]
) -> dg.MaterializeResult:
    metadata = figures.metadata()
    metadata["partitions"] = len(per_partition)
    metadata["per_partition"] = per_partition
    metadata["run_id"] = context.run.run_id
    # Peak RSS of the process that ran this step (its own process under the default
    # multiprocess executor): what a pod or VM for this stage must hold.
    metadata["peak_rss_mib"] = stages.peak_rss_mib()
    context.log.info(
        f"{context.asset_key.to_user_string()}: {figures.rows} rows, "
        f"{figures.quarantined} quarantined, {figures.elapsed_seconds:.2f} s"
    )
    return dg.MaterializeResult(metadata=metadata)


def _run_stage(
    context: dg.AssetExecutionContext,
    settings: DeidSettings,
    stage: Callable[[DeidSettings, str, str], StageFigures],
) -> dg.MaterializeResult:
    total = StageFigures()
    per_partition: dict[str, Any] = {}
    for key in _keys(context):
        figures = stage(settings, key, context.run.run_id)
        total.add(figures)
        per_partition[key] = {
            "rows": figures.rows,
            "quarantined": figures.quarantined,
            "shards": figures.shards,
        }
    return _result(context, total, per_partition)


def build_assets(
    partitions_def: dg.PartitionsDefinition, code_version: str
) -> list[dg.AssetsDefinition | dg.AssetSpec]:
    """The source spec and the five stage assets on one partitions definition."""
    policy = dg.BackfillPolicy.single_run()
    common: dict[str, Any] = {
        "partitions_def": partitions_def,
        "backfill_policy": policy,
        "group_name": GROUP,
    }

    source_notes = dg.AssetSpec(
        key=stages.SOURCE_NOTES,
        description=(
            "External Delta table of clinical notes at DEID_SOURCE_URI: note_id, patient_id, "
            "note_date (date), text, metadata (JSON string, may be null)."
        ),
        group_name=GROUP,
        kinds={"delta"},
        partitions_def=partitions_def,
    )

    @dg.asset(
        deps=[source_notes],
        code_version=PIPELINE_VERSION,
        kinds={"delta", "python"},
        description="Validated snapshot of one day of source notes; bad records to quarantine.",
        **common,
    )
    def raw_notes(
        context: dg.AssetExecutionContext, settings: DeidSettings
    ) -> dg.MaterializeResult:
        return _run_stage(context, settings, stages.run_raw_notes)

    @dg.asset(
        deps=[raw_notes],
        code_version=code_version,
        kinds={"delta", "arrow"},
        description="Tokenized, windowed notes packed into shard files (token ids, offsets).",
        **common,
    )
    def request_shards(
        context: dg.AssetExecutionContext, settings: DeidSettings
    ) -> dg.MaterializeResult:
        return _run_stage(context, settings, stages.run_request_shards)

    @dg.asset(
        deps=[request_shards],
        code_version=code_version,
        kinds={"delta", "pytorch"},
        pool="gpu",
        description="fp16 logits per shard from the inference worker (Dagster Pipes).",
        **common,
    )
    def logits(
        context: dg.AssetExecutionContext, settings: DeidSettings, launcher: InferenceLauncher
    ) -> dg.MaterializeResult:
        total = StageFigures()
        per_partition: dict[str, Any] = {}
        root = settings.get_storage_root()
        requests = {
            key: stages.worker_params(
                settings, key, delta_io.run_folder(root, stages.LOGITS, key, context.run.run_id)
            )
            for key in _keys(context)
        }
        # One worker for the whole run (one model load, one pod for a backfill range); each
        # shard names its partition's run folder.
        shards = [shard for params in requests.values() for shard in params["shards"]]
        messages: list[Any] = []
        worker_metadata: dict[str, Any] = {}
        if shards:
            first = next(iter(requests.values()))
            invocation = launcher.launch(context, {**first, "shards": shards})
            messages = list(invocation.get_custom_messages())
            reported = invocation.get_materialize_result().metadata or {}
            worker_metadata = {name: getattr(v, "value", v) for name, v in reported.items()}
        for key, params in requests.items():
            figures = stages.commit_logits(
                settings, key, context.run.run_id, params, messages, worker_metadata
            )
            total.add(figures)
            per_partition[key] = {"shards": figures.shards, "windows": figures.windows}
        total.elapsed_seconds = float(worker_metadata.get("worker_elapsed_seconds", 0.0))
        total.extra.update(worker_metadata)
        worker_peak = stages.peak_rss_mib(children=True)
        if worker_peak > 0:
            # The local worker is this step's child; a pod's memory is measured by the cluster.
            total.extra["worker_peak_rss_mib"] = worker_peak
        return _result(context, total, per_partition)

    @dg.asset(
        deps=[logits],
        code_version=code_version,
        kinds={"delta", "python"},
        description="Final PHI spans per note: decoded model spans plus metadata and patterns.",
        **common,
    )
    def spans(context: dg.AssetExecutionContext, settings: DeidSettings) -> dg.MaterializeResult:
        return _run_stage(context, settings, stages.run_spans)

    @dg.asset(
        deps=[spans],
        code_version=PIPELINE_VERSION,
        kinds={"delta", "python"},
        description=(
            "De-identified notes with provenance; notes failing the leak check are withheld "
            "to quarantine."
        ),
        **common,
    )
    def deidentified_notes(
        context: dg.AssetExecutionContext, settings: DeidSettings
    ) -> dg.MaterializeResult:
        return _run_stage(context, settings, stages.run_deidentified_notes)

    return [source_notes, raw_notes, request_shards, logits, spans, deidentified_notes]

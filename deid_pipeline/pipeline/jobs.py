"""The all-stages job (selected by asset group) and its daily schedule."""

from __future__ import annotations

import dagster as dg

from deid_pipeline.pipeline.assets import GROUP

JOB_NAME = "deid_daily_job"

#: Every stage asset of the group, in pipeline order.
STAGES = ("raw_notes", "request_shards", "logits", "spans", "deidentified_notes")

deid_daily_job = dg.define_asset_job(
    name=JOB_NAME,
    selection=dg.AssetSelection.groups(GROUP),
    description="raw_notes -> request_shards -> logits -> spans -> deidentified_notes",
)

#: Daily at 02:00 for the partition of the day that just ended (the last complete day).
deid_daily_schedule = dg.build_schedule_from_partitioned_job(
    deid_daily_job, hour_of_day=2, minute_of_hour=0, name="deid_daily_schedule"
)


def materialize_partitions(
    defs: dg.Definitions,
    partition_keys: list[str],
    *,
    instance: dg.DagsterInstance | None = None,
    raise_on_error: bool = True,
    console_log_level: str = "DEBUG",
) -> dg.ExecuteInProcessResult:
    """Run the all-stages job in-process for one partition or a contiguous range (one run).

    A range is passed the way a single-run backfill passes it (partition range tags), so the
    assets see every key in ``context.partition_keys``.
    """
    job = defs.resolve_job_def(JOB_NAME)
    # Only the console copy of the events is filtered; the event log keeps every event.
    run_config = {"loggers": {"console": {"config": {"log_level": console_log_level}}}}
    keys = sorted(partition_keys)
    if len(keys) == 1:
        return job.execute_in_process(
            run_config=run_config,
            partition_key=keys[0],
            instance=instance,
            raise_on_error=raise_on_error,
        )
    return job.execute_in_process(
        run_config=run_config,
        instance=instance,
        raise_on_error=raise_on_error,
        tags={
            "dagster/asset_partition_range_start": keys[0],
            "dagster/asset_partition_range_end": keys[-1],
        },
    )

"""Dagster code location of the pipeline: ``dagster dev -m deid_pipeline.definitions``.

Assets, checks, job and schedule are module-level definitions in :mod:`deid_pipeline.pipeline`
(one module per concern); the resources read their settings from the ``DEID_*`` environment
when a run starts (see :mod:`deid_pipeline.settings`), so this module holds no configuration.
"""

from __future__ import annotations

import dagster as dg

from deid_pipeline.pipeline import assets, checks
from deid_pipeline.pipeline.jobs import deid_daily_job, deid_daily_schedule
from deid_pipeline.pipeline.resources import DeidSettings, launcher_from_env
from deid_pipeline.pipeline.sensors import dead_run_reaper

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([assets]),
    asset_checks=dg.load_asset_checks_from_modules([checks]),
    jobs=[deid_daily_job],
    schedules=[deid_daily_schedule],
    sensors=[dead_run_reaper],
    resources={"settings": DeidSettings(), "launcher": launcher_from_env()},
)

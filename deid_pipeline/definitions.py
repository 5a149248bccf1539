"""Dagster code location of the pipeline: ``dagster dev -m deid_pipeline.definitions``.

Everything is built by :func:`build_definitions`, so tests (and other deployments) can build a
second ``Definitions`` with their own settings and launcher; the module-level ``defs`` uses the
environment (``DEID_*`` variables, see :mod:`deid_pipeline.pipeline.resources`).
"""

from __future__ import annotations

import dagster as dg

from deid_pipeline.pipeline.assets import build_assets, bundle_code_version, make_partitions_def
from deid_pipeline.pipeline.checks import build_checks
from deid_pipeline.pipeline.jobs import build_job, build_schedule
from deid_pipeline.pipeline.resources import (
    DeidSettings,
    InferenceLauncher,
    launcher_from_env,
)


def build_definitions(
    settings: DeidSettings | None = None,
    launcher: InferenceLauncher | None = None,
    partition_start: str | None = None,
) -> dg.Definitions:
    """Assets, checks, job, schedule and resources of the pipeline."""
    settings = settings or DeidSettings()
    partitions_def = make_partitions_def(partition_start)
    # The bundle folder is resolved now for code_version only; runs resolve it again.
    code_version = bundle_code_version(settings.bundle_dir or _bundle_dir_from_env())
    assets = build_assets(partitions_def, code_version)
    by_name = {
        spec.key.to_user_string(): spec for spec in assets if isinstance(spec, dg.AssetsDefinition)
    }
    job = build_job(partitions_def)
    return dg.Definitions(
        assets=assets,
        asset_checks=build_checks(by_name),
        jobs=[job],
        schedules=[build_schedule(job)],
        resources={"settings": settings, "launcher": launcher or launcher_from_env()},
    )


def _bundle_dir_from_env() -> str | None:
    import os

    return os.environ.get("DEID_BUNDLE_DIR") or None


defs = build_definitions()

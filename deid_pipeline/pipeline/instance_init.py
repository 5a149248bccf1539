"""Initialise the Dagster instance once, before anything uses it in parallel.

SQLite instances (the embedded default) are not safe to initialise from two processes at once:
two ``dagster asset materialize`` commands started together on a fresh ``DAGSTER_HOME`` can
both create the run and event-log databases and leave them with two alembic heads, unusable.
``python -m deid_pipeline.pipeline.instance_init`` (run by ``make demo`` and ``make ui``, and
to be run once after deploying a fresh ``DAGSTER_HOME``) creates and migrates the storage under
an exclusive file lock, so concurrent first starts wait for one another. For concurrent
production use, run Dagster on Postgres (dagster_home/README.md), not SQLite.
"""

from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path

import dagster as dg

__all__ = ["LOCK_NAME", "init_instance"]

LOCK_NAME = ".instance-init.lock"


def init_instance(home: str | os.PathLike[str] | None = None) -> Path:
    """Create and migrate the instance storage of ``home`` (default ``$DAGSTER_HOME``) under
    an exclusive lock; returns the home. Safe to call from many processes at once."""
    folder = Path(home or os.environ.get("DAGSTER_HOME") or "")
    if not str(folder):
        raise SystemExit("DAGSTER_HOME is not set")
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK_NAME, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with dg.DagsterInstance.from_config(str(folder)) as instance:
                instance.upgrade()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return folder


def main() -> None:
    home = init_instance(sys.argv[1] if len(sys.argv) > 1 else None)
    print(f"Dagster instance ready: {home}")


if __name__ == "__main__":
    main()

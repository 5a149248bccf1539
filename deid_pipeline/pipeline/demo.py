"""End-to-end demo: ``python -m deid_pipeline.pipeline.demo``.

1. Generates a small synthetic source table (300 notes over 3 days, ``deid_pipeline.synth``)
   at ``DEID_SOURCE_URI`` (default ``data/demo/source_notes``).
2. Materializes every asset for the middle day through the all-stages job against the
   ``DAGSTER_HOME`` instance (default: ``dagster_home/`` of the checkout), so the run shows in
   ``dagster dev`` afterwards.
3. Prints a summary: rows in, quarantined, withheld, out, leak check, docs/s, table locations.

The demo runs in DEMO SECRET MODE: dates, pseudonyms and surrogates are keyed with the marked
public demo key, which is fine for synthetic data and never for real notes (production refuses
to run without ``DEID_SECRET_KEY``). Without ``DEID_BUNDLE_DIR`` and without
a ``bundle/`` folder in the checkout it builds a tiny RANDOM model bundle, so the model finds
nothing useful and the metadata and pattern recognizers do the work; point
``DEID_BUNDLE_DIR`` at a trained bundle to see the model's part.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
import warnings
from pathlib import Path

import dagster as dg

from deid_pipeline.pipeline import delta_io, tables
from deid_pipeline.settings import checkout_root

N_NOTES = 300
DAYS = 3
START = dt.date(2026, 1, 1)


def _bundle_dir(data_dir: Path) -> str:
    """A bundle folder: the configured one, the checkout's ``bundle/``, else a tiny random one."""
    from deid_pipeline.bundle import default_bundle_path

    configured = os.environ.get("DEID_BUNDLE_DIR")
    if configured:
        return configured
    default = default_bundle_path()
    if (default / "manifest.json").exists():
        return str(default)
    tiny = data_dir / "demo_bundle"
    if not (tiny / "manifest.json").exists():
        from deid_pipeline.testing import make_tiny_bundle

        print("no model bundle configured: building a tiny RANDOM bundle for the demo")
        make_tiny_bundle(tiny)
    return str(tiny)


def main(argv: list[str] | None = None) -> int:
    """Run the demo and print its summary; returns the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=N_NOTES)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    # Dagster marks backfill policies beta and Pipes parts preview; the demo prints a summary.
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    warnings.filterwarnings("ignore", category=dg.PreviewWarning)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    checkout = checkout_root()
    data_dir = checkout / "data" / "demo"
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DAGSTER_HOME", str(checkout / "dagster_home"))
    os.environ.setdefault("DEID_STORAGE_ROOT", str(checkout / "data" / "lake"))
    os.environ.setdefault("DEID_SOURCE_URI", str(data_dir / "source_notes"))
    os.environ["DEID_BUNDLE_DIR"] = _bundle_dir(data_dir)
    os.environ["DEID_DEMO_MODE"] = "1"
    Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)

    from deid_pipeline.definitions import defs
    from deid_pipeline.pipeline.checks import scan_output_partition
    from deid_pipeline.pipeline.jobs import materialize_partitions
    from deid_pipeline.settings import PipelineSettings
    from deid_pipeline.synth import generate_notes, write_source_table

    source_uri = os.environ["DEID_SOURCE_URI"]
    written = write_source_table(
        source_uri, generate_notes(args.notes, seed=args.seed, start_date=START, days=DAYS)
    )
    day = (START + dt.timedelta(days=DAYS // 2)).isoformat()
    print(f"DEMO SECRET MODE (marked demo key, synthetic data only); {written} notes written")

    settings = PipelineSettings()
    instance = dg.DagsterInstance.get()
    started = time.perf_counter()
    result = materialize_partitions(
        defs, [day], instance=instance, raise_on_error=False, console_log_level="WARNING"
    )
    elapsed = time.perf_counter() - started

    root = settings.storage_root
    quarantine = list(
        delta_io.iter_rows(
            delta_io.read_partition(delta_io.table_uri(root, delta_io.QUARANTINE_TABLE), day)
        )
    )
    withheld = sum(1 for row in quarantine if row["stage"] == tables.DEIDENTIFIED_NOTES)
    rows_in = sum(
        batch.num_rows for batch in delta_io.source_batches(source_uri, dt.date.fromisoformat(day))
    )
    rows_out = delta_io.count_partition(delta_io.table_uri(root, tables.DEIDENTIFIED_NOTES), day)
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    scan = scan_output_partition(settings, day) if result.success else None
    print(f"run {result.run_id}: {'success' if result.success else 'FAILED'} in {elapsed:.1f} s")
    print(f"partition          {day}")
    print(f"rows in            {rows_in}")
    print(f"quarantined        {len(quarantine) - withheld} (validation and window limit)")
    print(f"withheld (leaks)   {withheld}")
    print(f"rows out           {rows_out}")
    print(f"leak check         {'passed' if checks.get('no_known_phi_in_output') else 'FAILED'}")
    if scan is not None:
        print(f"  rescan           {scan['scanned']} rows, {len(scan['leaking'])} with known PHI")
    print(f"checks             {checks}")
    print(f"docs/s (all stages) {rows_out / elapsed:.1f}")
    print(f"tables under       {root} (raw_notes, request_shards, logits, spans, ")
    print("                   deidentified_notes, quarantine; files/ holds shards and logits)")
    print(f"Dagster instance   {instance.root_directory} (see the run in `dagster dev`)")
    return 0 if result.success else 1


if __name__ == "__main__":
    raise SystemExit(main())

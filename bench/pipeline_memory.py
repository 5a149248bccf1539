"""Peak memory of a whole pipeline run over one partition: ``python bench/pipeline_memory.py N``.

Generates N synthetic notes for one day into a temp folder, runs every asset for that day
through the all-stages job (in-process, temp Dagster instance, inference worker as a Pipes
subprocess) and prints peak RSS of the orchestrating process and of the worker (the largest
child), plus throughput. Every stage streams, so peak RSS should not grow with N.
Uses ``DEID_BUNDLE_DIR`` when set, else a tiny random bundle (built in the temp folder) whose
thresholds are ``--threshold`` (default 1.0: no model spans; random logits otherwise make
decoding, not the pipeline, the measured cost).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notes", type=int, nargs="?", default=2000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--threshold",
        type=float,
        default=1.0,
        help="tiny bundle threshold for every label; 1.0 (default) makes the random model "
        "find nothing, so the run measures the pipeline rather than decoding random spans",
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    day = dt.date(2026, 1, 1)

    with tempfile.TemporaryDirectory(prefix="deid-bench-") as tmp:
        folder = Path(tmp)
        os.environ["DEID_STORAGE_ROOT"] = str(folder / "lake")
        os.environ["DEID_SOURCE_URI"] = str(folder / "source_notes")
        os.environ["DEID_DEMO_MODE"] = "1"
        os.environ.setdefault("DEID_DEVICE", "cpu")
        if not os.environ.get("DEID_BUNDLE_DIR"):
            from deid_pipeline.labels import DEFAULT_ENTITY_LABELS
            from deid_pipeline.testing import make_tiny_bundle

            thresholds = {label: args.threshold for label in DEFAULT_ENTITY_LABELS}
            make_tiny_bundle(folder / "bundle", thresholds=thresholds)
            os.environ["DEID_BUNDLE_DIR"] = str(folder / "bundle")

        from deid_pipeline.synth import generate_notes, write_source_table

        started = time.perf_counter()
        written = write_source_table(
            os.environ["DEID_SOURCE_URI"],
            generate_notes(args.notes, seed=args.seed, start_date=day, days=1),
        )
        generated = time.perf_counter() - started
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

        import dagster as dg

        from deid_pipeline.definitions import build_definitions
        from deid_pipeline.pipeline import delta_io
        from deid_pipeline.pipeline.jobs import materialize_partitions

        (folder / "dagster_home").mkdir()
        with dg.instance_for_test(temp_dir=str(folder / "dagster_home")) as instance:
            started = time.perf_counter()
            result = materialize_partitions(
                build_definitions(), [day.isoformat()], instance=instance
            )
            elapsed = time.perf_counter() - started
        rows_out = delta_io.count_partition(
            delta_io.table_uri(os.environ["DEID_STORAGE_ROOT"], "deidentified_notes"),
            day.isoformat(),
        )
        # ru_maxrss is in KiB on Linux; RUSAGE_CHILDREN is the largest waited-for child.
        self_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"notes                      {written} (generated in {generated:.1f} s)")
        print(f"run                        {'success' if result.success else 'FAILED'}")
        print(f"rows out                   {rows_out}")
        print(f"pipeline wall time         {elapsed:.1f} s ({rows_out / elapsed:.1f} docs/s)")
        print(f"peak RSS before the run    {rss_before / 1024:.0f} MiB (generator + imports)")
        print(f"peak RSS orchestrator      {self_peak:.0f} MiB")
        print(f"peak RSS worker (child)    {child_peak:.0f} MiB")
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())

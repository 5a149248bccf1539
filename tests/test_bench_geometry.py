"""bench/padding_efficiency.py --geometry arithmetic and bench/profile_cli.py buckets (no model)."""

from __future__ import annotations

import cProfile
import importlib.util
import pstats
import sys
from pathlib import Path
from types import ModuleType

import pytest

from deid_pipeline.windows import window_count

ROOT = Path(__file__).resolve().parent.parent


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_geometry_table_counts_windows_and_waste() -> None:
    padding = _load("padding_efficiency")
    counts = [5, 40, 254, 255, 300, 1000, 2654]
    rows = padding.geometry_table(counts, [64, 256], [16, 64], 4096, 16)
    assert [(row["length"], row["overlap"]) for row in rows] == [
        (64, 16),
        (256, 16),
        (256, 64),
    ]  # fmt: skip  (64/64 is no valid geometry)
    for row in rows:
        expected = sum(window_count(n, row["length"], row["overlap"]) for n in counts)
        assert row["windows_per_note"] == pytest.approx(expected / len(counts))
        assert 0 <= row["padding"] < 1 and 0 <= row["overlap_share"] < 1
        assert row["waste"] == pytest.approx(row["padding"] + row["overlap_share"])
        # a short last window never computes more than one anchored at the note's end
        assert row["waste_short_tail"] <= row["waste"] + 1e-9
        assert row["gflop_per_note"] > 0
    # more overlap, more waste
    assert rows[2]["waste"] > rows[1]["waste"]


def test_profile_buckets_from_a_profile() -> None:
    profile_cli = _load("profile_cli")
    profile = cProfile.Profile()
    profile.enable()
    sum(range(1000))
    profile.disable()
    figures = profile_cli.buckets(pstats.Stats(profile))
    assert set(figures) >= {"startup", "model", "recognizers", "release", "other", "total"}
    assert figures["model"] == 0.0 and figures["other"] == 0.0

"""TensorRT plumbing that needs no GPU: optimisation profiles, plan names, the plan cache,
refusal of a plan built for another bundle, manifest entries and the worker's options.

The build itself (``build_plan_bytes``) and the runtime need TensorRT and a GPU; here a fake
builder stands in for TensorRT and writes bytes where the serialized engine would go.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

from deid_pipeline.batching import plan_microbatches
from deid_pipeline.bundle import Bundle, add_bundle_files, load_bundle
from deid_pipeline.cli import main
from deid_pipeline.tensorrt_build import (
    GpuInfo,
    PlanError,
    PlanMismatchError,
    ProfileShapes,
    ensure_plan,
    find_plan,
    list_plans,
    optimisation_profiles,
    plan_stem,
    select_profile,
)
from deid_pipeline.worker import WorkerParams, runtime_options

T4 = GpuInfo("Tesla T4", (7, 5))
L4 = GpuInfo("NVIDIA L4", (8, 9))
TRT = "10.8.0"


def _fake_builder(calls: list[int]):
    def build(onnx: Path, profiles: list[ProfileShapes], fp16: bool) -> bytes:
        assert onnx.name == "model.onnx" and fp16
        calls.append(len(profiles))
        return b"serialized-engine:" + json.dumps([p.to_json() for p in profiles]).encode()

    return build


@pytest.mark.parametrize(
    ("window_length", "budget", "max_batch", "expected"),
    [
        # The default bundle (256) and worker settings (4,096 tokens, 16 windows): one box.
        (256, 4096, 16, [((1, 1), (16, 256), (16, 256))]),
        # A 512 window: full batches up to width 256, then at most 15 windows of 257+ tokens.
        (512, 4096, 16, [((1, 1), (16, 256), (16, 256)), ((1, 257), (8, 512), (15, 512))]),
        # A budget below one window: long windows run alone.
        (512, 256, 16, [((1, 1), (16, 16), (16, 16)), ((1, 17), (1, 512), (15, 512))]),
    ],
)
def test_profiles_follow_the_microbatching_settings(
    window_length: int, budget: int, max_batch: int, expected: list[tuple]
) -> None:
    profiles = optimisation_profiles(window_length, budget, max_batch)
    assert [(p.min, p.opt, p.max) for p in profiles] == expected


@pytest.mark.parametrize(
    ("window_length", "budget", "max_batch"),
    [(256, 4096, 16), (512, 4096, 16), (512, 2048, 32), (128, 1000, 3)],
)
def test_every_microbatch_the_worker_forms_fits_a_profile(
    window_length: int, budget: int, max_batch: int
) -> None:
    profiles = optimisation_profiles(window_length, budget, max_batch)
    rng = random.Random(window_length + budget)
    for _ in range(50):
        lengths = [rng.randint(3, window_length) for _ in range(rng.randint(1, 200))]
        for batch in plan_microbatches(lengths, budget, max_batch):
            width = max(lengths[index] for index in batch)
            select_profile(profiles, len(batch), width)  # raises when no profile covers it
    with pytest.raises(ValueError, match="outside every optimisation profile"):
        select_profile(profiles, max_batch + 1, 3)


def test_plan_name_carries_bundle_digest_gpu_and_tensorrt_version() -> None:
    digest = "ab" * 32
    stem = plan_stem("deid-nl-e5s", digest, (7, 5), TRT, 16, 4096)
    assert stem == f"deid-nl-e5s-{digest[:16]}.sm75.trt10.8.0.b16t4096.fp16"
    assert plan_stem("deid-nl-e5s", digest, "9.0", TRT, 16, 4096) != stem
    assert plan_stem("deid-nl-e5s", digest, (7, 5), "10.9.0", 16, 4096) != stem
    with pytest.raises(ValueError):
        plan_stem("x", digest, (7, 5), "10.8; rm -rf /", 16, 4096)


def test_plan_is_built_once_per_gpu_and_reused(tiny_bundle: Bundle, tmp_path: Path) -> None:
    calls: list[int] = []
    plans = tmp_path / "plans"
    plan, info = ensure_plan(
        plans, tiny_bundle, gpu=T4, trt_version=TRT, builder=_fake_builder(calls)
    )
    again, _ = ensure_plan(
        plans, tiny_bundle, gpu=T4, trt_version=TRT, builder=_fake_builder(calls)
    )
    assert again == plan and calls == [1]  # cached: no second build
    assert info.bundle_sha256 == tiny_bundle.sha256
    assert info.compute_capability == "sm75" and info.gpu_name == "Tesla T4"
    prefix = f"{tiny_bundle.manifest.name}-{tiny_bundle.sha256[:16]}.sm75.trt{TRT}."
    assert plan.name.startswith(prefix)
    ensure_plan(plans, tiny_bundle, gpu=L4, trt_version=TRT, builder=_fake_builder(calls))
    assert calls == [1, 1]  # another compute capability: its own plan
    assert sorted(p.compute_capability for p in list_plans(plans)) == ["sm75", "sm89"]
    # build="never" (the worker's default) refuses when nothing is cached.
    with pytest.raises(PlanError, match="no TensorRT plan"):
        ensure_plan(tmp_path / "empty", tiny_bundle, gpu=T4, trt_version=TRT, build="never")
    # Another microbatching needs another plan (its name says so).
    assert find_plan(plans, tiny_bundle, (7, 5), TRT, token_budget=8192, max_batch=32) is None


def test_plan_of_another_bundle_is_refused(
    tiny_bundle: Bundle, tiny_bundle_dir: Path, tmp_path: Path
) -> None:
    from deid_pipeline.testing import make_tiny_bundle

    other = make_tiny_bundle(
        tmp_path / "other", window_length=64, window_overlap=16, seed=1, with_onnx=True
    )
    assert other.sha256 != tiny_bundle.sha256 and other.manifest.name == tiny_bundle.manifest.name
    plans = tmp_path / "plans"
    other_plan, _ = ensure_plan(plans, other, gpu=T4, trt_version=TRT, builder=_fake_builder([]))
    # Someone copies the other bundle's plan (and sidecar) under this bundle's plan name.
    stem = plan_stem(tiny_bundle.manifest.name, tiny_bundle.sha256, (7, 5), TRT, 16, 4096)
    shutil.copyfile(other_plan, plans / f"{stem}.plan")
    shutil.copyfile(other_plan.with_name(other_plan.name + ".json"), plans / f"{stem}.plan.json")
    with pytest.raises(PlanMismatchError):
        find_plan(plans, tiny_bundle, (7, 5), TRT)
    calls: list[int] = []
    with pytest.raises(PlanMismatchError):  # never silently rebuilt over either
        ensure_plan(plans, tiny_bundle, gpu=T4, trt_version=TRT, builder=_fake_builder(calls))
    assert calls == []


def test_tampered_or_orphan_plan_is_refused(tiny_bundle: Bundle, tmp_path: Path) -> None:
    plans = tmp_path / "plans"
    plan, info = ensure_plan(plans, tiny_bundle, gpu=T4, trt_version=TRT, builder=_fake_builder([]))
    plan.write_bytes(b"other bytes")
    with pytest.raises(PlanMismatchError, match="sha256"):
        find_plan(plans, tiny_bundle, (7, 5), TRT)
    plan.with_name(plan.name + ".json").unlink()
    with pytest.raises(PlanMismatchError, match="no sidecar"):
        find_plan(plans, tiny_bundle, (7, 5), TRT)
    # The sidecar also refuses another TensorRT version or GPU when read directly.
    from deid_pipeline.tensorrt_build import check_plan

    with pytest.raises(PlanMismatchError, match="TensorRT"):
        check_plan(info, tiny_bundle, (7, 5), "10.9.0", 4096, 16)
    with pytest.raises(PlanMismatchError, match="sm89"):
        check_plan(info, tiny_bundle, (8, 9), TRT, 4096, 16)


def test_manifest_entry_lists_the_plan_in_a_bundle(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "bundle"
    shutil.copytree(tiny_bundle_dir, copy)
    bundle = load_bundle(copy)
    plan, info = ensure_plan(
        copy / "plans", bundle, gpu=T4, trt_version=TRT, builder=_fake_builder([])
    )
    entry = info.manifest_entry()
    assert (entry.role, entry.gpu, entry.sha256) == ("tensorrt_plan", "Tesla T4", info.plan_sha256)
    shipped = add_bundle_files(copy, [(f"plans/{plan.name}", "tensorrt_plan", entry.gpu)])
    # The runtime's in-bundle lookup (by GPU name) finds it; the digest now covers the plan.
    assert shipped.path_of("tensorrt_plan", gpu="Tesla T4") == copy / "plans" / plan.name
    assert shipped.sha256 != bundle.sha256
    assert load_bundle(copy).path_of("tensorrt_plan", gpu="NVIDIA L4") is None


def test_worker_options_and_cli_without_a_gpu(
    tiny_bundle_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    params = WorkerParams(
        shards=[],
        out_dir="/tmp/x",
        bundle_dir="/b",
        backend="tensorrt",
        token_budget=2048,
        max_batch=8,
    )
    monkeypatch.setenv("DEID_TENSORRT_PLAN_DIR", "/var/cache/deid-plans")
    monkeypatch.setenv("DEID_TENSORRT_BUILD", "missing")
    assert runtime_options(params) == {
        "build": "missing",
        "token_budget": 2048,
        "max_batch": 8,
        "plan_dir": "/var/cache/deid-plans",
    }
    assert runtime_options(params.model_copy(update={"backend": "onnx"})) == {}
    # No GPU (or no TensorRT) here: the command fails with a message, exit status 1.
    assert main(["bundle", "build-trt", str(tiny_bundle_dir), "--out", str(tmp_path / "p")]) == 1
    assert "bundle build-trt failed" in capsys.readouterr().err

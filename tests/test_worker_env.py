"""Least privilege: the inference worker never receives DEID_SECRET_KEY or other credentials."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import dagster as dg
import pytest

from deid_pipeline.pipeline.resources import SubprocessInferenceLauncher
from deid_pipeline.pipeline.worker_env import ScopedPipesSubprocessClient, worker_environment

ENVIRON = {
    "PATH": "/usr/bin",
    "OMP_NUM_THREADS": "1",
    "CUDA_VISIBLE_DEVICES": "0",
    "DEID_BUNDLE_DIR": "/bundle",
    "DEID_SECRET_KEY": "test-only-not-a-real-key-0123456789",
    "DEID_STORAGE_ROOT": "/lake",
    "DEID_SOURCE_URI": "/source",
    "AWS_SECRET_ACCESS_KEY": "x",
    "HF_TOKEN": "x",
    "DAGSTER_PG_PASSWORD": "x",
}


def test_worker_environment_is_an_allow_list() -> None:
    env = worker_environment(ENVIRON, extra={"DEID_TENSORRT_BUILD": "missing"})
    assert env == {
        "PATH": "/usr/bin",
        "OMP_NUM_THREADS": "1",
        "CUDA_VISIBLE_DEVICES": "0",
        "DEID_BUNDLE_DIR": "/bundle",
        "DEID_TENSORRT_BUILD": "missing",
    }


def test_the_worker_subprocess_does_not_inherit_the_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEID_SECRET_KEY", "test-only-not-a-real-key-0123456789")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    seen = tmp_path / "env.json"
    child = f"import json, os; json.dump(sorted(os.environ), open({str(seen)!r}, 'w'))"

    @dg.asset
    def probe(context) -> dg.MaterializeResult:  # type: ignore[no-untyped-def]
        ScopedPipesSubprocessClient().run(
            context=context.op_execution_context, command=[sys.executable, "-c", child]
        )
        return dg.MaterializeResult()

    assert dg.materialize([probe]).success
    names = json.loads(seen.read_text())
    assert "DEID_SECRET_KEY" not in names
    assert "OMP_NUM_THREADS" in names
    assert any(name.startswith("DAGSTER_PIPES") for name in names)


def test_the_subprocess_launcher_uses_the_scoped_client(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[object] = []

    class Recorder(ScopedPipesSubprocessClient):
        def run(self, **kwargs: object) -> dg.PipesClientCompletedInvocation:  # type: ignore[override]
            made.append(self)
            raise RuntimeError("stop")

    monkeypatch.setattr("deid_pipeline.pipeline.resources.ScopedPipesSubprocessClient", Recorder)
    with pytest.raises(RuntimeError):
        SubprocessInferenceLauncher().launch(dg.build_asset_context(), {})
    assert len(made) == 1

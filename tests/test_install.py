"""The runtime install has no torch: the CLI, the core and the pipeline work without it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# Run in a fresh interpreter where importing torch fails, as on a server without it.
NO_TORCH = """
import sys
sys.modules["torch"] = None  # "import torch" raises ImportError from here on
"""


def _python(code: str, *, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", NO_TORCH + code],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})},
    )


def test_core_cli_and_pipeline_import_without_torch() -> None:
    done = _python(
        "import deid_pipeline.cli, deid_pipeline.core, deid_pipeline.runtimes, "
        "deid_pipeline.worker, deid_pipeline.definitions\n"
        "print('ok')"
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"


def test_deidentify_runs_on_onnx_runtime_without_torch(
    tmp_path: Path, tiny_bundle_dir: Path
) -> None:
    source, output = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text(json.dumps({"note_id": "n1", "text": "Controle over 6 weken."}) + "\n")
    run = (
        "from deid_pipeline.cli import main\n"
        f"raise SystemExit(main(['deidentify', {str(source)!r}, '-o', {str(output)!r}, "
        f"'--bundle', {str(tiny_bundle_dir)!r}, '--demo']))"
    )
    done = _python(run)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "backend=onnx" in done.stderr
    assert json.loads(output.read_text())["note_id"] == "n1"
    # Asking for torch where it is missing says how to get it, without a traceback.
    done = _python(run.replace("'--demo'", "'--demo', '--backend', 'torch'"))
    assert done.returncode == 2
    assert "CPU wheel" in done.stderr and "Traceback" not in done.stderr

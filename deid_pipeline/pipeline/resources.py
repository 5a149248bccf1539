"""Dagster resources: the pipeline settings and the inference launcher.

``DeidSettings`` is the Dagster face of :class:`~deid_pipeline.settings.PipelineSettings` (a
pydantic-settings model over the ``DEID_*`` environment variables, listed in README). Each
field set on the resource overrides its variable; the rest is read from the environment when a
run starts, not when the code location loads, so one deployment image serves any environment.
Starting a run checks the secret key first: a missing or short ``DEID_SECRET_KEY`` (outside
demo mode) fails the run before any stage reads or writes anything.

The inference stage runs through an :class:`InferenceLauncher`: the embedded default is
:class:`SubprocessInferenceLauncher` (``dagster.PipesSubprocessClient``); on a cluster,
:class:`K8sInferenceLauncher` (``dagster_k8s.PipesK8sClient``) starts the same worker in a GPU
pod. The ``logits`` asset only calls ``launch``; swapping the resource swaps the launcher.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Mapping
from typing import Any

import dagster as dg
from pydantic import Field

from deid_pipeline.pipeline.worker_env import ScopedPipesSubprocessClient
from deid_pipeline.replace import MissingSecretError
from deid_pipeline.settings import PipelineSettings

WORKER_MODULE = "deid_pipeline.worker"


class DeidSettings(dg.ConfigurableResource):
    """Pipeline settings; a field left unset is read from its ``DEID_*`` variable at run time."""

    storage_root: str | None = Field(default=None, description="DEID_STORAGE_ROOT")
    source_uri: str | None = Field(default=None, description="DEID_SOURCE_URI")
    bundle_dir: str | None = Field(default=None, description="DEID_BUNDLE_DIR")
    backend: str | None = Field(default=None, description="DEID_BACKEND")
    device: str | None = Field(default=None, description="DEID_DEVICE")
    replacement_mode: str | None = Field(default=None, description="DEID_REPLACEMENT_MODE")
    demo_mode: bool | None = Field(default=None, description="DEID_DEMO_MODE")
    keep_shapeless_spans: bool | None = Field(default=None, description="DEID_KEEP_SHAPELESS_SPANS")

    def resolve(self) -> PipelineSettings:
        """The settings of this run: the fields set here over the environment."""
        overrides = {name: value for name, value in self.model_dump().items() if value is not None}
        return PipelineSettings(**overrides)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Read the settings and check the secret key before any stage runs ("no secret, no
        run"): the error names the variable and how to make a key, never a key."""
        del context
        try:
            self.resolve().secret()
        except MissingSecretError as error:
            raise dg.Failure(description=str(error), allow_retries=False) from None


def _pipes_context(context: dg.AssetExecutionContext) -> dg.OpExecutionContext:
    # Pipes reads ``run_id`` of the context it is given, deprecated on AssetExecutionContext
    # in Dagster 1.13; the op context of the same step is the supported one.
    return context.op_execution_context


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
        # Least privilege: the worker gets an allow-listed environment, never DEID_SECRET_KEY.
        client = ScopedPipesSubprocessClient(env=dict(self.env))
        return client.run(
            context=_pipes_context(context), command=self.command(), extras=dict(params)
        )


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
    pod_template: str | None = Field(
        default=None,
        description="PodTemplate file (k8s/base/worker-pod-template.yaml) used as the base pod; "
        "then only image, bundle_image and env are taken from here",
    )
    bundle_image: str | None = Field(default=None, description="bundle init container image")
    files_uri: str | None = Field(
        default=None,
        description="object-storage prefix (s3://, gs://, abfs://) through which shard and "
        "logits files travel to and from the worker pod (deid_pipeline.staging): no shared "
        "volume in GPU pods",
    )

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
        image: str | None = self.image
        command: list[str] | None = self.command()
        meta, spec = self.base_pod_meta(), self.base_pod_spec()
        if self.pod_template:
            meta, spec = self.template_pod()
            image = command = None  # set in the spec (the pod has an init container)
        staging_uri = None
        if self.files_uri:
            import uuid

            from deid_pipeline import staging

            staging_uri = staging.join(self.files_uri, context.run_id, uuid.uuid4().hex[:12])
            params = staging.stage_in(params, staging_uri)
        try:
            invocation = client.run(
                context=_pipes_context(context),
                extras=dict(params),
                image=image,
                command=command,
                namespace=self.namespace,
                base_pod_meta=meta,
                base_pod_spec=spec,
                pod_wait_timeout=self.pod_wait_timeout_s,
            )
        except BaseException:
            if staging_uri is not None:
                with contextlib.suppress(Exception):  # keep the worker's error, drop the files
                    staging.delete(staging_uri)
            raise
        if staging_uri is not None:
            # The stage checks what arrived; staged files are PHI-equivalent: removed after.
            staging.stage_out(params, staging_uri)
            staging.delete(staging_uri)
        return invocation

    def template_pod(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """``(base_pod_meta, base_pod_spec)`` from ``pod_template`` (see ``k8s_pod``)."""
        from deid_pipeline.k8s_pod import load_pod_template, worker_pod

        assert self.pod_template is not None
        return worker_pod(
            load_pod_template(self.pod_template),
            self.image,
            self.command(),
            bundle_image=self.bundle_image,
            env=dict(self.env),
        )


def _env(name: str) -> str | None:
    return os.environ.get(name) or None


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
        pod_template=_env("DEID_K8S_POD_TEMPLATE"),
        bundle_image=_env("DEID_K8S_BUNDLE_IMAGE"),
        files_uri=_env("DEID_K8S_FILES_URI"),
    )

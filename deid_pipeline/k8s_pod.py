"""The inference worker's Kubernetes pod from a pod template file: a PodTemplate manifest.

The template is a ``v1 PodTemplate`` manifest kept in git and validated like every manifest: GPU
request and limit, node selector and tolerations, service account, security context
(non-root, read-only root filesystem, no privilege escalation), resource limits, the bundle
init container and volumes. Run pods get it mounted from a ConfigMap (it holds no secret:
credentials are ``secretKeyRef``s); :class:`~deid_pipeline.pipeline.resources.K8sInferenceLauncher`
with ``pod_template`` (``DEID_K8S_POD_TEMPLATE``) hands it to ``PipesK8sClient`` as the base pod.

Images come from the release (``DEID_K8S_IMAGE``, ``DEID_K8S_BUNDLE_IMAGE``: digests of the
release manifest) and replace the template's placeholders. Because the pod has an init
container, ``PipesK8sClient`` wants image and command inside the spec, not as arguments.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

WORKER_CONTAINER = "worker"
BUNDLE_INIT_CONTAINER = "bundle"


class PodTemplateError(ValueError):
    """The template file is not a usable worker pod template."""


def load_pod_template(path: str | Path) -> dict[str, Any]:
    """The ``template`` (metadata + spec, camelCase as in the file) of a PodTemplate file."""
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or doc.get("kind") != "PodTemplate":
        raise PodTemplateError(f"{Path(path).name} is not a v1 PodTemplate manifest")
    template = doc.get("template") or {}
    containers = (template.get("spec") or {}).get("containers") or []
    if not containers or containers[0].get("name") != WORKER_CONTAINER:
        raise PodTemplateError(f"the first container must be named {WORKER_CONTAINER!r}")
    return template


def worker_pod(
    template: dict[str, Any],
    image: str | None,
    command: list[str],
    bundle_image: str | None = None,
    env: dict[str, str] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(base_pod_meta, base_pod_spec)`` for ``PipesK8sClient.run`` with ``image=None`` and
    ``command=None``: images and command set in the spec, the launcher's plain env appended."""
    meta = copy.deepcopy(template.get("metadata") or {})
    spec = copy.deepcopy(template["spec"])
    worker = spec["containers"][0]
    if image:
        worker["image"] = image
    worker.setdefault("command", list(command))  # the template's wins (python3 in NGC images)
    if env:
        worker.setdefault("env", []).extend({"name": k, "value": v} for k, v in env.items())
    for init in spec.get("initContainers") or []:
        if init.get("name") == BUNDLE_INIT_CONTAINER and bundle_image:
            init["image"] = bundle_image
    return meta, spec

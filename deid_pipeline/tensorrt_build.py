"""TensorRT plans for a bundle: optimisation profiles, naming, cache lookup and the build.

A plan is specific to one model, one GPU type (compute capability) and one TensorRT version.
Plans therefore live *next to* a bundle, not inside it (adding a file to a bundle changes its
digest): in a plan folder (``--out DIR`` of ``deid-pipeline bundle build-trt``, the worker's
``DEID_TENSORRT_PLAN_DIR``, e.g. a node-local cache or a volume filled by the release job),
each plan with a JSON sidecar::

    <bundle name>-<bundle digest[:16]>.sm<cc>.trt<version>.b<max batch>t<token budget>.fp16.plan
    <same name>.json     kind, bundle_sha256, onnx_sha256, compute capability, GPU name,
                         TensorRT version, precision, profiles, plan sha256, manifest entry

The bundle digest is that of the *materialized* bundle the worker loads (a source bundle from
git is materialized first). :func:`find_plan` returns a plan only when its sidecar names this
bundle digest, compute capability, TensorRT version and microbatching, and its file hashes as
recorded; a plan file for another bundle is refused (:class:`PlanMismatchError`), never used.

Optimisation profiles follow the microbatching of the worker (``batching.plan_microbatches``):
a batch of ``k`` windows padded to width ``w`` has ``k <= max_batch`` and ``k * w <=
token_budget`` (a single longer window runs alone). Up to the knee ``w <= token_budget //
max_batch`` full batches fit; past it the batch shrinks. Two profiles cover exactly those two
regions, so TensorRT tunes kernels for shapes that occur and allocates no memory for
``max_batch x window_length``.

TensorRT is imported only to build or run a plan (the GPU image); everything else here is pure
and tested on machines without a GPU.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from deid_pipeline.bundle import FileEntry

if TYPE_CHECKING:
    from deid_pipeline.bundle import Bundle

PLAN_KIND = "deid_tensorrt_plan"
PLAN_SUFFIX = ".plan"
SIDECAR_SUFFIX = ".json"
INPUT_NAMES = ("input_ids", "attention_mask")
#: Shortest padded batch width a profile accepts ([CLS] + [SEP] is 2; 1 for safety).
MIN_SEQUENCE = 1
BuildMode = Literal["never", "missing"]
BUILD_MODES: tuple[str, ...] = ("never", "missing")


class PlanError(Exception):
    """No usable plan. Messages carry digests, names and figures only."""


class PlanMismatchError(PlanError):
    """A plan exists but was built for another bundle, GPU, TensorRT version or batching."""


@dataclass(frozen=True, slots=True)
class ProfileShapes:
    """One optimisation profile: ``(batch, sequence)`` min/opt/max of both int64 inputs."""

    min: tuple[int, int]
    opt: tuple[int, int]
    max: tuple[int, int]

    def covers(self, batch: int, sequence: int) -> bool:
        """Whether a ``batch x sequence`` input fits this profile."""
        return self.min[0] <= batch <= self.max[0] and self.min[1] <= sequence <= self.max[1]

    def to_json(self) -> dict[str, list[int]]:
        return {"min": list(self.min), "opt": list(self.opt), "max": list(self.max)}

    @classmethod
    def from_json(cls, data: dict[str, Sequence[int]]) -> ProfileShapes:
        pair = lambda key: (int(data[key][0]), int(data[key][1]))  # noqa: E731
        return cls(pair("min"), pair("opt"), pair("max"))


def optimisation_profiles(
    window_length: int, token_budget: int = 4096, max_batch: int = 16
) -> list[ProfileShapes]:
    """Profiles covering every microbatch ``plan_microbatches`` can form for these settings.

    With ``knee = token_budget // max_batch``: profile 0 takes widths up to the knee with up to
    ``max_batch`` windows; profile 1 (only when the knee is below ``window_length``) takes the
    longer widths with up to ``token_budget // (knee + 1)`` windows (at least 1: a window longer
    than the budget runs alone).
    """
    if window_length < 3 or token_budget < 1 or max_batch < 1:
        raise ValueError("window_length >= 3, token_budget >= 1 and max_batch >= 1 required")
    knee = token_budget // max_batch
    if knee >= window_length:
        return [
            ProfileShapes((1, MIN_SEQUENCE), (max_batch, window_length), (max_batch, window_length))
        ]
    profiles: list[ProfileShapes] = []
    if knee >= MIN_SEQUENCE:
        profiles.append(ProfileShapes((1, MIN_SEQUENCE), (max_batch, knee), (max_batch, knee)))
    long_batch = max(1, token_budget // (max(knee, MIN_SEQUENCE - 1) + 1))
    profiles.append(
        ProfileShapes(
            (1, max(knee + 1, MIN_SEQUENCE)),
            (max(1, min(long_batch, token_budget // window_length)), window_length),
            (long_batch, window_length),
        )
    )
    return profiles


def select_profile(profiles: Sequence[ProfileShapes], batch: int, sequence: int) -> int:
    """Index of the first profile covering ``batch x sequence``; :class:`ValueError` if none."""
    for index, profile in enumerate(profiles):
        if profile.covers(batch, sequence):
            return index
    raise ValueError(
        f"batch {batch}x{sequence} is outside every optimisation profile of the plan "
        f"(max {[p.max for p in profiles]}); rebuild it for these microbatching settings"
    )


def compute_capability_tag(capability: tuple[int, int] | str) -> str:
    """``(7, 5)`` or ``"7.5"`` -> ``"sm75"``."""
    if isinstance(capability, str):
        match = re.fullmatch(r"(?:sm_?)?(\d+)[._]?(\d)", capability.strip())
        if not match:
            raise ValueError(f"compute capability {capability!r} is not like '7.5' or 'sm75'")
        major, minor = int(match.group(1)), int(match.group(2))
    else:
        major, minor = int(capability[0]), int(capability[1])
    return f"sm{major}{minor}"


def plan_stem(
    bundle_name: str,
    bundle_sha256: str,
    compute_capability: tuple[int, int] | str,
    tensorrt_version: str,
    max_batch: int,
    token_budget: int,
    precision: str = "fp16",
) -> str:
    """File name of a plan without suffix: what makes it reusable is all in the name."""
    safe_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", bundle_name)
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)*", tensorrt_version):
        raise ValueError(f"TensorRT version {tensorrt_version!r} is not dotted numbers")
    return (
        f"{safe_name}-{bundle_sha256[:16]}.{compute_capability_tag(compute_capability)}"
        f".trt{tensorrt_version}.b{max_batch}t{token_budget}.{precision}"
    )


class PlanInfo(BaseModel):
    """The JSON sidecar of a plan file (written by the build, checked by the lookup)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["deid_tensorrt_plan"] = PLAN_KIND
    schema_version: Literal[1] = 1
    plan_file: str
    plan_sha256: str
    bundle_name: str
    bundle_sha256: str
    model_version: str
    onnx_file: str
    onnx_sha256: str
    compute_capability: str
    gpu_name: str
    tensorrt_version: str
    precision: Literal["fp16", "fp32"] = "fp16"
    token_budget: int = Field(gt=0)
    max_batch: int = Field(gt=0)
    window_length: int = Field(ge=3)
    profiles: list[dict[str, list[int]]]
    built_at: str

    def profile_shapes(self) -> list[ProfileShapes]:
        return [ProfileShapes.from_json(profile) for profile in self.profiles]

    def manifest_entry(self) -> FileEntry:
        """The bundle ``files`` entry of this plan (``role: tensorrt_plan``, ``gpu``), for a
        bundle that ships its plans inside (a new bundle digest) and for the release manifest."""
        return FileEntry(
            path=self.plan_file,
            sha256=self.plan_sha256,
            role="tensorrt_plan",
            gpu=self.gpu_name,  # what TensorRTRuntime matches (torch.cuda.get_device_name)
        )


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def read_plan_info(sidecar: Path) -> PlanInfo:
    """Parse a sidecar; :class:`PlanError` when it is not one."""
    try:
        return PlanInfo.model_validate_json(sidecar.read_bytes())
    except (OSError, ValueError) as error:
        raise PlanError(f"unreadable plan sidecar {sidecar.name}: {error}") from error


def list_plans(plan_dir: Path | str) -> list[PlanInfo]:
    """Every plan sidecar in ``plan_dir`` (sorted by file name)."""
    folder = Path(plan_dir)
    if not folder.is_dir():
        return []
    return [read_plan_info(path) for path in sorted(folder.glob(f"*{PLAN_SUFFIX}{SIDECAR_SUFFIX}"))]


def check_plan(
    info: PlanInfo,
    bundle: Bundle,
    compute_capability: tuple[int, int] | str,
    tensorrt_version: str,
    token_budget: int,
    max_batch: int,
) -> None:
    """Raise :class:`PlanMismatchError` unless ``info`` is a plan of ``bundle`` for this GPU,
    TensorRT version and microbatching."""
    if info.bundle_sha256 != bundle.sha256:
        raise PlanMismatchError(
            f"plan {info.plan_file} was built for bundle {info.bundle_sha256[:12]}, not for "
            f"the loaded bundle {bundle.sha256[:12]}; build one with deid-pipeline bundle "
            "build-trt"
        )
    tag = compute_capability_tag(compute_capability)
    if info.compute_capability != tag:
        raise PlanMismatchError(
            f"plan {info.plan_file} is for {info.compute_capability}, this GPU is {tag}"
        )
    if info.tensorrt_version != tensorrt_version:
        raise PlanMismatchError(
            f"plan {info.plan_file} was built with TensorRT {info.tensorrt_version}, this is "
            f"{tensorrt_version}"
        )
    shapes = info.profile_shapes()
    for profile in optimisation_profiles(bundle.window_length, token_budget, max_batch):
        for batch, sequence in (profile.min, profile.max):
            try:
                select_profile(shapes, batch, sequence)
            except ValueError as error:
                raise PlanMismatchError(
                    f"plan {info.plan_file} (batch {info.max_batch}, budget "
                    f"{info.token_budget}) does not cover batch {max_batch} / budget "
                    f"{token_budget}"
                ) from error


def find_plan(
    plan_dir: Path | str,
    bundle: Bundle,
    compute_capability: tuple[int, int] | str,
    tensorrt_version: str,
    token_budget: int = 4096,
    max_batch: int = 16,
    precision: str = "fp16",
) -> tuple[Path, PlanInfo] | None:
    """The cached plan for this bundle, GPU, TensorRT version and batching, or None.

    A file under the expected name whose sidecar names another bundle (or whose bytes do not
    match the recorded sha256) raises :class:`PlanMismatchError`: it is never loaded.
    """
    stem = plan_stem(
        bundle.manifest.name,
        bundle.sha256,
        compute_capability,
        tensorrt_version,
        max_batch,
        token_budget,
        precision,
    )
    plan = Path(plan_dir) / f"{stem}{PLAN_SUFFIX}"
    sidecar = plan.with_name(plan.name + SIDECAR_SUFFIX)
    if not plan.is_file() and not sidecar.is_file():
        return None
    if not sidecar.is_file():
        raise PlanMismatchError(f"plan {plan.name} has no sidecar {sidecar.name}; refusing it")
    if not plan.is_file():
        raise PlanError(f"sidecar {sidecar.name} without its plan file")
    info = read_plan_info(sidecar)
    if info.plan_file != plan.name:
        raise PlanMismatchError(f"sidecar {sidecar.name} describes {info.plan_file}")
    check_plan(info, bundle, compute_capability, tensorrt_version, token_budget, max_batch)
    if _sha256(plan) != info.plan_sha256:
        raise PlanMismatchError(f"plan {plan.name} does not match the sha256 in its sidecar")
    return plan, info


# --- the build (TensorRT, GPU) -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GpuInfo:
    name: str
    compute_capability: tuple[int, int]


def current_gpu(device_index: int = 0) -> GpuInfo:
    """Name and compute capability of the visible GPU (through torch, in the GPU image)."""
    try:
        import torch
    except ImportError as error:
        raise PlanError("reading the GPU type needs torch (the GPU image has it)") from error
    if not torch.cuda.is_available():
        raise PlanError("no CUDA GPU is visible")
    major, minor = torch.cuda.get_device_capability(device_index)
    return GpuInfo(torch.cuda.get_device_name(device_index), (int(major), int(minor)))


def tensorrt_version() -> str:
    """Version of the installed TensorRT (``RuntimeUnavailableError`` without it)."""
    from deid_pipeline.runtimes.tensorrt_runtime import import_tensorrt

    return str(import_tensorrt().__version__)


def build_plan_bytes(
    onnx_path: Path,
    profiles: Sequence[ProfileShapes],
    fp16: bool = True,
    workspace_bytes: int = 4 << 30,
) -> bytes:
    """Parse the ONNX graph and build a serialized engine with the TensorRT 10 Python API."""
    from deid_pipeline.runtimes.tensorrt_runtime import import_tensorrt

    trt = import_tensorrt()
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)  # explicit batch is the only mode in TensorRT 10
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = [str(parser.get_error(index)) for index in range(parser.num_errors)]
        raise PlanError(f"TensorRT could not parse {onnx_path.name}: {errors[:3]}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_bytes)
    if fp16:
        # Weakly typed fp16 (the ONNX graph is fp32): TensorRT picks fp16 kernels where faster.
        config.set_flag(trt.BuilderFlag.FP16)
    for shapes in profiles:
        profile = builder.create_optimization_profile()
        for name in INPUT_NAMES:
            profile.set_shape(name, shapes.min, shapes.opt, shapes.max)
        config.add_optimization_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise PlanError(f"TensorRT could not build an engine from {onnx_path.name}")
    return bytes(serialized)


@contextlib.contextmanager
def _locked(folder: Path, stem: str) -> Iterator[None]:
    # One build per node and plan: concurrent workers on a node wait for the first one.
    import fcntl

    with (folder / f".{stem}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_plan(
    out_dir: Path | str,
    bundle: Bundle,
    plan_bytes: bytes,
    gpu: GpuInfo,
    trt_version: str,
    token_budget: int,
    max_batch: int,
    precision: Literal["fp16", "fp32"] = "fp16",
) -> tuple[Path, PlanInfo]:
    """Write a built plan and its sidecar under the cache name (plan first, sidecar last)."""
    onnx = bundle.path_of("weights_onnx")
    if onnx is None:
        raise PlanError("the bundle has no ONNX file (weights_onnx); materialize it first")
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    stem = plan_stem(
        bundle.manifest.name,
        bundle.sha256,
        gpu.compute_capability,
        trt_version,
        max_batch,
        token_budget,
        precision,
    )
    plan = folder / f"{stem}{PLAN_SUFFIX}"
    _write_atomic(plan, plan_bytes)
    info = PlanInfo(
        plan_file=plan.name,
        plan_sha256=hashlib.sha256(plan_bytes).hexdigest(),
        bundle_name=bundle.manifest.name,
        bundle_sha256=bundle.sha256,
        model_version=bundle.model_version,
        onnx_file=onnx.name,
        onnx_sha256=_sha256(onnx),
        compute_capability=compute_capability_tag(gpu.compute_capability),
        gpu_name=gpu.name,
        tensorrt_version=trt_version,
        precision=precision,
        token_budget=token_budget,
        max_batch=max_batch,
        window_length=bundle.window_length,
        profiles=[
            p.to_json()
            for p in optimisation_profiles(bundle.window_length, token_budget, max_batch)
        ],
        built_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    sidecar = plan.with_name(plan.name + SIDECAR_SUFFIX)
    _write_atomic(sidecar, (info.model_dump_json(indent=2) + "\n").encode("utf-8"))
    return plan, info


def ensure_plan(
    plan_dir: Path | str,
    bundle: Bundle,
    token_budget: int = 4096,
    max_batch: int = 16,
    build: BuildMode = "missing",
    gpu: GpuInfo | None = None,
    trt_version: str | None = None,
    fp16: bool = True,
    builder: Any = None,
) -> tuple[Path, PlanInfo]:
    """The plan for ``bundle`` on this GPU: from ``plan_dir``, or built once into it.

    ``build="never"`` raises :class:`PlanError` when no plan is cached. A cached plan of another
    bundle is refused (:class:`PlanMismatchError`), never rebuilt over silently. ``builder``
    (``onnx_path, profiles, fp16 -> bytes``) replaces the TensorRT build in tests.
    """
    gpu = gpu or current_gpu()
    version = trt_version or tensorrt_version()
    precision: Literal["fp16", "fp32"] = "fp16" if fp16 else "fp32"
    args = (bundle, gpu.compute_capability, version, token_budget, max_batch, precision)
    found = find_plan(plan_dir, *args)
    if found is not None:
        return found
    if build == "never":
        raise PlanError(
            f"no TensorRT plan for bundle {bundle.sha256[:12]} on "
            f"{compute_capability_tag(gpu.compute_capability)} with TensorRT {version} in "
            f"the plan folder; run deid-pipeline bundle build-trt or set "
            f"DEID_TENSORRT_BUILD=missing"
        )
    onnx = bundle.path_of("weights_onnx")
    if onnx is None:
        raise PlanError("the bundle has no ONNX file (weights_onnx); materialize it first")
    folder = Path(plan_dir)
    folder.mkdir(parents=True, exist_ok=True)
    stem = plan_stem(
        bundle.manifest.name,
        bundle.sha256,
        gpu.compute_capability,
        version,
        max_batch,
        token_budget,
        precision,
    )
    with _locked(folder, stem):
        found = find_plan(plan_dir, *args)  # another worker on the node may have built it
        if found is not None:
            return found
        profiles = optimisation_profiles(bundle.window_length, token_budget, max_batch)
        data = (builder or build_plan_bytes)(onnx, profiles, fp16)
        return write_plan(folder, bundle, data, gpu, version, token_budget, max_batch, precision)


def cmd_build_trt(args: argparse.Namespace) -> int:
    """``bundle build-trt BUNDLE --out DIR``: build (or reuse) the plan for this GPU."""
    from deid_pipeline.bundle import BundleError, load_bundle
    from deid_pipeline.runtimes.base import RuntimeUnavailableError

    try:
        bundle = load_bundle(args.dir, verify=True)
        plan, info = ensure_plan(
            args.out,
            bundle,
            token_budget=args.token_budget,
            max_batch=args.max_batch,
            build="missing",
            fp16=not args.fp32,
        )
    except (BundleError, PlanError, RuntimeUnavailableError) as error:
        print(f"bundle build-trt failed: {error}", file=sys.stderr)
        return 1
    print(
        json.dumps(
            {
                "plan": str(plan),
                "plan_sha256": info.plan_sha256,
                "bundle_sha256": info.bundle_sha256,
                "compute_capability": info.compute_capability,
                "gpu_name": info.gpu_name,
                "tensorrt_version": info.tensorrt_version,
                "profiles": info.profiles,
            }
        )
    )
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``build-trt`` to the ``bundle`` command."""
    parser = commands.add_parser(
        "build-trt",
        help="build (or reuse) a TensorRT plan of the bundle's ONNX for the visible GPU",
    )
    parser.add_argument("dir", type=Path, help="bundle folder (a source bundle is materialized)")
    parser.add_argument("--out", type=Path, required=True, help="plan folder (the plan cache)")
    parser.add_argument(
        "--token-budget",
        dest="token_budget",
        type=int,
        default=int(os.environ.get("DEID_TOKEN_BUDGET") or 4096),
        help="padded tokens per model call (DEID_TOKEN_BUDGET, 4096)",
    )
    parser.add_argument(
        "--max-batch",
        dest="max_batch",
        type=int,
        default=int(os.environ.get("DEID_MAX_BATCH") or 16),
        help="windows per model call (DEID_MAX_BATCH, 16)",
    )
    parser.add_argument("--fp32", action="store_true", help="build without fp16 kernels")
    parser.set_defaults(handler=cmd_build_trt)

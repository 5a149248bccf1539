"""TensorRT 10 backend: a serialized plan from the bundle, built for one GPU type.

TensorRT is only installed in the GPU image (``pip install deid-pipeline[gpu]``); importing this
module never fails, constructing :class:`TensorRTRuntime` without it raises
:class:`~deid_pipeline.runtimes.base.RuntimeUnavailableError`. Inputs and outputs live in torch
CUDA tensors whose device pointers are handed to the execution context.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from deid_pipeline.runtimes.base import RuntimeUnavailableError

if TYPE_CHECKING:
    from deid_pipeline.bundle import Bundle

INSTALL_HINT = (
    "the TensorRT backend needs the 'tensorrt' package (>= 10) and a CUDA GPU; it is part of "
    "the GPU image (pip install 'deid-pipeline[gpu]'). Use backend 'onnx' or 'torch' instead."
)


def import_tensorrt() -> Any:
    """Import ``tensorrt`` or raise :class:`RuntimeUnavailableError` with an install hint."""
    try:
        return importlib.import_module("tensorrt")
    except ImportError as error:
        raise RuntimeUnavailableError(INSTALL_HINT) from error


def resolve_plan(
    bundle: Bundle,
    gpu_name: str,
    plan_dir: str | Path | None,
    build: str,
    token_budget: int,
    max_batch: int,
) -> Path:
    """The plan to load: one listed in the bundle's manifest for this GPU (covered by the
    bundle digest), else the plan folder's plan for this bundle digest, compute capability and
    TensorRT version, built once into the folder when ``build == "missing"``. A cached plan of
    another bundle raises :class:`~deid_pipeline.tensorrt_build.PlanMismatchError`."""
    from deid_pipeline.tensorrt_build import (
        BUILD_MODES,
        PlanError,
        PlanMismatchError,
        ensure_plan,
    )

    listed = bundle.path_of("tensorrt_plan", gpu=gpu_name)
    if listed is not None:
        return listed
    folder = plan_dir or os.environ.get("DEID_TENSORRT_PLAN_DIR")
    if not folder:
        built_for = sorted({e.gpu for e in bundle.manifest.files if e.gpu})
        raise RuntimeUnavailableError(
            f"bundle has no TensorRT plan for GPU {gpu_name!r} (plans exist for {built_for}) "
            "and no plan folder is set (DEID_TENSORRT_PLAN_DIR)"
        )
    if build not in BUILD_MODES:
        raise ValueError(f"build must be one of {BUILD_MODES}, got {build!r}")
    try:
        path, _info = ensure_plan(
            folder, bundle, token_budget=token_budget, max_batch=max_batch, build=build
        )
    except PlanMismatchError:
        raise  # a plan of another bundle, GPU or TensorRT: refused, never rebuilt over
    except PlanError as error:
        raise RuntimeUnavailableError(str(error)) from error
    return path


class TensorRTRuntime:
    """Run a TensorRT plan (``tensorrt_plan`` entry for this GPU) on torch CUDA tensors."""

    name = "tensorrt"

    def __init__(
        self,
        bundle: Bundle,
        gpu_name: str | None = None,
        plan_dir: str | Path | None = None,
        build: str = "never",
        token_budget: int = 4096,
        max_batch: int = 16,
    ) -> None:
        trt = import_tensorrt()
        import torch

        if not torch.cuda.is_available():
            raise RuntimeUnavailableError("the TensorRT backend needs a CUDA GPU; none is visible")
        self._torch = torch
        self.device = "cuda"
        gpu = gpu_name or torch.cuda.get_device_name()
        plan_path = resolve_plan(bundle, gpu, plan_dir, build, token_budget, max_batch)
        self._logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._logger)
        self.engine = self._runtime.deserialize_cuda_engine(plan_path.read_bytes())
        if self.engine is None:
            raise RuntimeUnavailableError(
                f"TensorRT could not deserialize {plan_path.name} (built with another TensorRT "
                "version or for another GPU?)"
            )
        self.context = self.engine.create_execution_context()
        self._inputs: list[str] = []
        self._outputs: list[str] = []
        self._dtypes: dict[str, Any] = {}
        dtype_map = {
            trt.float32: torch.float32,
            trt.float16: torch.float16,
            trt.bfloat16: torch.bfloat16,
            trt.int32: torch.int32,
            trt.int64: torch.int64,
            trt.bool: torch.bool,
        }
        for index in range(self.engine.num_io_tensors):
            tensor = self.engine.get_tensor_name(index)
            is_input = self.engine.get_tensor_mode(tensor) == trt.TensorIOMode.INPUT
            (self._inputs if is_input else self._outputs).append(tensor)
            self._dtypes[tensor] = dtype_map[self.engine.get_tensor_dtype(tensor)]
        if set(self._inputs) != {"input_ids", "attention_mask"} or set(self._outputs) != {
            "bio_logits",
            "entity_logits",
        }:
            raise RuntimeUnavailableError(
                f"plan tensors {self._inputs} -> {self._outputs} do not match the model contract"
            )
        # (min, opt, max) shapes of every optimisation profile: a batch runs on the first
        # profile that covers it, and an oversize batch is refused clearly.
        from deid_pipeline.tensorrt_build import ProfileShapes

        self.profiles = []
        for index in range(self.engine.num_optimization_profiles):
            low, opt, high = self.engine.get_tensor_profile_shape("input_ids", index)
            self.profiles.append(ProfileShapes(tuple(low), tuple(opt), tuple(high)))
        self._profile = -1
        self.max_shape = tuple(max(p.max[axis] for p in self.profiles) for axis in (0, 1))

    def run(
        self, input_ids: np.ndarray, attention_mask: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return float32 ``(bio [B, T, 3], entity [B, T, E])``."""
        from deid_pipeline.tensorrt_build import select_profile

        torch = self._torch
        batch, seq = input_ids.shape
        profile = select_profile(self.profiles, batch, seq)
        stream = torch.cuda.current_stream()
        if profile != self._profile:
            self.context.set_optimization_profile_async(profile, stream.cuda_stream)
            self._profile = profile
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask}
        keep: list[Any] = []  # tensors must outlive the asynchronous execution
        for tensor in self._inputs:
            value = torch.from_numpy(np.ascontiguousarray(feeds[tensor])).to(
                device="cuda", dtype=self._dtypes[tensor]
            )
            keep.append(value)
            self.context.set_input_shape(tensor, tuple(value.shape))
            self.context.set_tensor_address(tensor, value.data_ptr())
        outputs: dict[str, Any] = {}
        for tensor in self._outputs:
            shape = tuple(self.context.get_tensor_shape(tensor))
            outputs[tensor] = torch.empty(shape, dtype=self._dtypes[tensor], device="cuda")
            self.context.set_tensor_address(tensor, outputs[tensor].data_ptr())
        if not self.context.execute_async_v3(stream.cuda_stream):
            raise RuntimeError("TensorRT execution failed")
        stream.synchronize()
        del keep
        return (
            outputs["bio_logits"].float().cpu().numpy(),
            outputs["entity_logits"].float().cpu().numpy(),
        )

"""TensorRT 10 backend: a serialized plan from the bundle, built for one GPU type.

TensorRT is only installed in the GPU image (``pip install deid-pipeline[gpu]``); importing this
module never fails, constructing :class:`TensorRTRuntime` without it raises
:class:`~deid_pipeline.runtimes.base.RuntimeUnavailableError`. Inputs and outputs live in torch
CUDA tensors whose device pointers are handed to the execution context.
"""

from __future__ import annotations

import importlib
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


class TensorRTRuntime:
    """Run a TensorRT plan (``tensorrt_plan`` entry for this GPU) on torch CUDA tensors."""

    name = "tensorrt"

    def __init__(self, bundle: Bundle, gpu_name: str | None = None) -> None:
        trt = import_tensorrt()
        import torch

        if not torch.cuda.is_available():
            raise RuntimeUnavailableError("the TensorRT backend needs a CUDA GPU; none is visible")
        self._torch = torch
        self.device = "cuda"
        gpu = gpu_name or torch.cuda.get_device_name()
        plan_path = bundle.path_of("tensorrt_plan", gpu=gpu)
        if plan_path is None:
            built_for = sorted({e.gpu for e in bundle.manifest.files if e.gpu})
            raise RuntimeUnavailableError(
                f"bundle has no TensorRT plan for GPU {gpu!r}; plans exist for {built_for}"
            )
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
        # (min, opt, max) shapes of optimisation profile 0, to refuse oversize batches clearly.
        self.max_shape = tuple(self.engine.get_tensor_profile_shape("input_ids", 0)[2])

    def run(
        self, input_ids: np.ndarray, attention_mask: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return float32 ``(bio [B, T, 3], entity [B, T, E])``."""
        torch = self._torch
        batch, seq = input_ids.shape
        if batch > self.max_shape[0] or seq > self.max_shape[1]:
            raise ValueError(f"batch {batch}x{seq} exceeds the plan's profile max {self.max_shape}")
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
        stream = torch.cuda.current_stream()
        if not self.context.execute_async_v3(stream.cuda_stream):
            raise RuntimeError("TensorRT execution failed")
        stream.synchronize()
        del keep
        return (
            outputs["bio_logits"].float().cpu().numpy(),
            outputs["entity_logits"].float().cpu().numpy(),
        )

"""Model runtimes behind one protocol: PyTorch, ONNX Runtime and TensorRT.

``make_runtime(bundle, backend)`` builds one; ``run_windows`` runs variable-length windows
through any of them in token-budget microbatches and returns per-window logits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from deid_pipeline.runtimes.base import (
    Runtime,
    RuntimeUnavailableError,
    WindowRunResult,
    pad_batch,
    run_windows,
)
from deid_pipeline.runtimes.onnx_runtime import OnnxRuntime, default_providers
from deid_pipeline.runtimes.tensorrt_runtime import TensorRTRuntime, import_tensorrt
from deid_pipeline.runtimes.torch_runtime import TorchRuntime

if TYPE_CHECKING:
    from deid_pipeline.bundle import Bundle

Backend = Literal["torch", "onnx", "tensorrt"]

__all__ = [
    "Backend",
    "OnnxRuntime",
    "Runtime",
    "RuntimeUnavailableError",
    "TensorRTRuntime",
    "TorchRuntime",
    "WindowRunResult",
    "default_providers",
    "import_tensorrt",
    "make_runtime",
    "pad_batch",
    "resolve_device",
    "run_windows",
]


def resolve_device(device: str = "auto") -> str:
    """``auto`` -> ``cuda`` when torch sees a GPU, else ``cpu``; other values pass through."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def make_runtime(bundle: Bundle, backend: Backend, device: str = "auto", **options: Any) -> Runtime:
    """Build a runtime for ``bundle``.

    ``options`` go to the backend: torch ``precision``, ``compile``; onnx ``providers``,
    ``intra_op_threads``, ``inter_op_threads``; tensorrt ``gpu_name``.
    """
    resolved = resolve_device(device)
    if backend == "torch":
        return TorchRuntime(bundle, device=resolved, **options)
    if backend == "onnx":
        if "providers" not in options:
            cuda = resolved.startswith("cuda")
            available = default_providers()
            if cuda and "CUDAExecutionProvider" not in available:
                raise RuntimeUnavailableError(
                    "onnxruntime in this environment has no CUDA provider"
                )
            options["providers"] = available if cuda else ["CPUExecutionProvider"]
        return OnnxRuntime(bundle, **options)
    if backend == "tensorrt":
        if resolved == "cpu":
            raise RuntimeUnavailableError("the TensorRT backend runs on CUDA only")
        return TensorRTRuntime(bundle, **options)
    raise ValueError(f"unknown backend {backend!r}; expected torch, onnx or tensorrt")

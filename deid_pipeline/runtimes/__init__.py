"""Model runtimes behind one protocol: ONNX Runtime, PyTorch and TensorRT.

``make_runtime(bundle, backend)`` builds one; ``run_windows`` runs variable-length windows
through any of them in token-budget microbatches and returns per-window logits.

Backends are imported only when they are built: the runtime install (``pip install .``) has
ONNX Runtime and no torch, and importing this package never imports torch or TensorRT.
``TorchRuntime``, ``OnnxRuntime`` and ``TensorRTRuntime`` stay importable from here.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any, Literal

from deid_pipeline.runtimes.base import (
    Runtime,
    RuntimeUnavailableError,
    WindowRunResult,
    pad_batch,
    run_windows,
)

if TYPE_CHECKING:
    from deid_pipeline.bundle import Bundle
    from deid_pipeline.runtimes.onnx_runtime import OnnxRuntime
    from deid_pipeline.runtimes.tensorrt_runtime import TensorRTRuntime
    from deid_pipeline.runtimes.torch_runtime import TorchRuntime

Backend = Literal["auto", "torch", "onnx", "tensorrt"]

#: Backend name -> (module, class): imported on first use.
RUNTIMES: dict[str, tuple[str, str]] = {
    "onnx": ("deid_pipeline.runtimes.onnx_runtime", "OnnxRuntime"),
    "torch": ("deid_pipeline.runtimes.torch_runtime", "TorchRuntime"),
    "tensorrt": ("deid_pipeline.runtimes.tensorrt_runtime", "TensorRTRuntime"),
}
_LAZY = {
    **{class_name: module for module, class_name in RUNTIMES.values()},
    "default_providers": "deid_pipeline.runtimes.onnx_runtime",
    "import_tensorrt": "deid_pipeline.runtimes.tensorrt_runtime",
}
TORCH_HINT = (
    "the torch backend needs torch, which the runtime install leaves out: install the CPU "
    "wheel with pip install torch --index-url https://download.pytorch.org/whl/cpu, or "
    "pip install 'deid-pipeline[torch]' on a GPU machine; or use backend 'onnx'"
)

__all__ = [
    "RUNTIMES",
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
    "resolve_backend",
    "resolve_device",
    "run_windows",
]


def __getattr__(name: str) -> Any:
    # PEP 562: the backend classes are loaded when first named, not when the package is.
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _has(package: str) -> bool:
    return importlib.util.find_spec(package) is not None


def _cuda_visible() -> bool:
    """Whether a CUDA GPU is usable: through torch when installed, else ONNX Runtime's provider."""
    if _has("torch"):
        import torch

        return bool(torch.cuda.is_available())
    from deid_pipeline.runtimes.onnx_runtime import CUDA_PROVIDER, default_providers

    return CUDA_PROVIDER in default_providers()


def resolve_device(device: str = "auto") -> str:
    """``auto`` -> ``cuda`` when a GPU is visible, else ``cpu``; other values pass through."""
    if device != "auto":
        return device
    return "cuda" if _cuda_visible() else "cpu"


def resolve_backend(bundle: Bundle, backend: str, device: str) -> str:
    """``auto`` -> ``onnx`` when the bundle has an ONNX file and the device is the CPU (or torch
    is not installed), else ``torch``; other values pass through."""
    if backend != "auto":
        return backend
    has_onnx = bundle.path_of("weights_onnx") is not None
    if has_onnx and (device == "cpu" or not _has("torch")):
        return "onnx"
    return "torch"


def make_runtime(
    bundle: Bundle, backend: str = "auto", device: str = "auto", **options: Any
) -> Runtime:
    """Build a runtime for ``bundle``.

    ``options`` go to the backend: torch ``precision``, ``compile``; onnx ``providers``,
    ``intra_op_threads``, ``inter_op_threads``; tensorrt ``gpu_name``. ``threads`` (0: the
    library's choice) sets the CPU threads of whichever backend is built.
    """
    threads = int(options.pop("threads", 0) or 0)
    resolved = resolve_device(device)
    backend = resolve_backend(bundle, backend, resolved)
    if backend not in RUNTIMES:
        raise ValueError(f"unknown backend {backend!r}; expected auto, torch, onnx or tensorrt")
    if backend == "torch" and not _has("torch"):
        raise RuntimeUnavailableError(TORCH_HINT)
    module_name, class_name = RUNTIMES[backend]
    runtime_class = getattr(importlib.import_module(module_name), class_name)
    if backend == "torch":
        if threads:
            import torch

            torch.set_num_threads(threads)
        return runtime_class(bundle, device=resolved, **options)
    if backend == "onnx":
        if "providers" not in options:
            cuda = resolved.startswith("cuda")
            available = __getattr__("default_providers")()
            if cuda and "CUDAExecutionProvider" not in available:
                raise RuntimeUnavailableError(
                    "onnxruntime in this environment has no CUDA provider"
                )
            options["providers"] = available if cuda else ["CPUExecutionProvider"]
        if threads:
            options.setdefault("intra_op_threads", threads)
        return runtime_class(bundle, **options)
    if resolved == "cpu":
        raise RuntimeUnavailableError("the TensorRT backend runs on CUDA only")
    return runtime_class(bundle, **options)

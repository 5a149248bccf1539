"""PyTorch backend: the bundle's safetensors weights, CPU or CUDA, optional autocast/compile."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Literal

import numpy as np
import torch

from deid_pipeline.modeling import load_torch_model
from deid_pipeline.runtimes.base import RuntimeUnavailableError

if TYPE_CHECKING:
    from deid_pipeline.bundle import Bundle

Precision = Literal["fp32", "fp16", "bf16"]
_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}


class TorchRuntime:
    """Run the bundle's torch model. Reduced precision uses autocast (weights stay fp32)."""

    name = "torch"

    def __init__(
        self,
        bundle: Bundle,
        device: str = "cpu",
        precision: Precision = "fp32",
        compile: bool = False,
    ) -> None:
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise RuntimeUnavailableError("torch runtime asked for CUDA but no GPU is visible")
        if not (device == "cpu" or device.startswith("cuda")):
            raise ValueError(f"device must be 'cpu' or 'cuda[:n]', got {device!r}")
        if precision not in ("fp32", "fp16", "bf16"):
            raise ValueError(f"precision must be fp32, fp16 or bf16, got {precision!r}")
        if precision == "fp16" and device == "cpu":
            # CPU autocast to fp16 is slow and poorly supported; bf16 is the CPU option.
            raise ValueError("fp16 needs CUDA; use bf16 or fp32 on CPU")
        self.device = device
        self.precision = precision
        model = load_torch_model(bundle).to(device)
        self.model: torch.nn.Module = torch.compile(model, dynamic=True) if compile else model

    def _autocast(self) -> contextlib.AbstractContextManager[object]:
        if self.precision == "fp32":
            return contextlib.nullcontext()
        device_type = "cuda" if self.device.startswith("cuda") else "cpu"
        return torch.autocast(device_type=device_type, dtype=_DTYPES[self.precision])

    def run(
        self, input_ids: np.ndarray, attention_mask: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return float32 ``(bio [B, T, 3], entity [B, T, E])``."""
        ids = torch.from_numpy(np.ascontiguousarray(input_ids, dtype=np.int64)).to(self.device)
        mask = torch.from_numpy(np.ascontiguousarray(attention_mask, dtype=np.int64)).to(
            self.device
        )
        with torch.inference_mode(), self._autocast():
            bio, entity = self.model(ids, mask)
        return (
            bio.float().cpu().numpy().astype(np.float32, copy=False),
            entity.float().cpu().numpy().astype(np.float32, copy=False),
        )

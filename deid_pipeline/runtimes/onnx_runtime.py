"""ONNX Runtime backend: the bundle's ``weights_onnx`` file (or its int8 twin), CUDA EP when
available.

Precision: ``fp32`` (the exported graph) or ``int8`` (dynamic quantisation, ``weights_onnx_int8``,
CPU only). The default comes from ``DEID_ONNX_PRECISION`` (``fp32`` when unset), so every door
(CLI, pipeline worker, service) picks the same one; the model card reports what int8 costs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from deid_pipeline.runtimes.base import RuntimeUnavailableError

if TYPE_CHECKING:
    from deid_pipeline.bundle import Bundle

CUDA_PROVIDER = "CUDAExecutionProvider"
CPU_PROVIDER = "CPUExecutionProvider"
Precision = Literal["fp32", "int8"]
PRECISION_ENV = "DEID_ONNX_PRECISION"


def default_precision() -> Precision:
    """``$DEID_ONNX_PRECISION`` (``fp32`` or ``int8``), ``fp32`` when unset."""
    value = os.environ.get(PRECISION_ENV, "fp32").strip().lower() or "fp32"
    if value not in ("fp32", "int8"):
        raise ValueError(f"{PRECISION_ENV} must be fp32 or int8, got {value!r}")
    return value  # type: ignore[return-value]


def default_providers() -> list[str]:
    """CUDA then CPU when this onnxruntime build has the CUDA provider, else CPU only."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    return [CUDA_PROVIDER, CPU_PROVIDER] if CUDA_PROVIDER in available else [CPU_PROVIDER]


class OnnxRuntime:
    """Run the bundle's ONNX model with ONNX Runtime."""

    name = "onnx"

    def __init__(
        self,
        bundle: Bundle,
        providers: Sequence[str] | None = None,
        intra_op_threads: int | None = None,
        inter_op_threads: int | None = None,
        precision: Precision | None = None,
    ) -> None:
        import onnxruntime as ort

        self.precision: Precision = precision or default_precision()
        role = "weights_onnx_int8" if self.precision == "int8" else "weights_onnx"
        path = bundle.path_of(role)
        if path is None:
            raise RuntimeUnavailableError(
                f"bundle has no {role} file; materialize the bundle "
                "(deid-pipeline bundle materialize) or export ONNX first"
            )
        options = ort.SessionOptions()
        # 0 lets ONNX Runtime pick; a shared machine wants an explicit small number.
        options.intra_op_num_threads = intra_op_threads or 0
        options.inter_op_num_threads = inter_op_threads or 0
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        chosen = list(providers) if providers is not None else default_providers()
        self.session = ort.InferenceSession(str(path), sess_options=options, providers=chosen)
        active = self.session.get_providers()
        self.device = "cuda" if active and active[0] == CUDA_PROVIDER else "cpu"
        self.providers = active

    def run(
        self, input_ids: np.ndarray, attention_mask: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return float32 ``(bio [B, T, 3], entity [B, T, E])``."""
        feeds = {
            "input_ids": np.ascontiguousarray(input_ids, dtype=np.int64),
            "attention_mask": np.ascontiguousarray(attention_mask, dtype=np.int64),
        }
        bio, entity = self.session.run(["bio_logits", "entity_logits"], feeds)
        return bio.astype(np.float32, copy=False), entity.astype(np.float32, copy=False)

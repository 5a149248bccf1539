"""ONNX Runtime backend: the bundle's ``weights_onnx`` file, CUDA EP when available."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from deid_pipeline.runtimes.base import RuntimeUnavailableError

if TYPE_CHECKING:
    from deid_pipeline.bundle import Bundle

CUDA_PROVIDER = "CUDAExecutionProvider"
CPU_PROVIDER = "CPUExecutionProvider"


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
    ) -> None:
        import onnxruntime as ort

        path = bundle.path_of("weights_onnx")
        if path is None:
            raise RuntimeUnavailableError(
                "bundle has no weights_onnx file; run the ONNX export first"
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

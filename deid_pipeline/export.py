"""ONNX export of a bundle's torch model into the bundle itself.

The exported graph has inputs ``input_ids`` and ``attention_mask`` (int64, ``[batch, seq]``) and
outputs ``bio_logits`` ``[batch, seq, 3]`` and ``entity_logits`` ``[batch, seq, E]``, with dynamic
batch and sequence axes. The file is added to the manifest as ``weights_onnx`` and the manifest is
rewritten with a new digest.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import torch

from deid_pipeline.bundle import BundleError, add_bundle_files, load_bundle
from deid_pipeline.modeling import load_torch_model

logger = logging.getLogger(__name__)

ONNX_NAME = "model.onnx"
ONNX_INT8_NAME = "model.int8.onnx"
INPUT_NAMES = ("input_ids", "attention_mask")
OUTPUT_NAMES = ("bio_logits", "entity_logits")
#: Opset used when the caller does not ask for one (supported by current ONNX Runtime releases).
DEFAULT_OPSET = 17


def export_onnx(bundle_dir: Path | str, opset: int | None = None) -> Path:
    """Export the bundle's model to ``model.onnx`` in the bundle, list it, return its path."""
    root = Path(bundle_dir)
    bundle = load_bundle(root, verify=True, materialize=False)
    model = load_torch_model(bundle).eval()
    out = root / ONNX_NAME
    # Distinct example sizes so no axis is specialised to a constant while tracing.
    input_ids = torch.full((2, 7), bundle.pad_token_id, dtype=torch.long)
    input_ids[:, 0] = bundle.cls_token_id
    input_ids[:, 1:6] = 5
    input_ids[:, 6] = bundle.sep_token_id
    attention_mask = torch.ones_like(input_ids)
    attention_mask[1, 5:] = 0
    dynamic_axes = {name: {0: "batch", 1: "sequence"} for name in (*INPUT_NAMES, *OUTPUT_NAMES)}
    # The TorchScript exporter handles BertModel's mask construction reliably and quickly; the
    # dynamo exporter is an alternative once its BERT support is proven on the pinned versions.
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (input_ids, attention_mask),
            str(out),
            input_names=list(INPUT_NAMES),
            output_names=list(OUTPUT_NAMES),
            dynamic_axes=dynamic_axes,
            opset_version=opset or DEFAULT_OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    _check_onnx(out)
    add_bundle_files(root, [(ONNX_NAME, "weights_onnx")])
    logger.info("exported ONNX model (%d bytes) into bundle", out.stat().st_size)
    return out


def quantize_onnx_int8(bundle_dir: Path | str) -> Path:
    """Dynamic int8 quantisation of the bundle's ONNX model (weights int8, activations
    quantised per batch at run time) into ``model.int8.onnx``, listed as ``weights_onnx_int8``.

    Only the MatMul weights are quantised; embeddings, LayerNorm and the heads' logits stay
    fp32. Whether int8 is worth its recall cost is measured, not assumed (model card).
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = Path(bundle_dir)
    bundle = load_bundle(root, verify=True, materialize=False)
    source = bundle.path_of("weights_onnx")
    if source is None:
        raise BundleError("bundle has no weights_onnx file to quantise")
    out = root / ONNX_INT8_NAME
    quantize_dynamic(
        str(source), str(out), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"]
    )
    _check_onnx(out)
    add_bundle_files(root, [(ONNX_INT8_NAME, "weights_onnx_int8")])
    logger.info("quantised ONNX model to int8 (%d bytes)", out.stat().st_size)
    return out


def _check_onnx(path: Path) -> None:
    import onnx

    try:
        onnx.checker.check_model(str(path), full_check=True)
    except onnx.checker.ValidationError as error:
        raise BundleError(f"exported {path.name} failed the ONNX checker: {error}") from error
    graph = onnx.load(str(path), load_external_data=False).graph
    outputs = [output.name for output in graph.output]
    if outputs != list(OUTPUT_NAMES):
        raise BundleError(f"exported {path.name} has outputs {outputs}, expected {OUTPUT_NAMES}")

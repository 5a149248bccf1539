"""bench/gpu.py on the CPU with a tiny model: the FLOP count against torch's own counter, and
one small sweep that must run end to end (no GPU here; figures are not asserted)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


gpu = _load("gpu")


@pytest.mark.parametrize("length", [16, 64])
def test_encoder_flops_match_torch_flop_counter(length: int) -> None:
    from torch.utils.flop_counter import FlopCounterMode
    from transformers import AutoConfig

    from deid_pipeline.modeling import TWO_HEAD_CONFIG_KEY, TwoHeadTokenClassifier

    shape = gpu.TINY
    config = AutoConfig.for_model(
        "xlm-roberta",
        vocab_size=shape.vocab,
        hidden_size=shape.hidden,
        num_hidden_layers=shape.layers,
        num_attention_heads=shape.heads,
        intermediate_size=shape.intermediate,
        max_position_embeddings=130,
        pad_token_id=1,
        type_vocab_size=1,
    )
    labels = [f"L{i}" for i in range(shape.n_labels)]
    config.update({TWO_HEAD_CONFIG_KEY: True, "entity_labels": labels})
    config._attn_implementation = "eager"  # plain matmuls, which the counter sees
    model = TwoHeadTokenClassifier(config).eval()
    ids = torch.randint(5, shape.vocab, (1, length))
    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        model(ids, torch.ones_like(ids))
    assert gpu.encoder_flops(shape, length) == pytest.approx(counter.get_total_flops(), rel=0.01)


def test_e5_small_flops_per_window() -> None:
    # 6 layers x (8*T*d^2 + 4*T*d*f + 4*T^2*d) + heads, T=256, d=384, f=1536: about 6.0 GFLOP
    assert gpu.encoder_flops(gpu.E5_SMALL, 256) / 1e9 == pytest.approx(6.06, rel=0.01)


def test_mix_window_lengths_cut_like_the_worker() -> None:
    assert gpu.mix_window_lengths([0, 5, 300], 128, 64) == [7, 128, 128, 128, 128]


def test_sweep_runs_on_cpu_with_a_tiny_model(tmp_path: Path) -> None:
    out = tmp_path / "gpu.json"
    argv = ["--tiny", "--device", "cpu", "--threads", "1", "--notes", "3", "--batches", "2", "4"]
    argv += ["--lengths", "32", "--seconds", "0.05", "--warmup", "1", "--json", str(out)]
    argv += ["--backends", "torch-fp32", "torch-bf16", "torch-fp16", "onnx-cuda", "tensorrt-fp16"]
    assert gpu.main(argv) == 0
    report = json.loads(out.read_text())
    assert report["device"] == "cpu" and report["model"] == "tiny-random"
    cells = {(cell["backend"], cell["batch"]) for cell in report["results"] if "error" not in cell}
    assert {("torch-fp32", 2), ("torch-fp32", 4), ("onnx-cuda", 2)} <= cells
    for cell in report["results"]:
        assert cell["windows_per_s"] > 0 and cell["mix_docs_per_s"] > 0
        assert 0 <= cell["mfu"] < 1
    assert "fp16" in report["unavailable"]["torch-fp16"]
    assert "tensorrt" in report["unavailable"]["tensorrt-fp16"]
    assert report["t4_reference_scaled"]["peak_ratio"] == pytest.approx(990 / 65)

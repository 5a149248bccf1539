"""bench/peers.py: its arithmetic, the Hugging Face wrapping of the two-head model, and one tiny
end-to-end run (tiny random bundle, CPU). Figures are never asserted: only their shape."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch

from deid_pipeline.bundle import Bundle

ROOT = Path(__file__).resolve().parent.parent


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


peers = _load("peers")


def test_derived_rates_and_shares() -> None:
    raw = {
        "notes": 10,
        "seconds": 2.0,
        "windows": 8,
        "note_tokens": 1000,
        "real_tokens": 1100,
        "computed_tokens": 1200,
        "model_seconds": 1.5,
    }
    figures = peers.derived(raw)
    assert figures["docs_per_s"] == pytest.approx(5.0)
    assert figures["windows_per_s"] == pytest.approx(4.0)
    assert figures["tokens_per_s"] == pytest.approx(500.0)
    # useful = 1000 note tokens + 2 specials x 8 windows; the rest of 1200 is waste
    assert figures["waste"] == pytest.approx(1 - 1016 / 1200)
    assert figures["padding_share"] == pytest.approx(1 - 1100 / 1200)
    assert figures["outside_model"] == pytest.approx(0.25)


def test_derived_without_a_model_leaves_model_figures_empty() -> None:
    figures = peers.derived({"notes": 4, "seconds": 2.0, "startup_s": 70.0})
    assert figures["docs_per_s"] == pytest.approx(2.0)
    assert figures["windows_per_s"] is None and figures["waste"] is None
    assert figures["outside_model"] is None


def test_table_marks_missing_figures_and_skipped_contenders() -> None:
    results = {
        "ours-onnx-fp32": peers.derived({"notes": 2, "seconds": 1.0, "windows": 2,
                                          "note_tokens": 10, "real_tokens": 14,
                                          "computed_tokens": 16, "model_seconds": 0.5,
                                          "startup_s": 1.0}) | {"peak_rss_mib": 300.0},
        "deduce": {"skipped": "no DEDUCE interpreter"},
    }  # fmt: skip
    table = peers.format_table(results)
    assert "skipped: no DEDUCE interpreter" in table
    assert table.splitlines()[0].startswith("contender")
    assert peers.ratios(results) == {}


def test_flat_bio_model_is_the_two_head_model(tiny_bundle: Bundle) -> None:
    from deid_pipeline.modeling import load_torch_model

    model = peers.flat_bio_model(tiny_bundle)
    inner = load_torch_model(tiny_bundle)
    ids = torch.tensor([[2, 7, 8, 9, 3]])
    mask = torch.ones_like(ids)
    with torch.inference_mode():
        logits = model(input_ids=ids, attention_mask=mask).logits
        bio, entity = inner(ids, mask)
    n_labels = len(tiny_bundle.entity_labels)
    assert logits.shape == (1, 5, 1 + 2 * n_labels)
    assert model.config.id2label[0] == "O"
    assert model.config.id2label[1] == f"B-{tiny_bundle.entity_labels[0]}"
    # log p(O) and the joint log p(B, label) of the two heads
    log_bio = torch.log_softmax(bio, -1)
    log_entity = torch.log_softmax(entity, -1)
    np.testing.assert_allclose(logits[..., 0], log_bio[..., 0], atol=1e-5)
    np.testing.assert_allclose(logits[..., 1], log_bio[..., 1] + log_entity[..., 0], atol=1e-5)
    # probabilities over the flat labels sum to one
    np.testing.assert_allclose(torch.logsumexp(logits, -1), 0.0, atol=1e-5)


def test_peers_end_to_end_on_the_tiny_bundle(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "peers.json"
    code = peers.main(
        [
            "--notes", "4", "--bundle", str(tiny_bundle_dir), "--threads", "1",
            "--only", "ours-onnx-fp32,hf-pipeline,deduce", "--hf-batch-sizes", "1", "2",
            "--calibration-notes", "2", "--deduce-python", str(tmp_path / "missing" / "python"),
            "--json", str(out),
        ]
    )  # fmt: skip
    assert code == 0
    report = json.loads(out.read_text())
    results = report["results"]
    assert "skipped" in results["deduce"]
    for name in ("ours-onnx-fp32", "hf-pipeline"):
        figures = results[name]
        assert "skipped" not in figures, figures
        assert figures["notes"] == 4
        assert figures["windows"] > 0 and figures["computed_tokens"] >= figures["real_tokens"]
        assert 0.0 <= figures["waste"] < 1.0
        assert 0.0 <= figures["outside_model"] <= 1.0
        assert figures["peak_rss_mib"] > 0
    assert results["hf-pipeline"]["batch_size"] in (1, 2)
    assert report["window"] == [64, 16]
    assert "ours-onnx-fp32/hf-pipeline" in report["ratios_docs_per_s"]

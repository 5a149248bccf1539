"""Runtimes on the tiny bundle: torch/ONNX parity, microbatched window runs, export, guards."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deid_pipeline.bundle import Bundle, load_bundle
from deid_pipeline.export import INPUT_NAMES, OUTPUT_NAMES, export_onnx
from deid_pipeline.runtimes import (
    OnnxRuntime,
    Runtime,
    RuntimeUnavailableError,
    TensorRTRuntime,
    TorchRuntime,
    make_runtime,
    run_windows,
)
from deid_pipeline.testing import make_tiny_bundle

MIXED_LENGTHS = (3, 64, 17, 40, 64, 5, 33, 2)


def _windows(bundle: Bundle, lengths: tuple[int, ...], seed: int = 0) -> list[np.ndarray]:
    """Windows of the given lengths: [CLS] + random content ids + [SEP] (int32, like shards)."""
    rng = np.random.default_rng(seed)
    vocab = len(bundle.load_tokenizer())
    windows = []
    for length in lengths:
        content = rng.integers(5, vocab, size=length - 2)
        window = np.concatenate([[bundle.cls_token_id], content, [bundle.sep_token_id]])
        windows.append(window.astype(np.int32))
    return windows


@pytest.fixture(scope="module")
def torch_runtime(tiny_bundle: Bundle) -> TorchRuntime:
    return TorchRuntime(tiny_bundle)


@pytest.fixture(scope="module")
def onnx_runtime(tiny_bundle: Bundle) -> OnnxRuntime:
    return OnnxRuntime(tiny_bundle, providers=["CPUExecutionProvider"], intra_op_threads=1)


class EchoRuntime:
    """A deterministic, model-free runtime whose logits encode each token id and its position.

    It lets ordering and padding removal be checked on thousands of generated cases quickly.
    """

    name = "echo"
    device = "cpu"

    def __init__(self, n_labels: int = 2) -> None:
        self.n_labels = n_labels
        self.widths: list[int] = []

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> tuple[np.ndarray, ...]:
        self.widths.append(input_ids.shape[1])
        assert input_ids.dtype == np.int64 and attention_mask.dtype == np.int64
        ids = input_ids.astype(np.float32)
        positions = np.broadcast_to(np.arange(ids.shape[1], dtype=np.float32), ids.shape)
        bio = np.stack([ids, positions, attention_mask.astype(np.float32)], axis=-1)
        entity = np.repeat(ids[..., None], self.n_labels, axis=-1)
        return bio, entity


def test_protocol_is_met(torch_runtime: TorchRuntime, onnx_runtime: OnnxRuntime) -> None:
    for runtime in (torch_runtime, onnx_runtime, EchoRuntime()):
        assert isinstance(runtime, Runtime)
    assert (torch_runtime.name, torch_runtime.device) == ("torch", "cpu")
    assert (onnx_runtime.name, onnx_runtime.device) == ("onnx", "cpu")


def test_torch_onnx_parity_on_mixed_lengths(
    tiny_bundle: Bundle, torch_runtime: TorchRuntime, onnx_runtime: OnnxRuntime
) -> None:
    windows = _windows(tiny_bundle, MIXED_LENGTHS)
    kwargs = {"pad_token_id": tiny_bundle.pad_token_id, "token_budget": 128, "max_batch": 4}
    torch_result = run_windows(torch_runtime, windows, **kwargs)
    onnx_result = run_windows(onnx_runtime, windows, **kwargs)
    assert torch_result.batches > 1
    differences = [
        float(np.abs(left - right).max())
        for left, right in zip(
            torch_result.bio + torch_result.entity,
            onnx_result.bio + onnx_result.entity,
            strict=True,
        )
    ]
    assert max(differences) <= 1e-3
    # Random weights still give non-constant outputs, so the parity check is not vacuous.
    assert float(np.std(torch_result.entity[1])) > 1e-3


@pytest.mark.parametrize("sort_by_length", [True, False])
def test_run_windows_restores_order_and_strips_padding(
    tiny_bundle: Bundle, torch_runtime: TorchRuntime, sort_by_length: bool
) -> None:
    windows = _windows(tiny_bundle, MIXED_LENGTHS, seed=1)
    result = run_windows(
        torch_runtime,
        windows,
        tiny_bundle.pad_token_id,
        token_budget=200,
        max_batch=3,
        sort_by_length=sort_by_length,
    )
    n_labels = len(tiny_bundle.entity_labels)
    assert result.real_tokens == sum(MIXED_LENGTHS)
    assert result.computed_tokens >= result.real_tokens
    assert result.padding_efficiency == pytest.approx(result.real_tokens / result.computed_tokens)
    assert result.batches == len(result.batch_sizes) and sum(result.batch_sizes) == len(windows)
    for index, window in enumerate(windows):
        # Each window alone (no padding at all) must give the same logits as inside its batch.
        alone_bio, alone_entity = torch_runtime.run(
            window[None, :].astype(np.int64), np.ones((1, len(window)), dtype=np.int64)
        )
        assert result.bio[index].shape == (len(window), 3)
        assert result.entity[index].shape == (len(window), n_labels)
        assert result.bio[index].dtype == np.float32
        np.testing.assert_allclose(result.bio[index], alone_bio[0], atol=1e-4)
        np.testing.assert_allclose(result.entity[index], alone_entity[0], atol=1e-4)


@settings(max_examples=60, deadline=None)
@given(
    lengths=st.lists(st.integers(min_value=1, max_value=70), max_size=40),
    token_budget=st.integers(min_value=1, max_value=400),
    max_batch=st.integers(min_value=1, max_value=8),
    sort_by_length=st.booleans(),
)
def test_run_windows_order_property(
    lengths: list[int], token_budget: int, max_batch: int, sort_by_length: bool
) -> None:
    windows = [np.arange(7 + i, 7 + i + n, dtype=np.int32) for i, n in enumerate(lengths)]
    runtime = EchoRuntime()
    result = run_windows(runtime, windows, 0, token_budget, max_batch, sort_by_length)
    assert len(result.bio) == len(windows) == len(result.entity)
    for window, bio, entity in zip(windows, result.bio, result.entity, strict=True):
        np.testing.assert_array_equal(bio[:, 0], window)  # this window's own ids, in order
        np.testing.assert_array_equal(bio[:, 1], np.arange(len(window)))  # no left padding
        assert np.all(bio[:, 2] == 1.0)  # only real (unmasked) tokens kept
        np.testing.assert_array_equal(entity[:, 1], window)
    assert result.computed_tokens == sum(
        size * width for size, width in zip(result.batch_sizes, runtime.widths, strict=True)
    )


def test_run_windows_empty_and_bad_input(torch_runtime: TorchRuntime) -> None:
    result = run_windows(torch_runtime, [], pad_token_id=0)
    assert (result.bio, result.batches, result.padding_efficiency) == ([], 0, 1.0)
    with pytest.raises(ValueError, match="empty window"):
        run_windows(torch_runtime, [np.array([], dtype=np.int32)], pad_token_id=0)


def test_torch_precision_options(tiny_bundle: Bundle, torch_runtime: TorchRuntime) -> None:
    with pytest.raises(ValueError, match="fp16"):
        TorchRuntime(tiny_bundle, precision="fp16")
    bf16 = make_runtime(tiny_bundle, "torch", device="cpu", precision="bf16")
    windows = _windows(tiny_bundle, (20, 9))
    full = run_windows(torch_runtime, windows, tiny_bundle.pad_token_id)
    reduced = run_windows(bf16, windows, tiny_bundle.pad_token_id)
    for left, right in zip(full.entity, reduced.entity, strict=True):
        np.testing.assert_allclose(left, right, atol=0.1)


def test_make_runtime_backends(tiny_bundle: Bundle, tmp_path: Path) -> None:
    assert make_runtime(tiny_bundle, "onnx", device="cpu").providers == ["CPUExecutionProvider"]
    assert make_runtime(tiny_bundle, "torch").device in ("cpu", "cuda")
    with pytest.raises(ValueError, match="unknown backend"):
        make_runtime(tiny_bundle, "tflite", device="cpu")  # type: ignore[arg-type]
    without_onnx = make_tiny_bundle(tmp_path / "no-onnx")
    with pytest.raises(RuntimeUnavailableError, match="weights_onnx"):
        make_runtime(without_onnx, "onnx", device="cpu")


@pytest.mark.skipif(
    importlib.util.find_spec("tensorrt") is not None, reason="tensorrt is installed here"
)
def test_tensorrt_guard(tiny_bundle: Bundle) -> None:
    with pytest.raises(RuntimeUnavailableError, match="'tensorrt' package"):
        TensorRTRuntime(tiny_bundle)
    with pytest.raises(RuntimeUnavailableError, match="CUDA"):
        make_runtime(tiny_bundle, "tensorrt", device="cpu")


def test_export_onnx_dynamic_axes_and_new_digest(tmp_path: Path) -> None:
    import onnx

    bundle = make_tiny_bundle(tmp_path / "b", window_length=32, window_overlap=8, seed=2)
    path = export_onnx(bundle.root)
    after = load_bundle(bundle.root)
    assert after.sha256 != bundle.sha256
    assert after.path_of("weights_onnx") == path
    graph = onnx.load(str(path)).graph
    assert [value.name for value in graph.input] == list(INPUT_NAMES)
    assert [value.name for value in graph.output] == list(OUTPUT_NAMES)
    for value in [*graph.input, *graph.output]:
        dims = value.type.tensor_type.shape.dim
        assert dims[0].dim_param and dims[1].dim_param, value.name  # symbolic batch, sequence
    for value in graph.input:
        assert value.type.tensor_type.elem_type == onnx.TensorProto.INT64


def test_flat_bio_bundle_exports_with_parity(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    from transformers import BertConfig, BertForTokenClassification

    from deid_pipeline.bundle import wrap_hf_checkpoint

    source = tmp_path / "hf"
    for name in ("tokenizer.json", "tokenizer_config.json"):
        source.mkdir(exist_ok=True)
        shutil.copy(tiny_bundle_dir / name, source / name)
    labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    config = BertConfig(
        vocab_size=2200,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        id2label=dict(enumerate(labels)),
        label2id={label: index for index, label in enumerate(labels)},
    )
    BertForTokenClassification(config).save_pretrained(source)
    bundle = wrap_hf_checkpoint(source, tmp_path / "wrapped", window_length=64)
    export_onnx(bundle.root)
    bundle = load_bundle(bundle.root)
    windows = _windows(bundle, (64, 10, 31))
    torch_result = run_windows(make_runtime(bundle, "torch", device="cpu"), windows, 0)
    onnx_result = run_windows(make_runtime(bundle, "onnx", device="cpu"), windows, 0)
    for left, right in zip(torch_result.bio, onnx_result.bio, strict=True):
        assert left.shape[1] == 3
        np.testing.assert_allclose(left, right, atol=1e-3)
    assert onnx_result.entity[0].shape == (64, 2)

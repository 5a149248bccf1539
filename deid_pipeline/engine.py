"""In-memory composition of the core stages, used by the file CLI and the evaluation run.

The Dagster pipeline runs the same pure functions with each stage persisted; this module runs
them back to back for a stream of records: validate -> tokenize -> windows -> pack -> model ->
decode -> post-process -> replace. Records are processed one shard-sized chunk at a time, so
memory does not grow with the input.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from deid_pipeline.bundle import Bundle
from deid_pipeline.decoding import decode_windows
from deid_pipeline.notes import Limits, Note, Rejection, RejectReason, validate_record
from deid_pipeline.postprocess import postprocess
from deid_pipeline.replace import ReplacementPolicy, SecretKey, deidentify_note
from deid_pipeline.runtimes import Runtime, run_windows
from deid_pipeline.shards import pack_shards
from deid_pipeline.spans import Span
from deid_pipeline.windows import build_windows, check_window_limit, tokenize_notes, window_count


@dataclass(frozen=True, slots=True)
class NoteResult:
    """The de-identified form of one note and the final spans (offsets into the input text)."""

    note_id: str
    deid_text: str
    spans: list[Span]

    def to_dict(self) -> dict[str, object]:
        return {
            "note_id": self.note_id,
            "deid_text": self.deid_text,
            "spans": [
                {
                    "start": span.start,
                    "end": span.end,
                    "label": span.label,
                    "score": round(float(span.score), 4),
                    "source": span.source,
                }
                for span in self.spans
            ],
        }


@dataclass(frozen=True, slots=True)
class Rejected:
    """A rejected input record and where it came from (1-based line number for files)."""

    position: int
    rejection: Rejection


@dataclass(slots=True)
class EngineStats:
    """Running figures of an engine run; safe to print (no text)."""

    notes: int = 0
    rejected: int = 0
    windows: int = 0
    characters: int = 0
    real_tokens: int = 0
    computed_tokens: int = 0
    model_seconds: float = 0.0
    started_at: float = field(default_factory=time.perf_counter)

    @property
    def elapsed_seconds(self) -> float:
        return time.perf_counter() - self.started_at

    @property
    def docs_per_second(self) -> float:
        elapsed = self.elapsed_seconds
        return self.notes / elapsed if elapsed > 0 else 0.0

    @property
    def padding_efficiency(self) -> float:
        return self.real_tokens / self.computed_tokens if self.computed_tokens else 1.0


class Deidentifier:
    """Runs every core stage for a stream of records with one bundle and one runtime."""

    def __init__(
        self,
        bundle: Bundle,
        runtime: Runtime,
        *,
        secret: SecretKey,
        policy: ReplacementPolicy | None = None,
        limits: Limits | None = None,
        token_budget: int = 4096,
        max_batch: int = 16,
        require_label_shape: bool = True,
    ) -> None:
        self.bundle = bundle
        self.runtime = runtime
        self.secret = secret
        self.policy = policy or ReplacementPolicy()
        self.limits = limits or Limits()
        self.token_budget = token_budget
        self.max_batch = max_batch
        self.require_label_shape = require_label_shape
        self.tokenizer = bundle.load_tokenizer()
        self.thresholds = [bundle.threshold_for(label) for label in bundle.entity_labels]
        self.stats = EngineStats()

    def detect(self, notes: Sequence[Note]) -> tuple[list[list[Span]], list[Rejection]]:
        """Final spans for each note that passes the window limit, in input order.

        Returns the span lists of accepted notes (aligned with the accepted notes, in order) and
        the rejections of notes over the window limit. Notes are packed into shards by window
        count exactly as the pipeline does, and each shard is one model call sequence.
        """
        manifest = self.bundle.manifest
        tokenized = tokenize_notes(self.tokenizer, notes)
        accepted: list[int] = []
        rejections: list[Rejection] = []
        counts: list[int] = []
        for index, tokens in enumerate(tokenized):
            n_windows = window_count(
                len(tokens.token_ids), manifest.window_length, manifest.window_overlap
            )
            rejection = check_window_limit(tokens, n_windows, self.limits)
            if rejection is not None:
                rejections.append(rejection)
                continue
            accepted.append(index)
            counts.append(n_windows)
        spans_by_note: dict[int, list[Span]] = {}
        plans = pack_shards(counts, [len(notes[i].text) for i in accepted], self.limits)
        for plan in plans:
            shard_notes = [accepted[i] for i in plan.note_indices]
            shard_tokens = [tokenized[i] for i in shard_notes]
            windows = build_windows(
                shard_tokens,
                manifest.window_length,
                manifest.window_overlap,
                self.bundle.cls_token_id,
                self.bundle.sep_token_id,
            )
            result = run_windows(
                self.runtime,
                [window.input_ids for window in windows],
                self.bundle.pad_token_id,
                token_budget=self.token_budget,
                max_batch=self.max_batch,
            )
            self.stats.windows += len(windows)
            self.stats.real_tokens += result.real_tokens
            self.stats.computed_tokens += result.computed_tokens
            self.stats.model_seconds += result.seconds
            model_spans = decode_windows(
                [notes[i].text for i in shard_notes],
                shard_tokens,
                windows,
                result.bio,
                result.entity,
                self.bundle.entity_labels,
                self.thresholds,
            )
            for note_index, found in zip(shard_notes, model_spans, strict=True):
                spans_by_note[note_index] = postprocess(
                    notes[note_index], found, require_label_shape=self.require_label_shape
                )
        return [spans_by_note[i] for i in accepted], rejections

    def process(self, notes: Sequence[Note]) -> tuple[list[NoteResult], list[Rejection]]:
        """De-identify a chunk of validated notes; results keep input order."""
        spans_lists, rejections = self.detect(notes)
        rejected_ids = {rejection.note_id for rejection in rejections}
        kept = [note for note in notes if note.note_id not in rejected_ids]
        results = [
            NoteResult(
                note.note_id,
                deidentify_note(note, spans, secret=self.secret, policy=self.policy),
                spans,
            )
            for note, spans in zip(kept, spans_lists, strict=True)
        ]
        self.stats.notes += len(results)
        self.stats.rejected += len(rejections)
        self.stats.characters += sum(len(note.text) for note in kept)
        return results, rejections

    def process_records(
        self, records: Iterable[tuple[int, object]], chunk_chars: int | None = None
    ) -> Iterator[NoteResult | Rejected]:
        """Validate and process ``(position, raw record)`` pairs, yielding in input order.

        A malformed record is yielded as :class:`Rejected` at its place; a note id seen before is
        rejected as ``duplicate_id`` (first occurrence wins). Chunks are about one shard of
        characters, so memory stays bounded.
        """
        chunk_chars = chunk_chars or self.limits.max_chars_per_shard
        seen: set[str] = set()
        pending: list[tuple[int, Note | Rejection]] = []
        pending_chars = 0
        for position, record in records:
            checked = validate_record(record, self.limits)
            if isinstance(checked, Note):
                if checked.note_id in seen:
                    checked = Rejection(
                        RejectReason.DUPLICATE_ID, "note_id occurs more than once", checked.note_id
                    )
                else:
                    seen.add(checked.note_id)
                    pending_chars += len(checked.text)
            pending.append((position, checked))
            if pending_chars >= chunk_chars:
                yield from self._flush(pending)
                pending, pending_chars = [], 0
        if pending:
            yield from self._flush(pending)

    def _flush(
        self, pending: list[tuple[int, Note | Rejection]]
    ) -> Iterator[NoteResult | Rejected]:
        notes = [item for _, item in pending if isinstance(item, Note)]
        results, window_rejections = self.process(notes) if notes else ([], [])
        by_id: dict[str, NoteResult | Rejection] = {result.note_id: result for result in results}
        by_id.update({rejection.note_id or "": rejection for rejection in window_rejections})
        for position, item in pending:
            if isinstance(item, Rejection):
                self.stats.rejected += 1
                yield Rejected(position, item)
                continue
            outcome = by_id[item.note_id]
            yield Rejected(position, outcome) if isinstance(outcome, Rejection) else outcome

"""The file door of the core API: a stream of records in, released or rejected notes out.

Runs :mod:`deid_pipeline.core` back to back in memory (prepare -> detect -> release) for the
file CLI, one chunk of about a shard's characters at a time, so memory does not grow with the
input. The Dagster stages run the same core functions with every step persisted.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from deid_pipeline.bundle import Bundle
from deid_pipeline.core import (
    DetectionSettings,
    RecordValidator,
    Released,
    WindowGeometry,
    detect_in_windows,
    prepare,
    release,
    run_model,
    special_token_ids,
)
from deid_pipeline.notes import Limits, Note, Rejection
from deid_pipeline.replace import ReplacementPolicy, SecretKey
from deid_pipeline.runtimes import Runtime


@dataclass(frozen=True, slots=True)
class Rejected:
    """A rejected or withheld record and where it came from (1-based line number for files)."""

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
    """Runs the core API for a stream of records with one bundle and one runtime."""

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
        self.detection = DetectionSettings.of(bundle, require_label_shape=require_label_shape)
        self.tokenizer = bundle.load_tokenizer()
        # Ids from the tokenizer just loaded: Bundle.cls_token_id would load it a second time.
        self.geometry = WindowGeometry.of(bundle, self.tokenizer)
        self.pad_token_id = special_token_ids(self.tokenizer)[2]
        self.stats = EngineStats()

    def process_records(
        self, records: Iterable[tuple[int, object]], chunk_chars: int | None = None
    ) -> Iterator[Released | Rejected]:
        """Validate, detect and release ``(position, raw record)`` pairs, in input order.

        A record is either :class:`~deid_pipeline.core.Released` or :class:`Rejected` (invalid,
        over a limit, or withheld by the leak check). A record given as a
        :class:`~deid_pipeline.notes.Rejection` (e.g. a line that is not JSON) is passed on.
        Chunks are about one shard of characters, so memory stays bounded.
        """
        chunk_chars = chunk_chars or self.limits.max_chars_per_shard
        validate = RecordValidator(self.limits)
        pending: list[tuple[int, Note | Rejection]] = []
        pending_chars = 0
        for position, record in records:
            checked = record if isinstance(record, Rejection) else validate(record)
            if isinstance(checked, Note):
                pending_chars += len(checked.text)
            pending.append((position, checked))
            if pending_chars >= chunk_chars:
                yield from self._flush(pending)
                pending, pending_chars = [], 0
        if pending:
            yield from self._flush(pending)

    def _outcomes(self, notes: list[Note]) -> dict[str, Released | Rejection]:
        """Detect and release a chunk of valid notes; keyed by note id."""
        prepared = prepare(notes, self.tokenizer, self.geometry, self.limits)
        outcomes: dict[str, Released | Rejection] = {
            rejection.note_id or "": rejection for rejection in prepared.rejections
        }
        by_id = {note.note_id: note for note in notes}
        for shard in prepared.shards:
            logits = run_model(
                self.runtime,
                [window.input_ids for window in shard.windows],
                self.pad_token_id,
                token_budget=self.token_budget,
                max_batch=self.max_batch,
            )
            self.stats.windows += len(shard.windows)
            self.stats.real_tokens += logits.real_tokens
            self.stats.computed_tokens += logits.computed_tokens
            self.stats.model_seconds += logits.seconds
            shard_notes = [by_id[note_id] for note_id in shard.note_ids]
            spans = detect_in_windows(shard_notes, shard, logits, self.detection)
            for note, found in zip(shard_notes, spans, strict=True):
                outcomes[note.note_id] = release(
                    note, found, secret=self.secret, policy=self.policy
                )
                self.stats.characters += len(note.text)
        return outcomes

    def _flush(self, pending: list[tuple[int, Note | Rejection]]) -> Iterator[Released | Rejected]:
        notes = [item for _, item in pending if isinstance(item, Note)]
        outcomes = self._outcomes(notes) if notes else {}
        for position, item in pending:
            outcome = outcomes[item.note_id] if isinstance(item, Note) else item
            if isinstance(outcome, Rejection):
                self.stats.rejected += 1
                yield Rejected(position, outcome)
            else:
                self.stats.notes += 1
                yield outcome

"""The service's door to the core API: a request body in, the response body out.

A request runs the same core functions as the file CLI (:mod:`deid_pipeline.engine`) with the
same bundle and settings: :class:`~deid_pipeline.core.RecordValidator`,
:func:`~deid_pipeline.core.prepare`, the model (here through the shared
:class:`~deid_pipeline.service.microbatcher.MicroBatcher`),
:func:`~deid_pipeline.core.detect_in_windows` and :func:`~deid_pipeline.core.release`, and
serializes released notes with the file CLI's own output-line function. So a note gives the same
output line through ``deid-pipeline deidentify`` and ``POST /v1/deidentify``.

Steps that hold the GIL for long (JSON, validation, tokenization, decoding, replacement) run on
a small pool of prepare threads, each with a tokenizer of its own (a fast tokenizer shared
between threads raises "Already borrowed"). Errors carry field names, limits and figures only.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, StrictBool, ValidationError

from deid_pipeline.cli import _output_line as released_line
from deid_pipeline.core import (
    DetectionSettings,
    PreparedShard,
    RecordValidator,
    Released,
    WindowGeometry,
    detect_in_windows,
    prepare,
    release,
)
from deid_pipeline.notes import Note, Rejection
from deid_pipeline.replace import ReplacementPolicy, SecretKey
from deid_pipeline.runtimes import WindowRunResult
from deid_pipeline.service.microbatcher import MicroBatcher, WindowLogits

if TYPE_CHECKING:
    from deid_pipeline.bundle import Bundle
    from deid_pipeline.runtimes import Runtime
    from deid_pipeline.service.metrics import ServiceMetrics
    from deid_pipeline.service.settings import ServiceSettings

log = logging.getLogger(__name__)


class RequestError(Exception):
    """A request-level refusal: HTTP ``status``, a stable ``code`` and a text-free message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **self.extra}


def limit_error(limit: str, actual: int, maximum: int, what: str) -> RequestError:
    """413 naming the limit (its ``DEID_*`` variable), the request's figure and the maximum."""
    return RequestError(
        413,
        "request_too_large",
        f"{what}: {actual:,} exceeds the limit of {maximum:,} (DEID_{limit.upper()})",
        limit=limit,
        actual=actual,
        maximum=maximum,
    )


class RequestOptions(BaseModel):
    """``options`` of a request; unset fields take the server's settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    replace: Literal["tags", "surrogates"] | None = None
    number_tags: StrictBool | None = None


class RequestEnvelope(BaseModel):
    """The body of ``POST /v1/deidentify``: ``records`` are validated one by one later."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    records: list[Any]
    options: RequestOptions = RequestOptions()


def _field_error(error: ValidationError) -> RequestError:
    # Field locations and error kinds only: pydantic's messages may quote the input.
    problems = sorted(
        {
            f"{'.'.join(str(part) for part in issue['loc']) or 'body'} ({issue['type']})"
            for issue in error.errors()
        }
    )
    return RequestError(
        422,
        "invalid_request",
        'the body must be {"records": [Note, ...], "options": {"replace": "tags" | '
        f'"surrogates", "number_tags": bool}}}}; invalid: {", ".join(problems)}',
        fields=problems,
    )


@dataclass(slots=True, eq=False)
class PreparedRequest:
    """A request after validation and tokenization, waiting for its windows' logits."""

    n_records: int
    outcomes: dict[int, Rejection | str]  # position -> rejection, or the note id of a note
    notes: dict[str, Note]
    shards: list[PreparedShard]
    early: dict[str, Rejection]  # note id -> window-limit rejection
    policy: ReplacementPolicy
    n_chars: int = 0
    windows: list[Any] = field(default_factory=list)


@dataclass(slots=True)
class RequestFigures:
    """What the access log says about a request (figures only)."""

    records: int = 0
    released: int = 0
    rejected: int = 0
    windows: int = 0


class ServiceRunner:
    """One bundle, one runtime, one secret and the settings: requests through the core."""

    def __init__(
        self,
        bundle: Bundle,
        runtime: Runtime,
        *,
        secret: SecretKey,
        settings: ServiceSettings,
        metrics: ServiceMetrics,
    ) -> None:
        self.bundle = bundle
        self.runtime = runtime
        self.secret = secret
        self.settings = settings
        self.metrics = metrics
        self.limits = settings.limits()
        self.detection: DetectionSettings = settings.detection(bundle)
        self.geometry = WindowGeometry.of(bundle)
        self.default_policy = settings.replacement_policy()
        self.batcher = MicroBatcher(
            runtime,
            bundle.pad_token_id,
            max_batch=settings.max_batch,
            token_budget=settings.token_budget,
            max_wait_s=settings.max_wait_ms / 1000.0,
            max_queued_windows=settings.max_queued_windows,
            threads=settings.inference_threads,
            metrics=metrics,
            max_retry_after_s=settings.max_retry_after_s,
        )
        self.executor = ThreadPoolExecutor(
            settings.prepare_threads, thread_name_prefix="deid-prepare"
        )
        self._local = threading.local()
        self.bundle_verified = True  # load_bundle(verify=True) ran before the runner exists
        self.warmed_up = False
        self.warm_up_failed = False
        self.pending = 0
        metrics.model_info.labels(
            model_version=bundle.model_version,
            bundle_sha256=bundle.sha256,
            backend=runtime.name,
            device=getattr(runtime, "device", "cpu"),
        ).set(1)
        metrics.demo_key.set(1 if secret.is_demo else 0)

    # ------------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start the inference threads and warm up the runtime and a tokenizer (blocking)."""
        self.batcher.start()
        try:
            self.executor.submit(self._tokenizer).result()
            self.batcher.warm_up(
                self.bundle.window_length,
                self.bundle.sep_token_id,
                self.bundle.cls_token_id,
                self.bundle.sep_token_id,
            )
        except Exception as error:
            self.warm_up_failed = True
            log.error("warm-up failed: %s", type(error).__name__)
            return
        self.warmed_up = True
        log.info(
            "ready: model_version=%s bundle=%s backend=%s",
            self.bundle.model_version,
            self.bundle.sha256[:12],
            self.runtime.name,
        )

    def stop(self) -> None:
        """Stop taking batches and let the prepare threads finish."""
        self.batcher.stop()
        self.executor.shutdown(wait=True, cancel_futures=True)

    def readiness(self) -> dict[str, bool]:
        """The checks behind ``/readyz``; ready when all are true."""
        capacity = self.settings.max_queued_windows
        return {
            "bundle_verified": self.bundle_verified,
            "runtime_warmed_up": self.warmed_up and self.batcher.alive,
            "queue_not_saturated": (
                self.batcher.queued_windows < self.settings.ready_queue_fraction * capacity
                and self.pending < self.settings.max_pending_requests
            ),
        }

    # ------------------------------------------------------------------------- requests

    def _tokenizer(self) -> Any:
        tokenizer = getattr(self._local, "tokenizer", None)
        if tokenizer is None:
            tokenizer = self.bundle.load_tokenizer()
            self._local.tokenizer = tokenizer
        return tokenizer

    def policy_for(self, options: RequestOptions) -> ReplacementPolicy:
        """The server's replacement policy with the request's options applied."""
        changes: dict[str, Any] = {}
        if options.replace is not None:
            changes["mode"] = options.replace
        if options.number_tags is not None:
            changes["number_tags"] = options.number_tags
        if not changes:
            return self.default_policy
        return ReplacementPolicy(**{**self.default_policy.model_dump(), **changes})

    def parse(self, body: bytes) -> RequestEnvelope:
        """The envelope of a body; 400/422/413 for bodies that cannot be processed."""
        try:
            payload = json.loads(body)
        except UnicodeDecodeError as error:
            raise RequestError(
                400, "invalid_json", f"the body is not UTF-8 (byte {error.start})"
            ) from None
        except json.JSONDecodeError as error:
            raise RequestError(
                400,
                "invalid_json",
                f"the body is not valid JSON (line {error.lineno}, column {error.colno})",
            ) from None
        if not isinstance(payload, dict):
            raise RequestError(422, "invalid_request", "the body must be a JSON object")
        try:
            envelope = RequestEnvelope.model_validate(payload)
        except ValidationError as error:
            raise _field_error(error) from None
        settings = self.settings
        if len(envelope.records) > settings.max_records_per_request:
            raise limit_error(
                "max_records_per_request",
                len(envelope.records),
                settings.max_records_per_request,
                "records in the request",
            )
        n_chars = sum(
            len(record["text"])
            for record in envelope.records
            if isinstance(record, dict) and isinstance(record.get("text"), str)
        )
        if n_chars > settings.max_chars_per_request:
            raise limit_error(
                "max_chars_per_request",
                n_chars,
                settings.max_chars_per_request,
                "characters of all texts in the request",
            )
        return envelope

    def prepare_request(self, body: bytes) -> PreparedRequest:
        """Parse, check limits, validate records and tokenize (runs on a prepare thread)."""
        envelope = self.parse(body)
        policy = self.policy_for(envelope.options)
        validate = RecordValidator(self.limits)
        outcomes: dict[int, Rejection | str] = {}
        notes: dict[str, Note] = {}
        for position, record in enumerate(envelope.records):
            checked = validate(record)
            if isinstance(checked, Note):
                notes[checked.note_id] = checked
                outcomes[position] = checked.note_id
            else:
                outcomes[position] = checked
        note_list = list(notes.values())
        prepared = (
            prepare(note_list, self._tokenizer(), self.geometry, self.limits) if note_list else None
        )
        shards = prepared.shards if prepared is not None else []
        early = (
            {rejection.note_id or "": rejection for rejection in prepared.rejections}
            if prepared is not None
            else {}
        )
        windows = [window.input_ids for shard in shards for window in shard.windows]
        if len(windows) > self.settings.max_windows_per_request:
            raise limit_error(
                "max_windows_per_request",
                len(windows),
                self.settings.max_windows_per_request,
                "model windows of the request after tokenization",
            )
        return PreparedRequest(
            n_records=len(envelope.records),
            outcomes=outcomes,
            notes=notes,
            shards=shards,
            early=early,
            policy=policy,
            n_chars=sum(len(note.text) for note in note_list),
            windows=windows,
        )

    def finish(
        self, request: PreparedRequest, logits: WindowLogits, figures: RequestFigures
    ) -> bytes:
        """Detect and release the request's notes; the response body (runs on a prepare
        thread)."""
        released: dict[str, Released | Rejection] = dict(request.early)
        offset = 0
        for shard in request.shards:
            n = len(shard.windows)
            shard_logits = WindowRunResult(
                bio=logits.bio[offset : offset + n],
                entity=logits.entity[offset : offset + n],
                real_tokens=0,
                computed_tokens=0,
                padding_efficiency=1.0,
                seconds=0.0,
                batches=0,
            )
            offset += n
            shard_notes = [request.notes[note_id] for note_id in shard.note_ids]
            spans = detect_in_windows(shard_notes, shard, shard_logits, self.detection)
            for note, found in zip(shard_notes, spans, strict=True):
                released[note.note_id] = release(
                    note, found, secret=self.secret, policy=request.policy
                )
        results: list[dict[str, Any]] = []
        rejected: list[dict[str, Any]] = []
        for position in range(request.n_records):
            outcome = request.outcomes[position]
            if isinstance(outcome, str):
                outcome = released[outcome]
            if isinstance(outcome, Rejection):
                rejected.append({"index": position, **outcome.to_dict()})
                self.metrics.rejected_records.labels(reason=outcome.reason.value).inc()
            else:
                results.append(released_line(outcome))
        self.metrics.released_records.inc(len(results))
        figures.records = request.n_records
        figures.released = len(results)
        figures.rejected = len(rejected)
        figures.windows = len(request.windows)
        body = {
            "results": results,
            "rejected": rejected,
            "model_version": self.bundle.model_version,
            "bundle_sha256": self.bundle.sha256,
            "demo_key": self.secret.is_demo,
        }
        return json.dumps(body, ensure_ascii=False).encode("utf-8")

"""A microbatcher shared by all requests: model windows from many requests in one batch.

Requests put all of their windows on one bounded queue at once (:meth:`MicroBatcher.submit`),
or none: when the queue cannot take them, :class:`Overloaded` says so and how long to wait, and
the service answers 429 instead of letting the queue grow. Inference threads take batches off
the queue head in arrival order, each batch bounded by a window count (``max_batch``) and a
padded-token budget (``token_budget``: windows x longest window) and closed when full or when
its oldest window has waited ``max_wait_s`` (defaults of the system this project grew from: 16
windows, 4,096 tokens, 5 ms). Each request gets its windows' logits back in submission order,
padding removed, exactly as :func:`deid_pipeline.runtimes.run_windows` returns them.

Only token ids cross this module: no text, no metadata, nothing to log.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from deid_pipeline.runtimes.base import pad_batch

if TYPE_CHECKING:
    from deid_pipeline.runtimes import Runtime
    from deid_pipeline.service.metrics import ServiceMetrics

log = logging.getLogger(__name__)

FULL = "full"
TIMEOUT = "timeout"


class Overloaded(Exception):
    """The window queue cannot take a request's windows now; retry after ``retry_after_s``."""

    def __init__(self, queued: int, capacity: int, retry_after_s: float) -> None:
        super().__init__(f"window queue holds {queued} of {capacity} windows")
        self.queued = queued
        self.capacity = capacity
        self.retry_after_s = retry_after_s


class BatcherStopped(RuntimeError):
    """The microbatcher was stopped before a request's windows were run."""


@dataclass(frozen=True, slots=True)
class WindowLogits:
    """A request's per-window logits in submission order (padding removed)."""

    bio: list[np.ndarray]
    entity: list[np.ndarray]
    real_tokens: int
    computed_tokens: int
    seconds: float
    batches: int


@dataclass(slots=True, eq=False)
class _Job:
    windows: Sequence[np.ndarray]
    future: concurrent.futures.Future[WindowLogits]
    submitted_at: float
    bio: list[np.ndarray | None] = field(default_factory=list)
    entity: list[np.ndarray | None] = field(default_factory=list)
    remaining: int = 0
    computed_tokens: int = 0
    batches: set[int] = field(default_factory=set)


@dataclass(slots=True)
class _Item:
    job: _Job
    index: int
    length: int
    enqueued_at: float


def _settle(
    future: concurrent.futures.Future[WindowLogits],
    result: WindowLogits | None = None,
    *,
    error: BaseException | None = None,
) -> None:
    """Set a future's result or error unless it is done (answered, failed, or cancelled by a
    client that went away; a cancel can race with the check, so the error is caught too)."""
    if future.done():
        return
    try:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]
    except concurrent.futures.InvalidStateError:
        pass


class MicroBatcher:
    """Bounded window queue plus inference threads running batches on one runtime."""

    def __init__(
        self,
        runtime: Runtime,
        pad_token_id: int,
        *,
        max_batch: int = 16,
        token_budget: int = 4096,
        max_wait_s: float = 0.005,
        max_queued_windows: int = 4096,
        threads: int = 1,
        metrics: ServiceMetrics | None = None,
        max_retry_after_s: float = 30.0,
    ) -> None:
        if max_batch < 1 or token_budget < 1 or max_queued_windows < 1 or threads < 1:
            raise ValueError("max_batch, token_budget, max_queued_windows, threads must be >= 1")
        self.runtime = runtime
        self.pad_token_id = pad_token_id
        self.max_batch = max_batch
        self.token_budget = token_budget
        self.max_wait_s = max_wait_s
        self.capacity = max_queued_windows
        self.metrics = metrics
        self.max_retry_after_s = max_retry_after_s
        self._queue: deque[_Item] = deque()
        self._cond = threading.Condition()
        self._running = False
        self._threads: list[threading.Thread] = []
        self._n_threads = threads
        self._batch_counter = 0
        # Jobs span batches, and batches may finish on different inference threads.
        self._results_lock = threading.Lock()

    # -------------------------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Start the inference threads."""
        with self._cond:
            if self._running:
                return
            self._running = True
        for number in range(self._n_threads):
            thread = threading.Thread(
                target=self._loop, name=f"deid-inference-{number}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the threads; windows still queued fail with :class:`BatcherStopped`."""
        with self._cond:
            self._running = False
            left = list(self._queue)
            self._queue.clear()
            self._cond.notify_all()
        for item in left:
            _settle(item.job.future, error=BatcherStopped("the service is shutting down"))
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()
        self._update_gauge()

    @property
    def alive(self) -> bool:
        """Whether every inference thread is running."""
        return self._running and all(thread.is_alive() for thread in self._threads)

    @property
    def queued_windows(self) -> int:
        """Windows waiting for a batch now."""
        return len(self._queue)

    # ----------------------------------------------------------------------------- submit

    def retry_after_s(self, queued: int | None = None) -> float:
        """Seconds until the queue has likely drained (from the recent window rate)."""
        queued = self.queued_windows if queued is None else queued
        rate = self.metrics.window_rate.per_second() if self.metrics is not None else 0.0
        estimate = queued / rate if rate > 0 else 1.0
        return float(min(max(estimate, 1.0), self.max_retry_after_s))

    def submit(self, windows: Sequence[np.ndarray]) -> concurrent.futures.Future[WindowLogits]:
        """Queue all of ``windows`` (1-D token id arrays incl. specials) or raise
        :class:`Overloaded`; the future gets their logits in the order given."""
        future: concurrent.futures.Future[WindowLogits] = concurrent.futures.Future()
        now = time.monotonic()
        job = _Job(windows, future, now)
        n = len(windows)
        job.bio = [None] * n
        job.entity = [None] * n
        job.remaining = n
        if n == 0:
            future.set_result(WindowLogits([], [], 0, 0, 0.0, 0))
            return future
        if any(len(window) == 0 for window in windows):
            raise ValueError("empty window: every window holds at least [CLS] and [SEP]")
        with self._cond:
            if not self._running:
                raise BatcherStopped("the microbatcher is not running")
            queued = len(self._queue)
            if queued + n > self.capacity:
                raise Overloaded(queued, self.capacity, self.retry_after_s(queued))
            for index, window in enumerate(windows):
                self._queue.append(_Item(job, index, len(window), now))
            self._cond.notify()
        self._update_gauge()
        return future

    # ----------------------------------------------------------------------------- batches

    def _fit(self) -> tuple[int, bool]:
        """How many head-of-queue windows the next batch takes, and whether it is full."""
        count = 0
        width = 0
        for item in self._queue:
            new_width = max(width, item.length)
            if count and (count >= self.max_batch or (count + 1) * new_width > self.token_budget):
                return count, True
            count += 1
            width = new_width
        return count, count >= self.max_batch or count * width >= self.token_budget

    def _drop_settled_head(self) -> None:
        # Windows of a request that failed or whose client went away need no model time.
        while self._queue and self._queue[0].job.future.done():
            self._queue.popleft()

    def _next_batch(self) -> tuple[list[_Item], str, int] | None:
        """Wait for the next batch; None once stopped."""
        with self._cond:
            while True:
                while self._running and not self._queue:
                    self._cond.wait()
                if not self._running:
                    return None
                self._drop_settled_head()
                while self._queue:
                    count, full = self._fit()
                    if full:
                        reason = FULL
                        break
                    # The oldest window's wait bounds the batch's (another thread may have
                    # taken the head meanwhile, so read it again each time).
                    remaining = self._queue[0].enqueued_at + self.max_wait_s - time.monotonic()
                    if remaining <= 0:
                        reason = TIMEOUT
                        break
                    self._cond.wait(remaining)
                    if not self._running:
                        return None
                else:
                    continue  # another inference thread emptied the queue: wait again
                items = [self._queue.popleft() for _ in range(count)]
                self._batch_counter += 1
                return items, reason, self._batch_counter

    def _loop(self) -> None:
        while True:
            try:
                taken = self._next_batch()
            except Exception:  # pragma: no cover - defensive: keep the thread alive
                log.exception("microbatcher queue error")
                continue
            if taken is None:
                if not self._running:
                    return
                continue
            items, reason, batch_number = taken
            self._update_gauge()
            try:
                self._run(items, reason, batch_number)
            except Exception as error:  # pragma: no cover - defensive: keep the thread alive
                log.error("microbatcher error: %s", type(error).__name__)
                for item in items:
                    _settle(item.job.future, error=RuntimeError("the model batch failed"))

    def _run(self, items: list[_Item], reason: str, batch_number: int) -> None:
        started = time.monotonic()
        windows = [item.job.windows[item.index] for item in items]
        lengths = [item.length for item in items]
        width = max(lengths)
        try:
            input_ids, attention_mask = pad_batch(
                [np.asarray(window) for window in windows], range(len(items)), self.pad_token_id
            )
            bio, entity = self.runtime.run(input_ids, attention_mask)
            if bio.shape[:2] != input_ids.shape or entity.shape[:2] != input_ids.shape:
                raise RuntimeError(
                    f"runtime {self.runtime.name} returned shapes {bio.shape}, {entity.shape} "
                    f"for input {input_ids.shape}"
                )
        except Exception as error:
            # Class name only: a runtime error message is not ours to vet.
            log.error("model batch failed: %s", type(error).__name__)
            if self.metrics is not None:
                self.metrics.runtime_errors.inc()
            for item in items:
                _settle(item.job.future, error=RuntimeError("the model runtime failed"))
            return
        seconds = time.monotonic() - started
        if self.metrics is not None:
            m = self.metrics
            for item in items:
                m.queue_wait_seconds.observe(started - item.enqueued_at)
            m.batch_windows.observe(len(items))
            m.batch_tokens.observe(len(items) * width)
            m.batches.labels(reason=reason).inc()
            m.inference_seconds.observe(seconds)
            m.windows.inc(len(items))
            m.window_rate.add(len(items))
        with self._results_lock:
            for row, item in enumerate(items):
                self._deliver(item, bio[row], entity[row], width, batch_number)

    def _deliver(
        self, item: _Item, bio: np.ndarray, entity: np.ndarray, width: int, batch_number: int
    ) -> None:
        job = item.job
        if job.future.done():  # failed or cancelled earlier
            return
        job.bio[item.index] = np.array(bio[: item.length], dtype=np.float32)
        job.entity[item.index] = np.array(entity[: item.length], dtype=np.float32)
        job.computed_tokens += width
        job.batches.add(batch_number)
        job.remaining -= 1
        if job.remaining == 0:
            _settle(
                job.future,
                WindowLogits(
                    bio=[array for array in job.bio if array is not None],
                    entity=[array for array in job.entity if array is not None],
                    real_tokens=sum(len(window) for window in job.windows),
                    computed_tokens=job.computed_tokens,
                    seconds=time.monotonic() - job.submitted_at,
                    batches=len(job.batches),
                ),
            )

    def _update_gauge(self) -> None:
        if self.metrics is not None:
            self.metrics.queued_windows.set(len(self._queue))

    # ------------------------------------------------------------------------------ warmup

    def warm_up(self, window_length: int, filler_id: int, cls_id: int, sep_id: int) -> None:
        """One full batch of full-length windows through the runtime (allocations, kernels)."""
        window = np.full(window_length, filler_id, dtype=np.int64)
        window[0], window[-1] = cls_id, sep_id
        per_batch = max(1, min(self.max_batch, self.token_budget // window_length))
        input_ids, attention_mask = pad_batch([window] * per_batch, range(per_batch), 0)
        self.runtime.run(input_ids, attention_mask)

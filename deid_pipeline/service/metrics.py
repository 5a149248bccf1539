"""Prometheus metrics of the service, on a registry of its own (one per app).

Every label value comes from a fixed set (route templates, status codes, reject reason codes,
batch fill reasons, queue names, model version and digest): no metric ever carries note text,
a note id, a client's key or anything a caller typed.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
WAIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class WindowRate:
    """Windows per second over a sliding interval (feeds a gauge and Retry-After)."""

    def __init__(self, interval_s: float = 10.0) -> None:
        self.interval_s = interval_s
        self._events: deque[tuple[float, int]] = deque()
        self._lock = threading.Lock()

    def add(self, windows: int, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._events.append((now, windows))
            self._trim(now)

    def per_second(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._trim(now)
            if not self._events:
                return 0.0
            total = sum(count for _, count in self._events)
            span = max(now - self._events[0][0], 1.0)
            return total / span

    def _trim(self, now: float) -> None:
        while self._events and now - self._events[0][0] > self.interval_s:
            self._events.popleft()


class ServiceMetrics:
    """The service's metrics; ``registry`` is what ``GET /metrics`` renders."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.request_seconds = Histogram(
            "deid_request_duration_seconds",
            "Time from request received to response, by route and status",
            ["route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.requests = Counter(
            "deid_requests",
            "Requests answered, by route and status",
            ["route", "status"],
            registry=r,
        )
        self.queue_wait_seconds = Histogram(
            "deid_queue_wait_seconds",
            "Time a model window waited in the queue before its batch started",
            buckets=WAIT_BUCKETS,
            registry=r,
        )
        self.batch_windows = Histogram(
            "deid_batch_windows",
            "Windows per model batch",
            buckets=(1, 2, 4, 8, 12, 16, 24, 32, 64),
            registry=r,
        )
        self.batch_tokens = Histogram(
            "deid_batch_padded_tokens",
            "Padded tokens per model batch (windows x longest window)",
            buckets=(128, 256, 512, 1024, 2048, 4096, 8192, 16384),
            registry=r,
        )
        self.batches = Counter(
            "deid_batches",
            "Model batches by fill reason: full (window or token budget reached) or timeout "
            "(max wait passed)",
            ["reason"],
            registry=r,
        )
        self.inference_seconds = Histogram(
            "deid_inference_seconds",
            "Runtime time per model batch",
            buckets=(*WAIT_BUCKETS, 30),
            registry=r,
        )
        self.windows = Counter("deid_windows", "Model windows run", registry=r)
        self.windows_per_second = Gauge(
            "deid_windows_per_second", "Model windows per second over the last 10 s", registry=r
        )
        self.queued_windows = Gauge(
            "deid_queued_windows", "Windows waiting for the model", registry=r
        )
        self.pending_requests = Gauge(
            "deid_pending_requests", "Requests admitted and not yet answered", registry=r
        )
        self.overloads = Counter(
            "deid_overloads",
            "Requests answered 429 because a bounded queue was full, by queue",
            ["queue"],
            registry=r,
        )
        self.rejected_records = Counter(
            "deid_rejected_records",
            "Records rejected or withheld, by reason code",
            ["reason"],
            registry=r,
        )
        self.released_records = Counter(
            "deid_released_records", "Records de-identified and released", registry=r
        )
        self.request_limit_hits = Counter(
            "deid_request_limit_hits",
            "Requests refused for a request-level limit, by limit",
            ["limit"],
            registry=r,
        )
        self.auth_failures = Counter(
            "deid_auth_failures",
            "Requests refused by authentication (401) or authorization (403)",
            ["status"],
            registry=r,
        )
        self.runtime_errors = Counter(
            "deid_runtime_errors", "Model batches whose runtime raised", registry=r
        )
        self.model_info = Gauge(
            "deid_model_info",
            "The served model (value 1)",
            ["model_version", "bundle_sha256", "backend", "device"],
            registry=r,
        )
        self.demo_key = Gauge(
            "deid_demo_key", "1 when the marked demo secret key is in use", registry=r
        )
        self.window_rate = WindowRate()
        self.windows_per_second.set_function(self.window_rate.per_second)

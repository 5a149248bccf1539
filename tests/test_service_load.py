"""The shared microbatcher, a flooded service (every request answered 200 or 429, none lost,
none 5xx) and the client's packing and retries. No timings are asserted."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from deid_pipeline.client import DeidClient, ServiceError, estimate_windows, pack_requests
from deid_pipeline.replace import SecretKey
from deid_pipeline.service.app import create_app
from deid_pipeline.service.auth import Authenticator, hash_key
from deid_pipeline.service.local import build_runner, serve_in_thread, wait_ready
from deid_pipeline.service.metrics import ServiceMetrics
from deid_pipeline.service.microbatcher import FULL, TIMEOUT, MicroBatcher, Overloaded
from deid_pipeline.service.settings import ServiceSettings

SECRET = "test-secret-key-with-at-least-32-characters!"
API_KEY = "load-key-Hn3kW8qZr5Tx1Vb9Lc2M"


class EchoRuntime:
    """Logits that are the token ids themselves: padding-independent, easy to check."""

    name = "echo"
    device = "cpu"

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.gate = gate
        self.batches: list[tuple[int, int]] = []

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> tuple[Any, Any]:
        if self.gate is not None:
            self.gate.wait(30)
        self.batches.append(input_ids.shape)
        ids = input_ids.astype(np.float32)[:, :, None]
        return np.repeat(ids, 3, axis=2), np.repeat(ids * 2, 5, axis=2)


def _windows(lengths: list[int], base: int) -> list[np.ndarray]:
    return [np.arange(base, base + n, dtype=np.int32) for n in lengths]


def test_windows_of_many_requests_share_batches_and_come_back_in_order() -> None:
    runtime = EchoRuntime()
    metrics = ServiceMetrics()
    batcher = MicroBatcher(
        runtime, 0, max_batch=4, token_budget=64, max_wait_s=0.05, metrics=metrics
    )
    batcher.start()
    try:
        requests = [_windows([10, 12, 3], 100), _windows([16], 200), _windows([5, 9], 300)]
        futures = [batcher.submit(windows) for windows in requests]
        for windows, future in zip(requests, futures, strict=True):
            result = future.result(timeout=30)
            assert len(result.bio) == len(windows)
            for window, bio, entity in zip(windows, result.bio, result.entity, strict=True):
                assert bio.shape == (len(window), 3) and entity.shape == (len(window), 5)
                np.testing.assert_array_equal(bio[:, 0], window)  # padding removed, own rows
                np.testing.assert_array_equal(entity[:, 0], window * 2)
        for size, width in runtime.batches:
            assert size <= 4 and size * width <= 64
        assert sum(size for size, _ in runtime.batches) == 6
        assert len(runtime.batches) < 6  # windows of different requests were batched together
    finally:
        batcher.stop()
    reasons = {
        sample.labels["reason"]: sample.value
        for sample in metrics.batches.collect()[0].samples
        if sample.name.endswith("_total")
    }
    assert set(reasons) <= {FULL, TIMEOUT} and sum(reasons.values()) == len(runtime.batches)


def test_a_full_queue_refuses_a_request_whole() -> None:
    gate = threading.Event()
    batcher = MicroBatcher(EchoRuntime(gate), 0, max_batch=2, max_wait_s=0, max_queued_windows=4)
    batcher.start()
    try:
        first = batcher.submit(_windows([4, 4], 1))  # taken by the blocked runtime
        deadline = time.monotonic() + 10
        while batcher.queued_windows and time.monotonic() < deadline:
            time.sleep(0.01)
        queued = batcher.submit(_windows([4, 4, 4], 10))
        with pytest.raises(Overloaded) as error:
            batcher.submit(_windows([4, 4], 20))  # 3 + 2 > 4: none of the two is queued
        assert batcher.queued_windows == 3
        assert error.value.retry_after_s >= 1
        gate.set()
        assert len(first.result(timeout=30).bio) == 2
        assert len(queued.result(timeout=30).bio) == 3
    finally:
        gate.set()
        batcher.stop()


class SlowRuntime:
    """The real runtime behind a delay per batch, so a burst of requests floods the queues."""

    def __init__(self, inner: Any, delay_s: float) -> None:
        self.inner = inner
        self.delay_s = delay_s
        self.name = inner.name
        self.device = inner.device

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> tuple[Any, Any]:
        time.sleep(self.delay_s)
        return self.inner.run(input_ids, attention_mask)


@pytest.fixture(scope="module")
def flood_url(tiny_bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server with small queues in front of a slowed-down runtime."""
    from deid_pipeline.bundle import load_bundle
    from deid_pipeline.runtimes import make_runtime

    keys = tmp_path_factory.mktemp("load") / "api_keys"
    keys.write_text(f"loadtest:{hash_key(API_KEY)}\n", encoding="utf-8")
    settings = ServiceSettings(
        api_keys_file=str(keys),
        max_batch=4,
        max_queued_windows=8,
        max_windows_per_request=8,
        max_pending_requests=6,
        max_retry_after_s=2,
    )
    runtime = SlowRuntime(make_runtime(load_bundle(tiny_bundle_dir), "onnx"), 0.05)
    runner = build_runner(tiny_bundle_dir, settings, SecretKey(SECRET.encode()), runtime=runtime)
    with serve_in_thread(create_app(runner, Authenticator.from_settings(settings))) as url:
        wait_ready(url)
        yield url


def _record(index: int) -> dict[str, Any]:
    text = "Bloeddruk 135/85 mmHg, pols 88/min. " * (1 + index % 3)
    return {"note_id": f"r{index}", "text": text, "patient_id": f"p{index % 5}"}


def test_a_flooded_service_answers_every_request_200_or_429(flood_url: str) -> None:
    n = 24
    statuses: dict[int, int] = {}
    retry_after: list[str] = []
    results: dict[int, list[str]] = {}
    barrier = threading.Barrier(n)

    def send(index: int) -> None:
        body = {"records": [_record(index), _record(index + 1000)]}
        with httpx.Client(timeout=120) as http:
            barrier.wait()
            response = http.post(
                f"{flood_url}/v1/deidentify",
                json=body,
                headers={"Authorization": f"Bearer {API_KEY}"},
            )
        statuses[index] = response.status_code
        if response.status_code == 429:
            retry_after.append(response.headers["retry-after"])
            assert response.json()["error"] == "overloaded"
        elif response.status_code == 200:
            results[index] = [r["note_id"] for r in response.json()["results"]]

    threads = [threading.Thread(target=send, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    assert len(statuses) == n  # none lost
    assert set(statuses.values()) <= {200, 429}, statuses  # none 5xx
    assert 429 in statuses.values() and 200 in statuses.values()
    assert all(value.isdigit() and 1 <= int(value) <= 2 for value in retry_after)
    for index, note_ids in results.items():
        assert note_ids == [f"r{index}", f"r{index + 1000}"]
    wait_ready(flood_url)  # the queue drains and the service is ready again
    metrics = httpx.get(f"{flood_url}/metrics", headers={"Authorization": f"Bearer {API_KEY}"})
    assert 'deid_overloads_total{queue="requests"}' in metrics.text


def test_the_client_packs_retries_and_keeps_input_order(flood_url: str) -> None:
    records = [_record(i) for i in range(30)]
    with DeidClient(flood_url, api_key=API_KEY, max_backoff_s=0.5, max_retries=50) as client:
        outcomes = list(client.deidentify_all(records, concurrency=8, max_records=3))
    assert [outcome.index for outcome in outcomes] == list(range(30))
    assert [outcome.note_id for outcome in outcomes] == [r["note_id"] for r in records]
    assert all(outcome.released for outcome in outcomes)


def test_pack_requests_by_estimated_windows_records_and_characters() -> None:
    assert estimate_windows(0) == 1 and estimate_windows(512) == 1 and estimate_windows(513) == 2
    small = [{"note_id": str(i), "text": "x" * 100} for i in range(200)]
    assert [len(group) for group in pack_requests(small)] == [64, 64, 64, 8]
    long = [{"note_id": str(i), "text": "x" * 5000} for i in range(40)]  # 10 windows each
    groups = list(pack_requests(long))
    assert all(len(group) == 16 for group in groups[:-1])  # 160 windows, 80,000 characters
    huge = [{"note_id": "h", "text": "x" * 200_000}, {"note_id": "s", "text": "x"}]
    assert [len(group) for group in pack_requests(huge)] == [1, 1]


def test_the_client_retries_429_and_503_after_retry_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr("deid_pipeline.client.time.sleep", sleeps.append)
    answers = iter(
        [
            httpx.Response(429, headers={"Retry-After": "3"}, json={"error": "overloaded"}),
            httpx.Response(503, json={"error": "not_ready"}),
            httpx.Response(200, json={"results": [], "rejected": []}),
        ]
    )
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return next(answers)

    client = DeidClient("http://svc", api_key="k", transport=httpx.MockTransport(handler))
    assert client.deidentify([]) == {"results": [], "rejected": []}
    assert client.retries == 2 and seen == ["Bearer k"] * 3
    assert 3 <= sleeps[0] <= 3.6  # Retry-After, with a little jitter
    refusing = DeidClient(
        "http://svc",
        token=lambda: "t",
        transport=httpx.MockTransport(
            lambda request: httpx.Response(
                413, json={"error": "request_too_large", "message": "limit"}
            )
        ),
    )
    with pytest.raises(ServiceError) as error:
        refusing.deidentify([])
    assert error.value.status == 413 and refusing.retries == 0


def test_each_prepare_thread_has_a_tokenizer_of_its_own(tiny_bundle_dir: Path) -> None:
    # A fast tokenizer shared between threads raises "Already borrowed".
    runner = build_runner(
        tiny_bundle_dir, ServiceSettings(prepare_threads=2), SecretKey(SECRET.encode())
    )
    barrier = threading.Barrier(2)

    def tokenizer() -> Any:
        barrier.wait(30)  # both tasks run at once, so on the two threads
        return runner._tokenizer()

    try:
        first, second = (runner.executor.submit(tokenizer) for _ in range(2))
        assert first.result(timeout=60) is not second.result(timeout=60)
    finally:
        runner.executor.shutdown()

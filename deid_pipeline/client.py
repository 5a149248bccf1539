"""A small Python client of the de-identification service (``deid-pipeline serve``).

>>> from deid_pipeline.client import DeidClient
>>> with DeidClient("https://deid.example.internal", api_key=KEY) as client:  # doctest: +SKIP
...     for outcome in client.deidentify_all(records, options={"replace": "tags"}):
...         outcome.result or outcome.rejection

:meth:`DeidClient.deidentify_all` packs records into requests by estimated model windows, as
the batch clients of the system this project grew from did (about 160 windows, at most 64
records and 80,000 characters a request; a window is estimated at 512 characters), keeps up to
``concurrency`` requests in flight and yields one :class:`Outcome` per record in input order.
Requests answered 429 or 503, and requests that failed in transport, are retried after the
server's ``Retry-After`` (or an exponential backoff with jitter), at most ``max_retries`` times:
de-identification is deterministic, so a retried request gives the same answer.

The client never logs or raises with note text: errors carry status codes, the server's error
code and message (text-free by the service's contract) and the request id.
"""

from __future__ import annotations

import math
import random
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

#: Packing defaults of the original system's batch clients.
TARGET_WINDOWS = 160
MAX_RECORDS = 64
MAX_CHARS = 80_000
CHARS_PER_WINDOW = 512
RETRY_STATUSES = frozenset({429, 502, 503, 504})


class ServiceError(RuntimeError):
    """The service refused a request (a 4xx other than 429) or retries ran out."""

    def __init__(self, status: int, code: str, message: str, request_id: str | None) -> None:
        super().__init__(f"HTTP {status} {code}: {message} (request_id={request_id})")
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id


@dataclass(frozen=True, slots=True)
class Outcome:
    """One input record: its index in the input, and its result or rejection."""

    index: int
    note_id: str | None
    result: dict[str, Any] | None = None
    rejection: dict[str, Any] | None = None
    model_version: str | None = None
    bundle_sha256: str | None = None

    @property
    def released(self) -> bool:
        return self.result is not None


def estimate_windows(n_chars: int, chars_per_window: int = CHARS_PER_WINDOW) -> int:
    """``ceil(chars / 512)``, at least one window per record."""
    return max(1, math.ceil(n_chars / chars_per_window))


def _text_length(record: Mapping[str, Any]) -> int:
    text = record.get("text") if isinstance(record, Mapping) else None
    return len(text) if isinstance(text, str) else 0


def pack_requests(
    records: Iterable[Mapping[str, Any]],
    *,
    target_windows: int = TARGET_WINDOWS,
    max_records: int = MAX_RECORDS,
    max_chars: int = MAX_CHARS,
) -> Iterator[list[Mapping[str, Any]]]:
    """Consecutive groups of records, each one request: up to ``target_windows`` estimated
    windows, ``max_records`` records and ``max_chars`` characters (a record larger than a
    whole request goes alone; the server decides whether it fits its limits)."""
    group: list[Mapping[str, Any]] = []
    windows = chars = 0
    for record in records:
        n_chars = _text_length(record)
        n_windows = estimate_windows(n_chars)
        if group and (
            len(group) >= max_records
            or windows + n_windows > target_windows
            or chars + n_chars > max_chars
        ):
            yield group
            group, windows, chars = [], 0, 0
        group.append(record)
        windows += n_windows
        chars += n_chars
    if group:
        yield group


class DeidClient:
    """Calls ``POST /v1/deidentify`` with retries; thread-safe (one ``httpx.Client``)."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        token: Callable[[], str] | None = None,
        timeout_s: float = 300.0,
        max_retries: int = 8,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """``api_key`` (an API key) or ``token`` (called before every request, e.g. a cached
        OAuth2 client-credentials token) authenticates the client."""
        if (api_key is None) == (token is None):
            raise ValueError("give exactly one of api_key or token")
        self._credential = (lambda: api_key) if api_key is not None else token
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.retries = 0  # requests retried so far (429/503/transport), for figures
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout_s, connect=10.0),
            transport=transport,
            headers={"Content-Type": "application/json"},
        )

    def __enter__(self) -> DeidClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # ----------------------------------------------------------------------------- calls

    def _wait_s(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None:
            header = response.headers.get("Retry-After", "")
            if header.isdigit():
                return min(float(header), self.max_backoff_s) * random.uniform(1.0, 1.2)
        delay = min(self.backoff_s * 2**attempt, self.max_backoff_s)
        return delay * random.uniform(0.5, 1.0)

    def deidentify(
        self, records: Sequence[Mapping[str, Any]], options: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """One request: the service's answer (``results``, ``rejected`` with indices into
        ``records``, ``model_version``, ``bundle_sha256``)."""
        body: dict[str, Any] = {"records": list(records)}
        if options:
            body["options"] = dict(options)
        attempt = 0
        while True:
            response: httpx.Response | None = None
            try:
                response = self._http.post(
                    "/v1/deidentify",
                    json=body,
                    headers={"Authorization": f"Bearer {self._credential()}"},
                )
            except httpx.TransportError:
                if attempt >= self.max_retries:
                    raise
            else:
                if response.status_code == 200:
                    return response.json()
                if response.status_code not in RETRY_STATUSES or attempt >= self.max_retries:
                    raise _service_error(response)
            attempt += 1
            self.retries += 1
            time.sleep(self._wait_s(attempt - 1, response))

    def deidentify_all(
        self,
        records: Iterable[Mapping[str, Any]],
        options: Mapping[str, Any] | None = None,
        *,
        concurrency: int = 1,
        target_windows: int = TARGET_WINDOWS,
        max_records: int = MAX_RECORDS,
        max_chars: int = MAX_CHARS,
    ) -> Iterator[Outcome]:
        """De-identify any number of records; one :class:`Outcome` per record, in order.

        Up to ``concurrency`` packed requests are in flight at once; memory holds at most
        ``2 * concurrency`` requests' records and answers.
        """
        groups = pack_requests(
            records, target_windows=target_windows, max_records=max_records, max_chars=max_chars
        )
        start = 0
        with ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="deid-client") as pool:
            in_flight: deque[tuple[int, list[Mapping[str, Any]], Future[dict[str, Any]]]] = deque()
            for group in groups:
                in_flight.append((start, group, pool.submit(self.deidentify, group, options)))
                start += len(group)
                while len(in_flight) >= 2 * max(1, concurrency):
                    yield from _outcomes(*in_flight.popleft())
            while in_flight:
                yield from _outcomes(*in_flight.popleft())


def _outcomes(
    start: int, group: list[Mapping[str, Any]], future: Future[dict[str, Any]]
) -> Iterator[Outcome]:
    answer = future.result()
    rejected = {item["index"]: item for item in answer["rejected"]}
    results = iter(answer["results"])
    provenance = {
        "model_version": answer.get("model_version"),
        "bundle_sha256": answer.get("bundle_sha256"),
    }
    for position, record in enumerate(group):
        index = start + position
        if position in rejected:
            item = rejected[position]
            rejection = {**item, "index": index}
            yield Outcome(index, item.get("note_id"), rejection=rejection, **provenance)
        else:
            result = next(results)
            note_id = record.get("note_id") if isinstance(record, Mapping) else None
            if result["note_id"] != str(note_id):
                raise ServiceError(200, "out_of_order", "answer does not match the request", None)
            yield Outcome(index, result["note_id"], result=result, **provenance)


def _service_error(response: httpx.Response) -> ServiceError:
    try:
        body = response.json()
        code, message = str(body.get("error", "")), str(body.get("message", ""))
    except ValueError:
        code, message = "", "the answer is not JSON"
    return ServiceError(response.status_code, code, message, response.headers.get("x-request-id"))

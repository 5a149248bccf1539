"""The ASGI app (Starlette): routes, errors, access log and lifespan of the service.

Routes:

* ``POST /v1/deidentify`` (scope ``deidentify``): ``{"records": [Note, ...], "options":
  {"replace": "tags" | "surrogates", "number_tags": bool}}`` -> ``{"results": [...],
  "rejected": [{"index", "note_id", "reason", "message"}], "model_version", "bundle_sha256",
  "demo_key"}``, both lists in input order; a result is the file CLI's output line.
* ``GET /healthz``: the process answers (no authentication).
* ``GET /readyz``: bundle verified, runtime warmed up, queues not saturated (no authentication).
* ``GET /metrics`` (scope ``metrics``): Prometheus text format.

Every error is JSON ``{"error", "message", "request_id", ...}`` built from limits, field names
and figures, never from note text. Unexpected exceptions are logged by class and place only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from deid_pipeline.service.auth import Authenticator, AuthError, Principal
from deid_pipeline.service.microbatcher import BatcherStopped, Overloaded
from deid_pipeline.service.runner import RequestError, RequestFigures

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from deid_pipeline.service.runner import ServiceRunner

log = logging.getLogger("deid_pipeline.service")
access_log = logging.getLogger("deid_pipeline.service.access")

ROUTES = ("/v1/deidentify", "/healthz", "/readyz", "/metrics")
PROBES = ("/healthz", "/readyz")
JSON_TYPES = ("application/json", "application/*+json")


def _error(
    status: int,
    code: str,
    message: str,
    request: Request,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {"error": code, "message": message, **extra, "request_id": request.state.request_id}
    return JSONResponse(body, status_code=status, headers=headers)


def _overloaded(
    request: Request, runner: ServiceRunner, queue: str, retry_after: float
) -> JSONResponse:
    runner.metrics.overloads.labels(queue=queue).inc()
    seconds = max(1, round(retry_after))
    return _error(
        429,
        "overloaded",
        f"the {queue} queue is full; retry after {seconds} s",
        request,
        headers={"Retry-After": str(seconds)},
        queue=queue,
    )


class AccessLogMiddleware:
    """Request id, access log line, request metrics; turns any escaped exception into a 500
    whose log line names the exception class and place, never its message."""

    def __init__(self, app: ASGIApp, runner: ServiceRunner) -> None:
        self.app = app
        self.runner = runner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path = scope.get("path", "")
        route = path if path in ROUTES else "other"
        # Always our own id: a caller-chosen one would be caller text in the log.
        request_id = uuid.uuid4().hex[:16]
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["client_name"] = "-"
        state["figures"] = RequestFigures()
        status = 500
        response_started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode("ascii")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as error:
            frame = traceback.extract_tb(error.__traceback__)[-1:]
            where = f"{frame[0].filename.rsplit('/', 1)[-1]}:{frame[0].lineno}" if frame else "?"
            log.error("request %s failed: %s at %s", request_id, type(error).__name__, where)
            if not response_started:
                body = (
                    b'{"error": "internal_error", "message": "the request failed; the service '
                    b'log names the error class under this request id", "request_id": "'
                    + request_id.encode("ascii")
                    + b'"}'
                )
                await send(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode("ascii")),
                            (b"x-request-id", request_id.encode("ascii")),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
            status = 500
        finally:
            elapsed = time.perf_counter() - started
            metrics = self.runner.metrics
            metrics.request_seconds.labels(route=route, status=str(status)).observe(elapsed)
            metrics.requests.labels(route=route, status=str(status)).inc()
            figures: RequestFigures = state["figures"]
            level = logging.DEBUG if route in PROBES and status < 400 else logging.INFO
            access_log.log(
                level,
                "client=%s method=%s route=%s status=%d ms=%.1f records=%d released=%d "
                "rejected=%d windows=%d request_id=%s",
                state["client_name"],
                scope.get("method", "-"),
                route,
                status,
                elapsed * 1000,
                figures.records,
                figures.released,
                figures.rejected,
                figures.windows,
                request_id,
            )


class ServiceApp:
    """Endpoints bound to one runner and authenticator."""

    def __init__(self, runner: ServiceRunner, authenticator: Authenticator) -> None:
        self.runner = runner
        self.auth = authenticator
        self.settings = runner.settings

    async def authenticate(self, request: Request, scope: str) -> Principal:
        header = request.headers.get("authorization")
        try:
            if self.auth.needs_thread(header):
                principal = await run_in_threadpool(self.auth.authenticate, header, scope)
            else:
                principal = self.auth.authenticate(header, scope)
        except AuthError as error:
            self.runner.metrics.auth_failures.labels(status=str(error.status)).inc()
            raise
        request.state.client_name = principal.name
        return principal

    async def read_body(self, request: Request) -> bytes:
        """The body, at most DEID_MAX_REQUEST_BYTES, within DEID_BODY_TIMEOUT_S."""
        maximum = self.settings.max_request_bytes
        declared = request.headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                raise RequestError(400, "invalid_request", "Content-Length is not a number")
            if int(declared) > maximum:
                raise _bytes_error(int(declared), maximum)
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.settings.body_timeout_s):
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > maximum:
                        raise _bytes_error(size, maximum, at_least=True)
                    chunks.append(chunk)
        except TimeoutError:
            raise RequestError(
                408,
                "request_timeout",
                f"the body did not arrive within {self.settings.body_timeout_s:g} s "
                "(DEID_BODY_TIMEOUT_S)",
            ) from None
        return b"".join(chunks)

    # ------------------------------------------------------------------------- routes

    async def deidentify(self, request: Request) -> Response:
        runner = self.runner
        try:
            await self.authenticate(request, self.settings.scope_deidentify)
        except AuthError as error:
            return _error(error.status, error.code, error.message, request, error.headers())
        content_type = request.headers.get("content-type", "application/json").split(";")[0]
        if content_type.strip().lower() not in JSON_TYPES:
            return _error(
                415, "unsupported_media_type", "send Content-Type: application/json", request
            )
        if not runner.warmed_up:
            return _error(
                503,
                "not_ready",
                "the model is still loading",
                request,
                headers={"Retry-After": "5"},
            )
        if runner.pending >= self.settings.max_pending_requests:
            return _overloaded(request, runner, "requests", runner.batcher.retry_after_s())
        runner.pending += 1
        runner.metrics.pending_requests.set(runner.pending)
        loop = asyncio.get_running_loop()
        figures: RequestFigures = request.state.figures
        try:
            body = await self.read_body(request)
            prepared = await loop.run_in_executor(runner.executor, runner.prepare_request, body)
            try:
                future = runner.batcher.submit(prepared.windows)
            except Overloaded as overloaded:
                return _overloaded(request, runner, "windows", overloaded.retry_after_s)
            logits = await asyncio.wrap_future(future)
            payload = await loop.run_in_executor(
                runner.executor, runner.finish, prepared, logits, figures
            )
        except RequestError as error:
            if error.status == 413 and "limit" in error.extra:
                runner.metrics.request_limit_hits.labels(limit=error.extra["limit"]).inc()
            return _error(
                error.status, error.code, error.message, request, error.headers, **error.extra
            )
        except BatcherStopped:
            return _error(
                503, "shutting_down", "the service is stopping", request, {"Retry-After": "5"}
            )
        finally:
            runner.pending -= 1
            runner.metrics.pending_requests.set(runner.pending)
        return Response(payload, media_type="application/json")

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        checks = self.runner.readiness()
        ready = all(checks.values())
        body = {
            "status": "ready" if ready else "not_ready",
            "checks": checks,
            "model_version": self.runner.bundle.model_version,
            "bundle_sha256": self.runner.bundle.sha256,
            "backend": self.runner.runtime.name,
            "demo_key": self.runner.secret.is_demo,
        }
        return JSONResponse(body, status_code=200 if ready else 503)

    async def metrics(self, request: Request) -> Response:
        try:
            await self.authenticate(request, self.settings.scope_metrics)
        except AuthError as error:
            return _error(error.status, error.code, error.message, request, error.headers())
        return Response(
            generate_latest(self.runner.metrics.registry), media_type=CONTENT_TYPE_LATEST
        )


def _bytes_error(actual: int, maximum: int, *, at_least: bool = False) -> RequestError:
    figure = f"more than {maximum:,}" if at_least else f"{actual:,}"
    return RequestError(
        413,
        "request_too_large",
        f"request body: {figure} bytes exceeds the limit of {maximum:,} (DEID_MAX_REQUEST_BYTES)",
        limit="max_request_bytes",
        actual=actual,
        maximum=maximum,
    )


def create_app(runner: ServiceRunner, authenticator: Authenticator) -> ASGIApp:
    """The service app; its lifespan starts (warms up) and stops ``runner``."""
    endpoints = ServiceApp(runner, authenticator)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Warm up in the background: /healthz answers at once, /readyz once warm.
        loop = asyncio.get_running_loop()
        warming = loop.run_in_executor(None, runner.start)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                await warming
            await loop.run_in_executor(None, runner.stop)

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return _error(error.status_code, code, code.replace("_", " "), request, error.headers)

    async def server_error(request: Request, error: Exception) -> Response:
        # Starlette re-raises after answering; AccessLogMiddleware logs the class and place.
        return _error(
            500,
            "internal_error",
            "the request failed; the service log names the error class under this request id",
            request,
        )

    app = Starlette(
        routes=[
            Route("/v1/deidentify", endpoints.deidentify, methods=["POST"]),
            Route("/healthz", endpoints.healthz, methods=["GET"]),
            Route("/readyz", endpoints.readyz, methods=["GET"]),
            Route("/metrics", endpoints.metrics, methods=["GET"]),
        ],
        exception_handlers={HTTPException: http_error, Exception: server_error},
        lifespan=lifespan,
    )
    app.state.runner = runner
    return _Wrapped(app, runner)


class _Wrapped:
    """The Starlette app inside the access-log middleware (outside Starlette's own error
    middleware, so no traceback with an exception message reaches the server's log)."""

    def __init__(self, app: Starlette, runner: ServiceRunner) -> None:
        self.app = app
        self.inner = AccessLogMiddleware(app, runner)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.inner(scope, receive, send)

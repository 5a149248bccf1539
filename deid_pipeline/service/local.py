"""The real server (uvicorn) on 127.0.0.1 in a background thread, for tests and benchmarks.

:func:`build_runner` assembles what ``deid-pipeline serve`` assembles (verified bundle, runtime,
secret, settings, metrics); :func:`serve_in_thread` binds a free loopback port itself, runs
uvicorn on it and yields the base URL once the server accepts connections.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deid_pipeline.replace import SecretKey
    from deid_pipeline.runtimes import Runtime
    from deid_pipeline.service.runner import ServiceRunner
    from deid_pipeline.service.settings import ServiceSettings


def build_runner(
    bundle_dir: str | Path,
    settings: ServiceSettings,
    secret: SecretKey,
    *,
    runtime: Runtime | None = None,
) -> ServiceRunner:
    """A runner for ``bundle_dir`` (verified) with ``settings``; ``runtime`` defaults to the
    settings' backend."""
    from deid_pipeline.bundle import load_bundle
    from deid_pipeline.runtimes import make_runtime
    from deid_pipeline.service.metrics import ServiceMetrics
    from deid_pipeline.service.runner import ServiceRunner

    bundle = load_bundle(bundle_dir)
    if runtime is None:
        runtime = make_runtime(
            bundle, settings.backend, device=settings.device, threads=settings.runtime_threads
        )
    return ServiceRunner(
        bundle, runtime, secret=secret, settings=settings, metrics=ServiceMetrics()
    )


@contextlib.contextmanager
def serve_in_thread(app: Any, *, startup_timeout_s: float = 120.0) -> Iterator[str]:
    """Run ``app`` under uvicorn on a free 127.0.0.1 port; yields ``http://127.0.0.1:PORT``."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
        server_header=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


def wait_ready(base_url: str, timeout_s: float = 120.0) -> dict[str, Any]:
    """Poll ``/readyz`` until it answers 200; its body."""
    import httpx

    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{base_url}/readyz", timeout=5)
            last = response.status_code
            if response.status_code == 200:
                return response.json()
        except httpx.TransportError as error:
            last = type(error).__name__
        time.sleep(0.05)
    raise TimeoutError(f"/readyz not ready within {timeout_s} s (last: {last})")

"""``deid-pipeline serve``: the HTTP service under uvicorn.

Everything that can stop the service is checked before it listens, with exit status 2 and a
message that names the setting: the secret key (``DEID_SECRET_KEY``; the marked demo key only
with ``--demo``), the authentication configuration, the model bundle (sha256 of every file) and
the runtime. Logs go to stderr, one line per request, with the client's name and figures only.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

#: CLI flag -> ServiceSettings field (None: flag not given, the environment decides).
_FLAGS = {
    "host": "host",
    "port": "port",
    "bundle": "bundle_dir",
    "backend": "backend",
    "device": "device",
    "threads": "runtime_threads",
}


def _configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Library chatter below WARNING says nothing an operator needs and nothing about notes.
    for name in ("httpx", "urllib3", "transformers"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _serve(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from deid_pipeline.bundle import BundleError, load_bundle
    from deid_pipeline.replace import MissingSecretError, load_secret
    from deid_pipeline.runtimes import RuntimeUnavailableError, make_runtime
    from deid_pipeline.service.auth import AuthConfigError, Authenticator
    from deid_pipeline.service.settings import ServiceSettings

    overrides: dict[str, Any] = {
        field: value for flag, field in _FLAGS.items() if (value := getattr(args, flag)) is not None
    }
    try:
        settings = ServiceSettings(**overrides)
    except ValidationError as error:
        problems = "; ".join(
            f"{'DEID_' + str(issue['loc'][0]).upper() if issue['loc'] else 'settings'}: "
            f"{issue['msg']}"
            for issue in error.errors(include_input=False)
        )
        print(f"error: {problems}", file=sys.stderr)
        return 2
    try:
        secret = load_secret(demo=args.demo)
        authenticator = Authenticator.from_settings(settings)
        bundle = load_bundle(settings.get_bundle_dir())
        runtime = make_runtime(
            bundle, settings.backend, device=settings.device, threads=settings.runtime_threads
        )
    except MissingSecretError as error:
        print(f"error: {error} (serve --demo for the marked demo key)", file=sys.stderr)
        return 2
    except AuthConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except BundleError as error:
        print(f"error: model bundle refused: {error}", file=sys.stderr)
        return 2
    except RuntimeUnavailableError as error:
        print(f"error: backend {settings.backend} unavailable: {error}", file=sys.stderr)
        return 2

    import uvicorn

    from deid_pipeline.service.app import create_app
    from deid_pipeline.service.metrics import ServiceMetrics
    from deid_pipeline.service.runner import ServiceRunner

    # Logging is set up only for a server that starts (the checks above print their errors).
    _configure_logging(args.log_level)
    log = logging.getLogger("deid_pipeline.service")
    if secret.is_demo:
        log.warning("using the marked DEMO secret key (--demo): synthetic data only")
    runner = ServiceRunner(
        bundle, runtime, secret=secret, settings=settings, metrics=ServiceMetrics()
    )
    clients = len(authenticator.keys.clients) if authenticator.keys is not None else 0
    log.info(
        "serving model_version=%s bundle=%s backend=%s api_key_clients=%d jwt=%s on %s:%d",
        bundle.model_version,
        bundle.sha256[:12],
        runtime.name,
        clients,
        "on" if authenticator.tokens is not None else "off",
        settings.host,
        settings.port,
    )
    uvicorn.run(
        create_app(runner, authenticator),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=30,
        server_header=False,
    )
    return 0


def register(subparsers: Any) -> None:
    """Add the ``serve`` sub-command."""
    parser = subparsers.add_parser(
        "serve",
        help="run the authenticated HTTP de-identification service",
        description="POST /v1/deidentify, GET /healthz, /readyz and /metrics. Settings come "
        "from DEID_* variables (docs/service.md); the flags below override them. Needs "
        "DEID_SECRET_KEY (or --demo) and DEID_API_KEYS_FILE and/or DEID_JWKS_URL/DEID_JWKS_FILE.",
    )
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1, DEID_HOST)")
    parser.add_argument("--port", type=int, help="port (default 8080, DEID_PORT)")
    parser.add_argument("--bundle", help="model bundle folder (default DEID_BUNDLE_DIR, bundle/)")
    parser.add_argument("--backend", choices=["auto", "torch", "onnx", "tensorrt"])
    parser.add_argument("--device", help="auto, cpu or cuda")
    parser.add_argument("--threads", type=int, help="CPU threads of the runtime (0: library)")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="use the marked demo secret key when DEID_SECRET_KEY is not set (synthetic data)",
    )
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    parser.set_defaults(handler=_serve)

"""Service settings: the pipeline's ``DEID_*`` variables plus the service's own.

:class:`ServiceSettings` extends :class:`~deid_pipeline.settings.PipelineSettings`, so the knobs
that change output (bundle, backend, limits per record, replacement mode, label-shape filter,
token budget and batch size) are read from the same variables as the pipeline and the file CLI:
the same settings give the same output through every door. The service adds request limits,
microbatching and queue bounds, and authentication; field ``x`` is variable ``DEID_X``.

Demo mode is **not** read from the environment here: a network service uses the marked demo key
only when started with ``deid-pipeline serve --demo``.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from deid_pipeline.settings import PipelineSettings


class ServiceSettings(PipelineSettings):
    """Every knob of ``deid-pipeline serve``; field ``x`` is read from ``DEID_X``."""

    host: str = Field(default="127.0.0.1", description="address to listen on")
    port: int = Field(default=8080, ge=0, le=65535, description="port to listen on")

    # Request limits checked before tokenization (413 naming the limit) ...
    max_request_bytes: int = Field(default=8 * 1024 * 1024, gt=0, description="body bytes")
    max_records_per_request: int = Field(default=256, gt=0, description="records per request")
    max_chars_per_request: int = Field(
        default=400_000, gt=0, description="characters of all texts of one request"
    )
    # ... and after it (the per-record window limit is max_windows_per_record of the pipeline).
    max_windows_per_request: int = Field(
        default=2048, gt=0, description="model windows of one request after tokenization"
    )

    # Microbatching shared by all requests (token_budget and max_batch come from the pipeline).
    max_wait_ms: float = Field(
        default=5.0, ge=0, description="longest a window waits for its batch to fill"
    )
    max_queued_windows: int = Field(
        default=4096, gt=0, description="windows waiting for the model before 429"
    )
    max_pending_requests: int = Field(
        default=64, gt=0, description="requests being processed before 429"
    )
    prepare_threads: int = Field(
        default=2, gt=0, description="threads that validate, tokenize, decode and release"
    )
    inference_threads: int = Field(
        default=1, gt=0, description="threads that take batches off the window queue"
    )
    runtime_threads: int = Field(
        default=0, ge=0, description="CPU threads of the runtime (0: the library's choice)"
    )
    ready_queue_fraction: float = Field(
        default=0.9, gt=0, le=1, description="/readyz fails while the window queue is this full"
    )
    body_timeout_s: float = Field(
        default=60.0, gt=0, description="longest a request body may take to arrive (408)"
    )
    max_retry_after_s: int = Field(default=30, gt=0, description="largest Retry-After answered")

    # Authentication: hashed API keys and/or OAuth2/OIDC bearer tokens checked against a JWKS.
    api_keys_file: str | None = Field(
        default=None, description="file of 'name:sha256hex[:scope,scope]' lines"
    )
    jwks_url: str | None = Field(default=None, description="JWKS URL of the token issuer")
    jwks_file: str | None = Field(default=None, description="JWKS file (air-gapped clusters)")
    jwt_issuer: str | None = Field(default=None, description="required 'iss' of tokens")
    jwt_audience: str | None = Field(default=None, description="required 'aud' of tokens")
    jwt_algorithms: str = Field(default="RS256,ES256", description="accepted signing algorithms")
    jwt_leeway_s: int = Field(default=30, ge=0, description="clock skew allowed on exp/nbf")
    scope_deidentify: str = Field(
        default="deidentify", description="scope needed for POST /v1/deidentify"
    )
    scope_metrics: str = Field(default="metrics", description="scope needed for GET /metrics")

    @model_validator(mode="after")
    def _consistent(self) -> ServiceSettings:
        if self.max_windows_per_request > self.max_queued_windows:
            raise ValueError(
                "DEID_MAX_WINDOWS_PER_REQUEST must not exceed DEID_MAX_QUEUED_WINDOWS "
                "(a larger request could never be queued)"
            )
        if (self.jwks_url or self.jwks_file) and not (self.jwt_issuer and self.jwt_audience):
            raise ValueError(
                "DEID_JWT_ISSUER and DEID_JWT_AUDIENCE are required with DEID_JWKS_URL or "
                "DEID_JWKS_FILE"
            )
        self.algorithms()
        return self

    @property
    def jwt_enabled(self) -> bool:
        """Whether bearer tokens are checked against a JWKS."""
        return bool(self.jwks_url or self.jwks_file)

    def algorithms(self) -> list[str]:
        """The accepted JWT signing algorithms (never ``none`` or an HMAC one)."""
        names = [name.strip() for name in self.jwt_algorithms.split(",") if name.strip()]
        refused = [name for name in names if name.lower() == "none" or name.startswith("HS")]
        if refused:
            raise ValueError(f"DEID_JWT_ALGORITHMS may not hold {', '.join(refused)}")
        return names

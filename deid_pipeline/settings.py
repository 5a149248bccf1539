"""Pipeline settings: one pydantic-settings model read from ``DEID_*`` environment variables.

``PipelineSettings()`` reads the environment when it is built, so the Dagster ``settings``
resource builds it at run time (one image serves every environment; tests set variables per
test) and values given to the resource override the environment. Validation happens here, once:
a bad number or an unknown replacement mode is refused with the variable's name.

The secret key (``DEID_SECRET_KEY``) is read by :meth:`PipelineSettings.secret`; it is never a
field, so it never shows in a settings dump, the UI or a log.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from deid_pipeline.notes import Limits

if TYPE_CHECKING:
    from deid_pipeline.bundle import Bundle
    from deid_pipeline.core import DetectionSettings
    from deid_pipeline.replace import ReplacementPolicy, SecretKey

_LIMITS = Limits()


def checkout_root() -> Path:
    """The source checkout when running from one, else the working directory."""
    candidate = Path(__file__).resolve().parents[1]
    return candidate if (candidate / "pyproject.toml").exists() else Path.cwd()


@functools.lru_cache(maxsize=4)
def _load_bundle_cached(path: str) -> Bundle:
    # Loading verifies every file's sha256: once per process and bundle folder.
    from deid_pipeline.bundle import load_bundle

    return load_bundle(path)


class PipelineSettings(BaseSettings):
    """Every knob of the pipeline; field ``x`` is read from ``DEID_X``."""

    model_config = SettingsConfigDict(
        env_prefix="DEID_", env_ignore_empty=True, extra="ignore", frozen=True
    )

    storage_root: str = Field(
        default_factory=lambda: str(checkout_root() / "data" / "lake"),
        description="root of every table (<root>/<asset>) and of files/: a path or deltalake URI",
    )
    source_uri: str | None = Field(default=None, description="source notes Delta table")
    bundle_dir: str | None = Field(default=None, description="model bundle folder")
    backend: Literal["auto", "torch", "onnx", "tensorrt"] = "auto"
    device: str = Field(default="auto", description="auto, cpu, cuda or cuda:N")
    token_budget: int = Field(default=4096, gt=0, description="padded tokens per model call")
    max_batch: int = Field(default=16, gt=0, description="windows per model call")
    max_chars_per_record: int = Field(default=_LIMITS.max_chars_per_record, gt=0)
    max_windows_per_record: int = Field(default=_LIMITS.max_windows_per_record, gt=0)
    target_windows_per_shard: int = Field(default=_LIMITS.target_windows_per_shard, gt=0)
    max_records_per_shard: int = Field(default=_LIMITS.max_records_per_shard, gt=0)
    max_chars_per_shard: int = Field(default=_LIMITS.max_chars_per_shard, gt=0)
    replacement_mode: Literal["tags", "surrogates"] = "tags"
    demo_mode: bool = Field(
        default=False, description="use the marked demo secret key when no key is set"
    )
    quarantine_warn_rate: float = Field(default=0.05, ge=0, le=1)
    keep_shapeless_spans: bool = Field(
        default=False, description="keep model spans without their label's shape (lower case)"
    )
    read_batch_rows: int = Field(default=1024, gt=0, description="rows per streamed batch")

    def get_source_uri(self) -> str:
        """URI of the external source notes table (default ``<root>/source_notes``)."""
        return self.source_uri or f"{self.storage_root.rstrip('/')}/source_notes"

    def get_bundle_dir(self) -> str:
        """Absolute folder of the model bundle."""
        from deid_pipeline.bundle import default_bundle_path

        return str(Path(self.bundle_dir or default_bundle_path()).resolve())

    def limits(self) -> Limits:
        """Request limits of a run."""
        return Limits(**{name: getattr(self, name) for name in Limits.model_fields})

    def storage_options(self) -> dict[str, str] | None:
        """deltalake storage options; object-store credentials come from the environment."""
        return None

    def load_bundle(self) -> Bundle:
        """The verified model bundle (cached per process)."""
        return _load_bundle_cached(self.get_bundle_dir())

    def replacement_policy(self) -> ReplacementPolicy:
        """The replacement policy of a run."""
        from deid_pipeline.replace import ReplacementPolicy

        return ReplacementPolicy(mode=self.replacement_mode)

    def detection(self, bundle: Bundle) -> DetectionSettings:
        """Labels and thresholds of ``bundle`` with this run's label-shape filter."""
        from deid_pipeline.core import DetectionSettings

        return DetectionSettings.of(bundle, require_label_shape=not self.keep_shapeless_spans)

    def secret(self) -> SecretKey:
        """The HMAC key from ``DEID_SECRET_KEY``; without one only demo mode runs (marked key).

        Raises :class:`~deid_pipeline.replace.MissingSecretError` for a missing or short key.
        """
        from deid_pipeline.replace import load_secret

        return load_secret(demo=self.demo_mode)

    def run_knobs(self, bundle: Bundle) -> dict[str, Any]:
        """The settings that change a run's output, recorded with it (JSON-ready)."""
        return {
            "replacement_policy": self.replacement_policy().model_dump(mode="json"),
            **self.detection(bundle).knobs(),
        }

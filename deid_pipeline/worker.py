"""Inference worker: shard files in, fp16 logits files out, figures back through Dagster Pipes.

``python -m deid_pipeline.worker`` is started by the ``logits`` asset through an
``InferenceLauncher`` (a local subprocess, or a Kubernetes GPU pod). Its request arrives as
Pipes extras (see :class:`WorkerParams`); it answers with

* one ``report_custom_message`` payload ``{"logits": [...]}`` per shard, sent as soon as that
  shard's logits file is written (shard id, path, sha256, window count), which the asset
  commits to its index table. One small message per shard, not one list at the end: Dagster's
  file message reader tails the file line by line and can read a long line before it is
  completely written (JSONDecodeError, every later message lost), and a list of all shards
  grows with the partition; and
* one ``report_asset_materialization`` with figures: windows/s, real tokens/s, padding
  efficiency, backend, device, model version.

The worker is deliberately narrow: it never sees note text or metadata (shards hold token ids
and character offsets only), never tokenizes and never decodes.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

LOGITS_SUFFIX = ".logits.safetensors"


class ShardRef(BaseModel):
    """A shard to run: its id, file path and the content sha256 recorded when it was written."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    shard_id: str
    path: str
    sha256: str
    #: Folder for this shard's logits; defaults to the request's ``out_dir``. Lets one worker
    #: serve a backfill range, writing each partition's logits into its own run folder.
    out_dir: str | None = None


class WorkerParams(BaseModel):
    """The worker request, sent as Pipes extras (JSON)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    shards: list[ShardRef]
    out_dir: str
    bundle_dir: str
    backend: str = "auto"
    device: str = "auto"
    token_budget: int = Field(default=4096, gt=0)
    max_batch: int = Field(default=16, gt=0)
    #: Object-storage prefix the launcher staged the shards under (``staging.stage_in``); the
    #: worker then reads and writes files there only, and reports the run pod's local paths.
    staging_uri: str | None = None


@dataclass(frozen=True, slots=True)
class LogitsRef:
    """One logits file the worker wrote."""

    shard_id: str
    shard_sha256: str
    path: str
    sha256: str
    n_windows: int
    #: The model that made the logits (from the file's own metadata).
    model_version: str = ""
    bundle_sha256: str = ""


@dataclass(slots=True)
class WorkerFigures:
    """Throughput figures of a worker run (no text, safe for metadata and logs)."""

    shards: int = 0
    windows: int = 0
    real_tokens: int = 0
    computed_tokens: int = 0
    model_seconds: float = 0.0
    elapsed_seconds: float = 0.0
    backend: str = ""
    device: str = ""
    model_name: str = ""
    model_version: str = ""
    bundle_sha256: str = ""
    logits: list[LogitsRef] = field(default_factory=list)

    @property
    def padding_efficiency(self) -> float:
        """Real tokens over computed (padded) tokens."""
        return self.real_tokens / self.computed_tokens if self.computed_tokens else 1.0

    def metadata(self) -> dict[str, Any]:
        """Figures as Dagster metadata values (plain JSON types)."""
        elapsed = self.elapsed_seconds or 1e-9
        model_seconds = self.model_seconds or 1e-9
        return {
            "worker_shards": self.shards,
            "worker_windows": self.windows,
            "worker_real_tokens": self.real_tokens,
            "worker_elapsed_seconds": round(self.elapsed_seconds, 3),
            "worker_model_seconds": round(self.model_seconds, 3),
            "windows_per_second": round(self.windows / elapsed, 2),
            "real_tokens_per_second": round(self.real_tokens / elapsed, 1),
            "model_windows_per_second": round(self.windows / model_seconds, 2),
            "padding_efficiency": round(self.padding_efficiency, 4),
            "backend": self.backend,
            "device": self.device,
            "model_name": self.model_name,
            "model_version": self.model_version,
            "bundle_sha256": self.bundle_sha256,
        }


def logits_file_name(shard_id: str) -> str:
    """File name of the logits for ``shard_id``."""
    return f"{shard_id}{LOGITS_SUFFIX}"


def _runtime_device(runtime: Any, requested: str) -> str:
    for name in ("device", "device_name"):
        value = getattr(runtime, name, None)
        if value is not None:
            return str(value)
    return requested


def runtime_options(params: WorkerParams) -> dict[str, Any]:
    """Backend options of the worker's runtime. TensorRT: the plan folder
    (``DEID_TENSORRT_PLAN_DIR``, a node-local cache or a volume filled by the release), whether a
    missing plan is built once at start (``DEID_TENSORRT_BUILD=missing``) or refused (``never``,
    the default), and the microbatching the plan's optimisation profiles must cover. These are
    settings of the worker pod (its image and pod template), not of the pipeline."""
    if params.backend != "tensorrt":
        return {}
    options: dict[str, Any] = {
        "build": os.environ.get("DEID_TENSORRT_BUILD") or "never",
        "token_budget": params.token_budget,
        "max_batch": params.max_batch,
    }
    plan_dir = os.environ.get("DEID_TENSORRT_PLAN_DIR")
    if plan_dir:
        options["plan_dir"] = plan_dir
    return options


def run_worker(
    params: WorkerParams,
    log: Callable[[str], None] | None = None,
    on_logits: Callable[[LogitsRef], None] | None = None,
) -> WorkerFigures:
    """Run the model over every shard of ``params`` and write one logits file per shard.

    Shards are processed one at a time (one shard in memory), each logits file is written
    atomically, and a shard whose content hash or bundle digest does not match is refused.
    ``on_logits`` is called with each file's reference right after the file is written.
    """
    from deid_pipeline import staging
    from deid_pipeline.bundle import load_bundle
    from deid_pipeline.core import LOGITS_BUNDLE_KEY, check_same_model, run_model
    from deid_pipeline.runtimes import make_runtime
    from deid_pipeline.shards import META_LOGITS_SHARD_SHA256, read_shard, write_logits

    say = log or (lambda _message: None)
    started = time.perf_counter()
    bundle = load_bundle(params.bundle_dir)
    runtime = make_runtime(bundle, params.backend, device=params.device, **runtime_options(params))
    figures = WorkerFigures(
        backend=params.backend,
        device=_runtime_device(runtime, params.device),
        model_name=bundle.manifest.name,
        model_version=bundle.model_version,
        bundle_sha256=bundle.sha256,
    )
    # Scratch space for shards and logits staged through object storage (see ``staging``).
    scratch = tempfile.TemporaryDirectory(prefix="deid-worker-")
    for ref in params.shards:
        out_dir = Path(ref.out_dir or params.out_dir)
        if params.staging_uri:
            # Files travel through object storage: this pod has no view of the run pod's paths.
            local = Path(scratch.name)
            staging.download(staging.shard_uri(params.staging_uri, ref.shard_id), local / "shard")
            shard = read_shard(local / "shard", expected_sha256=ref.sha256)
        else:
            out_dir.mkdir(parents=True, exist_ok=True)
            shard = read_shard(ref.path, expected_sha256=ref.sha256)
        check_same_model(shard.bundle_sha256, bundle.sha256, f"shard {ref.shard_id}")
        result = run_model(
            runtime,
            list(shard.input_ids),
            bundle.pad_token_id,
            token_budget=params.token_budget,
            max_batch=params.max_batch,
        )
        path = out_dir / logits_file_name(ref.shard_id)
        written_at = Path(scratch.name) / path.name if params.staging_uri else path
        sha256 = write_logits(
            written_at,
            result.bio,
            result.entity,
            {
                META_LOGITS_SHARD_SHA256: shard.content_sha256,
                "deid.shard_id": ref.shard_id,
                LOGITS_BUNDLE_KEY: bundle.sha256,
                "deid.model_version": bundle.model_version,
                "deid.backend": params.backend,
            },
        )
        if params.staging_uri:
            staging.upload(written_at, staging.logits_uri(params.staging_uri, ref.shard_id))
            for leftover in Path(scratch.name).iterdir():
                leftover.unlink()  # one shard on local disk at a time
        figures.shards += 1
        figures.windows += shard.n_windows
        figures.real_tokens += int(result.real_tokens)
        figures.computed_tokens += int(result.computed_tokens)
        figures.model_seconds += float(result.seconds)
        written = LogitsRef(
            ref.shard_id,
            shard.content_sha256,
            str(path),
            sha256,
            shard.n_windows,
            bundle.model_version,
            bundle.sha256,
        )
        figures.logits.append(written)
        if on_logits is not None:
            on_logits(written)
        say(f"shard {ref.shard_id}: {shard.n_windows} windows")
    scratch.cleanup()
    figures.elapsed_seconds = time.perf_counter() - started
    return figures


def report_payload(refs: WorkerFigures | Sequence[LogitsRef]) -> dict[str, Any]:
    """A custom Pipes message listing logits files (the worker sends one per shard)."""
    listed = refs.logits if isinstance(refs, WorkerFigures) else refs
    return {"logits": [asdict(ref) for ref in listed]}


def logits_ref_from_file(shard_id: str, out_dir: str | Path) -> LogitsRef | None:
    """The reference of a logits file the worker left in ``out_dir``, or None when absent.

    The worker writes each file atomically (rename), so a file that exists is complete; this
    lets the orchestrator trust the files on disk when a Pipes message did not arrive.
    """
    import hashlib

    from safetensors import safe_open

    from deid_pipeline.core import LOGITS_BUNDLE_KEY
    from deid_pipeline.shards import META_LOGITS_SHARD_SHA256

    path = Path(out_dir) / logits_file_name(shard_id)
    if not path.is_file():
        return None
    with safe_open(str(path), framework="np") as handle:
        metadata = handle.metadata() or {}
        n_windows = handle.get_slice("row_splits").get_shape()[0] - 1
    with path.open("rb") as stream:
        sha256 = hashlib.file_digest(stream, "sha256").hexdigest()
    return LogitsRef(
        shard_id,
        metadata.get(META_LOGITS_SHARD_SHA256, ""),
        str(path),
        sha256,
        int(n_windows),
        metadata.get("deid.model_version", ""),
        metadata.get(LOGITS_BUNDLE_KEY, ""),
    )


def parse_report(messages: list[Any]) -> list[LogitsRef]:
    """Logits references from the worker's custom Pipes messages (orchestrator side)."""
    refs: list[LogitsRef] = []
    for message in messages:
        if isinstance(message, Mapping) and "logits" in message:
            refs.extend(LogitsRef(**item) for item in message["logits"])
    return refs


def main() -> None:
    """Entry point under Dagster Pipes: params from extras, figures and file list back."""
    from dagster_pipes import open_dagster_pipes

    with open_dagster_pipes() as pipes:
        params = WorkerParams.model_validate(dict(pipes.extras))
        pipes.log.info(
            f"worker starting: {len(params.shards)} shards, backend {params.backend}, "
            f"device {params.device}"
        )
        figures = run_worker(
            params,
            log=pipes.log.debug,
            on_logits=lambda ref: pipes.report_custom_message(report_payload([ref])),
        )
        pipes.report_asset_materialization(metadata=figures.metadata())
        pipes.log.info(
            f"worker done: {figures.windows} windows in {figures.elapsed_seconds:.2f} s, "
            f"padding efficiency {figures.padding_efficiency:.3f}, device {figures.device}"
        )


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    main()

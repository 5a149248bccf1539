"""Least privilege for the inference worker: the environment it gets is an allow-list.

Dagster's ``PipesSubprocessClient`` hands its child the whole environment of the run worker,
``DEID_SECRET_KEY`` and storage or database credentials included; the inference worker needs
none of them (token ids in, logits out: it never replaces, pseudonymises nor shifts dates).
:class:`ScopedPipesSubprocessClient` starts it with :func:`worker_environment` instead: the
variables a Python process, the ML runtimes and the GPU need, the worker's own ``DEID_*``
settings, the launcher's explicit ``env`` and the Pipes bootstrap variables. Anything that
looks like a credential (``*SECRET*``, ``*PASSWORD*``, ``*TOKEN*``, ``*_KEY``, ``*CREDENTIAL*``)
is left out even when a prefix would allow it; a value the worker really needs can be passed
explicitly through the launcher's ``env``.

The worker's inputs are still PHI-equivalent: shard files hold token ids that decode back to
the note text, and logits files mark where the PHI is. They are stored and removed like notes.
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Mapping, Sequence
from subprocess import PIPE, Popen

import dagster as dg
from dagster._core.errors import DagsterExecutionInterruptedError, DagsterPipesExecutionError

__all__ = ["WORKER_ENV_NAMES", "ScopedPipesSubprocessClient", "worker_environment"]

#: Variables the worker process may inherit (exact names).
WORKER_ENV_NAMES: frozenset[str] = frozenset(
    {
        "PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TEMP", "TMP",
        "XDG_CACHE_HOME", "VIRTUAL_ENV", "LD_LIBRARY_PATH", "PYTHONPATH", "PYTHONHASHSEED",
        "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "SSL_CERT_FILE", "SSL_CERT_DIR",
        # the worker's own settings (runtime, bundle, TensorRT plans)
        "DEID_BUNDLE_DIR", "DEID_BUNDLE_CACHE", "DEID_DEVICE", "DEID_BACKEND",
        "DEID_ONNX_PRECISION", "DEID_TENSORRT_PLAN_DIR", "DEID_TENSORRT_BUILD",
        "DEID_TOKEN_BUDGET", "DEID_MAX_BATCH", "DEID_LOG_LEVEL",
    }
)  # fmt: skip
#: Prefixes of variables of the ML runtimes, thread pools and GPUs.
_PREFIXES = ("LC_", "OMP_", "MKL_", "OPENBLAS_", "CUDA_", "NVIDIA_", "TORCH", "HF_")
_PREFIXES += ("TRANSFORMERS_", "ORT_", "TRT_", "CUBLAS_", "NCCL_", "PYTORCH_")
_CREDENTIAL = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|CREDENTIAL|_KEY$|^KEY$", re.IGNORECASE)


def worker_environment(
    environ: Mapping[str, str] | None = None, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The allow-listed part of ``environ`` (default: this process's) plus ``extra``."""
    source = os.environ if environ is None else environ
    kept = {
        name: value
        for name, value in source.items()
        if (name in WORKER_ENV_NAMES or name.startswith(_PREFIXES)) and not _CREDENTIAL.search(name)
    }
    return {**kept, **(extra or {})}


class ScopedPipesSubprocessClient(dg.PipesSubprocessClient):
    """``PipesSubprocessClient`` whose child gets :func:`worker_environment`, not the whole
    environment of the run worker (the same run loop as Dagster 1.13's client otherwise)."""

    def run(  # type: ignore[override]
        self,
        *,
        context: dg.OpExecutionContext | dg.AssetExecutionContext,
        extras: dg.PipesExtras | None = None,
        command: str | Sequence[str],
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> dg.PipesClientCompletedInvocation:
        with dg.open_pipes_session(
            context=context,
            context_injector=self.context_injector,
            message_reader=self.message_reader,
            extras=extras,
        ) as pipes_session:
            process = Popen(
                command,
                cwd=cwd or self.cwd,
                env={
                    **worker_environment(extra={**self.env, **(env or {})}),
                    **pipes_session.get_bootstrap_env_vars(),
                },
                stdout=None if self.forward_stdio else PIPE,
                stderr=None if self.forward_stdio else PIPE,
            )
            try:
                process.wait()
                if process.returncode != 0:
                    raise DagsterPipesExecutionError(
                        f"External execution process failed with code {process.returncode}"
                    )
            except DagsterExecutionInterruptedError:
                if self.forward_termination:
                    process.send_signal(signal.SIGINT)
                    process.wait(timeout=self.termination_timeout_seconds)
                raise
        return dg.PipesClientCompletedInvocation(pipes_session)

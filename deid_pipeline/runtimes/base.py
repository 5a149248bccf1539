"""The :class:`Runtime` protocol and :func:`run_windows`, shared by every backend."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from deid_pipeline.batching import padding_efficiency, plan_microbatches


class RuntimeUnavailableError(RuntimeError):
    """A backend cannot run here (package, device or bundle file missing)."""


@runtime_checkable
class Runtime(Protocol):
    """A model backend: int64 ids and mask ``[B, T]`` in, float32 two-head logits out."""

    name: str
    device: str

    def run(
        self, input_ids: np.ndarray, attention_mask: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(bio [B, T, 3], entity [B, T, E])`` as float32 numpy arrays."""
        ...


@dataclass(frozen=True)
class WindowRunResult:
    """Per-window logits in input order (padding removed) and the run's figures."""

    bio: list[np.ndarray]
    entity: list[np.ndarray]
    real_tokens: int
    computed_tokens: int
    padding_efficiency: float
    seconds: float
    batches: int
    batch_sizes: list[int] = field(default_factory=list)


def pad_batch(
    windows: Sequence[np.ndarray], indices: Sequence[int], pad_token_id: int
) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad the chosen windows into int64 ``input_ids`` and ``attention_mask`` arrays."""
    width = max(len(windows[index]) for index in indices)
    input_ids = np.full((len(indices), width), pad_token_id, dtype=np.int64)
    attention_mask = np.zeros((len(indices), width), dtype=np.int64)
    for row, index in enumerate(indices):
        length = len(windows[index])
        input_ids[row, :length] = windows[index]
        attention_mask[row, :length] = 1
    return input_ids, attention_mask


def run_windows(
    runtime: Runtime,
    windows: Sequence[np.ndarray],
    pad_token_id: int,
    token_budget: int = 4096,
    max_batch: int = 16,
    sort_by_length: bool = True,
) -> WindowRunResult:
    """Run ``windows`` (1-D token ids incl. specials) through ``runtime`` in microbatches.

    Returns each window's ``bio`` ``[len, 3]`` and ``entity`` ``[len, E]`` float32 logits in
    the order of ``windows``, with the padding stripped.
    """
    started = time.perf_counter()
    # Accept any 1-D integer sequence (Arrow list values, lists) as well as numpy arrays.
    windows = [np.asarray(window) for window in windows]
    lengths = [len(window) for window in windows]
    if any(length == 0 for length in lengths):
        raise ValueError("empty window: every window holds at least [CLS] and [SEP]")
    for window in windows:
        if window.ndim != 1:
            raise ValueError(f"windows must be 1-D token id arrays, got {window.ndim}-D")
    plan = plan_microbatches(lengths, token_budget, max_batch, sort_by_length=sort_by_length)
    bio: list[np.ndarray | None] = [None] * len(windows)
    entity: list[np.ndarray | None] = [None] * len(windows)
    for indices in plan:
        input_ids, attention_mask = pad_batch(windows, indices, pad_token_id)
        bio_batch, entity_batch = runtime.run(input_ids, attention_mask)
        expected = input_ids.shape
        if bio_batch.shape[:2] != expected or entity_batch.shape[:2] != expected:
            raise RuntimeError(
                f"runtime {runtime.name} returned shapes {bio_batch.shape}, {entity_batch.shape} "
                f"for input {expected}"
            )
        for row, index in enumerate(indices):
            # Copies, so one window's result does not keep the whole padded batch alive.
            bio[index] = np.array(bio_batch[row, : lengths[index]], dtype=np.float32)
            entity[index] = np.array(entity_batch[row, : lengths[index]], dtype=np.float32)
    computed = sum(len(batch) * max(lengths[i] for i in batch) for batch in plan)
    return WindowRunResult(
        bio=[array for array in bio if array is not None],
        entity=[array for array in entity if array is not None],
        real_tokens=sum(lengths),
        computed_tokens=computed,
        padding_efficiency=padding_efficiency(lengths, plan),
        seconds=time.perf_counter() - started,
        batches=len(plan),
        batch_sizes=[len(batch) for batch in plan],
    )

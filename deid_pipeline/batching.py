"""Token-budget microbatching of model windows.

A microbatch is padded to its longest window, so its cost is ``len(batch) * max(length)``.
Sorting windows by length before cutting batches keeps similar lengths together and so wastes
few padding tokens on long-tailed clinical text. Pure and deterministic: the same lengths and
limits always give the same batches.
"""

from __future__ import annotations

from collections.abc import Sequence


def plan_microbatches(
    lengths: Sequence[int], token_budget: int, max_batch: int, sort_by_length: bool = True
) -> list[list[int]]:
    """Group window indices into microbatches.

    Each batch has at most ``max_batch`` windows and costs ``len(batch) * max(length in batch)``
    <= ``token_budget`` tokens, except that a single window longer than the budget gets a batch
    of its own. With ``sort_by_length`` windows are taken longest first (ties by index), else in
    input order. Every index appears exactly once.
    """
    if token_budget < 1:
        raise ValueError(f"token_budget must be >= 1, got {token_budget}")
    if max_batch < 1:
        raise ValueError(f"max_batch must be >= 1, got {max_batch}")
    if any(length < 0 for length in lengths):
        raise ValueError("window lengths must be >= 0")
    order = list(range(len(lengths)))
    if sort_by_length:
        # Longest first: a batch's first window fixes its padded width, so the batch can
        # then be filled greedily without the width ever growing.
        order.sort(key=lambda index: (-lengths[index], index))
    batches: list[list[int]] = []
    current: list[int] = []
    width = 0
    for index in order:
        new_width = max(width, lengths[index])
        if current and (len(current) >= max_batch or (len(current) + 1) * new_width > token_budget):
            batches.append(current)
            current, new_width = [], lengths[index]
        current.append(index)
        width = new_width
    if current:
        batches.append(current)
    return batches


def padding_efficiency(lengths: Sequence[int], batches: Sequence[Sequence[int]]) -> float:
    """Real tokens divided by computed (padded) tokens over ``batches``; 1.0 when empty."""
    real = sum(lengths[index] for batch in batches for index in batch)
    computed = sum(
        len(batch) * max(lengths[index] for index in batch) for batch in batches if batch
    )
    return real / computed if computed else 1.0

"""Token-budget microbatching: property tests on arbitrary window lengths."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deid_pipeline.batching import padding_efficiency, plan_microbatches

lengths_strategy = st.lists(st.integers(min_value=1, max_value=600), max_size=80)
budget_strategy = st.integers(min_value=1, max_value=5000)
max_batch_strategy = st.integers(min_value=1, max_value=32)


def _cost(lengths: list[int], batch: list[int]) -> int:
    return len(batch) * max(lengths[index] for index in batch)


@given(lengths_strategy, budget_strategy, max_batch_strategy, st.booleans())
def test_every_index_once_and_budget_respected(
    lengths: list[int], budget: int, max_batch: int, sort_by_length: bool
) -> None:
    batches = plan_microbatches(lengths, budget, max_batch, sort_by_length=sort_by_length)
    flat = [index for batch in batches for index in batch]
    assert sorted(flat) == list(range(len(lengths)))
    for batch in batches:
        assert 1 <= len(batch) <= max_batch
        if len(batch) > 1:
            assert _cost(lengths, batch) <= budget
        else:
            # A lone window may exceed the budget only because it is longer than the budget.
            assert _cost(lengths, batch) <= budget or lengths[batch[0]] > budget


@given(lengths_strategy, budget_strategy, max_batch_strategy, st.booleans())
def test_deterministic_and_efficiency_in_range(
    lengths: list[int], budget: int, max_batch: int, sort_by_length: bool
) -> None:
    first = plan_microbatches(lengths, budget, max_batch, sort_by_length=sort_by_length)
    second = plan_microbatches(list(lengths), budget, max_batch, sort_by_length=sort_by_length)
    assert first == second
    efficiency = padding_efficiency(lengths, first)
    assert 0.0 < efficiency <= 1.0


@given(lengths_strategy, budget_strategy, max_batch_strategy)
def test_unsorted_keeps_input_order(lengths: list[int], budget: int, max_batch: int) -> None:
    batches = plan_microbatches(lengths, budget, max_batch, sort_by_length=False)
    assert [index for batch in batches for index in batch] == list(range(len(lengths)))


@given(lengths_strategy, budget_strategy, max_batch_strategy)
def test_equal_lengths_need_no_padding(lengths: list[int], budget: int, max_batch: int) -> None:
    # With equal lengths there is no padding at all, whatever the plan.
    same = [64] * len(lengths)
    batches = plan_microbatches(same, budget, max_batch)
    assert padding_efficiency(same, batches) == 1.0


def test_sorting_groups_similar_lengths() -> None:
    lengths = [512, 8, 512, 8, 512, 8, 512, 8]
    unsorted = plan_microbatches(lengths, 1024, 16, sort_by_length=False)
    ordered = plan_microbatches(lengths, 1024, 16, sort_by_length=True)
    assert ordered == [[0, 2], [4, 6], [1, 3, 5, 7]]
    assert padding_efficiency(lengths, ordered) > padding_efficiency(lengths, unsorted)


def test_oversize_window_gets_own_batch() -> None:
    batches = plan_microbatches([10, 5000, 10], 4096, 16)
    assert [1] in batches
    assert sorted(index for batch in batches for index in batch) == [0, 1, 2]


def test_max_batch_caps_batch_size() -> None:
    batches = plan_microbatches([4] * 10, 4096, 3)
    assert [len(batch) for batch in batches] == [3, 3, 3, 1]


def test_empty_and_invalid_arguments() -> None:
    assert plan_microbatches([], 100, 4) == []
    assert padding_efficiency([], []) == 1.0
    with pytest.raises(ValueError):
        plan_microbatches([1], 0, 4)
    with pytest.raises(ValueError):
        plan_microbatches([1], 10, 0)
    with pytest.raises(ValueError):
        plan_microbatches([-1], 10, 4)

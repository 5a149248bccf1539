"""The span type every stage exchanges, and the invariants final span lists must satisfy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

SpanSource = Literal["model", "metadata", "pattern"]


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """A PHI span: ``[start, end)`` in Unicode code points of the original note text."""

    start: int
    end: int
    label: str
    score: float = 1.0
    source: SpanSource = "model"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form used by the CLI output and the spans table."""
        return asdict(self)

    @property
    def length(self) -> int:
        return self.end - self.start


class SpanInvariantError(ValueError):
    """Raised when a span list breaks the offset contract. The message holds offsets only."""


def check_spans(spans: Sequence[Span], text_length: int) -> None:
    """Raise :class:`SpanInvariantError` unless spans are sorted, in range, non-empty, disjoint."""
    previous_end = 0
    for index, span in enumerate(spans):
        if not 0 <= span.start < span.end <= text_length:
            raise SpanInvariantError(
                f"span {index} [{span.start}, {span.end}) outside text of length {text_length}"
            )
        if span.start < previous_end:
            raise SpanInvariantError(
                f"span {index} starts at {span.start} before previous end {previous_end}"
            )
        previous_end = span.end

"""Rule-based recognizers that complement the model: structured metadata and text patterns.

Both return sorted, disjoint :class:`~deid_pipeline.spans.Span` lists; the merge with the model's
spans is :func:`deid_pipeline.postprocess.merge_spans`.
"""

from deid_pipeline.recognizers.metadata import find_metadata_spans
from deid_pipeline.recognizers.patterns import (
    find_pattern_spans,
    is_valid_be_national_number,
    is_valid_bsn,
    is_valid_iban,
)

__all__ = [
    "find_metadata_spans",
    "find_pattern_spans",
    "is_valid_be_national_number",
    "is_valid_bsn",
    "is_valid_iban",
]

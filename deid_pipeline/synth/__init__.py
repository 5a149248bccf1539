"""Synthetic Dutch clinical corpus generator (nl-NL and nl-BE) with exact gold PHI spans.

The default model's training data and the held-out evaluation split both come from here::

    from deid_pipeline.synth import generate_notes, write_source_table, write_gold_jsonl

    notes = generate_notes(1_000, seed=1, split="train", days=7)
    write_source_table("data/source_notes", notes)

Modules: :mod:`.split` (train/held-out partition of every list), :mod:`.values` (PHI values),
:mod:`.clinical` (non-PHI vocabulary and hard negatives), :mod:`.phrases` (sentence blocks),
:mod:`.context` (patients, caregivers, slots), :mod:`.documents` (the 12 document types and
the length distribution), :mod:`.generator`, :mod:`.io` and :mod:`.cli`.
"""

from deid_pipeline.synth.documents import DOC_TYPES, MAX_CHARS
from deid_pipeline.synth.generator import SyntheticNote, generate_notes
from deid_pipeline.synth.io import gold_record, write_gold_jsonl, write_source_table
from deid_pipeline.synth.split import Split

__all__ = [
    "DOC_TYPES",
    "MAX_CHARS",
    "Split",
    "SyntheticNote",
    "generate_notes",
    "gold_record",
    "write_gold_jsonl",
    "write_source_table",
]

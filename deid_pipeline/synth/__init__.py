"""Synthetic Dutch clinical corpus generator (nl-NL and nl-BE) with exact gold PHI spans.

The default model's training data and the held-out evaluation split both come from here::

    from deid_pipeline.synth import generate_notes, write_source_table, write_gold_jsonl

    notes = generate_notes(1_000, seed=1, split="train", days=7)
    write_source_table("data/source_notes", notes)

Besides the PHI ``spans``, every note carries non-PHI ``annotations`` (quantities, field
labels, sentence-initial words, codes) that the evaluation uses to measure over-redaction.

Modules: :mod:`.split` (train/held-out partition of every list), :mod:`.values` (PHI values,
date styles and ranges), :mod:`.clinical` (non-PHI vocabulary and hard negatives),
:mod:`.quantities` (doses, lab values, vital signs, scores, clock times, codes), :mod:`.fields`
(the compositional vocabulary of field labels and section titles), :mod:`.lexicon` (ordinary
Dutch words that are never PHI), :mod:`.phrases` (sentence blocks), :mod:`.context` (patients,
caregivers, slots), :mod:`.structured` (forms, tables, SOAP blocks, ordinary-word prose),
:mod:`.documents` (the 15 document types and the length distribution), :mod:`.builder` (exact
spans and annotations), :mod:`.generator`, :mod:`.io` and :mod:`.cli`.
"""

from deid_pipeline.synth.builder import ANNOTATION_KINDS
from deid_pipeline.synth.documents import DOC_TYPES, MAX_CHARS
from deid_pipeline.synth.generator import SyntheticNote, generate_notes
from deid_pipeline.synth.io import gold_record, write_gold_jsonl, write_source_table
from deid_pipeline.synth.split import Split

__all__ = [
    "ANNOTATION_KINDS",
    "DOC_TYPES",
    "MAX_CHARS",
    "Split",
    "SyntheticNote",
    "generate_notes",
    "gold_record",
    "write_gold_jsonl",
    "write_source_table",
]

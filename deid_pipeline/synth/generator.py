"""``generate_notes``: a deterministic, streaming generator of synthetic notes with gold spans."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import dataclass, field

from deid_pipeline.notes import Note
from deid_pipeline.spans import Span, check_spans
from deid_pipeline.synth.builder import ANNOTATION_KINDS, DocBuilder, Range
from deid_pipeline.synth.context import NoteContext, make_patient
from deid_pipeline.synth.documents import choose_doc_type, compose, draw_target_length
from deid_pipeline.synth.split import SPLITS, Split, derive_rng

#: On average a patient has this many notes in a generated corpus.
NOTES_PER_PATIENT = 2.5


def _no_annotations() -> dict[str, list[Range]]:
    return {kind: [] for kind in ANNOTATION_KINDS}


@dataclass(frozen=True, slots=True)
class SyntheticNote:
    """A generated note, its gold spans (sorted, disjoint, code points), locale and type.

    ``spans`` are PHI only. ``annotations`` holds the non-PHI ranges the evaluation measures,
    keyed by kind (:data:`~deid_pipeline.synth.builder.ANNOTATION_KINDS`: quantities, field
    labels, sentence-initial words, codes); each list is sorted ``(start, end)`` pairs that
    overlap no PHI span.
    """

    note: Note
    spans: list[Span]
    locale: str
    doc_type: str
    annotations: dict[str, list[Range]] = field(default_factory=_no_annotations)


def note_id_for(seed: int, split: Split, index: int) -> str:
    """The id of the ``index``-th note; unique per (seed, split, index)."""
    return f"syn-{split[0]}{seed}-{index:07d}"


def generate_notes(
    n_notes: int,
    *,
    seed: int,
    split: Split = "train",
    start_date: dt.date = dt.date(2026, 1, 1),
    days: int = 1,
    locale_mix: float = 0.5,
) -> Iterator[SyntheticNote]:
    """Yield ``n_notes`` synthetic Dutch clinical notes, one at a time.

    Deterministic by ``seed``: each note depends only on (seed, split, its index), so the same
    arguments give the same notes. ``split="heldout"`` draws from held-out phrasings and values
    only. Note dates are spread evenly over ``days`` days from ``start_date``; about one
    patient per :data:`NOTES_PER_PATIENT` notes, each patient with the same id and metadata in
    all of their notes. ``locale_mix`` is the share of patients (so of notes) from nl-BE.
    """
    if n_notes < 0:
        raise ValueError("n_notes must be >= 0")
    if days < 1:
        raise ValueError("days must be >= 1")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}")
    if not 0.0 <= locale_mix <= 1.0:
        raise ValueError("locale_mix must be between 0 and 1")
    n_patients = max(1, math.ceil(n_notes / NOTES_PER_PATIENT))
    for index in range(n_notes):
        rng = derive_rng(seed, split, "note", index)
        patient_index = rng.randrange(n_patients)
        record = make_patient(seed, split, patient_index, locale_mix)
        note_date = start_date + dt.timedelta(days=index * days // n_notes)
        builder = DocBuilder()
        ctx = NoteContext(rng, split, record, note_date, builder)
        target = draw_target_length(rng)
        doc_type = choose_doc_type(rng, target)
        compose(ctx, doc_type, target)
        text, spans, annotations = builder.build_annotated()
        check_spans(spans, len(text))
        note = Note(
            note_id=note_id_for(seed, split, index),
            text=text,
            patient_id=record.patient_id,
            note_date=note_date,
            metadata=ctx.metadata(),
        )
        yield SyntheticNote(note, spans, record.locale, doc_type, annotations)

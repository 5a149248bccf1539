"""Tests of the synthetic corpus generator. Output carries figures only, never note text."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import statistics
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deid_pipeline.labels import DEFAULT_ENTITY_LABELS
from deid_pipeline.notes import NoteMetadata
from deid_pipeline.spans import check_spans
from deid_pipeline.synth import (
    DOC_TYPES,
    MAX_CHARS,
    SyntheticNote,
    generate_notes,
    write_gold_jsonl,
    write_source_table,
)
from deid_pipeline.synth import phrases as P
from deid_pipeline.synth import values as V
from deid_pipeline.synth.builder import DocBuilder, join, phi
from deid_pipeline.synth.cli import register
from deid_pipeline.synth.split import Pool, is_heldout


@lru_cache(maxsize=4)
def corpus(n: int, seed: int, split: str = "train") -> tuple[SyntheticNote, ...]:
    return tuple(generate_notes(n, seed=seed, split=split, days=3))  # type: ignore[arg-type]


def test_deterministic_by_seed() -> None:
    first = list(generate_notes(25, seed=11, split="train"))
    again = list(generate_notes(25, seed=11, split="train"))
    other = list(generate_notes(25, seed=12, split="train"))
    assert [n.note for n in first] == [n.note for n in again]
    assert [n.spans for n in first] == [n.spans for n in again]
    assert [n.note.text for n in first] != [n.note.text for n in other]


def test_gold_spans_are_valid() -> None:
    labels = set(DEFAULT_ENTITY_LABELS)
    for item in corpus(300, 1):
        text = item.note.text
        check_spans(item.spans, len(text))
        for span in item.spans:
            value = text[span.start : span.end]
            assert span.label in labels
            assert value and value == value.strip(), (item.note.note_id, span.start)
            assert value[-1] not in ",;:(", (item.note.note_id, span.start)
            assert value[0] not in ",;:)", (item.note.note_id, span.start)
            # A span never stops inside a word.
            assert span.end == len(text) or not (
                text[span.end - 1].isalnum() and text[span.end].isalnum()
            )
            assert span.start == 0 or not (
                text[span.start - 1].isalnum() and text[span.start].isalnum()
            )


def test_coverage_of_labels_locales_and_types() -> None:
    notes = corpus(300, 1)
    assert {s.label for n in notes for s in n.spans} == set(DEFAULT_ENTITY_LABELS)
    assert {n.locale for n in notes} == {"nl-NL", "nl-BE"}
    assert {n.doc_type for n in notes} == set(DOC_TYPES)
    assert len(DOC_TYPES) >= 12
    assert len({n.note.note_id for n in notes}) == len(notes)
    assert {n.note.note_date for n in notes} == {
        dt.date(2026, 1, 1) + dt.timedelta(d) for d in range(3)
    }


def test_national_ids_in_text_are_valid() -> None:
    checked = {"bsn": 0, "rrn": 0, "riziv": 0}
    for item in corpus(300, 1):
        text = item.note.text
        birth = item.note.metadata.patient.birth_date  # type: ignore[union-attr]
        for span in item.spans:
            digits = re.sub(r"\D", "", text[span.start : span.end])
            if span.label == "ID:Patient" and item.locale == "nl-NL" and len(digits) == 9:
                assert V.bsn_is_valid(digits)
                checked["bsn"] += 1
            if span.label == "ID:Patient" and item.locale == "nl-BE" and len(digits) == 11:
                assert V.rrn_is_valid(digits)
                assert digits[:6] == f"{birth:%y%m%d}"
                checked["rrn"] += 1
            if span.label == "ID:Caregiver" and item.locale == "nl-BE":
                assert V.riziv_is_valid(digits)
                checked["riziv"] += 1
    assert all(count > 5 for count in checked.values()), checked


@given(st.integers(min_value=0, max_value=10**6))
@settings(max_examples=40, deadline=None)
def test_identifier_generators_are_valid(seed: int) -> None:
    import random

    rng = random.Random(seed)
    assert V.bsn_is_valid(V.make_bsn(rng))
    birth = dt.date(1920, 1, 1) + dt.timedelta(days=rng.randrange(38_000))
    rrn = V.make_rrn(birth, rng.choice(("m", "f")), rng)
    assert V.rrn_is_valid(rrn) and rrn[:6] == f"{birth:%y%m%d}"
    assert V.riziv_is_valid(V.make_riziv(rng, rng.random() < 0.5))


def _heldout_only(pools: list[Pool[str]]) -> set[str]:
    train = {value for pool in pools for value in pool.train}
    return {value for pool in pools for value in pool.heldout} - train


def test_heldout_values_never_reach_train_notes() -> None:
    first_pools = list(V.FIRST_NAMES.values())
    train_surname_words = {
        word for p in V.SURNAMES.values() for v in p.train for word in re.split(r"[\s-]+", v)
    }
    heldout_first = _heldout_only(first_pools) - train_surname_words
    train_first = {v for p in first_pools for v in p.train}
    heldout_cities = _heldout_only(list(V.CITIES.values()))
    heldout_hospitals = _heldout_only(list(V.HOSPITALS.values()))
    assert heldout_first and heldout_cities and heldout_hospitals
    for item in corpus(300, 1):
        metadata = item.note.metadata
        people = [metadata.patient, *metadata.caregivers]
        assert not {g for p in people for g in (p.given_names or "").split()} & heldout_first
        for span in item.spans:
            value = item.note.text[span.start : span.end]
            if span.label.startswith("Name:"):
                assert not set(re.split(r"[\s,.]+", value)) & heldout_first
            if span.label.startswith("Address_Location:"):
                assert value not in heldout_cities
            if span.label == "Organization:Healthcare":
                assert value not in heldout_hospitals
    # And the held-out split does use held-out values only.
    heldout_notes = corpus(60, 1, "heldout")
    for item in heldout_notes:
        given_names = (item.note.metadata.patient.given_names or "").split()  # type: ignore[union-attr]
        assert not set(given_names) & (train_first - {v for p in first_pools for v in p.heldout})


def test_heldout_phrasings_never_reach_train_notes() -> None:
    pools = [value for value in vars(P).values() if isinstance(value, Pool)]
    train_literals = " ".join(t for pool in pools for t in pool.train)
    chunks = set()
    for pool in pools:
        for template in set(pool.heldout) - set(pool.train):
            for chunk in re.split(r"\{\w+\}", template):
                chunk = chunk.strip()
                if len(chunk) >= 30 and chunk not in train_literals:
                    chunks.add(chunk)
    assert len(chunks) > 5
    for item in corpus(300, 1):
        for chunk in chunks:
            assert chunk not in item.note.text


def test_patient_metadata_is_consistent_across_notes_and_text() -> None:
    by_patient: dict[str, NoteMetadata] = {}
    reused = 0
    for item in corpus(300, 1):
        note = item.note
        patient = note.metadata.patient
        assert patient is not None and patient.surname and patient.given_names
        assert note.metadata.document_date == note.note_date
        if note.patient_id in by_patient:
            reused += 1
            assert by_patient[note.patient_id].patient == patient
        by_patient[note.patient_id] = note.metadata  # type: ignore[index]
        surname_words = {w.lower() for w in re.split(r"[\s-]+", patient.surname)}
        given = set(patient.given_names.split())
        for span in item.spans:
            value = note.text[span.start : span.end]
            if span.label == "Name:Patient":
                words = {w.lower() for w in re.split(r"[\s,-]+", value)}
                assert words & surname_words or set(value.split()) & given
            if span.label == "Age_Birthdate" and value.isdigit():
                assert int(value) == V.age_on(patient.birth_date, note.note_date)  # type: ignore[arg-type]
        for known in note.metadata.known_values:
            assert known.label in DEFAULT_ENTITY_LABELS
    assert reused > 50


def test_length_distribution() -> None:
    lengths = sorted(len(item.note.text) for item in generate_notes(2_000, seed=5))
    median = statistics.median(lengths)
    mean = statistics.fmean(lengths)
    p99 = lengths[int(0.99 * len(lengths))]
    print(f"median={median:.0f} mean={mean:.0f} p99={p99} max={lengths[-1]}")
    assert 600 <= median <= 1_600
    assert 1_700 <= mean <= 3_600
    assert 9_000 <= p99 <= MAX_CHARS
    assert lengths[-1] <= MAX_CHARS
    assert lengths[0] > 0


@given(
    st.lists(
        st.tuples(
            st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8),
            st.sampled_from([None, *DEFAULT_ENTITY_LABELS]),
        ),
        max_size=12,
    )
)
@settings(max_examples=150, deadline=None)
def test_builder_spans_match_pieces(pieces: list[tuple[str, str | None]]) -> None:
    builder = DocBuilder()
    builder.add("x ")
    for text, label in pieces:
        builder.render("{v} ", {"v": phi(text, label) if label else text})
    text, spans = builder.build()
    check_spans(spans, len(text))
    expected = [t.strip() for t, label in pieces if label and t.strip()]
    assert [text[s.start : s.end] for s in spans] == expected


def test_builder_rollback_and_join() -> None:
    builder = DocBuilder()
    builder.add_fragment(join("mevrouw ", phi("Test", "Name:Patient")))
    mark = builder.mark()
    builder.add_fragment(join(" op ", phi("1-1-2026", "Date")))
    builder.rollback(mark)
    text, spans = builder.build()
    assert text == "mevrouw Test" and [(s.start, s.end) for s in spans] == [(8, 12)]


def test_delta_round_trip_and_gold(tmp_path: Path) -> None:
    import polars as pl
    from deltalake import DeltaTable

    notes = list(generate_notes(40, seed=3, days=2))
    uri = str(tmp_path / "source")
    assert write_source_table(uri, iter(notes), batch_rows=16) == 40
    table = DeltaTable(uri).to_pyarrow_table()
    assert table.schema.field("note_date").type == "date32[day]"
    frame = pl.read_delta(uri).sort("note_id")
    by_id = {n.note.note_id: n for n in notes}
    assert set(frame["note_id"]) == set(by_id)
    for row in frame.iter_rows(named=True):
        item = by_id[row["note_id"]]
        assert row["text"] == item.note.text
        assert row["note_date"] == item.note.note_date
        assert row["patient_id"] == item.note.patient_id
        assert NoteMetadata.model_validate(json.loads(row["metadata"])) == item.note.metadata
    gold_path = tmp_path / "gold" / "gold.jsonl"
    assert write_gold_jsonl(gold_path, notes) == 40
    lines = [json.loads(line) for line in gold_path.read_text(encoding="utf-8").splitlines()]
    for line, item in zip(lines, notes, strict=True):
        assert line["note_id"] == item.note.note_id and line["text"] == item.note.text
        assert [(s["start"], s["end"], s["label"]) for s in line["spans"]] == [
            (s.start, s.end, s.label) for s in item.spans
        ]
        assert line["locale"] == item.locale and line["doc_type"] == item.doc_type


def test_cli_writes_table_and_gold(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import polars as pl

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command", required=True))
    out, gold = tmp_path / "notes", tmp_path / "gold.jsonl"
    args = parser.parse_args(
        [
            "synth",
            "--notes",
            "30",
            "--days",
            "3",
            "--seed",
            "4",
            "--out",
            str(out),
            "--gold",
            str(gold),
            "--split",
            "heldout",
            "--start-date",
            "2026-02-01",
            "--locale-mix",
            "1.0",
        ]
    )
    assert args.handler(args) == 0
    frame = pl.read_delta(str(out))
    assert frame.height == 30
    assert frame["note_date"].min() == dt.date(2026, 2, 1)
    assert frame["note_date"].max() == dt.date(2026, 2, 3)
    lines = [json.loads(x) for x in gold.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 30 and {line["locale"] for line in lines} == {"nl-BE"}
    assert set(frame["note_id"]) == {line["note_id"] for line in lines}
    err = capsys.readouterr().err
    assert "notes=30" in err


def test_split_partition_is_stable_and_disjoint() -> None:
    pool = Pool([f"item{i}" for i in range(200)])
    assert not set(pool.train) & set(pool.heldout)
    assert 15 <= len(pool.heldout) <= 70
    assert all(is_heldout(x) for x in pool.heldout if len(pool.heldout) > 1)
    assert Pool(["only"]).train == Pool(["only"]).heldout == ("only",)
    assert Pool(["a", "b"]).train and Pool(["a", "b"]).heldout

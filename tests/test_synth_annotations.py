"""Gold exactness and non-PHI annotations of the synthetic generator.

Tables of (template, expected) for the builder, and properties of generated corpora: every gold
span covers a whole expression (dates, identifiers, addresses, "SURNAME, Given" names), non-PHI
annotations never touch PHI, held-out field labels never reach train notes. Failure messages
carry note ids, offsets and labels only, never note text.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from functools import lru_cache
from pathlib import Path

import pytest

from deid_pipeline.synth import (
    DOC_TYPES,
    SyntheticNote,
    generate_notes,
    write_gold_jsonl,
)
from deid_pipeline.synth import fields as F
from deid_pipeline.synth import quantities as Q
from deid_pipeline.synth import values as V
from deid_pipeline.synth.builder import (
    ANNOTATION_KINDS,
    CODES,
    FIELD_LABELS,
    QUANTITIES,
    SENTENCE_INITIAL,
    AnnotationOverlapError,
    DocBuilder,
    phi,
)
from deid_pipeline.synth.context import NoteContext, make_patient
from deid_pipeline.synth.lexicon import ordinary_words, phi_words
from deid_pipeline.synth.split import is_heldout

NEW_TYPES = {"structured_note", "flowsheet", "pathology_report"}


@lru_cache(maxsize=4)
def corpus(split: str, n: int = 500, seed: int = 21) -> tuple[SyntheticNote, ...]:
    return tuple(generate_notes(n, seed=seed, split=split, days=5))  # type: ignore[arg-type]


def both_splits() -> list[SyntheticNote]:
    return [*corpus("train"), *corpus("heldout", 250)]


# ---------------------------------------------------------------- builder tables

SLOTS = {"v": "waarde", "d": phi("12-03-2024", "Date"), "n": phi("Jan", "Name:Patient")}


@pytest.mark.parametrize(
    ("template", "kind", "expected"),
    [
        ("Voorgeschiedenis: {v}", FIELD_LABELS, ["Voorgeschiedenis"]),
        ("Reden van verwijzing: {v}", FIELD_LABELS, ["Reden van verwijzing"]),
        ("Medicatie bij ontslag:\n- {v}", FIELD_LABELS, ["Medicatie bij ontslag"]),
        ("BEHANDELPLAN\n{v}", FIELD_LABELS, ["BEHANDELPLAN"]),
        ("OVERDRACHT VERPLEGING - {v}", FIELD_LABELS, ["OVERDRACHT VERPLEGING"]),
        ("S/ {v}\nO/ {v}", FIELD_LABELS, ["S", "O"]),
        ("S: {v}\nP: {v}", FIELD_LABELS, ["S", "P"]),
        ("Cor: rustig. Pulm: schoon.", FIELD_LABELS, ["Cor", "Pulm"]),
        ("Pat.nr.: {v}", FIELD_LABELS, ["Pat.nr."]),
        ("Tel. patiënt: {v}", FIELD_LABELS, ["Tel. patiënt"]),
        ("RR: {v} | Pols: {v}", FIELD_LABELS, ["RR", "Pols"]),
        # A label with a PHI value inside, or one that is a whole sentence, is not a label.
        ("Lab ({d}): {v}", FIELD_LABELS, []),
        ("Heteroanamnese via {n}: {v}", FIELD_LABELS, []),
        ("om 14:30 gezien", FIELD_LABELS, []),
        ("Hb <q>8,1 mmol/l</q>, CRP <q>5 mg/l</q>", QUANTITIES, ["8,1 mmol/l", "5 mg/l"]),
        ("Sinds <q>{v} dagen</q> klachten", QUANTITIES, ["waarde dagen"]),
        ("ICD-10 <c>I21.4</c>; ATC <c>B01AB05</c>", CODES, ["I21.4", "B01AB05"]),
        ("Gisteren goed. Vandaag {v}.", SENTENCE_INITIAL, ["Gisteren", "Vandaag"]),
        ("CRP gedaald.\n- Paracetamol gestopt", SENTENCE_INITIAL, ["Paracetamol"]),
        ("Beleid: afwachten. Conform afspraak.", SENTENCE_INITIAL, ["Conform"]),
        ("{n} komt morgen. Ki-67 hoog. ECG normaal.", SENTENCE_INITIAL, []),
        # Inside a quantity it is no sentence-initial word; after a colon no sentence starts.
        ("<q>Dag 3</q>: Matig. Goed.", SENTENCE_INITIAL, ["Goed"]),
    ],
)
def test_annotation_table(template: str, kind: str, expected: list[str]) -> None:
    builder = DocBuilder()
    builder.render(template, SLOTS)
    text, _, annotations = builder.build_annotated()
    assert set(annotations) == set(ANNOTATION_KINDS)
    assert [text[start:end] for start, end in annotations[kind]] == expected


def test_annotation_over_phi_is_a_generator_bug() -> None:
    builder = DocBuilder()
    builder.render("Pijn <q>{n} uur</q>", SLOTS)
    with pytest.raises(AnnotationOverlapError) as info:
        builder.build_annotated()
    assert "Jan" not in str(info.value)


def test_rollback_drops_annotations() -> None:
    builder = DocBuilder()
    builder.render("Hb <q>8 mmol/l</q>", {})
    mark = builder.mark()
    builder.render(" CRP <q>5 mg/l</q>", {})
    builder.rollback(mark)
    _, _, annotations = builder.build_annotated()
    assert annotations[QUANTITIES] == [(3, 11)]


# ---------------------------------------------------------------- names, dates, addresses

PERSON = V.Person(("Jan", "Peter"), V.Surname("de", "Vries"), "m", "nl-NL")
LISTED = {
    "DE VRIES, Jan",
    "DE VRIES, J.P.",
    "DE VRIES, Jan Peter",
    "De Vries, Jan",
    "De Vries, J.P.",
    "De Vries, Jan Peter",
    "VRIES, Jan de",
    "VRIES, J.P. de",
    "VRIES, Jan Peter de",
    "Vries, Jan de",
    "Vries, J.P. de",
    "Vries, Jan Peter de",
}


def _context(seed: int) -> NoteContext:
    record = make_patient(seed, "train", seed, 0.5)
    return NoteContext(random.Random(seed), "train", record, dt.date(2026, 1, 5), DocBuilder())


def test_surname_given_order_is_one_whole_span() -> None:
    seen = set()
    for seed in range(300):
        ctx = _context(seed)
        ctx.builder.add("Patiënt: ")
        ctx.builder.add_fragment(ctx.listed_name(PERSON, "Name:Patient"))
        ctx.builder.add(" (m)")
        text, spans = ctx.builder.build()
        assert len(spans) == 1 and spans[0].label == "Name:Patient"
        value = text[spans[0].start : spans[0].end]
        in_table, whole = value in LISTED, text == f"Patiënt: {value} (m)"
        assert in_table and whole, seed
        seen.add(value)
    assert seen == LISTED


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("dd-mm-yyyy", "03-03-2024"),
        ("d month yyyy", "3 maart 2024"),
        ("d mon. yyyy", "3 mrt. 2024"),
        ("d month 'yy", "3 maart '24"),
        ("d-roman-yyyy", "3-III-2024"),
        ("d month", "3 maart"),
        ("d/m", "3/3"),
        ("d-m", "3-3"),
        ("d mon.", "3 maa."),
        ("d.m.", "3.3."),
        ("d/roman", "3/III"),
    ],
)
def test_date_styles(style: str, expected: str) -> None:
    assert V.format_date(dt.date(2024, 3, 3), style) == expected
    assert (style in V.NO_YEAR_STYLES) == ("2024" not in expected and "'24" not in expected)


@pytest.mark.parametrize("seed", range(40))
def test_date_range_is_one_expression_with_both_ends(seed: int) -> None:
    rng = random.Random(seed)
    start = dt.date(2025, rng.randint(1, 12), rng.randint(1, 20))
    end = start + dt.timedelta(days=rng.randint(1, 40))
    text = V.format_range(start, end, rng.choice(V.DATE_STYLES), rng)
    assert text == text.strip() and "\n" not in text
    assert re.search(rf"(?<!\d)0?{start.day}(?!\d)", text)
    assert re.search(rf"(?<!\d)0?{end.day}(?!\d)", text)


def test_weekday_and_date_are_one_span_with_the_true_weekday() -> None:
    for seed in range(60):
        ctx = _context(seed)
        date = dt.date(2026, 3, 2) + dt.timedelta(days=seed % 7)  # 2 March 2026 is a Monday
        ctx.builder.add_fragment(ctx.date_wd(date))
        text, spans = ctx.builder.build()
        assert [(s.start, s.end) for s in spans] == [(0, len(text))]
        prefix = re.match(r"[a-z]+", text)
        assert prefix is not None
        assert V.WEEKDAYS[date.weekday()].startswith(prefix.group(0)), seed


# ---------------------------------------------------------------- corpus properties

_MONTH = "|".join(V.MONTHS + V.MONTHS_SHORT + V.MONTHS_SHORT_ALT)
_WEEKDAY = "|".join(V.WEEKDAYS + V.WEEKDAYS_SHORT)
_AFTER_DATE = re.compile(
    rf"^(?:[-/]\d|\.\d|[ ]?(?:t/m|tm|tot(?: en met)?|-|–)[ ]?\d{{1,2}}(?![:.uh]?\d)"
    rf"(?![ ]?(?:mg|ml|kg|mmol))|[ ](?:{_MONTH})\b|[ ](?:\d{{4}}|'\d{{2}})\b(?![:.,])"
    rf")"
)
_BEFORE_DATE = re.compile(
    rf"(?:\b(?:{_WEEKDAY})\.?,?[ ]|\d[-/]"
    # a range start left outside ("12 t/m "), but not a clock time or a frequency before it
    rf"|(?<![:.]\d)(?<!dd )(?<!dd)\d[ ]?(?:t/m|tot(?: en met)?|-|–)[ ]?)$"
)
_AFTER_STREET = re.compile(r"^(?:\s?bus\s?\d|[a-dA-D]\b|-(?:[IVX]+|\d)|/\d|\s(?:hs|bis|huis)\b)")
_BEFORE_PLACE = re.compile(r"\b\d{4}(?:\s?[A-Z]{2})?\s$")
_CODE = re.compile(
    r"^(?:[A-Z]\d{2}(?:\.\d{1,2})?|[A-Z]\d{2}[A-Z]{2}\d{2}|[A-Z]\d{2}(?:\.\d{2})?|\d{6,18}"
    r"|\d{3,5}-\d|[A-Z0-9]{2,6}(?: .+)?)$"
)


def _where(item: SyntheticNote, start: int) -> str:
    return f"{item.note.note_id}@{start}"


def test_annotations_are_trimmed_disjoint_and_never_touch_phi() -> None:
    totals = dict.fromkeys(ANNOTATION_KINDS, 0)
    for item in both_splits():
        text = item.note.text
        phi_mask = bytearray(len(text))
        for span in item.spans:
            phi_mask[span.start : span.end] = b"\x01" * span.length
        assert set(item.annotations) == set(ANNOTATION_KINDS)
        for kind, ranges in item.annotations.items():
            totals[kind] += len(ranges)
            previous = 0
            for start, end in ranges:
                in_order = previous <= start < end <= len(text)
                trimmed = text[start:end] == text[start:end].strip()
                clear_of_phi = phi_mask.find(1, start, end) == -1
                assert in_order and trimmed and clear_of_phi, (kind, _where(item, start))
                previous = end
    assert all(count > 300 for count in totals.values()), totals


def test_quantities_and_codes_have_their_shape() -> None:
    # A table's unit column is annotated cell by cell: a unit alone is part of a quantity.
    units = {unit for analyte in Q.ANALYTES for unit in (*analyte[1], *analyte[2])}
    shape = re.compile(r"\d|\b(?:I|II|III|IV|IIa|IIb|[ABC])\b")
    for item in both_splits():
        text = item.note.text
        for start, end in item.annotations[QUANTITIES]:
            ok = text[start:end] in units or bool(shape.search(text[start:end]))
            assert ok, _where(item, start)
        for start, end in item.annotations[CODES]:
            ok = bool(_CODE.match(text[start:end]))
            assert ok, _where(item, start)
        for start, end in item.annotations[SENTENCE_INITIAL]:
            word = text[start:end]
            ok = word[0].isupper() and word[1:] == word[1:].lower()
            assert ok, _where(item, start)


def test_gold_spans_cover_whole_expressions() -> None:
    checked = {"Date": 0, "ID": 0, "street": 0, "name": 0}
    problems: list[tuple[str, str, str]] = []
    for item in both_splits():
        text = item.note.text
        metadata = item.note.metadata.patient
        assert metadata is not None
        given = "|".join(
            re.escape(g) for g in [*(metadata.given_names or "").split(), metadata.initials or ""]
        )
        for span in item.spans:
            before, after = text[: span.start], text[span.end :]
            checks: dict[str, bool] = {
                "glued before": span.start > 0 and text[span.start - 1].isalnum(),
                "glued after": span.end < len(text) and text[span.end].isalnum(),
            }
            if span.label == "Date":
                checked["Date"] += 1
                checks["date continues"] = bool(_AFTER_DATE.match(after))
                checks["date starts earlier"] = bool(_BEFORE_DATE.search(before))
            if span.label.startswith("ID:"):
                checked["ID"] += 1
                checks["id prefix left"] = bool(re.search(r"[A-Za-z0-9][-./]$", before))
                checks["id suffix left"] = bool(re.match(r"^[-./]?[A-Za-z0-9]", after))
            if span.label.startswith("Address_Location"):
                value = text[span.start : span.end]
                if re.search(r"\d", value) and not re.match(r"^\d{4}", value):
                    checked["street"] += 1
                    checks["house number suffix left"] = bool(_AFTER_STREET.match(after))
                checks["postcode left"] = bool(_BEFORE_PLACE.search(before))
            if span.label == "Name:Patient" and given:
                checked["name"] += 1
                checks["given name left"] = bool(re.match(rf"^,\s*(?:{given})(?!\w)", after))
            problems += [
                (name, span.label, _where(item, span.start)) for name, bad in checks.items() if bad
            ]
    assert not problems, problems[:10]
    assert all(count > 100 for count in checked.values()), checked


def _label_key(text: str) -> str:
    return text.casefold()


def test_heldout_field_labels_never_appear_in_train_notes() -> None:
    train_templates, heldout_templates = F.template_label_sets()
    train_labels = {
        _label_key(item.note.text[s:e])
        for item in corpus("train")
        for s, e in item.annotations[FIELD_LABELS]
    }
    heldout_labels = {
        _label_key(item.note.text[s:e])
        for item in corpus("heldout", 250)
        for s, e in item.annotations[FIELD_LABELS]
    }
    heldout_only = heldout_labels - train_templates
    assert len(heldout_only) > 300, len(heldout_only)
    assert not heldout_only & train_labels, len(heldout_only & train_labels)
    # Composed labels land on the side their text hashes to.
    composed_train = train_labels - train_templates
    assert len(composed_train) > 1000
    assert not any(is_heldout(label) for label in composed_train)
    assert all(is_heldout(label) for label in heldout_only - heldout_templates)


@pytest.mark.parametrize("category", sorted(F.BASE))
@pytest.mark.parametrize("split", ["train", "heldout"])
def test_field_label_vocabulary_is_large_and_split(category: str, split: str) -> None:
    rng = random.Random(category)
    labels = {F.field_label(rng, split, category) for _ in range(400)}  # type: ignore[arg-type]
    assert len(labels) > 100, len(labels)
    for label in labels:
        assert F.label_allowed(label, split)  # type: ignore[arg-type]
        assert label == label.strip() and "\n" not in label and ":" not in label


def test_ordinary_words_are_never_phi_words() -> None:
    words = ordinary_words()
    excluded = phi_words()
    everything = set(words.train) | set(words.heldout)
    assert len(everything) > 30_000
    assert not everything & excluded
    assert not set(words.train) & set(words.heldout)
    for pool in (*V.FIRST_NAMES.values(), *V.SURNAMES.values(), *V.CITIES.values()):
        for value in (*pool.train, *pool.heldout):
            assert value.lower() not in everything


def test_heldout_sentence_initial_words_include_unseen_lexicon_words() -> None:
    heldout_words = set(ordinary_words().heldout)
    train_text_words = {
        word.lower() for item in corpus("train") for word in re.findall(r"\w+", item.note.text)
    }
    unseen = {
        item.note.text[s:e].lower()
        for item in corpus("heldout", 250)
        for s, e in item.annotations[SENTENCE_INITIAL]
        if item.note.text[s:e].lower() in heldout_words
    }
    # Held-out notes open sentences with ordinary words that no train note contains at all.
    assert len(unseen - train_text_words) > 50


def test_doc_types_and_gold_jsonl_annotations(tmp_path: Path) -> None:
    notes = corpus("train")
    assert {item.doc_type for item in notes} == set(DOC_TYPES)
    assert set(DOC_TYPES) >= NEW_TYPES
    path = tmp_path / "gold.jsonl"
    assert write_gold_jsonl(path, notes[:30]) == 30
    for line, item in zip(path.read_text(encoding="utf-8").splitlines(), notes, strict=False):
        record = json.loads(line)
        for kind in ANNOTATION_KINDS:
            assert [(a["start"], a["end"]) for a in record[kind]] == item.annotations[kind]


def test_dates_without_year_ranges_and_weekdays_occur() -> None:
    forms = {"no_year": 0, "range": 0, "weekday": 0, "caps_name": 0, "listed_name": 0}
    for item in corpus("train"):
        text = item.note.text
        for span in item.spans:
            value = text[span.start : span.end]
            if span.label == "Date":
                forms["no_year"] += not re.search(
                    r"\d{4}|'\d{2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2}", value
                )
                forms["range"] += bool(re.search(r"\d\s*(?:t/m|tm|tot|–|-)\s*\d", value)) and (
                    len(re.findall(r"\d+", value)) >= 2
                )
                forms["weekday"] += bool(re.match(rf"(?:{_WEEKDAY})\b", value))
            if span.label.startswith("Name:"):
                forms["caps_name"] += value.isupper() and len(value) > 3
                forms["listed_name"] += ", " in value
    assert all(count > 20 for count in forms.values()), forms

"""Guards a researcher relies on: quantities stay, dates are whole, no fragment is left.

Tables of (text -> expected final spans) through :func:`postprocess`, and of (text -> released
text) through replacement, plus hypothesis properties. All text is synthetic.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deid_pipeline.labels import DEFAULT_ENTITY_LABELS
from deid_pipeline.notes import Note
from deid_pipeline.postprocess import (
    complete_dates,
    complete_fragments,
    guard_protected,
    postprocess,
    unclaimed,
)
from deid_pipeline.recognizers.dates import find_date_expressions
from deid_pipeline.recognizers.quantities import find_protected_quantities, protected_ranges
from deid_pipeline.replace import (
    ReplacementPolicy,
    SecretKey,
    apply_replacements,
    date_shift_days,
    render_replacements,
    shift_date_text,
)
from deid_pipeline.spans import Span, check_spans

SECRET = SecretKey(b"unit-test-secret-key-0123456789-abcdefghij")
TAGS = ReplacementPolicy()
SURROGATES = ReplacementPolicy(mode="surrogates")

NP, NC, DATE, CD, IDP = "Name:Patient", "Name:Caregiver", "Date", "Contactdetails", "ID:Patient"
AP, AO, AB, OH = (
    "Address_Location:Patient",
    "Address_Location:Other",
    "Age_Birthdate",
    "Organization:Healthcare",
)


def _covered(ranges: list[tuple[int, int]], start: int, end: int) -> bool:
    return all(any(s <= i < e for s, e in ranges) for i in range(start, end))


# --------------------------------------------------------------------------- quantities

PROTECTED_CASES = [
    # (text, substrings whose every character is protected)
    ("enoxaparine 0,4 ml sc", ["0,4 ml"]),
    ("haloperidol 0,5 mg zn", ["0,5 mg"]),
    ("paracetamol 4dd 1000 mg", ["4dd 1000 mg"]),
    ("dosering 2-3 mg per dag", ["2-3 mg"]),
    ("metoprolol 2 dd 500 mg, schema 1-0-1", ["2 dd 500 mg", "1-0-1"]),
    ("3dd1 tablet en 2x/dag zalf, 2 x per dag", ["3dd1 tablet", "2x/dag", "2 x per dag"]),
    ("glucose 12.5 mmol/l", ["glucose 12.5 mmol/l"]),
    ("kreatinine 85 µmol/L", ["kreatinine 85 µmol/L"]),
    ("leuco 12,3 x10^9/l", ["leuco 12,3 x10^9/l"]),
    ("Hb 7.2, Na 140, K 4,1, CRP: 45, eGFR >60", ["Hb 7.2", "Na 140", "K 4,1", "CRP: 45"]),
    ("insuline 8 E, heparine 5000 IE, 5 E/l", ["8 E", "5000 IE", "5 E/l"]),
    ("RR 120/80 mmHg, pols 72/min", ["RR 120/80 mmHg", "pols 72/min"]),
    ("T 38,2 en sat 96% bij 2 l/min", ["T 38,2", "sat 96%", "2 l/min"]),
    ("temp 37.8 °C, BMI 22,4 kg/m2", ["temp 37.8 °C", "BMI 22,4 kg/m2"]),
    ("ECOG 1, VAS 7/10, GCS E4M6V5", ["ECOG 1", "VAS 7/10", "GCS E4M6V5"]),
    ("NYHA II, MMSE 24/30, Apgar 9/10", ["NYHA II", "MMSE 24/30", "Apgar 9/10"]),
    ("NYHA klasse III, ASA II, Child-Pugh B", ["NYHA klasse III", "ASA II", "Child-Pugh B"]),
    ("Apgar 8/9/10 en kracht 4/5", ["Apgar 8/9/10", "kracht 4/5"]),
    ("controle om 14:30, 14.30 uur", ["14:30", "14.30 uur"]),
    ("terug 8u30 of om 9 uur, rond 14.30", ["8u30", "9 uur", "14.30"]),
    ("van 10:15-11:00 op de poli", ["10:15", "11:00"]),
    ("S: moe\nO/ bleek\n  E: griep\nP: rust", ["S:", "O/", "E:", "P:"]),
    ("sinds 3-4 weken klachten", ["3-4 weken"]),
    ("1/2 tablet voor de nacht", ["1/2 tablet"]),
    ("CA 19-9 443,3 U/ml", ["CA 19-9", "443,3 U/ml"]),
    ("CK 3307 U/l (ref 0 - 170), Hb (8.5 - 11.0)", ["0 - 170", "(8.5 - 11.0)"]),
    ("ery's 4.8 x10^12/l 4.2-5.5, CRP <5, trop > 353", ["4.2-5.5", "<5", "> 353"]),
    ("SNAQ-score 2, ECOG-PS 0, Hoehn en Yahr 3", ["SNAQ-score 2", "ECOG-PS 0", "Hoehn en Yahr 3"]),
    ("tussen 6 en 14 mmol/l, q6h, 36.5 ºC", ["6 en 14 mmol/l", "q6h", "36.5 ºC"]),
    ("controle:11:20 uur, start:15u30", ["11:20 uur", "15u30"]),
    ("pijn 7/10, graad 2/6, visus 10/10", ["pijn 7/10", "graad 2/6", "visus 10/10"]),
    ("insuline 8E s.c., daarna 12 E", ["8E", "12 E"]),
]


@pytest.mark.parametrize(("text", "protected"), PROTECTED_CASES)
def test_protected_quantities(text: str, protected: list[str]) -> None:
    ranges = protected_ranges(text)
    for part in protected:
        start = text.index(part)
        assert _covered(ranges, start, start + len(part)), part


NOT_PROTECTED_CASES = [
    # PHI-shaped numbers, ages and plain text are no quantity
    "Tel 06-12345678, BSN 123456782",
    "IBAN NL91 ABNA 0417 1643 00 of BE 71 0961 2345 6769",
    "Woont Dorpsstraat 12 E, 1234 AB Amsterdam",
    "Patiënt is 92 jaar, 45-jarige man",
    "Gezien op 12.03 en na 12/3 weer, versie 3.11",
    "Mevr. Jansen kwam op controle.",
    "S is een letter midden in een zin: O/ ook",
    # ids, addresses and dates next to keywords or unit-like letters
    "EPD-nr: P20766821, Ordernummer: 22M301473, Labnummer: T22-18962",
    "Adres: Molensteeg 3 - 6107 CC Veendam, Beatrixkaai 7d",
    "bij pijn\t02-10-18, bij pijn\t19/10, bij pijn     6/7, fase:\t28-04",
    "echo van dinsdag 29/X, van 23.12 - 01.01",
    # the Dutch ordinal is no unit "e": a place name, a care level
    "Huisartsenpraktijk 2e Exloërmond, verwezen door de 3e lijn",
]


@pytest.mark.parametrize("text", NOT_PROTECTED_CASES)
def test_not_protected(text: str) -> None:
    found = find_protected_quantities(text)
    assert [(q.start, q.end) for q in found] == []


def test_quantity_kinds() -> None:
    text = "RR 120/80, Hb 7.2, ECOG 1, 14:30, 5 mg, 1-0-1\nS: x"
    kinds = {q.kind for q in find_protected_quantities(text)}
    assert kinds == {"vital", "lab", "score", "time", "measure", "dose", "soap"}


# --------------------------------------------------------------------------- date grammar

DATE_EXPRESSION_CASES = [
    # (text, [(expression, standalone)])
    ("op 03-03-2024 en 9/2/2025", [("03-03-2024", True), ("9/2/2025", True)]),
    ("controle (24/2) en 3 mrt. weer", [("24/2", True), ("3 mrt.", True)]),
    ("gezien ma 3/3 en maandag 3 maart 2024", [("ma 3/3", True), ("maandag 3 maart 2024", True)]),
    ("opname 12-14 maart 2024", [("12-14 maart 2024", True)]),
    ("vakantie 3 t/m 7 juni", [("3 t/m 7 juni", True)]),
    ("van 28 feb - 3 mrt 2024", [("28 feb - 3 mrt 2024", True)]),
    ("van 3/3 - 7/3/2024", [("3/3 - 7/3/2024", True)]),
    ("van 12 t/m 14-03-2024", [("12 t/m 14-03-2024", True)]),
    ("van 28 dec t/m 3 jan 2024", [("28 dec t/m 3 jan 2024", True)]),
    ("op 3 en 4 juni", [("3 en 4 juni", True)]),
    ("sinds 03-2024 en maart 2024", [("03-2024", True), ("maart 2024", True)]),
    ("op 24.2 gezien", [("24.2", False)]),
    # scores, pressures, doses, fractions and clock times are no dates
    ("VAS 7/10, RR 120/80, MMSE 24/30, Apgar 9/10", []),
    ("1/2 tablet, 2-3 mg, 24/7 zorg, 1-2000 mg", []),
    ("Apgar 8/9/10 en kracht 4/5", []),
    ("sinds 10-12 jaar, 2-3 glazen per dag, 2/3 van de patiënten", []),
    ("pijn 7/10, score 4/10, 9/10 in de tabel", [("9/10", False)]),
    ("op 7/10 gezien, controle 3/10", [("7/10", True), ("3/10", True)]),
    (
        "echo dinsdag 29/X, lab 31/XII/2025, 3-III-2024",
        [("dinsdag 29/X", True), ("31/XII/2025", True), ("3-III-2024", True)],
    ),
    ("Dorpsstraat 12-II", []),
    ("van 23.12 - 01.01 en 4.2 - 5.5", [("23.12 - 01.01", False)]),
    ("2 dd 1 t/m 30 dec", [("30 dec", True)]),
    ("24 dec      2548 en 1 januari   2016", [("24 dec", True), ("1 januari", True)]),
    ("maandag.\n\n20-12-25", [("20-12-25", True)]),
    ("om 10:15-11:00 en Hb 24.2", []),
    ("Op 12/03-2024 gezien. Op 30 februari. Versie 3.11.12", []),
]


@pytest.mark.parametrize(("text", "expected"), DATE_EXPRESSION_CASES)
def test_date_expressions(text: str, expected: list[tuple[str, bool]]) -> None:
    found = find_date_expressions(text, protected_ranges(text))
    assert [(text[e.start : e.end], e.standalone) for e in found] == expected


# --------------------------------------------------------------------------- final spans


def _note(text: str, metadata: dict[str, Any] | None = None) -> Note:
    return Note.model_validate(
        {"note_id": "n1", "text": text, "patient_id": "p1", "metadata": metadata or {}}
    )


def _model(text: str, found: list[tuple[str, str]]) -> list[Span]:
    spans = []
    for part, label in found:
        start = text.index(part)
        spans.append(Span(start, start + len(part), label, 0.9, "model"))
    return spans


FINAL_CASES: list[tuple[str, list[tuple[str, str]], list[tuple[str, str]]]] = [
    # (text, model spans as (substring, label), final spans as (substring, label))
    # 1. quantities are never covered by a model span
    ("enoxaparine 0,4 ml sc", [("0", CD)], []),
    ("haloperidol 0,5 mg", [("0,5", IDP)], []),
    ("haloperidol 0,5 mg", [("haloperidol 0,5 mg", OH)], []),
    ("Gezien door Jansen 5 mg", [("Jansen 5", NC)], [("Jansen", NC)]),
    ("RR 120/80 mmHg, pols 72/min", [("120/80", DATE), ("72", DATE)], []),
    ("VAS 7/10 en MMSE 24/30", [("7/10", DATE), ("24/30", DATE)], []),
    ("GCS E4M6V5, NYHA II, ECOG 1", [("E4M6V5", IDP), ("NYHA II", OH), ("1", IDP)], []),
    ("om 14:30 en om 9 uur", [("14:30", DATE), ("9 uur", DATE)], []),
    ("gezien 03-03-2024 14:30", [("03-03-2024 14:30", DATE)], [("03-03-2024", DATE)]),
    ("S: klachten\nO: geen", [("S", NP), ("O", NP)], []),
    ("temp 38,2 °C", [("38", CD)], []),
    # ... unless a pattern claims the characters
    ("bel 06-12345678 mg", [("06", CD)], [("06-12345678", CD)]),
    # 2. a date is covered whole, never in part
    ("Gezien 9/2/2025 door arts", [("2/2025", DATE)], [("9/2/2025", DATE)]),
    ("Gezien 9/2/2025 door arts", [("9", CD)], [("9/2/2025", DATE)]),
    ("Controle (24/2) gepland", [], [("24/2", DATE)]),
    ("Controle (24/2) gepland", [("24", DATE)], [("24/2", DATE)]),
    ("Gezien ma 3/3 op de poli", [("3/3", DATE)], [("ma 3/3", DATE)]),
    ("Opname 12-14 maart 2024 op B3", [("14 maart 2024", DATE)], [("12-14 maart 2024", DATE)]),
    ("Verlof 3 t/m 7 juni", [("7 juni", DATE)], [("3 t/m 7 juni", DATE)]),
    ("op 24.2 gezien", [("24", DATE)], [("24.2", DATE)]),
    ("Hb 24.2 gemeten", [("24", DATE)], []),
    ("geboren 03-03-1950", [("1950", AB)], [("03-03-1950", AB)]),
    # 3. no fragment of an identifier or address
    ("Patientnr PA-123456 bekend", [("123456", IDP)], [("PA-123456", IDP)]),
    ("Nummer BE-7123.456.789 bekend", [("7123", IDP)], [("BE-7123.456.789", IDP)]),
    ("IBAN NL91 ABNA 7417 1643 01.", [("ABNA", IDP)], [("NL91 ABNA 7417 1643 01", IDP)]),
    ("BSN 123 456 789 onjuist", [("456 789", IDP)], [("123 456 789", IDP)]),
    ("mail j.devries@zorg.example.nl svp", [("devries", CD)], [("j.devries@zorg.example.nl", CD)]),
    ("bel +44 7911 1234 56 aub", [("7911", CD)], [("+44 7911 1234 56", CD)]),
    ("Woont Dorpsstraat 12a te Utrecht", [("Dorpsstraat", AP)], [("Dorpsstraat 12a", AP)]),
    ("Woont Dorpsstraat 12-II.", [("Dorpsstraat 12", AP)], [("Dorpsstraat 12-II", AP)]),
    (
        "Woont Kerkstraat 12 bus 3, Gent",
        [("Kerkstraat", AP), ("Gent", AP)],
        [("Kerkstraat 12 bus 3", AP), ("Gent", AP)],
    ),
    ("Woont Meir 5\nTel", [("Meir", AP)], [("Meir 5", AP)]),
    ("In Utrecht 3 jaar gewoond", [("Utrecht", AP)], [("Utrecht", AP)]),
    ("In Utrecht 12 patiënten gezien", [("Utrecht", AP)], [("Utrecht", AP)]),
    ("Dorpsstraat 3 mg", [("Dorpsstraat", AP)], [("Dorpsstraat", AP)]),
    # found on synthetic notes: PHI next to quantity-like text stays whole
    ("Adres: Beatrixkaai 7d, Gent", [("Beatrixkaai 7d", AP)], [("Beatrixkaai 7d", AP)]),
    ("EPD-nr: P20766821 bekend", [("P20766821", IDP)], [("P20766821", IDP)]),
    ("Ordernummer: 26M106365 bekend", [("26M106365", IDP)], [("26M106365", IDP)]),
    ("Adres: 4881 ML Wagenberg", [], [("4881 ML Wagenberg", AO)]),
    ("Adres: Dorpssteenweg 40, 2976 MOL", [], [("2976 MOL", AO)]),
    ("echo van dinsdag 29/X: normaal", [("29", DATE)], [("dinsdag 29/X", DATE)]),
    ("bij pijn\t02-10-18 gestart", [("02-10-18", DATE)], [("02-10-18", DATE)]),
    ("van 23.12 – 01.01 gestopt", [("23.12 – 01.01", DATE)], [("23.12 – 01.01", DATE)]),
    ("Datum fase:\t28-04 gezien", [("28-04", DATE)], [("28-04", DATE)]),
    ("paracetamol 1 g 2 dd 1 t/m 30 dec", [("1 t/m 30 dec", DATE)], [("t/m 30 dec", DATE)]),
]


@pytest.mark.parametrize(("text", "model", "expected"), FINAL_CASES)
def test_final_spans(
    text: str, model: list[tuple[str, str]], expected: list[tuple[str, str]]
) -> None:
    spans = postprocess(_note(text), _model(text, model))
    check_spans(spans, len(text))
    assert [(text[s.start : s.end], s.label) for s in spans] == expected


METADATA = {
    "patient": {"given_names": "Pieter", "surname": "Pols"},
    "caregivers": [{"surname": "Mol"}],
    "known_values": [{"value": "PA-1000", "label": IDP}],
}

METADATA_CASES: list[tuple[str, list[tuple[str, str]], list[tuple[str, str]]]] = [
    # metadata spans are claims: never cut, never dropped, whatever the filters say
    ("pieter pols, pols 72/min", [], [("pieter pols", NP), ("pols", NP)]),
    ("Dr. Mol: 5 mmol/l", [("Mol: 5", NC)], [("Mol", NC)]),
    ("nr PA-1000 mg", [], [("PA-1000", IDP)]),
    # a lower-case model run next to a metadata name is kept (shape filter anchor)
    ("gezien met piet pols", [("piet", NP)], [("piet", NP), ("pols", NP)]),
    ("gezien met glaucoom", [("glaucoom", NP)], []),
]


@pytest.mark.parametrize(("text", "model", "expected"), METADATA_CASES)
def test_metadata_spans_are_never_dropped(
    text: str, model: list[tuple[str, str]], expected: list[tuple[str, str]]
) -> None:
    spans = postprocess(_note(text, METADATA), _model(text, model))
    assert [(text[s.start : s.end], s.label) for s in spans] == expected


def test_guard_drops_fragments_and_keeps_untouched_spans() -> None:
    text = "a 0,4 ml Jansen x"
    protected = protected_ranges(text)
    spans = [Span(2, 5, CD), Span(2, 15, NP), Span(16, 17, NP)]
    assert guard_protected(text, spans, protected) == [Span(9, 15, NP), Span(16, 17, NP)]
    # without the shape rule only the letter/digit count decides
    lower = "a 0,4 ml jansen"
    assert guard_protected(lower, [Span(2, 15, NP)], protected_ranges(lower)) == []
    kept = guard_protected(
        lower, [Span(2, 15, NP)], protected_ranges(lower), require_label_shape=False
    )
    assert kept == [Span(9, 15, NP)]


def test_unclaimed_subtracts_claims() -> None:
    claims = [Span(2, 4, DATE, 1.0, "pattern"), Span(8, 9, NP, 1.0, "metadata")]
    assert unclaimed([(0, 6), (7, 10)], claims) == [(0, 2), (4, 6), (7, 8), (9, 10)]
    assert unclaimed([], claims) == []
    assert unclaimed([(0, 3)], []) == [(0, 3)]


def test_complete_fragments_never_enters_protected_characters() -> None:
    text = "ID 12345/5 mg"
    protected = protected_ranges(text)
    (grown,) = complete_fragments(text, [Span(3, 8, IDP)], protected)
    assert text[grown.start : grown.end] == "12345"


def test_complete_dates_merges_what_grew() -> None:
    text = "op 12-14 maart 2024"
    expressions = find_date_expressions(text)
    spans = [Span(3, 5, DATE), Span(6, 19, DATE, 0.8, "pattern")]
    assert complete_dates(len(text), spans, expressions) == [Span(3, 19, DATE, 0.8, "pattern")]


# --------------------------------------------------------------------------- replacement


def _release(text: str, model: list[tuple[str, str]], policy: ReplacementPolicy) -> str:
    note = _note(text)
    spans = postprocess(note, _model(text, model))
    return apply_replacements(text, spans, patient_key="p1", secret=SECRET, policy=policy)


RELEASE_CASES = [
    # (text, model spans, quantities that must appear verbatim)
    ("enoxaparine 0,4 ml sc", [("0", CD)], ["0,4 ml"]),
    ("haloperidol 0,5 mg zn", [("0,5", IDP)], ["0,5 mg"]),
    ("RR 120/80 mmHg, pols 72/min", [("120/80", IDP), ("72", CD)], ["120/80 mmHg", "72/min"]),
    ("VAS 7/10 op 03-03-2024", [("7/10", DATE)], ["VAS 7/10"]),
    ("GCS E4M6V5 om 14:30", [("E4M6V5", IDP), ("14:30", DATE)], ["E4M6V5", "14:30"]),
    ("Jansen 2 dd 500 mg", [("Jansen 2", NP)], ["2 dd 500 mg"]),
]


@pytest.mark.parametrize("policy", [TAGS, SURROGATES], ids=["tags", "surrogates"])
@pytest.mark.parametrize(("text", "model", "kept"), RELEASE_CASES)
def test_quantities_survive_replacement(
    text: str, model: list[tuple[str, str]], kept: list[str], policy: ReplacementPolicy
) -> None:
    out = _release(text, model, policy)
    for quantity in kept:
        assert quantity in out


SHIFTED_DATE_CASES = [
    # (text, model spans, the whole date expression): released as the shifted whole
    ("Gezien 9/2/2025 door arts", [("2/2025", DATE)], "9/2/2025"),
    ("Controle (24/2) gepland", [], "24/2"),
    ("Gezien ma 3/3 op de poli", [("3/3", DATE)], "ma 3/3"),
    ("Opname 12-14 maart 2024 gehad", [("14 maart 2024", DATE)], "12-14 maart 2024"),
    ("Verlof 3 t/m 7 juni gepland", [], "3 t/m 7 juni"),
    ("Van 28 feb - 3 mrt 2024 weg", [], "28 feb - 3 mrt 2024"),
    ("Van 3/3 - 7/3/2024 weg", [], "3/3 - 7/3/2024"),
    ("Klachten sinds 03-2024 erger", [], "03-2024"),
    ("Echo dinsdag 29/X normaal", [], "dinsdag 29/X"),
]


@pytest.mark.parametrize("policy", [TAGS, SURROGATES], ids=["tags", "surrogates"])
@pytest.mark.parametrize(("text", "model", "whole"), SHIFTED_DATE_CASES)
def test_dates_are_shifted_whole(
    text: str, model: list[tuple[str, str]], whole: str, policy: ReplacementPolicy
) -> None:
    shifted = shift_date_text(whole, date_shift_days(SECRET, "p1", policy))
    assert shifted is not None
    assert _release(text, model, policy) == text.replace(whole, shifted)


# --------------------------------------------------------------------------- properties

_QUANTITIES = [
    "0,4 ml", "0,5 mg", "2-3 mg", "1000 mg", "3dd", "2x/dag", "12,5 mmol/l", "85 µmol/L",
    "12,3 x10^9/l", "120/80 mmHg", "72/min", "38,2 °C", "96%", "24,3 kg/m2", "5 E/l",
    "RR 120/80", "pols 72/min", "T 38,2", "sat 96%", "ECOG 1", "VAS 7/10", "GCS E4M6V5",
    "NYHA II", "MMSE 24/30", "Apgar 9/10", "14:30", "14.30 uur", "8u30", "9 uur", "Hb 7.2",
    "2 dd 500 mg", "1-0-1", "1/2 tablet", "3-4 weken",
]  # fmt: skip
_WORDS = ["patient", "kreeg", "Jansen", "zorg", "gezien", "de", "en", "Utrecht", "dosis", "tel"]
_LABELS = st.sampled_from(DEFAULT_ENTITY_LABELS)


@st.composite
def _note_with_quantities(draw: st.DrawFn) -> tuple[str, list[str], list[Span]]:
    pieces: list[str] = []
    inserted: list[str] = []
    for _ in range(draw(st.integers(1, 8))):
        if draw(st.booleans()):
            quantity = draw(st.sampled_from(_QUANTITIES))
            inserted.append(quantity)
            pieces.append(quantity)
        else:
            pieces.append(draw(st.sampled_from(_WORDS)))
        pieces.append(draw(st.sampled_from([" ", ", ", "; ", "\n", " en "])))
    text = "".join(pieces)
    spans = []
    for _ in range(draw(st.integers(0, 6))):
        start = draw(st.integers(0, len(text) - 1))
        end = draw(st.integers(start + 1, min(len(text), start + 25)))
        spans.append(Span(start, end, draw(_LABELS), draw(st.sampled_from([0.5, 0.9])), "model"))
    return text, inserted, spans


def _gaps(text: str, spans: list[Span]) -> list[str]:
    out, position = [], 0
    for span in spans:
        out.append(text[position : span.start])
        position = span.end
    out.append(text[position:])
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=_note_with_quantities(), shape=st.booleans())
def test_quantities_survive_any_model_spans(
    case: tuple[str, list[str], list[Span]], shape: bool
) -> None:
    text, inserted, model = case
    spans = postprocess(_note(text), model, require_label_shape=shape)
    check_spans(spans, len(text))
    protected = protected_ranges(text)
    for span in spans:
        assert not any(s < span.end and span.start < e for s, e in protected)
    gaps = _gaps(text, spans)
    for policy in (TAGS, SURROGATES):
        out = apply_replacements(text, spans, patient_key="p1", secret=SECRET, policy=policy)
        for quantity in inserted:
            assert quantity in out
        # Every character outside the final spans, digits included, is unchanged and in place:
        # the output is the gaps with the replacements between them.
        replacements = render_replacements(
            text, spans, patient_key="p1", secret=SECRET, policy=policy
        )
        expected = [gaps[0]]
        for replacement, gap in zip(replacements, gaps[1:], strict=True):
            expected += [replacement, gap]
        assert out == "".join(expected)
    # order independence of the whole post-processing
    assert postprocess(_note(text), list(reversed(model)), require_label_shape=shape) == spans


_DATES = ["9/2/2025", "(24/2)", "ma 3/3", "12-14 maart 2024", "3 t/m 7 juni", "3 mrt.", "24.2"]


@st.composite
def _note_with_dates(draw: st.DrawFn) -> tuple[str, list[Span]]:
    pieces = []
    for _ in range(draw(st.integers(1, 6))):
        pieces.append(draw(st.sampled_from([*_DATES, *_QUANTITIES[:10], *_WORDS])))
        pieces.append(" ")
    text = "".join(pieces)
    spans = []
    for _ in range(draw(st.integers(0, 5))):
        start = draw(st.integers(0, len(text) - 1))
        end = draw(st.integers(start + 1, min(len(text), start + 8)))
        spans.append(Span(start, end, draw(st.sampled_from([DATE, AB, NP])), 0.9, "model"))
    return text, spans


@settings(max_examples=300, deadline=None)
@given(case=_note_with_dates())
def test_no_date_expression_is_covered_in_part(case: tuple[str, list[Span]]) -> None:
    text, model = case
    spans = postprocess(_note(text), model)
    expressions = find_date_expressions(text, protected_ranges(text))
    for span in spans:
        if span.label not in (DATE, AB):
            continue
        for expression in expressions:
            if expression.start < span.end and span.start < expression.end:
                assert span.start <= expression.start and expression.end <= span.end


@settings(max_examples=200, deadline=None)
@given(case=_note_with_quantities())
def test_metadata_names_are_always_covered(case: tuple[str, list[str], list[Span]]) -> None:
    text, _, model = case
    text = "pieter pols " + text + " Pols"
    shift = len("pieter pols ")
    model = [Span(s.start + shift, s.end + shift, s.label, s.score, s.source) for s in model]
    spans = postprocess(_note(text, METADATA), model)
    for start, end in ((0, len("pieter pols")), (len(text) - 4, len(text))):
        assert any(s.start <= start and end <= s.end for s in spans)

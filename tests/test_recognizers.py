"""Recognizers: metadata names/values/birth dates and text patterns, as (text, expected) tables."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deid_pipeline.notes import NoteMetadata
from deid_pipeline.recognizers import (
    find_metadata_spans,
    find_pattern_spans,
    is_valid_be_national_number,
    is_valid_bsn,
    is_valid_iban,
)
from deid_pipeline.spans import Span, check_spans

PATIENT: dict[str, Any] = {
    "given_names": "Jan Pieter",
    "surname": "van der Vries",
    "initials": "J.P.",
    "birth_date": "1950-03-03",
}
CAREGIVER: dict[str, Any] = {"given_names": "Anna", "surname": "Bakker-de Boer"}


def _found(text: str, spans: list[Span]) -> list[tuple[str, str]]:
    check_spans(spans, len(text))
    return [(text[s.start : s.end], s.label) for s in spans]


def _metadata(**overrides: Any) -> NoteMetadata:
    data: dict[str, Any] = {"patient": PATIENT, "caregivers": [CAREGIVER]}
    data.update(overrides)
    return NoteMetadata.model_validate(data)


# --------------------------------------------------------------------------- metadata names

P, C = "Name:Patient", "Name:Caregiver"

NAME_CASES = [
    ("Jan Pieter van der Vries kwam op controle.", [("Jan Pieter van der Vries", P)]),
    ("Dhr. J.P. van der Vries, 74 jaar.", [("J.P. van der Vries", P)]),
    ("Gezien: dhr. JP van der Vries", [("JP van der Vries", P)]),
    ("Brief aan J. van der Vries.", [("J. van der Vries", P)]),
    ("Brief aan J. v.d. Vries.", [("J. v.d. Vries", P)]),
    ("Mevr. Van der Vries belde.", [("Van der Vries", P)]),
    ("Patiënt Vries is bekend.", [("Vries", P)]),
    ("dhr.  J.P.   van  der   Vries", [("J.P.   van  der   Vries", P)]),
    ("J.P.M. van der Vries", [("J.P.M. van der Vries", P)]),
    ("Vries, J.P. (patiënt)", [("Vries, J.P.", P)]),
    ("JAN PIETER VAN DER VRIES", [("JAN PIETER VAN DER VRIES", P)]),
    ("Pieter is moe.", [("Pieter", P)]),
    ("Dr. Bakker-de Boer, internist.", [("Bakker-de Boer", C)]),
    ("Dokter A. Bakker belt terug.", [("A. Bakker", C)]),
    ("Overleg met zuster De Boer.", [("De Boer", C)]),
    ("Anna Bakker-de Boer", [("Anna Bakker-de Boer", C)]),
    # Common-word rule: lowercase everyday words alone are skipped, capitalised ones match.
    ("Hij ging naar de bakker en de boer.", []),
    ("Hij ging naar Bakker.", [("Bakker", C)]),
    ("Geen naam in deze zin.", []),
]


@pytest.mark.parametrize(("text", "expected"), NAME_CASES)
def test_metadata_names(text: str, expected: list[tuple[str, str]]) -> None:
    spans = find_metadata_spans(text, _metadata())
    assert _found(text, spans) == expected
    assert all(s.source == "metadata" and s.score == 1.0 for s in spans)


def test_registry_order_surname_and_in_t_particle() -> None:
    metadata = NoteMetadata.model_validate(
        {"patient": {"given_names": "Kees", "surname": "Veld, in 't"}}
    )
    text = "Kees in 't Veld en later In ’t Veld."
    assert _found(text, find_metadata_spans(text, metadata)) == [
        ("Kees in 't Veld", P),
        ("In ’t Veld", P),
    ]


def test_patient_wins_over_caregiver_with_same_surname() -> None:
    metadata = NoteMetadata.model_validate(
        {
            "patient": {"given_names": "Jan", "surname": "Jansen"},
            "caregivers": [{"given_names": "Els", "surname": "Jansen"}],
        }
    )
    text = "Mevr. Jansen en Els Jansen."
    assert _found(text, find_metadata_spans(text, metadata)) == [
        ("Jansen", P),
        ("Els Jansen", C),
    ]


def test_no_metadata_no_spans() -> None:
    assert find_metadata_spans("Jan de Vries 06-12345678", NoteMetadata()) == []


# --------------------------------------------------------------------------- known values

KNOWN_CASES = [
    ("06-12345678", "Contactdetails", "Bel 06 1234 5678 svp", "06 1234 5678"),
    ("06-12345678", "Contactdetails", "Bel 0612345678.", "0612345678"),
    ("06-12345678", "Contactdetails", "Bel +31 6 12345678.", "+31 6 12345678"),
    ("06-12345678", "Contactdetails", "Bel 06.12.34.56.78.", "06.12.34.56.78"),
    ("123456782", "ID:Patient", "Nr 123.456.782 bekend", "123.456.782"),
    ("Kerkstraat 12", "Address_Location:Patient", "woont kerkstraat 12.", "kerkstraat 12"),
    ("NL91ABNA0417164300", "ID:Patient", "iban NL91 ABNA 0417 1643 00", "NL91 ABNA 0417 1643 00"),
]


@pytest.mark.parametrize(("value", "label", "text", "expected"), KNOWN_CASES)
def test_known_values_tolerate_separators(value: str, label: str, text: str, expected: str) -> None:
    metadata = NoteMetadata.model_validate({"known_values": [{"value": value, "label": label}]})
    assert _found(text, find_metadata_spans(text, metadata)) == [(expected, label)]


def test_known_value_not_inside_longer_number() -> None:
    metadata = NoteMetadata.model_validate(
        {"known_values": [{"value": "12345", "label": "ID:Patient"}]}
    )
    assert find_metadata_spans("ref 9123456 en 123456", metadata) == []


# --------------------------------------------------------------------------- birth date


@pytest.mark.parametrize(
    "written",
    ["03-03-1950", "3-3-1950", "03/03/1950", "03.03.1950", "3 maart 1950", "3 mrt. 1950",
     "03-03-'50", "1950-03-03", "3 Maart 1950"],
)  # fmt: skip
def test_birth_date_formats(written: str) -> None:
    text = f"Geboren {written}, opgenomen."
    assert _found(text, find_metadata_spans(text, _metadata())) == [(written, "Age_Birthdate")]


@pytest.mark.parametrize("other", ["04-03-1950", "03-03-1951", "3 april 1950", "13-03-1950"])
def test_other_dates_are_not_the_birth_date(other: str) -> None:
    assert find_metadata_spans(f"Gezien {other}.", _metadata()) == []


# --------------------------------------------------------------------------- patterns

CD, IDP, ADDR, DATE = "Contactdetails", "ID:Patient", "Address_Location:Other", "Date"

PATTERN_CASES = [
    # e-mail and URL
    ("Mail j.devries@example.nl aub", [("j.devries@example.nl", CD)]),
    ("Zie https://www.example.org/a?b=1.", [("https://www.example.org/a?b=1", CD)]),
    ("Zie www.ziekenhuis.nl.", [("www.ziekenhuis.nl", CD)]),
    # Dutch phone numbers
    ("Tel 06-12345678.", [("06-12345678", CD)]),
    ("Tel 06 1234 5678.", [("06 1234 5678", CD)]),
    ("Tel 0612345678.", [("0612345678", CD)]),
    ("Tel +31 6 12345678.", [("+31 6 12345678", CD)]),
    ("Tel +31 (0)6 12345678.", [("+31 (0)6 12345678", CD)]),
    ("Tel 0031 20 1234567.", [("0031 20 1234567", CD)]),
    ("Tel 020-1234567.", [("020-1234567", CD)]),
    ("Tel 010 123 4567.", [("010 123 4567", CD)]),
    ("Tel (030) 123 45 67.", [("(030) 123 45 67", CD)]),
    # Belgian phone numbers
    ("Tel +32 470 12 34 56.", [("+32 470 12 34 56", CD)]),
    ("Tel 0470 12 34 56.", [("0470 12 34 56", CD)]),
    ("Tel 03/123 45 67.", [("03/123 45 67", CD)]),
    ("Tel 02 123 45 67.", [("02 123 45 67", CD)]),
    # BSN (11-proof)
    ("BSN 123456782.", [("123456782", IDP)]),
    ("BSN: 123.456.782", [("123.456.782", IDP)]),
    ("BSN 1234.56.782", [("1234.56.782", IDP)]),
    ("BSN 123 456 782", [("123 456 782", IDP)]),
    ("BSN 123456789", []),
    ("BSN 000000000", []),
    # Belgian national register number (mod 97, before and from 2000)
    ("RRN 85.07.30-033.28", [("85.07.30-033.28", IDP)]),
    ("RRN 85073003328", [("85073003328", IDP)]),
    ("RRN 01.02.03-123.45", [("01.02.03-123.45", IDP)]),
    ("RRN 85.07.30-033.29", []),
    # IBAN (mod 97)
    ("IBAN NL91 ABNA 0417 1643 00.", [("NL91 ABNA 0417 1643 00", IDP)]),
    ("IBAN NL91ABNA0417164300", [("NL91ABNA0417164300", IDP)]),
    ("IBAN BE71 0961 2345 6769", [("BE71 0961 2345 6769", IDP)]),
    ("IBAN NL91ABNA0417164301", []),
    # postcodes
    ("Adres 1234 AB Amsterdam.", [("1234 AB Amsterdam", ADDR)]),
    ("Postcode 1234AB.", [("1234AB", ADDR)]),
    ("Adres 2000 Antwerpen.", [("2000 Antwerpen", ADDR)]),
    ("Adres B-9000 (België).", [("B-9000", ADDR)]),
    ("In 2019 Jan gezien.", []),
    # numeric dates, with calendar validity
    ("Op 03-03-2024 gezien.", [("03-03-2024", DATE)]),
    ("Op 3-3-24 gezien.", [("3-3-24", DATE)]),
    ("Op 03/03/2024 gezien.", [("03/03/2024", DATE)]),
    ("Op 03.03.2024 gezien.", [("03.03.2024", DATE)]),
    ("Op 2024-03-03 gezien.", [("2024-03-03", DATE)]),
    ("Op 29-02-2024 gezien.", [("29-02-2024", DATE)]),
    ("Op 29-02-2023 gezien.", []),
    ("Op 31-04-2024 gezien.", []),
    ("Op 12/03-2024 gezien.", []),
    # written Dutch dates; the weekday is inside the span
    ("Op 3 maart 2024.", [("3 maart 2024", DATE)]),
    ("Op 3 mrt. 2024.", [("3 mrt. 2024", DATE)]),
    ("Sinds maart 2024.", [("maart 2024", DATE)]),
    ("Op 3 maart gezien.", [("3 maart", DATE)]),
    ("Op maandag 3 maart 2024.", [("maandag 3 maart 2024", DATE)]),
    ("Op di. 12 dec '23.", [("di. 12 dec '23", DATE)]),
    ("Op 30 februari.", []),
    # year-less numeric dates, with a weekday in front, and month-year
    ("Controle (24/2) gepland.", [("24/2", DATE)]),
    ("Opname 3/3, ontslag 7/3.", [("3/3", DATE), ("7/3", DATE)]),
    ("Terug op 21-3.", [("21-3", DATE)]),
    ("Gezien ma 3/3.", [("ma 3/3", DATE)]),
    ("Gezien maandag 03-03-2024.", [("maandag 03-03-2024", DATE)]),
    ("Klachten sinds 03-2024.", [("03-2024", DATE)]),
    ("Op 24.2 gezien.", []),
    ("Op 31/4 gezien.", []),
    # ranges are one date expression
    ("Opname 12-14 maart 2024.", [("12-14 maart 2024", DATE)]),
    ("Verlof 3 t/m 7 juni.", [("3 t/m 7 juni", DATE)]),
    ("Weg 28 feb - 3 mrt 2024.", [("28 feb - 3 mrt 2024", DATE)]),
    ("Weg 3/3 - 7/3/2024.", [("3/3 - 7/3/2024", DATE)]),
    ("Weg 12 t/m 14-03-2024.", [("12 t/m 14-03-2024", DATE)]),
    ("Weg 28 dec t/m 3 jan 2024.", [("28 dec t/m 3 jan 2024", DATE)]),
    ("Op 14-12 maart.", [("12 maart", DATE)]),
    ("Echo op 29/X en 31/XII/2025.", [("29/X", DATE), ("31/XII/2025", DATE)]),
    # a letter pair that is also a unit is a postcode before a known place
    ("Adres 4881 ML Wagenberg.", [("4881 ML Wagenberg", ADDR)]),
    ("Adres 2976 MOL.", [("2976 MOL", ADDR)]),
]


@pytest.mark.parametrize(("text", "expected"), PATTERN_CASES)
def test_patterns(text: str, expected: list[tuple[str, str]]) -> None:
    spans = find_pattern_spans(text)
    assert _found(text, spans) == expected
    assert all(s.source == "pattern" and 0 < s.score <= 1 for s in spans)


HARD_NEGATIVES = [
    "Metoprolol 2 dd 500 mg, schema 1-0-1.",
    "Hb 7.2, glucose 12.5 mmol/l, kreatinine 85 umol/l.",
    "RR 120/80 mmHg, pols 72/min.",
    "Controle om 14:30 uur.",
    "Software versie 3.11.12 geïnstalleerd.",
    "In 2019 geopereerd, in maart opnieuw.",
    "Dosering 1000 IE per dag, 2000 ML infuus.",
    "Score 4/10, VAS 3-4, temperatuur 38.5.",
    "BSN 123456789 is onjuist.",
    "IBAN NL91ABNA0417164301 is onjuist.",
    # scores, blood pressure, doses and fractions are no year-less dates
    "VAS 7/10, NRS 3/10, MMSE 24/30, MoCA 26/30.",
    "Apgar 9/10, Apgar 8/9/10, kracht 4/5, graad 2/6 souffle.",
    "RR 120/80, BD 90/60 mmHg, 1/2 tablet, 3/4 dd, 2-3 mg, 3-4 weken.",
    "Zorg 24/7, dosis 1-2000 mg, pijnscore 6/10.",
    "Controle om 10:15-11:00 uur.",
]


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_hard_negatives(text: str) -> None:
    assert _found(text, find_pattern_spans(text)) == []


# --------------------------------------------------------------------------- validators


@pytest.mark.parametrize(
    ("value", "valid"),
    [("123456782", True), ("123.456.782", True), ("111222333", True), ("123456789", False),
     ("000000000", False), ("12345678", False), ("12345678a", False), ("1234567820", False)],
)  # fmt: skip
def test_is_valid_bsn(value: str, valid: bool) -> None:
    assert is_valid_bsn(value) is valid


@pytest.mark.parametrize(
    ("value", "valid"),
    [("NL91ABNA0417164300", True), ("nl91 abna 0417 1643 00", True),
     ("BE71096123456769", True), ("DE89370400440532013000", True),
     ("NL91ABNA0417164301", False), ("NL91ABNA041716430", False), ("XX00", False)],
)  # fmt: skip
def test_is_valid_iban(value: str, valid: bool) -> None:
    assert is_valid_iban(value) is valid


@pytest.mark.parametrize(
    ("value", "valid"),
    [("85.07.30-033.28", True), ("85073003328", True), ("01.02.03-123.45", True),
     ("85.07.30-033.29", False), ("85.13.30-033.28", False), ("8507300332", False)],
)  # fmt: skip
def test_is_valid_be_national_number(value: str, valid: bool) -> None:
    assert is_valid_be_national_number(value) is valid


# --------------------------------------------------------------------------- properties

_FILLER = st.text(alphabet="abcdefghij klmnop,;", max_size=30)


def _with_check_digit(head: int) -> str:
    """Append the digit that makes an 8-digit head pass the 11-proof ("" if none does)."""
    digits = f"{head:08d}"
    partial = sum(int(d) * w for d, w in zip(digits, range(9, 1, -1), strict=True))
    last = partial % 11
    # A weighted sum of 0 is rejected by the validator (e.g. all zeros), so skip those heads.
    return digits + str(last) if last <= 9 and partial != last else ""


_VALID_BSN = st.integers(1, 99_999_999).map(_with_check_digit).filter(bool)


@settings(max_examples=150, deadline=None)
@given(before=_FILLER, bsn=_VALID_BSN, after=_FILLER)
def test_valid_bsn_found_at_exact_offsets(before: str, bsn: str, after: str) -> None:
    text = f"{before} BSN {bsn} {after}"
    start = len(before) + 5
    assert is_valid_bsn(bsn)
    assert Span(start, start + 9, IDP, 0.95, "pattern") in find_pattern_spans(text)


@settings(max_examples=150, deadline=None)
@given(
    before=_FILLER,
    day=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31)),
    sep=st.sampled_from("-/."),
    after=_FILLER,
)
def test_numeric_dates_found_at_exact_offsets(
    before: str, day: dt.date, sep: str, after: str
) -> None:
    written = f"{day.day:02d}{sep}{day.month:02d}{sep}{day.year}"
    text = f"{before} op {written} {after}"
    start = len(before) + 4
    spans = find_pattern_spans(text)
    assert [(s.start, s.end, s.label) for s in spans] == [(start, start + 10, DATE)]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("0123456789 .-/+()@:aAbBmrtNL\n"), max_size=60))
def test_pattern_spans_are_sorted_disjoint_in_range(text: str) -> None:
    check_spans(find_pattern_spans(text), len(text))

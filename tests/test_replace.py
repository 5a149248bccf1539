"""Replacement: secrets, pseudonyms, date shifting, birthdates, tags, surrogates, text integrity."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from deid_pipeline.labels import DEFAULT_ENTITY_LABELS
from deid_pipeline.notes import Note
from deid_pipeline.recognizers import find_pattern_spans
from deid_pipeline.replace import (
    DEMO_SECRET_KEY,
    MissingSecretError,
    ReplacementPolicy,
    SecretKey,
    apply_replacements,
    date_shift_days,
    deidentify_note,
    load_secret,
    parse_date,
    patient_pseudonym,
    render_replacements,
    shift_date_text,
)
from deid_pipeline.spans import Span
from deid_pipeline.surrogates import normalise_value

SECRET = SecretKey(b"unit-test-secret-key-0123456789-abcdefghij")
OTHER_SECRET = SecretKey(b"another-unit-test-secret-key-0123456789-xyz")
TAGS = ReplacementPolicy()
SURROGATES = ReplacementPolicy(mode="surrogates")


def _spans(text: str, *items: tuple[str, str]) -> list[Span]:
    """Spans for (substring, label) pairs, each at the substring's first occurrence."""
    spans = []
    for substring, label in items:
        start = text.index(substring)
        spans.append(Span(start, start + len(substring), label))
    return sorted(spans)


# --------------------------------------------------------------------------- policy, secrets


def test_policy_defaults_and_validation() -> None:
    policy = ReplacementPolicy()
    assert (policy.mode, policy.number_tags, policy.shift_dates) == ("tags", False, True)
    assert (policy.date_shift_min_days, policy.date_shift_max_days) == (1, 365)
    assert (policy.birthdate, policy.age_group_from) == ("year", 90)
    with pytest.raises(ValidationError):
        ReplacementPolicy(date_shift_min_days=10, date_shift_max_days=5)
    with pytest.raises(ValidationError):
        ReplacementPolicy(date_shift_min_days=0)
    with pytest.raises(ValidationError):
        policy.mode = "surrogates"  # type: ignore[misc]


def test_missing_secret_is_refused_with_actionable_message() -> None:
    with pytest.raises(MissingSecretError, match="DEID_SECRET_KEY is not set"):
        load_secret({})


def test_short_secret_is_refused_without_echoing_it() -> None:
    with pytest.raises(MissingSecretError) as error:
        load_secret({"DEID_SECRET_KEY": "tooshort-secret"}, demo=True)
    assert "tooshort-secret" not in str(error.value)
    assert "32" in str(error.value)


def test_secret_from_env_and_demo_key() -> None:
    raw = "x" * 40
    secret = load_secret({"DEID_SECRET_KEY": raw})
    assert secret.value == raw.encode() and not secret.is_demo
    assert raw not in repr(secret) and raw not in str(secret)
    demo = load_secret({}, demo=True)
    assert demo.is_demo and demo.value == DEMO_SECRET_KEY.encode()
    assert "NOT-FOR-PRODUCTION" in DEMO_SECRET_KEY
    # An explicit key wins over demo mode.
    assert not load_secret({"DEID_SECRET_KEY": raw}, demo=True).is_demo


def test_patient_pseudonym() -> None:
    pseudonym = patient_pseudonym(SECRET, "patient-42")
    assert re.fullmatch(r"p_[0-9a-f]{32}", pseudonym)
    assert pseudonym == patient_pseudonym(SECRET, "patient-42")
    assert pseudonym != patient_pseudonym(SECRET, "patient-43")
    assert pseudonym != patient_pseudonym(OTHER_SECRET, "patient-42")


# --------------------------------------------------------------------------- date shifting


@settings(max_examples=200, deadline=None)
@given(
    patient=st.text(min_size=1, max_size=20),
    low=st.integers(1, 50),
    width=st.integers(0, 400),
)
def test_date_shift_in_range_never_zero_and_stable(patient: str, low: int, width: int) -> None:
    policy = ReplacementPolicy(date_shift_min_days=low, date_shift_max_days=low + width)
    shift = date_shift_days(SECRET, patient, policy)
    assert shift != 0
    assert low <= abs(shift) <= low + width
    assert shift == date_shift_days(SECRET, patient, policy)


def test_date_shift_differs_between_patients_and_uses_both_signs() -> None:
    shifts = {date_shift_days(SECRET, f"p{i}", TAGS) for i in range(50)}
    assert len(shifts) > 40
    assert min(shifts) < 0 < max(shifts)


SHIFT_CASES = [
    # (original, shift, expected): the format of the original is kept
    ("03-03-2024", 10, "13-03-2024"),
    ("3-3-2024", 30, "2-4-2024"),
    ("03/03/2024", -3, "29/02/2024"),
    ("03.03.2024", 365, "03.03.2025"),
    ("3-3-24", 1, "4-3-24"),
    ("03-03-'50", 1, "04-03-'50"),
    ("2024-03-03", -3, "2024-02-29"),
    ("12-03", 1, "13-03"),
    ("3 maart 2024", 31, "3 april 2024"),
    ("3 mrt. 2024", 31, "3 apr. 2024"),
    ("3 mrt 2024", 61, "3 mei 2024"),
    ("Maart 2024", 31, "April 2024"),
    ("maart 2024", -31, "februari 2024"),
    ("3 maart", 1, "4 maart"),
    ("31 dec '23", 1, "1 jan '24"),
    ("zondag 3 maart 2024", 1, "maandag 4 maart 2024"),
    ("Zondag 3 maart 2024", 3, "Woensdag 6 maart 2024"),
    ("ma 4 maart 2024", 7, "ma 11 maart 2024"),
    ("zondag 3 maart", 2, "dinsdag 5 maart"),
    # a weekday before a numeric date, year-less dates, month-year in digits
    ("ma 3/3", 1, "di 4/3"),
    ("ma 3/3/2025", 7, "ma 10/3/2025"),
    ("maandag 03-03-2025", 1, "dinsdag 04-03-2025"),
    ("(24/2)", 5, "(29/2)"),
    ("24.2", 3, "27.2"),
    ("03-2024", 31, "04-2024"),
    ("3/2024", -31, "2/2024"),
    # ranges: both ends move, each in its own format; month or year added where they differ
    ("12-14 maart 2024", 1, "13-15 maart 2024"),
    ("12-14 maart 2024", 18, "30 maart-1 april 2024"),
    ("12-14 maart 2024", -12, "29 februari-2 maart 2024"),
    ("3 t/m 7 juni", 30, "3 t/m 7 juli"),
    ("3 en 4 juni", 1, "4 en 5 juni"),
    ("28 feb - 3 mrt 2024", 1, "29 feb - 4 mrt 2024"),
    ("28 dec t/m 3 jan 2024", 5, "2 jan t/m 8 jan 2024"),
    ("28 dec t/m 3 jan 2024", -5, "23 dec t/m 29 dec 2023"),
    ("30 dec t/m 3 jan 2024", 5, "4 jan t/m 8 jan 2024"),
    ("3/3 - 7/3/2024", -3, "29/2 - 4/3/2024"),
    ("3/3 - 7/3/2024", 300, "28/12/2024 - 1/1/2025"),
    ("03/03 - 07/03/2024", 30, "02/04 - 06/04/2024"),
    ("12 t/m 14-03-2024", 20, "01 t/m 03-04-2024"),
    ("12 t/m 14-3-2024", -5, "7 t/m 9-3-2024"),
    ("ma 3 t/m vr 7 maart 2025", 1, "di 4 t/m za 8 maart 2025"),
    ("28 dec 2023 t/m 3 jan 2024", 10, "7 jan 2024 t/m 13 jan 2024"),
    ("12 - 14 maart 2024", 18, "30 maart - 1 april 2024"),
    # Roman months
    ("29/X", 5, "3/XI"),
    ("dinsdag 29/X", 5, "zondag 3/XI"),
    ("31/XII/2025", 1, "1/I/2026"),
    ("3-III-2024", -3, "29-II-2024"),
    ("28 t/m 30/XII", 3, "31/XII t/m 2/I"),
]


@pytest.mark.parametrize(("original", "shift", "expected"), SHIFT_CASES)
def test_shift_date_text_keeps_format(original: str, shift: int, expected: str) -> None:
    assert shift_date_text(original, shift) == expected


@pytest.mark.parametrize(
    "text",
    ["foo", "31-02-2024", "maart", "14:30", "3 maart 20244", "14-12 maart", "31-1 feb",
     "3 t/m", "ma 2024", "12-14 foo 2024", "13/2024"],
)  # fmt: skip
def test_unparseable_dates(text: str) -> None:
    assert parse_date(text) is None
    assert shift_date_text(text, 5) is None


@settings(max_examples=200, deadline=None)
@given(
    day=st.dates(min_value=dt.date(1901, 1, 1), max_value=dt.date(2098, 12, 31)),
    shift=st.integers(-365, 365).filter(bool),
    style=st.sampled_from(["%d-%m-%Y", "%d/%m/%Y", "%d.%m.%Y", "%Y-%m-%d"]),
)
def test_numeric_shift_round_trip(day: dt.date, shift: int, style: str) -> None:
    shifted = shift_date_text(day.strftime(style), shift)
    assert shifted is not None
    assert dt.datetime.strptime(shifted, style).date() == day + dt.timedelta(days=shift)


def test_date_shift_is_the_same_for_every_note_of_a_patient() -> None:
    text = "Opname 03-03-2024, ontslag 10-03-2024."
    spans = _spans(text, ("03-03-2024", "Date"), ("10-03-2024", "Date"))
    first = apply_replacements(text, spans, patient_key="p1", secret=SECRET, policy=TAGS)
    again = apply_replacements(text, spans, patient_key="p1", secret=SECRET, policy=TAGS)
    assert first == again
    dates = [
        dt.datetime.strptime(d, "%d-%m-%Y").date() for d in re.findall(r"\d\d-\d\d-\d{4}", first)
    ]
    shift = date_shift_days(SECRET, "p1", TAGS)
    assert dates == [
        dt.date(2024, 3, 3) + dt.timedelta(shift),
        dt.date(2024, 3, 10) + dt.timedelta(shift),
    ]


@pytest.mark.parametrize(
    ("text", "whole"),
    [("Opname 12-14 maart 2024.", "12-14 maart 2024"), ("Controle (24/2).", "(24/2)")],
)
def test_a_date_span_is_shifted_whole_or_becomes_a_tag(text: str, whole: str) -> None:
    start = text.index(whole)
    spans = [Span(start, start + len(whole), "Date")]
    shifted = apply_replacements(text, spans, patient_key="p1", secret=SECRET, policy=TAGS)
    expected = shift_date_text(whole, date_shift_days(SECRET, "p1", TAGS))
    assert expected is not None and shifted == text.replace(whole, expected)
    assert re.sub(r"\d", "", shifted) == re.sub(r"\d", "", text) or whole.startswith("12-14")
    # A span that cannot be parsed as one date or range becomes a tag, never half-shifted.
    odd = "Van 12-14 maart tot eind."
    odd_span = [Span(4, len(odd) - 1, "Date")]
    assert apply_replacements(odd, odd_span, patient_key="p1", secret=SECRET, policy=TAGS) == (
        "Van [Date]."
    )


def test_no_date_shift_gives_tags() -> None:
    text = "Op 03-03-2024."
    spans = _spans(text, ("03-03-2024", "Date"))
    policy = ReplacementPolicy(shift_dates=False)
    assert apply_replacements(text, spans, patient_key="p", secret=SECRET, policy=policy) == (
        "Op [Date]."
    )


# --------------------------------------------------------------------------- birthdates, ages

BIRTH_CASES = [
    ("03-03-1950", "1950"),
    ("3 maart 1950", "1950"),
    ("03-03-'50", "'50"),
    ("1950-03-03", "1950"),
    ("92 jaar", "90+ jaar"),
    ("92-jarige", "90+-jarige"),
    ("leeftijd 95", "leeftijd 90+"),
    ("90 jaar", "90+ jaar"),
    ("89 jaar", "89 jaar"),
    ("45-jarige", "45-jarige"),
    ("3 maart", "[Age_Birthdate]"),
    ("onbekend", "[Age_Birthdate]"),
]


@pytest.mark.parametrize(("original", "expected"), BIRTH_CASES)
def test_age_birthdate(original: str, expected: str) -> None:
    text = f"Patiënt ({original}) gezien."
    spans = _spans(text, (original, "Age_Birthdate"))
    out = apply_replacements(text, spans, patient_key="p", secret=SECRET, policy=SURROGATES)
    assert out == f"Patiënt ({expected}) gezien."


def test_birthdate_tag_policy_and_old_birth_year() -> None:
    text = "Geboren 03-03-1930."
    spans = _spans(text, ("03-03-1930", "Age_Birthdate"))
    tag_policy = ReplacementPolicy(birthdate="tag")
    assert apply_replacements(text, spans, patient_key="p", secret=SECRET, policy=tag_policy) == (
        "Geboren [Age_Birthdate]."
    )
    # Born 1930, note of 2024: the year implies an age of 90+ and is generalised away.
    old = apply_replacements(
        text, spans, patient_key="p", secret=SECRET, policy=TAGS, reference_date=dt.date(2024, 1, 1)
    )
    assert old == "Geboren [Age_Birthdate]."
    young = apply_replacements(
        text, spans, patient_key="p", secret=SECRET, policy=TAGS, reference_date=dt.date(2010, 1, 1)
    )
    assert young == "Geboren 1930."


# --------------------------------------------------------------------------- tags

NOTE = (
    "Jan de Vries (tel 06-12345678) kwam met zijn vrouw Els de Vries. "
    "Dhr. jan  de vries belt 020-1234567. BSN 123456782."
)
NOTE_SPANS = _spans(
    NOTE,
    ("Jan de Vries", "Name:Patient"),
    ("06-12345678", "Contactdetails"),
    ("Els de Vries", "Name:Other"),
    ("jan  de vries", "Name:Patient"),
    ("020-1234567", "Contactdetails"),
    ("123456782", "ID:Patient"),
)


def test_plain_tags() -> None:
    out = apply_replacements(NOTE, NOTE_SPANS, patient_key="p", secret=SECRET, policy=TAGS)
    assert out == (
        "[Name:Patient] (tel [Contactdetails]) kwam met zijn vrouw [Name:Other]. "
        "Dhr. [Name:Patient] belt [Contactdetails]. BSN [ID:Patient]."
    )


def test_numbered_tags_by_first_appearance_of_normalised_value() -> None:
    policy = ReplacementPolicy(number_tags=True)
    out = apply_replacements(NOTE, NOTE_SPANS, patient_key="p", secret=SECRET, policy=policy)
    assert out == (
        "[Name:Patient-1] (tel [Contactdetails-1]) kwam met zijn vrouw [Name:Other-1]. "
        "Dhr. [Name:Patient-1] belt [Contactdetails-2]. BSN [ID:Patient-1]."
    )


# --------------------------------------------------------------------------- surrogates


def _surrogates(
    text: str, spans: list[Span], patient: str, secret: SecretKey = SECRET
) -> list[str]:
    return render_replacements(text, spans, patient_key=patient, secret=secret, policy=SURROGATES)


SURROGATE_CASES = [
    ("Name:Patient", "Jan de Vries", r"[A-Z][a-z]+ (?:[a-z]+(?: [a-z']+)? )?[A-Za-z ]+"),
    ("Name:Caregiver", "J.P. Bakker", r"[A-Z]\.[A-Z]\. .+"),
    ("Address_Location:Patient", "Kerkstraat 12", r"[A-Z][a-z]+ [1-9]\d"),
    ("Address_Location:Patient", "1234 AB", r"[1-9]\d{3} [A-Z]{2}"),
    ("Address_Location:Other", "1234AB", r"[1-9]\d{3}[A-Z]{2}"),
    ("Contactdetails", "06-12345678", r"06-\d{8}"),
    ("Contactdetails", "+31 20 123 45 67", r"\+31 [1-9]\d \d{3} \d{2} \d{2}"),
    ("Contactdetails", "j.devries@gmail.com", r"[a-z]+\.[a-z]+@example\.(?:com|org|net)"),
    (
        "Contactdetails",
        "https://www.vries.nl/praktijk",
        r"https://www\.example\.(?:com|org|net)/\d{6}",
    ),
    ("ID:Patient", "123.456.782", r"[1-9]\d\d\.\d{3}\.\d{3}"),
    ("ID:Patient", "NL91 ABNA 0417 1643 00", r"NL\d\d [A-Z]{4} \d{4} \d{4} \d\d"),
    ("Organization:Healthcare", "UMCU", r"[A-Z]{4}"),
    ("Organization:Healthcare", "Ziekenhuis Rivierenland", r"\w+ .+"),
    ("Organization:Other", "Philips", r".+"),
    ("Profession", "Timmerman", r"[A-Z][a-z]+"),
]


@pytest.mark.parametrize(("label", "original", "shape"), SURROGATE_CASES)
def test_surrogate_shapes_and_determinism(label: str, original: str, shape: str) -> None:
    text = f"X {original} Y"
    spans = [Span(2, 2 + len(original), label)]
    (fake,) = _surrogates(text, spans, "patient-1")
    assert re.fullmatch(shape, fake), fake
    assert fake != original
    # Same patient, same value: the same surrogate, in another note and another run.
    other_note = f"Andere notitie met {original}."
    start = other_note.index(original)
    assert _surrogates(other_note, [Span(start, start + len(original), label)], "patient-1") == [
        fake
    ]


def test_surrogates_differ_between_patients_and_secrets() -> None:
    text = "Jan de Vries, Kerkstraat 12, 06-12345678"
    spans = _spans(
        text,
        ("Jan de Vries", "Name:Patient"),
        ("Kerkstraat 12", "Address_Location:Patient"),
        ("06-12345678", "Contactdetails"),
    )
    base = _surrogates(text, spans, "patient-1")
    others = [_surrogates(text, spans, f"patient-{i}") for i in range(2, 12)]
    # Each value gets a different surrogate for most other patients.
    for index in range(len(spans)):
        assert sum(o[index] != base[index] for o in others) >= 8
    assert _surrogates(text, spans, "patient-1", OTHER_SECRET) != base


def test_name_parts_map_consistently() -> None:
    text = "Jan de Vries; later J. de Vries; mevr. De Vries"
    spans = _spans(
        text,
        ("Jan de Vries", "Name:Patient"),
        ("J. de Vries", "Name:Patient"),
        ("De Vries", "Name:Patient"),
    )
    full, initials, surname_only = _surrogates(text, spans, "p1")
    fake_core = surname_only.split()[-1]
    assert full.endswith(fake_core) and initials.endswith(fake_core)
    assert re.match(r"[A-Z]\. ", initials)


def test_address_surrogate_changes_every_number_of_the_address() -> None:
    text = "Woont Kerkstraat 12 bus 3, Gent"
    spans = _spans(text, ("Kerkstraat 12 bus 3", "Address_Location:Patient"))
    (fake,) = _surrogates(text, spans, "p1")
    assert re.fullmatch(r"\w+ [1-9]\d bus [1-9]", fake), fake
    assert "12" not in fake


def test_unknown_label_falls_back_to_tag() -> None:
    text = "Code ABC123 hier"
    spans = [Span(5, 11, "Something:Else")]
    assert _surrogates(text, spans, "p") == ["[Something:Else]"]


# --------------------------------------------------------------------------- text integrity

_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=80)


@st.composite
def _text_and_spans(draw: st.DrawFn) -> tuple[str, list[Span]]:
    text = draw(_TEXT.filter(bool))
    cuts = sorted(draw(st.sets(st.integers(0, len(text)), max_size=8)))
    spans = []
    for start, end in zip(cuts[::2], cuts[1::2], strict=False):
        if start < end:
            spans.append(Span(start, end, draw(st.sampled_from(DEFAULT_ENTITY_LABELS))))
    return text, spans


@settings(max_examples=200, deadline=None)
@given(case=_text_and_spans(), mode=st.sampled_from(["tags", "surrogates"]), number=st.booleans())
def test_text_outside_spans_is_preserved(
    case: tuple[str, list[Span]], mode: str, number: bool
) -> None:
    text, spans = case
    policy = ReplacementPolicy(mode=mode, number_tags=number)  # type: ignore[arg-type]
    replacements = render_replacements(text, spans, patient_key="p", secret=SECRET, policy=policy)
    out = apply_replacements(text, spans, patient_key="p", secret=SECRET, policy=policy)
    # Rebuild from the gaps: every character outside a span keeps its order and its position
    # relative to the replacements around it.
    expected, position = [], 0
    for span, replacement in zip(spans, replacements, strict=True):
        expected += [text[position : span.start], replacement]
        position = span.end
    expected.append(text[position:])
    assert out == "".join(expected)
    assert all(replacements)
    if mode == "tags" and not number:
        for span, replacement in zip(spans, replacements, strict=True):
            if span.label not in ("Date", "Age_Birthdate"):
                assert replacement == f"[{span.label}]"


def test_replaced_note_has_no_detectable_patterns_left() -> None:
    text = "Bel 06-12345678 of mail j.devries@example.nl; BSN 123456782; op 03-03-2024."
    spans = find_pattern_spans(text)
    out = apply_replacements(text, spans, patient_key="p", secret=SECRET, policy=TAGS)
    for original in ("06-12345678", "j.devries@example.nl", "123456782", "03-03-2024"):
        assert original not in out


def test_deidentify_note_uses_patient_id_then_note_id() -> None:
    text = "Op 03-03-2024 gezien."
    spans = _spans(text, ("03-03-2024", "Date"))
    with_patient = Note(note_id="n1", text=text, patient_id="p9")
    without_patient = Note(note_id="n2", text=text)
    assert deidentify_note(with_patient, spans, secret=SECRET, policy=TAGS) == apply_replacements(
        text, spans, patient_key="p9", secret=SECRET, policy=TAGS
    )
    assert deidentify_note(without_patient, spans, secret=SECRET, policy=TAGS) == (
        apply_replacements(text, spans, patient_key="n2", secret=SECRET, policy=TAGS)
    )


def test_invalid_spans_are_refused() -> None:
    with pytest.raises(ValueError):
        apply_replacements("abc", [Span(0, 5, "Date")], patient_key="p", secret=SECRET, policy=TAGS)


@settings(max_examples=200, deadline=None)
@given(
    original=st.text(alphabet="0123456789abAB -.", min_size=1, max_size=6).filter(str.strip),
    label=st.sampled_from(
        ["Name:Patient", "ID:Patient", "Contactdetails", "Address_Location:Other", "Profession"]
    ),
    patient=st.sampled_from(["p1", "p2", "p3"]),
)
def test_surrogate_never_reproduces_the_original(original: str, label: str, patient: str) -> None:
    text = f"<{original}>"
    (fake,) = _surrogates(text, [Span(1, 1 + len(original), label)], patient)
    assert normalise_value(fake) != normalise_value(original)

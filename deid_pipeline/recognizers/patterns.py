"""Pattern recognizers: PHI with a recognisable shape and, where one exists, a checksum.

Each recognizer is a regular expression that proposes candidates plus a Python validator that
rejects what the expression cannot (11-proof, mod-97, real calendar dates, digit counts). Scores
are fixed per recognizer and a little higher where a checksum or a context word backs the match.

Decisions (documented here because tests pin them):

* An IBAN identifies its holder, and the taxonomy has no financial label, so an IBAN is
  ``ID:Patient`` (as a BSN is), not ``Contactdetails``.
* Written dates include a leading weekday ("maandag 3 maart 2024") *inside* the span: the weekday
  of the real date together with a shifted date would reveal the shift modulo 7, so replacement
  must re-render it.
* Dates are the standalone expressions of the date grammar
  (:mod:`deid_pipeline.recognizers.dates`): a year-less day/month ("24/2", "ma 3/3") counts,
  ranges ("12-14 maart 2024") are one span. A bare year, a bare month name ("maart"), dosages
  ("2 dd 500 mg", "1-0-1"), lab values ("Hb 7.2", "12.5 mmol/l"), blood pressure ("120/80"),
  scores ("VAS 7/10"), times ("14:30") and version numbers are left alone (the protected
  quantities of :mod:`deid_pipeline.recognizers.quantities` keep them from reading as dates);
  the model decides about years.
* A Belgian postcode is a bare 4-digit number, far too ambiguous alone: it is only matched as
  "B-2000" or when followed by a known Belgian place name ("2000 Antwerpen"); the place name is
  then part of the span. A Dutch postcode ("1234 AB") likewise takes a known place name after it,
  also written in capitals ("2976 MOL").
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Final

from deid_pipeline.recognizers.dates import (
    DUTCH_MONTHS,
    DUTCH_WEEKDAYS,
    DateExpression,
    find_date_expressions,
    is_valid_calendar_date,
    month_number,
    two_digit_year,
)
from deid_pipeline.recognizers.quantities import protected_ranges
from deid_pipeline.spans import Span

__all__ = [
    "DUTCH_MONTHS",
    "DUTCH_WEEKDAYS",
    "find_pattern_spans",
    "is_valid_be_national_number",
    "is_valid_bsn",
    "is_valid_calendar_date",
    "is_valid_iban",
    "month_number",
    "resolve_overlaps",
    "two_digit_year",
]

CONTACT: Final = "Contactdetails"
ID_PATIENT: Final = "ID:Patient"
ADDRESS_OTHER: Final = "Address_Location:Other"
DATE: Final = "Date"

# --------------------------------------------------------------------------- validators


# Check digits come from python-stdnum (maintained, tested against the registries' rules);
# these wrappers only fix what counts as a separator in running text.


def is_valid_bsn(value: str) -> bool:
    """True if ``value`` (separators ignored) passes the Dutch BSN 11-proof (8 digits are
    padded with a leading zero, as historic BSNs are written)."""
    from stdnum.nl import bsn

    digits = re.sub(r"[\s.\-]", "", value)
    return digits.isascii() and len(digits) in (8, 9) and bsn.is_valid(digits)


def is_valid_iban(value: str) -> bool:
    """True if ``value`` (spaces ignored, any case) is an IBAN: mod-97 check and the country's
    own length and account-number format."""
    from stdnum import iban

    compact = re.sub(r"\s", "", value).upper()
    return compact.isascii() and iban.is_valid(compact)


def is_valid_be_national_number(value: str) -> bool:
    """True if ``value`` is a Belgian national register number (rijksregisternummer) or a bis
    number (layout ``yy.mm.dd-xxx.cc``, separators ignored): check digits for people born
    before and from 2000, birth-date parts in range (0 for an unknown month or day)."""
    from stdnum.be import bis, nn

    digits = re.sub(r"[\s.\-]", "", value)
    if not digits.isascii() or not digits.isdigit() or len(digits) != 11:
        return False
    return bool(nn.is_valid(digits) or bis.is_valid(digits))


# --------------------------------------------------------------------------- lexicons


@cache
def place_names() -> tuple[frozenset[str], frozenset[str]]:
    """Dutch and Belgian place names from Faker's nl_NL and nl_BE address providers.

    Used as context for postcodes only; built once per process.
    """
    from faker.providers.address.nl_BE import Provider as BeAddress
    from faker.providers.address.nl_NL import Provider as NlAddress

    return frozenset(NlAddress.cities), frozenset(BeAddress.cities)


# --------------------------------------------------------------------------- recognizers


@dataclass(frozen=True, slots=True)
class _Candidate:
    start: int
    end: int
    label: str
    score: float


_Recognizer = Callable[[str], Iterator[_Candidate]]

_EMAIL = re.compile(r"(?<![\w.+\-])[\w.+\-]*\w@[\w\-]+(?:\.[\w\-]+)*\.[a-zA-Z]{2,}(?![\w\-])")
_URL = re.compile(
    r"(?<![\w@/.])(?:(?:https?://|www\.)[^\s<>\"'()]+"
    r"|[a-zA-Z][\w\-]*(?:\.[\w\-]+)*\.(?:nl|be|com|org|net|eu|info)(?:/[^\s<>\"'()]*)?)"
    r"(?![\w@])"
)


def _strip_trailing_punctuation(text: str, start: int, end: int) -> int:
    # Sentence punctuation right after a URL is not part of it.
    while end > start and text[end - 1] in ".,;:!?)":
        end -= 1
    return end


def _emails(text: str) -> Iterator[_Candidate]:
    for match in _EMAIL.finditer(text):
        yield _Candidate(match.start(), match.end(), CONTACT, 0.95)


def _urls(text: str) -> Iterator[_Candidate]:
    for match in _URL.finditer(text):
        end = _strip_trailing_punctuation(text, match.start(), match.end())
        explicit = match.group(0).lower().startswith(("http", "www."))
        if end > match.start():
            yield _Candidate(match.start(), end, CONTACT, 0.9 if explicit else 0.6)


# Phone numbers: a trunk/international prefix, then digits with at most one separator between
# any two of them. The digit count and prefix are checked in Python.
_PHONE_INTL = re.compile(
    r"(?<![\w+])(?:\+|00)(?P<cc>31|32)[ .\-]?(?:\(0\)[ .\-]?)?"
    r"(?P<rest>[1-9](?:[ .\-/]?\d){7,8})(?!\d)"
)
_PHONE_NATIONAL = re.compile(
    r"(?<![\w+])(?<!\d[.,/\-])(?P<number>\(0[1-9]\d{0,2}\)[ .\-/]?\d(?:[ .\-/]?\d){5,7}"
    r"|0[1-9](?:[ .\-/]?\d){7,8})(?![\d]|[.,]\d)"
)
_DATE_PREFIX = re.compile(r"(\d{1,2})([\-./])(\d{1,2})\2(\d{4}|\d{2})")


def _looks_like_date(candidate: str) -> bool:
    match = _DATE_PREFIX.match(candidate)
    if match is None:
        return False
    year = int(match.group(4))
    if len(match.group(4)) == 2:
        year = two_digit_year(year)
    return is_valid_calendar_date(int(match.group(1)), int(match.group(3)), year)


def _phones(text: str) -> Iterator[_Candidate]:
    for match in _PHONE_INTL.finditer(text):
        national = re.sub(r"\D", "", match.group("rest"))
        country = match.group("cc")
        if (country == "31" and len(national) == 9) or (
            country == "32" and len(national) in (8, 9)
        ):
            yield _Candidate(match.start(), match.end(), CONTACT, 0.9)
    for match in _PHONE_NATIONAL.finditer(text):
        raw = match.group("number")
        if _looks_like_date(raw):
            continue
        digits = re.sub(r"\D", "", raw)
        has_separator = len(digits) != len(raw)
        if len(digits) == 10:
            # NL numbers (06 mobile, 0xx landline) and BE mobiles (04xx) have 10 digits.
            yield _Candidate(match.start(), match.end(), CONTACT, 0.75 if has_separator else 0.6)
        elif len(digits) == 9 and has_separator:
            # BE landlines ("02 123 45 67", "03/123.45.67"): 9 digits, only with a layout.
            yield _Candidate(match.start(), match.end(), CONTACT, 0.6)


_BSN = re.compile(
    r"(?<![\w.,\-/])(?:\d{9}|\d{3}([ .])\d{3}\1\d{3}|\d{4}([ .])\d{2}\2\d{3})(?![\w\-/]|[.,]\d)"
)
_BSN_CONTEXT = re.compile(r"(?:bsn|burgerservicenummer|sofi)\W{0,5}$", re.IGNORECASE)


def _bsns(text: str) -> Iterator[_Candidate]:
    for match in _BSN.finditer(text):
        if not is_valid_bsn(match.group(0)):
            continue
        context = _BSN_CONTEXT.search(text[max(0, match.start() - 30) : match.start()])
        yield _Candidate(match.start(), match.end(), ID_PATIENT, 0.95 if context else 0.8)


_BE_NATIONAL = re.compile(
    r"(?<![\w.,\-/])\d{2}([.]?)\d{2}\1\d{2}[\-. ]?\d{3}[.]?\d{2}(?![\w\-/]|[.,]\d)"
)


def _be_national_numbers(text: str) -> Iterator[_Candidate]:
    for match in _BE_NATIONAL.finditer(text):
        if is_valid_be_national_number(match.group(0)):
            yield _Candidate(match.start(), match.end(), ID_PATIENT, 0.9)


_IBAN = re.compile(r"(?<![\w])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![\w])")


def _ibans(text: str) -> Iterator[_Candidate]:
    for match in _IBAN.finditer(text):
        candidate = match.group(0)
        # The expression may run on into the next word group; shrink from the right until the
        # checksum holds (an IBAN is at most 34 characters plus spaces).
        end = len(candidate)
        while end >= 15:
            if is_valid_iban(candidate[:end]):
                yield _Candidate(match.start(), match.start() + end, ID_PATIENT, 0.95)
                break
            end = candidate.rfind(" ", 0, end)
            if end < 0:
                break


# Units and abbreviations that follow a 4-digit number in notes and must not read as the letter
# pair of a postcode ("1000 IE", "2000 ML"). SA, SD and SS are never issued as postcodes.
_NOT_POSTCODE_LETTERS: Final = frozenset(
    {"SA", "SD", "SS", "IE", "EH", "MG", "ML", "KG", "CM", "MM", "GR", "UL", "DD", "PM", "AM"}
)
_NL_POSTCODE = re.compile(r"(?<![\w\-])([1-9]\d{3}) ?([A-Z]{2})(?![\w\-])")
_BE_POSTCODE = re.compile(r"(?<![\w\-])(?:(B) ?- ?)?([1-9]\d{3})(?![\w\-]|[.,]\d)")
_PLACE_AFTER = re.compile(r"[ \t]+([A-Z'][\w'\-]*(?:[ \-][A-Z][\w'\-]*)?)")


def _place_after(text: str, end: int, places: frozenset[str]) -> int | None:
    """End offset of a known place name right after ``end`` (one or two words), else None."""
    match = _PLACE_AFTER.match(text, end)
    if match is None:
        return None
    words = match.group(1)
    if words in places or (words.isupper() and _title(words) in places):
        return match.end()
    first = re.match(r"[\w'\-]+", words)
    if first is not None and (
        first.group(0) in places or (first.group(0).isupper() and _title(first.group(0)) in places)
    ):
        return match.start(1) + first.end()
    return None


def _title(words: str) -> str:
    """A place written in capitals as it is listed: "MOL" -> "Mol", "SINT-TRUIDEN" ->
    "Sint-Truiden"."""
    return re.sub(r"[^\W\d_]+", lambda m: m.group(0).capitalize(), words)


def _postcodes(text: str) -> Iterator[_Candidate]:
    nl_places, be_places = place_names()
    for match in _NL_POSTCODE.finditer(text):
        place_end = _place_after(text, match.end(), nl_places)
        if place_end is None and match.group(2) in _NOT_POSTCODE_LETTERS:
            continue  # "1000 IE" is a dose, but "4881 ML Wagenberg" is a postcode
        if place_end is None:
            yield _Candidate(match.start(), match.end(), ADDRESS_OTHER, 0.75)
        else:
            yield _Candidate(match.start(), place_end, ADDRESS_OTHER, 0.9)
    for match in _BE_POSTCODE.finditer(text):
        place_end = _place_after(text, match.end(), be_places)
        if place_end is not None:
            yield _Candidate(match.start(), place_end, ADDRESS_OTHER, 0.85)
        elif match.group(1):
            yield _Candidate(match.start(), match.end(), ADDRESS_OTHER, 0.8)


_RECOGNIZERS: Final[tuple[_Recognizer, ...]] = (
    _emails,
    _urls,
    _phones,
    _bsns,
    _be_national_numbers,
    _ibans,
    _postcodes,
)


def resolve_overlaps(spans: Iterable[Span]) -> list[Span]:
    """Make recognizer output disjoint: same-label overlaps are unioned; otherwise longer wins.

    Between different labels the longer span wins (then the higher score, then the earlier);
    this is the recognizer-local rule. The final merge across sources is
    :func:`deid_pipeline.postprocess.merge_spans`.
    """
    ordered = sorted(set(spans), key=lambda s: (-s.length, -s.score, s.start, s.label))
    kept: list[Span] = []  # disjoint, sorted by start
    starts: list[int] = []
    for span in ordered:
        # Kept spans are disjoint, so the ones overlapping ``span`` are contiguous.
        high = bisect.bisect_left(starts, span.end)
        low = high
        while low > 0 and kept[low - 1].end > span.start:
            low -= 1
        overlapping = kept[low:high]
        if overlapping and any(k.label != span.label for k in overlapping):
            continue
        if overlapping:
            span = Span(
                min(span.start, overlapping[0].start),
                max(span.end, overlapping[-1].end),
                span.label,
                max(span.score, *(k.score for k in overlapping)),
                span.source,
            )
        kept[low:high] = [span]
        starts[low:high] = [span.start]
    return kept


def find_pattern_spans(
    text: str,
    *,
    protected: Sequence[tuple[int, int]] | None = None,
    dates: Sequence[DateExpression] | None = None,
) -> list[Span]:
    """All pattern matches in ``text`` as sorted, disjoint spans with ``source="pattern"``.

    Dates are the standalone expressions of :func:`~deid_pipeline.recognizers.dates.
    find_date_expressions`; ``protected`` (the ranges of
    :func:`~deid_pipeline.recognizers.quantities.protected_ranges`) keeps scores, blood
    pressures and doses from reading as year-less dates. Either is computed when not given.
    """
    if dates is None:
        dates = find_date_expressions(
            text, protected_ranges(text) if protected is None else protected
        )
    found = [
        Span(candidate.start, candidate.end, candidate.label, candidate.score, "pattern")
        for recognizer in _RECOGNIZERS
        for candidate in recognizer(text)
    ]
    found.extend(
        Span(expression.start, expression.end, DATE, expression.score, "pattern")
        for expression in dates
        if expression.standalone
    )
    return resolve_overlaps(found)

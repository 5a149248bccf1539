"""Date grammar for Dutch and Belgian clinical notes: what counts as one whole date expression.

:func:`find_date_expressions` returns every date expression in a text, longest first and
disjoint. Two consumers use it:

* the pattern recognizer (:mod:`deid_pipeline.recognizers.patterns`) turns the *standalone*
  expressions into ``Date`` spans;
* post-processing (:mod:`deid_pipeline.postprocess`) grows every ``Date``/``Age_Birthdate``
  span that overlaps an expression (standalone or not) to the whole expression, so that no part
  of a date stays behind next to a shifted part.

Forms (day-month order, any of ``- / .`` as separator, nl-NL and nl-BE month names and
abbreviations, an optional weekday in front: "ma 3/3", "maandag 3 maart 2024"):

* numeric with year "03-03-2024", "3/3/24", "03.03.'24"; ISO "2024-03-03"; a Roman month
  "29/X", "31/XII/2025", "3-III-2024";
* written "3 maart 2024", "3 mrt.", "3e maart"; month and year "maart 2024", "03-2024";
* year-less numeric "24/2", "(24/2)", "12-03";
* ranges that share a month or year: "12-14 maart 2024", "3 t/m 7 juni", "28 feb - 3 mrt",
  "3/3 - 7/3/2024", "12 t/m 14-03-2024".

A year-less numeric date is *standalone* (a ``Date`` span on its own) only with ``/`` or ``-``,
with a real day and month, and when it touches no protected quantity (scores "VAS 7/10", blood
pressure "RR 120/80", doses "1/2 tablet", ranges "2-3 mg": see
:mod:`deid_pipeline.recognizers.quantities`); "24/7" is never a date. With ``.`` ("24.2") it is
too easily a decimal number: it is only used to grow a date span someone else found.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "DUTCH_MONTHS",
    "DUTCH_WEEKDAYS",
    "ROMAN_MONTHS",
    "DateExpression",
    "find_date_expressions",
    "is_valid_calendar_date",
    "month_number",
    "two_digit_year",
]

#: Dutch month names with the abbreviations found in clinical notes, by month number.
DUTCH_MONTHS: Final[dict[int, tuple[str, ...]]] = {
    1: ("januari", "jan"),
    2: ("februari", "feb", "febr"),
    3: ("maart", "mrt", "mar"),
    4: ("april", "apr"),
    5: ("mei",),
    6: ("juni", "jun"),
    7: ("juli", "jul"),
    8: ("augustus", "aug"),
    9: ("september", "sept", "sep"),
    10: ("oktober", "okt", "oct"),
    11: ("november", "nov"),
    12: ("december", "dec"),
}

#: Dutch weekday names (Monday first, as ``date.weekday()``) with their usual abbreviations.
DUTCH_WEEKDAYS: Final[tuple[tuple[str, ...], ...]] = (
    ("maandag", "ma"),
    ("dinsdag", "di"),
    ("woensdag", "wo"),
    ("donderdag", "do"),
    ("vrijdag", "vr"),
    ("zaterdag", "za"),
    ("zondag", "zo"),
)


def is_valid_calendar_date(day: int, month: int, year: int | None) -> bool:
    """True if day/month(/year) is a real calendar date; without a year, 29 February is real."""
    try:
        dt.date(2000 if year is None else year, month, day)
    except ValueError:
        return False
    return True


def two_digit_year(yy: int) -> int:
    """Century for a two-digit year in notes: 00-49 -> 20xx, 50-99 -> 19xx (fixed, reproducible)."""
    return 2000 + yy if yy < 50 else 1900 + yy


def month_number(word: str) -> int | None:
    """Month number of a Dutch month name or abbreviation (any case, optional dot), else None."""
    key = word.rstrip(".").lower()
    for number, names in DUTCH_MONTHS.items():
        if key in names:
            return number
    return None


# --------------------------------------------------------------------------- grammar

#: A month name, or an abbreviation with an optional dot (a dot after "juni" ends a sentence).
_MONTH_WORD: Final = (
    "(?:"
    + "|".join(
        sorted(
            (
                name if name == names[0] else rf"{name}\.?"
                for names in DUTCH_MONTHS.values()
                for name in names
            ),
            key=len,
            reverse=True,
        )
    )
    + ")"
)
#: A weekday before a date, on the same line; a dot only after an abbreviation ("di.").
_WEEKDAY: Final = (
    "(?:"
    + "|".join(
        sorted(
            (
                name if name == names[0] else rf"{name}\.?"
                for names in DUTCH_WEEKDAYS
                for name in names
            ),
            key=len,
            reverse=True,
        )
    )
    + r"),?[ \t\u00a0]+"
)
_DAY: Final = r"\d{1,2}"
_ORDINAL: Final = r"(?:e|ste|de)?"
#: The year of a written date: a plausible one, at most two spaces after the month (in a
#: table, "24 dec      2548" is a date and a lab value).
_YEAR: Final = r"(?:(?:1[89]|2[01])\d{2}|'\d{2})"
_NUM_YEAR: Final = r"(?:\d{4}|'?\d{2})"
#: Between the two ends of a range: a dash (spaces allowed) or a word.
_RANGE_WORD: Final = r"[ \u00a0]+(?:t/m|t\.m\.|tm|tot[ \u00a0]+en[ \u00a0]+met|tot|en|&)[ \u00a0]+"
_RANGE_SEP: Final = rf"(?:[ \u00a0]*[-–—][ \u00a0]*|{_RANGE_WORD})"
#: Numeric ends need a spaced dash or a word ("3-7-3" would be ambiguous).
_RANGE_SEP_SPACED: Final = rf"(?:[ \u00a0]+[-–—][ \u00a0]*|[ \u00a0]*[-–—][ \u00a0]+|{_RANGE_WORD})"
_BEFORE_NUMBER: Final = r"(?<![\w.,/\-:+])"
_AFTER_NUMBER: Final = r"(?![\w/:]|[.,\-]\d)"

_NUMERIC_FULL: Final = rf"(?P<d>{_DAY})(?P<sep>[\-./])(?P<m>\d{{1,2}})(?P=sep)(?P<y>{_NUM_YEAR})"
_ISO: Final = r"(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2})"

Kind = Literal[
    "numeric", "iso", "written", "roman", "month_year", "numeric_month_year", "yearless", "range"
]
#: Roman month numerals as written in dates ("29/X", "31/XII"), longest first.
ROMAN_MONTHS: Final[dict[str, int]] = {
    "I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6,
    "VII": 7, "VIII": 8, "IX": 9, "X": 10, "XI": 11, "XII": 12,
}  # fmt: skip
_ROMAN_MONTH: Final = "(?:" + "|".join(sorted(ROMAN_MONTHS, key=len, reverse=True)) + ")"

# Each form, with the kind it yields. Written forms tolerate a weekday in front.
_FORMS: Final[tuple[tuple[Kind, re.Pattern[str]], ...]] = (
    (
        "range",
        re.compile(
            rf"(?<![\w.,/\-:])(?:{_WEEKDAY})?(?P<d1>{_DAY}){_ORDINAL}"
            rf"(?:[ \u00a0]+(?P<m1>{_MONTH_WORD}))?"
            rf"{_RANGE_SEP}(?:{_WEEKDAY})?(?P<d2>{_DAY}){_ORDINAL}[ \u00a0]+(?P<m2>{_MONTH_WORD})"
            rf"(?:[ \u00a0]{{1,2}}(?P<y>{_YEAR}))?(?![\w])",
            re.IGNORECASE,
        ),
    ),
    (
        "range",
        re.compile(
            rf"{_BEFORE_NUMBER}(?:{_WEEKDAY})?(?P<d1>{_DAY})(?:(?P<s1>[\-/.])(?P<m1>\d{{1,2}}))?"
            rf"{_RANGE_SEP_SPACED}(?:{_WEEKDAY})?(?P<d2>{_DAY})(?P<s2>[\-/.])(?P<m2>\d{{1,2}})"
            rf"(?:(?P=s2)(?P<y>{_NUM_YEAR}))?{_AFTER_NUMBER}",
            re.IGNORECASE,
        ),
    ),
    (
        "numeric",
        re.compile(
            rf"{_BEFORE_NUMBER}(?:{_WEEKDAY})?(?:{_NUMERIC_FULL}|{_ISO}){_AFTER_NUMBER}",
            re.IGNORECASE,
        ),
    ),
    (
        "written",
        re.compile(
            rf"(?<![\w])(?:{_WEEKDAY})?(?P<d>{_DAY}){_ORDINAL}[ \u00a0]+(?P<m>{_MONTH_WORD})"
            rf"(?:[ \u00a0]{{1,2}}(?P<y>{_YEAR})(?![\w]|[\-/.]\d))?(?![\w])",
            re.IGNORECASE,
        ),
    ),
    (
        "month_year",
        re.compile(
            rf"(?<![\w])(?P<m>{_MONTH_WORD})[ \u00a0]{{1,2}}(?P<y>(?:1[89]|2[01])\d{{2}})(?![\w])",
            re.IGNORECASE,
        ),
    ),
    (
        # A Roman month after a slash, or with a year ("12-II" alone is a floor, not a date).
        "roman",
        re.compile(
            rf"{_BEFORE_NUMBER}(?:(?i:{_WEEKDAY}))?(?P<d>{_DAY})"
            rf"(?:/(?P<rm>{_ROMAN_MONTH})(?:/(?P<y>{_NUM_YEAR}))?"
            rf"|(?P<sep>[\-.])(?P<rm2>{_ROMAN_MONTH})(?P=sep)(?P<y2>{_NUM_YEAR}))"
            rf"(?![\w/]|[.,\-]\d)"
        ),
    ),
    (
        "numeric_month_year",
        re.compile(rf"{_BEFORE_NUMBER}(?P<m>\d{{1,2}})(?P<sep>[\-/])(?P<y>\d{{4}}){_AFTER_NUMBER}"),
    ),
    (
        "yearless",
        re.compile(
            rf"{_BEFORE_NUMBER}(?:{_WEEKDAY})?(?P<d>{_DAY})(?P<sep>[\-/.])(?P<m>\d{{1,2}})"
            rf"{_AFTER_NUMBER}",
            re.IGNORECASE,
        ),
    ),
)
_VERSION_CONTEXT: Final = re.compile(r"(?:versie|version|v)[ \u00a0]*$", re.IGNORECASE)
_NEVER_DATES: Final = frozenset({"24/7"})
#: Words before a date: what makes "7/10" a date rather than a score out of ten.
_DATE_CONTEXT: Final = re.compile(
    r"\b(?:op|d\.d\.|dd|datum|sinds|vanaf|tot|t/m|per|gezien|controle|opname|ontslag|afspraak"
    r"|geboren|overleden|verjaardag)[:.]?[ \t\u00a0]*$",
    re.IGNORECASE,
)
#: Counted nouns after small numbers: "10-12 jaar", "2-3 glazen", "1/2 van de patiënten".
_COUNT_AFTER: Final = re.compile(
    r"[ \t\u00a0]*(?:jaar|jaren|jr|jarigen?|jarig|glazen|glas|sigaretten|sigaren|pakjes|pakje"
    r"|pk|consumpties|eenheden|units|stuks|kussens|patiënten|patienten|personen|kinderen|keer"
    r"|maal|trappen|treden|etages|meter|kilometer|km|nachten|dagdelen|van[ \u00a0]+de|deel"
    r"|delen)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class DateExpression:
    """A whole date expression ``[start, end)`` of a text.

    ``standalone``: a ``Date`` span on its own; otherwise it only grows a date span found by
    another source. ``score``: the pattern recognizer's confidence for a standalone one.
    """

    start: int
    end: int
    kind: Kind
    standalone: bool
    score: float


def _year(raw: str | None) -> int | None:
    if not raw:
        return None
    digits = raw.lstrip("'")
    return int(digits) if len(digits) == 4 else two_digit_year(int(digits))


def _month(raw: str | None) -> int | None:
    if raw is None:
        return None
    return int(raw) if raw.isdigit() else month_number(raw)


def _check(kind: Kind, match: re.Match[str], text: str) -> tuple[bool, float] | None:
    """(standalone, score) of a candidate, or None when it is no real date."""
    groups = match.groupdict()
    if kind == "range":
        year = _year(groups.get("y"))
        day1, day2 = int(groups["d1"]), int(groups["d2"])
        month2 = _month(groups["m2"])
        month1 = month2 if groups.get("m1") is None else _month(groups["m1"])
        if not month1 or not month2:
            return None
        if not (
            is_valid_calendar_date(day1, month1, year) or is_valid_calendar_date(day1, month1, None)
        ):
            return None
        if not is_valid_calendar_date(day2, month2, year):
            return None
        if groups.get("m1") is None and day1 >= day2:
            return None  # "14-12 maart" is no range of one month
        # "2.5 - 7.5" is a reference range far more often than 2 to 7 May.
        dotted = groups.get("s2") == "." and not year
        return not dotted, (0.9 if year else 0.7)
    if kind == "numeric":
        if _VERSION_CONTEXT.search(text[max(0, match.start() - 10) : match.start()]):
            return None
        if groups.get("iy"):
            year, month, day = int(groups["iy"]), int(groups["im"]), int(groups["id"])
            score = 0.9
        else:
            raw_year = groups["y"].lstrip("'")
            year = _year(groups["y"]) or 0
            day, month = int(groups["d"]), int(groups["m"])
            score = 0.9 if len(raw_year) == 4 else 0.7
        if not (is_valid_calendar_date(day, month, year) and 1800 <= year <= 2199):
            return None
        return True, score
    if kind == "written":
        month = month_number(groups["m"])
        year = _year(groups.get("y"))
        if month is None or not is_valid_calendar_date(int(groups["d"]), month, year):
            return None
        if year is not None and not 1800 <= year <= 2199:
            return None  # "31 dec.     1219": a table, not the year 1219
        return True, (0.9 if year else 0.7)
    if kind == "roman":
        month = ROMAN_MONTHS[groups["rm"] or groups["rm2"]]
        year = _year(groups["y"] or groups["y2"])
        if not is_valid_calendar_date(int(groups["d"]), month, year):
            return None
        return True, (0.9 if year else 0.7)
    if kind == "month_year":
        return (True, 0.7) if month_number(groups["m"]) is not None else None
    if kind == "numeric_month_year":
        if _VERSION_CONTEXT.search(text[max(0, match.start() - 10) : match.start()]):
            return None
        month, year = int(groups["m"]), int(groups["y"])
        return (True, 0.6) if 1 <= month <= 12 and 1900 <= year <= 2099 else None
    # year-less numeric
    day, month = int(groups["d"]), int(groups["m"])
    if not is_valid_calendar_date(day, month, None):
        return None
    core = f"{groups['d']}{groups['sep']}{groups['m']}"
    if core in _NEVER_DATES or _COUNT_AFTER.match(text, match.end()):
        return None
    if _VERSION_CONTEXT.search(text[max(0, match.start() - 10) : match.start()]):
        return None
    if groups["sep"] == ".":
        return False, 0.6
    if month == 10 and day <= 10 and groups["sep"] == "/":
        # "7/10" is a score out of ten unless a word says it is a date ("op 7/10").
        before = text[max(0, match.start() - 20) : match.start()]
        has_weekday = match.group(0)[:1].isalpha()
        return has_weekday or _DATE_CONTEXT.search(before) is not None, 0.6
    return True, 0.6


def _merged(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    result: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if result and start <= result[-1][1]:
            result[-1] = (result[-1][0], max(result[-1][1], end))
        elif start < end:
            result.append((start, end))
    return result


def _overlaps(start: int, end: int, ranges: Sequence[tuple[int, int]]) -> bool:
    """Whether ``[start, end)`` overlaps one of the sorted, disjoint ``ranges``."""
    index = bisect.bisect_left(ranges, (end, end))
    return index > 0 and ranges[index - 1][1] > start


def _is_weak(kind: Kind, match: re.Match[str]) -> bool:
    """A form made of small numbers only, that a score, dose or range can look like."""
    if kind in ("yearless", "numeric_month_year"):
        return True
    if kind == "numeric":
        # "Apgar 8/9/10": three small numbers may be a two-digit-year date or a score.
        year = match.group("y")
        return year is not None and len(year.lstrip("'")) == 2
    return kind == "range" and match.group("m2").isdigit() and not match.group("y")


def _candidates(text: str) -> Iterator[tuple[int, int, Kind, re.Match[str]]]:
    for kind, pattern in _FORMS:
        position = 0
        while True:
            match = pattern.search(text, position)
            if match is None:
                break
            yield match.start(), match.end(), kind, match
            # Overlapping candidates of one form: a range may start inside a rejected one.
            position = match.start() + 1


def find_date_expressions(
    text: str, protected: Iterable[tuple[int, int]] = ()
) -> list[DateExpression]:
    """Whole date expressions of ``text``, sorted and disjoint (longest wins, then earliest).

    ``protected``: character ranges of protected quantities. A form made of small numbers only
    (year-less "7/10", month-year "1-2000", a two-digit year "8/9/10", a numeric range without
    year) that touches one is no date ("VAS 7/10", "1/2 tablet", "1-2000 mg", "Apgar 8/9/10");
    a date with a four-digit year or a month name stays a date whatever touches it.
    """
    guarded = _merged(protected)
    found: list[DateExpression] = []
    for start, end, kind, match in _candidates(text):
        verdict = _check(kind, match, text)
        if verdict is None:
            continue
        standalone, score = verdict
        if _is_weak(kind, match) and _overlaps(start, end, guarded):
            continue
        # A bare first day is part of a dose or score more often than of a range:
        # "2 dd 1 t/m 30 dec".
        if (
            kind == "range"
            and not match.group("m1")
            and _overlaps(match.start("d1"), match.end("d1"), guarded)
        ):
            continue
        found.append(DateExpression(start, end, kind, standalone, score))
    found.sort(key=lambda e: (-(e.end - e.start), e.start, not e.standalone))
    kept: list[DateExpression] = []  # disjoint, sorted by start
    kept_ranges: list[tuple[int, int]] = []
    for expression in found:
        if not _overlaps(expression.start, expression.end, kept_ranges):
            index = bisect.bisect_left(kept_ranges, (expression.start, expression.end))
            kept.insert(index, expression)
            kept_ranges.insert(index, (expression.start, expression.end))
    return kept

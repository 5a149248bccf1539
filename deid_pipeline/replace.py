"""Replacement of PHI spans: tags or surrogates, keyed date shifting, birthdates and old ages.

Everything keyed goes through HMAC-SHA256 with the secret from ``DEID_SECRET_KEY``:

* ``patient_pseudonym``: stable research id of a patient;
* ``date_shift_days``: one shift per patient, the same in every note and run, never 0;
* surrogates: HMAC(secret, patient, label family, component, normalised value), so the same
  value of the same patient gets the same surrogate everywhere (the family, not the full label,
  so that a role mislabel does not change the fake name).

Tags are ``[Name:Patient]``; with ``number_tags`` they are numbered per label by first appearance
of a distinct (normalised) value *within the note*: ``[Name:Patient-1]`` in two notes need not be
the same person. Consistency across notes is what surrogates give.

Dates (``Date``) are shifted in their own format when ``shift_dates`` is on, in tags and
surrogates mode alike: with or without year ("24/2"), after a weekday ("ma 3/3", re-rendered),
with a Roman month ("29/X"), month and year ("03-2024"), and ranges whose ends both move
("12-14 maart 2024"); what cannot be parsed becomes a tag, so no part of a date is left
unshifted. ``Age_Birthdate`` dates become the year only (or a tag, by policy); ages from
``age_group_from`` up become "90+" in the same phrasing; younger ages stay.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from deid_pipeline.labels import label_family
from deid_pipeline.notes import Note
from deid_pipeline.recognizers.dates import ROMAN_MONTHS
from deid_pipeline.recognizers.patterns import (
    DUTCH_MONTHS,
    DUTCH_WEEKDAYS,
    is_valid_calendar_date,
    month_number,
    two_digit_year,
)
from deid_pipeline.spans import Span, check_spans
from deid_pipeline.surrogates import KeyedStream, StreamFactory, normalise_value, surrogate_for

__all__ = [
    "DEMO_SECRET_KEY",
    "SECRET_ENV_VAR",
    "MissingSecretError",
    "ParsedDate",
    "ReplacementPolicy",
    "SecretKey",
    "apply_replacements",
    "date_shift_days",
    "deidentify_note",
    "load_secret",
    "parse_date",
    "patient_pseudonym",
    "render_replacements",
    "shift_date_text",
]

SECRET_ENV_VAR: Final = "DEID_SECRET_KEY"
MIN_SECRET_LENGTH: Final = 32
#: The marked key of demo runs on synthetic data. Never used unless demo mode is asked for.
DEMO_SECRET_KEY: Final = "DEMO-KEY-NOT-FOR-PRODUCTION-synthetic-data-only-0000"


class ReplacementPolicy(BaseModel):
    """How spans are replaced. Frozen: one policy per run, recorded with the output."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Literal["tags", "surrogates"] = "tags"
    number_tags: bool = False
    shift_dates: bool = True
    date_shift_min_days: int = Field(default=1, ge=1)
    date_shift_max_days: int = Field(default=365, ge=1)
    birthdate: Literal["year", "tag"] = "year"
    age_group_from: int = Field(default=90, ge=1)

    @model_validator(mode="after")
    def _check_shift_range(self) -> ReplacementPolicy:
        if self.date_shift_max_days < self.date_shift_min_days:
            raise ValueError("date_shift_max_days must be >= date_shift_min_days")
        return self


# --------------------------------------------------------------------------- secrets


class MissingSecretError(RuntimeError):
    """No usable secret key: the production path refuses to run without one."""


class SecretKey:
    """The HMAC key. Its ``repr`` and ``str`` never show the key material."""

    __slots__ = ("_value", "is_demo")

    def __init__(self, value: bytes, *, is_demo: bool = False) -> None:
        if len(value) < MIN_SECRET_LENGTH:
            raise MissingSecretError(
                f"secret key has {len(value)} bytes; at least {MIN_SECRET_LENGTH} are required"
            )
        self._value = value
        self.is_demo = is_demo

    @property
    def value(self) -> bytes:
        """The key bytes (for HMAC only; never log them)."""
        return self._value

    def __repr__(self) -> str:
        return f"SecretKey(<redacted>, is_demo={self.is_demo})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SecretKey):
            return NotImplemented
        return hmac.compare_digest(self._value, other._value) and self.is_demo == other.is_demo

    def __hash__(self) -> int:
        return hash((hashlib.sha256(self._value).digest(), self.is_demo))


def load_secret(env: Mapping[str, str] = os.environ, *, demo: bool = False) -> SecretKey:
    """Read the secret from ``DEID_SECRET_KEY`` (>= 32 characters).

    Without a key, ``demo=True`` gives :data:`DEMO_SECRET_KEY` (``is_demo=True``); otherwise,
    and for a key that is too short even in demo mode, :class:`MissingSecretError`.
    """
    raw = env.get(SECRET_ENV_VAR, "")
    if raw:
        if len(raw) < MIN_SECRET_LENGTH:
            raise MissingSecretError(
                f"{SECRET_ENV_VAR} has {len(raw)} characters; at least {MIN_SECRET_LENGTH} are "
                'required. Generate one with: python -c "import secrets; '
                'print(secrets.token_urlsafe(48))"'
            )
        return SecretKey(raw.encode("utf-8"), is_demo=False)
    if demo:
        return SecretKey(DEMO_SECRET_KEY.encode("utf-8"), is_demo=True)
    raise MissingSecretError(
        f"{SECRET_ENV_VAR} is not set. De-identification needs a secret key of at least "
        f"{MIN_SECRET_LENGTH} characters (keep it in a secret store; changing it changes every "
        'date shift, pseudonym and surrogate). Generate one with: python -c "import secrets; '
        'print(secrets.token_urlsafe(48))". For synthetic demo data only, run in demo mode.'
    )


def _digest(secret: SecretKey, purpose: str, *parts: str) -> bytes:
    # Unit separator between parts, so ("ab", "c") and ("a", "bc") never collide.
    message = "\x1f".join((purpose, *parts)).encode("utf-8")
    return hmac.new(secret.value, message, hashlib.sha256).digest()


def patient_pseudonym(secret: SecretKey, patient_id: str) -> str:
    """Stable pseudonym of a patient: ``"p_"`` + 32 hex characters of HMAC-SHA256."""
    return "p_" + _digest(secret, "pseudonym", patient_id).hex()[:32]


def date_shift_days(secret: SecretKey, patient_key: str, policy: ReplacementPolicy) -> int:
    """Per-patient date shift in ``[-max, -min] U [min, max]`` days: keyed, never 0."""
    digest = _digest(secret, "date-shift", patient_key)
    width = policy.date_shift_max_days - policy.date_shift_min_days + 1
    magnitude = policy.date_shift_min_days + int.from_bytes(digest[:8], "big") % width
    return -magnitude if digest[8] & 1 else magnitude


# --------------------------------------------------------------------------- dates

_MONTH_ALTERNATION: Final = "|".join(
    sorted((n for names in DUTCH_MONTHS.values() for n in names), key=len, reverse=True)
)
_WEEKDAY_ALTERNATION: Final = "|".join(
    sorted((n for names in DUTCH_WEEKDAYS for n in names), key=len, reverse=True)
)
#: A weekday before a date with a day ("ma 3/3", "maandag, 3 maart 2024"); re-rendered.
_WEEKDAY_PREFIX = re.compile(
    rf"(?P<wd>{_WEEKDAY_ALTERNATION})(?P<wddot>\.?)(?P<wdsep>,?\s+)", re.IGNORECASE
)
_NUMERIC = re.compile(
    r"(?P<d>\d{1,2})(?P<sep>[\-./])(?P<m>\d{1,2})(?:(?P=sep)(?P<y>'?\d{2}|\d{4}))?"
)
_ISO = re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})")
_WRITTEN = re.compile(
    rf"(?P<d>\d{{1,2}})(?P<ord>e|ste|de)?(?P<s1>\s+)(?P<m>{_MONTH_ALTERNATION})(?P<mdot>\.?)"
    r"(?:(?P<s2>\s+)(?P<y>\d{4}|'\d{2}))?",
    re.IGNORECASE,
)
_MONTH_YEAR = re.compile(
    rf"(?P<m>{_MONTH_ALTERNATION})(?P<mdot>\.?)(?P<s2>\s+)(?P<y>\d{{4}})", re.IGNORECASE
)
_NUMERIC_MONTH_YEAR = re.compile(r"(?P<m>\d{1,2})(?P<sep>[\-/])(?P<y>\d{4})")
_ROMAN = re.compile(
    r"(?P<d>\d{1,2})(?P<sep>[\-/.])(?P<m>"
    + "|".join(sorted(ROMAN_MONTHS, key=len, reverse=True))
    + r")(?:(?P=sep)(?P<y>'?\d{2}|\d{4}))?"
)
_ROMAN_BY_MONTH: Final = {number: numeral for numeral, number in ROMAN_MONTHS.items()}
_YEAR = re.compile(r"(?P<y>(?:18|19|20|21)\d{2})")
#: Between the two ends of a date range ("12-14 maart", "3 t/m 7 juni", "3/3 - 7/3/2024").
_RANGE_SEPARATOR = re.compile(
    r"\s*[-–—]\s*|\s+(?:t/m|t\.m\.|tm|tot\s+en\s+met|tot|en|&)\s+", re.IGNORECASE
)
_DAY_ONLY = re.compile(r"(?P<d>\d{1,2})(?P<ord>e|ste|de)?")
#: Reference year for dates written without one; a leap year, so 29 February parses.
_NO_YEAR: Final = 2000

DateKind = Literal["numeric", "iso", "written", "roman", "month_year", "numeric_month_year", "year"]
_DAY_KINDS: Final = frozenset({"numeric", "iso", "written", "roman"})


@dataclass(frozen=True, slots=True)
class ParsedDate:
    """A date as written: its value and everything needed to write another date the same way.

    ``weekday`` is the match of a weekday written before a date with a day ("ma 3/3").
    """

    kind: DateKind
    date: dt.date
    has_day: bool
    has_year: bool
    match: re.Match[str]
    prefix: str
    suffix: str
    weekday: re.Match[str] | None = None


def _case_like(template: str, word: str) -> str:
    if template.isupper() and len(template) > 1:
        return word.upper()
    if template[:1].isupper():
        return word.capitalize()
    return word


def _year_from(raw: str) -> int:
    digits = raw.lstrip("'")
    return int(digits) if len(digits) == 4 else two_digit_year(int(digits))


_ATTEMPTS: Final[tuple[tuple[DateKind, re.Pattern[str]], ...]] = (
    ("iso", _ISO),
    ("numeric", _NUMERIC),
    ("written", _WRITTEN),
    ("roman", _ROMAN),
    ("month_year", _MONTH_YEAR),
    ("numeric_month_year", _NUMERIC_MONTH_YEAR),
    ("year", _YEAR),
)


def _parse_core(core: str) -> tuple[DateKind, re.Match[str], dt.date, bool] | None:
    """(kind, match, date, has_year) of a date without weekday, prefix or suffix."""
    for kind, pattern in _ATTEMPTS:
        match = pattern.fullmatch(core)
        if match is None:
            continue
        groups = match.groupdict()
        year = _year_from(groups["y"]) if groups.get("y") else None
        if kind in ("numeric", "iso"):
            day, month = int(groups["d"]), int(groups["m"])
        elif kind == "written":
            day, month = int(groups["d"]), month_number(groups["m"]) or 0
        elif kind == "roman":
            day, month = int(groups["d"]), ROMAN_MONTHS[groups["m"]]
        elif kind == "month_year":
            day, month = 15, month_number(groups["m"]) or 0  # mid-month stands for the month
        elif kind == "numeric_month_year":
            day, month = 15, int(groups["m"])
        else:
            day, month = 1, 7  # mid-year stands for a bare year
        if not is_valid_calendar_date(day, month, year):
            return None
        return (
            kind,
            match,
            dt.date(_NO_YEAR if year is None else year, month, day),
            year is not None,
        )
    return None


def parse_date(text: str) -> ParsedDate | None:
    """Parse a date span's text (numeric, ISO, written Dutch, partial); None if it is not one.

    A weekday may come before a date with a day ("ma 3/3", "zondag 3 maart 2024"). Surrounding
    whitespace and brackets are kept aside as prefix/suffix.
    """
    core = text.strip(" \t\n()[],;")
    start = text.find(core) if core else -1
    if start < 0:
        return None
    prefix, suffix = text[:start], text[start + len(core) :]
    weekday = _WEEKDAY_PREFIX.match(core)
    if weekday is not None:
        parsed = _parse_core(core[weekday.end() :])
        if parsed is not None and parsed[0] in _DAY_KINDS:
            kind, match, date, has_year = parsed
            return ParsedDate(kind, date, True, has_year, match, prefix, suffix, weekday)
    parsed = _parse_core(core)
    if parsed is None:
        return None
    kind, match, date, has_year = parsed
    return ParsedDate(kind, date, kind in _DAY_KINDS, has_year, match, prefix, suffix)


def _render_year(raw: str, year: int) -> str:
    if len(raw) == 4:
        return f"{year:04d}"
    return ("'" if raw.startswith("'") else "") + f"{year % 100:02d}"


def _render_number(raw: str, value: int, *, padded: bool | None = None) -> str:
    """``value`` with the original's zero padding ("03" -> "07", "3" -> "7").

    A two-digit original without a leading zero ("12") does not tell; ``padded`` then decides
    (numeric dates: padded when the other component is two digits too).
    """
    if raw.startswith("0") and len(raw) == 2:
        return f"{value:02d}"
    if len(raw) == 2 and padded:
        return f"{value:02d}"
    return str(value)


def _numeric_padding(groups: dict[str, str | None]) -> bool:
    return len(groups["d"] or "") == 2 and len(groups["m"] or "") == 2


_MONTH_ABBREVIATIONS: Final = (
    "jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec",
)  # fmt: skip


def _render_month(raw: str, dot: str, month: int) -> str:
    full, *_ = DUTCH_MONTHS[month]
    original_month = month_number(raw)
    is_full = original_month is not None and raw.lower() == DUTCH_MONTHS[original_month][0]
    # Standard Dutch abbreviations for the re-rendered month.
    word = full if is_full else _MONTH_ABBREVIATIONS[month - 1]
    # An abbreviation dot only after a real abbreviation ("mrt." -> "mei", not "mei.").
    return _case_like(raw, word) + (dot if word != full else "")


def _render_weekday(weekday: re.Match[str], index: int) -> str:
    raw = weekday.group("wd")
    full = raw.lower() == DUTCH_WEEKDAYS[_weekday_index(raw)][0]
    names = DUTCH_WEEKDAYS[index]
    word = _case_like(raw, names[0] if full else names[1])
    return word + weekday.group("wddot") + weekday.group("wdsep")


def _render_core(parsed: ParsedDate, new: dt.date) -> str:
    groups = parsed.match.groupdict()
    if parsed.kind == "numeric":
        padded = _numeric_padding(groups)
        text = (
            f"{_render_number(groups['d'], new.day, padded=padded)}{groups['sep']}"
            f"{_render_number(groups['m'], new.month, padded=padded)}"
        )
        if groups["y"]:
            text += f"{groups['sep']}{_render_year(groups['y'], new.year)}"
    elif parsed.kind == "iso":
        text = (
            f"{new.year:04d}-{_render_number(groups['m'], new.month, padded=True)}-"
            f"{_render_number(groups['d'], new.day, padded=True)}"
        )
    elif parsed.kind == "written":
        text = _render_number(groups["d"], new.day) + (groups["ord"] or "") + groups["s1"]
        text += _render_month(groups["m"], groups["mdot"], new.month)
        if groups["y"]:
            text += groups["s2"] + _render_year(groups["y"], new.year)
    elif parsed.kind == "roman":
        text = f"{_render_number(groups['d'], new.day)}{groups['sep']}{_ROMAN_BY_MONTH[new.month]}"
        if groups["y"]:
            text += f"{groups['sep']}{_render_year(groups['y'], new.year)}"
    elif parsed.kind == "month_year":
        text = _render_month(groups["m"], groups["mdot"], new.month) + groups["s2"]
        text += _render_year(groups["y"], new.year)
    elif parsed.kind == "numeric_month_year":
        text = _render_number(groups["m"], new.month, padded=len(groups["m"]) == 2)
        text += groups["sep"] + _render_year(groups["y"], new.year)
    else:
        text = f"{new.year:04d}"
    return text


def _render(parsed: ParsedDate, new: dt.date, weekday: int | None) -> str:
    text = _render_core(parsed, new)
    if parsed.weekday is not None and weekday is not None:
        text = _render_weekday(parsed.weekday, weekday) + text
    return parsed.prefix + text + parsed.suffix


def _weekday_index(word: str) -> int:
    key = word.rstrip(".").lower()
    return next(i for i, names in enumerate(DUTCH_WEEKDAYS) if key in names)


def _new_weekday(weekday: re.Match[str] | None, new: dt.date, has_year: bool, days: int) -> int:
    """Weekday of the shifted date; without a year, the written weekday moved by ``days``."""
    if weekday is None or has_year:
        return new.weekday()
    return (_weekday_index(weekday.group("wd")) + days) % 7


def _shift(date: dt.date, days: int) -> dt.date | None:
    try:
        return date + dt.timedelta(days=days)
    except OverflowError:
        return None


def shift_date_text(text: str, days: int) -> str | None:
    """``text`` (a date as written) moved by ``days``, written the same way; None if unparseable.

    Partial dates: a month-year moves as its 15th, a bare year as its 1 July, a day-month
    without year inside the leap year 2000. A weekday is re-rendered for the new date (without
    a year: moved by ``days`` modulo 7). A range ("12-14 maart 2024", "3 t/m 7 juni",
    "3/3 - 7/3/2024") moves both ends (:func:`shift_date_range_text`).
    """
    parsed = parse_date(text)
    if parsed is None:
        return shift_date_range_text(text, days)
    new = _shift(parsed.date, days)
    if new is None:
        return None
    return _render(parsed, new, _new_weekday(parsed.weekday, new, parsed.has_year, days))


@dataclass(frozen=True, slots=True)
class _RangeStart:
    """The first end of a range, which may borrow its month and year from the second."""

    date: dt.date
    own: ParsedDate | None  # parsed on its own (day-month or full date), else a bare day
    day_raw: str
    ordinal: str
    weekday: re.Match[str] | None


def _range_start(text: str, end: ParsedDate) -> _RangeStart | None:
    own = parse_date(text)
    if own is not None and own.has_day and not own.prefix and not own.suffix:
        if own.has_year:
            date = own.date
        else:
            # A day-month takes the year of the end, or the year before ("28 dec t/m 3 jan").
            year = end.date.year
            if (own.date.month, own.date.day) > (end.date.month, end.date.day):
                year -= 1
            if not is_valid_calendar_date(own.date.day, own.date.month, year):
                return None
            date = dt.date(year, own.date.month, own.date.day)
        return _RangeStart(date, own, "", "", own.weekday)
    weekday = _WEEKDAY_PREFIX.match(text)
    bare = _DAY_ONLY.fullmatch(text[weekday.end() :] if weekday else text)
    if bare is None:
        return None
    day = int(bare.group("d"))
    if not 1 <= day < end.date.day:
        return None  # "14-12 maart" is no range within one month
    date = dt.date(end.date.year, end.date.month, day)
    return _RangeStart(date, None, bare.group("d"), bare.group("ord") or "", weekday)


def _render_range_start(
    start: _RangeStart, end: ParsedDate, new: dt.date, new_end: dt.date, days: int
) -> str:
    """The first end in its own format, with the month (and year) added where they now differ
    from the second end's ("12-14 maart" +18 -> "30 maart-1 april")."""
    if start.own is not None and start.own.has_year:
        return _render(start.own, new, _new_weekday(start.weekday, new, True, days))
    need_month = (new.year, new.month) != (new_end.year, new_end.month)
    need_year = end.has_year and new.year != new_end.year
    end_groups = end.match.groupdict()
    if start.own is not None:
        body = _render_core(start.own, new)
        if need_year:
            raw_year = end_groups.get("y") or f"{new_end.year:04d}"
            separator = start.own.match.group("sep") if start.own.kind == "numeric" else " "
            body += separator + _render_year(raw_year, new.year)
    elif not need_month:
        padded = end.kind == "iso" or (end.kind == "numeric" and _numeric_padding(end_groups))
        body = _render_number(start.day_raw, new.day, padded=padded) + start.ordinal
    elif end.kind == "written":
        body = f"{_render_number(start.day_raw, new.day)}{start.ordinal}{end_groups['s1']}"
        body += _render_month(end_groups["m"], end_groups["mdot"], new.month)
        if need_year:
            body += (end_groups["s2"] or " ") + _render_year(end_groups["y"], new.year)
    elif end.kind == "numeric":
        padded = _numeric_padding(end_groups)
        separator = end_groups["sep"]
        body = (
            f"{_render_number(start.day_raw, new.day, padded=padded)}{separator}"
            f"{_render_number(end_groups['m'], new.month, padded=padded)}"
        )
        if need_year:
            body += separator + _render_year(end_groups["y"], new.year)
    elif end.kind == "roman":
        separator = end_groups["sep"]
        body = f"{_render_number(start.day_raw, new.day)}{separator}{_ROMAN_BY_MONTH[new.month]}"
        if need_year:
            body += separator + _render_year(end_groups["y"], new.year)
    else:  # an ISO end: the whole date
        body = new.isoformat()
    if start.weekday is None:
        return body
    return _render_weekday(start.weekday, _new_weekday(start.weekday, new, end.has_year, days)) + (
        body
    )


def shift_date_range_text(text: str, days: int) -> str | None:
    """A date range moved by ``days``, each end in its own format; None if it is no range.

    The first end may be a bare day ("12-14 maart 2024") or a day-month ("28 feb - 3 mrt
    2024") that takes its month and year from the second end; where after the shift they
    differ, the first end is written with them ("30 maart-1 april 2024") so that no part of
    the range keeps its real value.
    """
    core = text.strip(" \t\n()[],;")
    offset = text.find(core) if core else -1
    if offset < 0:
        return None
    prefix, suffix = text[:offset], text[offset + len(core) :]
    for separator in _RANGE_SEPARATOR.finditer(core):
        left, right = core[: separator.start()], core[separator.end() :]
        if not left or not right:
            continue
        end = parse_date(right)
        if end is None or not end.has_day or end.prefix or end.suffix:
            continue
        start = _range_start(left, end)
        if start is None or start.date > end.date:
            continue
        new_start, new_end = _shift(start.date, days), _shift(end.date, days)
        if new_start is None or new_end is None:
            return None
        rendered_end = _render(end, new_end, _new_weekday(end.weekday, new_end, end.has_year, days))
        rendered_start = _render_range_start(start, end, new_start, new_end, days)
        return prefix + rendered_start + separator.group(0) + rendered_end + suffix
    return None


_AGE = re.compile(
    r"(?P<pre>(?:leeftijd|lft\.?|aged?)\s*:?\s*)?(?P<n>\d{1,3})"
    r"(?P<post>\s*(?:-\s*)?(?:jarige?|jaar(?:\s+oud)?|jr\.?|j\.?|years?(?:\s+old)?))?",
    re.IGNORECASE,
)


def _birthdate_replacement(
    text: str, policy: ReplacementPolicy, reference_date: dt.date | None
) -> str | None:
    """Generalised Age_Birthdate text, or None when it must become a tag."""
    age = _AGE.fullmatch(text.strip())
    if age is not None:
        years = int(age.group("n"))
        if years < policy.age_group_from:
            return text
        lead = text[: len(text) - len(text.lstrip())]
        return lead + text.strip().replace(age.group("n"), f"{policy.age_group_from}+", 1)
    if policy.birthdate == "tag":
        return None
    parsed = parse_date(text)
    if parsed is None or not parsed.has_year:
        return None
    year = parsed.date.year
    if reference_date is not None and reference_date.year - year >= policy.age_group_from:
        # A birth year that implies an age in the top group is as identifying as the age.
        return None
    raw_year = parsed.match.group("y")
    return parsed.prefix + _render_year(raw_year, year) + parsed.suffix


# --------------------------------------------------------------------------- replacement


def _tag(label: str, number: int | None) -> str:
    return f"[{label}]" if number is None else f"[{label}-{number}]"


def render_replacements(
    text: str,
    spans: Sequence[Span],
    *,
    patient_key: str,
    secret: SecretKey,
    policy: ReplacementPolicy,
    reference_date: dt.date | None = None,
) -> list[str]:
    """The replacement string of every span, in span order (``spans`` must pass check_spans).

    ``reference_date`` (the note's date) is only used to generalise birth years that imply an
    age in the top age group.
    """
    check_spans(spans, len(text))
    shift = date_shift_days(secret, patient_key, policy) if policy.shift_dates else 0
    numbers: dict[str, dict[str, int]] = {}

    def tag(span: Span, original: str) -> str:
        if not policy.number_tags:
            return _tag(span.label, None)
        seen = numbers.setdefault(span.label, {})
        number = seen.setdefault(normalise_value(original), len(seen) + 1)
        return _tag(span.label, number)

    def factory_for(label: str) -> StreamFactory:
        family = label_family(label)

        def factory(kind: str, value: str) -> KeyedStream:
            return KeyedStream(_digest(secret, "surrogate", patient_key, family, kind, value))

        return factory

    out: list[str] = []
    for span in spans:
        original = text[span.start : span.end]
        replacement: str | None = None
        if span.label == "Date":
            replacement = shift_date_text(original, shift) if policy.shift_dates else None
        elif span.label == "Age_Birthdate":
            replacement = _birthdate_replacement(original, policy, reference_date)
        elif policy.mode == "surrogates":
            replacement = surrogate_for(span.label, original, factory_for(span.label))
        out.append(tag(span, original) if replacement is None else replacement)
    return out


def apply_replacements(
    text: str,
    spans: Sequence[Span],
    *,
    patient_key: str,
    secret: SecretKey,
    policy: ReplacementPolicy,
    reference_date: dt.date | None = None,
) -> str:
    """``text`` with every span replaced; everything outside the spans is unchanged.

    The output is built once from the gaps and :func:`render_replacements`.
    """
    replacements = render_replacements(
        text,
        spans,
        patient_key=patient_key,
        secret=secret,
        policy=policy,
        reference_date=reference_date,
    )
    pieces: list[str] = []
    position = 0
    for span, replacement in zip(spans, replacements, strict=True):
        pieces.append(text[position : span.start])
        pieces.append(replacement)
        position = span.end
    pieces.append(text[position:])
    return "".join(pieces)


def deidentify_note(
    note: Note, spans: Sequence[Span], *, secret: SecretKey, policy: ReplacementPolicy
) -> str:
    """De-identified text of ``note``; the patient key is ``patient_id``, else ``note_id``."""
    return apply_replacements(
        note.text,
        spans,
        patient_key=note.patient_id or note.note_id,
        secret=secret,
        policy=policy,
        reference_date=note.note_date or note.metadata.document_date,
    )

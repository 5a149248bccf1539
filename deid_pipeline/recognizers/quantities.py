"""Protected quantities: clinical numbers a researcher relies on, which no replacement may touch.

:func:`find_protected_quantities` finds, in Dutch and Belgian writing:

* ``measure``: a number with a unit, "0,4 ml", "2-3 mg", "1000 mg", "12,3 x10^9/l", "96%",
  "38,2 °C", "24,1 kg/m2", "5 E/l", "3 weken"; any number with a decimal comma ("7,2");
* ``dose``: "3dd", "2 dd 500 mg", "3dd1", "2x/dag", "2 x per dag", schemes "1-0-1";
* ``lab``: a lab name with its value, "Hb 7.2", "CRP: 45", "Na 140", "eGFR >60";
* ``vital``: "RR 120/80 mmHg", "BD 120/80", "pols 72/min", "T 38,2", "sat 96%";
* ``score``: "ECOG 1", "VAS 7/10", "GCS E4M6V5", "NYHA II", "MMSE 24/30", "Apgar 9/10";
* ``time``: clock times "14:30", "14.30 uur", "8u30", "om 9 uur", "om 14.30";
* ``soap``: SOAP/SOEP letters at the start of a line, "S:", "O/".

Post-processing (:mod:`deid_pipeline.postprocess`) keeps model spans off these characters; only
a pattern recognizer (date, phone, identifier ...) or metadata can claim them. So the finder is
generous with clinical numbers but never claims what is PHI-shaped on its own:

* years are no unit: "92 jaar" is an age (generalised from 90 up), "sinds 3 jaar" is left to
  the model and the replacement, which keeps ages under 90 as written;
* a number right after a street name ("Dorpsstraat 12 E") takes no one-letter unit, it is a
  house number;
* a bare number without unit or context ("12", "14.30") is not protected.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "UNIT_AHEAD",
    "ProtectedQuantity",
    "QuantityKind",
    "find_protected_quantities",
    "protected_ranges",
]

QuantityKind = Literal["measure", "dose", "lab", "vital", "score", "time", "soap"]


@dataclass(frozen=True, slots=True)
class ProtectedQuantity:
    """A protected quantity ``[start, end)`` and what it is."""

    start: int
    end: int
    kind: QuantityKind


# --------------------------------------------------------------------------- building blocks

#: A number: digits with decimal comma/point or thousands separators ("0,4", "1.000", "7.2").
_NUM: Final = r"\d+(?:[.,]\d+)*"
#: A comparator or sign before a value.
_CMP: Final = r"(?:[<>≤≥±~]=?\s?|\+/-\s?)?"
#: Powers of ten in counts: "x10^9", "x 10E9", "×10⁹", "10^12".
_POWER: Final = (
    r"[x×*]\s?10\s?(?:\^|\*\*|[eE])?\s?-?\d{1,2}|10\s?(?:\^|\*\*|[eE])\s?-?\d{1,2}"
    r"|(?:[x×*]\s?)?10[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+"
)
#: A value: number, range or fraction ("2-3", "2 à 3", "0,5 tot 1", "1/2").
_VALUE: Final = rf"{_CMP}{_NUM}(?:(?:\s?[-–/]\s?|\s(?:à|a|tot|t/m)\s){_NUM})?"

# Units, case-insensitive; each alternative must not be followed by a letter.
_UNIT_WORDS: Final = (
    # mass, volume, amount of substance, activity
    "mg", "mcg", "µg", "μg", "ug", "microgram", "milligram", "gram", "ng", "pg", "gr", "kg", "g",
    "ml", "dl", "cl", "liter", "l", "cc", "mmol", "µmol", "μmol", "umol", "nmol", "pmol",
    "mol", "meq", "mosmol", "mosm", "ie", "iu", "eenheden", "eh", "e", "u",
    # pressure, temperature, percent, frequency
    "mmhg", "cmh2o", "kpa", "°c", "° c", "°", "graden celsius", "graden", "%", "bpm", "spm",
    "slagen per minuut", "slagen/min", "per minuut", "p/min", "/min", "/minuut", "hz",
    # length, area, body mass index, dose per area
    "mm", "cm", "m", "km", "µm", "μm", "m2", "m²", "kg/m2", "kg/m²", "kg/m^2",
    # time (years are no unit: see the module docstring)
    "sec", "seconden", "seconde", "s", "min", "minuten", "minuut", "uur", "uren", "u", "h",
    "dagen", "dag", "dgn", "d", "weken", "week", "wkn", "wk", "maanden", "maand", "mnd",
    # frequency of dosing
    "dd", "d.d.", "dgs", "daags", "keer", "maal", "x", "×",
    # dosage forms
    "tabletten", "tablet", "tabl", "tbl", "tab", "capsules", "capsule", "caps", "druppels",
    "druppel", "gtt", "pufjes", "pufje", "puffs", "puf", "inhalaties", "inhalatie", "zakjes",
    "zakje", "sachets", "sachet", "ampullen", "ampul", "amp", "flacons", "flacon", "spuiten",
    "spuit", "pleisters", "pleister", "zetpillen", "zetpil", "stuks",
    # radiology, energy, electro
    "gy", "cgy", "msv", "mbq", "kcal", "kj", "mv", "µv", "ms", "fl", "cells",
)  # fmt: skip
_SINGLE_LETTER_UNITS: Final = frozenset({"g", "l", "e", "u", "m", "s", "h", "d", "x"})
_UNIT_ATOM: Final = (
    "(?:" + "|".join(re.escape(u) for u in sorted(_UNIT_WORDS, key=len, reverse=True)) + ")"
)
_PER: Final = r"(?:\s?/\s?|\s?p/\s?|\s+per\s+)"
_UNIT_DENOMINATOR: Final = rf"(?:{_NUM}\s?)?(?:{_UNIT_ATOM}|nacht|24\s?uur|kg|dag)"
#: A unit, possibly compound: "mmol/l", "E/l", "x10^9/l", "/min", "mg/kg/dag", "2x per dag".
_UNIT: Final = (
    rf"(?:(?:{_POWER})(?:\s?/\s?{_UNIT_DENOMINATOR})?"
    rf"|/\s?{_UNIT_DENOMINATOR}"
    rf"|{_UNIT_ATOM}(?:{_PER}{_UNIT_DENOMINATOR})*)(?![^\W\d_])"
)
#: Lookahead for code that must know whether a unit follows (addresses: "12 mg" is no number).
UNIT_AHEAD: Final = re.compile(
    rf"[ \t\u00a0]?(?:{_UNIT}|(?:jaar|jr|jarige?)(?![^\W\d_]))", re.IGNORECASE
)

_MEASURE: Final = re.compile(
    rf"(?<![\w.,])(?P<value>{_VALUE})(?P<gap>[ \t\u00a0]?)(?P<unit>{_UNIT})", re.IGNORECASE
)
#: Any number with a decimal comma is a measurement in Dutch writing ("7,2", "0,4").
_DECIMAL_COMMA: Final = re.compile(r"(?<![\w.,])\d+,\d+(?![\w.,]|[.,]?\d)")
_DOSE: Final = re.compile(
    rf"(?<![\w.,]){_NUM}\s?(?:dd|d\.d\.|x)\s?{_NUM}(?:\s?(?:{_UNIT}))?(?![^\W\d_])"
    r"|(?<![\w.,\-])\d(?:-\d){2,3}(?![\w\-]|[.,]\d)",
    re.IGNORECASE,
)
_STREET_BEFORE: Final = re.compile(
    r"(?:straat|laan|weg|plein|gracht|kade|dijk|singel|steeg|dreef|lei|hof|pad|markt|park|veld"
    r"|baan|ring|wal|plantsoen|erf|dam|burgwal|steenweg|boulevard|allee|promenade|plaats)"
    r"[ \t\u00a0]+$",
    re.IGNORECASE,
)

# Keyword + value. Short, ambiguous keywords are case-sensitive ("Na 140", not "na 3 dagen").
_LAB_EXACT: Final = (
    "Hb", "Ht", "Hct", "MCV", "MCH", "MCHC", "CRP", "BSE", "Na", "K", "Ca", "Mg", "Cl", "PO4",
    "eGFR", "MDRD", "HbA1c", "ALAT", "ASAT", "GGT", "gGT", "AF", "LD", "LDH", "TSH", "FT4", "fT4",
    "T3", "INR", "APTT", "PT", "pH", "pCO2", "pO2", "PaO2", "PaCO2", "HCO3", "BE", "CK", "CK-MB",
    "BNP", "NT-proBNP", "PSA", "LDL", "HDL", "TG", "PCT", "IgE", "IgG", "IgA", "IgM", "Lp(a)",
    "FiO2", "Hb1Ac", "ESR", "WBC", "Plt", "Trombo", "Leuco",
)  # fmt: skip
_LAB_WORDS: Final = (
    "leucocyten", "leukocyten", "leuco's", "leuco", "leuko", "trombocyten", "trombo's", "trombo",
    "erytrocyten", "ery", "reticulocyten", "retics", "kreatinine", "kreat", "creatinine", "creat",
    "ureum", "glucose", "gluc", "bilirubine", "bili", "albumine", "alb", "lactaat", "troponine",
    "trop", "hs-tnt", "ferritine", "cholesterol", "chol", "triglyceriden", "foliumzuur",
    "vitamine b12", "vitamine d", "vit b12", "vit d", "b12", "d-dimeer", "ddimeer", "fibrinogeen",
    "amylase", "lipase", "ammoniak", "kalium", "natrium", "calcium", "magnesium", "fosfaat",
    "chloride", "procalcitonine", "neutrofielen", "neutro", "lymfocyten", "lymfo", "eosinofielen",
    "monocyten", "hemoglobine", "hematocriet", "zuurstof", "osmolaliteit", "urinezuur",
)  # fmt: skip
_VITAL_EXACT: Final = (
    "RR", "BD", "HF", "AF", "AH", "T", "P", "SpO2", "SaO2", "MAP", "CVD", "EtCO2",
)  # fmt: skip
_VITAL_WORDS: Final = (
    "bloeddruk", "tensie", "pols", "polsfrequentie", "hartfrequentie", "hartslag", "ademfrequentie",
    "ademhalingsfrequentie", "temp", "temperatuur", "sat", "saturatie", "o2-sat", "o2 sat",
    "gewicht", "lengte", "bmi", "buikomvang", "glucose", "zuurstof", "diurese", "vochtbalans",
)  # fmt: skip
_SCORE_EXACT: Final = (
    "ECOG", "WHO", "WHO-PS", "KPS", "ASA", "NYHA", "CCS", "VAS", "NRS", "GCS", "EMV", "MMSE",
    "MoCA", "CHA2DS2-VASc", "CHA2DS2VASc", "CHADS2", "HAS-BLED", "MELD", "GOLD", "MRC", "SNAQ",
    "MUST", "DOS", "MEWS", "EWS", "qSOFA", "SOFA", "APACHE", "CURB-65", "CRB-65", "PESI", "mRS",
    "NIHSS", "BI-RADS", "PI-RADS", "TI-RADS", "LI-RADS", "CAM", "BPS", "CPOT", "RASS", "FAST",
    "TNM", "ISS", "AIS", "AVPU", "SCORE2", "HEART", "CFS",
)  # fmt: skip
_SCORE_WORDS: Final = (
    "apgar", "karnofsky", "wells", "child-pugh", "child pugh", "fontaine", "rutherford",
    "gleason", "tanner", "barthel", "katz", "braden", "norton", "rankin", "bishop", "borg",
    "pijnscore", "pijn", "score", "klasse", "graad", "stadium", "fase", "cijfer", "visus",
    "kracht", "spierkracht", "hunt en hess", "fisher", "killip", "lachman", "pijnscore vas",
)  # fmt: skip


def _keywords(exact: tuple[str, ...], words: tuple[str, ...]) -> str:
    exact_part = "|".join(re.escape(w) for w in sorted(exact, key=len, reverse=True))
    words_part = "|".join(
        re.escape(w).replace(r"\ ", r"\s+") for w in sorted(words, key=len, reverse=True)
    )
    return rf"(?:(?-i:{exact_part})|(?i:{words_part}))"


_SEP: Final = r"[ \t\u00a0]*(?:[:=][ \t\u00a0]*|(?:van|is|was|bedraagt)[ \t\u00a0]+)?"
_LAB: Final = re.compile(
    rf"(?<![\w\-])(?P<key>{_keywords(_LAB_EXACT, _LAB_WORDS)}){_SEP}"
    rf"(?P<value>{_CMP}{_NUM}(?:\s?[-–]\s?{_NUM})?)(?![\w/]|[.,\-]\d|[ \t\u00a0]\d{{4}}(?!\d))"
    rf"(?:[ \t\u00a0]?(?P<unit>(?i:{_UNIT})))?"
)
_VITAL: Final = re.compile(
    rf"(?<![\w\-])(?P<key>{_keywords(_VITAL_EXACT, _VITAL_WORDS)}){_SEP}"
    rf"(?P<value>{_CMP}{_NUM}(?:\s?/\s?{_NUM})?(?:\s?[-–]\s?{_NUM}(?:\s?/\s?{_NUM})?)?)"
    rf"(?![\w]|[.,\-]\d|/\d)(?:[ \t\u00a0]?(?P<unit>(?i:{_UNIT})))?",
)
_ROMAN: Final = r"(?:IV|V?I{1,3}|V)[abcABC]?"
_EMV: Final = r"E\s?[1-4]\s?M\s?[1-6]\s?V\s?(?:[1-5]|T|A)"
_SCORE: Final = re.compile(
    rf"(?<![\w\-])(?P<key>{_keywords(_SCORE_EXACT, _SCORE_WORDS)})"
    rf"(?:[ \t\u00a0]+(?i:klasse|graad|stadium|score))?{_SEP}"
    rf"(?P<value>{_EMV}(?:\s?\(\s?\d{{1,2}}\s?\))?"
    rf"|\d{{1,2}}\s?\(\s?{_EMV}\s?\)"
    rf"|{_CMP}{_NUM}(?:\s?[-–/+=]\s?{_NUM})*(?:[ \t\u00a0]?%)?"
    rf"|(?-i:{_ROMAN})(?![\w])(?:\s?[-–/]\s?(?-i:{_ROMAN}))?"
    rf"|(?-i:[A-D])(?![\w]))"
    rf"(?![\w]|[.,]\d)"
)
#: A Glasgow coma score on its own: "E4M6V5", "E3 M5 V4".
_EMV_ALONE: Final = re.compile(rf"(?<![\w]){_EMV}(?![\w])")
#: Denominators of scales written before their keyword: "2/6 systolische souffle", "4/5 kracht".
_SCALE_BEFORE_WORD: Final = re.compile(
    r"(?<![\w.,/\-])\d{1,2}\s?/\s?\d{1,2}(?=[ \t\u00a0]+(?:\w+[ \t\u00a0]+)?"
    r"(?:souffle|kracht|spierkracht|pijn)\b)",
    re.IGNORECASE,
)
_HOUR: Final = r"(?:[01]?\d|2[0-3])"
_TIME: Final = re.compile(
    rf"(?<![\w.,:/])(?:{_HOUR}:[0-5]\d(?::[0-5]\d)?(?![\d:]|[.,]\d)"
    rf"(?:[ \t\u00a0]?(?:uur|u|h)(?![\w]))?"
    rf"|{_HOUR}\.[0-5]\d[ \t\u00a0]?(?:uur|u|h)(?![\w])"
    rf"|{_HOUR}[uUhH][0-5]\d(?![\w])"
    rf"|{_HOUR}[ \t\u00a0]?(?:uur|u|h)(?![\w]))",
    re.IGNORECASE,
)
#: "om 14.30": a dot time needs a word of time before it ("14.30" alone may be a lab value).
_TIME_AFTER_WORD: Final = re.compile(
    rf"(?<![\w])(?:om|vanaf|tot|rond|omstreeks|tussen|sinds|voor|na|van|en)[ \t\u00a0]+"
    rf"(?P<time>{_HOUR}\.[0-5]\d)(?![\w]|[.,:]\d)",
    re.IGNORECASE,
)
_SOAP: Final = re.compile(r"(?m)^[ \t]*(?:[SOEAP]|\([SOEAP]\))[ \t]*[:/]")


def _measures(text: str) -> Iterator[ProtectedQuantity]:
    for match in _MEASURE.finditer(text):
        unit = match.group("unit")
        if unit.lower() in _SINGLE_LETTER_UNITS and _STREET_BEFORE.search(
            text, max(0, match.start() - 40), match.start()
        ):
            continue  # "Dorpsstraat 12 E": a house number, not 12 units
        yield ProtectedQuantity(match.start(), match.end(), "measure")
    for match in _DECIMAL_COMMA.finditer(text):
        yield ProtectedQuantity(match.start(), match.end(), "measure")


def _doses(text: str) -> Iterator[ProtectedQuantity]:
    for match in _DOSE.finditer(text):
        yield ProtectedQuantity(match.start(), match.end(), "dose")


def _keyed(text: str) -> Iterator[ProtectedQuantity]:
    kinds: tuple[tuple[QuantityKind, re.Pattern[str]], ...] = (
        ("lab", _LAB),
        ("vital", _VITAL),
        ("score", _SCORE),
    )
    for kind, pattern in kinds:
        for match in pattern.finditer(text):
            yield ProtectedQuantity(match.start(), match.end(), kind)
    for match in _EMV_ALONE.finditer(text):
        yield ProtectedQuantity(match.start(), match.end(), "score")
    for match in _SCALE_BEFORE_WORD.finditer(text):
        yield ProtectedQuantity(match.start(), match.end(), "score")


def _times(text: str) -> Iterator[ProtectedQuantity]:
    for match in _TIME.finditer(text):
        yield ProtectedQuantity(match.start(), match.end(), "time")
    for match in _TIME_AFTER_WORD.finditer(text):
        yield ProtectedQuantity(match.start("time"), match.end("time"), "time")


def _soap(text: str) -> Iterator[ProtectedQuantity]:
    for match in _SOAP.finditer(text):
        start = match.start() + len(match.group(0)) - len(match.group(0).lstrip())
        yield ProtectedQuantity(start, match.end(), "soap")


def find_protected_quantities(text: str) -> list[ProtectedQuantity]:
    """Every protected quantity of ``text``, sorted by (start, end); they may overlap."""
    found = {
        quantity
        for finder in (_measures, _doses, _keyed, _times, _soap)
        for quantity in finder(text)
        if quantity.end > quantity.start
    }
    return sorted(found, key=lambda q: (q.start, q.end, q.kind))


def protected_ranges(text: str) -> list[tuple[int, int]]:
    """The characters of :func:`find_protected_quantities` as sorted, disjoint ranges."""
    ranges: list[tuple[int, int]] = []
    for quantity in find_protected_quantities(text):
        if ranges and quantity.start <= ranges[-1][1]:
            ranges[-1] = (ranges[-1][0], max(ranges[-1][1], quantity.end))
        else:
            ranges.append((quantity.start, quantity.end))
    return ranges

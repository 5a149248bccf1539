"""Protected quantities: clinical numbers a researcher relies on, which no replacement may touch.

:func:`find_protected_quantities` finds, in Dutch and Belgian writing:

* ``measure``: a number with a unit, "0,4 ml", "2-3 mg", "1000 mg", "12,3 x10^9/l", "96%",
  "38,2 °C", "24,1 kg/m2", "5 E/l", "3 weken"; any number with a decimal comma ("7,2"); a
  reference range in brackets "(10.0 - 13.3)", "(< 5)", a decimal range "4.2-5.5", a bound
  "<5", a dosing interval "q6h";
* ``dose``: "3dd", "2 dd 500 mg", "3dd1", "2x/dag", "2 x per dag", schemes "1-0-1";
* ``lab``: a lab name with its value, "Hb 7.2", "CRP: 45", "Na 140", "eGFR >60"; lab names
  with numbers "CA 19-9";
* ``vital``: "RR 120/80 mmHg", "BD 120/80", "pols 72/min", "T 38,2", "sat 96%";
* ``score``: "ECOG 1", "VAS 7/10", "GCS E4M6V5", "NYHA II", "MMSE 24/30", "Apgar 9/10";
* ``time``: clock times "14:30", "14.30 uur", "8u30", "om 9 uur", "om 14.30" (but "van 03.02"
  is left to the date grammar);
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
    "STREET_SUFFIXES",
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
_CMP: Final = r"(?:[<>≤≥±~]=?[ \u00a0]?|\+/-[ \u00a0]?)?"
#: Powers of ten in counts: "x10^9", "x 10E9", "×10⁹", "10^12".
_POWER: Final = (
    r"[x×*][ \u00a0]?10[ \u00a0]?(?:\^|\*\*|[eE])?[ \u00a0]?-?\d{1,2}"
    r"|10[ \u00a0]?(?:\^|\*\*|[eE])[ \u00a0]?-?\d{1,2}"
    r"|(?:[x×*][ \u00a0]?)?10[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+"
    r"|10\*\d{1,2}"
)
#: A value: number, range or fraction ("2-3", "2 à 3", "0,5 tot 1", "1/2").
_VALUE: Final = (
    rf"{_CMP}{_NUM}(?:(?:[ \u00a0]?[-–/][ \u00a0]?|[ \u00a0](?-i:à|a|tot|t/m|en)[ \u00a0]){_NUM})?"
)

# Units, case-insensitive; each alternative must not be followed by a letter.
_UNIT_WORDS: Final = (
    # mass, volume, amount of substance, activity
    "mg", "mcg", "µg", "μg", "ug", "microgram", "microg", "milligram", "gram", "ng", "pg", "gr",
    "kg", "g",
    "ml", "dl", "cl", "liter", "l", "cc", "mmol", "µmol", "μmol", "umol", "nmol", "pmol",
    "mol", "meq", "mosmol", "mosm", "ie", "iu", "eenheden", "eh", "e", "u", "me", "mu", "ku",
    "mie", "miu",
    # pressure, temperature, percent, frequency
    "mmhg", "cmh2o", "kpa", "°c", "° c", "°", "ºc", "º", "graden celsius", "graden", "%", "bpm",
    "spm", "sl/min", "slagen/min",
    "slagen per minuut", "slagen/min", "per minuut", "p/min", "/min", "/minuut", "hz",
    # length, area, body mass index, dose per area
    "mm", "cm", "m", "km", "µm", "μm", "m2", "m²", "kg/m2", "kg/m²", "kg/m^2",
    # time (years are no unit: see the module docstring)
    "sec", "seconden", "seconde", "s", "min", "minuten", "minuut", "uur", "uren", "u", "h", "dg",
    "meter", "meters", "pack years", "packyears", "trappen",
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
_PER: Final = r"(?:[ \u00a0]?/[ \u00a0]?|[ \u00a0]?p/[ \u00a0]?|[ \u00a0]+per[ \u00a0]+)"
_NOT_DENOMINATOR: Final = r"(?!(?i:x|×|dd|keer|maal)(?!\w))"  # "29/X" is a Roman-month date
_UNIT_DENOMINATOR: Final = (
    rf"(?:{_NUM}[ \u00a0]?)?{_NOT_DENOMINATOR}(?:{_UNIT_ATOM}|nacht|24[ \u00a0]?uur|kg|dag)"
)
#: A unit, possibly compound: "mmol/l", "E/l", "x10^9/l", "/min", "mg/kg/dag", "2x per dag".
_UNIT: Final = (
    rf"(?:(?:{_POWER})(?:[ \u00a0]?/[ \u00a0]?{_UNIT_DENOMINATOR})?"
    rf"|/[ \u00a0]?{_UNIT_DENOMINATOR}"
    rf"|{_UNIT_ATOM}(?:{_PER}{_UNIT_DENOMINATOR})*)(?!\w)"
)
#: Lookahead for code that must know whether a unit follows (addresses: "12 mg" is no number).
UNIT_AHEAD: Final = re.compile(
    rf"[ \t\u00a0]?(?:{_UNIT}|(?:jaar|jr|jarige?)(?![^\W\d_]))", re.IGNORECASE
)

_MEASURE: Final = re.compile(
    rf"(?<![\w.,])(?P<value>{_VALUE})(?P<gap>[ \t\u00a0]?)(?P<unit>{_UNIT})", re.IGNORECASE
)
#: Any number with a decimal comma is a measurement in Dutch writing ("7,2", "0,4").
_DECIMAL_COMMA: Final = re.compile(r"(?<![\w.,])\d+,\d+(?![\w]|[.,]\d)")
#: A bound before a number is a lab value ("<5", "> 353"); nobody writes it before PHI.
_BOUND: Final = re.compile(r"(?<![\w<>])[<>≤≥][ \u00a0]?\d+(?:[.,]\d+)?(?![\w]|[.,]\d)")
#: Decimal ranges ("4.2-5.5", "0,37 - 0,47"): reference values, never dates or ids.
_DECIMAL_RANGE: Final = re.compile(
    r"(?<![\w.,\-])\d+[.,]\d+[ \u00a0]?[-–][ \u00a0]?\d+[.,]\d+(?![\w]|[.,\-]\d)"
)
#: A reference range after "ref": "(ref 0 - 170)", "ref: 60-80".
_REFERENCE_AFTER_WORD: Final = re.compile(
    r"(?<![\w])(?i:ref(?:erentie)?(?:waarde)?)\.?:?[ \u00a0]?"
    r"(?P<range>\d+(?:[.,]\d+)?[ \u00a0]?[-–][ \u00a0]?\d+(?:[.,]\d+)?)(?![\w]|[.,\-]\d)"
)
#: Dosing intervals: "q6h", "q12u".
_INTERVAL: Final = re.compile(r"(?<![\w])q\d{1,2}[hu](?![\w])", re.IGNORECASE)
_DOSE: Final = re.compile(
    rf"(?<![\w.,]){_NUM}[ \u00a0]?(?:dd|d\.d\.|x)[ \u00a0]?{_NUM}"
    rf"(?:[ \u00a0]?(?:{_UNIT}))?(?![^\W\d_])"
    r"|(?<![\w.,\-])\d(?:-\d){2,3}(?![\w\-]|[.,]\d)",
    re.IGNORECASE,
)
#: Endings of Dutch and Flemish street names ("Dorpsstraat", "Beatrixkaai", "Meir" has none).
STREET_SUFFIXES: Final = (
    "straat", "straatje", "laan", "weg", "plein", "pleintje", "gracht", "kade", "kaai", "dijk",
    "singel", "steeg", "dreef", "lei", "hof", "pad", "markt", "park", "veld", "baan", "ring",
    "wal", "plantsoen", "erf", "dam", "burgwal", "steenweg", "boulevard", "allee", "promenade",
    "plaats", "vest", "dries", "berg", "hoek", "kant", "zijde", "haven", "oord", "heide",
)  # fmt: skip
_STREET_BEFORE: Final = re.compile(
    "(?:" + "|".join(STREET_SUFFIXES) + r")[ \t\u00a0]+$", re.IGNORECASE
)
#: A measure ending in a postcode shape ("3 - 6107 CC") is an address, not 6107 cc; units
#: written in capitals ("5000 IE", "2000 ML") are no postcode.
_POSTCODE_END: Final = re.compile(r"[1-9]\d{3}[ \u00a0]?(?P<letters>[A-Z]{2})$")
_CAPITAL_UNITS: Final = frozenset({"IE", "IU", "ML", "MG", "KG", "CM", "MM", "GR", "UL", "DD"})

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
    "TNM", "ISS", "AIS", "AVPU", "SCORE2", "HEART", "CFS", "GDS", "4AT", "EDSS", "APACHE II",
    "ADL", "IADL", "PPS", "BPRS", "HADS", "PHQ-9", "GAF",
)  # fmt: skip
_SCORE_WORDS: Final = (
    "apgar", "karnofsky", "wells", "child-pugh", "child pugh", "fontaine", "rutherford",
    "gleason", "tanner", "barthel", "katz", "braden", "norton", "rankin", "bishop", "borg",
    "hunt en hess", "fisher", "killip", "lachman", "hoehn en yahr", "alvarado", "caprini",
    "padua", "tinetti", "norton", "katz-adl",
)  # fmt: skip


def _keywords(exact: tuple[str, ...], words: tuple[str, ...]) -> str:
    exact_part = "|".join(re.escape(w) for w in sorted(exact, key=len, reverse=True))
    words_part = "|".join(
        re.escape(w).replace(r"\ ", r"[ \u00a0]+") for w in sorted(words, key=len, reverse=True)
    )
    return rf"(?:(?-i:{exact_part})|(?i:{words_part}))"


#: Between a keyword and its value: a space, ":" or "=" ("P20766821" is an id, not a pulse).
_SEP: Final = (
    r"(?:[ \t\u00a0]*[:=][ \t\u00a0]*|[ \t\u00a0]+(?:(?:van|is|was|bedraagt)[ \t\u00a0]+)?)"
)
_LAB: Final = re.compile(
    rf"(?<![\w\-])(?P<key>{_keywords(_LAB_EXACT, _LAB_WORDS)}){_SEP}"
    rf"(?P<value>{_CMP}{_NUM}(?:[ \u00a0]?[-–][ \u00a0]?{_NUM})?)"
    rf"(?![\w/]|[.,\-]\d|[ \t\u00a0]\d{{4}}(?!\d))"
    rf"(?:[ \t\u00a0]?(?P<unit>(?i:{_UNIT})))?"
)
_VITAL: Final = re.compile(
    rf"(?<![\w\-])(?P<key>{_keywords(_VITAL_EXACT, _VITAL_WORDS)}){_SEP}"
    rf"(?P<value>{_CMP}{_NUM}(?:[ \u00a0]?/[ \u00a0]?{_NUM})?"
    rf"(?:[ \u00a0]?[-–][ \u00a0]?{_NUM}(?:[ \u00a0]?/[ \u00a0]?{_NUM})?)?)"
    rf"(?![\w]|[.,\-]\d|/\d)(?:[ \t\u00a0]?(?P<unit>(?i:{_UNIT})))?",
)
_ROMAN: Final = r"(?:IV|V?I{1,3}|V)[abcABC]?"
_EMV: Final = r"E[ \u00a0]?[1-4][ \u00a0]?M[ \u00a0]?[1-6][ \u00a0]?V[ \u00a0]?(?:[1-5]|T|A)"
#: A value shaped like a full date ("02-10-18") is no score of "pijn" in a table; only Apgar
#: has three numbers ("Apgar 8/9/10").
_DATE_SHAPE: Final = r"\d{1,2}(?:-\d{1,2}-|/\d{1,2}/|\.\d{1,2}\.)\d{2,4}(?!\d)"
_SCORE: Final = re.compile(
    rf"(?<![\w\-])(?P<key>{_keywords(_SCORE_EXACT, _SCORE_WORDS)})"
    rf"(?:-(?i:score|PS|ADL)|[ \t\u00a0]+(?i:klasse|graad|stadium|score))?{_SEP}"
    rf"(?P<value>{_EMV}"
    rf"(?:[ \u00a0]?\([ \u00a0]?\d{{1,2}}[ \u00a0]?\)|[ \u00a0]?/[ \u00a0]?\d{{1,2}})?"
    rf"|\d{{1,2}}[ \u00a0]?\([ \u00a0]?{_EMV}[ \u00a0]?\)"
    rf"|(?:(?<=(?i:apgar)[ :=])|(?<=(?i:apgar)\t)|(?!{_DATE_SHAPE})){_CMP}{_NUM}"
    rf"(?:[ \u00a0]?[-–/+=][ \u00a0]?{_NUM})*(?:[ \t\u00a0]?%)?"
    rf"|(?-i:{_ROMAN})(?![\w])(?:[ \u00a0]?[-–/][ \u00a0]?(?-i:{_ROMAN}))?"
    rf"|(?-i:[A-D])(?![\w]))"
    rf"(?![\w]|[.,]\d)"
)
#: Everyday words before a score take small whole numbers only, right after the word
#: ("pijn 7/10", "graad 2/6", "fase II"; not "bij pijn\t19/10" in a table of dates).
_SMALL_SCORE: Final = re.compile(
    r"(?<![\w\-])(?i:pijnscore(?:[ \u00a0]vas)?|pijn|score|cijfer|klasse|graad|stadium|fase"
    r"|visus|kracht|spierkracht)"
    r"[ \u00a0]?[:=]?[ \u00a0]?"
    rf"(?:(?:10|\d)(?:[ \u00a0]?[-/][ \u00a0]?(?:10|\d))?|(?-i:{_ROMAN})|(?-i:[A-D]))"
    r"(?![\w/]|[.,\-]\d)"
)
#: A Glasgow coma score on its own: "E4M6V5", "E3 M5 V4".
_EMV_ALONE: Final = re.compile(rf"(?<![\w]){_EMV}(?![\w])")
#: Denominators of scales written before their keyword: "2/6 systolische souffle", "4/5 kracht".
_SCALE_BEFORE_WORD: Final = re.compile(
    r"(?<![\w.,/\-])\d{1,2}[ \u00a0]?/[ \u00a0]?\d{1,2}(?=[ \u00a0]+(?:\w+[ \u00a0]+)?"
    r"(?:souffle|kracht|spierkracht)\b)",
    re.IGNORECASE,
)
_HOUR: Final = r"(?:[01]?\d|2[0-3])"
_TIME: Final = re.compile(
    rf"(?:(?<![\w.,:/])|(?<=[^\W\d_]:))(?:{_HOUR}:[0-5]\d(?::[0-5]\d)?(?![\d:]|[.,]\d)"
    rf"(?:[ \t\u00a0]?(?:uur|u|h)(?![\w]))?"
    rf"|{_HOUR}\.[0-5]\d[ \t\u00a0]?(?:uur|u|h)(?![\w])"
    rf"|{_HOUR}[uUhH][0-5]\d(?![\w])"
    rf"|{_HOUR}[ \t\u00a0]?(?:uur|u|h)(?![\w]))",
    re.IGNORECASE,
)
#: "om 14.30": a dot time needs a word of time before it ("14.30" alone may be a lab value).
#: Where it could be a day and month too ("van 03.02"), only "om", "omstreeks", "rond" and
#: "tegen" make it a time.
_TIME_AFTER_WORD: Final = re.compile(
    rf"(?<![\w])(?P<word>om|omstreeks|rond|tegen|vanaf|tot|tussen|sinds|voor|na|van|en)"
    rf"[ \t\u00a0]+(?P<time>(?P<h>{_HOUR})\.(?P<m>[0-5]\d))(?![\w]|[.,:]\d)",
    re.IGNORECASE,
)
_TIME_WORDS: Final = frozenset({"om", "omstreeks", "rond", "tegen"})
#: A reference range in brackets: "(10.0 - 13.3)", "(0,37 - 0,47)", "(< 5)".
_DECIMAL: Final = r"\d+[.,]\d+"
_REFERENCE_RANGE: Final = re.compile(
    rf"\([ \u00a0]?(?:{_DECIMAL}[ \u00a0]?[-–][ \u00a0]?{_NUM}"
    rf"|{_NUM}[ \u00a0]?[-–][ \u00a0]?{_DECIMAL}"
    rf"|[<>≤≥][ \u00a0]?{_NUM})[ \u00a0]?\)"
)
#: Lab tests named with numbers: "CA 19-9", "CA 15-3", "CA-125".
_LAB_NAME: Final = re.compile(r"(?<![\w])CA[ \u00a0-]?(?:19-9|15-3|27-29|72-4|125)(?![\w]|-\d)")
_SOAP: Final = re.compile(r"(?m)^[ \t]*(?:[SOEAP]|\([SOEAP]\))[ \t]*[:/]")


_DOTTED_DAY_MONTH: Final = re.compile(r"(\d{1,2})\.(\d{2})")


def _dotted_dates(value: str) -> bool:
    """Whether both ends of a range are a day and month written with a dot ("23.12")."""
    ends = re.split(r"[ \u00a0]?[-–][ \u00a0]?", value)
    for end in ends:
        match = _DOTTED_DAY_MONTH.fullmatch(end)
        if match is None or not (1 <= int(match.group(1)) <= 31 and 1 <= int(match.group(2)) <= 12):
            return False
    return True


def _measures(text: str) -> Iterator[ProtectedQuantity]:
    for match in _MEASURE.finditer(text):
        unit = match.group("unit")
        if unit == "e" and not match.group("gap"):
            continue  # "2e Exloërmond", "3e lijn": the Dutch ordinal; units are "8E", "8 E"
        if unit.lower() in _SINGLE_LETTER_UNITS and _STREET_BEFORE.search(
            text, max(0, match.start() - 40), match.start()
        ):
            continue  # "Dorpsstraat 12 E": a house number, not 12 units
        postcode = _POSTCODE_END.search(match.group(0))
        if postcode and postcode.group("letters") not in _CAPITAL_UNITS:
            continue
        yield ProtectedQuantity(match.start(), match.end(), "measure")
    for match in _DECIMAL_COMMA.finditer(text):
        yield ProtectedQuantity(match.start(), match.end(), "measure")
    for pattern in (_REFERENCE_RANGE, _BOUND, _DECIMAL_RANGE, _INTERVAL):
        for match in pattern.finditer(text):
            if pattern is _DECIMAL_RANGE and _dotted_dates(match.group(0)):
                continue  # "23.12 - 01.01" is a date range
            yield ProtectedQuantity(match.start(), match.end(), "measure")
    for match in _REFERENCE_AFTER_WORD.finditer(text):
        yield ProtectedQuantity(match.start("range"), match.end("range"), "measure")
    for match in _LAB_NAME.finditer(text):
        yield ProtectedQuantity(match.start(), match.end(), "lab")


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
    for match in _SMALL_SCORE.finditer(text):
        yield ProtectedQuantity(match.start(), match.end(), "score")
    for match in _EMV_ALONE.finditer(text):
        yield ProtectedQuantity(match.start(), match.end(), "score")
    for match in _SCALE_BEFORE_WORD.finditer(text):
        yield ProtectedQuantity(match.start(), match.end(), "score")


def _times(text: str) -> Iterator[ProtectedQuantity]:
    for match in _TIME.finditer(text):
        yield ProtectedQuantity(match.start(), match.end(), "time")
    for match in _TIME_AFTER_WORD.finditer(text):
        could_be_date = 1 <= int(match.group("m")) <= 12 and int(match.group("h")) >= 1
        if could_be_date and match.group("word").lower() not in _TIME_WORDS:
            continue
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

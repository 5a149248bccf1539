"""Metadata recognizer: find the names, birth date and known values that travel with a note.

The hospital knows who the patient and the caregivers are; wherever those names are written in
the note they are PHI, whatever the model says. Matching is case-insensitive on word boundaries
and tolerant to extra whitespace.

Decisions (documented here because tests pin them):

* Titles and forms of address (dhr., mevr., mw., mr., dr., prof., drs., ing., dokter, zuster ...)
  are not PHI and stay *outside* the span: "dhr. J. de Vries" gives a span over "J. de Vries".
  The replacement then reads "dhr. [Name:Patient]", which keeps the note readable.
* Surname particles (van, van der, de, ter, 't, in 't ...) are optional in the text and inside
  the span when written; "Van der Vries", "v.d. Vries" and "Vries" all match a surname
  "van der Vries". Registry order ("Vries, van der") is understood too.
* Double surnames ("Jansen-de Vries") match as a whole and per part.
* Initials: the person's own initials with or without dots ("J.P.", "JP", "J."), and any dotted
  initials before the surname ("J.P.M. de Vries").
* A name part that is also an everyday Dutch word ("Bakker", "Visser", "Roos", "Ben") is skipped
  only when it stands alone *and* is written all lowercase ("de bakker", "ik ben"); any
  capitalised or upper-case occurrence matches. PHI safety first: words not on the short list
  below always match, in any case.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Final

from deid_pipeline.notes import NoteMetadata, PatientMetadata, PersonName
from deid_pipeline.recognizers.matching import MatchingView, fold, matching_view
from deid_pipeline.recognizers.patterns import DUTCH_MONTHS, resolve_overlaps
from deid_pipeline.spans import Span

__all__ = [
    "COMMON_WORD_NAMES",
    "NAME_PARTICLES",
    "find_metadata_spans",
    "is_everyday_word_occurrence",
    "metadata_candidates",
]

NAME_PATIENT: Final = "Name:Patient"
NAME_CAREGIVER: Final = "Name:Caregiver"
AGE_BIRTHDATE: Final = "Age_Birthdate"

#: Dutch and Flemish surname particles (tussenvoegsels), lower case.
NAME_PARTICLES: Final[frozenset[str]] = frozenset(
    {
        "van", "von", "de", "der", "den", "het", "'t", "t", "te", "ter", "ten", "in", "op",
        "aan", "bij", "uit", "onder", "voor", "over", "la", "le", "les", "du", "d'", "del",
        "della", "di", "da", "dos", "das", "'s", "vander", "vanden", "vande", "op de", "v.d.",
    }
)  # fmt: skip

#: Name parts that are also everyday words; skipped alone and all lowercase (module docstring).
COMMON_WORD_NAMES: Final[frozenset[str]] = frozenset(
    {
        "baas", "bakker", "beek", "ben", "berg", "blok", "boer", "bos", "bosch", "brink", "brouwer",
        "bruin", "dam", "dekker", "dijk", "donker", "dood", "eerlijk", "geel", "goede", "graaf",
        "groen", "groot", "haan", "hart", "heer", "hoek", "hof", "hoop", "horst", "huisman", "jong",
        "kapitein", "kater", "kerk", "klein", "kok", "koning", "kort", "kraai", "laan", "lang",
        "leeuw", "lente", "los", "maan", "man", "mark", "meer", "meester", "molen", "mulder", "nat",
        "noord", "oost", "post", "prins", "rijk", "roos", "rust", "schipper", "slot", "smit",
        "snel", "stam", "sterk", "storm", "straat", "veen", "veld", "visser", "vogel", "vos",
        "vrede", "west", "wijn", "winter", "wit", "wolf", "zomer", "zon", "zuid",
        "zwart", "beer", "hout", "kaal", "lief", "raaf", "ree", "schaap", "steen", "stoel", "tuin",
        "vink", "wever", "haas", "dokter", "zuster", "jacht", "koster", "timmerman", "smid",
        "anker", "plas", "brug", "kamp", "mei", "mees", "pauw",
        # lowercase month abbreviations that are also given names ("12 jan. 2026")
        "jan",
    }
)  # fmt: skip

_APOSTROPHE = "['’`]"
_SEP = r"\s+"
_BEFORE = r"(?<![\w'’])"
_AFTER = r"(?![\w])"
# The genitive of a name ("Kloosterhofs", "Jans", "Bakker's") is the name.
_GENITIVE = r"(?:['’`]?s)?"
# Dotted initials of any letters ("J.P.M.") are name-like enough to include before a surname.
_DOTTED_INITIALS = r"(?-i:[A-Z]\.(?:\s?[A-Z]\.){0,4})\s*"
_VAN_DER_ABBREVIATION = r"v\.?\s?d\.?|v/d"


def _word_pattern(word: str) -> str:
    """Regex for one name word: apostrophes of any kind, flexible whitespace around hyphens."""
    escaped = re.escape(word)
    escaped = re.sub(r"(?:\\)?['’`]", _APOSTROPHE, escaped)
    return escaped.replace(r"\-", r"\s*-\s*")


def _split_particles(part: str) -> tuple[list[str], list[str]]:
    """Split one surname part into leading particles and the core words."""
    words = part.split()
    index = 0
    while index < len(words) - 1 and words[index].lower().replace("’", "'") in NAME_PARTICLES:
        index += 1
    return words[:index], words[index:]


def _normalise_surname(surname: str) -> str:
    """Registry order "Vries, van der" -> "van der Vries"; whitespace collapsed."""
    surname = " ".join(surname.split())
    if "," in surname:
        core, _, particles = surname.partition(",")
        if particles.strip() and all(word.lower() in NAME_PARTICLES for word in particles.split()):
            surname = f"{particles.strip()} {core.strip()}"
    return surname


def _surname_part_pattern(part: str) -> tuple[str, list[str]]:
    """Pattern of one surname part with optional particles, and its core words."""
    particles, core = _split_particles(part)
    core_pattern = _SEP.join(_word_pattern(word) for word in core)
    if not particles:
        return core_pattern, core
    alternatives = [_SEP.join(_word_pattern(p) for p in particles)]
    lowered = [p.lower() for p in particles]
    if len(lowered) == 2 and lowered[0] == "van" and lowered[1] in {"der", "den", "de"}:
        # "van der", "van den", "van de" are often abbreviated "v.d." or "vd".
        alternatives.append(_VAN_DER_ABBREVIATION)
    return f"(?:(?:{'|'.join(alternatives)}){_SEP})?{core_pattern}", core


def _surname_patterns(surname: str) -> tuple[str, list[str]]:
    """Pattern for the whole surname (every part, parts optional) and the standalone cores."""
    parts = [p.strip() for p in re.split(r"\s*-\s*", _normalise_surname(surname)) if p.strip()]
    part_patterns: list[str] = []
    cores: list[str] = []
    for part in parts:
        pattern, core = _surname_part_pattern(part)
        part_patterns.append(pattern)
        cores.append(" ".join(core))
    whole = r"\s*-\s*".join(part_patterns)
    alternatives = [whole, *part_patterns] if len(part_patterns) > 1 else [whole]
    return "(?:" + "|".join(f"(?:{a})" for a in alternatives) + ")", cores


def _initial_letters(person: PersonName) -> list[str]:
    if person.initials:
        letters = re.findall(r"[^\W\d_]", person.initials)
    elif person.given_names:
        letters = [name[0] for name in person.given_names.split() if name[:1].isalpha()]
    else:
        letters = []
    return [letter.upper() for letter in letters]


@lru_cache(maxsize=4096)
def _name_regexes(person: PersonName) -> tuple[re.Pattern[str], re.Pattern[str] | None]:
    """Compiled (full-name regex, standalone-part regex) for one person; cached per person.

    Full-name forms always match; standalone parts are checked against the common-word rule.
    """
    full: list[str] = []
    standalone: list[str] = []
    given = person.given_names.split() if person.given_names else []
    given_patterns = [_word_pattern(name) for name in given if len(name) >= 2]
    letters = _initial_letters(person)
    if person.surname and person.surname.strip():
        surname, cores = _surname_patterns(person.surname)
        firsts: list[str] = []
        if len(given_patterns) > 1:
            firsts.append(_SEP.join(given_patterns))
        firsts.extend(given_patterns)
        if letters:
            own = letters[0] + "".join(rf"(?:\.?\s*{letter})?" for letter in letters[1:])
            firsts.append(rf"(?-i:{own})(?:\.\s*|\s+)")
        firsts.append(_DOTTED_INITIALS)
        # Initials patterns end in their own whitespace; given names need a separator.
        ends_in_space = (r"\s+)", r"\s*")
        first_alt = "|".join(
            f"(?:{f})" + ("" if f.endswith(ends_in_space) else _SEP) for f in firsts
        )
        full.append(f"(?:{first_alt}){surname}")
        # Registry order "de Vries, J.P." only with dotted initials: a comma followed by a given
        # name is far more often a list ("Jan de Vries, Piet ...") than a name in that order.
        full.append(surname + r",\s*" + _DOTTED_INITIALS.removesuffix(r"\s*"))
        full.append(surname)
        standalone.extend(_SEP.join(_word_pattern(w) for w in core.split()) for core in cores)
    standalone.extend(given_patterns)
    full_regex = (
        re.compile(
            _BEFORE + "(?:" + "|".join(f"(?:{f})" for f in full) + ")" + _GENITIVE + _AFTER,
            re.IGNORECASE,
        )
        if full
        else re.compile(r"(?!x)x")
    )
    standalone_regex = (
        re.compile(_BEFORE + "(?:" + "|".join(standalone) + ")" + _GENITIVE + _AFTER, re.IGNORECASE)
        if standalone
        else None
    )
    return full_regex, standalone_regex


def _iter_matches(regex: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """Every match, including ones that start inside an earlier match (overlapping forms)."""
    position = 0
    while position <= len(text):
        match = regex.search(text, position)
        if match is None:
            return
        yield match
        position = match.start() + 1


def _name_spans(
    text: str, person: PersonName, label: str, view: MatchingView | None = None
) -> Iterator[Span]:
    """Spans of ``person``'s name in ``text``; with ``view``, ``text`` is ``view.text`` (and
    ``person`` folded) and spans are mapped back to the original text."""
    full_regex, standalone_regex = _name_regexes(person)
    regexes = [full_regex] if standalone_regex is None else [full_regex, standalone_regex]
    for regex in regexes:
        for match in _iter_matches(regex, text):
            start, end = match.start(), match.end()
            if end == start:
                continue
            surface = match.group(0) if view is None else view.surface(start, end)
            if is_everyday_word_occurrence(surface):
                continue
            if view is not None:
                start, end = view.to_original(start, end)
            yield Span(start, end, label, 1.0, "metadata")


def _folded_person(person: PersonName) -> PersonName:
    return PersonName(
        given_names=fold(person.given_names) if person.given_names else None,
        surname=fold(person.surname) if person.surname else None,
        initials=person.initials,
    )


def _all_name_spans(text: str, person: PersonName, label: str) -> Iterator[Span]:
    """Name spans found in the original text and in its matching view (module
    :mod:`deid_pipeline.recognizers.matching`)."""
    yield from _name_spans(text, person, label)
    view = matching_view(text)
    yield from _name_spans(view.text, _folded_person(person), label, view)


def is_everyday_word_occurrence(matched: str) -> bool:
    """True for a name part written as the lowercase everyday word it also is ("de boer")."""
    # Only a lowercase everyday word (after particles: "de boer") is skipped; "Bakker", "BAKKER"
    # and full names with a given name or initials always match.
    if not matched.islower():
        return False
    _, core = _split_particles(matched)
    word = " ".join(core)
    if word in COMMON_WORD_NAMES:
        return True
    # The genitive of an everyday word ("de boers") is that word too.
    base = re.sub(r"['’`]?s$", "", word)
    return base != word and base in COMMON_WORD_NAMES


# --------------------------------------------------------------------------- birth date


def _birth_date_regex(patient: PatientMetadata) -> re.Pattern[str] | None:
    born = patient.birth_date
    if born is None:
        return None
    day, month, year = born.day, born.month, born.year
    d = f"0?{day}" if day < 10 else f"{day}"
    m = f"0?{month}" if month < 10 else f"{month}"
    years = rf"(?:{year}|'?{year % 100:02d})"
    months = "|".join(rf"{name}\.?" for name in DUTCH_MONTHS[month])
    forms = [
        rf"{d}\s*(?P<sep>[\-/.])\s*{m}\s*(?P=sep)\s*{years}",
        rf"{year}-{m}-{d}",
        rf"{d}(?:e|ste|de)?\s+(?:{months})\s+(?:{year}|'{year % 100:02d})",
    ]
    return re.compile(r"(?<![\w.\-/])(?:" + "|".join(forms) + r")(?![\w]|[.\-/]\d)", re.IGNORECASE)


# --------------------------------------------------------------------------- known values


def _known_value_regex(value: str) -> re.Pattern[str] | None:
    """Separator-tolerant regex for a known value ("06-12345678" ~ "06 1234 5678")."""
    pieces = re.findall(r"[^\W_]+", value)
    if sum(len(piece) for piece in pieces) < 3:
        return None
    runs_per_piece = [re.findall(r"\d+|[^\W\d_]+", piece) for piece in pieces]
    parts: list[str] = []
    for runs in runs_per_piece:
        run_patterns = [r"[\s./\-]?".join(run) if run.isdigit() else re.escape(run) for run in runs]
        parts.append(r"[\s./\-]?".join(run_patterns))
    body = r"[\W_]{0,3}".join(parts)
    digits_only = all(piece.isdigit() for piece in pieces)
    joined = "".join(pieces)
    if digits_only and joined.startswith("0") and not joined.startswith("00"):
        # A national phone number is also written internationally: +31 6 ..., 0032 4 ...
        rest = r"[\s./\-]?".join(joined[1:])
        international = rf"(?:\+|00)\s?3[12][\s.\-]?(?:\(0\)[\s.\-]?)?{rest}"
        body = f"(?:{body}|{international})"
    return re.compile(rf"(?<![^\W_]){body}(?![^\W_])", re.IGNORECASE)


def _is_everyday_value(value: str, surface: str) -> bool:
    """A one-word value (a town "Best") written as a lower-case word ("het best") is that
    word, the same rule as :func:`deid_pipeline.leakcheck.find_known_phi`."""
    return value.strip().isalpha() and surface.islower() and not value.islower()


def _known_value_ranges(text: str, value: str) -> Iterator[tuple[int, int]]:
    """Original ranges of a known value in ``text`` and in its matching view, whole words."""
    regex = _known_value_regex(value)
    if regex is not None:
        for match in regex.finditer(text):
            if not _is_everyday_value(value, match.group(0)):
                yield match.start(), match.end()
    view = matching_view(text)
    folded = _known_value_regex(fold(value))
    if folded is not None:
        for match in folded.finditer(view.text):
            if match.end() > match.start() and not _is_everyday_value(
                value, view.surface(match.start(), match.end())
            ):
                yield view.to_original(match.start(), match.end())


def metadata_candidates(text: str, metadata: NoteMetadata) -> Iterator[tuple[str, Span]]:
    """Every metadata match in ``text`` as ``(kind, span)``, overlapping, unresolved; kinds
    ``patient_name``, ``caregiver_name``, ``birth_date``, ``known_value:<label>``.

    Names and known values are searched in the original text and in its matching view
    (:mod:`deid_pipeline.recognizers.matching`); the leak check reads the same candidates.
    """
    if metadata.patient is not None:
        for span in _all_name_spans(text, metadata.patient, NAME_PATIENT):
            yield "patient_name", span
        birth_regex = _birth_date_regex(metadata.patient)
        if birth_regex is not None:
            view = matching_view(text)
            for match in birth_regex.finditer(text):
                yield "birth_date", Span(match.start(), match.end(), AGE_BIRTHDATE, 1.0, "metadata")
            for match in birth_regex.finditer(view.text):
                start, end = view.to_original(match.start(), match.end())
                yield "birth_date", Span(start, end, AGE_BIRTHDATE, 1.0, "metadata")
    for caregiver in metadata.caregivers:
        for span in _all_name_spans(text, caregiver, NAME_CAREGIVER):
            yield "caregiver_name", span
    for known in metadata.known_values:
        for start, end in _known_value_ranges(text, known.value):
            yield f"known_value:{known.label}", Span(start, end, known.label, 1.0, "metadata")


def find_metadata_spans(text: str, metadata: NoteMetadata) -> list[Span]:
    """Spans of the patient's and caregivers' names, birth date and known values in ``text``.

    Returns sorted, disjoint spans with ``source="metadata"`` and score 1.0. Patient names are
    ``Name:Patient``, caregivers ``Name:Caregiver``, the patient's birth date ``Age_Birthdate``,
    known values carry their own label. Where a patient and a caregiver share a name form (same
    surname), the patient label wins; otherwise the longer match wins. Matching runs on the
    text and on its normalised matching view (:mod:`deid_pipeline.recognizers.matching`).
    """
    spans: list[Span] = []
    patient_extents: set[tuple[int, int]] = set()
    for kind, span in metadata_candidates(text, metadata):
        if kind == "patient_name":
            patient_extents.add((span.start, span.end))
        elif kind == "caregiver_name" and (span.start, span.end) in patient_extents:
            continue
        spans.append(span)
    return resolve_overlaps(spans)

"""Known-PHI leak scan: does a de-identified text still contain a value known from metadata?

The scan is the last line of defence before a note is written to the output table, and the
``no_known_phi_in_output`` asset check runs it again over the written table. It looks for

* person names of the patient and caregivers (each given name, the full surname and its last
  part, e.g. ``Berg`` of ``van den Berg``): case-insensitive, whole words, any run of spaces,
  hyphens, dots or apostrophes between the parts of a multi-part name; a name part written as
  the lowercase everyday word it also is (``groen``, ``de boer``, ``jan.``) does not count, the
  same rule the metadata recognizer applies;
* known values (phone numbers, ids, addresses ...): case-insensitive, separator-tolerant
  (``06-1234 5678`` matches ``0612345678``) and whole words: the town ``Mons`` is not found in
  ``monster`` nor ``Best`` in ``Beste collega``; a one-word value written as a lowercase word
  (``het best``) is the everyday word, not the value;
* the patient's birth date in numeric forms (``d-m-yyyy``, ``yyyy-mm-dd`` with any separator).

Results name the kind of value found, never the value itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from deid_pipeline.notes import NoteMetadata, PersonName
from deid_pipeline.recognizers.metadata import is_everyday_word_occurrence

#: Name parts shorter than this are not searched alone (initials, "de", "van").
MIN_NAME_PART = 2
#: Known values with fewer letters/digits than this are not searched (house numbers).
MIN_VALUE_CHARS = 4
_SEPARATORS = r"[\s\-.'’]*"
_PARTICLES = frozenset(
    [
        "van",
        "de",
        "der",
        "den",
        "het",
        "ten",
        "ter",
        "te",
        "op",
        "in",
        "'t",
        "la",
        "le",
        "du",
        "di",
        "da",
        "von",
        "zu",
        "el",
        "al",
        "bin",
        "ben",
    ]
)
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")


_VALUE_SEPARATORS = r"[\W_]{0,3}"


@lru_cache(maxsize=4096)
def _known_value_pattern(value: str) -> re.Pattern[str] | None:
    """Whole-word pattern of a known value with any short run of separators between its
    letters and digits (``06-12345678`` ~ ``06 1234 5678`` ~ ``0612345678``)."""
    characters = [char for char in value if char.isalnum()]
    if len(characters) < MIN_VALUE_CHARS:
        return None
    body = _VALUE_SEPARATORS.join(re.escape(char) for char in characters)
    return re.compile(rf"(?<![^\W_]){body}(?![^\W_])", re.IGNORECASE)


def _contains_known_value(text: str, value: str) -> bool:
    pattern = _known_value_pattern(value)
    if pattern is None:
        return False
    one_word = value.strip().isalpha()
    # A one-word value (a town such as "Best") written as a lowercase word is that word.
    return any(
        not (one_word and match.group(0).islower() and not value.islower())
        for match in pattern.finditer(text)
    )


@lru_cache(maxsize=4096)
def _name_pattern(name: str) -> re.Pattern[str] | None:
    parts = _WORD.findall(name)
    if not parts or sum(len(part) for part in parts) < MIN_NAME_PART:
        return None
    body = _SEPARATORS.join(re.escape(part) for part in parts)
    return re.compile(rf"(?<![^\W_]){body}(?![^\W_])", re.IGNORECASE)


def _name_forms(person: PersonName) -> Iterator[str]:
    """Forms of a person's name worth searching: given names, surname, surname core."""
    if person.given_names:
        for given in person.given_names.split():
            if len(given.strip(".")) >= MIN_NAME_PART:
                yield given
    if person.surname:
        surname = person.surname.strip()
        yield surname
        words = _WORD.findall(surname)
        core = [word for word in words if word.casefold() not in _PARTICLES]
        if core and len(core[-1]) > MIN_NAME_PART and core[-1] != surname:
            yield core[-1]


def _contains_name(text: str, name: str) -> bool:
    pattern = _name_pattern(name)
    if pattern is None:
        return False
    # The same rule as the metadata recognizer: a surname such as "Groen" written as the
    # lowercase everyday word ("groen") is not the name; anything capitalised is.
    return any(not is_everyday_word_occurrence(match.group(0)) for match in pattern.finditer(text))


def _birth_date_patterns(metadata: NoteMetadata) -> list[re.Pattern[str]]:
    patient = metadata.patient
    if patient is None or patient.birth_date is None:
        return []
    day, month, year = patient.birth_date.day, patient.birth_date.month, patient.birth_date.year
    sep = r"[\s\-./]+"
    return [
        re.compile(rf"(?<!\d)0?{day}{sep}0?{month}{sep}{year}(?!\d)"),
        re.compile(rf"(?<!\d){year}{sep}0?{month}{sep}0?{day}(?!\d)"),
    ]


def find_known_phi(text: str, metadata: NoteMetadata) -> list[str]:
    """Kinds of known PHI still present in ``text`` (empty when none); never the values."""
    found: list[str] = []
    if metadata.patient is not None and any(
        _contains_name(text, form) for form in _name_forms(metadata.patient)
    ):
        found.append("patient_name")
    if any(
        _contains_name(text, form) for person in metadata.caregivers for form in _name_forms(person)
    ):
        found.append("caregiver_name")
    for known in metadata.known_values:
        if _contains_known_value(text, known.value):
            kind = f"known_value:{known.label}"
            if kind not in found:
                found.append(kind)
    if any(pattern.search(text) for pattern in _birth_date_patterns(metadata)):
        found.append("birth_date")
    return found

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

Every search runs on the text and on its normalised matching view
(:mod:`deid_pipeline.recognizers.matching`: NFKC, case folding, invisible characters and soft
hyphens removed, line-break hyphenation joined, look-alike letters folded, letter-spaced words
joined), and the metadata recognizer's own matches (per-part, particle and genitive forms of
names; :func:`deid_pipeline.recognizers.metadata.metadata_candidates`) count too: the check sees
with the same eyes as the recognizer, without the model. Case rules look at the original
surface of a match.

Results name the kind of value found, never the value itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from deid_pipeline.notes import NoteMetadata, PersonName
from deid_pipeline.recognizers.matching import MatchingView, fold, matching_view
from deid_pipeline.recognizers.metadata import is_everyday_word_occurrence, metadata_candidates

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


def _texts(text: str) -> Iterator[tuple[str, MatchingView | None]]:
    """The text itself, then its matching view."""
    yield text, None
    view = matching_view(text)
    yield view.text, view


def _surface(match: re.Match[str], view: MatchingView | None) -> str:
    return match.group(0) if view is None else view.surface(match.start(), match.end())


def _contains_known_value(text: str, value: str) -> bool:
    one_word = value.strip().isalpha()
    for searched, view in _texts(text):
        pattern = _known_value_pattern(value if view is None else fold(value))
        if pattern is None:
            return False
        # A one-word value (a town such as "Best") written as a lowercase word is that word.
        if any(
            not (one_word and _surface(match, view).islower() and not value.islower())
            for match in pattern.finditer(searched)
        ):
            return True
    return False


@lru_cache(maxsize=4096)
def _name_pattern(name: str) -> re.Pattern[str] | None:
    parts = _WORD.findall(name)
    if not parts or sum(len(part) for part in parts) < MIN_NAME_PART:
        return None
    body = _SEPARATORS.join(re.escape(part) for part in parts)
    return re.compile(rf"(?<![^\W_]){body}(?:['’`]?s)?(?![^\W_])", re.IGNORECASE)


def _name_forms(person: PersonName) -> Iterator[str]:
    """Forms of a person's name worth searching: given names, surname, each part of a double
    surname and its core without particles."""
    if person.given_names:
        for given in person.given_names.split():
            if len(given.strip(".")) >= MIN_NAME_PART:
                yield given
    if person.surname:
        surname = person.surname.strip()
        yield surname
        for part in re.split(r"\s*-\s*", surname):
            words = _WORD.findall(part)
            core = [word for word in words if word.casefold() not in _PARTICLES]
            if core and len(core[-1]) > MIN_NAME_PART and core[-1] != surname:
                yield core[-1]
            if core and part.strip() != surname and len(part.strip()) > MIN_NAME_PART:
                yield part.strip()


def _contains_name(text: str, name: str) -> bool:
    for searched, view in _texts(text):
        pattern = _name_pattern(name if view is None else fold(name))
        if pattern is None:
            return False
        # The same rule as the metadata recognizer: a surname such as "Groen" written as the
        # lowercase everyday word ("groen") is not the name; anything capitalised is.
        if any(
            not is_everyday_word_occurrence(_surface(match, view))
            for match in pattern.finditer(searched)
        ):
            return True
    return False


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

    def add(kind: str) -> None:
        if kind not in found:
            found.append(kind)

    if metadata.patient is not None and any(
        _contains_name(text, form) for form in _name_forms(metadata.patient)
    ):
        add("patient_name")
    if any(
        _contains_name(text, form) for person in metadata.caregivers for form in _name_forms(person)
    ):
        add("caregiver_name")
    for known in metadata.known_values:
        if _contains_known_value(text, known.value):
            add(f"known_value:{known.label}")
    patterns = _birth_date_patterns(metadata)
    if any(pattern.search(searched) for searched, _ in _texts(text) for pattern in patterns):
        add("birth_date")
    # The metadata recognizer's eyes: whatever it would replace must not be in the output.
    for kind, _ in metadata_candidates(text, metadata):
        add(kind)
    return found

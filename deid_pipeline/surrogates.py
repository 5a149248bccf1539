"""Realistic Dutch surrogate values, chosen deterministically from a keyed byte stream.

Nothing here is random: every choice reads a :class:`KeyedStream` that the caller derives from
HMAC(secret, patient, label family, kind, normalised original value) (see
:mod:`deid_pipeline.replace`). So the same original value of the same patient always gets the
same surrogate, in every note and every run; different patients usually get different ones.

Where the value lists come from (built once per process, :func:`value_lists`):

* first names, surnames, street suffixes, Dutch places: Faker's ``nl_NL`` person and address
  providers (class attributes, no Faker instance per span); Belgian places from ``nl_BE``;
* company prefixes/suffixes: Faker's ``nl_NL`` company provider;
* particles, hospital name templates and professions: written here (Faker has no Dutch job
  provider); e-mail and web domains are the reserved ``example.*`` domains (RFC 2606).

Name parts are keyed separately (given name, surname core), so "Jan de Vries", "De Vries" and
"J. de Vries" of one patient map onto the same fake surname.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Final

from deid_pipeline.labels import label_family

__all__ = [
    "KeyedStream",
    "StreamFactory",
    "ValueLists",
    "layout_preserving",
    "normalise_value",
    "surrogate_for",
    "value_lists",
]

#: Particles used in fake surnames, with rough Dutch frequency by repetition.
_FAKE_PARTICLES: Final = ("van", "de", "van der", "van den", "van de", "ter", "ten", "den")
_NAME_PARTICLES: Final = frozenset(
    {"van", "von", "de", "der", "den", "het", "'t", "te", "ter", "ten", "in", "op", "vd", "v.d."}
)

_HOSPITAL_TEMPLATES: Final = (
    "Ziekenhuis {city}",
    "Medisch Centrum {city}",
    "Streekziekenhuis {city}",
    "Zorggroep {city}",
    "Gasthuis {city}",
    "Revalidatiecentrum {city}",
    "Huisartsenpraktijk {city}",
    "Ziekenhuis {surname}",
)

_PROFESSIONS: Final = (
    "leraar", "lerares", "timmerman", "verpleegkundige", "boekhouder", "vrachtwagenchauffeur",
    "kapper", "elektricien", "tandarts", "postbode", "advocaat", "bakker", "loodgieter",
    "schilder", "programmeur", "kok", "boer", "architect", "apotheker", "journalist",
    "buschauffeur", "schoonmaker", "magazijnmedewerker", "accountant", "fysiotherapeut",
    "docent", "monteur", "verkoper", "secretaresse", "beveiliger", "kassamedewerker",
    "hovenier", "metselaar", "ambtenaar", "bibliothecaris", "tuinman", "dierenarts",
)  # fmt: skip

_EXAMPLE_DOMAINS: Final = ("example.com", "example.org", "example.net")


def normalise_value(value: str) -> str:
    """Key form of a value: case-folded letters and digits only ("06-12 34" ~ "061234")."""
    return "".join(char for char in value.casefold() if char.isalnum())


class KeyedStream:
    """Deterministic integers from a 32-byte seed (HMAC-SHA256 in counter mode).

    Stable across Python versions, unlike :mod:`random`; modulo bias is negligible for the
    list sizes used here.
    """

    __slots__ = ("_counter", "_seed")

    def __init__(self, seed: bytes) -> None:
        self._seed = seed
        self._counter = 0

    def below(self, n: int) -> int:
        """Next integer in ``[0, n)``."""
        if n <= 0:
            raise ValueError("n must be positive")
        block = hmac.new(self._seed, self._counter.to_bytes(8, "big"), hashlib.sha256).digest()
        self._counter += 1
        return int.from_bytes(block[:8], "big") % n

    def choice(self, options: tuple[str, ...] | list[str], *, avoid: str = "") -> str:
        """Next element of ``options``; one whose normalised form equals ``avoid`` is skipped,
        so that a surrogate never reproduces the original value (or part of it)."""
        index = self.below(len(options))
        if avoid and len(options) > 1 and normalise_value(options[index]) == avoid:
            index = (index + 1 + self.below(len(options) - 1)) % len(options)
        return options[index]


#: ``factory(kind, normalised_value)`` -> stream for that component of a value.
StreamFactory = Callable[[str, str], KeyedStream]


@dataclass(frozen=True, slots=True)
class ValueLists:
    """Value lists for surrogates (sources in the module docstring)."""

    first_names: tuple[str, ...]
    first_name_keys: frozenset[str]
    surnames: tuple[str, ...]
    streets: tuple[str, ...]
    places_nl: tuple[str, ...]
    places_be: tuple[str, ...]
    place_keys_be: frozenset[str]
    company_prefixes: tuple[str, ...]
    company_suffixes: tuple[str, ...]


def _plain_word(word: str) -> bool:
    return word.isalpha() and word[:1].isupper() and 3 <= len(word) <= 12


@cache
def value_lists() -> ValueLists:
    """Build the surrogate value lists once per process from Faker's provider data."""
    from faker.providers.address.nl_BE import Provider as BeAddress
    from faker.providers.address.nl_NL import Provider as NlAddress
    from faker.providers.company.nl_NL import Provider as NlCompany
    from faker.providers.person.nl_BE import Provider as BePerson
    from faker.providers.person.nl_NL import Provider as NlPerson

    first_names = sorted(
        {
            name
            for name in (*NlPerson.first_names, *BePerson.first_names)
            if name.isalpha() and 2 <= len(name) <= 12
        }
    )
    surnames = sorted({name for name in NlPerson.last_names if _plain_word(name)})
    suffixes = NlAddress.street_suffixes
    # Faker's nl_NL street format is "{last_name}{street_suffix}"; build it over the surnames.
    streets = tuple(f"{name}{suffixes[i % len(suffixes)]}" for i, name in enumerate(surnames))
    places_nl = sorted({p for p in NlAddress.cities if re.fullmatch(r"[A-Z][\w\- ]{2,20}", p)})
    places_be = sorted({p for p in BeAddress.cities if re.fullmatch(r"[A-Z][\w\- ]{2,20}", p)})
    return ValueLists(
        first_names=tuple(first_names),
        first_name_keys=frozenset(normalise_value(n) for n in first_names),
        surnames=tuple(surnames),
        streets=streets,
        places_nl=tuple(places_nl),
        places_be=tuple(places_be),
        place_keys_be=frozenset(normalise_value(p) for p in BeAddress.cities),
        company_prefixes=tuple(NlCompany.company_prefixes),
        company_suffixes=tuple(NlCompany.company_suffixes),
    )


# --------------------------------------------------------------------------- layout


def layout_preserving(original: str, stream: KeyedStream, *, keep: int = 0) -> str:
    """Replace digits by digits and letters by letters of the same case; keep the rest.

    The first ``keep`` characters stay as they are (country codes, mobile prefixes). A leading
    non-zero digit stays non-zero so that the surrogate keeps the look of the original.
    """
    out: list[str] = list(original[:keep])
    for index, char in enumerate(original[keep:], start=keep):
        if char.isdigit() and char.isascii():
            if char != "0" and (index == 0 or not original[index - 1].isdigit()):
                out.append(str(1 + stream.below(9)))
            else:
                out.append(str(stream.below(10)))
        elif char.isalpha():
            letter = chr(ord("a") + stream.below(26))
            out.append(letter.upper() if char.isupper() else letter)
        else:
            out.append(char)
    return "".join(out)


def _match_case(template: str, value: str) -> str:
    """Give ``value`` the case style of ``template`` (upper, lower, or as is)."""
    letters = [c for c in template if c.isalpha()]
    if letters and all(c.isupper() for c in letters) and len(letters) > 1:
        return value.upper()
    if letters and all(c.islower() for c in letters):
        return value.lower()
    return value


# --------------------------------------------------------------------------- names

_INITIALS = re.compile(r"(?:[A-Z]\.)+|[A-Z]{1,3}")


def _fake_surname(original_core: str, factory: StreamFactory, capitalise_particle: bool) -> str:
    lists = value_lists()
    key = normalise_value(original_core)
    stream = factory("surname", key)
    core = stream.choice(lists.surnames, avoid=key)
    # About one Dutch surname in four carries a particle.
    if stream.below(4) == 0:
        particle = stream.choice(_FAKE_PARTICLES)
        if capitalise_particle:
            particle = particle[0].upper() + particle[1:]
        return f"{particle} {core}"
    return core


def _fake_surname_phrase(words: list[str], factory: StreamFactory, at_start: bool) -> str:
    """Fake for surname words (particles + core, possibly hyphenated double surname)."""
    phrase = " ".join(words)
    parts = [p for p in re.split(r"\s*-\s*", phrase) if p]
    fakes: list[str] = []
    for position, part in enumerate(parts):
        part_words = part.split()
        while len(part_words) > 1 and part_words[0].lower() in _NAME_PARTICLES:
            part_words = part_words[1:]
        capitalise = at_start and position == 0 and part[:1].isupper()
        fakes.append(_fake_surname(" ".join(part_words), factory, capitalise))
    return "-".join(fakes)


def _fake_initials(original: str, factory: StreamFactory) -> str:
    stream = factory("initials", normalise_value(original))
    return re.sub(r"[A-Z]", lambda _: chr(ord("A") + stream.below(26)), original)


def _fake_given(original: str, factory: StreamFactory) -> str:
    key = normalise_value(original)
    return factory("given", key).choice(value_lists().first_names, avoid=key)


def fake_name(original: str, factory: StreamFactory) -> str:
    """A fake person name shaped like ``original`` (initials, given names, particles, order)."""
    lists = value_lists()
    if "," in original:
        # Registry order "De Vries, J." -> fake surname, fake initials/given names.
        surname_part, _, first_part = original.partition(",")
        first = first_part.strip()
        fake_first = (
            _fake_initials(first, factory)
            if _INITIALS.fullmatch(first)
            else " ".join(_fake_given(w, factory) for w in first.split())
        )
        return f"{_fake_surname_phrase(surname_part.split(), factory, True)}, {fake_first}"
    words = original.split()
    if not words:
        return original
    if len(words) == 1 and "-" not in words[0]:
        word = words[0]
        if _INITIALS.fullmatch(word):
            return _fake_initials(word, factory)
        if normalise_value(word) in lists.first_name_keys:
            return _match_case(word, _fake_given(word, factory))
        return _match_case(word, _fake_surname_phrase(words, factory, True))
    # First names/initials come before the first particle, or before the last word.
    surname_start = len(words) - 1
    for index, word in enumerate(words[1:], start=1):
        if word.lower() in _NAME_PARTICLES:
            surname_start = index
            break
    if words[0].lower() in _NAME_PARTICLES:
        surname_start = 0
    firsts = [
        _fake_initials(w, factory) if _INITIALS.fullmatch(w) else _fake_given(w, factory)
        for w in words[:surname_start]
    ]
    surname = _fake_surname_phrase(words[surname_start:], factory, surname_start == 0)
    return _match_case(original, " ".join([*firsts, surname]))


# --------------------------------------------------------------------------- addresses

_NL_POSTCODE = re.compile(r"(\d{4})(\s?)([A-Z]{2})(?:(\s+)(.+))?")
_BE_POSTCODE = re.compile(r"(B\s?-\s?)?(\d{4})(?:(\s+)(.+))?")
_STREET_NUMBER = re.compile(r"(.*?[^\W\d_].*?)(\s+)(\d{1,5})(\s*[a-zA-Z]?\b.*)?")


def _fake_place(original: str, factory: StreamFactory) -> str:
    lists = value_lists()
    stream = factory("place", normalise_value(original))
    belgian = normalise_value(original) in lists.place_keys_be
    places = lists.places_be if belgian else lists.places_nl
    return _match_case(original, stream.choice(places, avoid=normalise_value(original)))


def _fake_number(digits: str, stream: KeyedStream) -> str:
    first = str(1 + stream.below(9))
    return first + "".join(str(stream.below(10)) for _ in digits[1:])


def _fake_address_piece(piece: str, factory: StreamFactory) -> str:
    stripped = piece.strip()
    lead = piece[: len(piece) - len(piece.lstrip())]
    trail = piece[len(piece.rstrip()) :]
    key = normalise_value(stripped)
    if match := _NL_POSTCODE.fullmatch(stripped):
        stream = factory("postcode", key)
        letters = "".join(chr(ord("A") + stream.below(26)) for _ in range(2))
        if letters in {"SA", "SD", "SS"}:
            letters = "AB"
        fake = f"{_fake_number(match.group(1), stream)}{match.group(2)}{letters}"
        if match.group(5):
            fake += match.group(4) + _fake_place(match.group(5), factory)
        return lead + fake + trail
    if match := _BE_POSTCODE.fullmatch(stripped):
        stream = factory("postcode", key)
        fake = (match.group(1) or "") + _fake_number(match.group(2), stream)
        if match.group(4):
            fake += match.group(3) + _fake_place(match.group(4), factory)
        return lead + fake + trail
    if match := _STREET_NUMBER.fullmatch(stripped):
        stream = factory("street", normalise_value(match.group(1)))
        street = stream.choice(value_lists().streets)
        numbers = factory("house-number", key)
        number = _fake_number(match.group(3), numbers)
        # The rest keeps its words ("bus", "hs") but no digit: "12-14", "12/3", "12 bus 3".
        rest = re.sub(r"\d+", lambda m: _fake_number(m.group(0), numbers), match.group(4) or "")
        return lead + f"{street}{match.group(2)}{number}{rest}" + trail
    if any(char.isdigit() for char in stripped):
        return lead + layout_preserving(stripped, factory("address", key)) + trail
    return lead + _fake_place(stripped, factory) + trail


def fake_address(original: str, factory: StreamFactory) -> str:
    """A fake address shaped like ``original``: street + number, postcode (+ place), place."""
    return ",".join(_fake_address_piece(piece, factory) for piece in original.split(","))


# --------------------------------------------------------------------------- contact, ids

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_PHONE = re.compile(r"[\d\s()+./\-]+")
_PHONE_KEEP = re.compile(r"(?:\+|00)3[12][\s.\-]?(?:\(0\)[\s.\-]?)?[46]?|0[46]|\(0|0")


def fake_contact(original: str, factory: StreamFactory) -> str:
    """Fake e-mail, URL or phone number in the original's format; else layout-preserving."""
    key = normalise_value(original)
    stream = factory("contact", key)
    lists = value_lists()
    if _EMAIL.fullmatch(original):
        given = normalise_value(stream.choice(lists.first_names))
        surname = normalise_value(stream.choice(lists.surnames))
        return f"{given}.{surname}@{stream.choice(_EXAMPLE_DOMAINS)}"
    lowered = original.lower()
    if lowered.startswith(("http://", "https://", "www.")) or re.search(r"\.[a-z]{2,4}\b", lowered):
        scheme = "https://" if lowered.startswith("http") else ""
        host = ("www." if "www." in lowered else "") + stream.choice(_EXAMPLE_DOMAINS)
        path = f"/{stream.below(10**6):06d}" if "/" in lowered.split("//")[-1] else ""
        return f"{scheme}{host}{path}"
    if _PHONE.fullmatch(original) and sum(c.isdigit() for c in original) >= 6:
        # Keep the country code and trunk/mobile prefix so the number stays plausible.
        keep = _PHONE_KEEP.match(original)
        return layout_preserving(original, stream, keep=keep.end() if keep else 0)
    return layout_preserving(original, stream)


def fake_identifier(original: str, factory: StreamFactory) -> str:
    """Fake identifier with the original's layout; an IBAN keeps its country code."""
    stream = factory("id", normalise_value(original))
    keep = 2 if re.match(r"[A-Z]{2}\d{2}", original) else 0
    return layout_preserving(original, stream, keep=keep)


# --------------------------------------------------------------------------- organisations


def fake_healthcare_organisation(original: str, factory: StreamFactory) -> str:
    """A fake hospital/practice name; an all-caps abbreviation gets a same-length one."""
    stream = factory("healthcare", normalise_value(original))
    if original.isupper() and len(original) <= 6 and " " not in original:
        return layout_preserving(original, stream)
    lists = value_lists()
    template = stream.choice(_HOSPITAL_TEMPLATES)
    return template.format(
        city=stream.choice(lists.places_nl), surname=stream.choice(lists.surnames)
    )


def fake_organisation(original: str, factory: StreamFactory) -> str:
    """A fake company or organisation name ("Stichting Bakker", "Jansen BV")."""
    stream = factory("organisation", normalise_value(original))
    lists = value_lists()
    surname = stream.choice(lists.surnames)
    if stream.below(2) == 0:
        return f"{stream.choice(lists.company_prefixes)} {surname}"
    return f"{surname} {stream.choice(lists.company_suffixes)}"


def fake_profession(original: str, factory: StreamFactory) -> str:
    """A fake profession, in the original's capitalisation."""
    key = normalise_value(original)
    fake = factory("profession", key).choice(_PROFESSIONS, avoid=key)
    return fake.capitalize() if original[:1].isupper() else fake


_BY_FAMILY: Final[dict[str, Callable[[str, StreamFactory], str]]] = {
    "Name": fake_name,
    "Address_Location": fake_address,
    "Contactdetails": fake_contact,
    "ID": fake_identifier,
    "Organization": fake_organisation,
    "Profession": fake_profession,
}


def surrogate_for(label: str, original: str, factory: StreamFactory) -> str | None:
    """Surrogate for ``original`` of ``label``, or None where no surrogate exists (then a tag).

    Dates and ages are not surrogates; :mod:`deid_pipeline.replace` shifts or generalises them.
    """
    maker = (
        fake_healthcare_organisation
        if label == "Organization:Healthcare"
        else _BY_FAMILY.get(label_family(label))
    )
    if maker is None or not original.strip():
        return None
    fake = maker(original, factory)
    # A layout-preserving fake of a short value can, rarely, redraw the original itself.
    for attempt in range(1, 4):
        if normalise_value(fake) != normalise_value(original):
            return fake
        fake = maker(original, _salted(factory, attempt))
    return None  # still equal after retries: a tag is safer than the original


def _salted(factory: StreamFactory, attempt: int) -> StreamFactory:
    def salted(kind: str, value: str) -> KeyedStream:
        return factory(f"{kind}#retry{attempt}", value)

    return salted

"""PHI value lists and generators: people, addresses, organisations, ids, contact details, dates.

Sources of the lists:

* first names and surnames: Faker's ``nl_NL`` person provider (names from the Meertens
  Instituut lists, filtered here to modern-looking surnames) and ``nl_BE`` provider (Statbel
  2022, top 500 per list), plus the curated list of the most common Dutch surnames below;
* cities: Faker's ``nl_NL`` and ``nl_BE`` address providers;
* street names, hospitals, care organisations, employers, schools, professions, e-mail
  domains and phone area codes: curated in this module (public facts: hospital and company
  names, numbering plans of the Dutch ACM and the Belgian BIPT).

Every list is a :class:`~deid_pipeline.synth.split.Pool`, so the held-out split draws values
the train split never sees. Digits (phone numbers, ids, house numbers) are drawn at random.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

from faker.providers.address.nl_BE import Provider as _AddressBE
from faker.providers.address.nl_NL import Provider as _AddressNL
from faker.providers.company.nl_NL import Provider as _CompanyNL
from faker.providers.person.nl_BE import Provider as _PersonBE
from faker.providers.person.nl_NL import Provider as _PersonNL

from deid_pipeline.synth.split import Pool, Split

Locale = Literal["nl-NL", "nl-BE"]
Gender = Literal["m", "f"]

# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------

# The most common surnames in the Netherlands (CBS / Meertens Nederlandse Familienamenbank top
# lists), including frequent names of Moroccan, Turkish, Surinamese and Indonesian origin.
_COMMON_NL_SURNAMES = (
    "de Jong",
    "Jansen",
    "de Vries",
    "van den Berg",
    "van Dijk",
    "Bakker",
    "Janssen",
    "Visser",
    "Smit",
    "Meijer",
    "de Boer",
    "Mulder",
    "de Groot",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "van Leeuwen",
    "Dekker",
    "Brouwer",
    "de Wit",
    "Dijkstra",
    "Smits",
    "de Graaf",
    "van der Meer",
    "van der Linden",
    "Kok",
    "Jacobs",
    "de Haan",
    "Vermeulen",
    "van den Heuvel",
    "van der Veen",
    "van den Broek",
    "de Bruijn",
    "de Bruin",
    "van der Heijden",
    "Schouten",
    "van Beek",
    "Willems",
    "van Vliet",
    "van de Ven",
    "Hoekstra",
    "Maas",
    "Verhoeven",
    "Koster",
    "van Dam",
    "van der Wal",
    "Prins",
    "Blom",
    "Huisman",
    "de Jonge",
    "Kuipers",
    "van Veen",
    "Post",
    "Kuiper",
    "Veenstra",
    "Kramer",
    "van den Brink",
    "Scholten",
    "van Wijk",
    "Postma",
    "Martens",
    "Vink",
    "de Ruiter",
    "Timmermans",
    "Groen",
    "Gerritsen",
    "Jonker",
    "van Loon",
    "Boer",
    "van der Velde",
    "Willemsen",
    "Smeets",
    "de Lange",
    "de Vos",
    "Bosch",
    "van Dongen",
    "Schipper",
    "de Koning",
    "van der Laan",
    "Koning",
    "van der Velden",
    "Driessen",
    "van Doorn",
    "Hermans",
    "Evers",
    "van den Bosch",
    "van der Meulen",
    "Hofman",
    "Bosman",
    "Wolters",
    "Sanders",
    "van der Horst",
    "Mertens",
    "Kuijpers",
    "Dijkman",
    "Bouwman",
    "Wijnands",
    "Hoogendoorn",
    "Zwart",
    "Brink",
    "Molenaar",
    "Claassen",
    "Verbeek",
    "van Rijn",
    "Lammers",
    "Huijbregts",
    "Otten",
    "Veldman",
    "Nijhuis",
    "Ouwehand",
    "ter Horst",
    "ten Cate",
    "van 't Hof",
    "in 't Veld",
    "op de Weegh",
    "Yilmaz",
    "Kaya",
    "Demir",
    "Şahin",
    "Çelik",
    "Öztürk",
    "El Amrani",
    "Bouzid",
    "El Idrissi",
    "Benali",
    "Amrani",
    "Ramdin",
    "Ramsaran",
    "Tjon A Fong",
    "Sewnarain",
    "Nguyen",
    "Tan",
    "Lie",
    "Wiersma",
    "Hiemstra",
    "Bijlsma",
)

# Dutch surname particles (tussenvoegsels), longest first so "van der" wins over "van".
_PARTICLES = (
    "van der",
    "van den",
    "van de",
    "van het",
    "van 't",
    "in 't",
    "op de",
    "ter",
    "ten",
    "te",
    "van",
    "de",
    "der",
    "den",
    "het",
    "'t",
)
_NL_SURNAME_SHAPE = re.compile(
    r"((van|de|der|den|het|ter|ten|te|in|op|'t) )*[A-Z][a-zà-ÿ]+(-[A-Z][a-zà-ÿ]+)?"
)
# Old patronymics and medieval entries of the Faker list that would look odd in 2026.
_ARCHAIC = re.compile(r"(sz|dr|dochter|ensz)$")


def _nl_surnames() -> list[str]:
    names = [
        name
        for name in _PersonNL.last_names
        if _NL_SURNAME_SHAPE.fullmatch(name) and not _ARCHAIC.search(name)
    ]
    return names + list(_COMMON_NL_SURNAMES)


SURNAMES: dict[Locale, Pool[str]] = {
    "nl-NL": Pool(_nl_surnames()),
    "nl-BE": Pool(list(_PersonBE.last_names)),
}
FIRST_NAMES: dict[tuple[Locale, Gender], Pool[str]] = {
    ("nl-NL", "m"): Pool(list(_PersonNL.first_names_male)),
    ("nl-NL", "f"): Pool(list(_PersonNL.first_names_female)),
    ("nl-BE", "m"): Pool(list(_PersonBE.first_names_male)),
    ("nl-BE", "f"): Pool(list(_PersonBE.first_names_female)),
}


@dataclass(frozen=True, slots=True)
class Surname:
    """A surname as particle + core (NL) with an optional second surname (married / double).

    ``particle`` is empty for Belgian names, whose particles are part of the name as registered
    ("De Backer" is always capitalised); Dutch particles are lower case after a given name or
    initials ("Jan de Vries") and capitalised when the surname stands alone ("mevrouw De Vries").
    """

    particle: str
    core: str
    second: Surname | None = None
    separator: str = "-"

    def _one(self, standalone: bool) -> str:
        if not self.particle:
            return self.core
        particle = self.particle[0].upper() + self.particle[1:] if standalone else self.particle
        return f"{particle} {self.core}"

    def full(self) -> str:
        """The surname after a given name or initials (also the metadata form)."""
        text = self._one(False)
        return text if self.second is None else text + self.separator + self.second.full()

    def standalone(self) -> str:
        """The surname on its own, e.g. after "mevrouw"."""
        text = self._one(True)
        return text if self.second is None else text + self.separator + self.second.full()


def parse_surname(name: str, locale: Locale) -> Surname:
    """Split a list surname into particle and core (Dutch only)."""
    if locale == "nl-BE":
        return Surname("", name)
    for particle in _PARTICLES:
        if name.startswith(particle + " "):
            return Surname(particle, name[len(particle) + 1 :])
    return Surname("", name)


@dataclass(frozen=True, slots=True)
class Person:
    """A person with one or more given names (the first is the name they go by)."""

    given: tuple[str, ...]
    surname: Surname
    gender: Gender
    locale: Locale

    @property
    def first(self) -> str:
        return self.given[0]

    @property
    def initials(self) -> str:
        """Dutch-style initials: one per given name, each followed by a dot ("J.P.")."""
        return "".join(f"{name[0]}." for name in self.given)


def make_person(
    rng: random.Random,
    split: Split,
    locale: Locale,
    gender: Gender | None = None,
    *,
    max_given: int = 3,
    surname: Surname | None = None,
    married: bool | None = None,
) -> Person:
    """A random person of ``locale`` drawn from ``split``'s part of the name lists."""
    gender = gender or rng.choice(("m", "f"))
    count = 1 if max_given == 1 else rng.choices((1, 2, 3), weights=(5, 4, 1))[0]
    count = min(count, max_given)
    pool = FIRST_NAMES[(locale, gender)].part(split)
    given: list[str] = []
    while len(given) < count:
        name = rng.choice(pool)
        if name not in given:
            given.append(name)
    if surname is None:
        surname = parse_surname(SURNAMES[locale].pick(rng, split), locale)
        double_rate = 0.1 if locale == "nl-BE" else (0.25 if gender == "f" else 0.03)
        if married if married is not None else rng.random() < double_rate:
            other = parse_surname(SURNAMES[locale].pick(rng, split), locale)
            if other.core != surname.core:
                # NL: married name "Jansen-de Vries"; BE: both parents' names, space separated.
                separator = " " if locale == "nl-BE" else "-"
                surname = Surname(other.particle, other.core, surname, separator)
    return Person(tuple(given), surname, gender, locale)


def ascii_slug(text: str) -> str:
    """Lower-case ASCII letters and digits only (for e-mail addresses and URLs)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]", "", folded.lower())


# --------------------------------------------------------------------------------------------
# Places
# --------------------------------------------------------------------------------------------

# Faker's nl_BE list holds every Belgian municipality; keep the Flemish-looking ones.
_FRENCH_PLACE = re.compile(
    r"[éèêëçûôâîà]|-(sur|lez|la|le|les|en|aux|au|du|de|des|d')-|^(Le|La|Les|Saint|Sainte) |"
    r"Saint-|ville|court|mont\b|Bois|champs|Château|Ferri|rieux|oux\b|eux\b|ette\b|y\b|x\b|"
    r"Grand|Petit|gni|ogne|oign|ecq\b|aive|ange\b|ai\b|eau\b|ier\b|ies\b|ze\b|oz\b|e$"
)

CITIES: dict[Locale, Pool[str]] = {
    "nl-NL": Pool([c for c in _AddressNL.cities if not c.startswith("'s ")]),
    "nl-BE": Pool([c for c in _AddressBE.cities if not _FRENCH_PLACE.search(c)]),
}

# Common Dutch/Flemish street-name stems (curated from the most frequent street names listed by
# the Kadaster BAG and the Flemish CRAB register).
_STREET_STEMS = Pool(
    [
        "Kerk",
        "Molen",
        "Dorps",
        "School",
        "Linden",
        "Eiken",
        "Beuken",
        "Stations",
        "Markt",
        "Wilhelmina",
        "Juliana",
        "Beatrix",
        "Oranje",
        "Prins Hendrik",
        "Rembrandt",
        "Vondel",
        "Berken",
        "Esdoorn",
        "Kastanje",
        "Populieren",
        "Wilgen",
        "Acacia",
        "Tulpen",
        "Rozen",
        "Lelie",
        "Narcissen",
        "Meidoorn",
        "Hazelaar",
        "Vlier",
        "Zonnebloem",
        "Klaver",
        "Hoog",
        "Nieuwe",
        "Oude",
        "Achter",
        "Voor",
        "Noord",
        "Zuid",
        "Oost",
        "West",
        "Veld",
        "Bos",
        "Heide",
        "Polder",
        "Dijk",
        "Haven",
        "Sluis",
        "Brug",
        "Kanaal",
        "Park",
        "Tuin",
        "Hof",
        "Kloos",
        "Abdij",
        "Kapel",
        "Pastoor",
        "Koster",
        "Smids",
        "Bakkers",
        "Weverij",
        "Leeuwerik",
        "Merel",
        "Zwaluw",
        "Reiger",
        "Kievit",
        "Mussen",
        "Spreeuwen",
        "Vinken",
        "Wielewaal",
        "Van Gogh",
        "Mozart",
        "Beethoven",
        "Erasmus",
        "Thorbecke",
        "Spinoza",
        "Huygens",
        "Coster",
        "Frans Hals",
        "Jan Steen",
        "Pieter de Hooch",
        "Vermeer",
        "Breughel",
        "Rubens",
        "Memling",
        "Van Eyck",
        "Conscience",
        "Guido Gezelle",
        "Pater Damiaan",
        "Koning Albert",
        "Koningin Astrid",
        "Leopold",
        "Sint-Jans",
        "Sint-Pieters",
        "Onze-Lieve-Vrouw",
        "Begijnhof",
        "Vaart",
        "Beek",
        "Bron",
        "Weide",
        "Akker",
        "Hoeve",
        "Schuur",
        "Burgemeester Visser",
        "Burgemeester de With",
        "Dokter Schaepman",
        "Generaal Foulkes",
        "Prof. Kamerlingh Onnes",
        "Anne Frank",
        "Marie Curie",
        "Emma",
        "Irene",
        "Margriet",
        "Christina",
        "Willem-Alexander",
        "Maxima",
        "Amalia",
    ]
)
_STREET_SUFFIX: dict[Locale, tuple[str, ...]] = {
    "nl-NL": (
        "straat",
        "straat",
        "straat",
        "laan",
        "laan",
        "weg",
        "weg",
        "plein",
        "singel",
        "gracht",
        "dijk",
        "kade",
        "hof",
        "dreef",
        "pad",
        "steeg",
        "erf",
        "park",
    ),
    "nl-BE": (
        "straat",
        "straat",
        "straat",
        "laan",
        "lei",
        "steenweg",
        "baan",
        "dreef",
        "plein",
        "kaai",
        "weg",
        "hof",
        "vest",
        "dries",
        "kouter",
    ),
}


@dataclass(frozen=True, slots=True)
class Address:
    """A postal address; ``postcode_city`` is how it is written on one line ("1234 AB Utrecht")."""

    street: str
    number: str
    postcode: str
    city: str
    locale: Locale

    @property
    def street_line(self) -> str:
        return f"{self.street} {self.number}"

    @property
    def postcode_city(self) -> str:
        return f"{self.postcode} {self.city}"


def make_street(rng: random.Random, split: Split, locale: Locale) -> str:
    """A street name: a stem plus a locale-typical suffix ("Lindenlaan", "Guido Gezellestraat")."""
    return _STREET_STEMS.pick(rng, split) + rng.choice(_STREET_SUFFIX[locale])


def make_postcode(rng: random.Random, locale: Locale) -> str:
    if locale == "nl-BE":
        return str(rng.randint(1000, 9999))
    digits = rng.randint(1000, 9999)
    # SA, SD and SS are never issued; the letters F, I, O, Q, U and Y are not used either.
    letters = "ABCDEGHJKLMNPRSTVWXZ"
    while True:
        pair = rng.choice(letters) + rng.choice(letters)
        if pair not in {"SA", "SD", "SS"}:
            break
    return f"{digits} {pair}" if rng.random() < 0.8 else f"{digits}{pair}"


def make_house_number(rng: random.Random, locale: Locale) -> str:
    """A house number with the suffixes each country writes ("12a", "12-II", "12 bus 3")."""
    number = str(int(rng.lognormvariate(2.8, 0.9)) + 1)
    roll = rng.random()
    if roll < 0.08:
        return number + rng.choice("abcd")
    if roll < 0.11:
        return number + " " + rng.choice("ABC")
    if locale == "nl-BE":
        if roll < 0.2:
            return f"{number} bus {rng.randint(1, 40)}"
        if roll < 0.23:
            return f"{number}/{rng.randint(1, 12)}"
        if roll < 0.25:
            return f"{number} bis"
        if roll < 0.27:
            return f"{number}{rng.choice(('A', 'B'))}/{rng.randint(1, 4)}"
        return number
    if roll < 0.16:
        return f"{number}-{rng.randint(1, 3)}"
    if roll < 0.2:
        return f"{number}-{rng.choice(('I', 'II', 'III', 'IV'))}"
    if roll < 0.22:
        return f"{number} {rng.choice(('hs', 'huis', 'bg', 'I', 'II'))}"
    if roll < 0.24:
        return f"{number}-{rng.randint(1, 3)}{rng.choice(('hg', 'h', ''))}"
    if roll < 0.25:
        return f"{number} {rng.choice(('bis', 'zw', 'rd'))}"
    return number


def make_address(rng: random.Random, split: Split, locale: Locale) -> Address:
    """A random address of ``locale``."""
    return Address(
        make_street(rng, split, locale),
        make_house_number(rng, locale),
        make_postcode(rng, locale),
        CITIES[locale].pick(rng, split),
        locale,
    )


# --------------------------------------------------------------------------------------------
# Organisations
# --------------------------------------------------------------------------------------------

# Hospitals (public names, from the hospital lists of Zorgkaart Nederland and Zorgatlas
# Vlaanderen); organisation names are not personal data but are tagged as identifying.
HOSPITALS: dict[Locale, Pool[str]] = {
    "nl-NL": Pool(
        [
            "Amsterdam UMC",
            "UMC Utrecht",
            "Erasmus MC",
            "Radboudumc",
            "LUMC",
            "Maastricht UMC+",
            "UMCG",
            "Isala",
            "Rijnstate",
            "Catharina Ziekenhuis",
            "Jeroen Bosch Ziekenhuis",
            "Meander Medisch Centrum",
            "OLVG",
            "Spaarne Gasthuis",
            "Gelre ziekenhuizen",
            "Deventer Ziekenhuis",
            "Máxima MC",
            "Albert Schweitzer ziekenhuis",
            "Ikazia",
            "Franciscus Gasthuis & Vlietland",
            "HagaZiekenhuis",
            "Haaglanden MC",
            "Reinier de Graaf Gasthuis",
            "Groene Hart Ziekenhuis",
            "Tergooi MC",
            "Ziekenhuis Gelderse Vallei",
            "ZGT",
            "Medisch Spectrum Twente",
            "Martini Ziekenhuis",
            "Treant",
            "Zuyderland",
            "VieCuri",
            "Elkerliek ziekenhuis",
            "Anna Ziekenhuis",
            "Bravis ziekenhuis",
            "Amphia",
            "ETZ",
            "Maasstad Ziekenhuis",
            "St. Antonius Ziekenhuis",
            "Diakonessenhuis",
            "Noordwest Ziekenhuisgroep",
            "Dijklander Ziekenhuis",
            "Zaans Medisch Centrum",
            "Rode Kruis Ziekenhuis",
            "Flevoziekenhuis",
            "St Jansdal",
            "Slingeland Ziekenhuis",
            "Wilhelmina Ziekenhuis Assen",
            "Tjongerschans",
            "Antonius Sneek",
            "Frisius MC",
            "Van Weel-Bethesda Ziekenhuis",
            "Beatrixziekenhuis",
            "Ommelander Ziekenhuis Groningen",
            "Laurentius Ziekenhuis",
            "SJG Weert",
            "Adrz",
            "ZorgSaam",
            "Ziekenhuis Amstelland",
            "BovenIJ ziekenhuis",
            "Rivas Zorggroep",
            "Saxenburgh",
            "Nij Smellinghe",
            "Antoni van Leeuwenhoek",
            "Prinses Máxima Centrum",
            "Sint Maartenskliniek",
            "Streekziekenhuis Koningin Beatrix",
            "Ziekenhuis Rivierenland",
            "Gemini Ziekenhuis",
            "Spijkenisse Medisch Centrum",
            "Van Weel-Bethesda",
            "Alrijne Ziekenhuis",
            "LangeLand Ziekenhuis",
            "Maasziekenhuis Pantein",
            "Bernhoven",
            "Canisius Wilhelmina Ziekenhuis",
            "Ziekenhuis Tjongerschans",
        ]
    ),
    "nl-BE": Pool(
        [
            "UZ Leuven",
            "UZ Gent",
            "UZ Brussel",
            "UZA",
            "AZ Groeninge",
            "AZ Sint-Jan Brugge",
            "AZ Delta",
            "AZ Maria Middelares",
            "AZ Sint-Lucas Gent",
            "AZ Klina",
            "AZ Monica",
            "ZNA Middelheim",
            "ZNA Stuivenberg",
            "GZA Ziekenhuizen",
            "AZ Turnhout",
            "Jessa Ziekenhuis",
            "Ziekenhuis Oost-Limburg",
            "AZ Vesalius",
            "AZ Herentals",
            "Heilig-Hartziekenhuis Lier",
            "AZ Sint-Maarten",
            "Imelda Ziekenhuis",
            "AZ Rivierenland",
            "OLV Ziekenhuis Aalst",
            "AZ Alma",
            "AZ Damiaan",
            "AZ West",
            "AZ Zeno",
            "Sint-Trudo Ziekenhuis",
            "AZ Jan Portaels",
            "AZ Oudenaarde",
            "AZ Glorieux",
            "AZ Nikolaas",
            "AZ Lokeren",
            "AZ Sint-Elisabeth Zottegem",
            "AZ Diest",
            "Regionaal Ziekenhuis Heilig Hart Leuven",
            "AZ Voorkempen",
            "AZ Sint-Dimpna",
            "Sint-Franciscusziekenhuis",
            "AZ Jan Palfijn",
            "AZ Sint-Blasius",
            "AZ Sint-Vincentius",
            "ZNA Jan Palfijn",
            "GZA Sint-Augustinus",
            "AZ Sint-Jozef Malle",
            "Mariaziekenhuis",
            "AZ Oostende",
            "AZ Sint-Rembert",
            "AZ Sint-Maria Halle",
            "Ziekenhuis Geel",
            "AZ Vesalius Tongeren",
            "AZ Alma Eeklo",
            "Sint-Andriesziekenhuis Tielt",
        ]
    ),
}

# Names given to practices, care homes and home-care teams (curated).
_CARE_STEMS = Pool(
    [
        "De Linde",
        "Het Anker",
        "De Bron",
        "Zuid",
        "Centrum",
        "De Vaart",
        "Sint-Jozef",
        "De Zonnebloem",
        "Oosterpark",
        "De Wieken",
        "Het Baken",
        "De Hoven",
        "Eikenhof",
        "De Meander",
        "Het Kompas",
        "De Brug",
        "Kastanjehof",
        "Lindenhof",
        "De Regenboog",
        "Het Hof",
        "De Molen",
        "Sint-Anna",
        "Sint-Elisabeth",
        "Ter Heide",
        "Ter Linde",
        "De Akker",
        "De Es",
        "Het Dorp",
        "De Poort",
        "Westhove",
        "Oosthof",
        "Noorderlicht",
        "Zonnehof",
        "De Horst",
        "De Wingerd",
        "Den Bosch",
        "De Kern",
        "De Wissel",
        "Parkzicht",
        "Rozengaerde",
        "Mariahof",
        "Heilig Hart",
        "Sint-Vincentius",
        "De Pelikaan",
    ]
)
_CARE_PATTERNS: dict[Locale, tuple[str, ...]] = {
    "nl-NL": (
        "Huisartsenpraktijk {stem}",
        "Huisartsenpraktijk {city}",
        "Gezondheidscentrum {stem}",
        "Apotheek {stem}",
        "Apotheek {city}",
        "Thuiszorg {stem}",
        "Buurtzorg {city}",
        "verpleeghuis {stem}",
        "Zorgcentrum {stem}",
        "Huisartsenpost {city}",
        "Fysiotherapie {stem}",
        "GGZ {city}",
        "Trombosedienst {city}",
        "Revalidatiecentrum {stem}",
        "Hospice {stem}",
    ),
    "nl-BE": (
        "Huisartsenpraktijk {stem}",
        "Groepspraktijk {stem}",
        "Wijkgezondheidscentrum {stem}",
        "Apotheek {stem}",
        "Apotheek {city}",
        "Wit-Gele Kruis {city}",
        "woonzorgcentrum {stem}",
        "WZC {stem}",
        "Huisartsenwachtpost {city}",
        "Kinesitherapie {stem}",
        "CGG {city}",
        "Thuisverpleging {stem}",
        "Revalidatiecentrum {stem}",
    ),
}
CARE_KINDS = ("gp", "pharmacy", "homecare", "nursing_home", "other")
_CARE_KIND_OF = {
    "Huisartsenpraktijk": "gp",
    "Gezondheidscentrum": "gp",
    "Groepspraktijk": "gp",
    "Wijkgezondheidscentrum": "gp",
    "Apotheek": "pharmacy",
    "Thuiszorg": "homecare",
    "Buurtzorg": "homecare",
    "Wit-Gele": "homecare",
    "Thuisverpleging": "homecare",
    "verpleeghuis": "nursing_home",
    "Zorgcentrum": "nursing_home",
    "woonzorgcentrum": "nursing_home",
    "WZC": "nursing_home",
}


def make_care_org(rng: random.Random, split: Split, locale: Locale, kind: str | None = None) -> str:
    """A non-hospital healthcare organisation (practice, pharmacy, home care, care home ...)."""
    patterns = _CARE_PATTERNS[locale]
    if kind is not None:
        matching = [p for p in patterns if _CARE_KIND_OF.get(p.split(" ")[0]) == kind]
        patterns = tuple(matching) or patterns
    pattern = rng.choice(patterns)
    return pattern.format(stem=_CARE_STEMS.pick(rng, split), city=CITIES[locale].pick(rng, split))


# Employers: Faker's large Dutch companies plus generated "<surname> BV" style names.
_LARGE_COMPANIES = Pool(
    [
        *_CompanyNL.large_companies,
        "Colruyt",
        "Delhaize",
        "Proximus",
        "KBC",
        "Belfius",
        "Barco",
        "Bekaert",
        "Umicore",
        "Agfa",
        "Brussels Airlines",
        "De Lijn",
        "NMBS",
        "bpost",
        "Jumbo",
        "Albert Heijn",
        "PostNL",
        "NS",
        "Gemeente",
        "Stad",
    ]
)
_COMPANY_SUFFIX: dict[Locale, tuple[str, ...]] = {
    "nl-NL": (
        "BV",
        "B.V.",
        "Groep",
        "& Zn.",
        "Installatietechniek",
        "Bouw",
        "Transport",
        "Logistiek",
        "Schoonmaak",
        "Metaal",
    ),
    "nl-BE": ("NV", "BV", "bvba", "CommV", "Bouwwerken", "Transport", "Logistics", "Metaal"),
}
_SCHOOLS = Pool(
    [
        "basisschool De Regenboog",
        "basisschool De Wereldwijzer",
        "basisschool Het Palet",
        "Sint-Jozefscollege",
        "Sint-Lievenscollege",
        "Sint-Barbaracollege",
        "Atheneum",
        "Koninklijk Atheneum",
        "Het Baarnsch Lyceum",
        "Stedelijk Gymnasium",
        "Erasmus College",
        "Christelijk Lyceum",
        "Montessori Lyceum",
        "Vrije School",
        "ROC Midden Nederland",
        "ROC van Twente",
        "Hogeschool Utrecht",
        "Hogeschool Rotterdam",
        "Hanzehogeschool",
        "Fontys Hogescholen",
        "Saxion",
        "Avans Hogeschool",
        "Thomas More",
        "Hogeschool PXL",
        "Artevelde Hogeschool",
        "Hogeschool Gent",
        "Universiteit Utrecht",
        "KU Leuven",
        "Universiteit Gent",
        "VUB",
        "Universiteit Antwerpen",
        "Rijksuniversiteit Groningen",
        "Vrije Universiteit Amsterdam",
        "Universiteit Twente",
        "Maastricht University",
    ]
)
_CLUBS = (
    "voetbalvereniging {stem}",
    "VV {city}",
    "KFC {city}",
    "tennisclub {stem}",
    "zwemvereniging {stem}",
    "Harmonie {stem}",
    "scouting {stem}",
    "wielerclub {stem}",
)


def make_employer(rng: random.Random, split: Split, locale: Locale) -> str:
    """An employer (Organization:Other)."""
    if rng.random() < 0.35:
        name = _LARGE_COMPANIES.pick(rng, split)
        if name in {"Gemeente", "Stad"}:
            return f"{name} {CITIES[locale].pick(rng, split)}"
        return name
    surname = parse_surname(SURNAMES[locale].pick(rng, split), locale).standalone()
    return f"{surname} {rng.choice(_COMPANY_SUFFIX[locale])}"


def make_school(rng: random.Random, split: Split, locale: Locale) -> str:
    """A school, college or university (Organization:Other)."""
    return _SCHOOLS.pick(rng, split)


def make_club(rng: random.Random, split: Split, locale: Locale) -> str:
    """A sports club or association (Organization:Other)."""
    return rng.choice(_CLUBS).format(
        stem=_CARE_STEMS.pick(rng, split), city=CITIES[locale].pick(rng, split)
    )


# Health insurers / sickness funds are organisations but not care providers.
INSURERS: dict[Locale, tuple[str, ...]] = {
    "nl-NL": ("Zilveren Kruis", "CZ", "VGZ", "Menzis", "DSW", "ONVZ", "Zorg en Zekerheid"),
    "nl-BE": ("CM", "Solidaris", "Helan", "Partena", "Liberale Mutualiteit", "OZ"),
}

# --------------------------------------------------------------------------------------------
# Professions (occupations of patients and relatives; clinical roles are not labelled)
# --------------------------------------------------------------------------------------------

PROFESSIONS: dict[Locale, Pool[str]] = {
    "nl-NL": Pool(
        [
            "timmerman",
            "leraar",
            "lerares",
            "vrachtwagenchauffeur",
            "buschauffeur",
            "boekhouder",
            "kapper",
            "kapster",
            "metselaar",
            "loodgieter",
            "elektricien",
            "schilder",
            "melkveehouder",
            "tuinder",
            "kok",
            "bakker",
            "slager",
            "postbode",
            "politieagent",
            "brandweerman",
            "software-ontwikkelaar",
            "programmeur",
            "accountant",
            "advocaat",
            "notaris",
            "architect",
            "werktuigbouwkundig ingenieur",
            "caissière",
            "schoonmaker",
            "heftruckchauffeur",
            "magazijnmedewerker",
            "productiemedewerker",
            "administratief medewerker",
            "secretaresse",
            "docent wiskunde",
            "onderwijzer",
            "beveiliger",
            "taxichauffeur",
            "automonteur",
            "lasser",
            "stukadoor",
            "dakdekker",
            "hovenier",
            "visser",
            "kraanmachinist",
            "journalist",
            "fotograaf",
            "musicus",
            "predikant",
            "militair",
            "piloot",
            "stewardess",
            "callcentermedewerker",
            "verkoper",
            "winkelmedewerker",
            "makelaar",
            "bankmedewerker",
            "ambtenaar",
            "IT-consultant",
            "projectleider",
            "bedrijfsleider",
            "zelfstandig ondernemer",
            "glazenwasser",
            "verhuizer",
            "binnenvaartschipper",
            "boer",
            "havenarbeider",
            "bloemist",
            "rijinstructeur",
            "kinderopvangmedewerker",
            "data-analist",
            "jurist",
            "grafisch ontwerper",
        ]
    ),
    "nl-BE": Pool(
        [
            "bediende",
            "arbeider",
            "zelfstandige",
            "leerkracht",
            "kinderverzorgster",
            "poetshulp",
            "vrachtwagenchauffeur",
            "onthaalmedewerker",
            "bouwvakker",
            "schrijnwerker",
            "loodgieter",
            "elektricien",
            "landbouwer",
            "bakker",
            "slager",
            "beenhouwer",
            "postbode",
            "politieagent",
            "brandweerman",
            "boekhouder",
            "advocaat",
            "notaris",
            "architect",
            "ingenieur",
            "kassierster",
            "magazijnier",
            "heftruckchauffeur",
            "arbeider in de metaal",
            "lasser",
            "tegelzetter",
            "dakwerker",
            "tuinaannemer",
            "buschauffeur bij De Lijn",
            "treinbegeleider",
            "informaticus",
            "ambtenaar",
            "kapster",
            "kok",
            "zaakvoerder",
            "vertegenwoordiger",
            "schilder-decorateur",
            "chauffeur",
            "havenarbeider",
            "diamantslijper",
            "leraar lager onderwijs",
            "kleuterjuf",
            "opvoeder",
            "jurist",
            "ploegbaas",
            "verkoper",
        ]
    ),
}

# --------------------------------------------------------------------------------------------
# Identifiers
# --------------------------------------------------------------------------------------------


def bsn_is_valid(digits: str) -> bool:
    """The Dutch BSN 11-proof, by python-stdnum (independent of :func:`make_bsn`)."""
    from stdnum.nl import bsn

    return len(digits) == 9 and bsn.is_valid(digits)


def make_bsn(rng: random.Random) -> str:
    """A valid 9-digit BSN."""
    while True:
        head = f"{rng.randint(10_000_000, 99_999_999):08d}"
        check = sum(int(d) * w for d, w in zip(head, range(9, 1, -1), strict=True)) % 11
        if check < 10:
            candidate = head + str(check)
            if bsn_is_valid(candidate):
                return candidate


def format_bsn(bsn: str, rng: random.Random) -> str:
    style = rng.random()
    if style < 0.7:
        return bsn
    if style < 0.85:
        return f"{bsn[:4]}.{bsn[4:6]}.{bsn[6:]}"
    return f"{bsn[:3]} {bsn[3:6]} {bsn[6:]}"


def rrn_is_valid(digits: str) -> bool:
    """Belgian national register number check, by python-stdnum (independent of
    :func:`make_rrn`)."""
    from stdnum.be import nn

    return len(digits) == 11 and digits.isdigit() and nn.is_valid(digits)


def make_rrn(birth_date: dt.date, gender: Gender, rng: random.Random) -> str:
    """A valid 11-digit Belgian national register number for this birth date and gender
    (the day counter is odd for men, even for women)."""
    counter = rng.randrange(1, 998)
    if (counter % 2 == 1) != (gender == "m"):
        counter += 1
    base = int(f"{birth_date:%y%m%d}{counter:03d}")
    value = base + 2_000_000_000 if birth_date.year >= 2000 else base
    return f"{base:09d}{97 - value % 97:02d}"


def format_rrn(rrn: str, rng: random.Random) -> str:
    style = rng.random()
    if style < 0.55:
        return f"{rrn[:2]}.{rrn[2:4]}.{rrn[4:6]}-{rrn[6:9]}.{rrn[9:]}"
    if style < 0.8:
        return rrn
    if style < 0.9:
        return f"{rrn[:6]} {rrn[6:9]} {rrn[9:]}"
    return f"{rrn[:6]}-{rrn[6:9]}-{rrn[9:]}"


def riziv_is_valid(digits: str) -> bool:
    """RIZIV/INAMI number: 6-digit number, 2 check digits (97 - n mod 97), 3-digit
    qualification code."""
    if not re.fullmatch(r"\d{11}", digits):
        return False
    return int(digits[6:8]) == 97 - int(digits[:6]) % 97


def make_riziv(rng: random.Random, general_practitioner: bool) -> str:
    number = rng.randint(100_000, 199_999)
    qualification = (
        rng.choice(("003", "004", "005", "006"))
        if general_practitioner
        else rng.choice(("580", "590", "690", "710", "760", "790", "830", "850", "010"))
    )
    return f"{number:06d}{97 - number % 97:02d}{qualification}"


def format_riziv(riziv: str, rng: random.Random) -> str:
    style = rng.random()
    if style < 0.6:
        return f"{riziv[0]}-{riziv[1:6]}-{riziv[6:8]}-{riziv[8:]}"
    if style < 0.8:
        return riziv
    return f"{riziv[0]}/{riziv[1:6]}/{riziv[6:8]}/{riziv[8:]}"


def make_big(rng: random.Random) -> str:
    """An 11-digit BIG-register number."""
    return f"{rng.randint(1, 99_999_999_999):011d}"


def make_agb(rng: random.Random) -> str:
    """An 8-digit AGB code; ``01`` marks general practitioners."""
    return f"01{rng.randint(0, 999_999):06d}"


def format_agb(agb: str, rng: random.Random) -> str:
    return agb if rng.random() < 0.7 else f"{agb[:2]}-{agb[2:]}"


def format_patient_number(number: str, rng: random.Random) -> str:
    """A patient number as written: plain, grouped, or with the hospital's letter prefix."""
    style = rng.random()
    if style < 0.62 or len(number) != 8:
        return number
    if style < 0.74:
        return f"{number[:4]} {number[4:]}"
    if style < 0.84:
        return f"{number[:4]}-{number[4:]}"
    if style < 0.92:
        return rng.choice(("Z", "P", "A", "H")) + number
    if style < 0.96:
        return rng.choice(("Z-", "P-", "PID-", "NR.")) + number
    return f"{number[:2]}.{number[2:5]}.{number[5:]}"


def make_sample_number(rng: random.Random) -> str:
    """A lab, radiology or pathology order number (identifies a patient's sample or exam)."""
    year = rng.randint(18, 26)
    style = rng.randrange(6)
    if style == 0:
        return f"{year}{rng.choice('LRHM')}{rng.randint(0, 999_999):06d}"
    if style == 1:
        return f"{rng.choice(('L', 'RX', 'LAB', 'CT'))}{year}-{rng.randint(0, 99_999):05d}"
    if style == 2:
        return f"{rng.choice('TCHB')}{year}-{rng.randint(1, 29_999):05d}"
    if style == 3:
        return f"20{year}-{rng.randint(0, 999_999):06d}"
    if style == 4:
        return f"{rng.choice('ABZ')}{rng.randint(10**9, 10**10 - 1)}"
    return f"{rng.randint(10**7, 10**8 - 1)}"


# --------------------------------------------------------------------------------------------
# Contact details
# --------------------------------------------------------------------------------------------

_NL_AREA_2 = (
    "10",
    "13",
    "15",
    "20",
    "23",
    "24",
    "26",
    "30",
    "33",
    "35",
    "36",
    "38",
    "40",
    "43",
    "45",
    "46",
    "50",
    "53",
    "55",
    "58",
    "70",
    "71",
    "72",
    "73",
    "74",
    "75",
    "76",
    "77",
    "78",
    "79",
    "88",
)
_NL_AREA_3 = (
    "111",
    "113",
    "161",
    "162",
    "164",
    "172",
    "174",
    "180",
    "182",
    "186",
    "222",
    "223",
    "224",
    "226",
    "227",
    "229",
    "251",
    "252",
    "255",
    "294",
    "297",
    "299",
    "313",
    "314",
    "315",
    "316",
    "317",
    "318",
    "320",
    "321",
    "341",
    "342",
    "343",
    "344",
    "345",
    "346",
    "347",
    "348",
    "411",
    "412",
    "413",
    "416",
    "418",
    "475",
    "478",
    "481",
    "485",
    "486",
    "487",
    "488",
    "492",
    "493",
    "495",
    "497",
    "499",
    "511",
    "512",
    "513",
    "514",
    "515",
    "516",
    "517",
    "518",
    "519",
    "521",
    "522",
    "523",
    "524",
    "525",
    "527",
    "528",
    "529",
    "541",
    "543",
    "544",
    "545",
    "546",
    "547",
    "548",
    "561",
    "562",
    "566",
    "570",
    "571",
    "572",
    "573",
    "575",
    "576",
    "577",
    "578",
    "591",
    "592",
    "593",
    "594",
    "595",
    "596",
    "597",
    "598",
    "599",
)
_BE_AREA_1 = ("2", "3", "4", "9")
_BE_AREA_2 = (
    "11",
    "12",
    "13",
    "14",
    "15",
    "16",
    "19",
    "50",
    "51",
    "52",
    "53",
    "54",
    "55",
    "56",
    "57",
    "58",
    "59",
    "60",
    "61",
    "63",
    "64",
    "65",
    "67",
    "69",
    "71",
    "80",
    "81",
    "82",
    "83",
    "84",
    "85",
    "86",
    "87",
    "89",
)

# Digit patterns: "{a}" is the area code without its trunk 0, "#" a digit.
_PHONE_PATTERNS: dict[tuple[Locale, str], Pool[str]] = {
    ("nl-NL", "mobile"): Pool(
        [
            "06-########",
            "06 ########",
            "06 #### ####",
            "06-## ## ## ##",
            "+31 6 ########",
            "+31 (0)6 ########",
            "+316########",
            "0031 6 ########",
            "06########",
            "06 - ########",
            "+31 6 #### ####",
            "06-#### ####",
        ]
    ),
    ("nl-NL", "area2"): Pool(
        [
            "0{a}-#######",
            "0{a} ### ####",
            "(0{a}) ### ## ##",
            "+31 {a} ### ####",
            "+31 (0){a} #######",
            "0031 {a} #######",
            "0{a}#######",
            "0{a} - #######",
            "0{a}-### ## ##",
        ]
    ),
    ("nl-NL", "area3"): Pool(
        [
            "0{a}-######",
            "0{a} ## ## ##",
            "(0{a}) ######",
            "+31 {a} ######",
            "0{a}-### ###",
            "0{a} ######",
            "0031 {a} ######",
        ]
    ),
    ("nl-BE", "mobile"): Pool(
        [
            "04## ## ## ##",
            "04##/##.##.##",
            "04##-######",
            "+32 4## ## ## ##",
            "+32 (0)4## ## ## ##",
            "0032 4## ### ###",
            "04########",
            "04## ### ###",
            "04##/######",
            "+324########",
        ]
    ),
    ("nl-BE", "area1"): Pool(
        [
            "0{a} ### ## ##",
            "0{a}/###.##.##",
            "0{a}-### ## ##",
            "+32 {a} ### ## ##",
            "0032 {a} ### ## ##",
            "0{a}#######",
            "0{a}/### ## ##",
        ]
    ),
    ("nl-BE", "area2"): Pool(
        [
            "0{a} ## ## ##",
            "0{a}/##.##.##",
            "0{a}-## ## ##",
            "+32 {a} ## ## ##",
            "0{a}######",
            "0{a}/######",
            "0032 {a} ## ## ##",
        ]
    ),
}


def make_phone(rng: random.Random, split: Split, locale: Locale, kind: str = "any") -> str:
    """A phone number in one of many written formats; ``kind`` is mobile, landline or any."""
    if kind == "any":
        kind = "mobile" if rng.random() < 0.55 else "landline"
    if kind == "mobile":
        key = "mobile"
        area = ""
    elif locale == "nl-NL":
        key = "area2" if rng.random() < 0.5 else "area3"
        area = rng.choice(_NL_AREA_2 if key == "area2" else _NL_AREA_3)
    else:
        key = "area1" if rng.random() < 0.5 else "area2"
        area = rng.choice(_BE_AREA_1 if key == "area1" else _BE_AREA_2)
    pattern = _PHONE_PATTERNS[(locale, key)].pick(rng, split).replace("{a}", area)
    out = []
    for index, char in enumerate(pattern):
        if char != "#":
            out.append(char)
        elif locale == "nl-BE" and kind == "mobile" and pattern[index - 1 : index] == "4":
            # Belgian mobile prefixes run 0460-0499.
            out.append(str(rng.randint(6, 9)))
        else:
            out.append(str(rng.randint(0, 9)))
    return "".join(out)


_MAIL_DOMAINS: dict[Locale, Pool[str]] = {
    "nl-NL": Pool(
        [
            "gmail.com",
            "hotmail.com",
            "outlook.com",
            "live.nl",
            "ziggo.nl",
            "kpnmail.nl",
            "xs4all.nl",
            "planet.nl",
            "home.nl",
            "hetnet.nl",
            "icloud.com",
            "yahoo.com",
            "hotmail.nl",
            "casema.nl",
            "upcmail.nl",
            "quicknet.nl",
        ]
    ),
    "nl-BE": Pool(
        [
            "telenet.be",
            "skynet.be",
            "proximus.be",
            "hotmail.be",
            "gmail.com",
            "outlook.be",
            "scarlet.be",
            "live.be",
            "hotmail.com",
            "icloud.com",
            "pandora.be",
            "yahoo.be",
        ]
    ),
}
_MAIL_LOCAL = (
    "{g}.{s}",
    "{i}.{s}",
    "{g}{s}{yy}",
    "{s}.{g}",
    "{g}_{s}",
    "{i}{s}",
    "{g}{yy}",
    "{g}.{s}{yy}",
    "{s}{i}",
)


def make_email(person: Person, rng: random.Random, split: Split, domain: str | None = None) -> str:
    """An e-mail address derived from the person's name (private, or at ``domain``)."""
    pattern = rng.choice(_MAIL_LOCAL[:3] if domain else _MAIL_LOCAL)
    local = pattern.format(
        g=ascii_slug(person.first),
        s=ascii_slug(person.surname.full()),
        i=ascii_slug(person.initials),
        yy=f"{rng.randint(40, 99) if rng.random() < 0.7 else rng.randint(1, 2025):02d}",
    )
    return f"{local}@{domain or _MAIL_DOMAINS[person.locale].pick(rng, split)}"


def org_domain(organisation: str, locale: Locale) -> str:
    """The web domain an organisation plausibly uses (``azgroeninge.be``)."""
    return f"{ascii_slug(organisation)}.{'be' if locale == 'nl-BE' else 'nl'}"


_URL_PATHS = (
    "",
    "",
    "/afspraak",
    "/patienten",
    "/contact",
    "/folders",
    "/mijndossier",
    "/verwijzers",
    "/poli/cardiologie",
    "/nieuws",
)


def make_url(organisation: str, locale: Locale, rng: random.Random) -> str:
    """A URL of an organisation's website, in a few written styles."""
    domain = org_domain(organisation, locale)
    path = rng.choice(_URL_PATHS)
    prefix = rng.choice(("https://www.", "www.", "http://www.", "https://"))
    return f"{prefix}{domain}{path}"


# --------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------

MONTHS = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)
MONTHS_SHORT = ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec")
#: Other abbreviations writers use ("febr.", "sept.", "maa").
MONTHS_SHORT_ALT = (
    "jan",
    "febr",
    "maa",
    "apr",
    "mei",
    "juni",
    "juli",
    "aug",
    "sept",
    "okt",
    "nov",
    "dec",
)
ROMAN_MONTHS = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")
WEEKDAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
WEEKDAYS_SHORT = ("ma", "di", "wo", "do", "vr", "za", "zo")

#: Full-date styles; a note keeps one house style (one of the first eight) and sometimes
#: strays from it. The styles from "d month" on carry no year.
DATE_STYLES: tuple[str, ...] = (
    "dd-mm-yyyy",
    "d-m-yyyy",
    "dd/mm/yyyy",
    "d/m/yyyy",
    "dd.mm.yyyy",
    "yyyy-mm-dd",
    "dd-mm-yy",
    "d month yyyy",
    "d mon yyyy",
    "d mon. yyyy",
    "dd-mon-yyyy",
    "d month 'yy",
    "d/m/yy",
    "d-roman-yyyy",
    "d month",
    "dd-mm",
    "d/m",
    "d-m",
    "d mon.",
    "d mon",
    "d.m.",
    "dd.mm",
    "d/roman",
)
#: Styles without a year (a note date relative to the note itself: "(24/2)", "3 mrt.").
NO_YEAR_STYLES: tuple[str, ...] = DATE_STYLES[DATE_STYLES.index("d month") :]
BIRTH_STYLES: tuple[str, ...] = (
    "dd-mm-yyyy",
    "d-m-yyyy",
    "dd/mm/yyyy",
    "dd.mm.yyyy",
    "yyyy-mm-dd",
    "d month yyyy",
    "d mon yyyy",
)
#: Range connectors between two dates: (connector, dash-like) - a range is one Date span.
RANGE_JOINERS: tuple[str, ...] = (" t/m ", " - ", " tot ", " tot en met ", "-", " – ", " tm ")


def format_date(date: dt.date, style: str) -> str:
    """Write ``date`` in one of :data:`DATE_STYLES` (Dutch month names)."""
    d, m, y = date.day, date.month, date.year
    match style:
        case "dd-mm-yyyy":
            return f"{d:02d}-{m:02d}-{y}"
        case "d-m-yyyy":
            return f"{d}-{m}-{y}"
        case "dd/mm/yyyy":
            return f"{d:02d}/{m:02d}/{y}"
        case "d/m/yyyy":
            return f"{d}/{m}/{y}"
        case "dd.mm.yyyy":
            return f"{d:02d}.{m:02d}.{y}"
        case "yyyy-mm-dd":
            return date.isoformat()
        case "dd-mm-yy":
            return f"{d:02d}-{m:02d}-{y % 100:02d}"
        case "d month yyyy":
            return f"{d} {MONTHS[m - 1]} {y}"
        case "d mon yyyy":
            return f"{d} {MONTHS_SHORT[m - 1]} {y}"
        case "d mon. yyyy":
            return f"{d} {MONTHS_SHORT[m - 1]}. {y}"
        case "dd-mon-yyyy":
            return f"{d:02d}-{MONTHS_SHORT[m - 1]}-{y}"
        case "d month 'yy":
            return f"{d} {MONTHS[m - 1]} '{y % 100:02d}"
        case "d/m/yy":
            return f"{d}/{m}/{y % 100:02d}"
        case "d-roman-yyyy":
            return f"{d}-{ROMAN_MONTHS[m - 1]}-{y}"
        case "d month":
            return f"{d} {MONTHS[m - 1]}"
        case "dd-mm":
            return f"{d:02d}-{m:02d}"
        case "d/m":
            return f"{d}/{m}"
        case "d-m":
            return f"{d}-{m}"
        case "d mon.":
            return f"{d} {MONTHS_SHORT_ALT[m - 1] if d % 3 == 0 else MONTHS_SHORT[m - 1]}."
        case "d mon":
            return f"{d} {MONTHS_SHORT[m - 1]}"
        case "d.m.":
            return f"{d}.{m}."
        case "dd.mm":
            return f"{d:02d}.{m:02d}"
        case "d/roman":
            return f"{d}/{ROMAN_MONTHS[m - 1]}"
        case "month yyyy":
            return f"{MONTHS[m - 1]} {y}"
        case "mm-yyyy":
            return f"{m:02d}-{y}"
        case "yyyy":
            return str(y)
    raise ValueError(f"unknown date style {style!r}")


def weekday_prefix(date: dt.date, rng: random.Random) -> str:
    """The weekday of ``date`` as written before it ("maandag", "ma", "ma.")."""
    index = date.weekday()
    roll = rng.random()
    if roll < 0.6:
        return WEEKDAYS[index]
    if roll < 0.85:
        return WEEKDAYS_SHORT[index]
    return WEEKDAYS_SHORT[index] + "."


def format_range(start: dt.date, end: dt.date, style: str, rng: random.Random) -> str:
    """A date range as one expression ("12-14 maart 2024", "3 t/m 7 juni", "12/3-14/3").

    ``style`` is a :data:`DATE_STYLES` entry used for both ends when the range is written out
    in full; ranges within one month are often shortened.
    """
    if end < start:
        start, end = end, start
    same_month = (start.year, start.month) == (end.year, end.month) and start != end
    roll = rng.random()
    if same_month and roll < 0.45:
        month = MONTHS[end.month - 1]
        joiner = rng.choice(("-", " t/m ", " tot ", "-", " - "))
        form = rng.randrange(5)
        if form == 0:
            return f"{start.day}{joiner}{end.day} {month} {end.year}"
        if form == 1:
            return f"{start.day}{joiner}{end.day} {month}"
        if form == 2:
            return f"{start.day}-{end.day}/{end.month}"
        if form == 3:
            return f"{start.day}/{start.month}{joiner.strip() or '-'}{end.day}/{end.month}".replace(
                "t/m", " t/m "
            ).replace("tot", " tot ")
        return f"{start.day}{joiner}{end.day} {MONTHS_SHORT[end.month - 1]} {end.year}"
    if start.year == end.year and roll < 0.6:
        return (
            f"{start.day} {MONTHS[start.month - 1]} - {end.day} {MONTHS[end.month - 1]} {end.year}"
        )
    joiner = rng.choice(RANGE_JOINERS)
    return f"{format_date(start, style)}{joiner}{format_date(end, style)}"


def age_on(birth_date: dt.date, on: dt.date) -> int:
    """Completed years between ``birth_date`` and ``on``."""
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


@dataclass(slots=True)
class Identity:
    """Everything identifying about a patient that notes may mention."""

    person: Person
    birth_date: dt.date
    patient_number: str
    national_id: str
    address: Address
    phones: list[str] = field(default_factory=list)
    email: str = ""
    profession: str = ""
    employer: str = ""

"""Ordinary Dutch words (never PHI) for sentence starts, labels and filler text.

In real notes most capitalised words are ordinary words at the start of a sentence, a line or a
field ("Gisteren", "Opvallend", "Mobiliteit:"); a generator that only writes its own template
words teaches a model that any other capitalised word is PHI. The words here come from the
Dutch lexicon of :func:`deid_pipeline.training.dutch_lexicon` (wordfreq's ``nl`` list) minus
every word of a PHI value the generator can write (names and places of both splits, Faker's
name lists of several locales, streets, organisations, professions), so a lexicon word is never
also a name or a place in the corpus. Words are split train / held-out like every other list.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from functools import lru_cache

from deid_pipeline.synth import values as V
from deid_pipeline.synth.split import Pool

_WORD = re.compile(r"[^\W\d_]+")
_VOWEL = re.compile(r"[aeiouyáéíóúàèëïöüâêîôû]")

#: Connectives and adverbs that open sentences in clinical notes (curated).
STARTERS = Pool(
    [
        "Gisteren",
        "Vandaag",
        "Vanochtend",
        "Vanmiddag",
        "Vanavond",
        "Vannacht",
        "Daarna",
        "Daarnaast",
        "Verder",
        "Tevens",
        "Ook",
        "Echter",
        "Wel",
        "Inmiddels",
        "Eerder",
        "Later",
        "Nadien",
        "Overigens",
        "Mogelijk",
        "Waarschijnlijk",
        "Opvallend",
        "Momenteel",
        "Thans",
        "Sindsdien",
        "Bovendien",
        "Hierna",
        "Hierop",
        "Toen",
        "Nu",
        "Zojuist",
        "Aanvankelijk",
        "Uiteindelijk",
        "Aansluitend",
        "Vervolgens",
        "Tenslotte",
        "Desondanks",
        "Helaas",
        "Gelukkig",
        "Kortom",
        "Samengevat",
        "Volgens",
        "Nog",
        "Geen",
        "Geleidelijk",
        "Opnieuw",
        "Zo",
        "Hierdoor",
        "Omdat",
        "Na",
        "Bij",
        "Tijdens",
        "Rond",
        "Circa",
        "Ongeveer",
        "Vermoedelijk",
        "Klinisch",
        "Anamnestisch",
        "Objectief",
        "Subjectief",
        "Lichamelijk",
        "Psychisch",
        "Cognitief",
        "Functioneel",
        "Poliklinisch",
        "Telefonisch",
        "Schriftelijk",
    ]
)


def _person_providers() -> list[type]:
    """Faker's person providers of every locale: names of patients and staff in Dutch and
    Belgian hospitals come from everywhere, so no first or last name of any list is used."""
    import faker.providers.person as people

    providers = []
    for module in pkgutil.iter_modules(people.__path__):
        provider = importlib.import_module(f"{people.__name__}.{module.name}").Provider
        providers.append(provider)
    return providers


def _words(text: str) -> list[str]:
    return [word.lower() for word in _WORD.findall(text)]


@lru_cache(maxsize=1)
def phi_words() -> frozenset[str]:
    """Lower-cased words of every PHI value the generator can write, both splits.

    A superset of :func:`deid_pipeline.training.phi_vocabulary`: that function reads the train
    part of the curated lists only, this one reads both parts and more name lists.
    """
    from deid_pipeline.training import phi_vocabulary

    words = set(phi_vocabulary())
    pools: list[Pool[str]] = [
        *V.SURNAMES.values(),
        *V.FIRST_NAMES.values(),
        *V.CITIES.values(),
        *V.HOSPITALS.values(),
        *V.PROFESSIONS.values(),
        V._STREET_STEMS,
        V._CARE_STEMS,
        V._LARGE_COMPANIES,
        V._SCHOOLS,
    ]
    for pool in pools:
        for item in (*pool.train, *pool.heldout):
            words.update(_words(item))
    for stem in (*V._STREET_STEMS.train, *V._STREET_STEMS.heldout):
        for suffixes in V._STREET_SUFFIX.values():
            for suffix in suffixes:
                words.update(_words(stem + suffix))
    for insurers in V.INSURERS.values():
        for name in insurers:
            words.update(_words(name))
    # Countries are places too (Faker's Dutch, Belgian and English country lists).
    for module in ("nl_NL", "nl_BE", "en_US"):
        provider = importlib.import_module(f"faker.providers.address.{module}").Provider
        for name in getattr(provider, "countries", ()):
            words.update(_words(str(name)))
    for provider in _person_providers():
        for attribute in ("first_names", "first_names_male", "first_names_female", "last_names"):
            names = getattr(provider, attribute, ())
            if isinstance(names, (list, tuple, dict, set, frozenset)):
                for name in names:
                    words.update(_words(str(name)))
    return frozenset(words)


#: A lexicon word is left out when it is this much more frequent in English than in Dutch
#: (wordfreq's Zipf scale): the Dutch list carries English from subtitles and the web.
ENGLISH_MARGIN = 0.5
# Words that look like a street ("raadhuisstraat") or a Frisian surname ("brandsma", "hoekstra")
# are kept out as well: the lexicon holds proper names no list of the generator knows.
_PLACE_OR_NAME = re.compile(
    r"(?:straat|laan|plein|gracht|singel|dreef|steenweg|kade|sma|stra|inga|ema)$"
)
_KEEP = frozenset(
    {"plasma", "miasma", "extra", "systema", "probleema", "thema", "schema", "dilemma"}
)


@lru_cache(maxsize=1)
def ordinary_words() -> Pool[str]:
    """Lower-case Dutch lexicon words that are no PHI value anywhere in the generator.

    Words of three letters or more with a vowel, not in :func:`phi_words`, not clearly English
    (see :data:`ENGLISH_MARGIN`) and not shaped like a street or a Frisian surname.
    """
    import wordfreq

    from deid_pipeline.training import dutch_lexicon

    excluded = phi_words()
    dutch = wordfreq.get_frequency_dict("nl", wordlist="large")
    english = wordfreq.get_frequency_dict("en", wordlist="large")
    margin = 10**ENGLISH_MARGIN

    def ordinary(word: str) -> bool:
        if len(word) < 3 or not word.islower() or not _VOWEL.search(word) or word in excluded:
            return False
        if english.get(word, 0.0) >= margin * dutch.get(word, 0.0) > 0.0:
            return False
        return word in _KEEP or not _PLACE_OR_NAME.search(word)

    return Pool([word for word in dutch_lexicon() if ordinary(word)])

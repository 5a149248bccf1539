"""Patients, caregivers and the per-note context that fills template slots.

A :class:`PatientRecord` is derived from ``(seed, split, patient index)`` alone, so every note
of that patient sees the same name, birth date, ids, address, GP and relatives, without the
generator keeping patients in memory. A :class:`NoteContext` holds one note's choices (author,
hospital, dates, date style) and exposes them as template slots; each slot call draws a fresh
surface form (initials or full name, a different date format ...) of the same underlying value.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from deid_pipeline.notes import KnownValue, NoteMetadata, PatientMetadata, PersonName
from deid_pipeline.synth import clinical as C
from deid_pipeline.synth import phrases as P
from deid_pipeline.synth import quantities as Q
from deid_pipeline.synth import values as V
from deid_pipeline.synth.builder import (
    FIELD_LABELS,
    DocBuilder,
    Fragment,
    SlotValue,
    annotated,
    join,
    markup,
    phi,
    plain,
    qty,
)
from deid_pipeline.synth.split import Pool, Split, derive_rng

PAT = "Name:Patient"
CARE = "Name:Caregiver"
OTHER = "Name:Other"
LOC_PAT = "Address_Location:Patient"
LOC_CARE = "Address_Location:Caregiver"
LOC_OTHER = "Address_Location:Other"
AGE = "Age_Birthdate"
DATE = "Date"
CONTACT = "Contactdetails"
ID_PAT = "ID:Patient"
ID_CARE = "ID:Caregiver"
ORG_CARE = "Organization:Healthcare"
ORG_OTHER = "Organization:Other"
PROF = "Profession"


@dataclass(frozen=True, slots=True)
class Caregiver:
    """A doctor, nurse or therapist with the role, id and organisation they are known by."""

    person: V.Person
    role: str
    doctor: bool
    id_label: str
    id_value: str
    organisation: str
    phone: str
    email: str


@dataclass(frozen=True, slots=True)
class Relative:
    person: V.Person
    relation: str
    age: int | None
    phone: str
    city: str
    profession: str


@dataclass(slots=True)
class PatientRecord:
    """Everything stable about one synthetic patient."""

    patient_id: str
    locale: V.Locale
    identity: V.Identity
    gp: Caregiver
    gp_address: V.Address
    relatives: list[Relative]
    hospital: str
    specialism: str
    specialist: Caregiver
    known_labels: tuple[str, ...] = field(default_factory=tuple)


_RELATIONS_M = ("zoon", "broer", "vader", "schoonzoon", "kleinzoon", "neef", "buurman", "vriend")
_RELATIONS_F = (
    "dochter",
    "zus",
    "moeder",
    "schoondochter",
    "kleindochter",
    "nicht",
    "buurvrouw",
    "vriendin",
)


def patient_number(index: int, split: Split, seed: int) -> str:
    """A hospital patient number, unique per (seed, split) for up to 10 million patients."""
    base = derive_rng(seed, split, "patient-number-base").randrange(10_000_000)
    value = (index * 7_919 + base) % 10_000_000  # 7919 is prime to 10^7: a bijection
    lead = (1 if split == "train" else 5) + index % 4
    return f"{lead}{value:07d}"


def make_caregiver(
    rng: random.Random,
    split: Split,
    locale: V.Locale,
    role: str,
    organisation: str,
    *,
    doctor: bool = True,
    gp: bool = False,
) -> Caregiver:
    person = V.make_person(rng, split, locale, max_given=2, married=False)
    if locale == "nl-BE":
        label, value = "RIZIV-nummer", V.format_riziv(V.make_riziv(rng, gp), rng)
    elif gp:
        label, value = "AGB-code", V.format_agb(V.make_agb(rng), rng)
    else:
        label, value = "BIG-nummer", V.make_big(rng)
    domain = V.org_domain(organisation, locale)
    return Caregiver(
        person,
        role,
        doctor,
        label,
        value,
        organisation,
        V.make_phone(rng, split, locale, "landline"),
        V.make_email(person, rng, split, domain),
    )


def make_patient(seed: int, split: Split, index: int, locale_mix: float) -> PatientRecord:
    """The patient with this index; identical for every note that refers to it."""
    rng = derive_rng(seed, split, "patient", index)
    locale: V.Locale = "nl-BE" if rng.random() < locale_mix else "nl-NL"
    gender: V.Gender = rng.choice(("m", "f"))
    person = V.make_person(rng, split, locale, gender)
    age = int(min(101, max(0, rng.gauss(64, 18)))) if rng.random() < 0.95 else rng.randint(0, 17)
    reference = dt.date(2026, 1, 1)
    birth_date = reference - dt.timedelta(days=age * 365 + rng.randrange(365))
    national_id = V.make_rrn(birth_date, gender, rng) if locale == "nl-BE" else V.make_bsn(rng)
    address = V.make_address(rng, split, locale)
    phones = [V.make_phone(rng, split, locale, "mobile")]
    if rng.random() < 0.5:
        phones.append(V.make_phone(rng, split, locale, "landline"))
    identity = V.Identity(
        person=person,
        birth_date=birth_date,
        patient_number=patient_number(index, split, seed),
        national_id=national_id,
        address=address,
        phones=phones,
        email=V.make_email(person, rng, split),
        profession=V.PROFESSIONS[locale].pick(rng, split),
        employer=V.make_employer(rng, split, locale),
    )
    practice = V.make_care_org(rng, split, locale, "gp")
    gp = make_caregiver(rng, split, locale, "huisarts", practice, gp=True)
    gp_address = V.make_address(rng, split, locale)
    relatives = []
    for _ in range(rng.choices((0, 1, 2, 3), weights=(1, 4, 3, 1))[0]):
        rel_gender: V.Gender = rng.choice(("m", "f"))
        relation = rng.choice(_RELATIONS_M if rel_gender == "m" else _RELATIONS_F)
        shares_name = relation in {"zoon", "dochter", "broer", "zus", "vader"} and locale == "nl-NL"
        rel_person = V.make_person(
            rng,
            split,
            locale,
            rel_gender,
            max_given=1,
            surname=person.surname if shares_name and person.surname.second is None else None,
        )
        relatives.append(
            Relative(
                rel_person,
                relation,
                rng.randint(18, 80) if rng.random() < 0.3 else None,
                V.make_phone(rng, split, locale, "mobile"),
                V.CITIES[locale].pick(rng, split),
                V.PROFESSIONS[locale].pick(rng, split),
            )
        )
    # Partner: the husband of a woman with a married name carries the first surname.
    if rng.random() < 0.5:
        partner_gender: V.Gender = "m" if gender == "f" else "f"
        partner_surname = None
        if person.surname.second is not None and locale == "nl-NL":
            partner_surname = V.Surname(person.surname.particle, person.surname.core)
        relatives.insert(
            0,
            Relative(
                V.make_person(
                    rng,
                    split,
                    locale,
                    partner_gender,
                    max_given=1,
                    surname=partner_surname,
                    married=False,
                ),
                "echtgenoot" if partner_gender == "m" else "echtgenote",
                None,
                V.make_phone(rng, split, locale, "mobile"),
                address.city,
                V.PROFESSIONS[locale].pick(rng, split),
            ),
        )
    hospital = V.HOSPITALS[locale].pick(rng, split)
    specialism = rng.choice(C.SPECIALISMS[locale])
    specialist = make_caregiver(rng, split, locale, C.SPECIALIST_OF[specialism], hospital)
    known = tuple(
        label
        for label in ("phone", "national_id", "street", "patient_number", "email", "city")
        if rng.random() < 0.5
    )
    return PatientRecord(
        patient_number(index, split, seed),
        locale,
        identity,
        gp,
        gp_address,
        relatives,
        hospital,
        specialism,
        specialist,
        known,
    )


_TITLES = {
    ("nl-NL", "m"): ("dhr.", "de heer", "meneer", "Dhr.", "dhr"),
    ("nl-NL", "f"): ("mevrouw", "mw.", "mevr.", "Mw.", "Mevr.", "mw"),
    ("nl-BE", "m"): ("dhr.", "de heer", "mijnheer", "meneer", "Dhr.", "Mijnheer"),
    ("nl-BE", "f"): ("mevrouw", "mevr.", "Mevr.", "mw.", "Mevrouw"),
}


class NoteContext:
    """One note's world: patient, author, colleagues, dates; exposes template slots."""

    def __init__(
        self,
        rng: random.Random,
        split: Split,
        record: PatientRecord,
        document_date: dt.date,
        builder: DocBuilder,
    ) -> None:
        self.rng = rng
        self.split = split
        self.record = record
        self.locale: V.Locale = record.locale
        self.belgian = record.locale == "nl-BE"
        self.ident = record.identity
        self.patient = record.identity.person
        self.male = self.patient.gender == "m"
        self.doc_date = document_date
        self.builder = builder
        self.date_style = rng.choice(V.DATE_STYLES[:8])
        self.birth_style = rng.choice(V.BIRTH_STYLES)
        # The hospital and specialism of this note: usually the patient's own.
        if rng.random() < 0.75:
            self.hospital = record.hospital
            self.specialism = record.specialism
            self.author = record.specialist
        else:
            self.hospital = V.HOSPITALS[self.locale].pick(rng, split)
            self.specialism = rng.choice(C.SPECIALISMS[self.locale])
            self.author = make_caregiver(
                rng, split, self.locale, C.SPECIALIST_OF[self.specialism], self.hospital
            )
        self.hospital2 = V.HOSPITALS[self.locale].pick(rng, split)
        # Colleagues are made on first mention (most notes name few of them); each draws from
        # its own seed, so a note is the same whichever of them its text mentions first.
        self._seeds = [rng.getrandbits(64) for _ in range(6)]
        self._people: dict[str, Caregiver] = {}
        self.colleague_specialism = rng.choice(C.SPECIALISMS[self.locale])
        self.care_org = V.make_care_org(rng, split, self.locale, rng.choice(V.CARE_KINDS))
        self.pharmacy = V.make_care_org(rng, split, self.locale, "pharmacy")
        self.adm_date = document_date - dt.timedelta(days=rng.randint(1, 21))
        self.dis_date = min(document_date, self.adm_date + dt.timedelta(days=rng.randint(1, 14)))
        self.event_place = V.CITIES[self.locale].pick(rng, split)
        self.diagnosis = C.DIAGNOSES.pick(rng, split)
        self.complaint = C.COMPLAINTS.pick(rng, split)
        self.mentioned: list[Caregiver] = [self.author]
        self.slots: dict[str, SlotValue] = self._slots()

    # -- colleagues (lazy) -------------------------------------------------------------------

    def _staff(self, key: str, seed: int, role: str | None, *, doctor: bool = True) -> Caregiver:
        person = self._people.get(key)
        if person is None:
            rng = random.Random(seed)
            if role is None:
                roles = C.ALLIED_ROLES if key == "allied" else C.JUNIOR_ROLES[self.locale]
                role = rng.choice(roles)
            person = make_caregiver(
                rng, self.split, self.locale, role, self.hospital, doctor=doctor
            )
            self._people[key] = person
        return person

    @property
    def junior(self) -> Caregiver:
        """The resident or junior doctor of this note."""
        return self._staff("junior", self._seeds[0], None)

    @property
    def nurses(self) -> list[Caregiver]:
        """Three nurses on the ward."""
        return [
            self._staff(f"nurse{i}", self._seeds[1 + i], "verpleegkundige", doctor=False)
            for i in range(3)
        ]

    def nurse(self) -> Caregiver:
        """One of the three nurses."""
        i = self.rng.randrange(3)
        return self._staff(f"nurse{i}", self._seeds[1 + i], "verpleegkundige", doctor=False)

    @property
    def allied(self) -> Caregiver:
        """An allied health professional (physiotherapist, dietitian ...)."""
        return self._staff("allied", self._seeds[4], None, doctor=False)

    @property
    def colleague(self) -> Caregiver:
        """A specialist colleague of another specialism."""
        return self._staff("colleague", self._seeds[5], C.SPECIALIST_OF[self.colleague_specialism])

    # -- rendering -------------------------------------------------------------------------

    def say(self, phrases: Pool[str], **extra: SlotValue) -> None:
        """Render one phrasing of ``phrases`` (from this split's part)."""
        template = phrases.pick(self.rng, self.split)
        slots = self.slots if not extra else {**self.slots, **extra}
        self.builder.render(template, slots)

    def write(self, template: str, **extra: SlotValue) -> None:
        """Render a fixed template (semi-structured labels and glue, not prose)."""
        slots = self.slots if not extra else {**self.slots, **extra}
        self.builder.render(template, slots)

    # -- names -----------------------------------------------------------------------------

    def title(self, person: V.Person) -> str:
        return self.rng.choice(_TITLES[(person.locale, person.gender)])

    def name(self, person: V.Person, label: str, form: str | None = None) -> Fragment:
        """A mention of ``person`` (the name only is the span)."""
        rng = self.rng
        sur = person.surname
        form = (
            form
            or rng.choices(("first_sur", "init_sur", "all_sur", "sur"), weights=(4, 5, 1, 2))[0]
        )
        if form != "first" and rng.random() < 0.04:
            # Some systems and writers put whole names in capitals ("JAN DE VRIES").
            return phi(self._caps_name(person, form), label)
        if form == "first_sur":
            return phi(f"{person.first} {sur.full()}", label)
        if form == "init_sur":
            initials = person.initials
            if rng.random() < 0.15:
                initials = initials.replace(".", "") if len(initials) > 2 else initials
            return phi(f"{initials} {sur.full()}", label)
        if form == "all_sur":
            return phi(f"{' '.join(person.given)} {sur.full()}", label)
        if form == "first":
            return phi(person.first, label)
        # Surname alone: Dutch spelling capitalises the particle, many writers do not.
        text = sur.standalone() if rng.random() < 0.75 else sur.full()
        return phi(text, label)

    def _caps_name(self, person: V.Person, form: str) -> str:
        sur = person.surname
        if form == "sur":
            return sur.standalone().upper()
        if form == "init_sur":
            return f"{person.initials} {sur.full().upper()}"
        return f"{person.first} {sur.full()}".upper()

    def listed_name(self, person: V.Person, label: str) -> Fragment:
        """A name in "SURNAME, Given" order as lists and record systems write it."""
        rng = self.rng
        sur = person.surname
        style = rng.randrange(6)
        surname = sur.standalone().upper() if style < 3 else sur.standalone()
        given = (
            person.first
            if style in (0, 3)
            else person.initials
            if style in (1, 4)
            else " ".join(person.given)
        )
        if sur.particle and rng.random() < 0.3:
            # "VRIES, Jan de" / "Vries, J. de": the particle after the given names.
            core = sur.core.upper() if style < 3 else sur.core
            if sur.second is None:
                return phi(f"{core}, {given} {sur.particle}", label)
        return phi(f"{surname}, {given}", label)

    def titled(self, person: V.Person, label: str) -> Fragment:
        """Title plus name: "mevrouw De Vries", "dhr. J. de Vries"."""
        form = self.rng.choices(("sur", "init_sur", "first_sur"), weights=(5, 4, 1))[0]
        return join(self.title(person) + " ", self.name(person, label, form))

    def header_name(self, person: V.Person, label: str) -> Fragment:
        """Name as written in record headers: "De Vries, J.P." or "DE VRIES, Jan"."""
        rng = self.rng
        sur = person.surname
        style = rng.randrange(8)
        if style >= 5:
            return self.listed_name(person, label)
        if style == 0:
            return phi(f"{sur.standalone()}, {person.initials}", label)
        if style == 1:
            return phi(f"{sur.standalone().upper()}, {' '.join(person.given)}", label)
        if style == 2:
            return phi(f"{person.initials} {sur.full()}", label)
        if style == 3:
            return phi(f"{sur.standalone()}, {person.first}", label)
        return join(self.title(person) + " ", phi(f"{person.initials} {sur.full()}", label))

    def doctor(self, caregiver: Caregiver, *, with_role: bool = False) -> Fragment:
        """A caregiver mention with a fitting title ("dr. J. Peeters", "dokter Peeters")."""
        rng = self.rng
        if caregiver not in self.mentioned:
            self.mentioned.append(caregiver)
        person = caregiver.person
        if not caregiver.doctor:
            name = self.name(person, CARE, rng.choice(("first_sur", "first", "init_sur", "first")))
            return join(name, f" ({caregiver.role})") if with_role else name
        roll = rng.random()
        if roll < 0.45:
            title = rng.choice(("dr.", "Dr.", "drs.", "prof. dr.", "dr"))
            mention = join(title + " ", self.name(person, CARE, rng.choice(("init_sur", "sur"))))
        elif roll < 0.6 and self.belgian:
            mention = join(
                rng.choice(("dokter", "Dokter", "dr.")) + " ", self.name(person, CARE, "sur")
            )
        elif roll < 0.7:
            mention = join("collega ", self.name(person, CARE, "sur"))
        else:
            mention = self.name(person, CARE)
        return join(mention, f", {caregiver.role}") if with_role else mention

    # -- slots -----------------------------------------------------------------------------

    def date(self, date: dt.date, label: str = DATE, style: str | None = None) -> Fragment:
        """A date as one span; sometimes with its weekday, which is then part of the span."""
        rng = self.rng
        if style is None:
            style = self.date_style if rng.random() < 0.75 else rng.choice(V.DATE_STYLES)
            if label == DATE and style != "yyyy-mm-dd" and rng.random() < 0.06:
                return self.date_wd(date, style)
        return phi(V.format_date(date, style), label)

    def date_wd(self, date: dt.date, style: str | None = None) -> Fragment:
        """Weekday and date as one Date span ("maandag 3 maart", "di 24/2")."""
        rng = self.rng
        if style is None:
            style = rng.choice((self.date_style, *V.NO_YEAR_STYLES[:6]))
        separator = ", " if rng.random() < 0.15 else " "
        return phi(f"{V.weekday_prefix(date, rng)}{separator}{V.format_date(date, style)}", DATE)

    def date_range(self, start: dt.date, end: dt.date) -> Fragment:
        """A range of dates as one Date span."""
        rng = self.rng
        style = self.date_style if rng.random() < 0.6 else rng.choice(V.DATE_STYLES)
        if start == end:
            return self.date(start)
        return phi(V.format_range(start, end, style, rng), DATE)

    def short_date(self, date: dt.date) -> Fragment:
        """A date without its year ("24/2", "3 mrt."), as notes write dates near the note."""
        return phi(V.format_date(date, self.rng.choice(V.NO_YEAR_STYLES)), DATE)

    def past_date(self) -> dt.date:
        return self.doc_date - dt.timedelta(days=self.rng.randint(20, 3000))

    def stay_date(self) -> dt.date:
        """A day of the current admission (daily entries, shifts)."""
        return self.adm_date + dt.timedelta(
            days=self.rng.randint(0, (self.doc_date - self.adm_date).days)
        )

    def future_date(self) -> dt.date:
        return self.doc_date + dt.timedelta(days=self.rng.randint(3, 120))

    def relative(self) -> Relative | None:
        return self.rng.choice(self.record.relatives) if self.record.relatives else None

    def _relative_mention(self) -> Fragment:
        rel = self.relative()
        if rel is None:
            return plain("de familie")
        possessive = "zijn" if self.male else "haar"
        rng = self.rng
        if rng.random() < 0.5:
            return join(f"{possessive} {rel.relation} ", self.name(rel.person, OTHER, "first"))
        if rng.random() < 0.5:
            return join(f"{possessive} {rel.relation}, ", self.titled(rel.person, OTHER), ",")
        return join(self.name(rel.person, OTHER, "first_sur"), f" ({rel.relation})")

    def _national_label(self) -> str:
        if self.belgian:
            return self.rng.choice(("Rijksregisternummer", "RRN", "INSZ", "INSZ-nummer", "NN"))
        return self.rng.choice(("BSN", "BSN", "Burgerservicenummer", "bsn"))

    def _national_id(self) -> Fragment:
        value = self.ident.national_id
        text = V.format_rrn(value, self.rng) if self.belgian else V.format_bsn(value, self.rng)
        return phi(text, ID_PAT)

    def _age(self) -> str:
        return str(V.age_on(self.ident.birth_date, self.doc_date))

    def _age_phrase(self) -> Fragment:
        age = phi(self._age(), AGE)
        man = "man" if self.male else "vrouw"
        style = self.rng.randrange(4)
        if style == 0:
            return join(age, f"-jarige {man}")
        if style == 1:
            return join(f"{man} van ", age, " jaar")
        if style == 2:
            return join(f"{man} (", age, " jr)")
        return join(f"{man}, ", age, " jaar,")

    def _caps(self, text: str) -> str:
        return text.upper() if self.rng.random() < 0.05 else text

    def _address_block(self, sep: str | None = None) -> Fragment:
        address = self.ident.address
        sep = sep or self.rng.choice((", ", "\n", ", ", "  ", " - "))
        upper = self.rng.random() < 0.08
        street, pc_city = address.street_line, address.postcode_city
        if upper:
            street, pc_city = street.upper(), pc_city.upper()
        return join(phi(street, LOC_PAT), sep, phi(pc_city, LOC_PAT))

    def _slots(self) -> dict[str, SlotValue]:
        rng = self.rng
        pt, ident, record = self.patient, self.ident, self.record
        male = self.male

        def pick(*options: str) -> Callable[[], str]:
            return lambda: rng.choice(options)

        def rel_name() -> Fragment:
            rel = self.relative()
            return self.name(rel.person, OTHER, "first_sur") if rel else plain("familie")

        def rel_phone() -> Fragment:
            rel = self.relative()
            return phi(rel.phone, CONTACT) if rel else plain("onbekend")

        def rel_city() -> Fragment:
            rel = self.relative()
            return phi(rel.city, LOC_OTHER) if rel else phi(self.event_place, LOC_OTHER)

        def rel_prof() -> Fragment:
            rel = self.relative()
            if rel is None:
                return phi(V.PROFESSIONS[self.locale].pick(rng, self.split), PROF)
            return join(f"{rel.relation} werkt als ", phi(rel.profession, PROF))

        def pnr() -> Fragment:
            return phi(V.format_patient_number(ident.patient_number, rng), ID_PAT)

        def phone() -> Fragment:
            return phi(rng.choice(ident.phones), CONTACT)

        def gp_mention() -> Fragment:
            return self.doctor(record.gp)

        def nurse() -> Fragment:
            return self.doctor(self.nurse())

        slots: dict[str, SlotValue] = {
            # patient
            "pt": lambda: self.name(pt, PAT),
            "pt_t": lambda: self.titled(pt, PAT),
            "pt_sur": lambda: join(self.title(pt) + " ", self.name(pt, PAT, "sur")),
            "pt_first": lambda: self.name(pt, PAT, "first"),
            "pt_header": lambda: self.header_name(pt, PAT),
            "pt_full": lambda: self.name(pt, PAT, rng.choice(("first_sur", "all_sur"))),
            "age": lambda: phi(self._age(), AGE),
            "age_phrase": self._age_phrase,
            "dob": lambda: self.date(ident.birth_date, AGE, self.birth_style),
            "nid": self._national_id,
            "nid_label": lambda: annotated(self._national_label(), FIELD_LABELS),
            "pnr": pnr,
            "pnr_label": lambda: annotated(
                rng.choice(
                    (
                        "Patiëntnummer",
                        "Pat.nr.",
                        "PID",
                        "Patiënt-ID",
                        "Dossiernummer",
                        "Ziekenhuisnummer",
                        "EPD-nr",
                        "Registratienummer",
                    )
                ),
                FIELD_LABELS,
            ),
            "sample_nr": lambda: phi(V.make_sample_number(rng), ID_PAT),
            "street": lambda: phi(self._caps(ident.address.street_line), LOC_PAT),
            "pc_city": lambda: phi(self._caps(ident.address.postcode_city), LOC_PAT),
            "city": lambda: phi(self._caps(ident.address.city), LOC_PAT),
            "addr": self._address_block,
            "phone": phone,
            "email": lambda: phi(ident.email, CONTACT),
            "prof": lambda: phi(ident.profession, PROF),
            "employer": lambda: phi(ident.employer, ORG_OTHER),
            "school": lambda: phi(V.make_school(rng, self.split, self.locale), ORG_OTHER),
            "club": lambda: phi(V.make_club(rng, self.split, self.locale), ORG_OTHER),
            "insurer": lambda: phi(rng.choice(V.INSURERS[self.locale]), ORG_OTHER),
            # caregivers
            "cg": lambda: self.doctor(self.author),
            "cg_name": lambda: self.name(
                self.author.person, CARE, rng.choice(("init_sur", "first_sur"))
            ),
            "cg_role": lambda: self.author.role,
            "cg_id": lambda: phi(self.author.id_value, ID_CARE),
            "cg_id_label": lambda: annotated(self.author.id_label, FIELD_LABELS),
            "cg_phone": lambda: phi(self.author.phone, CONTACT),
            "cg_email": lambda: phi(self.author.email, CONTACT),
            "jr": lambda: self.doctor(self.junior),
            "jr_name": lambda: self.name(
                self.junior.person, CARE, rng.choice(("init_sur", "first_sur"))
            ),
            "jr_role": lambda: self.junior.role,
            "cg2": lambda: self.doctor(self.colleague),
            "cg2_role": lambda: self.colleague.role,
            "spec2": lambda: self.colleague_specialism,
            "nurse": nurse,
            "allied": lambda: self.doctor(self.allied),
            "allied_role": lambda: self.allied.role,
            "gp": gp_mention,
            "gp_name": lambda: self.name(
                record.gp.person, CARE, rng.choice(("init_sur", "first_sur"))
            ),
            "gp_practice": lambda: phi(record.gp.organisation, ORG_CARE),
            "gp_street": lambda: phi(record.gp_address.street_line, LOC_CARE),
            "gp_pc_city": lambda: phi(record.gp_address.postcode_city, LOC_CARE),
            "gp_city": lambda: phi(record.gp_address.city, LOC_CARE),
            "gp_phone": lambda: phi(record.gp.phone, CONTACT),
            "gp_id": lambda: phi(record.gp.id_value, ID_CARE),
            "gp_id_label": lambda: annotated(record.gp.id_label, FIELD_LABELS),
            "hosp": lambda: phi(self.hospital, ORG_CARE),
            "hosp2": lambda: phi(self.hospital2, ORG_CARE),
            "care_org": lambda: phi(self.care_org, ORG_CARE),
            "pharmacy": lambda: phi(self.pharmacy, ORG_CARE),
            "url": lambda: phi(V.make_url(self.hospital, self.locale, rng), CONTACT),
            "hosp_phone": lambda: phi(
                V.make_phone(rng, self.split, self.locale, "landline"), CONTACT
            ),
            "hosp_mail": lambda: phi(
                f"{rng.choice(('secretariaat', 'poli', 'info', 'verwijzingen'))}."
                f"{V.ascii_slug(self.specialism)}@{V.org_domain(self.hospital, self.locale)}",
                CONTACT,
            ),
            # others
            "rel": self._relative_mention,
            "rel_name": rel_name,
            "rel_phone": rel_phone,
            "rel_city": rel_city,
            "rel_prof": rel_prof,
            "place": lambda: phi(self.event_place, LOC_OTHER),
            # dates
            "d_doc": lambda: self.date(self.doc_date),
            "d_adm": lambda: self.date(self.adm_date),
            "d_dis": lambda: self.date(self.dis_date),
            "d_past": lambda: self.date(self.past_date()),
            "d_stay": lambda: self.date(self.stay_date()),
            "d_fut": lambda: self.date(self.future_date()),
            "d_month": lambda: self.date(
                self.past_date(), style=rng.choice(("month yyyy", "mm-yyyy"))
            ),
            "d_year": lambda: self.date(self.past_date(), style="yyyy"),
            "d_doc_wd": lambda: self.date_wd(self.doc_date),
            "d_stay_wd": lambda: self.date_wd(self.stay_date()),
            "d_range": lambda: self.date_range(self.adm_date, self.dis_date),
            "d_short": lambda: self.short_date(self.stay_date()),
            # grammar
            "hij": "hij" if male else "zij",
            "Hij": "Hij" if male else "Zij",
            "zijn": "zijn" if male else "haar",
            "Zijn": "Zijn" if male else "Haar",
            "hem": "hem" if male else "haar",
            "man": "man" if male else "vrouw",
            "patient": "patiënt" if male else "patiënte",
            "Patient": "Patiënt" if male else "Patiënte",
            "heer": "heer" if male else "mevrouw",
            "dhr_mw": ("dhr." if male else "mw."),
            # clinical (not PHI)
            "spec": self.specialism,
            "diag": self.diagnosis,
            "diag2": lambda: C.DIAGNOSES.pick(rng, self.split),
            "hist": lambda: markup(C.HISTORY.pick(rng, self.split)),
            "complaint": self.complaint,
            "complaint2": lambda: C.COMPLAINTS.pick(rng, self.split),
            "med": lambda: C.medication_line(rng, self.locale),
            "lab": lambda: C.lab_line(rng, self.locale),
            "vitals": lambda: C.vitals(rng),
            "finding": lambda: markup(C.FINDINGS.pick(rng, self.split)),
            "score": lambda: C.assessment(rng, self.split),
            "imaging": lambda: C.IMAGING.pick(rng, self.split),
            "img_finding": lambda: markup(C.IMAGING_FINDINGS.pick(rng, self.split)),
            "proc": lambda: C.PROCEDURES.pick(rng, self.split),
            "neg": lambda: markup(C.HARD_NEGATIVES.pick(rng, self.split)),
            "code": lambda: Q.code_mention(rng),
            "amount": lambda: Q.amount(rng),
            "n_days": lambda: str(rng.randint(2, 10)),
            "n": lambda: str(rng.randint(2, 6)),
            "time": lambda: qty(f"{rng.randint(7, 22):02d}:{rng.choice((0, 10, 15, 30, 45)):02d}"),
            "clock": lambda: Q.clock_time(rng, self.locale),
            "weekday": lambda: rng.choice(V.WEEKDAYS),
            "gp_word": pick("huisarts", "huisarts", "behandelend huisarts")
            if not self.belgian
            else pick("huisarts", "behandelende geneesheer", "huisarts"),
            "post": pick("huisartsenpost", "HAP")
            if not self.belgian
            else pick("wachtpost", "huisartsenwachtpost"),
            "shift": pick(*P.SHIFT_NAMES),
            "sleep": lambda: markup(rng.choice(P.SLEEP)),
            "mood": pick(*P.MOOD),
            "mood_s": pick(*P.MOOD),
            "care": lambda: markup(rng.choice(P.CARE)),
            "room": lambda: f"{rng.randint(1, 40)}{rng.choice(('', '', 'a', 'b', '.1', '.2'))}",
            "gp_mail": lambda: phi(
                V.make_email(
                    record.gp.person,
                    rng,
                    self.split,
                    V.org_domain(record.gp.organisation, self.locale),
                ),
                CONTACT,
            ),
            "jr_first": lambda: self.name(self.junior.person, CARE, "first"),
            "cg2_first": lambda: self.name(self.colleague.person, CARE, "first"),
            "seh": pick("SEH", "Spoedeisende Hulp", "spoedeisende hulp")
            if not self.belgian
            else pick("spoedgevallendienst", "spoed", "dienst spoedgevallen"),
        }
        return slots

    # -- metadata ----------------------------------------------------------------------------

    def metadata(self) -> NoteMetadata:
        """Structured data consistent with the text: the patient as named, treating caregivers
        (author and GP plus, sometimes, others mentioned) and some known PHI values."""
        pt, ident, rng = self.patient, self.ident, self.rng
        caregivers = [self.author.person, self.record.gp.person]
        caregivers += [
            c.person for c in self.mentioned if c.person not in caregivers and rng.random() < 0.5
        ]
        known_map = {
            "phone": (ident.phones[0], CONTACT),
            "national_id": (ident.national_id, ID_PAT),
            "street": (ident.address.street_line, LOC_PAT),
            "patient_number": (ident.patient_number, ID_PAT),
            "email": (ident.email, CONTACT),
            "city": (ident.address.city, LOC_PAT),
        }
        return NoteMetadata(
            patient=PatientMetadata(
                given_names=" ".join(pt.given),
                surname=pt.surname.full(),
                initials=pt.initials,
                birth_date=ident.birth_date,
            ),
            caregivers=[
                PersonName(
                    given_names=" ".join(p.given), surname=p.surname.full(), initials=p.initials
                )
                for p in caregivers
            ],
            known_values=[
                KnownValue(value=known_map[key][0], label=known_map[key][1])
                for key in self.record.known_labels
            ],
            document_date=self.doc_date,
        )

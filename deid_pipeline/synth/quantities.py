# ruff: noqa: E501  (one drug / analyte per line keeps the tables readable)
"""Quantities and codes (never PHI): doses, lab values, vital signs, scores, clock times, codes.

Every function returns a :data:`~deid_pipeline.synth.builder.Fragment` whose numeric parts are
annotated as ``quantities`` (number plus unit, dose, frequency, score, clock time) and whose
codes are annotated as ``codes``, so the evaluation can measure whether a model leaves them
intact. Sources: common Dutch/Flemish usage (Farmacotherapeutisch Kompas and CBIP drug doses,
NVKC/Belgian lab units and reference ranges, NHG and Belgian scoring instruments); ICD-10, ATC,
SNOMED CT, LOINC and HGVS formats (public code systems; the values are real codes or
well-formed random ones).
"""

from __future__ import annotations

import random

from deid_pipeline.synth.builder import CODES, QUANTITIES, Fragment, join, plain, qty
from deid_pipeline.synth.values import Locale

_Q = "@" + QUANTITIES
_C = "@" + CODES


def code(text: str) -> Fragment:
    """A fragment that is one (non-PHI) code."""
    return ((text, _C),)


def decimal(rng: random.Random, low: float, high: float, digits: int, *, comma: bool = True) -> str:
    """A number in ``[low, high]`` with ``digits`` decimals, Dutch decimal comma by default."""
    text = f"{rng.uniform(low, high):.{digits}f}"
    return text.replace(".", ",") if comma else text


# --------------------------------------------------------------------------------------------
# Medication
# --------------------------------------------------------------------------------------------

#: (generic name, dose strengths, usual routes)
# fmt: off
DRUGS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("metoprolol", ("12,5 mg", "25 mg", "50 mg", "100 mg", "200 mg"), ("p.o.", "po", "oraal")),
    ("bisoprolol", ("1,25 mg", "2,5 mg", "5 mg", "10 mg"), ("p.o.", "po")),
    ("paracetamol", ("500 mg", "1000 mg", "1 g", "665 mg", "1.000 mg", "1000mg"), ("p.o.", "rectaal", "i.v.", "per os")),
    ("acenocoumarol", ("1 mg", "4 mg"), ("p.o.",)),
    ("apixaban", ("2,5 mg", "5 mg"), ("p.o.",)),
    ("rivaroxaban", ("10 mg", "15 mg", "20 mg"), ("p.o.",)),
    ("omeprazol", ("20 mg", "40 mg"), ("p.o.", "i.v.")),
    ("pantoprazol", ("20 mg", "40 mg"), ("p.o.", "i.v.")),
    ("furosemide", ("20 mg", "40 mg", "80 mg", "125 mg", "250 mg"), ("p.o.", "i.v.", "iv")),
    ("bumetanide", ("1 mg", "2 mg", "5 mg"), ("p.o.", "i.v.")),
    ("metformine", ("500 mg", "850 mg", "1000 mg"), ("p.o.",)),
    ("gliclazide", ("30 mg", "80 mg"), ("p.o.",)),
    ("simvastatine", ("20 mg", "40 mg"), ("p.o.",)),
    ("atorvastatine", ("10 mg", "20 mg", "40 mg", "80 mg"), ("p.o.",)),
    ("rosuvastatine", ("5 mg", "10 mg", "20 mg"), ("p.o.",)),
    ("amoxicilline/clavulaanzuur", ("500/125 mg", "875/125 mg", "1000/200 mg", "1,2 g"), ("p.o.", "i.v.")),
    ("amoxicilline", ("500 mg", "750 mg", "1 g"), ("p.o.", "i.v.")),
    ("flucloxacilline", ("500 mg", "1 g", "2 g"), ("p.o.", "i.v.")),
    ("ciprofloxacine", ("250 mg", "500 mg", "400 mg"), ("p.o.", "i.v.")),
    ("ceftriaxon", ("1 g", "2 g"), ("i.v.", "i.m.")),
    ("cefuroxim", ("750 mg", "1500 mg", "1,5 g"), ("i.v.",)),
    ("vancomycine", ("1 g", "1000 mg", "15 mg/kg"), ("i.v.",)),
    ("gentamicine", ("5 mg/kg", "7 mg/kg", "320 mg"), ("i.v.",)),
    ("nitrofurantoïne", ("50 mg", "100 mg"), ("p.o.",)),
    ("prednisolon", ("5 mg", "10 mg", "20 mg", "30 mg", "40 mg", "60 mg"), ("p.o.",)),
    ("dexamethason", ("4 mg", "6 mg", "8 mg", "10 mg"), ("p.o.", "i.v.")),
    ("hydrocortison", ("10 mg", "20 mg", "100 mg"), ("p.o.", "i.v.")),
    ("levothyroxine", ("25 µg", "50 µg", "75 µg", "100 microg", "125 mcg", "150 µg"), ("p.o.",)),
    ("insuline aspart", ("4 E", "6 E", "8 eenheden", "10 IE"), ("s.c.",)),
    ("insuline glargine", ("10 E", "14 E", "18 E", "24 eenheden", "30 IE"), ("s.c.", "sc", "subcutaan")),
    ("oxycodon", ("5 mg", "10 mg", "20 mg", "2,5 mg"), ("p.o.", "s.c.", "i.v.")),
    ("morfine", ("2,5 mg", "5 mg", "10 mg", "1 mg/u", "20 mg/24 uur"), ("s.c.", "i.v.", "p.o.")),
    ("fentanyl", ("12 µg/u", "25 µg/uur", "50 mcg/u"), ("transdermaal", "pleister")),
    ("tramadol", ("50 mg", "100 mg"), ("p.o.",)),
    ("lorazepam", ("0,5 mg", "1 mg", "2,5 mg"), ("p.o.", "s.l.", "i.v.")),
    ("oxazepam", ("10 mg", "15 mg"), ("p.o.",)),
    ("midazolam", ("2,5 mg", "5 mg", "7,5 mg", "1 mg/u"), ("s.c.", "i.v.", "buccaal")),
    ("haloperidol", ("0,5 mg", "1 mg", "2,5 mg", "5 mg"), ("p.o.", "s.c.", "i.m.", "i.v.")),
    ("quetiapine", ("12,5 mg", "25 mg", "50 mg"), ("p.o.",)),
    ("salbutamol", ("100 µg/dosis", "2,5 mg", "5 mg", "200 mcg"), ("inhalatie", "vernevelen", "inh.")),
    ("ipratropium", ("20 µg/dosis", "500 µg"), ("inhalatie", "vernevelen")),
    ("tiotropium", ("18 µg", "2,5 µg/dosis"), ("inhalatie",)),
    ("enoxaparine", ("0,4 ml", "40 mg", "0,6 ml", "60 mg", "80 mg", "4000 IE", "6000 IE"), ("s.c.", "sc", "subcutaan")),
    ("nadroparine", ("2850 IE", "3800 IE", "5700 IE", "0,3 ml"), ("s.c.",)),
    ("tinzaparine", ("3500 IE", "4500 IE", "10.000 IE"), ("s.c.",)),
    ("heparine", ("5000 IE", "25.000 IE/50 ml", "1,2 ml/u"), ("i.v.", "s.c.")),
    ("macrogol", ("1 sachet", "13,8 g", "2 sachets"), ("p.o.",)),
    ("lactulose", ("10 ml", "15 ml", "20 ml"), ("p.o.",)),
    ("ferrofumaraat", ("200 mg",), ("p.o.",)),
    ("amlodipine", ("2,5 mg", "5 mg", "10 mg"), ("p.o.",)),
    ("lisinopril", ("5 mg", "10 mg", "20 mg", "40 mg"), ("p.o.",)),
    ("perindopril", ("2 mg", "4 mg", "8 mg"), ("p.o.",)),
    ("losartan", ("50 mg", "100 mg"), ("p.o.",)),
    ("spironolacton", ("12,5 mg", "25 mg", "50 mg"), ("p.o.",)),
    ("hydrochloorthiazide", ("12,5 mg", "25 mg"), ("p.o.",)),
    ("allopurinol", ("100 mg", "200 mg", "300 mg"), ("p.o.",)),
    ("colchicine", ("0,5 mg",), ("p.o.",)),
    ("levodopa/carbidopa", ("100/25 mg", "125 mg", "250/25 mg"), ("p.o.",)),
    ("clopidogrel", ("75 mg", "300 mg", "600 mg"), ("p.o.",)),
    ("acetylsalicylzuur", ("80 mg", "100 mg", "160 mg", "300 mg"), ("p.o.",)),
    ("ticagrelor", ("60 mg", "90 mg", "180 mg"), ("p.o.",)),
    ("digoxine", ("0,0625 mg", "0,125 mg", "0,25 mg"), ("p.o.", "i.v.")),
    ("amiodaron", ("100 mg", "200 mg", "300 mg", "900 mg/24u"), ("p.o.", "i.v.")),
    ("noradrenaline", ("0,05 µg/kg/min", "0,1 µg/kg/min", "4 mg/50 ml"), ("i.v.", "via CVC")),
    ("propofol", ("2%", "100 mg", "150 mg/u"), ("i.v.",)),
    ("NaCl 0,9%", ("500 ml", "1000 ml", "1 l", "1000 ml/24u", "80 ml/u"), ("i.v.",)),
    ("glucose 5%", ("500 ml", "1000 ml/24 uur", "40 ml/u"), ("i.v.",)),
    ("kaliumchloride", ("20 mmol", "40 mmol", "1 g", "600 mg"), ("p.o.", "i.v.")),
    ("magnesiumsulfaat", ("2 g", "4 g", "10 mmol"), ("i.v.",)),
    ("calciumcarbonaat/colecalciferol", ("500 mg/800 IE", "1000 mg/880 IE", "1,25 g/400 IE"), ("p.o.",)),
    ("colecalciferol", ("800 IE", "25.000 IE", "50.000 IE", "5600 IE"), ("p.o.",)),
    ("foliumzuur", ("0,5 mg", "5 mg"), ("p.o.",)),
    ("methotrexaat", ("10 mg", "15 mg", "25 mg"), ("p.o.", "s.c.")),
    ("ondansetron", ("4 mg", "8 mg"), ("p.o.", "i.v.")),
    ("metoclopramide", ("10 mg",), ("p.o.", "i.v.", "rectaal")),
    ("domperidon", ("10 mg",), ("p.o.",)),
    ("naproxen", ("250 mg", "500 mg"), ("p.o.",)),
    ("diclofenac", ("50 mg", "75 mg", "100 mg"), ("p.o.", "rectaal")),
    ("ibuprofen", ("200 mg", "400 mg", "600 mg"), ("p.o.",)),
    ("sertraline", ("50 mg", "100 mg"), ("p.o.",)),
    ("citalopram", ("10 mg", "20 mg"), ("p.o.",)),
    ("mirtazapine", ("15 mg", "30 mg"), ("p.o.",)),
    ("temazepam", ("10 mg", "20 mg"), ("p.o.",)),
    ("zopiclon", ("3,75 mg", "7,5 mg"), ("p.o.",)),
    ("tamsulosine", ("0,4 mg",), ("p.o.",)),
    ("finasteride", ("5 mg",), ("p.o.",)),
    ("mesalazine", ("500 mg", "1 g", "2 g", "4 g"), ("p.o.", "rectaal")),
    ("budesonide", ("3 mg", "9 mg", "200 µg", "400 mcg"), ("p.o.", "inhalatie")),
    ("fluticason/salmeterol", ("250/50 µg", "500/50 µg"), ("inhalatie",)),
    ("valproïnezuur", ("300 mg", "500 mg"), ("p.o.", "i.v.")),
    ("levetiracetam", ("250 mg", "500 mg", "1000 mg"), ("p.o.", "i.v.")),
    ("carbamazepine", ("200 mg", "400 mg"), ("p.o.",)),
    ("fenytoïne", ("100 mg", "250 mg"), ("p.o.", "i.v.")),
    ("morfine-HCl drank", ("2 mg/ml", "5 ml"), ("p.o.",)),
    ("chloorhexidine mondspoeling", ("0,12%", "10 ml"), ("lokaal",)),
    ("fusidinezuur crème", ("2%",), ("lokaal", "cutaan")),
    ("timolol oogdruppels", ("0,25%", "0,5%", "1 druppel"), ("oculair", "beide ogen")),
)
# fmt: on

#: Brand names per generic (NL, BE): they look like names or companies to a model, never PHI.
BRANDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "acenocoumarol": (("Sintrom",), ("Sintrom",)),
    "apixaban": (("Eliquis",), ("Eliquis",)),
    "rivaroxaban": (("Xarelto",), ("Xarelto",)),
    "furosemide": (("Lasix",), ("Lasix",)),
    "metoprolol": (("Selokeen",), ("Selozok",)),
    "omeprazol": (("Losec",), ("Losec",)),
    "pantoprazol": (("Pantozol",), ("Pantomed",)),
    "amoxicilline/clavulaanzuur": (("Augmentin",), ("Augmentin",)),
    "enoxaparine": (("Clexane",), ("Clexane",)),
    "nadroparine": (("Fraxiparine",), ("Fraxiparine",)),
    "macrogol": (("Movicolon",), ("Movicol",)),
    "salbutamol": (("Ventolin", "Airomir"), ("Ventolin",)),
    "tiotropium": (("Spiriva",), ("Spiriva",)),
    "insuline glargine": (("Lantus", "Abasaglar"), ("Lantus",)),
    "insuline aspart": (("NovoRapid",), ("NovoRapid",)),
    "oxycodon": (("Oxynorm", "OxyContin"), ("Oxynorm",)),
    "lorazepam": (("Temesta",), ("Temesta",)),
    "levodopa/carbidopa": (("Sinemet", "Duodopa"), ("Sinemet",)),
    "paracetamol": (("Panadol",), ("Dafalgan", "Perdolan")),
    "acetylsalicylzuur": (("Ascal",), ("Asaflow", "Cardioaspirine")),
    "clopidogrel": (("Plavix",), ("Plavix",)),
    "ticagrelor": (("Brilique",), ("Brilique",)),
    "levothyroxine": (("Thyrax", "Euthyrox"), ("L-Thyroxine", "Euthyrox")),
    "prednisolon": (("Prednison",), ("Medrol",)),
    "tramadol": (("Tramal",), ("Contramal",)),
    "haloperidol": (("Haldol",), ("Haldol",)),
    "quetiapine": (("Seroquel",), ("Seroquel",)),
    "diclofenac": (("Voltaren",), ("Voltaren",)),
    "ibuprofen": (("Advil", "Nurofen"), ("Brufen", "Nurofen")),
    "fluticason/salmeterol": (("Seretide",), ("Seretide",)),
    "mesalazine": (("Pentasa", "Salofalk"), ("Pentasa",)),
    "levetiracetam": (("Keppra",), ("Keppra",)),
    "tamsulosine": (("Omnic",), ("Omic",)),
    "ondansetron": (("Zofran",), ("Zofran",)),
    "metoclopramide": (("Primperan",), ("Primperan",)),
}
FREQUENCIES: tuple[str, ...] = (
    "1dd", "2dd", "3dd", "4dd", "1dd1", "2dd1", "3dd1", "4dd1", "1 dd 1", "2 dd 1", "3 dd 1",
    "1x/dag", "2x/dag", "3x/dag", "1x per dag", "2x per dag", "3 x daags", "4x daags", "2 maal daags",
    "max 4x/dag", "max 6dd", "max. 3 x per dag", "1x/week", "1x per week", "2 dd 2 pufjes",
    "3 dd 10 ml", "1x per 3 dagen", "elke 6 uur", "iedere 8 uur", "q6h", "1x/24u", "2x/24u",
    "1 dd 1 tablet", "2dd1 tablet", "1 x daags 1 capsule", "4 dd 1 g",
)  # fmt: skip
_FREQUENCY_WORDS: tuple[str, ...] = (
    "zo nodig", "z.n.", "zn", "a.n.", "voor de nacht", "'s ochtends", "'s avonds", "nuchter",
    "continu", "bij pijn", "bij benauwdheid", "bij misselijkheid", "volgens schema", "bij onrust",
    "volgens glucoseschema", "volgens schema trombosedienst", "eenmalig", "stat", "om de dag",
)  # fmt: skip


def _frequency(rng: random.Random) -> Fragment:
    roll = rng.random()
    if roll < 0.6:
        return qty(rng.choice(FREQUENCIES))
    if roll < 0.8:
        return plain(rng.choice(_FREQUENCY_WORDS))
    return join(qty(rng.choice(FREQUENCIES)), " ", rng.choice(_FREQUENCY_WORDS))


def _duration(rng: random.Random) -> Fragment:
    number = rng.choice((3, 5, 7, 10, 14, 2, 4, 6))
    unit = rng.choice(("dagen", "dagen", "weken", "dg", "d"))
    prefix = rng.choice(("gedurende ", "voor ", "totaal ", "", "kuur "))
    return join(prefix, qty(f"{number} {unit}"))


def medication_line(rng: random.Random, locale: Locale) -> Fragment:
    """One medication: name (or brand), dose, route, frequency, sometimes a duration."""
    name, doses, routes = rng.choice(DRUGS)
    brands = BRANDS.get(name)
    if brands and rng.random() < 0.25:
        brand = rng.choice(brands[1] if locale == "nl-BE" else brands[0])
        written = f"{brand} ({name})" if rng.random() < 0.5 else brand
    else:
        written = name[:1].upper() + name[1:] if rng.random() < 0.15 else name
    dose = qty(rng.choice(doses))
    route = rng.choice(routes)
    form = rng.randrange(7)
    if form == 0:
        line = join(written, " ", dose, " ", route, " ", _frequency(rng))
    elif form == 1:
        line = join(written, " ", _frequency(rng), " ", dose)
    elif form == 2:
        line = join(written, " ", dose, " ", _frequency(rng))
    elif form == 3:
        line = join(written, " ", dose, ", ", _frequency(rng), ", ", route)
    elif form == 4:
        line = join(written, " ", dose, " ", route, " ", _frequency(rng), " ", _duration(rng))
    elif form == 5:
        line = join(written, " ", dose, " ", _frequency(rng), " (", plain(route), ")")
    else:
        times = rng.sample(("8", "12", "14", "18", "20", "22"), rng.randint(1, 3))
        when = join(
            *[
                join(", " if i else "", clock_time(rng, locale, hour=int(t)))
                for i, t in enumerate(sorted(times, key=int))
            ]
        )
        line = join(written, " ", dose, " om ", when)
    return line


# --------------------------------------------------------------------------------------------
# Laboratory
# --------------------------------------------------------------------------------------------

#: (names, NL units, BE units, low, high, decimals, reference low, reference high)
Analyte = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], float, float, int, float, float]
# fmt: off
ANALYTES: tuple[Analyte, ...] = (
    (("Hb", "hemoglobine", "Hgb"), ("mmol/l", "mmol/L"), ("g/dl", "g/dL"), 5.0, 10.5, 1, 7.5, 10.0),
    (("Ht", "hematocriet"), ("l/l", "L/L"), ("%",), 0.25, 0.5, 2, 0.37, 0.47),
    (("leuko's", "leukocyten", "leuco", "WBC"), ("x10^9/l", "x 10^9/L", "10*9/l", "10E9/l", "/nl"), ("x10^9/l", "/µl", "10³/µl"), 2.0, 25.0, 1, 4.0, 10.0),
    (("trombo's", "trombocyten", "plaatjes", "PLT"), ("x10^9/l", "x 10^9/L", "10*9/l"), ("x10^9/l", "10³/µl"), 40, 600, 0, 150, 400),
    (("ery's", "erytrocyten"), ("x10^12/l", "10*12/l"), ("x10^12/l",), 3.0, 6.0, 1, 4.2, 5.5),
    (("MCV",), ("fl", "fL"), ("fl",), 70, 110, 0, 80, 100),
    (("CRP",), ("mg/l", "mg/L"), ("mg/l", "mg/dl"), 1, 320, 0, 0, 10),
    (("BSE",), ("mm/u", "mm/uur"), ("mm/u",), 2, 110, 0, 0, 20),
    (("natrium", "Na", "Na+"), ("mmol/l", "mmol/L"), ("mmol/l", "mEq/l"), 120, 150, 0, 135, 145),
    (("kalium", "K", "K+"), ("mmol/l", "mmol/L"), ("mmol/l", "mEq/l"), 2.8, 6.5, 1, 3.5, 5.0),
    (("chloride", "Cl"), ("mmol/l",), ("mmol/l",), 90, 115, 0, 98, 107),
    (("calcium", "Ca"), ("mmol/l",), ("mg/dl", "mmol/l"), 1.8, 3.2, 2, 2.2, 2.6),
    (("magnesium", "Mg"), ("mmol/l",), ("mg/dl", "mmol/l"), 0.5, 1.3, 2, 0.7, 1.0),
    (("fosfaat",), ("mmol/l",), ("mg/dl",), 0.5, 2.5, 2, 0.8, 1.5),
    (("kreatinine", "creat", "Kreat"), ("µmol/l", "µmol/L", "umol/l"), ("mg/dl", "mg/dL"), 40, 600, 0, 60, 110),
    (("ureum",), ("mmol/l",), ("mg/dl",), 2.5, 40, 1, 2.5, 7.5),
    (("eGFR", "MDRD", "CKD-EPI"), ("ml/min/1,73m²", "ml/min/1.73m2", "ml/min"), ("ml/min/1,73m²", "ml/min"), 8, 110, 0, 60, 90),
    (("glucose", "gluc", "nuchter glucose"), ("mmol/l", "mmol/L"), ("mg/dl",), 3.0, 25.0, 1, 4.0, 7.8),
    (("HbA1c",), ("mmol/mol",), ("%", "mmol/mol"), 30, 110, 0, 20, 42),
    (("ALAT", "ALT", "GPT"), ("U/l", "E/l", "U/L", "IU/l"), ("U/l", "IU/l"), 5, 400, 0, 0, 45),
    (("ASAT", "AST", "GOT"), ("U/l", "E/l", "U/L"), ("U/l",), 5, 350, 0, 0, 35),
    (("gamma-GT", "GGT", "γGT"), ("U/l", "E/l"), ("U/l",), 8, 600, 0, 0, 55),
    (("AF", "alk. fosfatase", "ALP"), ("U/l", "E/l"), ("U/l",), 30, 500, 0, 40, 120),
    (("LD", "LDH"), ("U/l", "E/l"), ("U/l",), 120, 1200, 0, 0, 250),
    (("CK",), ("U/l", "E/l"), ("U/l",), 20, 5000, 0, 0, 170),
    (("bilirubine", "bili totaal"), ("µmol/l", "umol/l"), ("mg/dl",), 3, 150, 0, 0, 17),
    (("albumine",), ("g/l", "g/L"), ("g/dl", "g/l"), 18, 50, 0, 35, 50),
    (("totaal eiwit",), ("g/l",), ("g/dl",), 50, 85, 0, 60, 80),
    (("amylase", "lipase"), ("U/l", "E/l"), ("U/l",), 10, 1500, 0, 0, 60),
    (("TSH",), ("mU/l", "mE/l"), ("mU/l", "µIU/ml"), 0.01, 12, 2, 0.4, 4.0),
    (("vrij T4", "FT4"), ("pmol/l",), ("ng/dl", "pmol/l"), 6, 40, 1, 10, 23),
    (("troponine T", "hs-TnT", "troponine I", "hs-cTnI"), ("ng/l", "ng/L"), ("ng/l", "ng/ml"), 3, 3000, 0, 0, 14),
    (("NT-proBNP", "BNP"), ("ng/l", "pmol/l", "pg/ml"), ("pg/ml", "ng/l"), 30, 15000, 0, 0, 125),
    (("INR",), ("",), ("",), 0.9, 6.0, 1, 0.8, 1.2),
    (("APTT", "PT"), ("s", "sec"), ("s", "sec"), 9, 80, 0, 10, 35),
    (("D-dimeer", "D-dimeren"), ("µg/l", "mg/l FEU", "ng/ml"), ("ng/ml", "µg/l"), 100, 9000, 0, 0, 500),
    (("fibrinogeen",), ("g/l",), ("g/l", "mg/dl"), 1.0, 8.0, 1, 2.0, 4.0),
    (("lactaat",), ("mmol/l",), ("mmol/l", "mg/dl"), 0.5, 12, 1, 0.5, 2.2),
    (("pH",), ("",), ("",), 7.05, 7.6, 2, 7.35, 7.45),
    (("pCO2",), ("kPa",), ("mmHg", "kPa"), 3.0, 12.0, 1, 4.7, 6.4),
    (("pO2",), ("kPa",), ("mmHg", "kPa"), 5.0, 25.0, 1, 10.0, 13.3),
    (("HCO3-", "bicarbonaat", "HCO3"), ("mmol/l",), ("mmol/l", "mEq/l"), 10, 38, 0, 22, 29),
    (("BE", "base excess"), ("mmol/l",), ("mmol/l",), -15, 10, 1, -3, 3),
    (("SaO2",), ("%",), ("%",), 80, 100, 0, 95, 100),
    (("ferritine",), ("µg/l", "ug/l"), ("ng/ml", "µg/l"), 5, 1500, 0, 20, 300),
    (("vitamine B12",), ("pmol/l",), ("pg/ml", "pmol/l"), 80, 900, 0, 150, 650),
    (("foliumzuur",), ("nmol/l",), ("ng/ml",), 3, 45, 1, 7, 45),
    (("cholesterol", "LDL", "HDL", "triglyceriden"), ("mmol/l",), ("mg/dl",), 0.5, 9.0, 1, 0, 5.0),
    (("urinezuur",), ("mmol/l",), ("mg/dl",), 0.15, 0.7, 2, 0.2, 0.42),
    (("PSA",), ("µg/l", "ng/ml"), ("ng/ml",), 0.1, 60, 1, 0, 4.0),
    (("CEA", "CA 19-9", "CA-125"), ("µg/l", "kU/l", "U/ml"), ("ng/ml", "U/ml"), 0.5, 900, 1, 0, 5.0),
    (("procalcitonine", "PCT"), ("µg/l", "ng/ml"), ("ng/ml",), 0.02, 40, 2, 0, 0.5),
    (("vancomycine dalspiegel",), ("mg/l",), ("mg/l", "µg/ml"), 5, 30, 1, 10, 20),
    (("osmolaliteit",), ("mOsm/kg",), ("mOsm/kg",), 250, 330, 0, 275, 295),
    (("ammoniak",), ("µmol/l",), ("µg/dl", "µmol/l"), 10, 200, 0, 0, 50),
)
# fmt: on
_FLAGS = ("H", "L", "↑", "↓", "*", "(H)", "(L)", "!", "hoog", "laag")


def _number(rng: random.Random, low: float, high: float, digits: int, comma: bool) -> str:
    if digits == 0:
        value = f"{round(rng.uniform(low, high))}"
    else:
        value = f"{rng.uniform(low, high):.{digits}f}"
    return value.replace(".", ",") if comma else value


def lab_parts(
    rng: random.Random, locale: Locale, analyte: Analyte | None = None
) -> tuple[str, str, str, str | None]:
    """(analyte name, number, unit, reference range or ``None``) of one lab result."""
    names, nl_units, be_units, low, high, digits, ref_low, ref_high = analyte or rng.choice(
        ANALYTES
    )
    unit = rng.choice(be_units if locale == "nl-BE" else nl_units)
    comma = rng.random() < 0.9
    number = _number(rng, low, high, digits, comma)
    if rng.random() < 0.05 and digits == 0:
        number = rng.choice(("<", ">", "< ", "> ")) + number
    reference = None
    if rng.random() < 0.3:
        lo = _number(rng, ref_low, ref_low, digits, comma)
        hi = _number(rng, ref_high, ref_high, digits, comma)
        reference = f"{lo}-{hi}" if rng.random() < 0.6 else f"{lo} - {hi}"
    return rng.choice(names), number, unit, reference


def lab_value(rng: random.Random, locale: Locale) -> tuple[str, Fragment, Fragment | None]:
    """(analyte name, value with unit, reference range or ``None``) of one lab result."""
    name, number, unit, reference = lab_parts(rng, locale)
    if not unit:
        written = number
    else:
        written = f"{number} {unit}" if rng.random() < 0.9 else f"{number}{unit}"
    return name, qty(written), None if reference is None else qty(reference)


def lab_line(rng: random.Random, locale: Locale) -> Fragment:
    """One lab result: analyte, value with unit, sometimes a flag and a reference range."""
    name, value, reference = lab_value(rng, locale)
    parts: list[Fragment | str] = [name, rng.choice((" ", " ", ": ", " = ")), value]
    if rng.random() < 0.15:
        parts.append(" " + rng.choice(_FLAGS))
    if reference is not None:
        style = rng.randrange(3)
        parts += (
            [" (ref ", reference, ")"]
            if style == 0
            else [" (", reference, ")"]
            if style == 1
            else [" [", reference, "]"]
        )
    return join(*parts)


# --------------------------------------------------------------------------------------------
# Vital signs, scores and clock times
# --------------------------------------------------------------------------------------------

_RHYTHM = ("regulair", "irregulair", "regulair, aequaal", "sinusritme", "irregulair irregulair")
_OXYGEN = (
    "bij kamerlucht",
    "met 2 l O2",
    "zonder zuurstof",
    "bij 2L O2",
    "met 4 l/min via neusbril",
    "op NRM 15 l",
)


def vital_sign(rng: random.Random, kind: str | None = None) -> tuple[str, Fragment]:
    """(kind, measured value with unit) of one vital sign; the label is left to the caller."""
    kind = kind or rng.choice(
        (
            "bp",
            "pulse",
            "temp",
            "sat",
            "resp",
            "ews",
            "pain",
            "glucose",
            "weight",
            "height",
            "bmi",
            "diuresis",
            "balance",
            "consciousness",
        )
    )
    r = rng
    match kind:
        case "bp":
            text = f"{r.randint(85, 200)}/{r.randint(45, 110)}" + r.choice(
                (" mmHg", " mmHg", "mmHg", "")
            )
        case "pulse":
            text = f"{r.randint(40, 150)}" + r.choice(
                ("/min", "/min", " /min", " sl/min", " bpm", "/min.", "")
            )
        case "temp":
            text = decimal(r, 35.2, 40.5, 1, comma=r.random() < 0.8) + r.choice(
                (" °C", "°C", " graden", "", " ºC")
            )
        case "sat":
            text = f"{r.randint(82, 100)}" + r.choice(("%", " %", "%"))
        case "resp":
            text = f"{r.randint(10, 38)}" + r.choice(("/min", " /min", "/min", ""))
        case "ews":
            text = str(r.randint(0, 9))
        case "pain":
            text = f"{r.randint(0, 10)}" + r.choice(("", "", "/10"))
        case "glucose":
            text = decimal(r, 3.5, 24, 1) + r.choice((" mmol/l", " mmol/L", ""))
        case "weight":
            text = (
                f"{r.randint(45, 140)}" + r.choice((" kg", " kg", "kg"))
                if r.random() < 0.8
                else decimal(r, 45, 140, 1) + " kg"
            )
        case "height":
            text = (
                f"{r.randint(150, 200)}" + r.choice((" cm", "cm"))
                if r.random() < 0.8
                else decimal(r, 1.5, 2.0, 2) + " m"
            )
        case "bmi":
            text = decimal(r, 17, 45, 1) + r.choice((" kg/m2", " kg/m²", "", " kg/m^2"))
        case "diuresis":
            text = (
                f"{r.randint(10, 250)}" + r.choice((" ml/u", " ml/uur", " cc/u", " ml/h"))
                if r.random() < 0.7
                else f"{r.randint(200, 3500)} ml/24u"
            )
        case "balance":
            text = r.choice(("+", "-", "+", "")) + f"{r.randint(100, 3500)} ml"
        case _:
            text = r.choice(
                (
                    "A",
                    "alert",
                    f"E{r.randint(1, 4)}M{r.randint(1, 6)}V{r.randint(1, 5)}",
                    f"EMV {r.randint(1, 4)}-{r.randint(1, 6)}-{r.randint(1, 5)}",
                    f"GCS {r.randint(3, 15)}",
                )
            )
    if text in ("A", "alert"):
        return kind, plain(text)  # AVPU: a letter, not a measurement
    return kind, qty(text)


VITAL_WORDS = {
    "bp": ("RR", "RR", "BD", "bloeddruk", "tensie"),
    "pulse": ("pols", "P", "HF", "hartfrequentie", "pols"),
    "temp": ("temp", "T", "temperatuur", "temp."),
    "sat": ("saturatie", "sat", "SpO2", "sat."),
    "resp": ("AH", "AF", "ademfrequentie"),
    "ews": ("EWS", "MEWS"),
    "pain": ("NRS", "VAS", "pijnscore"),
    "glucose": ("glucose", "gluc", "BG"),
    "weight": ("gewicht", "gew."),
    "height": ("lengte",),
    "bmi": ("BMI",),
    "diuresis": ("diurese", "urineproductie"),
    "balance": ("vochtbalans", "balans"),
    "consciousness": ("bewustzijn", "EMV"),
}


def vitals(rng: random.Random) -> Fragment:
    """A line of vital signs ("RR 135/80 mmHg, pols 72/min regulair, temp 37,2 °C")."""
    kinds = ["bp", "pulse", "temp", "sat", "resp"]
    kinds += rng.sample(
        ["ews", "pain", "glucose", "weight", "bmi", "diuresis", "consciousness"], rng.randint(0, 2)
    )
    rng.shuffle(kinds)
    parts: list[Fragment | str] = []
    for index, kind in enumerate(kinds[: rng.randint(2, len(kinds))]):
        _, value = vital_sign(rng, kind)
        if index:
            parts.append(rng.choice((", ", ", ", "; ", " ")))
        word = rng.choice(VITAL_WORDS[kind])
        parts += [word, rng.choice((" ", " ", ": ")), value]
        if kind == "pulse" and rng.random() < 0.4:
            parts.append(" " + rng.choice(_RHYTHM))
        if kind == "sat" and rng.random() < 0.5:
            parts.append(" " + rng.choice(_OXYGEN))
    return join(*parts)


def score(rng: random.Random) -> Fragment:
    """A clinical score as written in notes; the whole expression is one quantity."""
    r = rng
    text = r.choice(
        (
            f"ECOG {r.randint(0, 4)}", f"ECOG-PS {r.randint(0, 4)}", f"WHO {r.randint(0, 4)}",
            f"VAS {r.randint(0, 10)}/10", f"VAS {r.randint(0, 10)}", f"NRS {r.randint(0, 10)}",
            f"GCS E{r.randint(1, 4)}M{r.randint(1, 6)}V{r.randint(1, 5)}",
            f"GCS E{r.randint(3, 4)}M6V{r.randint(4, 5)} / {r.randint(13, 15)}",
            f"EMV {r.randint(1, 4)}-{r.randint(1, 6)}-{r.randint(1, 5)}", f"GCS {r.randint(3, 15)}",
            f"NYHA {r.choice(('I', 'II', 'III', 'IV'))}", f"NYHA-klasse {r.choice(('II', 'III'))}",
            f"MMSE {r.randint(10, 30)}/30", f"MoCA {r.randint(12, 30)}/30", f"Apgar {r.randint(5, 9)}/{r.randint(8, 10)}",
            f"Apgar {r.randint(6, 8)}-{r.randint(8, 9)}-{r.randint(9, 10)}", f"Barthel {r.randint(2, 20)}/20",
            f"Karnofsky {r.choice((40, 50, 60, 70, 80, 90))}%", f"CHA2DS2-VASc {r.randint(0, 7)}",
            f"HAS-BLED {r.randint(0, 5)}", f"Wells {r.choice(('1', '1,5', '3', '4,5', '6'))}",
            f"CURB-65 {r.randint(0, 5)}", f"qSOFA {r.randint(0, 3)}", f"MEWS {r.randint(0, 8)}",
            f"DOS {r.randint(0, 13)}", f"SNAQ {r.randint(0, 5)}", f"Braden {r.randint(8, 23)}",
            f"Katz-ADL {r.randint(0, 6)}", f"CFS {r.randint(1, 9)}", f"TUG {r.randint(7, 30)} sec",
            f"Gleason {r.choice(('3+3=6', '3+4=7', '4+3=7', '4+4=8', '4+5=9'))}",
            f"BI-RADS {r.randint(1, 5)}", f"PI-RADS {r.randint(2, 5)}", f"Child-Pugh {r.choice('ABC')}",
            f"Killip {r.choice(('I', 'II', 'III'))}", f"Fontaine {r.choice(('I', 'IIa', 'IIb', 'III'))}",
            f"NIHSS {r.randint(0, 24)}", f"mRS {r.randint(0, 5)}", f"ASA {r.choice(('1', '2', '3', 'II', 'III'))}",
            f"EDSS {r.choice(('2,0', '3,5', '6,0'))}", f"GOLD {r.randint(1, 4)}", f"Hoehn en Yahr {r.randint(1, 5)}",
            f"4AT {r.randint(0, 12)}", f"SOFA {r.randint(0, 15)}", f"APACHE II {r.randint(5, 35)}",
            f"Norton {r.randint(5, 20)}", f"Tinetti {r.randint(10, 28)}/28", f"GDS {r.randint(0, 15)}/15",
            f"Padua {r.randint(0, 8)}", f"Caprini {r.randint(0, 8)}", f"Alvarado {r.randint(2, 10)}",
        )
    )  # fmt: skip
    return qty(text)


def clock_time(rng: random.Random, locale: Locale, *, hour: int | None = None) -> Fragment:
    """A clock time in one of the ways Dutch and Flemish notes write it ("14:30", "8u30")."""
    h = rng.randint(0, 23) if hour is None else hour
    m = rng.choice((0, 0, 5, 10, 15, 20, 30, 30, 40, 45, 50, 55)) if hour is None else 0
    styles = (
        "hh:mm",
        "hh.mm uur",
        "h.mm uur",
        "hhumm",
        "huur",
        "hh:mm uur",
        "hh.mm",
        "hhu",
        "hhhmm",
        "hh:mmu",
    )
    style = rng.choice(styles[:7] if locale == "nl-NL" else styles)
    match style:
        case "hh:mm":
            text = f"{h:02d}:{m:02d}"
        case "hh.mm uur":
            text = f"{h:02d}.{m:02d} uur"
        case "h.mm uur":
            text = f"{h}.{m:02d} uur"
        case "hhumm":
            text = f"{h}u{m:02d}" if m else f"{h}u"
        case "huur":
            text = f"{h} uur"
        case "hh:mm uur":
            text = f"{h:02d}:{m:02d} uur"
        case "hh.mm":
            text = f"{h:02d}.{m:02d}"
        case "hhu":
            text = f"{h}u"
        case "hhhmm":
            text = f"{h}h{m:02d}"
        case _:
            text = f"{h:02d}:{m:02d}u"
    return qty(text)


def amount(rng: random.Random) -> Fragment:
    """A quantity in running text: a duration, volume, distance, count with unit."""
    r = rng
    text = r.choice(
        (
            f"{r.randint(2, 14)} dagen", f"{r.randint(1, 8)} weken", f"{r.randint(2, 11)} maanden",
            f"{r.randint(1, 20)} jaar", f"{r.randint(1, 48)} uur", f"{r.randint(5, 55)} minuten",
            f"{r.randint(1, 12)} kg", f"{r.randint(100, 2500)} ml", f"{r.randint(1, 4)} liter",
            f"{r.randint(50, 2000)} meter", f"{r.randint(1, 6)} trappen", f"{r.randint(1, 40)} pack years",
            f"{r.randint(1, 6)} eenheden alcohol per dag", f"{r.randint(2, 10)} cm", f"{r.randint(3, 40)} mm",
            f"{r.randint(1, 5)} x {r.randint(1, 5)} cm", f"{r.randint(1, 3)},{r.randint(0, 9)} cm",
            f"{r.randint(20, 60)} graden", f"{r.randint(1, 10)} l/min", f"{r.randint(1, 5)} tabletten",
            f"{r.randint(10, 100)}%", f"{r.randint(2, 6)} x per nacht", f"{r.randint(2, 8)} keer per dag",
        )
    )  # fmt: skip
    return qty(text)


# --------------------------------------------------------------------------------------------
# Codes (hard negatives: they look like identifiers, none is PHI)
# --------------------------------------------------------------------------------------------

_ICD10 = ("I21.4", "I21.9", "I48.0", "I48.9", "I50.0", "I10", "I63.9", "G45.9", "J18.9", "J44.1", "J15.9", "E11.9", "E11.65", "E87.1", "N17.9", "N39.0", "K35.8", "K57.3", "K80.0", "K85.9", "C34.1", "C50.9", "C18.7", "C61", "F05.9", "F32.1", "S72.0", "S72.00", "M10.9", "M81.0", "D64.9", "R07.4", "R55", "A41.9", "U07.1", "Z95.1", "G20", "G30.1", "L03.1")  # fmt: skip
_ICPC = ("K86", "K90", "T90", "T90.02", "R74", "R78", "R81", "D88", "L03", "K77", "K74", "P76", "A04", "N01", "U71", "R96", "K75", "F70")  # fmt: skip
_ATC = ("B01AB05", "B01AF02", "B01AA07", "C07AB02", "C07AB07", "C03CA01", "C09AA03", "C08CA01", "C10AA01", "C10AA05", "A02BC01", "A02BC02", "A10BA02", "A10AE04", "N02BE01", "N02AA05", "N05AD01", "N05BA06", "J01CR02", "J01DD04", "H02AB06", "H03AA01", "R03AC02", "R03BB04", "M04AA01", "N04BA02", "A06AD65", "B03AA02", "C01BD01", "N06AB06")  # fmt: skip
_SNOMED = ("22298006", "38341003", "44054006", "195967001", "13645005", "49436004", "233604007", "84114007", "230690007", "35489007", "396275006", "73211009", "26929004", "69896004", "68566005", "56265001", "414545008", "266257000", "709044004", "40055000")  # fmt: skip
_LOINC = ("2160-0", "718-7", "2823-3", "2951-2", "1988-5", "4548-4", "33762-6", "6690-2", "777-3", "1742-6", "10839-9", "2345-7", "17861-6", "3016-3")  # fmt: skip
_GENES = ("BRCA1", "BRCA2", "EGFR", "KRAS", "NRAS", "BRAF", "ALK", "ROS1", "HER2", "TP53", "PIK3CA", "JAK2", "FLT3", "NPM1", "IDH1", "CFTR", "MLH1", "MSH2", "APC", "CHEK2", "PALB2", "KIT", "MET", "RET", "HFE", "FVL")  # fmt: skip
_AMINO = (
    "Ala",
    "Arg",
    "Asn",
    "Asp",
    "Cys",
    "Gln",
    "Glu",
    "Gly",
    "His",
    "Ile",
    "Leu",
    "Lys",
    "Met",
    "Phe",
    "Pro",
    "Ser",
    "Thr",
    "Trp",
    "Tyr",
    "Val",
)
_ONE_LETTER = "ACDEFGHIKLMNPQRSTVWY"


def _verhoeff_check(digits: str) -> str:
    """The Verhoeff check digit (SNOMED CT identifiers end with one)."""
    d = ((0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 3, 4, 0, 6, 7, 8, 9, 5), (2, 3, 4, 0, 1, 7, 8, 9, 5, 6), (3, 4, 0, 1, 2, 8, 9, 5, 6, 7), (4, 0, 1, 2, 3, 9, 5, 6, 7, 8), (5, 9, 8, 7, 6, 0, 4, 3, 2, 1), (6, 5, 9, 8, 7, 1, 0, 4, 3, 2), (7, 6, 5, 9, 8, 2, 1, 0, 4, 3), (8, 7, 6, 5, 9, 3, 2, 1, 0, 4), (9, 8, 7, 6, 5, 4, 3, 2, 1, 0))  # fmt: skip
    p = ((0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 5, 7, 6, 2, 8, 3, 0, 9, 4), (5, 8, 0, 3, 7, 9, 6, 1, 4, 2), (8, 9, 1, 6, 0, 4, 3, 5, 2, 7), (9, 4, 5, 3, 1, 2, 6, 8, 7, 0), (4, 2, 8, 6, 5, 7, 3, 9, 0, 1), (2, 7, 9, 3, 8, 0, 6, 4, 1, 5), (7, 0, 4, 6, 9, 1, 3, 2, 5, 8))  # fmt: skip
    inv = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)
    check = 0
    for index, digit in enumerate(reversed(digits)):
        check = d[check][p[(index + 1) % 8][int(digit)]]
    return str(inv[check])


def snomed_id(rng: random.Random) -> str:
    """A SNOMED CT concept id: a real common one, or a well-formed random one."""
    if rng.random() < 0.5:
        return rng.choice(_SNOMED)
    item = f"{rng.randint(100_000, 99_999_999)}00"  # partition 00: a concept
    return item + _verhoeff_check(item)


def icd10(rng: random.Random) -> str:
    """An ICD-10 code: a common real one or a well-formed random one ("I21.4")."""
    if rng.random() < 0.6:
        return rng.choice(_ICD10)
    letter = rng.choice("ABCDEFGIJKLMNRSZ")
    return f"{letter}{rng.randint(0, 99):02d}" + (
        f".{rng.randint(0, 9)}" if rng.random() < 0.7 else ""
    )


def variant(rng: random.Random) -> str:
    """A gene with a variant as written in pathology and genetics reports."""
    gene = rng.choice(_GENES)
    r = rng
    position = r.randint(30, 9000)
    form = r.randrange(7)
    if form == 0:
        return f"{gene} c.{position}del{r.choice('ACGT')}"
    if form == 1:
        return f"{gene} c.{position}{r.choice('ACGT')}>{r.choice('ACGT')}"
    if form == 2:
        return f"{gene} p.({r.choice(_AMINO)}{r.randint(10, 1500)}{r.choice(_AMINO)})"
    if form == 3:
        return f"{gene} {r.choice(_ONE_LETTER)}{r.randint(10, 900)}{r.choice(_ONE_LETTER)}"
    if form == 4:
        return f"{gene} exon {r.randint(2, 27)}"
    if form == 5:
        return f"{gene} c.{position}_{position + r.randint(1, 20)}dup"
    return f"{gene} c.{position}+{r.randint(1, 5)}{r.choice('ACGT')}>{r.choice('ACGT')}"


def code_mention(rng: random.Random) -> Fragment:
    """A code with its system, in running text or a field ("ICD-10: I21.4", "ATC B01AB05")."""
    kind = rng.randrange(8)
    if kind == 0:
        return join(
            rng.choice(("ICD-10: ", "ICD-10 ", "ICD10-code ", "diagnosecode ")), code(icd10(rng))
        )
    if kind == 1:
        return join(rng.choice(("ICPC ", "ICPC-code ", "ICPC: ")), code(rng.choice(_ICPC)))
    if kind == 2:
        return join(rng.choice(("ATC ", "ATC-code ", "ATC: ")), code(rng.choice(_ATC)))
    if kind == 3:
        return join(
            rng.choice(("SNOMED ", "SNOMED CT ", "SCTID ", "SNOMED-code ")), code(snomed_id(rng))
        )
    if kind == 4:
        return join(rng.choice(("LOINC ", "LOINC-code ")), code(rng.choice(_LOINC)))
    if kind == 5:
        return join(
            code(variant(rng)),
            rng.choice(
                (
                    " mutatie",
                    "-mutatie",
                    " aangetoond",
                    " positief",
                    "",
                    " (pathogeen)",
                    " (klasse 5)",
                    " (VUS)",
                )
            ),
        )
    if kind == 6:
        return join(
            rng.choice(("geen ", "", "")),
            code(rng.choice(_GENES)),
            rng.choice(("-mutatie", " wildtype", " amplificatie", "-fusie", " negatief")),
        )
    if rng.random() < 0.5:
        return join("(", code(icd10(rng)), ")")
    return code(icd10(rng))

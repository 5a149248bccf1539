"""Clinical vocabulary (no PHI): complaints, diagnoses, medication, lab values, findings.

Curated for this generator from common Dutch/Flemish clinical usage (NHG-standaarden terms,
the Dutch G-Standaard and Belgian CBIP drug names, NVKC/Belgian lab units). Many entries are
deliberate hard negatives: eponymous diseases and signs (Parkinson, Crohn, Hodgkin, Babinski),
brand names that look like names or organisations, dosages, lab values, abbreviations, and
common words that are also surnames ("groen sputum", "wit beslag"). None of this is ever tagged.
"""

from __future__ import annotations

import random

from deid_pipeline.synth.split import Pool, Split
from deid_pipeline.synth.values import Locale

SPECIALISMS: dict[Locale, tuple[str, ...]] = {
    "nl-NL": (
        "cardiologie",
        "interne geneeskunde",
        "longziekten",
        "neurologie",
        "chirurgie",
        "orthopedie",
        "geriatrie",
        "urologie",
        "gynaecologie",
        "MDL",
        "oncologie",
        "nefrologie",
        "reumatologie",
        "dermatologie",
        "KNO",
        "psychiatrie",
        "revalidatie",
    ),
    "nl-BE": (
        "cardiologie",
        "inwendige geneeskunde",
        "pneumologie",
        "neurologie",
        "abdominale heelkunde",
        "orthopedie",
        "geriatrie",
        "urologie",
        "gynaecologie",
        "gastro-enterologie",
        "oncologie",
        "nefrologie",
        "reumatologie",
        "dermatologie",
        "NKO",
        "psychiatrie",
        "fysische geneeskunde",
    ),
}
SPECIALIST_OF: dict[str, str] = {
    "cardiologie": "cardioloog",
    "interne geneeskunde": "internist",
    "inwendige geneeskunde": "internist",
    "longziekten": "longarts",
    "pneumologie": "pneumoloog",
    "neurologie": "neuroloog",
    "chirurgie": "chirurg",
    "abdominale heelkunde": "chirurg",
    "orthopedie": "orthopedisch chirurg",
    "geriatrie": "geriater",
    "urologie": "uroloog",
    "gynaecologie": "gynaecoloog",
    "MDL": "MDL-arts",
    "gastro-enterologie": "gastro-enteroloog",
    "oncologie": "oncoloog",
    "nefrologie": "nefroloog",
    "reumatologie": "reumatoloog",
    "dermatologie": "dermatoloog",
    "KNO": "KNO-arts",
    "NKO": "NKO-arts",
    "psychiatrie": "psychiater",
    "revalidatie": "revalidatiearts",
    "fysische geneeskunde": "fysiater",
}
JUNIOR_ROLES: dict[Locale, tuple[str, ...]] = {
    "nl-NL": (
        "arts-assistent",
        "AIOS",
        "ANIOS",
        "physician assistant",
        "verpleegkundig specialist",
        "coassistent",
    ),
    "nl-BE": (
        "assistent",
        "ASO",
        "arts-specialist in opleiding",
        "verpleegkundig specialist",
        "stagiair",
    ),
}
ALLIED_ROLES = (
    "fysiotherapeut",
    "diëtist",
    "ergotherapeut",
    "logopedist",
    "maatschappelijk werker",
    "psycholoog",
    "wondconsulent",
    "apotheker",
    "casemanager dementie",
    "medisch maatschappelijk werker",
    "kinesitherapeut",
    "sociaal assistent",
)

COMPLAINTS = Pool(
    [
        "pijn op de borst",
        "dyspnoe d'effort",
        "koorts en koude rillingen",
        "buikpijn rechtsonder",
        "misselijkheid en braken",
        "duizeligheid",
        "hoofdpijn",
        "lage rugpijn",
        "waterdunne diarree",
        "hoesten met groen sputum",
        "oedeem van beide onderbenen",
        "onbedoeld gewichtsverlies",
        "toenemende verwardheid",
        "een valpartij thuis",
        "hartkloppingen",
        "rectaal bloedverlies",
        "moeheid en algehele malaise",
        "pijn bij het plassen",
        "een drukkend gevoel op de borst",
        "krachtsverlies van de rechterarm",
        "spraakproblemen",
        "pijn in de linkerheup na een val",
        "benauwdheid bij platliggen",
        "nachtzweten",
        "jeuk en geelzucht",
        "zwarte ontlasting",
        "pijnlijke, rode en warme onderbeen",
        "collaps zonder prodromi",
        "slikklachten",
        "toenemende kortademigheid",
        "pijn in de bovenbuik uitstralend naar de rug",
    ]
)
DIAGNOSES = Pool(
    [
        "pneumonie",
        "exacerbatie COPD",
        "decompensatio cordis",
        "NSTEMI",
        "STEMI",
        "atriumfibrilleren met snelle ventrikelrespons",
        "ischemisch CVA",
        "TIA",
        "urosepsis",
        "acute cholecystitis",
        "appendicitis acuta",
        "diverticulitis",
        "delier",
        "mediale collumfractuur links",
        "ontregelde diabetes mellitus type 2",
        "hypertensieve crisis",
        "longembolie",
        "diepe veneuze trombose rechterbeen",
        "acute nierinsufficiëntie",
        "anemie",
        "erysipelas",
        "COVID-19-pneumonie",
        "hyponatriëmie",
        "exacerbatie van de ziekte van Crohn",
        "colitis ulcerosa",
        "ziekte van Parkinson",
        "dementie bij de ziekte van Alzheimer",
        "Hodgkin-lymfoom",
        "non-Hodgkinlymfoom",
        "ziekte van Graves",
        "syndroom van Sjögren",
        "ziekte van Bechterew",
        "ziekte van Kahler",
        "Guillain-Barré-syndroom",
        "ziekte van Ménière",
        "fenomeen van Raynaud",
        "Barrett-oesofagus",
        "Dupuytren-contractuur",
        "parese van Bell",
        "ziekte van Lyme",
        "syndroom van Cushing",
        "ziekte van Addison",
        "thyreoïditis van Hashimoto",
        "ziekte van Paget",
        "Wolff-Parkinson-White-syndroom",
        "Mallory-Weiss-laesie",
        "syndroom van Down",
        "ziekte van Huntington",
        "pancreatitis",
        "cholangitis",
        "ileus",
        "prostaathyperplasie",
        "mammacarcinoom",
        "coloncarcinoom",
        "longcarcinoom",
        "melanoom",
        "reumatoïde artritis",
        "jichtartritis",
        "polymyalgia reumatica",
        "epilepsie",
        "migraine",
    ]
)
HISTORY = Pool(
    [
        "hypertensie",
        "diabetes mellitus type 2",
        "COPD GOLD II",
        "atriumfibrilleren",
        "hypercholesterolemie",
        "status na CABG",
        "status na PCI van de RCA",
        "CVA zonder restverschijnselen",
        "ziekte van Parkinson",
        "ziekte van Crohn met ileocoecaalresectie",
        "Hodgkin-lymfoom, in remissie",
        "depressie",
        "artrose van beide knieën",
        "osteoporose",
        "hypothyreoïdie",
        "astma",
        "chronische nierschade stadium 3",
        "jicht",
        "totale heupprothese rechts",
        "appendectomie",
        "cholecystectomie",
        "prostaatcarcinoom, status na radiotherapie",
        "mammacarcinoom links",
        "obesitas",
        "OSAS met CPAP",
        "glaucoom",
        "staaroperatie beiderzijds",
        "hernia nuclei pulposi",
        "syndroom van Sjögren",
        "beginnende dementie van het Alzheimer-type",
        "alcoholabusus",
        "status na Whipple-procedure",
        "status na Nissen-fundoplicatie",
        "perifeer arterieel vaatlijden",
    ]
)

_MEDS = (
    ("metoprolol", ("25 mg 1dd1", "50 mg 2dd1", "100 mg retard 1dd")),
    ("bisoprolol", ("2,5 mg 1dd1", "5 mg 1dd1")),
    ("paracetamol", ("1000 mg 4dd", "500 mg zo nodig max 6dd", "1 g 3dd")),
    ("acenocoumarol", ("volgens schema trombosedienst",)),
    ("apixaban", ("5 mg 2dd", "2,5 mg 2dd")),
    ("rivaroxaban", ("20 mg 1dd",)),
    ("omeprazol", ("20 mg 1dd", "40 mg 1dd voor het ontbijt")),
    ("pantoprazol", ("40 mg 1dd",)),
    ("furosemide", ("40 mg 1dd", "2dd 40 mg", "20 mg 's ochtends")),
    ("metformine", ("500 mg 2dd", "850 mg 3dd", "1000 mg 2dd")),
    ("simvastatine", ("40 mg a.n.", "20 mg voor de nacht")),
    ("atorvastatine", ("40 mg 1dd", "80 mg 1dd")),
    ("amoxicilline/clavulaanzuur", ("500/125 mg 3dd", "875/125 mg 2dd")),
    ("prednisolon", ("30 mg 1dd", "5 mg 1dd", "40 mg afbouwschema")),
    ("levothyroxine", ("75 µg 1dd", "100 microg 1dd nuchter")),
    ("insuline aspart", ("volgens glucoseschema",)),
    ("insuline glargine", ("18 E a.n.", "24 eenheden om 22.00 uur")),
    ("oxycodon", ("5 mg zo nodig", "10 mg retard 2dd")),
    ("lorazepam", ("1 mg a.n.", "0,5 mg zo nodig")),
    ("salbutamol", ("100 µg/dosis zn", "2 pufjes zo nodig")),
    ("tiotropium", ("18 µg 1dd",)),
    ("enoxaparine", ("40 mg 1dd sc", "0,4 ml sc 1dd")),
    ("macrogol", ("1 sachet 1dd",)),
    ("ferrofumaraat", ("200 mg 1dd",)),
    ("amlodipine", ("5 mg 1dd", "10 mg 1dd")),
    ("lisinopril", ("10 mg 1dd", "20 mg 1dd")),
    ("perindopril", ("4 mg 1dd",)),
    ("spironolacton", ("25 mg 1dd",)),
    ("allopurinol", ("100 mg 1dd", "300 mg 1dd")),
    ("levodopa/carbidopa", ("100/25 mg 4dd", "125 mg 5dd")),
    ("haloperidol", ("0,5 mg 2dd", "1 mg zo nodig")),
    ("clopidogrel", ("75 mg 1dd",)),
    ("acetylsalicylzuur", ("80 mg 1dd", "100 mg 1dd")),
    ("ceftriaxon", ("2 g iv 1dd",)),
    ("morfine", ("10 mg sc zo nodig", "2,5 mg iv")),
)
# Brand names per generic (NL, BE): they look like names or companies to a model, never PHI.
_BRANDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "acenocoumarol": (("Sintrom",), ("Sintrom",)),
    "apixaban": (("Eliquis",), ("Eliquis",)),
    "rivaroxaban": (("Xarelto",), ("Xarelto",)),
    "furosemide": (("Lasix",), ("Lasix",)),
    "metoprolol": (("Selokeen",), ("Selozok",)),
    "omeprazol": (("Losec",), ("Losec",)),
    "pantoprazol": (("Pantozol",), ("Pantomed",)),
    "amoxicilline/clavulaanzuur": (("Augmentin",), ("Augmentin",)),
    "enoxaparine": (("Clexane",), ("Clexane",)),
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
    "levothyroxine": (("Thyrax", "Euthyrox"), ("L-Thyroxine", "Euthyrox")),
    "prednisolon": (("Prednison",), ("Medrol",)),
}


def medication_line(rng: random.Random, locale: Locale) -> str:
    """One medication with dose and frequency, sometimes by (or with) its brand name."""
    name, doses = rng.choice(_MEDS)
    dose = rng.choice(doses)
    brands = _BRANDS.get(name)
    if brands and rng.random() < 0.3:
        brand = rng.choice(brands[1] if locale == "nl-BE" else brands[0])
        return f"{brand} ({name}) {dose}" if rng.random() < 0.5 else f"{brand} {dose}"
    return f"{name} {dose}"


def lab_line(rng: random.Random, locale: Locale) -> str:
    """One lab result with unit; Belgian labs report Hb in g/dl and creatinine in mg/dl."""
    belgian = locale == "nl-BE"

    def num(low: float, high: float, digits: int = 1) -> str:
        return f"{rng.uniform(low, high):.{digits}f}".replace(".", ",")

    choices = (
        f"Hb {num(10, 16)} g/dl" if belgian else f"Hb {num(5.5, 10)} mmol/l",
        f"leukocyten {num(3, 22)} x10^9/l",
        f"trombocyten {rng.randint(90, 520)} x10^9/l",
        f"CRP {rng.randint(1, 310)} mg/l",
        f"natrium {rng.randint(124, 146)} mmol/l",
        f"kalium {num(3, 5.9)} mmol/l",
        f"creatinine {num(0.6, 3.5, 2)} mg/dl"
        if belgian
        else f"kreatinine {rng.randint(45, 380)} µmol/l",
        f"eGFR {rng.randint(12, 90)} ml/min/1,73m²",
        f"glucose {num(3.8, 22)} mmol/l"
        if not belgian
        else f"glucose {rng.randint(70, 380)} mg/dl",
        f"HbA1c {rng.randint(38, 95)} mmol/mol",
        f"ALAT {rng.randint(8, 240)} U/l",
        f"ASAT {rng.randint(10, 200)} U/l",
        f"gamma-GT {rng.randint(10, 400)} U/l",
        f"AF {rng.randint(40, 390)} U/l",
        f"bilirubine {rng.randint(4, 90)} µmol/l",
        f"albumine {rng.randint(22, 48)} g/l",
        f"TSH {num(0.05, 9, 2)} mU/l",
        f"troponine T {rng.randint(3, 2400)} ng/l",
        f"NT-proBNP {rng.randint(50, 12000)} ng/l",
        f"INR {num(0.9, 4.5)}",
        f"D-dimeer {rng.randint(200, 8000)} µg/l",
        f"lactaat {num(0.6, 6)} mmol/l",
        f"ureum {num(2.5, 30)} mmol/l",
    )
    return rng.choice(choices)


_RHYTHM = ("regulair", "irregulair", "regulair, aequaal")
_OXYGEN = ("bij kamerlucht", "met 2 l O2", "zonder zuurstof")


def vitals(rng: random.Random) -> str:
    """A line of vital signs."""
    parts = [
        f"RR {rng.randint(95, 190)}/{rng.randint(50, 105)} mmHg",
        f"pols {rng.randint(48, 135)}/min {rng.choice(_RHYTHM)}",
        f"temp {rng.uniform(35.8, 39.9):.1f} °C".replace(".", ","),
        f"saturatie {rng.randint(86, 100)}% {rng.choice(_OXYGEN)}",
        f"AH {rng.randint(12, 32)}/min",
    ]
    if rng.random() < 0.4:
        parts.append(f"EWS {rng.randint(0, 7)}")
    if rng.random() < 0.3:
        parts.append(f"VAS {rng.randint(0, 9)}")
    rng.shuffle(parts)
    return ", ".join(parts[: rng.randint(2, len(parts))])


FINDINGS = Pool(
    [
        "Cor: regulair, geen souffles. Pulm: vesiculair ademgeruis, basaal crepitaties.",
        "Abdomen: soepel, drukpijn rechtsonder, geen défense musculaire, peristaltiek normaal.",
        "Neurologisch: geen lateralisatie, proef van Lasègue negatief, teken van Babinski afwezig.",
        "Huid: bleek, geen cyanose. Wit beslag op de tong.",
        "Extremiteiten: pitting oedeem tot halverwege de onderbenen.",
        "Teken van Murphy positief; geen icterus.",
        "EMV 4-6-5, pupillen isocoor en reagerend op licht.",
        "Glasgow Coma Scale E4M6V5, alert en georiënteerd in tijd, plaats en persoon.",
        "Romberg negatief, tremor in rust rechts passend bij de ziekte van Parkinson.",
        "Sputum groen van kleur, geen hemoptoë.",
        "Wond: rustig, droog, geen tekenen van infectie; hechtingen in situ.",
        "Heup: exorotatie en verkorting van het linkerbeen, pijnlijke bewegingsbeperking.",
        "Inspectie: erytheem van het rechteronderbeen met scherpe begrenzing.",
        "Mictie spontaan, geen residu op de bladderscan.",
        "Trendelenburg-teken positief rechts.",
    ]
)
ASSESSMENTS = Pool(
    [
        "Barthel-index {n}/20.",
        "CHA2DS2-VASc-score {n}.",
        "NYHA-klasse {roman}.",
        "Wells-score {n}.",
        "CURB-65-score {n}.",
        "Gleason-score 3+{n}.",
        "MMSE {n2}/30.",
        "Child-Pugh A.",
        "qSOFA {n}.",
        "Apgar-score niet van toepassing.",
        "GDS 15: {n} punten.",
    ]
)
IMAGING = Pool(
    [
        "X-thorax",
        "CT-thorax",
        "CT-abdomen",
        "MRI-hersenen",
        "echo-abdomen",
        "CT-angio longen",
        "echocardiografie",
        "PET-CT",
        "CT-cerebrum",
        "duplex onderbenen",
        "X-bekken",
        "MRI-lumbaal",
        "echo nieren",
        "CT-colonografie",
        "X-heup links",
    ]
)
IMAGING_FINDINGS = Pool(
    [
        "consolidatie in de rechteronderkwab, geen pleuravocht",
        "geen aanwijzingen voor longembolie",
        "cholecystolithiasis met verdikte galblaaswand",
        "geen intracraniële bloeding, oude lacunaire infarcten in de basale kernen",
        "gedilateerde dunne darmlissen met kaliberverspringing",
        "normale linkerventrikelfunctie, geen klepafwijkingen",
        "verdenking op een ruimte-innemend proces in de pancreaskop",
        "mediale collumfractuur links, Garden III",
        "geen trombose in het diepe veneuze systeem",
        "discusprolaps L4-L5 met compressie van de wortel L5 links",
        "multipele leverlaesies, verdacht voor metastasen",
        "cardiomegalie met tekenen van overvulling",
        "diverticulitis van het colon sigmoïdeum zonder abcedering",
        "hydronefrose rechts graad 2",
        "stabiel beeld in vergelijking met het vorige onderzoek",
    ]
)
PROCEDURES = Pool(
    [
        "laparoscopische cholecystectomie",
        "totale heupprothese links",
        "appendectomie",
        "PCI van de RCA met plaatsing van een DES",
        "hemicolectomie rechts",
        "Whipple-procedure",
        "TURP",
        "carpaletunnelrelease rechts",
        "knie-artroscopie",
        "kopprothese links",
        "laparoscopische sigmoïdresectie",
        "Hartmann-procedure",
        "mammasparende operatie met SWK",
        "Nissen-fundoplicatie",
        "liesbreukcorrectie volgens Lichtenstein",
        "cystoscopie",
        "ERCP met papillotomie",
        "pacemakerimplantatie",
        "Pfannenstiel-incisie en sectio caesarea",
    ]
)
ABBREVIATIONS = Pool(
    [
        "VG",
        "DD",
        "AB",
        "iv",
        "po",
        "sc",
        "zn",
        "a.n.",
        "NSAID",
        "CVA",
        "COPD",
        "DM2",
        "MDO",
        "SEH",
        "IC",
        "CCU",
        "OK",
        "PACU",
        "VPK",
        "HAP",
        "CAP",
        "NPO",
        "NIV",
        "BIPAP",
        "SOAP",
        "ECG",
        "EWS",
    ]
)

# Sentences with words that are also surnames, weekdays or eponyms, none of them PHI.
HARD_NEGATIVES = Pool(
    [
        "Sputum is groen van kleur, geen bloedbijmenging.",
        "Tong met wit beslag, slijmvliezen vochtig.",
        "Dialyse op maandag, woensdag en vrijdag.",
        "Wondverzorging elke dinsdag en vrijdag door de wijkverpleging.",
        "Bekend met de ziekte van Parkinson, levodopa op vaste tijden geven.",
        "Bij anamnese geen aanwijzingen voor de ziekte van Crohn of colitis.",
        "Status na Hodgkin-lymfoom op jonge leeftijd, destijds chemotherapie.",
        "Cognitief achteruitgang, verdenking dementie van het Alzheimer-type.",
        "Foley-katheter ingebracht, heldere urine.",
        "Centrale lijn geplaatst volgens de Seldinger-techniek.",
        "Teken van Babinski beiderzijds afwezig.",
        "Kinderen wonen in de buurt; de jongste komt dagelijks langs.",
        "Het beleid is besproken in het weekend-overleg van zaterdag.",
        "Houdt van wandelen in het bos en van tuinieren.",
        "Gaat graag vissen met de kleinkinderen.",
        "Rookt sinds 40 jaar, ca. 30 pack years.",
        "Alcohol: 2 eenheden per dag; drugs: geen.",
        "Allergieën: penicilline (huiduitslag).",
        "Zondagsdienst: geen bijzonderheden.",
        "Glucosewaarden van de afgelopen 3 dagen tussen 6 en 14 mmol/l.",
        "Wells-score 1, D-dimeer negatief.",
        "Bloeddruk op de linkerarm 10 mmHg hoger dan rechts.",
        "Geen koorts sinds 2 dagen; CRP dalend van 145 naar 60 mg/l.",
        "Advies: 2 weken geen zware dingen tillen.",
        "Maandagochtend is er een vast overleg met de fysiotherapie.",
        "Proef van Lasègue rechts positief bij 40 graden.",
        "Sinds de winter toenemende klachten; in de zomer minder last.",
        "Patiënte draagt een Holter gedurende 24 uur.",
        "Gebruikt Sintrom, INR-streefwaarde 2,5-3,5.",
        "De kleur van de huid is rood en warm aan het onderbeen.",
    ]
)


def assessment(rng: random.Random, split: Split) -> str:
    """A scored assessment (scale name plus figure)."""
    return ASSESSMENTS.pick(rng, split).format(
        n=rng.randint(0, 6), n2=rng.randint(14, 30), roman=rng.choice(("I", "II", "III", "IV"))
    )

# ruff: noqa: E501  (one vocabulary list per line keeps the lists readable)
"""Field labels, section titles and table headers: a large, compositional vocabulary.

Semi-structured notes are full of capitalised words before a colon ("Reden van verwijzing:",
"Medicatie bij ontslag:", "Tractus circulatorius:") and of title lines ("BEHANDELPLAN"). A
model that has seen only a few dozen of them tags every unfamiliar one as PHI. Labels here are
built from parts, per *category* (what kind of value follows: complaints, medication, a date,
a caregiver ...):

* curated base labels per category (Dutch and Flemish clinical usage, abbreviations);
* base label + modifier ("Medicatie bij ontslag", "Pijn (laatste 24 uur)");
* adjective + head noun, inflected for de- and het-words ("Actuele medicatie", "Aanvullend
  onderzoek");
* compound nouns from a left and a right part ("Ontslagbeleid", "Echo-onderzoek");
* two labels joined ("Conclusie/beleid", "Lab en beeldvorming");
* an ordinary lexicon word or two (:mod:`.lexicon`) as a free label.

Held-out labels: a composed label belongs to the split its own text hashes to
(:func:`~deid_pipeline.synth.split.belongs_to`), and a label that a template of the other split
writes literally is never composed, so no label of the held-out split can appear in train notes
except the few shared by fixed templates (:func:`template_label_sets`).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from functools import lru_cache

from deid_pipeline.synth.builder import FIELD_LABELS, Fragment, template_labels
from deid_pipeline.synth.split import Pool, Split, belongs_to

COMPLAINT = "complaint"
HISTORY = "history"
MEDICATION = "medication"
LAB = "lab"
VITALS = "vitals"
EXAM = "exam"
CONCLUSION = "conclusion"
POLICY = "policy"
IMAGING = "imaging"
SOCIAL = "social"
ALLERGY = "allergy"
NURSING = "nursing"
SCORE = "score"
DATE = "date"
TIME = "time"
PERSON = "person"
GENERIC = "generic"

# fmt: off
BASE: dict[str, tuple[str, ...]] = {
    COMPLAINT: ("Anamnese", "Reden van komst", "Reden van verwijzing", "Reden van opname", "Reden van consult", "Klachten", "Hoofdklacht", "Hulpvraag", "Presentatie", "Huidige klachten", "Aanleiding", "Verwijsreden", "Vraagstelling", "Ingangsklacht", "Speciële anamnese", "Tractusanamnese", "Heteroanamnese", "Klachtpresentatie", "Consultreden", "Contactreden", "Reden aanmelding", "Probleem", "Huidig probleem", "Verwijsvraag", "Klacht", "Reden bezoek", "Reden contact", "Reden van aanmelding", "Anamn.", "RvV", "RvO", "Spec. anamnese", "Hx"),
    HISTORY: ("Voorgeschiedenis", "VG", "Medische voorgeschiedenis", "Chirurgische voorgeschiedenis", "Eerdere opnames", "Comorbiditeit", "Familieanamnese", "FA", "Obstetrische anamnese", "Psychiatrische voorgeschiedenis", "Cardiale voorgeschiedenis", "Oncologische voorgeschiedenis", "Vaccinatiestatus", "Eerdere behandelingen", "Voorgaande operaties", "Episodelijst", "Probleemlijst", "Actieve problemen", "Inactieve problemen", "Antecedenten", "Persoonlijke antecedenten", "Familiale antecedenten", "Heelkundige antecedenten", "Medische antecedenten", "Ziektegeschiedenis", "Relevante episodes", "Co-morbiditeit", "Bekende aandoeningen", "Eerdere diagnoses", "Risicofactoren", "Cardiovasculaire risicofactoren", "Intoxicaties en risicofactoren", "Vg."),
    MEDICATION: ("Medicatie", "Thuismedicatie", "Ontslagmedicatie", "Medicatiewijzigingen", "Gestopte medicatie", "Nieuwe medicatie", "Voorgeschreven", "Recepten", "Geneesmiddelen", "Med.", "Medicatieoverzicht", "Zo nodig medicatie", "Vaste medicatie", "Pijnmedicatie", "Antistolling", "Antibiotica", "Profylaxe", "Premedicatie", "Infuusbeleid", "Voorschrift", "Rx", "Medicatielijst", "Medicamenteus", "Medicatieverificatie", "Chronische medicatie", "Zelfzorgmiddelen", "Toedieningslijst", "Geneesmiddelenschema", "Thuisgeneesmiddelen", "Ontslagvoorschrift", "Medicatie-afspraken", "Trombose-profylaxe", "Antibioticabeleid", "Insulineschema", "Afbouwschema"),
    LAB: ("Lab", "Laboratorium", "Labuitslagen", "Bloedonderzoek", "Chemie", "Hematologie", "Bloedgas", "Arteriële bloedgas", "Urineonderzoek", "Urinesediment", "Stolling", "Nierfunctie", "Leverenzymen", "Leverfuncties", "Ontstekingsparameters", "Elektrolyten", "Schildklierfunctie", "Lipidenspectrum", "Glucoseprofiel", "Bloedbeeld", "Klinische chemie", "Aanvullend lab", "Uitslagen", "Bepalingen", "Labwaarden", "Kweken", "Serologie", "Spiegels", "Tumormarkers", "Biochemie", "Bloedname", "Labo", "Labo-uitslagen", "Klinische biologie", "Hematologisch onderzoek", "Virologie", "Microbiologie", "Lab.", "Cardiale enzymen", "Hartenzymen", "Ijzerstatus", "Vitaminen", "Liquor", "Bloedkweken", "Urinekweek"),
    VITALS: ("Vitale parameters", "Parameters", "Controles", "Metingen", "Vitale functies", "Observaties", "Bloeddruk", "Pols", "Hartfrequentie", "Temperatuur", "Saturatie", "Ademfrequentie", "Lengte/gewicht", "Gewicht", "Lengte", "BMI", "Diurese", "Vochtbalans", "Bewustzijn", "Hemodynamiek", "Param.", "Vitale waarden", "Fysiologische parameters", "Controles verpleging", "Metingen verpleging", "Meetwaarden", "Vitals", "VP", "Tensie", "Biometrie"),
    EXAM: ("Lichamelijk onderzoek", "LO", "Onderzoek", "Algemene indruk", "Status praesens", "Tractus circulatorius", "Tractus respiratorius", "Tractus digestivus", "Tractus urogenitalis", "Tractus locomotorius", "Cor", "Pulm", "Pulmones", "Abdomen", "Extremiteiten", "Hoofd/hals", "Neurologisch onderzoek", "Neuro", "Huid", "Status localis", "Inspectie", "Palpatie", "Percussie", "Auscultatie", "Psychiatrisch onderzoek", "Mentale status", "Mammae", "Rectaal toucher", "Lymfeklieren", "Wervelkolom", "Gewrichten", "Oogonderzoek", "Fundoscopie", "Klinisch onderzoek", "Klinisch examen", "Status", "Hals", "Thorax", "Hoofd", "Genitalia", "RT", "Hart", "Longen", "Buik", "Onderste ledematen", "Bovenste ledematen", "Pupillen", "Reflexen", "Sensibiliteit", "Motoriek", "Kracht", "Coördinatie", "Gangbeeld", "Spraak", "Hersenzenuwen", "Meningeale prikkeling", "LO bij opname", "Ex."),
    CONCLUSION: ("Conclusie", "Diagnose", "Werkdiagnose", "DD", "Differentiaaldiagnose", "Beoordeling", "Indruk", "Samenvatting", "Evaluatie", "Assessment", "Ontslagdiagnose", "Hoofddiagnose", "Nevendiagnose", "Nevendiagnoses", "Complicaties", "Eindconclusie", "Overwegingen", "Bespreking", "Analyse", "Impressie", "Diagnosen", "Diagnostische conclusie", "Klinische conclusie", "Besluit", "Synthese", "Probleemstelling", "Overweging", "Discussie", "Concl.", "Dx", "Diagn.", "Opnamediagnose", "Verwijsdiagnose", "Voorlopige diagnose", "Definitieve diagnose"),
    POLICY: ("Beleid", "Plan", "Behandelplan", "Afspraken", "Advies", "Vervolg", "Follow-up", "Ontslagbeleid", "Te doen", "Actiepunten", "Acties", "Behandelafspraken", "Vervolgafspraken", "Controle", "Nazorg", "Leefregels", "Instructies", "Plan van aanpak", "Verwijzing", "Overdracht", "Aandachtspunten", "Behandelbeperkingen", "Reanimatiebeleid", "Wilsverklaring", "Behandeldoel", "Zorgdoelen", "Therapie", "Behandeling", "Voorstel", "Beleidsvoorstel", "Afspraak", "To do", "Todo", "Policy", "Beh.", "Tx", "Beleid en afspraken", "Ingesteld beleid", "Verder beleid", "Het beleid", "Ontslagregeling", "Ontslagplanning", "Code", "Behandelcode", "Wensen patiënt"),
    IMAGING: ("Beeldvorming", "Radiologie", "Aanvullend onderzoek", "Röntgen", "Echografie", "Functieonderzoek", "ECG", "Holter", "Echocardiografie", "Longfunctie", "Endoscopie", "Pathologie", "PA", "Histologie", "Cytologie", "Nucleair onderzoek", "Verslag", "Bevindingen", "Vergelijking", "Techniek", "Klinische gegevens", "Medische beeldvorming", "RX", "Rx thorax", "X-thorax", "CT-scan", "MRI", "Echo", "Scopie", "EEG", "EMG", "Spirometrie", "Fietsergometrie", "Aanvullende onderzoeken", "Technische onderzoeken", "Verslag radioloog", "Protocol", "Indicatie", "Vraagstelling radiologie", "Verrichting"),
    SOCIAL: ("Sociale anamnese", "Thuissituatie", "Woonsituatie", "Leefstijl", "Intoxicaties", "Werk", "Beroep", "Hobby's", "Mantelzorg", "Thuiszorg", "Gezinssituatie", "Dagbesteding", "Sociaal", "Voorzieningen", "Hulpmiddelen", "Levensovertuiging", "Opleiding", "Roken", "Alcohol", "Drugs", "Sport", "Sociale situatie", "Soc.", "SA", "Gebruik", "Middelengebruik", "Netwerk", "Sociaal netwerk", "Zorgnetwerk", "Financiën", "Woning", "Gezin", "Relatie", "Kinderen", "Huisdieren", "Rijvaardigheid", "Vervoer", "Mobiliteit thuis", "Dagritme", "Werksituatie", "Arbeidssituatie", "Uitkering", "Zorgzwaarte", "Indicatie thuiszorg"),
    ALLERGY: ("Allergieën", "Allergie", "Intoleranties", "Overgevoeligheden", "Allergie/intolerantie", "CAVE", "Contra-indicaties", "Geneesmiddelallergie", "Voedselallergie", "Bijwerkingen", "ADR", "Allergiestatus", "Allergieën en intoleranties", "Overgevoeligheid", "Cave", "Allergisch voor", "Contra-indicatie", "Interacties", "Waarschuwingen", "Let op", "Alert", "Alerts"),
    NURSING: ("Mobiliteit", "Voeding", "Uitscheiding", "Slaap", "Pijn", "Wondzorg", "Valrisico", "Decubitus", "ADL", "Persoonlijke verzorging", "Communicatie", "Stemming", "Cognitie", "Oriëntatie", "Gedrag", "Ademhaling", "Circulatie", "Vocht", "Katheter", "Infuus", "Drains", "Lijnen", "Sondevoeding", "Dieet", "Psychosociaal", "Zingeving", "Rust en slaap", "Ontlasting", "Mictie", "Bijzonderheden", "Opmerkingen", "Overig", "Algemeen", "Beloop", "Verloop", "Dagverloop", "Rapportage", "Verpleegkundige rapportage", "Zelfzorg", "Hygiëne", "Transfers", "Wond", "Stoma", "Sonde", "Zuurstof", "Beademing", "Sedatie", "Isolatie", "Valpreventie", "Vrijheidsbeperking", "Fixatie", "Bezoek", "Familie", "Psyche", "Welbevinden", "Eten en drinken", "Huidinspectie", "Verzorging", "Nachtrust", "Onrust", "Medicatietoediening", "Overdrachtspunten", "Verpleegproblemen", "Aandachtspunt", "NB", "N.B.", "Opm.", "Memo", "Notitie", "Toelichting", "Commentaar", "Aanvulling"),
    SCORE: ("Scores", "Pijnscore", "NRS", "VAS", "DOS", "Delierscreening", "SNAQ", "Braden", "Barthel", "Katz-ADL", "Valrisicoscore", "Fragiliteit", "CFS", "GCS", "EMV", "ECOG", "WHO-status", "Performance status", "Karnofsky", "NYHA", "MMSE", "MoCA", "Apgar", "CHA2DS2-VASc", "HAS-BLED", "Wells", "CURB-65", "qSOFA", "MEWS", "EWS", "Risicoscore", "Ernstscore", "Screening", "Screeningsinstrumenten", "Meetinstrumenten", "Classificatie", "Stadiëring", "TNM", "Graad", "Stadium", "Functionele status"),
    DATE: ("Datum", "Opnamedatum", "Ontslagdatum", "Datum onderzoek", "Afnamedatum", "Datum consult", "Volgende afspraak", "Controle op", "Startdatum", "Stopdatum", "Geldig tot", "Gezien op", "Datum verslag", "Datum operatie", "Datum ingreep", "Datum aanvraag", "Datum ontvangst", "Datum uitslag", "Datum verwijzing", "Laatste consult", "Vorige controle", "Datum overdracht", "Datum afname", "Datum ontslag", "Datum opname", "Dd.", "D.d.", "Dat.", "Datum bezoek", "Datum contact", "Ingangsdatum", "Einddatum", "Aanmaakdatum", "Datum validatie", "Datum autorisatie", "Verzenddatum", "Uitgeprint", "Afgedrukt op", "Laatst gewijzigd", "Peildatum", "Afspraakdatum", "Geplande datum", "Datum vorige opname", "Datum diagnose"),
    TIME: ("Tijd", "Tijdstip", "Aanvang", "Einde", "Starttijd", "Eindtijd", "Tijd afname", "Tijdstip toediening", "Tijd melding", "Aankomst", "Vertrek", "Begin", "Incisie", "Sluiten", "Tijdstip afname", "Tijd binnenkomst", "Aankomsttijd", "Tijd overdracht", "Uur", "Start", "Stop", "Tijdstip meting", "Inleiding anesthesie", "Einde operatie", "Op de afdeling", "Tijd consult"),
    PERSON: ("Behandelaar", "Hoofdbehandelaar", "Aanvrager", "Verwijzer", "Supervisor", "Supervisie", "Arts", "Verpleegkundige", "Ingevoerd door", "Gevalideerd door", "Auteur", "Opgesteld door", "Geautoriseerd door", "Dienstdoend arts", "Arts-assistent", "Operateur", "Assistent", "Anesthesioloog", "Radioloog", "Patholoog", "Consulent", "Huisarts", "Verantwoordelijk verpleegkundige", "Casemanager", "Regiebehandelaar", "Coassistent", "Voorschrijver", "Geconsulteerd", "Verslaglegging", "Behandelend arts", "Behandelend specialist", "Zaalarts", "Afdelingsarts", "Dienstdoende", "Achterwacht", "Voorwacht", "Supervisor van dienst", "Gezien door", "Besproken met", "Overlegd met", "Uitgevoerd door", "Aangevraagd door", "Gedicteerd door", "Getypt door", "Ondertekend door", "Contactpersoon zorg", "Eerste verantwoordelijke", "Toezichthouder"),
    GENERIC: ("Opmerking", "Overige", "Diversen", "Extra informatie", "Aanvullende informatie", "Info", "Informatie", "Status", "Stand van zaken", "Terugkoppeling", "Reactie", "Vraag", "Antwoord", "Notities", "Aantekeningen", "Bericht", "Korte notitie", "Betreft", "Onderwerp", "Ref.", "Kenmerk", "Bijlage", "Bijlagen", "Afdeling", "Specialisme", "Dienst", "Zorgpad", "Traject", "Fase", "Type", "Soort", "Categorie", "Prioriteit", "Urgentie", "Triage", "Triagecategorie", "Herkomst", "Bestemming", "Verblijf", "Kamer", "Bed", "Unit", "Setting", "Contactvorm", "Consultvorm", "Verrichtingen", "DBC", "Zorgtraject", "Declaratie"),
}

#: Head nouns per category that take adjectives and modifiers ("het" words marked with a 1).
HEADS: dict[str, tuple[tuple[str, int], ...]] = {
    COMPLAINT: (("anamnese", 0), ("klachten", 0), ("hulpvraag", 0), ("presentatie", 0), ("klachtenpatroon", 1), ("probleem", 1), ("verwijsvraag", 0), ("heteroanamnese", 0)),
    HISTORY: (("voorgeschiedenis", 0), ("antecedenten", 0), ("comorbiditeit", 0), ("opnames", 0), ("problemen", 0), ("episodes", 0), ("diagnoses", 0), ("behandelingen", 0), ("ingrepen", 0)),
    MEDICATION: (("medicatie", 0), ("thuismedicatie", 0), ("geneesmiddelen", 0), ("voorschriften", 0), ("pijnmedicatie", 0), ("antistolling", 0), ("antibiotica", 0), ("medicatielijst", 0), ("medicatieschema", 1), ("medicatieoverzicht", 1), ("voorschrift", 1), ("infuusbeleid", 1)),
    LAB: (("lab", 1), ("laboratorium", 1), ("bloedonderzoek", 1), ("labuitslagen", 0), ("uitslagen", 0), ("bepalingen", 0), ("labwaarden", 0), ("bloedgas", 1), ("urineonderzoek", 1), ("labo", 1), ("kweken", 0), ("spiegels", 0)),
    VITALS: (("parameters", 0), ("controles", 0), ("metingen", 0), ("observaties", 0), ("waarden", 0), ("bloeddruk", 0), ("vochtbalans", 0), ("diurese", 0), ("saturatie", 0), ("temperatuur", 0)),
    EXAM: (("onderzoek", 1), ("lichamelijk onderzoek", 1), ("status", 0), ("indruk", 0), ("bevindingen", 0), ("examen", 1), ("inspectie", 0), ("neurologisch onderzoek", 1), ("status localis", 0)),
    CONCLUSION: (("conclusie", 0), ("diagnose", 0), ("beoordeling", 0), ("samenvatting", 0), ("evaluatie", 0), ("indruk", 0), ("overwegingen", 0), ("diagnosen", 0), ("differentiaaldiagnose", 0), ("werkdiagnose", 0)),
    POLICY: (("beleid", 1), ("plan", 1), ("behandelplan", 1), ("afspraken", 0), ("advies", 1), ("vervolg", 1), ("follow-up", 0), ("acties", 0), ("behandeling", 0), ("therapie", 0), ("nazorg", 0), ("instructies", 0), ("controles", 0), ("behandeldoelen", 0)),
    IMAGING: (("beeldvorming", 0), ("radiologie", 0), ("onderzoeken", 0), ("echografie", 0), ("bevindingen", 0), ("scan", 0), ("echo", 0), ("functieonderzoek", 1), ("verslag", 1)),
    SOCIAL: (("anamnese", 0), ("situatie", 0), ("thuissituatie", 0), ("woonsituatie", 0), ("leefstijl", 0), ("intoxicaties", 0), ("netwerk", 1), ("voorzieningen", 0), ("hulpmiddelen", 0), ("werksituatie", 0)),
    ALLERGY: (("allergieën", 0), ("intoleranties", 0), ("overgevoeligheden", 0), ("bijwerkingen", 0), ("contra-indicaties", 0), ("waarschuwingen", 0)),
    NURSING: (("mobiliteit", 0), ("voeding", 0), ("uitscheiding", 0), ("pijn", 0), ("wondzorg", 0), ("verzorging", 0), ("rapportage", 0), ("bijzonderheden", 0), ("opmerkingen", 0), ("verloop", 1), ("beloop", 1), ("dagverloop", 1), ("nachtrust", 0), ("stemming", 0), ("cognitie", 0), ("vochtbalans", 0), ("overdracht", 0), ("zelfzorg", 0), ("ademhaling", 0), ("huid", 0), ("wond", 0)),
    SCORE: (("scores", 0), ("pijnscore", 0), ("screening", 0), ("classificatie", 0), ("risicoscore", 0), ("stadiëring", 0), ("status", 0), ("meetinstrumenten", 0)),
    DATE: (("datum", 0), ("afspraak", 0), ("controle", 0), ("afname", 0), ("opname", 0), ("ontslag", 1), ("consult", 1), ("onderzoek", 1), ("verwijzing", 0), ("ingreep", 0)),
    TIME: (("tijd", 0), ("tijdstip", 1), ("aanvang", 0), ("einde", 1), ("starttijd", 0), ("eindtijd", 0)),
    PERSON: (("arts", 0), ("behandelaar", 0), ("verpleegkundige", 0), ("specialist", 0), ("aanvrager", 0), ("verwijzer", 0), ("supervisor", 0), ("consulent", 0), ("contactpersoon", 0)),
    GENERIC: (("opmerking", 0), ("informatie", 0), ("notitie", 0), ("aantekeningen", 0), ("toelichting", 0), ("aanvulling", 0), ("gegevens", 0), ("punten", 0)),
}
# fmt: on

#: Adjectives as (de-word / plural form, het-word form).
ADJECTIVES: tuple[tuple[str, str], ...] = (
    ("Actuele", "Actueel"), ("Huidige", "Huidig"), ("Relevante", "Relevant"), ("Eerdere", "Eerder"),
    ("Aanvullende", "Aanvullend"), ("Voorlopige", "Voorlopig"), ("Definitieve", "Definitief"),
    ("Nieuwe", "Nieuw"), ("Overige", "Overig"), ("Gewijzigde", "Gewijzigd"), ("Recente", "Recent"),
    ("Korte", "Kort"), ("Uitgebreide", "Uitgebreid"), ("Algemene", "Algemeen"), ("Specifieke", "Specifiek"),
    ("Belangrijkste", "Belangrijkste"), ("Laatste", "Laatste"), ("Vorige", "Vorig"), ("Volgende", "Volgend"),
    ("Geplande", "Gepland"), ("Gerichte", "Gericht"), ("Oriënterende", "Oriënterend"), ("Klinische", "Klinisch"),
    ("Poliklinische", "Poliklinisch"), ("Verpleegkundige", "Verpleegkundig"), ("Medische", "Medisch"),
    ("Bijkomende", "Bijkomend"), ("Initiële", "Initieel"), ("Beknopte", "Beknopt"), ("Gedetailleerde", "Gedetailleerd"),
    ("Psychiatrische", "Psychiatrisch"), ("Neurologische", "Neurologisch"), ("Cardiale", "Cardiaal"),
    ("Pulmonale", "Pulmonaal"), ("Sociale", "Sociaal"), ("Familiaire", "Familiair"), ("Preoperatieve", "Preoperatief"),
    ("Postoperatieve", "Postoperatief"), ("Anesthesiologische", "Anesthesiologisch"), ("Geriatrische", "Geriatrisch"),
    ("Chirurgische", "Chirurgisch"), ("Interne", "Intern"), ("Ambulante", "Ambulant"), ("Telefonische", "Telefonisch"),
    ("Tijdelijke", "Tijdelijk"), ("Chronische", "Chronisch"), ("Acute", "Acuut"), ("Eigen", "Eigen"),
    ("Gestopte", "Gestopt"), ("Gestarte", "Gestart"), ("Lopende", "Lopend"), ("Openstaande", "Openstaand"),
    ("Afwijkende", "Afwijkend"), ("Normale", "Normaal"), ("Dagelijkse", "Dagelijks"), ("Wekelijkse", "Wekelijks"),
)  # fmt: skip

MODIFIERS: tuple[str, ...] = (
    "bij opname", "bij ontslag", "bij presentatie", "bij aankomst", "op de SEH", "op de spoed",
    "op de afdeling", "op de IC", "op de poli", "thuis", "voor opname", "na ontslag", "tijdens opname",
    "in het verleden", "(laatste 24 uur)", "vandaag", "gisteren", "vannacht", "vorig consult", "eerder",
    "volgens patiënt", "volgens patiënte", "volgens familie", "volgens huisarts", "per telefoon",
    "door verpleging", "door arts", "links", "rechts", "beiderzijds", "(kort)", "(samenvatting)",
    "(actueel)", "(gewijzigd)", "(nieuw)", "(zie ook brief)", "(zie bijlage)", "(voorlopig)",
    "(definitief)", "(auto)", "(hetero)", "(anamnestisch)", "na operatie", "postoperatief",
    "preoperatief", "peroperatief", "bij controle", "bij follow-up", "ochtend", "avond", "nacht",
    "dagdienst", "avonddienst", "nachtdienst", "bij verwijzing", "bij overplaatsing", "op de CCU",
    "op de MC", "op de verpleegafdeling", "ambulant", "poliklinisch", "klinisch", "bij binnenkomst",
    "bij triage", "na behandeling", "voor behandeling", "tijdens de dienst", "sinds vorige visite",
    "sinds laatste contact", "(indien van toepassing)", "(n.v.t. indien leeg)", "(verplicht)",
    "(optioneel)", "(vrije tekst)", "(zie EPD)", "(zie medicatieoverzicht)", "(zie lab)",
    "(overgenomen)", "(ingevuld door verpleging)", "(ingevuld door arts)", "en beleid", "en plan",
    "en afspraken", "en advies", "en evaluatie", "en conclusie",
)  # fmt: skip

#: Compound parts: left parts (with linking -s- where Dutch writes it) and right parts with
#: the category of the compound.
COMPOUND_LEFT: tuple[str, ...] = (
    "Opname", "Ontslag", "Behandel", "Medicatie", "Verpleeg", "Voedings", "Pijn", "Wond", "Vocht",
    "Zorg", "Overdrachts", "Consult", "Verwijs", "Controle", "Onderzoeks", "Bloed", "Urine", "Adem",
    "Hart", "Long", "Nier", "Lever", "Huid", "Slaap", "Stemmings", "Mobiliteits", "Val", "Delier",
    "Leefstijl", "Rook", "Alcohol", "Werk", "Familie", "Thuis", "Hulp", "Revalidatie", "Fysio",
    "Dieet", "Infuus", "Katheter", "Lab", "Röntgen", "Echo", "Scan", "Operatie", "Anesthesie",
    "Sedatie", "Beademings", "Dialyse", "Transfusie", "Stollings", "Glucose", "Insuline",
    "Antibiotica", "Diurese", "Ontlastings", "Mictie", "Decubitus", "Contact", "Afspraak",
    "Vervolg", "Zorgpad", "Observatie", "Meet", "Visite", "Dienst", "Nacht", "Dag", "Avond",
    "Weekend", "Triage", "Intake", "Evaluatie", "Ontwikkelings", "Groei", "Gewichts", "Zwangerschaps",
    "Bevallings", "Kraam", "Trombose", "Isolatie", "Infectie", "Wondzorg", "Stoma", "Sonde",
    "Cognitie", "Gedrags", "Psycho", "Oncologie", "Chemo", "Radiotherapie", "Pre-operatieve",
)  # fmt: skip
COMPOUND_RIGHT: dict[str, str] = {
    "beleid": POLICY, "plan": POLICY, "advies": POLICY, "afspraken": POLICY, "doel": POLICY,
    "doelen": POLICY, "instructies": POLICY, "protocol": POLICY, "anamnese": COMPLAINT,
    "klachten": COMPLAINT, "reden": COMPLAINT, "probleem": COMPLAINT, "problemen": COMPLAINT,
    "onderzoek": EXAM, "bevindingen": EXAM, "status": EXAM, "beoordeling": CONCLUSION,
    "evaluatie": CONCLUSION, "diagnose": CONCLUSION, "conclusie": CONCLUSION, "score": SCORE,
    "screening": SCORE, "risico": SCORE, "uitslagen": LAB, "waarden": LAB, "controle": VITALS,
    "registratie": VITALS, "metingen": VITALS, "datum": DATE, "verloop": NURSING, "verslag": NURSING,
    "notitie": NURSING, "patroon": NURSING, "behoefte": NURSING, "historie": HISTORY,
    "geschiedenis": HISTORY, "gegevens": GENERIC, "informatie": GENERIC, "overzicht": GENERIC,
    "lijst": GENERIC, "schema": GENERIC, "wijzigingen": GENERIC, "indicatie": CONCLUSION,
    "rapportage": NURSING, "overdracht": NURSING, "bijzonderheden": NURSING, "tijd": TIME,
    "tijdstip": TIME, "arts": PERSON, "verpleegkundige": PERSON, "consulent": PERSON,
}  # fmt: skip

#: Titles, headers and labels written verbatim in both splits (SOAP letters, table column
#: headers, vital-sign and identifier labels): a closed vocabulary, shared on purpose.
SOAP_LETTERS: dict[str, tuple[str, ...]] = {
    "S": ("S", "Subjectief", "Subj."),
    "O": ("O", "Objectief", "Obj."),
    "A": ("A", "E", "Evaluatie", "Assessment", "Analyse"),
    "P": ("P", "Plan", "Beleid"),
}
TABLE_HEADERS: dict[str, tuple[str, ...]] = {
    "analyte": ("Bepaling", "Test", "Parameter", "Analyse", "Onderzoek", "Component"),
    "result": ("Uitslag", "Waarde", "Resultaat", "Uitkomst"),
    "unit": ("Eenheid", "Eenh.", "Unit"),
    "reference": ("Referentie", "Ref.", "Normaalwaarde", "Referentiewaarde", "Ref.waarde"),
    "flag": ("Vlag", "Afw.", "Markering", "H/L"),
    "date": ("Datum", "Afname", "Datum afname"),
    "time": ("Tijd", "Tijdstip", "Uur"),
    "drug": ("Medicament", "Geneesmiddel", "Middel", "Medicatie", "Product"),
    "dose": ("Dosering", "Dosis", "Sterkte", "Dos."),
    "route": ("Toedieningsweg", "Route", "Toediening", "Weg"),
    "frequency": ("Frequentie", "Freq.", "Schema", "Gebruik"),
    "note": ("Opmerking", "Opm.", "Toelichting", "Indicatie", "Reden"),
    "by": ("Paraaf", "Door", "Verpleegkundige", "Ingevoerd door"),
}
VITAL_LABELS: dict[str, tuple[str, ...]] = {
    "bp": ("RR", "Bloeddruk", "BD", "NIBP", "Tensie"),
    "pulse": ("Pols", "HF", "Hartfrequentie", "P", "Pulse"),
    "temp": ("Temp", "T", "Temperatuur", "Temp."),
    "sat": ("Sat", "SpO2", "Saturatie", "Sat."),
    "resp": ("AF", "Ademfrequentie", "AH", "Resp"),
    "ews": ("EWS", "MEWS", "NEWS"),
    "pain": ("NRS", "Pijn", "VAS", "Pijnscore"),
    "glucose": ("Glucose", "Gluc", "BG"),
    "weight": ("Gewicht", "Gew."),
    "height": ("Lengte",),
    "bmi": ("BMI",),
    "diuresis": ("Diurese", "Urineproductie"),
    "balance": ("Vochtbalans", "Balans"),
    "consciousness": ("AVPU", "Bewustzijn", "EMV", "GCS"),
}
#: Identifier and contact labels (written by header fields in both splits).
ID_LABELS: tuple[str, ...] = (
    "BSN", "Burgerservicenummer", "bsn", "Rijksregisternummer", "RRN", "INSZ", "INSZ-nummer", "NN",
    "Patiëntnummer", "Pat.nr.", "PID", "Patiënt-ID", "Dossiernummer", "Ziekenhuisnummer", "EPD-nr",
    "Registratienummer", "RIZIV-nummer", "AGB-code", "BIG-nummer", "Labnummer", "Aanvraagnummer",
    "Onderzoeksnummer", "Ordernummer", "Monsternummer", "Accessienummer", "Opnamenummer",
)  # fmt: skip


#: Section titles of fixed report layouts (pathology).
REPORT_LABELS: tuple[str, ...] = ("Macroscopie", "Microscopie")


def shared_labels() -> frozenset[str]:
    """Case-folded labels written verbatim in both splits: SOAP letters, table headers,
    vital-sign words, lab analyte names and identifier labels (a closed vocabulary)."""
    return _shared_labels()


@lru_cache(maxsize=1)
def _shared_labels() -> frozenset[str]:
    from deid_pipeline.synth.quantities import ANALYTES, VITAL_WORDS

    words: list[str] = [*ID_LABELS, *REPORT_LABELS]
    for group in (SOAP_LETTERS, TABLE_HEADERS, VITAL_LABELS, VITAL_WORDS):
        for options in group.values():
            words.extend(options)
    for analyte in ANALYTES:
        words.extend(analyte[0])
    return frozenset(word.casefold() for word in words)


def _template_pools() -> Iterable[Pool[str] | Sequence[str]]:
    """Every list whose items are rendered as templates or markup (not as plain values)."""
    from deid_pipeline.synth import clinical, phrases

    for value in vars(phrases).values():
        if isinstance(value, Pool) and all(isinstance(item, str) for item in value.train):
            yield value
    yield phrases.SLEEP
    yield phrases.CARE
    yield from (clinical.HISTORY, clinical.FINDINGS, clinical.IMAGING_FINDINGS)
    yield from (clinical.HARD_NEGATIVES, clinical.ASSESSMENTS)


@lru_cache(maxsize=1)
def template_label_sets() -> tuple[frozenset[str], frozenset[str]]:
    """Case-folded field labels written literally by templates: (train, held-out).

    A template list that is not a :class:`Pool` (used by both splits) and a one-item pool
    count for both; :func:`shared_labels` are added to both.
    """
    train: set[str] = set(shared_labels())
    heldout: set[str] = set(shared_labels())
    for pool in _template_pools():
        if isinstance(pool, Pool):
            parts: tuple[Sequence[str], Sequence[str]] = (pool.train, pool.heldout)
        else:
            parts = (pool, pool)
        for target, templates in zip((train, heldout), parts, strict=True):
            for template in templates:
                target.update(label.casefold() for label in template_labels(template))
    return frozenset(train), frozenset(heldout)


def label_allowed(label: str, split: Split) -> bool:
    """Whether a composed label may be written in ``split`` (see the module docstring)."""
    folded = label.casefold()
    if not belongs_to(folded, split):
        return False
    train, heldout = template_label_sets()
    other = heldout - train if split == "train" else train
    return folded not in other


def _heads(category: str) -> tuple[tuple[str, int], ...]:
    return HEADS.get(category, HEADS[GENERIC])


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _compose(rng: random.Random, split: Split, category: str) -> str:
    """One candidate label of ``category`` (not yet checked against the split)."""
    roll = rng.random()
    if roll < 0.3:
        return rng.choice(BASE[category])
    if roll < 0.5:
        head, _ = rng.choice(_heads(category))
        if rng.random() < 0.5:
            base = rng.choice(BASE[category])
            if base[-1] != "." and not base.isupper():
                head = base
        return f"{_capital(head)} {rng.choice(MODIFIERS)}"
    if roll < 0.68:
        head, het = rng.choice(_heads(category))
        de_form, het_form = rng.choice(ADJECTIVES)
        return f"{het_form if het else de_form} {head}"
    if roll < 0.84:
        rights = [right for right, cat in COMPOUND_RIGHT.items() if cat == category]
        right = rng.choice(rights or list(COMPOUND_RIGHT))
        left = rng.choice(COMPOUND_LEFT)
        if left[-1].lower() in "aeiou" and right[0] in "aeiou":
            return f"{left}-{right}"
        if left.endswith("e") and left[-2:] not in ("ie", "ee") and rng.random() < 0.2:
            return f"{left} {right}"
        return left + right
    if roll < 0.93:
        first = rng.choice(BASE[category])
        second = rng.choice(BASE[rng.choice((category, POLICY, CONCLUSION, GENERIC))])
        joiner = rng.choice(("/", " / ", " en ", " + ", " & ", ", "))
        return f"{first}{joiner}{second if second.isupper() else second.lower()}"
    return lexicon_label(rng, split)


def lexicon_label(rng: random.Random, split: Split) -> str:
    """A free label made of one or two ordinary lexicon words of ``split``."""
    from deid_pipeline.synth.lexicon import ordinary_words

    words = ordinary_words().part(split)
    first = rng.choice(words)
    if rng.random() < 0.35:
        return f"{_capital(first)} {rng.choice(('en', 'of', 'bij', 'van', 'na', 'voor', '/'))} {rng.choice(words)}".replace(
            " / ", "/"
        )
    return _capital(first)


@lru_cache(maxsize=64)
def _fallback(split: Split, category: str) -> str:
    """A label of ``category`` that ``split`` may always use (a last resort for the sampler)."""
    for label in (*BASE[category], *BASE[GENERIC]):
        if label_allowed(label, split):
            return label
    rng = random.Random(0)
    while True:
        label = lexicon_label(rng, split)
        if label_allowed(label, split):
            return label


def field_label(rng: random.Random, split: Split, category: str = GENERIC) -> str:
    """A field label or section title of ``category`` that belongs to ``split``.

    Draws composed candidates until one is allowed for ``split`` (about 1 in 5 for the held-out
    split), so the space of labels is the whole composition, partitioned by its own text.
    """
    for _ in range(60):
        label = _compose(rng, split, category)
        if label_allowed(label, split):
            return label
    return _fallback(split, category)


#: Ways a field label is written: (prefix, case, suffix); the annotation covers the label only.
INLINE_STYLES: tuple[tuple[str, str, str], ...] = (
    ("", "as is", ": "), ("", "as is", ": "), ("", "as is", ": "), ("", "as is", ":  "),
    ("", "upper", ": "), ("", "as is", ":\t"), ("", "as is", " : "), ("", "lower", ": "),
    ("", "as is", " - "), ("**", "as is", ":** "), ("", "as is", ":"), ("- ", "as is", ": "),
)  # fmt: skip
BLOCK_STYLES: tuple[tuple[str, str, str], ...] = (
    ("", "as is", ":\n"), ("", "as is", ":\n"), ("", "upper", "\n"), ("", "upper", ":\n"),
    ("", "as is", "\n"), ("== ", "upper", " ==\n"), ("=== ", "as is", " ===\n"), ("**", "as is", "**\n"),
    ("[", "as is", "]\n"), ("# ", "as is", "\n"), ("## ", "as is", "\n"), ("--- ", "upper", " ---\n"),
    ("", "as is", ":\n\n"), ("", "upper", "\n\n"), ("* ", "as is", " *\n"), ("", "as is", "\n----------\n"),
)  # fmt: skip


def styled(label: str, style: tuple[str, str, str]) -> Fragment:
    """``label`` written in ``style``, as a fragment whose label part is annotated."""
    prefix, case, suffix = style
    text = label.upper() if case == "upper" else label.lower() if case == "lower" else label
    return ((prefix, None), (text, "@" + FIELD_LABELS), (suffix, None))


def inline_label(rng: random.Random, label: str) -> Fragment:
    """``label`` as the start of a ``label: value`` field."""
    return styled(label, rng.choice(INLINE_STYLES))


def block_label(rng: random.Random, label: str) -> Fragment:
    """``label`` as a section title on a line of its own."""
    return styled(label, rng.choice(BLOCK_STYLES))

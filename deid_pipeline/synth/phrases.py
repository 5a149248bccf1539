# ruff: noqa: E501  (one phrasing per line keeps every template readable and greppable)
"""Sentence-level building blocks: several alternative phrasings per fact.

Every block is a :class:`~deid_pipeline.synth.split.Pool` of templates, so each phrasing belongs
to either the train or the held-out split. Slots are filled by
:class:`~deid_pipeline.synth.context.NoteContext`; PHI slots become gold spans.
"""

from __future__ import annotations

from deid_pipeline.synth.split import Pool

# -- patient header fields (semi-structured) ------------------------------------------------
H_NAME = Pool(
    [
        "Patiënt: {pt_header}",
        "Naam: {pt_header}",
        "Betreft: {pt_header}",
        "Pat.: {pt_header}",
        "Naam patiënt: {pt_header}",
        "PATIËNT: {pt_header}",
        "Inzake: {pt_header}",
        "Cliënt: {pt_header}",
    ]
)
H_DOB = Pool(
    [
        "Geboortedatum: {dob}",
        "Geb.datum: {dob}",
        "Geb. {dob}",
        "Geboren: {dob}",
        "Geboren op: {dob}",
        "Geb.: {dob}",
        "DOB: {dob}",
        "Geboortedatum (leeftijd): {dob}",
    ]
)
H_NID = Pool(["{nid_label}: {nid}", "{nid_label} {nid}", "{nid_label} nr.: {nid}"])
H_PNR = Pool(["{pnr_label}: {pnr}", "{pnr_label} {pnr}"])
H_ADDR = Pool(
    [
        "Adres: {street}, {pc_city}",
        "Adres: {street}\n{pc_city}",
        "Woonadres: {street} te {city}",
        "Adres: {street}, {city}",
        "Woonplaats: {city}",
        "Adres: {addr}",
    ]
)
H_PHONE = Pool(
    [
        "Tel.: {phone}",
        "Telefoon: {phone}",
        "Tel: {phone}",
        "Telefoonnummer: {phone}",
        "Tel. patiënt: {phone}",
        "Contact: {phone}",
        "Mobiel: {phone}",
        "GSM: {phone}",
    ]
)
H_GP = Pool(
    [
        "Huisarts: {gp_name}, {gp_practice}",
        "Huisarts: {gp}",
        "HA: {gp_name} te {gp_city}",
        "Huisarts: {gp_name} ({gp_city})",
        "Behandelend huisarts: {gp}, {gp_practice}",
    ]
)
H_DATE = Pool(
    [
        "Datum: {d_doc}",
        "Datum brief: {d_doc}",
        "Datum: {d_doc_wd}",
        "Datum verslag: {d_doc}",
        "Datum onderzoek: {d_doc}",
        "Datum consult: {d_doc}",
    ]
)
H_ADM = Pool(
    [
        "Opnamedatum: {d_adm}",
        "Opname: {d_range}",
        "Opgenomen van {d_range}",
        "Periode: {d_range}",
        "Datum opname: {d_adm}\nDatum ontslag: {d_dis}",
    ]
)
H_AUTHOR = Pool(
    [
        "Behandelaar: {cg}",
        "Hoofdbehandelaar: {cg}",
        "Verantwoordelijk arts: {cg}",
        "Auteur: {jr}",
        "Specialist: {cg}",
        "Arts: {cg}",
    ]
)
H_INSURER = Pool(
    [
        "Verzekeraar: {insurer}",
        "Zorgverzekeraar: {insurer}",
        "Ziekenfonds: {insurer}",
        "Mutualiteit: {insurer}",
    ]
)

# -- letterheads ----------------------------------------------------------------------------
LETTERHEAD = Pool(
    [
        "{hosp}\nAfdeling {spec}\nTel. {hosp_phone}\n{url}",
        "{hosp} - {spec}\nSecretariaat: {hosp_phone}\nE-mail: {hosp_mail}",
        "{hosp}\nPolikliniek {spec}\nT {hosp_phone}",
        "{hosp} | Dienst {spec} | {hosp_phone} | {url}",
        "{hosp}\n{spec}\nTelefoon {hosp_phone}, bereikbaar op werkdagen",
    ]
)
ADDRESSEE = Pool(
    [
        "Aan: {gp}\n{gp_practice}\n{gp_street}\n{gp_pc_city}",
        "Geachte collega {gp_name},",
        "Aan de weledelgeleerde heer/vrouwe {gp_name}, {gp_word}\n{gp_street}\n{gp_pc_city}",
        "T.a.v. {gp}, {gp_practice}, {gp_pc_city}",
        "Aan {gp_practice}\nt.a.v. {gp_name}\n{gp_street}, {gp_pc_city}",
    ]
)
SALUTATION = Pool(
    [
        "Geachte collega,",
        "Beste collega,",
        "Waarde collega,",
        "Geachte {gp},",
        "Beste {gp_name},",
        "Geachte Dokter,",
        "Zeer geachte collega,",
    ]
)
INTRO = Pool(
    [
        "Hierbij bericht ik u over uw {patient} {pt_t}, geboren {dob}, wonende te {city}, die van {d_range} werd opgenomen op onze afdeling {spec}.",
        "Op {d_adm} werd uw {patient} {pt_t} ({age} jaar) opgenomen op de afdeling {spec} van {hosp} wegens {complaint}.",
        "Uw {patient}, {pt_t}, {age_phrase} werd van {d_range} bij ons opgenomen in verband met {diag}.",
        "Wij zagen {pt_t} (geb. {dob}) op {d_adm} op de {seh} met {complaint}.",
        "Graag informeren wij u over het verloop van de opname van {pt_t}, {age} jaar, van {d_range}.",
        "Betreft de opname van de {age_phrase} {pt_t} in de periode {d_range}.",
        "In de periode van {d_range} was {pt_t} opgenomen in ons ziekenhuis ({hosp}).",
    ]
)
OUTPATIENT_INTRO = Pool(
    [
        "Op {d_doc} zag ik uw {patient} {pt_t}, {age} jaar, op de polikliniek {spec} in verband met {complaint}.",
        "Hartelijk dank voor de verwijzing van {pt_t} (geb. {dob}), die ik op {d_doc} op mijn spreekuur zag.",
        "Uw {patient} {pt_t} kwam op {d_doc} voor controle op de polikliniek.",
        "Op uw verzoek zag ik {pt_t}, een {age_phrase} die bekend is met {hist}, op {d_doc}.",
        "Op {d_doc_wd} bezocht {pt_t} onze raadpleging {spec}.",
        "Ik zag uw {patient} {pt_t} ({age} jr) op {d_doc} terug op de poli {spec}.",
    ]
)
ANAMNESIS = Pool(
    [
        "Sinds <q>{n_days} dagen</q> {complaint}. Daarnaast {complaint2}. Geen koorts gemeten.",
        "{Patient} meldt sinds <q>{n} weken</q> {complaint}, progressief. {Hij} slaapt slecht.",
        "Sinds {d_past} toenemend {complaint}; de klachten begonnen na een vakantie in {place}.",
        "{Hij} vertelt dat de klachten <q>{n_days} dagen</q> geleden zijn begonnen met {complaint}.",
        "Volgens {rel} is {hij} de laatste dagen verward en eet {hij} slecht.",
        "Heteroanamnese via {rel}: sinds ongeveer <q>{n} dagen</q> {complaint2}.",
        "De klachten ontstonden op {d_past} tijdens het werk bij {employer}.",
        "Geen pijn op de borst, geen palpitaties, wel {complaint2}.",
        "{Patient} werd door de ambulance van thuis ({city}) gebracht na {complaint2}.",
        "{Hij} kwam ten val in een supermarkt in {place} en werd per ambulance binnengebracht.",
        "De klachten begonnen tijdens een familiebezoek in {rel_city}.",
        "Na een fietsongeval in {place} werd {hij} eerst gezien in {hosp2}.",
    ]
)
HISTORY = Pool(
    [
        "Voorgeschiedenis: {hist}, {hist} ({d_year}), {hist}.",
        "VG:\n- {hist}\n- {hist} ({d_year})\n- {hist}",
        "Voorgeschiedenis: {d_year} {hist}; {d_month} {hist}.",
        "Bekend met {hist} en {hist}. In {d_year} opgenomen in {hosp2} wegens {diag2}.",
        "Relevante voorgeschiedenis:\n{d_year}: {hist}\n{d_year}: {hist}",
        "In de voorgeschiedenis {hist}, waarvoor eerder behandeld door {cg2} in {hosp2}.",
    ]
)
SOCIAL = Pool(
    [
        "Sociaal: woont samen met {rel} in {city}. Werkzaam als {prof} bij {employer}.",
        "Sociale anamnese: {Hij} is {prof}, inmiddels gepensioneerd. Woont zelfstandig aan de {street}.",
        "Woont met {zijn} partner in een eengezinswoning in {city}; thuiszorg via {care_org}.",
        "{Hij} werkt als {prof} bij {employer}. {Zijn} {rel_prof}.",
        "Thuissituatie: alleenstaand, {rel} woont in {rel_city} en komt dagelijks langs.",
        "Beroep: {prof}. Hobby's: fietsen, lid van {club}.",
        "Woont in {care_org}. Contactpersoon: {rel_name}, tel. {rel_phone}.",
        "Studeert aan {school}; woont op kamers in {city}.",
        "Intoxicaties: rookt niet, alcohol sociaal. {neg}",
        "Werkzaam als {prof}; momenteel in de ziektewet. Werkgever: {employer}.",
        "Geboren en getogen in {place}; sinds {d_year} woonachtig in {city}.",
        "{Zijn} {rel_prof}; de kinderen wonen in {rel_city} en {place}.",
    ]
)
EXAM = Pool(
    [
        "Lichamelijk onderzoek: {vitals}. {finding}",
        "Bij onderzoek: matig zieke {man}. {vitals}. {finding}",
        "LO: {vitals}. {finding} {finding}",
        "Onderzoek: {finding} Verder: {vitals}.",
        "Lichamelijk onderzoek op {d_adm}: {vitals}. {finding}",
    ]
)
LAB = Pool(
    [
        "Laboratorium: {lab}, {lab}, {lab}, {lab}.",
        "Lab ({d_adm}): {lab}; {lab}; {lab}.",
        "Aanvullend onderzoek: {lab}, {lab}. {imaging}: {img_finding}.",
        "Bloedonderzoek toonde {lab} en {lab}.",
        "Lab bij opname: {lab}, {lab}, {lab}. Bij ontslag {lab}.",
    ]
)
IMAGING_SENT = Pool(
    [
        "{imaging} ({d_adm}): {img_finding}.",
        "Op de {imaging} van {d_past} was er {img_finding}.",
        "{imaging}: {img_finding}. Vergeleken met het onderzoek uit {hosp2} van {d_past}.",
        "Er werd een {imaging} verricht: {img_finding}.",
    ]
)
CONCLUSION = Pool(
    [
        "Conclusie: {diag}.",
        "Conclusie/diagnose: {diag}, DD {diag2}.",
        "Samenvattend betreft het een {age_phrase} met {diag}.",
        "Wij denken aan {diag} bij een patiënt met {hist}.",
        "Diagnose bij ontslag: {diag}. Nevendiagnose: {diag2}.",
        "Werkdiagnose: {diag}.",
    ]
)
COURSE = Pool(
    [
        "Beloop: {Patient} werd behandeld met {med}. Hierop knapte {hij} geleidelijk op. {neg}",
        "Na start van {med} daalde het CRP. Op {d_stay} trad een {diag2} op, waarvoor {cg2} in consult werd gevraagd.",
        "Tijdens de opname werd {pt_sur} gezien door {allied}. Mobilisatie verliep voorspoedig.",
        "Op <q>dag {n}</q> van de opname werd {pt_sur} overgeplaatst naar de afdeling {spec2}. {finding}",
        "In overleg met {cg2} ({spec2}) werd gestart met {med}.",
        "Het beloop werd gecompliceerd door {diag2}. {neg}",
        "Na <q>{n_days} dagen</q> kon de medicatie worden omgezet naar orale therapie ({med}).",
        "{rel} werd op {d_past} telefonisch op de hoogte gebracht van de situatie.",
        "{Hij} werd besproken met {cg2}; geadviseerd werd {med}.",
    ]
)
DAILY = Pool(
    [
        "{d_stay}: {vitals}. {finding} Beleid: continueren {med}.",
        "<q>Dag {n}</q>: {Patient} voelt zich beter. {lab}. {neg}",
        "{d_stay_wd}: visite met {cg}. {finding} Plan: {med}.",
        "{d_stay} - {jr}: {complaint2}, {vitals}. Lab: {lab}, {lab}.",
        "{d_stay}, {clock}: gebeld door {nurse} i.v.m. {complaint2}. {vitals}.",
        "{d_stay}: overleg met {cg2}, {spec2}: {diag2} niet waarschijnlijk. {score}",
    ]
)
DISCHARGE = Pool(
    [
        "{Patient} werd op {d_dis} in goede conditie ontslagen naar huis.",
        "Op {d_dis} werd {pt_sur} ontslagen naar {care_org} voor verdere revalidatie.",
        "Ontslag op {d_dis} naar de thuissituatie in {city}, met thuiszorg van {care_org}.",
        "{Hij} ging op {d_dis} met ontslag; {rel} kwam {hem} ophalen.",
        "Ontslagen op {d_dis}. Nieuwe medicatie is doorgegeven aan {pharmacy}.",
    ]
)
POLICY = Pool(
    [
        "Beleid: {med}. Controle op de polikliniek over <q>{n} weken</q> ({d_fut}).",
        "Afspraken: poli {spec} op {d_fut} bij {cg}; lab vooraf. Graag controle {lab} via de {gp_word}.",
        "Wij verzoeken u het {lab} over een week te controleren. Een nieuwe afspraak volgt op {d_fut}.",
        "Plan: afbouwen {med}; telefonisch consult op {d_fut} met {jr}.",
        "Controle over <q>{n} maanden</q>; bij vragen is de poli bereikbaar via {hosp_phone}.",
        "Verdere behandeling via {cg2} in {hosp2}; verwijzing is verstuurd.",
        "Advies: bij toename van klachten contact opnemen met de {post} of de {seh}.",
    ]
)
MEDICATION_HEAD = Pool(
    [
        "Medicatie bij ontslag:",
        "Medicatie:",
        "Thuismedicatie:",
        "Actuele medicatie:",
        "Medicatie bij opname:",
        "Medicatiewijzigingen:",
    ]
)
CLOSING = Pool(
    [
        "Met vriendelijke groet,",
        "Met collegiale groet,",
        "Hoogachtend,",
        "Met vriendelijke groeten,",
        "Vriendelijke groet,",
        "Collegiale groeten,",
    ]
)
SIGNATURE = Pool(
    [
        "{cg_name}\n{cg_role}\n{hosp}",
        "{cg_name}, {cg_role}\n{cg_id_label} {cg_id}",
        "{jr_name}, {jr_role}\nnamens {cg_name}, {cg_role}",
        "{cg_name}\n{cg_role}, {hosp}\nTel. {cg_phone}\nE-mail: {cg_email}",
        "{cg_name} ({cg_role})\n{cg_id_label}: {cg_id}\n{hosp}",
        "Dr. {cg_name}\n{cg_role}",
        "{cg_name}\n{cg_role} - {cg_id_label} {cg_id}\n{hosp}, {hosp_phone}",
    ]
)
GP_SIGNATURE = Pool(
    [
        "Met vriendelijke groet,\n\n{gp_name}, {gp_word}\n{gp_practice}\n{gp_street}, {gp_pc_city}\nTel. {gp_phone}\n{gp_id_label}: {gp_id}",
        "Met collegiale groet,\n{gp_name}\n{gp_word}, {gp_practice}\n{gp_id_label} {gp_id}",
        "Vriendelijke groet,\n\n{gp_name}\n{gp_practice}, {gp_city}\nTel.: {gp_phone}",
    ]
)
CC = Pool(
    [
        "Kopie: {gp}, {gp_practice}",
        "cc: patiënt; {gp_word} {gp_name}",
        "Kopie aan: {cg2}, {hosp2}",
        "c.c. {gp_practice}, {gp_street}, {gp_pc_city}",
        "Afschrift: {care_org}",
    ]
)

# -- nursing ----------------------------------------------------------------------------------
SHIFT = Pool(
    [
        "Dienst {d_stay} ({shift}) - {nurse}:\n{pt_first} heeft {sleep}. {vitals}. {care}",
        "{shift} {d_stay}: {vitals}. {care} Overgedragen aan {nurse}.",
        "{d_stay} {time} - {shift}: {pt_sur} {mood}. {care} {neg}",
        "Overdracht {shift}, {nurse}: {pt_first} {mood}; {care}",
        "{d_stay}: {pt_first} is vandaag bezocht door {rel}. {care}",
        "{shift}: pijnscore <q>VAS {n}</q>, {med} gegeven om {clock}. {care}",
    ]
)
SHIFT_NAMES = ("dagdienst", "avonddienst", "nachtdienst", "vroege dienst", "late dienst")
SLEEP = (
    "goed geslapen",
    "onrustig geslapen",
    "slecht geslapen i.v.m. pijn",
    "tot <q>04:00 uur</q> wakker gelegen",
    "de hele nacht doorgeslapen",
)
MOOD = (
    "is rustig en coöperatief",
    "is onrustig en verward",
    "oogt vermoeid",
    "is opgewekt en mobiliseert goed",
    "klaagt over pijn",
    "heeft weinig gegeten",
)
CARE = (
    "Wondverband verschoond, wond rustig.",
    "Mobiliseert met rollator onder begeleiding.",
    "Vochtbalans positief, diurese goed op gang.",
    "Katheter verwijderd, mictie spontaan.",
    "Infuus loopt, insteekopening rustig.",
    "Decubitusrisico: wisselligging elke <q>3 uur</q>.",
    "Eet zelfstandig, halve portie genuttigd.",
    "Glucose 's avonds <q>11,2</q>, extra insuline volgens schema.",
    "Geholpen met wassen aan de wastafel.",
    "Defecatie gehad, normaal aspect.",
    "Zuurstof afgebouwd naar <q>1 liter</q>.",
    "<q>SNAQ-score 2</q>; diëtist ingeschakeld.",
)
HANDOVER_HEAD = Pool(
    [
        "Verpleegkundige overdracht {d_doc}\nAfdeling: {spec}\nKamer {room}",
        "OVERDRACHT VERPLEGING - {hosp}\nDatum: {d_doc}",
        "Overdrachtsformulier verpleging\n{hosp}, afdeling {spec}",
        "SBAR-overdracht {d_doc}, {shift}",
    ]
)
SBAR = Pool(
    [
        "S: {pt_sur}, opgenomen op {d_adm} met {diag}.\nB: VG {hist}, {hist}.\nA: {vitals}. {care}\nR: {med}; graag {lab} morgen.",
        "Situatie: {pt_t} ({age} jr), {diag}.\nAchtergrond: {hist}.\nBeoordeling: {mood}. {vitals}.\nAanbeveling: arts bellen bij <q>EWS > 3</q>.",
    ]
)

# -- SOAP / GP ----------------------------------------------------------------------------------
SOAP = Pool(
    [
        "S: {complaint} sinds <q>{n_days} dagen</q>. {neg}\nO: {vitals}. {finding}\nE: {diag}\nP: {med}; controle {d_fut}.",
        "S/ {Patient} komt met {complaint}.\nO/ {finding}\nE/ {diag}, DD {diag2}\nP/ uitleg, {med}. Retour bij toename.",
        "Subjectief: {complaint}; {rel} maakt zich zorgen.\nObjectief: {vitals}.\nEvaluatie: {diag}.\nPlan: verwijzing naar {cg2} in {hosp}.",
        "S: controle {hist}. Gaat goed.\nO: {vitals}. {lab}.\nE: stabiel.\nP: herhaalrecept {med} via {pharmacy}.",
        "S: telefonisch: {complaint2}.\nO: niet gezien.\nE: waarschijnlijk {diag2}.\nP: {med}; bij geen verbetering spreekuur {weekday}.",
    ]
)
CONSULT_HEAD = Pool(
    [
        "Consult {d_past} - {gp_name}, {gp_practice}",
        "{d_past} Consult spreekuur ({gp_name})",
        "Visite {d_past} door {gp}",
        "{d_past} - {time} - {jr}",
        "Contact {d_past}: {cg}",
    ]
)

# -- referral ------------------------------------------------------------------------------------
REFERRAL_INTRO = Pool(
    [
        "Graag verwijs ik {pt_t}, geboren {dob}, naar uw polikliniek {spec} in verband met {complaint}.",
        "Hierbij verwijs ik mijn {patient} {pt_t} ({age} jaar) naar u voor analyse van {complaint}.",
        "Verwijzing {spec}: {pt_t}, {age_phrase}, met {complaint} sinds {d_month}.",
        "Wilt u {pt_t} (BSN/RRN zie boven) beoordelen in verband met {diag}?",
        "Graag uw oordeel over {pt_t}, wonende {street} te {city}, met {complaint}.",
    ]
)
REFERRAL_QUESTION = Pool(
    [
        "Vraagstelling: graag analyse en behandeladvies.",
        "Vraag: is er sprake van {diag}? Graag uw beleid.",
        "Verzoek om overname van de behandeling.",
        "Graag beoordeling; {pt_sur} heeft een voorkeur voor {hosp}.",
    ]
)

# -- operation / radiology / lab -----------------------------------------------------------
OP_HEAD = Pool(
    [
        "OPERATIEVERSLAG\nDatum operatie: {d_doc}\nOperateur: {cg}\nAssistent: {jr}\nAnesthesist: {cg2}",
        "Operatieverslag {hosp}\nDatum: {d_doc}\nChirurg: {cg}\nAssistentie: {jr}",
        "Verslag ingreep d.d. {d_doc}\nUitvoerend specialist: {cg}\nAnesthesie: {cg2}",
    ]
)
OP_STEPS = Pool(
    [
        "Patiënt in rugligging, time-out verricht. Desinfectie en steriel afdekken.",
        "Incisie volgens Pfannenstiel. Laag voor laag ingaan tot op de fascie.",
        "Introductie van de trocars onder zicht; pneumoperitoneum tot <q>12 mmHg</q>.",
        "Identificatie van de ductus cysticus en arteria cystica (critical view of safety).",
        "Hemostase gecontroleerd; bloedverlies ca. <q>{n}00 ml</q>.",
        "Sluiten van de fascie met PDS, huid intracutaan met Monocryl.",
        "Plaatsen van een Foley-katheter; urine helder.",
        "Preparaat naar de patholoog ({hosp}).",
        "Kocher-manoeuvre verricht, duodenum gemobiliseerd.",
        "Peroperatief geen complicaties. Telling gazen en instrumenten correct.",
        "Antibiotische profylaxe: cefazoline <q>2 g</q> iv.",
        "Peroperatief overleg met {cg2} over de gevonden afwijking.",
    ]
)
RAD_HEAD = Pool(
    [
        "{imaging} d.d. {d_doc}\nAanvrager: {cg}\nKlinische gegevens: {complaint}, VG {hist}.",
        "Radiologie {hosp}\nOnderzoek: {imaging}\nDatum: {d_doc}\nVerwijzer: {gp}",
        "{imaging} - {hosp}\nDatum: {d_doc}\nVerwijzer: {gp_name}, {gp_id_label} {gp_id}",
        "Verslag {imaging} ({d_doc}), aangevraagd door {jr}.\nVraagstelling: {diag}?",
    ]
)
RAD_BODY = Pool(
    [
        "Bevindingen: {img_finding}. Geen andere afwijkingen.",
        "Vergelijking met {imaging} van {d_past}: {img_finding}.",
        "Verslag: {img_finding}. Bijkomend: {img_finding}.",
        "Vergeleken met de beelden uit {hosp2} d.d. {d_past}: {img_finding}.",
    ]
)
RAD_CONCLUSION = Pool(
    [
        "Conclusie: {img_finding}.",
        "Conclusie: passend bij {diag}.",
        "Indruk: {img_finding}. Besproken met {cg} op {d_doc}.",
        "Conclusie: {img_finding}. Telefonisch doorgegeven aan {jr} om {clock}.",
    ]
)
LAB_HEAD = Pool(
    [
        "Laboratoriumuitslagen {hosp}\nAanvrager: {gp}\nAfname: {d_doc} {time}",
        "Klinisch chemisch laboratorium - uitslag\nPatiënt: {pt_header}\nAanvrager: {cg}",
        "Laboratorium {hosp}\nAanvrager: {gp_name} ({gp_id_label} {gp_id}), {gp_practice}\nAfname: {d_doc}",
        "Uitslag laboratorium d.d. {d_doc}, aangevraagd door {gp}, {gp_practice}",
    ]
)
LAB_PANEL = Pool(
    [
        "Afname {d_past}:\n{lab}\n{lab}\n{lab}",
        "{d_past} {time}: {lab} | {lab} | {lab}",
        "Uitslag {d_past}: {lab}, {lab}, {lab}, {lab}. Gevalideerd door {allied}.",
        "Hematologie ({d_past}): {lab}; {lab}. Chemie: {lab}; {lab}.",
    ]
)
LAB_COMMENT = Pool(
    [
        "Opmerking: afwijkende waarde telefonisch doorgegeven aan {gp} op {d_doc}.",
        "Commentaar: monster gehemolyseerd, kalium onbetrouwbaar.",
        "Let op: {lab}; kritieke waarde gemeld aan {jr}.",
        "Hemolyse-index verhoogd; herhaling geadviseerd.",
    ]
)

# -- medication overview ---------------------------------------------------------------------
MED_HEAD = Pool(
    [
        "MEDICATIEOVERZICHT\nApotheek: {pharmacy}\nVoorschrijver: {gp}\nDatum: {d_doc}",
        "Medicatieoverzicht {d_doc}\nVoorschrijver: {gp_name} ({gp_id_label}: {gp_id})\nApotheek: {pharmacy}",
        "Actueel medicatieoverzicht ({pharmacy}), afgedrukt {d_doc}",
        "Medicatieschema - {hosp}\nGeverifieerd met {pharmacy} op {d_doc}",
    ]
)
MED_LINE = Pool(
    [
        "- {med} (start {d_past}, {cg})",
        "- {med}",
        "{med} - voorschrijver {gp_name}",
        "- {med}; gestopt op {d_past} i.v.m. bijwerkingen",
        "* {med} sinds {d_month}",
    ]
)
MED_NOTE = Pool(
    [
        "Medicatieverificatie met {rel} op {d_doc}.",
        "Allergie/intolerantie: geen bekend.",
        "Geneesmiddelen worden uitgezet door {care_org} (baxterrol via {pharmacy}).",
        "Let op: interactie tussen {med} en {med} besproken met {allied}.",
    ]
)

# -- secure e-mail / telephone / MDO ---------------------------------------------------------
MAIL_HEAD = Pool(
    [
        "Van: {cg_email}\nAan: {gp_mail}\nDatum: {d_doc} {time}\nOnderwerp: {pt_header}",
        "Beveiligde e-mail (ZorgMail)\nVan: {cg} <{cg_email}>\nAan: {gp}\nOnderwerp: vraag over {diag}",
        "From: {hosp_mail}\nTo: {gp_mail}\nSent: {d_doc}\nSubject: overleg patiënt {pnr}",
        "Verzonden via beveiligd kanaal op {d_doc} om {clock}\nVan: {jr}\nAan: {cg2}",
    ]
)
MAIL_BODY = Pool(
    [
        "Beste {gp_name},\n\nIk heb {pt_sur} vandaag gezien. {finding} Zou u {lab} willen controleren?",
        "Dag collega,\n\nKort overleg over {pt_t} (geb. {dob}): {diag}. Wij stellen voor {med}.",
        "Hoi {jr_first},\n\nKun jij de uitslag van {pt_sur} ({pnr}) nog even bekijken? {lab}.",
        "Beste,\n\n{Patient} belde vanmorgen vanaf {phone} met {complaint2}. Graag terugbellen.",
        "Geachte collega,\n\nNaar aanleiding van uw vraag: de {imaging} van {d_past} toont {img_finding}.",
        "Beste {cg2_first},\n\nGraag jouw advies over {pt_t}, bekend met {hist}. {neg}",
    ]
)
MAIL_REPLY = Pool(
    [
        "> Op {d_doc} om {clock} schreef {gp_name}:\n> Dank voor de informatie, ik zie {pt_sur} volgende week.",
        "-----Oorspronkelijk bericht-----\nVan: {gp}\nVerzonden: {d_past}\nAan: {cg_email}\nOnderwerp: RE: {pt_header}\n\nAkkoord met {med}.",
        "Reactie {jr} ({d_doc}): uitslag bekeken, {lab}, geen actie nodig.",
        "Antwoord van {cg2}: eens met het beleid; graag overplaatsing naar {hosp2}.",
    ]
)
PHONE_NOTE = Pool(
    [
        "Telefoonnotitie {d_doc} {time}\nGebeld door: {rel} ({rel_phone})\nBetreft: {pt_t}\n{complaint2}; advies {med}.",
        "{d_doc} {time} - telefonisch contact met {pt_t} op {phone}. {Hij} meldt {complaint2}.",
        "TC {d_doc}: {gp} belt over {pt_sur}: {diag2}? Afgesproken: {med}.",
        "Terugbelverzoek {d_doc}: {pt_t}, tel. {phone}. Vraag over {med}. Teruggebeld om {clock}, {jr}.",
        "Telefonisch consult {d_doc} met {pt_t} ({dob}): uitslag besproken, {lab}. Volgende afspraak {d_fut}.",
        "{time}: {rel} belt namens {pt_first}; {complaint2}. Overlegd met {cg}.",
    ]
)
MDO_HEAD = Pool(
    [
        "Multidisciplinair overleg {spec} - {d_doc}\nAanwezig: {cg}, {cg2}, {jr}, {allied}",
        "MDO {d_doc} ({hosp})\nVoorzitter: {cg}\nNotulist: {jr}",
        "Verslag MOC {d_doc}\nDeelnemers: {cg}, {cg2}, {nurse}, {allied}",
    ]
)
MDO_CASE = Pool(
    [
        "Patiënt: {pt_header} ({pnr}), {age} jaar.\nVraagstelling: behandeladvies {diag}.",
        "Bespreking {pt_t}, geb. {dob}, verwezen door {gp} ({gp_practice}).",
        "Casus: {age_phrase} met {diag}; VG {hist}.",
    ]
)
MDO_ITEM = Pool(
    [
        "{spec2} ({cg2}): {img_finding}.",
        "{allied_role} ({allied}): {care}",
        "Verpleging ({nurse}): {mood_s}; thuissituatie met {rel}.",
        "Radiologie: {imaging} van {d_past} toont {img_finding}.",
        "Pathologie ({hosp2}): biopt van {d_past} past bij {diag}.",
        "Advies: {proc}; bespreken met {pt_sur} en {rel} op {d_fut}.",
        "Besluit: {med}; evaluatie in het MDO van {d_fut}.",
        "Geriatrie: {score} {neg}",
    ]
)

# -- codes and pathology -------------------------------------------------------------------
CODE_SENTENCE = Pool(
    [
        "Geregistreerd onder {code}.",
        "Moleculaire diagnostiek: {code}.",
        "Diagnose {diag} ({code}).",
        "DBC geopend voor {diag}; {code}.",
        "In het EPD vastgelegd als {code}.",
        "NGS-panel: {code}; verder geen afwijkingen.",
        "Medicatie {med}, {code}.",
        "Episode {diag}, {code}, aangemaakt door {jr}.",
        "Erfelijkheidsonderzoek toont {code}.",
        "Probleemlijst bijgewerkt: {diag} ({code}).",
    ]
)
PATH_MACRO = Pool(
    [
        "Ontvangen gefixeerd in formaline: huidexcisie van <q>3,2 x 1,5 x 0,8 cm</q>.",
        "Resectiepreparaat colon, lengte <q>18 cm</q>, tumor op <q>4 cm</q> van het distale snijvlak.",
        "Drie biopten, elk <q>0,2 cm</q>.",
        "Mammapreparaat van <q>240 gram</q>; tumor <q>2,1 cm</q> in doorsnede.",
        "Prostaatbiopten, <q>12 stuks</q>, lengte <q>0,8 tot 1,6 cm</q>.",
        "Galblaas van <q>8 cm</q> met een wand van <q>4 mm</q>; stenen aanwezig.",
    ]
)
PATH_MICRO = Pool(
    [
        "Adenocarcinoom, matig gedifferentieerd, snijvlakken vrij (marge <q>6 mm</q>).",
        "Invasief carcinoom NST, graad 2, ER <q>90%</q>, PR <q>40%</q>, HER2 negatief.",
        "Plaveiselcelcarcinoom, radicaal verwijderd, marge <q>2 mm</q>.",
        "Geen maligniteit; chronische ontsteking.",
        "Ki-67 <q>15%</q>; PD-L1 TPS <q>60%</q>.",
        "Acinair adenocarcinoom, <q>Gleason 3+4=7</q>, in <q>4 van 12</q> biopten.",
    ]
)

# -- fixed report parts (one-item pools are shared by both splits) ---------------------------
OP_INDICATION = Pool(["Indicatie: {diag}.\nIngreep: {proc}."])
OP_POLICY = Pool(["Postoperatief beleid: {med}. Controle op de poli op {d_fut}."])
RAD_SIGNATURE = Pool(["Radioloog: {cg2}"])
MAIL_CLOSE = Pool(["Groet,\n{cg_name}\n{hosp}"])
PATH_HEAD = Pool(
    [
        "PATHOLOGIE - {hosp}\nAanvrager: {cg}",
        "Pathologieverslag {hosp}\nInzender: {gp}",
        "Verslag pathologie\nAanvragend arts: {jr}\nKlinische gegevens: {diag}?",
    ]
)
PATH_SIGNATURE = Pool(
    ["Patholoog: {cg2}", "{cg2}, patholoog\n{hosp}", "Geautoriseerd door {cg2} op {d_doc}"]
)

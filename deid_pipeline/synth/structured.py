"""Semi-structured blocks: labelled fields, forms, tables, SOAP blocks, ordinary-word prose.

Writers take a :class:`~deid_pipeline.synth.context.NoteContext` and append to its builder.
Field labels come from :mod:`.fields` (a huge, split-partitioned vocabulary), values from the
slot machinery (PHI with gold spans) and :mod:`.quantities` (annotated quantities and codes),
and free prose from the Dutch lexicon (:mod:`.lexicon`), so that capitalisation, a colon or an
unfamiliar word alone never signals PHI.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from deid_pipeline.synth import fields as F
from deid_pipeline.synth import phrases as P
from deid_pipeline.synth import quantities as Q
from deid_pipeline.synth.builder import FIELD_LABELS, Fragment, join, plain, qty
from deid_pipeline.synth.context import NoteContext
from deid_pipeline.synth.lexicon import STARTERS, ordinary_words

Writer = Callable[[NoteContext], None]

#: Categories of a generic form, with weights.
FORM_CATEGORIES: dict[str, float] = {
    F.COMPLAINT: 2,
    F.HISTORY: 2,
    F.MEDICATION: 2,
    F.LAB: 2,
    F.VITALS: 2,
    F.EXAM: 2,
    F.CONCLUSION: 2,
    F.POLICY: 2,
    F.IMAGING: 1,
    F.SOCIAL: 1,
    F.ALLERGY: 1,
    F.NURSING: 2,
    F.SCORE: 1,
    F.DATE: 1.5,
    F.TIME: 0.7,
    F.PERSON: 1.2,
    F.GENERIC: 1.5,
}
NURSING_CATEGORIES: dict[str, float] = {
    F.NURSING: 6,
    F.VITALS: 2,
    F.SCORE: 1.5,
    F.MEDICATION: 1,
    F.TIME: 1,
    F.PERSON: 1,
    F.GENERIC: 1.5,
    F.POLICY: 1,
    F.DATE: 0.5,
}

_CLAUSES = (
    "geen bijzonderheden",
    "rustig geslapen",
    "goed gegeten en gedronken",
    "weinig pijn",
    "stabiel beeld",
    "besproken met de familie",
    "afgesproken om morgen te evalueren",
    "geen nieuwe klachten",
    "mobiliseert zelfstandig",
    "wond droog en rustig",
    "meer last van onrust",
    "minder benauwd dan gisteren",
    "geen koorts meer",
    "uitleg gegeven over het beleid",
    "akkoord met het voorstel",
    "geen actie nodig",
    "vitale parameters stabiel",
    "pijn goed onder controle",
    "katheter verwijderd",
    "valt op dat patiënt stiller is",
)
_GENERIC_VALUES = (
    "geen bijzonderheden",
    "n.v.t.",
    "nvt",
    "zie boven",
    "zie brief",
    "ja",
    "nee",
    "onbekend",
    "-",
    "geen",
    "conform beleid",
    "volgt",
    "niet afgenomen",
    "+",
    "normaal",
    "afwijkend",
    "in orde",
    "stabiel",
    "zie lab",
    "g.b.",
    "geb",
    "niet van toepassing",
    "nog niet bekend",
    "zie verslag",
    "zie EPD",
    "volgens afspraak",
    "akkoord",
    "negatief",
    "positief",
    "neg.",
    "pos.",
)
_ALLERGY_VALUES = (
    "geen bekend",
    "geen bekende allergieën",
    "NKDA",
    "penicilline (huiduitslag)",
    "jodiumhoudend contrast",
    "pleister",
    "latex",
    "cotrimoxazol (exantheem)",
    "NSAID's (maagklachten)",
    "morfine (misselijkheid)",
    "noten",
    "codeïne",
    "geen",
    "onbekend",
    "amoxicilline: urticaria",
)


# -- ordinary words -------------------------------------------------------------------------


def lexicon_sentence(ctx: NoteContext) -> None:
    """A sentence opened by an ordinary capitalised word (lexicon word or connective)."""
    rng, builder = ctx.rng, ctx.builder
    words = ordinary_words().part(ctx.split)
    if rng.random() < 0.45:
        builder.add(STARTERS.pick(rng, ctx.split) + " ")
        builder.add(rng.choice(_CLAUSES))
        if rng.random() < 0.3:
            builder.add(", ")
            builder.add_fragment(Q.amount(rng))
        builder.add(".")
        return
    builder.add(rng.choice(words).capitalize())
    for _ in range(rng.randint(1, 8)):
        roll = rng.random()
        builder.add(", " if roll < 0.08 else " ")
        if roll < 0.9:
            builder.add(rng.choice(words))
        elif roll < 0.96:
            builder.add_fragment(Q.amount(rng))
        else:
            ctx.write("{diag2}")
    builder.add(rng.choice((".", ".", ".", ".", "!", "?")))


def lexicon_prose(low: int = 1, high: int = 3) -> Writer:
    """A paragraph of ``low``-``high`` ordinary-word sentences."""

    def write(ctx: NoteContext) -> None:
        for index in range(ctx.rng.randint(low, high)):
            if index:
                ctx.builder.add(" ")
            lexicon_sentence(ctx)

    return write


def with_prose(writer: Writer, probability: float = 0.25) -> Writer:
    """``writer``, sometimes preceded by an ordinary-word sentence in the same paragraph."""

    def write(ctx: NoteContext) -> None:
        if ctx.rng.random() < probability:
            lexicon_sentence(ctx)
            ctx.builder.add(" ")
        writer(ctx)

    return write


# -- values per category --------------------------------------------------------------------


def _list(ctx: NoteContext, items: Sequence[Callable[[], None]]) -> None:
    rng, builder = ctx.rng, ctx.builder
    style = rng.randrange(4)
    for index, item in enumerate(items):
        if style == 0:
            builder.add(", " if index else "")
        elif style == 1:
            builder.add("; " if index else "")
        else:
            builder.add(("\n" if index else "") + ("- " if style == 2 else "• "))
        item()


def write_value(ctx: NoteContext, category: str) -> None:
    """A value that fits a field of ``category`` (PHI through slots, quantities annotated)."""
    rng, builder, write = ctx.rng, ctx.builder, ctx.write
    roll = rng.random()
    match category:
        case F.COMPLAINT:
            if roll < 0.4:
                write("{complaint}")
            elif roll < 0.6:
                write("{complaint} sinds <q>{n_days} dagen</q>")
            elif roll < 0.85:
                ctx.say(P.ANAMNESIS)
            else:
                lexicon_sentence(ctx)
        case F.HISTORY:
            count = rng.randint(1, 5)
            _list(
                ctx,
                [
                    (lambda: write("{hist} ({d_year})"))
                    if rng.random() < 0.3
                    else (lambda: write("{hist}"))
                    for _ in range(count)
                ],
            )
        case F.MEDICATION:
            _list(ctx, [lambda: write("{med}") for _ in range(rng.randint(1, 5))])
        case F.LAB:
            if roll < 0.25:
                write("({d_short}) ")
            _list(ctx, [lambda: write("{lab}") for _ in range(rng.randint(1, 5))])
        case F.VITALS:
            write("{vitals}")
        case F.EXAM:
            write("{finding}" if roll < 0.7 else "geen afwijkingen" if roll < 0.85 else "{vitals}")
        case F.CONCLUSION:
            if roll < 0.4:
                write("{diag}")
            elif roll < 0.6:
                write("{diag}, DD {diag2}")
            elif roll < 0.8:
                write("{diag} ")
                builder.add_fragment(join("(", Q.code_mention(rng), ")"))
            else:
                lexicon_sentence(ctx)
        case F.POLICY:
            if roll < 0.35:
                ctx.say(P.POLICY)
            elif roll < 0.55:
                write("{med}")
            elif roll < 0.7:
                write("controle over <q>{n} weken</q>, lab vooraf")
            elif roll < 0.8:
                write("terugzien op {d_fut}")
            else:
                lexicon_sentence(ctx)
        case F.IMAGING:
            write("{imaging} ({d_short}): {img_finding}" if roll < 0.5 else "{img_finding}")
        case F.SOCIAL:
            if roll < 0.6:
                ctx.say(P.SOCIAL)
            else:
                lexicon_sentence(ctx)
        case F.ALLERGY:
            builder.add(rng.choice(_ALLERGY_VALUES))
        case F.NURSING:
            if roll < 0.3:
                write("{care}")
            elif roll < 0.45:
                write("{mood}")
            elif roll < 0.55:
                write("{sleep}")
            elif roll < 0.65:
                builder.add_fragment(Q.amount(rng))
            elif roll < 0.75:
                builder.add(rng.choice(_GENERIC_VALUES))
            else:
                lexicon_sentence(ctx)
        case F.SCORE:
            _list(
                ctx, [lambda: builder.add_fragment(Q.score(rng)) for _ in range(rng.randint(1, 3))]
            )
        case F.DATE:
            date_value(ctx)
        case F.TIME:
            builder.add_fragment(Q.clock_time(rng, ctx.locale))
        case F.PERSON:
            if roll < 0.4:
                write("{cg}")
            elif roll < 0.6:
                write("{jr}")
            elif roll < 0.75:
                write("{nurse}")
            elif roll < 0.9:
                builder.add_fragment(ctx.listed_name(ctx.author.person, "Name:Caregiver"))
            else:
                write("{cg_name}, {cg_role}")
        case _:
            if roll < 0.5:
                builder.add(rng.choice(_GENERIC_VALUES))
            elif roll < 0.65:
                builder.add_fragment(Q.amount(rng))
            elif roll < 0.75:
                builder.add_fragment(Q.code_mention(rng))
            else:
                lexicon_sentence(ctx)


def date_value(ctx: NoteContext) -> None:
    """A date field value: full, without year, with weekday, a range, or in parentheses."""
    rng, builder = ctx.rng, ctx.builder
    date = rng.choice((ctx.doc_date, ctx.stay_date(), ctx.past_date(), ctx.future_date()))
    roll = rng.random()
    if roll < 0.35:
        builder.add_fragment(ctx.date(date))
    elif roll < 0.55:
        builder.add_fragment(ctx.short_date(date))
    elif roll < 0.68:
        builder.add_fragment(ctx.date_wd(date))
    elif roll < 0.8:
        builder.add_fragment(ctx.date_range(ctx.adm_date, ctx.dis_date))
    elif roll < 0.9:
        builder.add_fragment(join(ctx.date(date), " ", Q.clock_time(rng, ctx.locale)))
    else:
        builder.add_fragment(join("(", ctx.short_date(date), ")"))


# -- labelled fields, forms, sections ---------------------------------------------------------


def _category(rng: random.Random, weights: dict[str, float]) -> str:
    names = list(weights)
    return rng.choices(names, weights=[weights[name] for name in names])[0]


def field_line(ctx: NoteContext, category: str) -> None:
    """One ``Label: value`` field, or a title line with the value below it."""
    rng = ctx.rng
    label = F.field_label(rng, ctx.split, category)
    if rng.random() < 0.8 or category in (F.DATE, F.TIME, F.PERSON):
        ctx.builder.add_fragment(F.inline_label(rng, label))
    else:
        ctx.builder.add_fragment(F.block_label(rng, label))
    write_value(ctx, category)


def form(low: int, high: int, weights: dict[str, float] = FORM_CATEGORIES) -> Writer:
    """A semi-structured block of ``low``-``high`` labelled fields, one per line."""

    def write(ctx: NoteContext) -> None:
        rng = ctx.rng
        for index in range(rng.randint(low, high)):
            if index:
                ctx.builder.add("\n" if rng.random() < 0.85 else "\n\n")
            field_line(ctx, _category(rng, weights))

    return write


def section(category: str | None = None, weights: dict[str, float] = FORM_CATEGORIES) -> Writer:
    """A section: a title (on its own line or inline) and its content."""

    def write(ctx: NoteContext) -> None:
        rng = ctx.rng
        chosen = category or _category(rng, weights)
        label = F.field_label(rng, ctx.split, chosen)
        if rng.random() < 0.6:
            ctx.builder.add_fragment(F.block_label(rng, label))
        else:
            ctx.builder.add_fragment(F.inline_label(rng, label))
        write_value(ctx, chosen)
        if rng.random() < 0.2:
            ctx.builder.add(" ")
            lexicon_sentence(ctx)

    return write


def heading(category: str) -> Callable[[Writer], Writer]:
    """Prefix a writer with a section title of ``category`` from the label vocabulary."""

    def wrap(writer: Writer) -> Writer:
        def write(ctx: NoteContext) -> None:
            label = F.field_label(ctx.rng, ctx.split, category)
            if ctx.rng.random() < 0.6:
                ctx.builder.add_fragment(F.block_label(ctx.rng, label))
            else:
                ctx.builder.add_fragment(F.inline_label(ctx.rng, label))
            writer(ctx)

        return write

    return wrap


def kv_line(ctx: NoteContext) -> None:
    """A ``key: value | key: value`` line of vital signs, lab values or scores."""
    rng, builder = ctx.rng, ctx.builder
    separator = rng.choice((" | ", " | ", "; ", " - ", "\t", " / ", ", "))
    colon = rng.choice((": ", ": ", " ", ":", " = "))
    if rng.random() < 0.35:
        builder.add_fragment(join(ctx.date(ctx.stay_date()), " ", Q.clock_time(rng, ctx.locale)))
        builder.add(rng.choice((": ", " - ", "\n", " | ")))
    kind = rng.random()
    count = rng.randint(2, 6)
    for index in range(count):
        if index:
            builder.add(separator)
        if kind < 0.5:
            vital, value = Q.vital_sign(rng)
            label = rng.choice(F.VITAL_LABELS[vital])
        elif kind < 0.85:
            label, value, _ = Q.lab_value(rng, ctx.locale)
        else:
            fragment = Q.score(rng)
            builder.add_fragment(fragment)
            continue
        builder.add_fragment(join(((label, "@" + FIELD_LABELS),), colon, value))


# -- tables ----------------------------------------------------------------------------------


def _fragment_text(fragment: Fragment | str) -> str:
    return fragment if isinstance(fragment, str) else "".join(text for text, _ in fragment)


def table(ctx: NoteContext, header: Sequence[str], rows: Sequence[Sequence[Fragment]]) -> None:
    """Write a table: tab-separated, pipe-separated (with or without borders) or aligned."""
    rng, builder = ctx.rng, ctx.builder
    style = rng.choice(("tab", "tab", "pipe", "border", "aligned"))
    widths = [
        max(len(header[i]), *(len(_fragment_text(row[i])) for row in rows))
        for i in range(len(header))
    ]

    def cells(items: Sequence[Fragment]) -> None:
        if style == "border":
            builder.add("| ")
        for index, item in enumerate(items):
            if index:
                builder.add({"tab": "\t", "pipe": " | ", "border": " | ", "aligned": "  "}[style])
            builder.add_fragment(item)
            if style == "aligned" and index < len(items) - 1:
                builder.add(" " * (widths[index] - len(_fragment_text(item))))
        if style == "border":
            builder.add(" |")

    if rng.random() < 0.3:
        header = [name.upper() for name in header]
    cells([((name, "@" + FIELD_LABELS),) for name in header])
    if style in ("border", "pipe") and rng.random() < 0.7:
        builder.add("\n" + ("|" if style == "border" else ""))
        builder.add(("|" if style == "border" else " | ").join("-" * max(3, w) for w in widths))
        builder.add("|" if style == "border" else "")
    elif style == "aligned" and rng.random() < 0.5:
        builder.add("\n" + "-" * (sum(widths) + 2 * (len(widths) - 1)))
    for row in rows:
        builder.add("\n")
        cells(row)


def _pick_header(rng: random.Random, column: str) -> str:
    return rng.choice(F.TABLE_HEADERS[column])


def lab_table(ctx: NoteContext) -> None:
    """A lab panel as a table: analyte, result, unit, reference range, flag."""
    rng = ctx.rng
    columns = ["analyte", "result", "unit"]
    if rng.random() < 0.6:
        columns.append("reference")
    if rng.random() < 0.3:
        columns.append("flag")
    rows = []
    for _ in range(rng.randint(3, 12)):
        name, number, unit, reference = Q.lab_parts(rng, ctx.locale)
        row: list[Fragment] = [plain(name), qty(number), qty(unit) if unit else plain("")]
        if "reference" in columns:
            row.append(qty(reference) if reference else plain("-"))
        if "flag" in columns:
            row.append(plain(rng.choice(("", "", "H", "L", "*", "↑"))))
        rows.append(row)
    if rng.random() < 0.5:
        ctx.builder.add_fragment(F.inline_label(rng, F.field_label(rng, ctx.split, F.LAB)))
        ctx.builder.add_fragment(ctx.date(ctx.stay_date()))
        ctx.builder.add("\n")
    table(ctx, [_pick_header(rng, column) for column in columns], rows)


def trend_table(ctx: NoteContext) -> None:
    """Lab values or vital signs over several dates and times (dates are PHI)."""
    rng = ctx.rng
    labs = rng.random() < 0.6
    names: list[str] = []
    kinds: list[str] = []
    analytes = rng.sample(Q.ANALYTES, 5)
    for index in range(rng.randint(2, 5)):
        if labs:
            names.append(rng.choice(analytes[index][0]))
        else:
            kind = rng.choice(list(F.VITAL_LABELS))
            kinds.append(kind)
            names.append(rng.choice(F.VITAL_LABELS[kind]))
    with_time = rng.random() < 0.5
    header = [
        _pick_header(rng, "date"),
        *([_pick_header(rng, "time")] if with_time else []),
        *names,
    ]
    rows = []
    for _ in range(rng.randint(2, 8)):
        row: list[Fragment] = [
            ctx.short_date(ctx.stay_date()) if rng.random() < 0.6 else ctx.date(ctx.stay_date())
        ]
        if with_time:
            row.append(Q.clock_time(rng, ctx.locale))
        for index in range(len(names)):
            if labs:
                row.append(qty(Q.lab_parts(rng, ctx.locale, analytes[index])[1]))
            else:
                row.append(Q.vital_sign(rng, kinds[index])[1])
        rows.append(row)
    table(ctx, header, rows)


def med_table(ctx: NoteContext) -> None:
    """A medication table: drug, dose, route, frequency, start date, note."""
    rng = ctx.rng
    columns = ["drug", "dose", "route", "frequency"]
    extra = rng.sample(["date", "note", "by"], rng.randint(0, 2))
    rows = []
    for _ in range(rng.randint(2, 9)):
        name, doses, routes = rng.choice(Q.DRUGS)
        row: list[Fragment] = [
            plain(name),
            qty(rng.choice(doses)),
            plain(rng.choice(routes)),
            qty(rng.choice(Q.FREQUENCIES)) if rng.random() < 0.8 else plain("zo nodig"),
        ]
        for column in extra:
            if column == "date":
                row.append(
                    ctx.short_date(ctx.past_date())
                    if rng.random() < 0.5
                    else ctx.date(ctx.past_date())
                )
            elif column == "note":
                row.append(
                    plain(
                        rng.choice(
                            ("", "bij pijn", "continueren", "gestopt", "nieuw", "afbouwen", "-")
                        )
                    )
                )
            else:
                row.append(
                    ctx.listed_name(ctx.junior.person, "Name:Caregiver")
                    if rng.random() < 0.5
                    else plain("-")
                )
        rows.append(row)
    table(ctx, [_pick_header(rng, c) for c in [*columns, *extra]], rows)


# -- SOAP -------------------------------------------------------------------------------------


def soap_block(ctx: NoteContext) -> None:
    """A SOAP entry with letters or words as labels ("S:", "O/", "Subjectief:")."""
    rng, builder = ctx.rng, ctx.builder
    full = rng.random() < 0.2
    separator = rng.choice((": ", ": ", "/ ", " - ", ":\n", ": "))
    letter_a = rng.choice(F.SOAP_LETTERS["A"][:2]) if not full else None
    for index, key in enumerate("SOAP"):
        if index:
            builder.add("\n")
        options = F.SOAP_LETTERS[key]
        if full:
            label = options[1]
        elif key == "A":
            label = letter_a or "A"
        else:
            label = options[0]
        builder.add_fragment(((label, "@" + FIELD_LABELS), (separator, None)))
        category = {
            "S": F.COMPLAINT,
            "O": rng.choice((F.VITALS, F.EXAM)),
            "A": F.CONCLUSION,
            "P": F.POLICY,
        }[key]
        write_value(ctx, category)
        if key == "O" and rng.random() < 0.4:
            builder.add(". ")
            ctx.write("{lab}")


# -- codes and pathology ------------------------------------------------------------------------


def code_line(ctx: NoteContext) -> None:
    """Codes in a field or in a sentence (ICD-10, ATC, SNOMED, LOINC, gene variants)."""
    rng, builder = ctx.rng, ctx.builder
    if rng.random() < 0.5:
        label = F.field_label(rng, ctx.split, rng.choice((F.CONCLUSION, F.GENERIC)))
        builder.add_fragment(F.inline_label(rng, label))
        builder.add_fragment(Q.code_mention(rng))
        if rng.random() < 0.4:
            builder.add_fragment(join(", ", Q.code_mention(rng)))
    else:
        ctx.say(P.CODE_SENTENCE)


def pathology_body(ctx: NoteContext) -> None:
    """Macroscopy, microscopy, conclusion with codes (pathology report)."""
    rng, builder = ctx.rng, ctx.builder
    for category, writer in (
        ("Macroscopie", lambda: ctx.say(P.PATH_MACRO)),
        ("Microscopie", lambda: ctx.say(P.PATH_MICRO)),
    ):
        builder.add_fragment(
            F.block_label(rng, category) if rng.random() < 0.5 else F.inline_label(rng, category)
        )
        writer()
        builder.add("\n")
    builder.add_fragment(F.inline_label(rng, F.field_label(rng, ctx.split, F.CONCLUSION)))
    ctx.write("{diag}; ")
    builder.add_fragment(Q.code_mention(rng))
    if rng.random() < 0.6:
        builder.add("\n")
        builder.add_fragment(F.inline_label(rng, F.field_label(rng, ctx.split, F.LAB)))
        builder.add_fragment(
            join(Q.code(Q.variant(rng)), rng.choice((" aangetoond", "", " (VAF 23%)")))
        )


def id_header(ctx: NoteContext) -> None:
    """Header fields with identifiers and dates of a lab, radiology or pathology report."""
    rng = ctx.rng
    fields = [
        "{pnr_label}: {pnr}",
        rng.choice(
            ("Labnummer", "Aanvraagnummer", "Onderzoeksnummer", "Ordernummer", "Accessienummer")
        )
        + ": {sample_nr}",
    ]
    rng.shuffle(fields)
    for index, template in enumerate(fields):
        if index:
            ctx.builder.add("\n")
        ctx.write(template)
    ctx.builder.add("\n")
    field_line(ctx, F.DATE)


__all__ = [
    "code_line",
    "form",
    "heading",
    "id_header",
    "kv_line",
    "lab_table",
    "lexicon_prose",
    "lexicon_sentence",
    "med_table",
    "pathology_body",
    "section",
    "soap_block",
    "trend_table",
    "with_prose",
]

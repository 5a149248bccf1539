"""The document types, composed from sentence-level and structured blocks until a target length.

Each document type is a recipe: a head (always written), core paragraphs (written in order
while the note is shorter than its target), repeatable paragraphs (daily entries, shifts,
consults, lab panels, e-mail replies ...) drawn until the target is reached, and a tail
(closing, signature). Blocks mix prose with semi-structured parts (:mod:`.structured`:
labelled fields, forms, tables, SOAP entries, codes, ordinary-word sentences). The target
length comes from a lognormal distribution (median ~1,000, mean ~2,500 characters) capped at
:data:`MAX_CHARS`, which gives the long tail of real notes.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from deid_pipeline.synth import fields as F
from deid_pipeline.synth import phrases as P
from deid_pipeline.synth import structured as S
from deid_pipeline.synth.context import NoteContext
from deid_pipeline.synth.split import Pool
from deid_pipeline.synth.structured import heading, with_prose

MAX_CHARS = 37_000
#: Lognormal parameters of the target length: median e^mu = 1,000, mean e^(mu + s^2/2) ~ 2,500.
LENGTH_MU = math.log(1_000)
LENGTH_SIGMA = 1.354
MIN_TARGET = 120
#: Room kept for the tail when filling a long note, so the cap is never passed.
TAIL_RESERVE = 1_500

Writer = Callable[[NoteContext], None]


def draw_target_length(rng: random.Random) -> int:
    """A target note length in characters from the long-tailed length distribution."""
    return int(min(MAX_CHARS, max(MIN_TARGET, rng.lognormvariate(LENGTH_MU, LENGTH_SIGMA))))


# -- small writers -------------------------------------------------------------------------


def say(pool: Pool[str]) -> Writer:
    return lambda ctx: ctx.say(pool)


def say_many(pool: Pool[str], low: int, high: int, sep: str = " ") -> Writer:
    def write(ctx: NoteContext) -> None:
        for index in range(ctx.rng.randint(low, high)):
            if index:
                ctx.builder.add(sep)
            ctx.say(pool)

    return write


def patient_fields(low: int = 2, high: int = 5) -> Writer:
    """A semi-structured block of patient fields; the name comes first, the rest shuffled."""

    def write(ctx: NoteContext) -> None:
        rng = ctx.rng
        fields = [P.H_DOB, P.H_NID, P.H_PNR, P.H_ADDR, P.H_PHONE, P.H_GP, P.H_INSURER]
        rng.shuffle(fields)
        chosen = [P.H_NAME, *fields[: rng.randint(low, high)]]
        separator = rng.choice((": ", ": ", ":\t", " : ", ":  "))
        for index, pool in enumerate(chosen):
            if index:
                ctx.builder.add("\n")
            template = pool.pick(rng, ctx.split).replace(": ", separator, 1)
            ctx.write(template)

    return write


def medication_list(low: int, high: int) -> Writer:
    """A medication list under a title; some lines carry a date range ("van 3 t/m 7 juni")."""

    def write(ctx: NoteContext) -> None:
        rng = ctx.rng
        if rng.random() < 0.4:
            ctx.say(P.MEDICATION_HEAD)
        else:
            label = F.field_label(rng, ctx.split, F.MEDICATION)
            ctx.builder.add_fragment(F.styled(label, rng.choice(F.BLOCK_STYLES)))
        bullet = rng.choice(("\n- ", "\n", "\n* ", "\n• ", "\n-\t"))
        for _ in range(rng.randint(low, high)):
            ctx.builder.add(bullet)
            ctx.write("{med}")
            roll = rng.random()
            if roll < 0.08:
                ctx.write(" van {d_range}")
            elif roll < 0.14:
                ctx.write(" (gestart {d_short})")
            elif roll < 0.18:
                ctx.write(" t/m {d_short}")

    return write


def sentences(*pools: Pool[str]) -> Writer:
    """One sentence from each pool, as one paragraph."""

    def write(ctx: NoteContext) -> None:
        for index, pool in enumerate(pools):
            if index:
                ctx.builder.add(" ")
            ctx.say(pool)

    return write


def signature(ctx: NoteContext) -> None:
    ctx.say(P.CLOSING)
    ctx.builder.add("\n\n" if ctx.rng.random() < 0.7 else "\n")
    ctx.say(P.SIGNATURE)
    if ctx.rng.random() < 0.5:
        ctx.builder.add("\n\n")
        ctx.say(P.CC)


# -- recipes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipe:
    """How one document type is composed (see the module docstring)."""

    head: Sequence[Writer]
    core: Sequence[Writer]
    repeat: Sequence[tuple[float, Writer]]
    tail: Sequence[Writer] = ()
    separator: str = "\n\n"


_FORM = S.form(2, 6)
_NURSING_FORM = S.form(2, 6, S.NURSING_CATEGORIES)
_PROSE = S.lexicon_prose(1, 3)

_RECIPES: dict[str, Recipe] = {
    "discharge_letter": Recipe(
        head=[
            say(P.LETTERHEAD),
            say(P.ADDRESSEE),
            patient_fields(1, 3),
            say(P.SALUTATION),
            say(P.INTRO),
        ],
        core=[
            heading(F.COMPLAINT)(with_prose(say(P.ANAMNESIS))),
            say(P.HISTORY),
            S.section(F.ALLERGY),
            with_prose(say(P.EXAM)),
            say(P.LAB),
            say(P.CONCLUSION),
            heading(F.NURSING)(say_many(P.COURSE, 2, 4)),
            medication_list(3, 9),
            say(P.DISCHARGE),
            say_many(P.POLICY, 1, 2),
        ],
        repeat=[
            (4, with_prose(say(P.DAILY))),
            (2, say(P.COURSE)),
            (1, say(P.IMAGING_SENT)),
            (1, say(P.LAB)),
            (1, say(P.SOCIAL)),
            (0.5, medication_list(2, 6)),
            (1.5, S.section()),
            (1, _FORM),
            (0.5, S.lab_table),
            (0.4, S.trend_table),
            (0.6, S.kv_line),
            (0.7, _PROSE),
            (0.3, S.code_line),
        ],
        tail=[signature],
    ),
    "outpatient_letter": Recipe(
        head=[say(P.LETTERHEAD), say(P.ADDRESSEE), patient_fields(1, 3), say(P.SALUTATION)],
        core=[
            say(P.OUTPATIENT_INTRO),
            with_prose(say(P.ANAMNESIS)),
            say(P.HISTORY),
            say(P.SOCIAL),
            say(P.EXAM),
            say(P.CONCLUSION),
            say_many(P.POLICY, 1, 2),
        ],
        repeat=[
            (2, say(P.IMAGING_SENT)),
            (2, say(P.LAB)),
            (1, say(P.COURSE)),
            (1, medication_list(2, 6)),
            (2, S.section()),
            (0.5, S.kv_line),
            (0.7, _PROSE),
            (0.3, S.code_line),
        ],
        tail=[signature],
    ),
    "nursing_handover": Recipe(
        head=[say(P.HANDOVER_HEAD), patient_fields(1, 2)],
        core=[say(P.SBAR), with_prose(say(P.SHIFT))],
        repeat=[
            (6, with_prose(say(P.SHIFT))),
            (1, say(P.SBAR)),
            (2, _NURSING_FORM),
            (1, S.kv_line),
            (0.5, S.trend_table),
            (1, _PROSE),
            (1, S.section(weights=S.NURSING_CATEGORIES)),
        ],
        separator="\n",
    ),
    "soap_note": Recipe(
        head=[say(P.CONSULT_HEAD)],
        core=[lambda ctx: S.soap_block(ctx) if ctx.rng.random() < 0.5 else ctx.say(P.SOAP)],
        repeat=[
            (1, sentences(P.CONSULT_HEAD)),
            (1.5, say(P.SOAP)),
            (1.5, S.soap_block),
            (0.3, S.kv_line),
            (0.3, _PROSE),
        ],
        separator="\n\n",
    ),
    "referral": Recipe(
        head=[say(P.ADDRESSEE), patient_fields(2, 5), say(P.SALUTATION), say(P.REFERRAL_INTRO)],
        core=[
            say(P.ANAMNESIS),
            say(P.HISTORY),
            medication_list(2, 6),
            say(P.SOCIAL),
            say(P.REFERRAL_QUESTION),
        ],
        repeat=[
            (2, say(P.LAB)),
            (1, say(P.IMAGING_SENT)),
            (1, say(P.HISTORY)),
            (1, say(P.ANAMNESIS)),
            (1.5, S.section()),
            (0.5, _FORM),
            (0.5, _PROSE),
        ],
        tail=[say(P.GP_SIGNATURE)],
    ),
    "operation_report": Recipe(
        head=[say(P.OP_HEAD), patient_fields(1, 2)],
        core=[
            say(P.OP_INDICATION),
            S.form(1, 3, {F.TIME: 3, F.DATE: 1, F.PERSON: 1, F.SCORE: 1}),
            say_many(P.OP_STEPS, 3, 6, "\n"),
            say(P.OP_POLICY),
        ],
        repeat=[
            (3, say_many(P.OP_STEPS, 2, 4, "\n")),
            (1, say(P.COURSE)),
            (1, S.section()),
            (0.5, _PROSE),
        ],
        tail=[lambda ctx: ctx.write("{cg_name}, {cg_role}")],
        separator="\n",
    ),
    "radiology_report": Recipe(
        head=[say(P.RAD_HEAD)],
        core=[patient_fields(1, 2), say(P.RAD_BODY), say(P.RAD_CONCLUSION)],
        repeat=[
            (2, say(P.RAD_BODY)),
            (1, sentences(P.IMAGING_SENT, P.RAD_CONCLUSION)),
            (0.7, S.section(F.IMAGING)),
            (0.3, S.id_header),
            (0.4, _PROSE),
        ],
        tail=[say(P.RAD_SIGNATURE)],
    ),
    "lab_report": Recipe(
        head=[say(P.LAB_HEAD)],
        core=[say(P.LAB_PANEL), patient_fields(1, 2), say(P.LAB_COMMENT)],
        repeat=[
            (3, say(P.LAB_PANEL)),
            (1, say(P.LAB_COMMENT)),
            (2, S.lab_table),
            (1, S.trend_table),
            (1, S.kv_line),
            (0.5, S.id_header),
        ],
        separator="\n",
    ),
    "medication_overview": Recipe(
        head=[say(P.MED_HEAD)],
        core=[patient_fields(1, 3), say_many(P.MED_LINE, 3, 8, "\n"), say(P.MED_NOTE)],
        repeat=[
            (3, say_many(P.MED_LINE, 2, 5, "\n")),
            (1, say(P.MED_NOTE)),
            (1.5, S.med_table),
            (1, medication_list(2, 6)),
            (0.5, S.section(F.ALLERGY)),
        ],
        separator="\n",
    ),
    "secure_email": Recipe(
        head=[say(P.MAIL_HEAD)],
        core=[say(P.MAIL_BODY), say(P.MAIL_CLOSE)],
        repeat=[(3, say(P.MAIL_REPLY)), (1, say(P.MAIL_BODY)), (1, _PROSE)],
    ),
    "telephone_note": Recipe(
        head=[say(P.PHONE_NOTE)],
        core=[with_prose(say(P.POLICY), 0.4)],
        repeat=[(3, say(P.PHONE_NOTE)), (1, say(P.POLICY)), (1, _PROSE), (0.5, S.section())],
        separator="\n\n",
    ),
    "mdo": Recipe(
        head=[say(P.MDO_HEAD), say(P.MDO_CASE)],
        core=[say_many(P.MDO_ITEM, 2, 4, "\n"), say(P.CONCLUSION)],
        repeat=[
            (3, say_many(P.MDO_ITEM, 2, 4, "\n")),
            (1, say(P.MDO_CASE)),
            (1, say(P.HISTORY)),
            (1, say(P.LAB)),
            (1, S.section()),
            (0.5, S.code_line),
            (0.5, _PROSE),
        ],
        separator="\n\n",
    ),
    "structured_note": Recipe(
        head=[patient_fields(1, 4), S.form(1, 3, {F.DATE: 2, F.PERSON: 2, F.GENERIC: 1})],
        core=[_FORM, S.section(), S.kv_line, _FORM],
        repeat=[
            (3, S.section()),
            (2, _FORM),
            (1, S.kv_line),
            (0.7, S.lab_table),
            (0.4, S.med_table),
            (0.4, S.trend_table),
            (0.5, S.soap_block),
            (0.5, S.code_line),
            (0.7, _PROSE),
        ],
        separator="\n\n",
    ),
    "flowsheet": Recipe(
        head=[say(P.HANDOVER_HEAD), patient_fields(1, 2)],
        core=[S.trend_table, _NURSING_FORM],
        repeat=[
            (2, S.trend_table),
            (2, S.kv_line),
            (2, _NURSING_FORM),
            (1, S.med_table),
            (1, with_prose(say(P.SHIFT))),
            (0.5, S.lab_table),
        ],
        separator="\n\n",
    ),
    "pathology_report": Recipe(
        head=[say(P.PATH_HEAD), S.id_header],
        core=[patient_fields(1, 2), S.pathology_body],
        repeat=[
            (2, S.pathology_body),
            (1, S.code_line),
            (1, S.section(F.IMAGING)),
            (0.5, _PROSE),
        ],
        tail=[say(P.PATH_SIGNATURE)],
        separator="\n\n",
    ),
}

DOC_TYPES: tuple[str, ...] = tuple(_RECIPES)

# Which types carry notes of which length (short notes are phone notes, lab and SOAP entries;
# the very long ones are discharge letters, nursing records and MDO reports).
_TYPE_WEIGHTS: tuple[tuple[int, dict[str, float]], ...] = (
    (
        500,
        {
            "telephone_note": 4,
            "soap_note": 4,
            "lab_report": 2,
            "medication_overview": 1,
            "secure_email": 2,
            "nursing_handover": 1,
            "radiology_report": 1,
            "structured_note": 2,
            "flowsheet": 1,
            "pathology_report": 0.5,
        },
    ),
    (2_000, {name: 1.0 for name in _RECIPES}),
    (
        8_000,
        {
            "discharge_letter": 3,
            "outpatient_letter": 2,
            "nursing_handover": 2,
            "mdo": 2,
            "soap_note": 1,
            "referral": 1,
            "operation_report": 1,
            "lab_report": 1,
            "medication_overview": 0.5,
            "secure_email": 1,
            "radiology_report": 0.5,
            "telephone_note": 0.5,
            "structured_note": 1.5,
            "flowsheet": 1,
            "pathology_report": 0.5,
        },
    ),
    (
        MAX_CHARS + 1,
        {
            "discharge_letter": 4,
            "nursing_handover": 3,
            "mdo": 2,
            "soap_note": 1,
            "lab_report": 1,
            "outpatient_letter": 1,
            "structured_note": 1,
            "flowsheet": 1,
        },
    ),
)


def choose_doc_type(rng: random.Random, target: int) -> str:
    """A document type that fits a note of ``target`` characters."""
    for limit, weights in _TYPE_WEIGHTS:
        if target < limit:
            names = list(weights)
            return rng.choices(names, weights=[weights[name] for name in names])[0]
    raise AssertionError("unreachable")


def compose(ctx: NoteContext, doc_type: str, target: int) -> None:
    """Write one document of ``doc_type`` into ``ctx.builder``, aiming at ``target`` chars."""
    recipe = _RECIPES[doc_type]
    builder, rng = ctx.builder, ctx.rng
    target = min(target, MAX_CHARS - TAIL_RESERVE)

    def paragraph(writer: Writer) -> None:
        if builder.length:
            builder.add(recipe.separator)
        writer(ctx)

    for writer in recipe.head:
        paragraph(writer)
    for writer in recipe.core:
        if builder.length >= target:
            break
        paragraph(writer)
    weights = [weight for weight, _ in recipe.repeat]
    writers = [writer for _, writer in recipe.repeat]
    while builder.length < target:
        mark = builder.mark()
        paragraph(rng.choices(writers, weights=weights)[0])
        if builder.length > MAX_CHARS - TAIL_RESERVE:
            builder.rollback(mark)
            break
    # Short notes often stop without a formal close; letters almost always end signed.
    if recipe.tail and (target > 600 or rng.random() < 0.3):
        for writer in recipe.tail:
            paragraph(writer)

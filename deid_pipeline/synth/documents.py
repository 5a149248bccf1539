"""The twelve document types, composed from sentence-level blocks until a target length.

Each document type is a recipe: a head (always written), core paragraphs (written in order
while the note is shorter than its target), repeatable paragraphs (daily entries, shifts,
consults, lab panels, e-mail replies ...) drawn until the target is reached, and a tail
(closing, signature). The target length comes from a lognormal distribution (median ~1,000,
mean ~2,500 characters) capped at :data:`MAX_CHARS`, which gives the long tail of real notes.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from deid_pipeline.synth import phrases as P
from deid_pipeline.synth.context import NoteContext
from deid_pipeline.synth.split import Pool

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
    def write(ctx: NoteContext) -> None:
        ctx.say(P.MEDICATION_HEAD)
        bullet = ctx.rng.choice(("\n- ", "\n", "\n* ", "\n• "))
        for _ in range(ctx.rng.randint(low, high)):
            ctx.builder.add(bullet)
            ctx.write("{med}")

    return write


def sentences(*pools: Pool[str]) -> Writer:
    """One sentence from each pool, as one paragraph."""

    def write(ctx: NoteContext) -> None:
        for index, pool in enumerate(pools):
            if index:
                ctx.builder.add(" ")
            ctx.say(pool)

    return write


def heading(*titles: str) -> Callable[[Writer], Writer]:
    """Prefix a writer with one of several section headings."""

    def wrap(writer: Writer) -> Writer:
        def write(ctx: NoteContext) -> None:
            title = ctx.rng.choice(titles)
            style = ctx.rng.randrange(3)
            ctx.builder.add(
                f"{title}:\n"
                if style == 0
                else f"{title.upper()}\n"
                if style == 1
                else f"{title}: "
            )
            writer(ctx)

        return write

    return wrap


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
            heading("Anamnese", "Reden van opname")(say(P.ANAMNESIS)),
            say(P.HISTORY),
            say(P.EXAM),
            say(P.LAB),
            say(P.CONCLUSION),
            heading("Beloop", "Verloop opname")(say_many(P.COURSE, 2, 4)),
            medication_list(3, 9),
            say(P.DISCHARGE),
            say_many(P.POLICY, 1, 2),
        ],
        repeat=[
            (4, say(P.DAILY)),
            (2, say(P.COURSE)),
            (1, say(P.IMAGING_SENT)),
            (1, say(P.LAB)),
            (1, say(P.SOCIAL)),
            (0.5, medication_list(2, 6)),
        ],
        tail=[signature],
    ),
    "outpatient_letter": Recipe(
        head=[say(P.LETTERHEAD), say(P.ADDRESSEE), patient_fields(1, 3), say(P.SALUTATION)],
        core=[
            say(P.OUTPATIENT_INTRO),
            say(P.ANAMNESIS),
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
        ],
        tail=[signature],
    ),
    "nursing_handover": Recipe(
        head=[say(P.HANDOVER_HEAD), patient_fields(1, 2)],
        core=[say(P.SBAR), say(P.SHIFT)],
        repeat=[(6, say(P.SHIFT)), (1, say(P.SBAR))],
        separator="\n",
    ),
    "soap_note": Recipe(
        head=[say(P.CONSULT_HEAD)],
        core=[say(P.SOAP)],
        repeat=[(1, sentences(P.CONSULT_HEAD)), (2, say(P.SOAP))],
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
        ],
        tail=[say(P.GP_SIGNATURE)],
    ),
    "operation_report": Recipe(
        head=[say(P.OP_HEAD), patient_fields(1, 2)],
        core=[
            lambda ctx: ctx.write("Indicatie: {diag}.\nIngreep: {proc}."),
            say_many(P.OP_STEPS, 3, 6, "\n"),
            lambda ctx: ctx.write("Postoperatief beleid: {med}. Controle op de poli op {d_fut}."),
        ],
        repeat=[(3, say_many(P.OP_STEPS, 2, 4, "\n")), (1, say(P.COURSE))],
        tail=[lambda ctx: ctx.write("{cg_name}, {cg_role}")],
        separator="\n",
    ),
    "radiology_report": Recipe(
        head=[say(P.RAD_HEAD)],
        core=[patient_fields(1, 2), say(P.RAD_BODY), say(P.RAD_CONCLUSION)],
        repeat=[(2, say(P.RAD_BODY)), (1, sentences(P.IMAGING_SENT, P.RAD_CONCLUSION))],
        tail=[lambda ctx: ctx.write("Radioloog: {cg2}")],
    ),
    "lab_report": Recipe(
        head=[say(P.LAB_HEAD)],
        core=[say(P.LAB_PANEL), patient_fields(1, 2), say(P.LAB_COMMENT)],
        repeat=[(4, say(P.LAB_PANEL)), (1, say(P.LAB_COMMENT))],
        separator="\n",
    ),
    "medication_overview": Recipe(
        head=[say(P.MED_HEAD)],
        core=[patient_fields(1, 3), say_many(P.MED_LINE, 3, 8, "\n"), say(P.MED_NOTE)],
        repeat=[(3, say_many(P.MED_LINE, 2, 5, "\n")), (1, say(P.MED_NOTE))],
        separator="\n",
    ),
    "secure_email": Recipe(
        head=[say(P.MAIL_HEAD)],
        core=[say(P.MAIL_BODY), lambda ctx: ctx.write("Groet,\n{cg_name}\n{hosp}")],
        repeat=[(3, say(P.MAIL_REPLY)), (1, say(P.MAIL_BODY))],
    ),
    "telephone_note": Recipe(
        head=[say(P.PHONE_NOTE)],
        core=[say(P.POLICY)],
        repeat=[(3, say(P.PHONE_NOTE)), (1, say(P.POLICY))],
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
        ],
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

"""merge_spans rules as a table, merge properties, and postprocess on a real note."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deid_pipeline.labels import DEFAULT_ENTITY_LABELS
from deid_pipeline.notes import Note
from deid_pipeline.postprocess import merge_spans, postprocess
from deid_pipeline.spans import Span, SpanInvariantError, check_spans

NP, NC, DATE, CD = "Name:Patient", "Name:Caregiver", "Date", "Contactdetails"
AO = "Address_Location:Other"

MERGE_CASES = [
    # disjoint spans stay as they are, sorted
    (
        [[Span(10, 12, NP)], [Span(0, 3, DATE, 0.8, "pattern")]],
        [Span(0, 3, DATE, 0.8, "pattern"), Span(10, 12, NP)],
    ),
    # same label overlapping -> union, best score of the winning source
    (
        [[Span(0, 5, NP, 0.6), Span(3, 9, NP, 0.9)]],
        [Span(0, 9, NP, 0.9)],
    ),
    # same label touching -> union
    ([[Span(0, 3, NP, 0.7)], [Span(3, 8, NP, 0.8)]], [Span(0, 8, NP, 0.8)]),
    # different labels touching -> kept apart
    ([[Span(0, 3, NP)], [Span(3, 8, DATE)]], [Span(0, 3, NP), Span(3, 8, DATE)]),
    # different labels overlapping: union extent, metadata wins over a longer model span
    (
        [[Span(0, 10, NC, 0.99, "model")], [Span(2, 6, NP, 1.0, "metadata")]],
        [Span(0, 10, NP, 1.0, "metadata")],
    ),
    # pattern wins over model
    (
        [[Span(0, 8, NP, 0.9, "model")], [Span(4, 12, DATE, 0.7, "pattern")]],
        [Span(0, 12, DATE, 0.7, "pattern")],
    ),
    # same source: longer wins
    (
        [[Span(0, 8, NP, 0.5), Span(6, 9, DATE, 0.99)]],
        [Span(0, 9, NP, 0.5)],
    ),
    # same source and length: higher score wins
    ([[Span(0, 4, NP, 0.6), Span(2, 6, NC, 0.7)]], [Span(0, 6, NC, 0.7)]),
    # full tie: earlier label in the taxonomy wins
    ([[Span(2, 6, NC, 0.7), Span(0, 4, NP, 0.7)]], [Span(0, 6, NP, 0.7)]),
    # a chain of overlaps becomes one span
    (
        [[Span(0, 4, NP), Span(3, 7, NC), Span(6, 10, NP)]],
        [Span(0, 10, NP)],
    ),
    # a role-blind pattern wins the extent, the model's role of the same family is kept
    (
        [[Span(0, 7, "Address_Location:Patient", 0.8)], [Span(0, 7, AO, 0.9, "pattern")]],
        [Span(0, 7, "Address_Location:Patient", 0.9, "pattern")],
    ),
    # a date pattern cannot tell a birth date: the model's Age_Birthdate is kept
    (
        [[Span(6, 10, "Age_Birthdate", 0.7)], [Span(0, 10, DATE, 0.9, "pattern")]],
        [Span(0, 10, "Age_Birthdate", 0.9, "pattern")],
    ),
    ([], []),
]


@pytest.mark.parametrize(("inputs", "expected"), MERGE_CASES)
def test_merge_rules(inputs: list[list[Span]], expected: list[Span]) -> None:
    assert merge_spans(20, *inputs) == expected


@pytest.mark.parametrize("bad", [Span(-1, 2, NP), Span(3, 3, NP), Span(5, 21, NP)])
def test_merge_rejects_bad_offsets(bad: Span) -> None:
    with pytest.raises(SpanInvariantError) as error:
        merge_spans(20, [bad])
    assert "text" in str(error.value)


_LABELS = st.sampled_from(DEFAULT_ENTITY_LABELS[:5])
_SOURCES = st.sampled_from(["model", "metadata", "pattern"])


@st.composite
def _spans(draw: st.DrawFn, length: int = 60) -> list[Span]:
    result = []
    for _ in range(draw(st.integers(0, 12))):
        start = draw(st.integers(0, length - 1))
        end = draw(st.integers(start + 1, min(length, start + 15)))
        score = draw(st.sampled_from([0.3, 0.5, 0.9, 1.0]))
        result.append(Span(start, end, draw(_LABELS), score, draw(_SOURCES)))
    return result


def _coverage(spans: list[Span]) -> set[int]:
    return {i for s in spans for i in range(s.start, s.end)}


@settings(max_examples=300, deadline=None)
@given(first=_spans(), second=_spans(), data=st.data())
def test_merge_properties(first: list[Span], second: list[Span], data: st.DataObject) -> None:
    merged = merge_spans(60, first, second)
    check_spans(merged, 60)
    # Never shrinks (nor grows) coverage.
    assert _coverage(merged) == _coverage(first + second)
    # Same result whatever the order and grouping of the inputs.
    shuffled = data.draw(st.permutations(first + second))
    assert merge_spans(60, shuffled) == merged
    # Each output span takes its label and its source from input spans inside it (the label may
    # come from a model span when a role-blind pattern won).
    for out in merged:
        inside = [s for s in first + second if out.start <= s.start < s.end <= out.end]
        assert any(s.label == out.label for s in inside)
        assert any(s.source == out.source for s in inside)
    # Same-label neighbours that touch are always merged.
    for left, right in itertools.pairwise(merged):
        assert not (left.end == right.start and left.label == right.label)


def test_postprocess_combines_model_metadata_and_patterns() -> None:
    text = "Dhr. J. de Vries, tel 06-12345678, gezien op 03-03-2024 door dr. Smit."
    note = Note.model_validate(
        {
            "note_id": "n1",
            "text": text,
            "patient_id": "p1",
            "metadata": {
                "patient": {"given_names": "Jan", "surname": "de Vries"},
                "caregivers": [{"surname": "Smit"}],
            },
        }
    )
    # The model found only part of the patient name, with the wrong role.
    start = text.index("Vries")
    model = [Span(start, start + 5, NC, 0.6, "model")]
    spans = postprocess(note, model)
    assert [(text[s.start : s.end], s.label, s.source) for s in spans] == [
        ("J. de Vries", NP, "metadata"),
        ("06-12345678", CD, "pattern"),
        ("03-03-2024", DATE, "pattern"),
        ("Smit", NC, "metadata"),
    ]


def test_postprocess_rejects_model_span_out_of_range() -> None:
    note = Note.model_validate({"note_id": "n1", "text": "kort"})
    with pytest.raises(SpanInvariantError):
        postprocess(note, [Span(0, 10, NP)])


# ---------------------------------------------------------------- label shapes of model spans

OH, PROF = "Organization:Healthcare", "Profession"

SHAPE_CASES = [
    # (text, model spans as (substring, label), substrings kept)
    ("bekend met glaucoom sinds kort", [("glaucoom", NP)], []),
    ("gezien door Jansen vandaag", [("Jansen", NC)], ["Jansen"]),
    # a name cut in two stands or falls as a whole
    ("brief van der Berg gelezen", [("van der", NC), ("Berg", NC)], ["van der", "Berg"]),
    ("brief van der berg gelezen", [("van der", NC), ("berg", NC)], []),
    # ... whatever labels the model gave the parts
    ("naar Mosa ziekenhuis verwezen", [("Mosa", CD), ("ziekenhuis", OH)], ["Mosa", "ziekenhuis"]),
    # a bare day number is no date; with its month it is
    ("dosis 12 mg", [("12", DATE)], []),
    ("op 12 maart gezien", [("12", DATE), ("maart", DATE)], ["12", "maart"]),
    ("op 2024 gezien", [("2024", DATE)], ["2024"]),
    ("in maart gezien", [("maart", DATE)], ["maart"]),
    # professions are common nouns; an e-mail address needs no capital or digit
    ("werkt als metselaar", [("metselaar", PROF)], ["metselaar"]),
    ("mail naar a.b@zorg.nl", [("a.b@zorg.nl", CD)], ["a.b@zorg.nl"]),
    ("opgenomen in het ziekenhuis", [("ziekenhuis", OH)], []),
    # labels of another taxonomy are never filtered
    ("bekend met glaucoom", [("glaucoom", "CUSTOM")], ["glaucoom"]),
]


@pytest.mark.parametrize(("text", "found", "kept"), SHAPE_CASES)
def test_model_spans_without_the_shape_of_their_label_are_dropped(
    text: str, found: list[tuple[str, str]], kept: list[str]
) -> None:
    from deid_pipeline.postprocess import drop_shapeless_model_spans

    spans = [Span(text.index(part), text.index(part) + len(part), label) for part, label in found]
    result = drop_shapeless_model_spans(text, spans)
    assert [text[s.start : s.end] for s in result] == kept


ANCHOR_CASES = [
    # (text, model spans, anchor (metadata) spans, substrings kept)
    ("gezien met piet de vries", [("piet", NP)], ["de vries"], ["piet"]),
    ("gezien met piet  de vries", [("piet", NP)], ["piet  de"], ["piet"]),
    ("de vries en piet", [("piet", NP)], ["de vries"], []),
    ("de vries piet", [("piet", NP)], ["de vries"], ["piet"]),
    ("piet, de vries", [("piet", NP)], ["de vries"], []),
    ("bekend met glaucoom", [("glaucoom", NP)], [], []),
]


@pytest.mark.parametrize(("text", "found", "anchors", "kept"), ANCHOR_CASES)
def test_shape_filter_keeps_runs_next_to_metadata(
    text: str, found: list[tuple[str, str]], anchors: list[str], kept: list[str]
) -> None:
    from deid_pipeline.postprocess import drop_shapeless_model_spans

    spans = [Span(text.index(part), text.index(part) + len(part), label) for part, label in found]
    anchor_spans = [
        Span(text.index(part), text.index(part) + len(part), NP, 1.0, "metadata")
        for part in anchors
    ]
    result = drop_shapeless_model_spans(text, spans, anchors=anchor_spans)
    assert [text[s.start : s.end] for s in result] == kept


def test_shape_filter_is_a_postprocess_option_and_never_touches_recognizer_spans() -> None:
    text = "glaucoom, gezien op 03-03-2024"
    note = Note.model_validate({"note_id": "n1", "text": text})
    model = [Span(0, len("glaucoom"), NP, 0.9, "model")]
    assert [s.source for s in postprocess(note, model)] == ["pattern"]
    kept = postprocess(note, model, require_label_shape=False)
    assert [(s.start, s.source) for s in kept] == [(0, "model"), (text.index("03"), "pattern")]


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_shape_filter_keeps_a_subset_independent_of_order(data: st.DataObject) -> None:
    from deid_pipeline.postprocess import drop_shapeless_model_spans

    text = data.draw(st.text(alphabet="ab AB12.@", min_size=1, max_size=40))
    bounds = st.tuples(st.integers(0, len(text) - 1), st.integers(1, len(text)))
    raw = data.draw(st.lists(bounds, max_size=6))
    spans = [
        Span(
            start,
            end,
            data.draw(st.sampled_from(DEFAULT_ENTITY_LABELS)),
            data.draw(st.sampled_from([0.5, 0.9])),
        )
        for start, end in raw
        if start < end
    ]
    kept = drop_shapeless_model_spans(text, spans)
    assert set(kept) <= set(spans)
    shuffled = data.draw(st.permutations(spans))
    assert sorted(drop_shapeless_model_spans(text, shuffled)) == sorted(kept)

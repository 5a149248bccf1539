"""Input contract: every bad record gets a typed reason and a message without note text."""

from __future__ import annotations

import datetime as dt

import pytest

from deid_pipeline.notes import (
    Limits,
    Note,
    Rejection,
    RejectReason,
    validate_record,
    validate_records,
)

SECRET_TEXT = "Patiënt Jan Jansen"  # synthetic; must never appear in a rejection message


def test_valid_record_with_metadata_json_string() -> None:
    record = {
        "note_id": 17,
        "text": SECRET_TEXT,
        "note_date": "2026-01-02",
        "metadata": '{"patient": {"surname": "Jansen", "birth_date": "1950-03-01"}}',
        "unknown_column": "ignored",
    }
    note = validate_record(record)
    assert isinstance(note, Note)
    assert note.note_id == "17"
    assert note.note_date == dt.date(2026, 1, 2)
    assert note.metadata.patient is not None
    assert note.metadata.patient.birth_date == dt.date(1950, 3, 1)


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"note_id": "a", "text": "   \n"}, RejectReason.EMPTY_TEXT),
        ({"note_id": "a", "text": ""}, RejectReason.EMPTY_TEXT),
        ({"note_id": "a", "text": SECRET_TEXT + "\x00"}, RejectReason.INVALID_TEXT),
        ({"note_id": "a", "text": SECRET_TEXT + "\ud800"}, RejectReason.INVALID_TEXT),
        ({"note_id": "a", "text": SECRET_TEXT * 10}, RejectReason.TOO_LONG),
        ({"note_id": "a", "text": SECRET_TEXT, "metadata": "{not json"}, RejectReason.BAD_METADATA),
        (
            {"note_id": "a", "text": SECRET_TEXT, "metadata": {"patient": {"birth_date": "x"}}},
            RejectReason.BAD_METADATA,
        ),
        ({"note_id": "a", "text": SECRET_TEXT, "note_date": "yesterday"}, RejectReason.MALFORMED),
        ({"text": SECRET_TEXT}, RejectReason.MALFORMED),
        ({"note_id": "a", "text": 12}, RejectReason.MALFORMED),
        ([SECRET_TEXT], RejectReason.MALFORMED),
    ],
)
def test_bad_records_get_a_reason_and_no_text(record: object, reason: RejectReason) -> None:
    result = validate_record(record, Limits(max_chars_per_record=100))
    assert isinstance(result, Rejection)
    assert result.reason is reason
    assert "Jan" not in result.message and "Jansen" not in result.message


def test_duplicate_ids_keep_the_first_and_reject_the_rest() -> None:
    notes, rejections = validate_records(
        [
            {"note_id": "1", "text": "a"},
            {"note_id": "1", "text": "b"},
            {"note_id": "2", "text": "c"},
        ]
    )
    assert [note.text for note in notes] == ["a", "c"]
    assert [(r.note_id, r.reason) for r in rejections] == [("1", RejectReason.DUPLICATE_ID)]

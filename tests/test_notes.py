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


@pytest.mark.parametrize("written", ["1965-10-29", "29-10-1965", "29/10/1965", "29.10.1965"])
def test_iso_and_day_first_dates_are_read(written: str) -> None:
    record = {
        "note_id": "a",
        "text": SECRET_TEXT,
        "note_date": written,
        "metadata": {"patient": {"birth_date": written}, "document_date": written},
    }
    note = validate_record(record)
    assert isinstance(note, Note)
    born = dt.date(1965, 10, 29)
    assert note.note_date == born
    assert note.metadata.patient is not None and note.metadata.patient.birth_date == born
    assert note.metadata.document_date == born


@pytest.mark.parametrize(
    ("field", "written", "reason"),
    [
        ("note_date", "10/29/1965", RejectReason.MALFORMED),  # month first: not a Dutch date
        ("note_date", "29-10-65", RejectReason.MALFORMED),  # two-digit year: ambiguous century
        ("birth_date", "1965/10/29", RejectReason.BAD_METADATA),
        ("birth_date", "31-02-1965", RejectReason.BAD_METADATA),  # no such day
        ("document_date", "gisteren", RejectReason.BAD_METADATA),
    ],
)
def test_other_date_forms_are_rejected_naming_the_expected_forms(
    field: str, written: str, reason: RejectReason
) -> None:
    metadata: dict[str, object] = {}
    record: dict[str, object] = {"note_id": "a", "text": SECRET_TEXT, "metadata": metadata}
    if field == "note_date":
        record["note_date"] = written
    elif field == "birth_date":
        metadata["patient"] = {"birth_date": written}
    else:
        metadata["document_date"] = written
    result = validate_record(record)
    assert isinstance(result, Rejection) and result.reason is reason
    assert "YYYY-MM-DD, DD-MM-YYYY, DD/MM/YYYY or DD.MM.YYYY" in result.message
    assert written not in result.message

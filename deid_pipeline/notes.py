"""Input contract: the :class:`Note` record, configurable limits and typed rejections.

Validation never puts note text into an error message: rejections carry a reason code, the
note id (when it could be read) and a message built from figures only.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)
from pydantic_core import PydanticCustomError


class RejectReason(StrEnum):
    """Why a record was not processed. Stored in quarantine tables and rejected-line files."""

    EMPTY_TEXT = "empty_text"
    TOO_LONG = "too_long"
    INVALID_TEXT = "invalid_text"
    BAD_METADATA = "bad_metadata"
    DUPLICATE_ID = "duplicate_id"
    MALFORMED = "malformed"
    # Raised after the model stage by the pipeline's leak check, never by input validation.
    LEAK_CHECK_FAILED = "leak_check_failed"


#: The date forms records may use, as said in every date rejection.
DATE_FORMS = "YYYY-MM-DD, DD-MM-YYYY, DD/MM/YYYY or DD.MM.YYYY"
_DATE_ERROR = "date_form"
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
# Day first, as Dutch and Belgian systems write dates; one separator used twice.
_DAY_FIRST_DATE = re.compile(r"(\d{1,2})([-/.])(\d{1,2})\2(\d{4})")


def parse_record_date(value: Any) -> Any:
    """A date of a record: a ``date``, ISO ``YYYY-MM-DD`` or day-first ``DD-MM-YYYY``,
    ``DD/MM/YYYY``, ``DD.MM.YYYY``; None and "" stay None. Anything else is refused with a
    message that names the expected forms (never the value)."""
    if value is None or isinstance(value, dt.date):
        # A datetime is a date too; keep only its day.
        return value.date() if isinstance(value, dt.datetime) else value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        iso = _ISO_DATE.fullmatch(text)
        day_first = _DAY_FIRST_DATE.fullmatch(text)
        try:
            if iso:
                return dt.date(int(iso[1]), int(iso[2]), int(iso[3]))
            if day_first:
                return dt.date(int(day_first[4]), int(day_first[3]), int(day_first[1]))
        except ValueError:
            pass  # e.g. 31-02-2026: the form is right, the day does not exist
    raise PydanticCustomError(_DATE_ERROR, "expected a date as {forms}", {"forms": DATE_FORMS})


RecordDate = Annotated[dt.date | None, BeforeValidator(parse_record_date)]


class PersonName(BaseModel):
    """A person's name parts as known from structured hospital data."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    given_names: str | None = None
    surname: str | None = None
    initials: str | None = None


class PatientMetadata(PersonName):
    birth_date: RecordDate = None


class KnownValue(BaseModel):
    """A PHI value known from structured data (phone number, id, street ...) with its label."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    value: str
    label: str


class NoteMetadata(BaseModel):
    """Structured data that travels with a note and helps recover PHI the model misses."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    patient: PatientMetadata | None = None
    caregivers: list[PersonName] = Field(default_factory=list)
    known_values: list[KnownValue] = Field(default_factory=list)
    document_date: RecordDate = None


class Note(BaseModel):
    """One clinical note. Unknown top-level fields are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    note_id: str = Field(min_length=1)
    text: str
    patient_id: str | None = None
    note_date: RecordDate = None
    metadata: NoteMetadata = Field(default_factory=NoteMetadata)

    @field_validator("note_id", mode="before")
    @classmethod
    def _note_id_as_string(cls, value: Any) -> Any:
        # Integer ids are common in hospital exports; keep them as their decimal string.
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("metadata", mode="before")
    @classmethod
    def _metadata_from_json(cls, value: Any) -> Any:
        # Lakehouse tables carry metadata as a JSON string; null means "nothing known".
        if value is None or value == "":
            return {}
        if isinstance(value, str):
            return json.loads(value)
        return value


class Limits(BaseModel):
    """Request limits, checked before tokenization (characters) and after it (windows)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_chars_per_record: int = Field(
        default=100_000, gt=0, description="characters of one note before it is rejected"
    )
    max_windows_per_record: int = Field(
        default=512, gt=0, description="model windows of one note before it is rejected"
    )
    target_windows_per_shard: int = Field(
        default=160, gt=0, description="model windows a shard is filled up to"
    )
    max_records_per_shard: int = Field(default=64, gt=0, description="notes per shard at most")
    max_chars_per_shard: int = Field(
        default=80_000, gt=0, description="characters per shard at most"
    )


@dataclass(frozen=True, slots=True)
class Rejection:
    """A record that was not processed. ``message`` never contains note text."""

    reason: RejectReason
    message: str
    note_id: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {"note_id": self.note_id, "reason": self.reason.value, "message": self.message}


def _find_invalid_character(text: str) -> str | None:
    """Describe the first NUL or unpaired surrogate in ``text`` by position, or None."""
    for position, char in enumerate(text):
        code = ord(char)
        if code == 0:
            return f"NUL character at offset {position}"
        if 0xD800 <= code <= 0xDFFF:
            return f"unpaired surrogate at offset {position}"
    return None


def _safe_id(record: Mapping[str, Any]) -> str | None:
    value = record.get("note_id")
    if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value):
        return str(value)
    return None


def validate_record(record: Any, limits: Limits | None = None) -> Note | Rejection:
    """Turn one raw record (a mapping, e.g. a parsed JSON line or a table row) into a Note.

    Checks, in order: shape, metadata, empty text, invalid characters, length in characters.
    The window limit is checked after tokenization (see :mod:`deid_pipeline.windows`).
    """
    limits = limits or Limits()
    if not isinstance(record, Mapping):
        return Rejection(RejectReason.MALFORMED, "record is not a JSON object")
    note_id = _safe_id(record)
    text = record.get("text")
    if note_id is None:
        return Rejection(RejectReason.MALFORMED, "missing or empty note_id")
    if not isinstance(text, str):
        return Rejection(RejectReason.MALFORMED, "text is missing or not a string", note_id)
    try:
        note = Note.model_validate(record)
    except (ValidationError, json.JSONDecodeError, TypeError, ValueError) as error:
        return _classify_validation_error(error, note_id)
    if not note.text.strip():
        return Rejection(RejectReason.EMPTY_TEXT, "text is empty or whitespace only", note_id)
    invalid = _find_invalid_character(note.text)
    if invalid is not None:
        return Rejection(RejectReason.INVALID_TEXT, invalid, note_id)
    if len(note.text) > limits.max_chars_per_record:
        return Rejection(
            RejectReason.TOO_LONG,
            f"{len(note.text)} characters exceeds limit of {limits.max_chars_per_record}",
            note_id,
        )
    return note


def _classify_validation_error(error: Exception, note_id: str) -> Rejection:
    """Map a pydantic/JSON error to a reason code with a message that names fields, not values."""
    if isinstance(error, json.JSONDecodeError):
        return Rejection(RejectReason.BAD_METADATA, "metadata is not valid JSON", note_id)
    if isinstance(error, ValidationError):
        issues = error.errors()
        locations = sorted({".".join(str(part) for part in issue["loc"]) for issue in issues})
        reason = (
            RejectReason.BAD_METADATA
            if all(location.startswith("metadata") for location in locations)
            else RejectReason.MALFORMED
        )
        message = f"invalid field(s): {', '.join(locations)}"
        if any(issue["type"] == _DATE_ERROR for issue in issues):
            message += f" (dates are written {DATE_FORMS})"
        return Rejection(reason, message, note_id)
    return Rejection(
        RejectReason.MALFORMED, f"could not read record ({type(error).__name__})", note_id
    )


def validate_records(
    records: Iterable[Any], limits: Limits | None = None
) -> tuple[list[Note], list[Rejection]]:
    """Validate a batch; a note id seen before is rejected as ``duplicate_id`` (first one wins)."""
    notes: list[Note] = []
    rejections: list[Rejection] = []
    seen: set[str] = set()
    for record in records:
        result = validate_record(record, limits)
        if isinstance(result, Rejection):
            rejections.append(result)
            continue
        if result.note_id in seen:
            rejections.append(
                Rejection(
                    RejectReason.DUPLICATE_ID, "note_id occurs more than once", result.note_id
                )
            )
            continue
        seen.add(result.note_id)
        notes.append(result)
    return notes, rejections

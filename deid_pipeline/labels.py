"""Label taxonomy shared by the model, the recognizers, decoding and evaluation."""

from __future__ import annotations

from typing import Final

#: Order of the BIO head's outputs in every two-head model.
BIO_TAGS: Final[tuple[str, str, str]] = ("O", "B", "I")
BIO_OUTSIDE: Final = 0
BIO_BEGIN: Final = 1
BIO_INSIDE: Final = 2

#: Default role-aware entity taxonomy (design.md), in the fixed order of the entity head.
DEFAULT_ENTITY_LABELS: Final[tuple[str, ...]] = (
    "Name:Patient",
    "Name:Caregiver",
    "Name:Other",
    "Address_Location:Patient",
    "Address_Location:Caregiver",
    "Address_Location:Other",
    "Age_Birthdate",
    "Date",
    "Contactdetails",
    "ID:Patient",
    "ID:Caregiver",
    "Organization:Healthcare",
    "Organization:Other",
    "Profession",
)


def label_family(label: str) -> str:
    """Return the part of a label before the role, e.g. ``Name`` for ``Name:Patient``."""
    return label.split(":", 1)[0]

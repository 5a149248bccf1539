"""The known-PHI leak scan as a table of (output text, metadata, expected finding kinds)."""

from __future__ import annotations

import pytest

from deid_pipeline.leakcheck import find_known_phi
from deid_pipeline.notes import NoteMetadata

METADATA = NoteMetadata.model_validate(
    {
        "patient": {"given_names": "Jan Willem", "surname": "Groen", "birth_date": "1950-03-07"},
        "caregivers": [{"given_names": "Els", "surname": "van den Berg"}],
        "known_values": [
            {"value": "06-12345678", "label": "Contactdetails"},
            {"value": "Best", "label": "Address_Location:Patient"},
            {"value": "Mons", "label": "Address_Location:Caregiver"},
        ],
    }
)
TOWN = "known_value:Address_Location:Patient"


@pytest.mark.parametrize(
    ("output_text", "expected"),
    [
        ("[Name:Patient] kwam op controle.", []),
        ("Dhr. Groen kwam op controle.", ["patient_name"]),
        ("GROEN, J.W. kwam op controle.", ["patient_name"]),
        ("Willem vertelt dat het goed gaat.", ["patient_name"]),
        # everyday words and a lowercase month abbreviation are not the patient's name
        ("Sputum groen van kleur sinds 12 jan. 2026.", []),
        ("Overleg met collega Berg.", ["caregiver_name"]),
        ("Bel 06 1234 5678 terug.", ["known_value:Contactdetails"]),
        ("Geboren 7-3-1950.", ["birth_date"]),
        ("Geboren 1950.", []),
        # known values are whole words: a town is not found inside another word
        ("Beste collega, het best is rust.", []),
        ("Verhuisd naar Best.", [TOWN]),
        ("Verhuisd naar BEST.", [TOWN]),
        ("Kweek uit het monster volgt.", []),
        ("Opgenomen in Mons.", ["known_value:Address_Location:Caregiver"]),
        ("Bel 0612345678 terug.", ["known_value:Contactdetails"]),
        ("Bel 06.12.34.56.78 terug.", ["known_value:Contactdetails"]),
        ("Nummer 906123456789 is een ander nummer.", []),
    ],
)
def test_find_known_phi(output_text: str, expected: list[str]) -> None:
    assert find_known_phi(output_text, METADATA) == expected

"""DEDUCE baseline: run the Dutch rule-based de-identifier on notes and write predictions.

DEDUCE 3.x pins an older `regex` than transformers 5 accepts, so it lives in its own virtualenv
(`make baseline` creates build/baseline-venv). This script imports nothing from deid_pipeline: it
reads the same input JSONL as `deid-pipeline deidentify` and writes predictions in the same
format, so `deid-pipeline evaluate` scores both on the same held-out split.

    build/baseline-venv/bin/python bench/deduce_baseline.py IN.jsonl OUT.jsonl [--with-metadata]

DEDUCE's tags carry no patient/caregiver role for most entities; they are mapped to the closest
label of the project's taxonomy, so compare character-level figures (label-agnostic) first.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time

# Maps DEDUCE 3 annotation tags to the 14-label taxonomy (role unknown -> the ":Other" role).
TAG_TO_LABEL = {
    "patient": "Name:Patient",
    "persoon": "Name:Other",
    "locatie": "Address_Location:Other",
    "ziekenhuis": "Organization:Healthcare",
    "zorginstelling": "Organization:Healthcare",
    "instelling": "Organization:Healthcare",
    "datum": "Date",
    "leeftijd": "Age_Birthdate",
    "telefoonnummer": "Contactdetails",
    "emailadres": "Contactdetails",
    "url": "Contactdetails",
    "bsn": "ID:Patient",
    "id": "ID:Patient",
}


def _label(tag: str) -> str:
    tag = tag.lower()
    for prefix, label in TAG_TO_LABEL.items():
        if tag.startswith(prefix):
            return label
    return "Name:Other" if "persoon" in tag or "naam" in tag else "ID:Patient"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--with-metadata", action="store_true", help="pass the patient's name")
    args = parser.parse_args()

    from deduce import Deduce
    from deduce.person import Person

    # Importing deduce sets the root logger to DEBUG on stdout; keep stdout for figures only.
    logging.getLogger().handlers.clear()
    logging.getLogger().setLevel(logging.WARNING)

    started = time.perf_counter()
    deduce = Deduce()
    built = time.perf_counter()
    n_notes = 0
    with open(args.input, encoding="utf-8") as source, open(args.output, "w") as sink:
        for line in source:
            record = json.loads(line)
            metadata = None
            patient = (record.get("metadata") or {}).get("patient") if args.with_metadata else None
            if patient:
                metadata = {
                    "patient": Person(
                        first_names=(patient.get("given_names") or "").split() or None,
                        initials=patient.get("initials"),
                        surname=patient.get("surname"),
                    )
                }
            document = deduce.deidentify(record["text"], metadata=metadata)
            spans = [
                {
                    "start": int(annotation.start_char),
                    "end": int(annotation.end_char),
                    "label": _label(annotation.tag),
                    "score": 1.0,
                    "source": "pattern",
                }
                for annotation in sorted(document.annotations, key=lambda a: a.start_char)
            ]
            sink.write(json.dumps({"note_id": record["note_id"], "deid_text": "", "spans": spans}))
            sink.write("\n")
            n_notes += 1
    elapsed = time.perf_counter() - built
    print(
        f"deduce notes={n_notes} build_s={built - started:.1f} "
        f"docs_per_s={n_notes / elapsed if elapsed else 0:.1f}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

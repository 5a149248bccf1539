"""CPU seconds per note of everything but the model (docs/scale.md).

Runs the file CLI's engine (validation, tokenization, windows, decoding, recognizers,
replacement, leak check) over a JSONL file of notes with a runtime that returns zero logits, and
prints CPU seconds per note (``time.process_time``, this process only). Prints figures only.

    deid-pipeline synth --notes 200 --seed 11 --out /tmp/src   # then export it to JSONL
    OMP_NUM_THREADS=1 python bench/cpu_stages.py notes.jsonl
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from deid_pipeline.bundle import default_bundle_path, load_bundle
from deid_pipeline.engine import Deidentifier
from deid_pipeline.replace import load_secret


class ZeroRuntime:
    """Zero logits of the right shape: the model's cost left out."""

    name = "zero"
    device = "cpu"

    def __init__(self, n_labels: int) -> None:
        self.n_labels = n_labels

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> tuple[np.ndarray, ...]:
        batch, seq = input_ids.shape
        return (
            np.zeros((batch, seq, 3), np.float32),
            np.zeros((batch, seq, self.n_labels), np.float32),
        )


def main(path: str) -> None:
    bundle = load_bundle(default_bundle_path())
    runtime = ZeroRuntime(len(bundle.entity_labels))
    engine = Deidentifier(bundle, runtime, secret=load_secret(demo=True))
    with open(path, encoding="utf-8") as handle:
        records = [(index, json.loads(line)) for index, line in enumerate(handle, 1)]
    list(engine.process_records(records[:20]))  # warm-up: tokenizer, compiled patterns
    started = time.process_time()
    list(engine.process_records(records))
    cpu = time.process_time() - started
    print(
        json.dumps(
            {
                "notes": len(records),
                "cpu_s": round(cpu, 2),
                "cpu_s_per_note": round(cpu / max(len(records), 1), 4),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])

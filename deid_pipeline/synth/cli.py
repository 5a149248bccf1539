"""The ``synth`` sub-command: generate a synthetic corpus into a Delta table (and gold JSONL)."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from deid_pipeline.synth.generator import SyntheticNote, generate_notes
from deid_pipeline.synth.io import write_gold_line, write_source_table


def register(subparsers: Any) -> None:
    """Add ``synth`` to the console script's sub-commands."""
    parser = subparsers.add_parser(
        "synth",
        help="generate synthetic Dutch clinical notes with gold PHI spans",
        description="Streams N synthetic notes (nl-NL and nl-BE) into a Delta table with "
        "columns note_id, patient_id, note_date, text, metadata; optionally writes the gold "
        "spans as JSONL for training and evaluation.",
    )
    parser.add_argument("--notes", type=int, required=True, help="number of notes")
    parser.add_argument("--days", type=int, default=1, help="spread note dates over D days")
    parser.add_argument("--seed", type=int, default=0, help="random seed (deterministic output)")
    parser.add_argument("--out", required=True, help="Delta table URI (local path or object store)")
    parser.add_argument("--gold", help="also write gold spans to this JSONL file")
    parser.add_argument("--split", choices=["train", "heldout"], default="train")
    parser.add_argument(
        "--start-date",
        type=dt.date.fromisoformat,
        default=dt.date(2026, 1, 1),
        help="first note date, YYYY-MM-DD",
    )
    parser.add_argument("--locale-mix", type=float, default=0.5, help="share of nl-BE notes")
    parser.add_argument("--mode", choices=["overwrite", "append"], default="overwrite")
    parser.set_defaults(handler=run_synth)


@contextlib.contextmanager
def _gold_sink(path: str | None) -> Iterator[IO[str] | None]:
    if path is None:
        yield None
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        yield handle


def run_synth(args: argparse.Namespace) -> int:
    """Generate, stream to Delta (and gold JSONL in the same pass); print figures only."""
    if args.notes < 0 or args.days < 1 or not 0.0 <= args.locale_mix <= 1.0:
        print(
            "error: --notes >= 0, --days >= 1 and 0 <= --locale-mix <= 1 required", file=sys.stderr
        )
        return 2
    started = time.perf_counter()
    characters = 0
    with _gold_sink(args.gold) as gold:

        def notes() -> Iterator[SyntheticNote]:
            nonlocal characters
            for item in generate_notes(
                args.notes,
                seed=args.seed,
                split=args.split,
                start_date=args.start_date,
                days=args.days,
                locale_mix=args.locale_mix,
            ):
                characters += len(item.note.text)
                if gold is not None:
                    write_gold_line(gold, item)
                yield item

        rows = write_source_table(args.out, notes(), mode=args.mode)
    elapsed = time.perf_counter() - started
    print(
        f"notes={rows} characters={characters} split={args.split} seed={args.seed} "
        f"days={args.days} seconds={elapsed:.1f} notes_per_s={rows / max(elapsed, 1e-9):.1f}",
        file=sys.stderr,
    )
    return 0

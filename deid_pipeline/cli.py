"""The ``deid-pipeline`` console script (also ``python -m deid_pipeline``).

Sub-commands: ``deidentify`` (JSONL in, JSONL out), ``bundle info|wrap``, ``synth``, ``train`` and
``evaluate``. Nothing printed here contains note text: progress, summaries and errors carry
counts, ids of files and reason codes only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _read_records(stream: IO[str]) -> Iterator[tuple[int, Any]]:
    """Yield ``(line number, parsed object)`` for each non-blank line; a line that is not JSON
    comes as its rejection, so the run goes on."""
    from deid_pipeline.notes import Rejection, RejectReason

    for line_number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            yield line_number, json.loads(line)
        except json.JSONDecodeError:
            yield line_number, Rejection(RejectReason.MALFORMED, "line is not valid JSON")


def _output_line(released: Any) -> dict[str, Any]:
    """The output record of a released note: text, spans (offsets into the input) and the
    patient pseudonym and shifted note date, as the pipeline's output table has them."""
    date = released.note_date_shifted
    return {
        "note_id": released.note_id,
        "deid_text": released.deid_text,
        "spans": [
            {**span.to_dict(), "score": round(float(span.score), 4)} for span in released.spans
        ],
        "patient_pseudonym": released.patient_pseudonym,
        "note_date_shifted": date.isoformat() if date is not None else None,
    }


@contextlib.contextmanager
def _open_output(path: str) -> Iterator[IO[str]]:
    if path == "-":
        yield sys.stdout
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        yield handle


@contextlib.contextmanager
def _open_input(path: str) -> Iterator[IO[str]]:
    if path == "-":
        yield sys.stdin
        return
    with open(path, encoding="utf-8") as handle:
        yield handle


def _rejected_path(output: str, explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    if output == "-":
        return Path("deidentify.rejected.jsonl")
    out = Path(output)
    return out.with_name(out.name.removesuffix(".jsonl") + ".rejected.jsonl")


def _deidentify(args: argparse.Namespace) -> int:
    from pydantic import ValidationError
    from tqdm import tqdm

    from deid_pipeline.bundle import BundleError, default_bundle_path, load_bundle
    from deid_pipeline.engine import Deidentifier, Rejected
    from deid_pipeline.notes import Limits
    from deid_pipeline.replace import MissingSecretError, ReplacementPolicy, load_secret
    from deid_pipeline.runtimes import RuntimeUnavailableError, make_runtime

    try:
        secret = load_secret(demo=args.demo)
        limits = Limits(
            **{
                name: value
                for name in Limits.model_fields
                if (value := getattr(args, name)) is not None
            }
        )
        bundle = load_bundle(args.bundle or default_bundle_path())
        runtime = make_runtime(bundle, args.backend, device=args.device, threads=args.threads)
    except MissingSecretError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ValidationError as error:
        names = sorted({"--" + str(issue["loc"][0]).replace("_", "-") for issue in error.errors()})
        print(f"error: {', '.join(names)} must be positive whole numbers", file=sys.stderr)
        return 2
    except BundleError as error:
        # Bundle messages name files and digests only.
        print(f"error: model bundle refused: {error}", file=sys.stderr)
        return 2
    except RuntimeUnavailableError as error:
        print(f"error: backend {args.backend} unavailable: {error}", file=sys.stderr)
        return 2
    if secret.is_demo:
        print(
            "warning: using the marked DEMO secret key; output is not for release", file=sys.stderr
        )
    engine = Deidentifier(
        bundle,
        runtime,
        secret=secret,
        policy=ReplacementPolicy(mode=args.replace, number_tags=args.number_tags),
        limits=limits,
        token_budget=args.token_budget,
        max_batch=args.max_batch,
        require_label_shape=not args.keep_shapeless_spans,
    )
    rejected_path = _rejected_path(args.output, args.rejected)
    rejected_path.parent.mkdir(parents=True, exist_ok=True)
    with (
        _open_input(args.input) as source,
        _open_output(args.output) as sink,
        open(rejected_path, "w", encoding="utf-8") as rejected_sink,
        tqdm(unit="note", file=sys.stderr, disable=None, desc="deidentify") as progress,
    ):
        for outcome in engine.process_records(_read_records(source)):
            if isinstance(outcome, Rejected):
                line = {"line": outcome.position, **outcome.rejection.to_dict()}
                rejected_sink.write(json.dumps(line, ensure_ascii=False) + "\n")
            else:
                sink.write(json.dumps(_output_line(outcome), ensure_ascii=False) + "\n")
            progress.update(1)
    stats = engine.stats
    print(
        f"notes={stats.notes} rejected={stats.rejected} windows={stats.windows} "
        f"docs_per_s={stats.docs_per_second:.1f} padding_efficiency={stats.padding_efficiency:.3f} "
        f"backend={runtime.name} model_version={bundle.model_version} "
        f"rejected_file={rejected_path}",
        file=sys.stderr,
    )
    return 0


def _add_deidentify(subparsers: Any) -> None:
    from deid_pipeline.notes import Limits

    parser = subparsers.add_parser(
        "deidentify",
        help="de-identify a JSONL file of notes",
        description="Each input line is a Note; each output line is "
        '{"note_id", "deid_text", "spans", "patient_pseudonym", "note_date_shifted"}. '
        "Rejected lines and notes withheld by the leak check go to OUTPUT.rejected.jsonl.",
    )
    parser.add_argument("input", help="input JSONL file, or - for stdin")
    parser.add_argument("-o", "--output", required=True, help="output JSONL file, or - for stdout")
    parser.add_argument("--bundle", help="model bundle folder (default: the bundle/ folder)")
    parser.add_argument(
        "--backend",
        choices=["auto", "torch", "onnx", "tensorrt"],
        default="auto",
        help="auto: ONNX Runtime when the bundle has an ONNX file and no GPU is used, else torch",
    )
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--replace", choices=["tags", "surrogates"], default="tags")
    parser.add_argument("--number-tags", action="store_true", help="[Name:Patient-1] style tags")
    parser.add_argument("--rejected", help="where rejected lines go (default: next to the output)")
    parser.add_argument("--token-budget", type=int, default=4096, help="tokens per microbatch")
    parser.add_argument("--max-batch", type=int, default=16, help="windows per microbatch")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: library default)")
    defaults = Limits()
    for name, field in Limits.model_fields.items():
        parser.add_argument(
            "--" + name.replace("_", "-"),
            type=int,
            default=None,
            help=f"{field.description} (default {getattr(defaults, name):,})",
        )
    parser.add_argument(
        "--keep-shapeless-spans",
        action="store_true",
        help="keep model spans without their label's shape, e.g. lower-case names "
        "(for text written in lower case only; see postprocess.drop_shapeless_model_spans)",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        default=os.environ.get("DEID_DEMO_MODE") == "1",
        help="use the marked demo secret when DEID_SECRET_KEY is not set",
    )
    parser.set_defaults(handler=_deidentify)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command registered."""
    from deid_pipeline import __version__, base_model, bundle, evaluation, release, training
    from deid_pipeline.service import cli as service_cli
    from deid_pipeline.synth import cli as synth_cli

    parser = argparse.ArgumentParser(
        prog="deid-pipeline", description="De-identification of clinical free-text notes."
    )
    parser.add_argument("--version", action="version", version=__version__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    _add_deidentify(subparsers)
    bundle.register(subparsers)
    base_model.register(subparsers)
    synth_cli.register(subparsers)
    training.register(subparsers)
    evaluation.register(subparsers)
    service_cli.register(subparsers)
    release.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit status."""
    args = build_parser().parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())

"""Throughput against peers: our core (file CLI path) vs the Hugging Face pipeline vs DEDUCE.

One run, the same long-tailed synthetic notes (held-out split of the generator), the same
fine-tuned weights, every contender in its own process with the same number of threads:

* ``ours-onnx-fp32``, ``ours-onnx-int8``, ``ours-torch``: ``deid-pipeline deidentify`` (the
  file CLI: read JSONL, validate, tokenize, pack, microbatch, model, decode, recognizers,
  replacement, leak check, write JSONL). The child calls ``deid_pipeline.cli.main`` itself, with
  two read-only hooks: the runtime's ``run`` is timed (model time) and the window cutter counts
  tokens (overlap);
* ``hf-pipeline``: ``transformers.TokenClassificationPipeline`` over the same two-head model,
  wrapped as a ``PreTrainedModel`` whose flat-BIO logits are ``log p(B|I) + log p(label)``
  (O, B-label..., I-label...), the bundle's tokenizer with ``model_max_length`` = our window
  length and ``stride`` = our overlap, ``aggregation_strategy="simple"``. Its batch size is the
  best of ``--hf-batch-sizes`` on a calibration subset, measured in the same child before the
  timed run. It detects only: no recognizers, no replacement, no leak check, no output file;
* ``deduce``: DEDUCE 3.x (``bench/deduce_baseline.py``) in its own virtualenv
  (``--deduce-python``, default ``build/deduce-venv/bin/python``); its ``Deduce()`` start-up
  is reported apart. Skipped (and said so) when that interpreter is missing.

Figures per contender: docs/s and windows/s over the steady-state run (after start-up), real
tokens/s (note tokens, each counted once), padding + overlap waste (computed tokens that are
padding or a repeat of an overlap, as a share of computed tokens), the share of that wall time
spent outside the model, start-up seconds (process start to first note), and the peak RSS of the
process (``ru_maxrss`` from ``wait4``). No note text is printed or written outside a temp folder.

    python bench/peers.py [--notes 1000] [--bundle DIR] [--threads 2] [--json PATH]
        [--only ours-onnx-fp32,hf-pipeline,...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
#: (name, backend, DEID_ONNX_PRECISION)
OURS: tuple[tuple[str, str, str], ...] = (
    ("ours-onnx-fp32", "onnx", "fp32"),
    ("ours-onnx-int8", "onnx", "int8"),
    ("ours-torch", "torch", "fp32"),
)
CONTENDERS = (*(name for name, _, _ in OURS), "hf-pipeline", "deduce")
DEFAULT_DEDUCE_PYTHON = ROOT / "build" / "deduce-venv" / "bin" / "python"
COLUMNS = (
    ("docs_per_s", "docs/s", "{:8.2f}"),
    ("windows_per_s", "win/s", "{:8.2f}"),
    ("tokens_per_s", "tok/s", "{:8.0f}"),
    ("waste", "waste", "{:7.1%}"),
    ("outside_model", "outside", "{:8.1%}"),
    ("startup_s", "start s", "{:8.1f}"),
    ("peak_rss_mib", "RSS MiB", "{:8.0f}"),
)


def write_notes(path: Path, n_notes: int, seed: int) -> dict[str, float]:
    """Write ``n_notes`` held-out synthetic notes as CLI input; return their length figures."""
    from deid_pipeline.synth import generate_notes

    lengths: list[int] = []
    with path.open("w", encoding="utf-8") as handle:
        for synthetic in generate_notes(n_notes, seed=seed, split="heldout"):
            handle.write(synthetic.note.model_dump_json() + "\n")
            lengths.append(len(synthetic.note.text))
    lengths.sort()
    return {
        "notes": len(lengths),
        "chars_mean": round(sum(lengths) / max(1, len(lengths)), 1),
        "chars_p50": lengths[len(lengths) // 2] if lengths else 0,
        "chars_p95": lengths[int(len(lengths) * 0.95)] if lengths else 0,
        "chars_max": lengths[-1] if lengths else 0,
    }


def derived(raw: dict[str, Any]) -> dict[str, Any]:
    """Rates and shares from a child's counts (``None`` where the contender has no model)."""
    seconds = raw["seconds"]
    result = dict(raw)
    result["docs_per_s"] = raw["notes"] / seconds if seconds else 0.0
    windows = raw.get("windows")
    result["windows_per_s"] = windows / seconds if windows is not None and seconds else None
    tokens = raw.get("note_tokens")
    result["tokens_per_s"] = tokens / seconds if tokens is not None and seconds else None
    computed = raw.get("computed_tokens")
    if computed:
        # Useful work: every note token once, plus [CLS] and [SEP] of each window.
        useful = raw["note_tokens"] + 2 * raw["windows"]
        result["waste"] = 1.0 - useful / computed
        result["padding_share"] = 1.0 - raw["real_tokens"] / computed
    else:
        result["waste"] = result["padding_share"] = None
    model = raw.get("model_seconds")
    result["outside_model"] = 1.0 - model / seconds if model is not None and seconds else None
    return result


# ------------------------------------------------------------------------------------------
# children (each runs in its own process)


def child_ours(args: argparse.Namespace) -> dict[str, Any]:
    """Run the file CLI in this process with read-only timing hooks; return its counts."""
    process_started = time.perf_counter()
    from deid_pipeline import cli, core, engine, runtimes

    figures = {"model_seconds": 0.0, "note_tokens": 0, "content_tokens": 0}
    captured: dict[str, Any] = {}
    make_runtime = runtimes.make_runtime
    build_windows = core.build_windows
    init = engine.Deidentifier.__init__

    def timed_make_runtime(*a: Any, **k: Any) -> Any:
        runtime = make_runtime(*a, **k)
        run = runtime.run

        def timed_run(input_ids: Any, attention_mask: Any) -> Any:
            started = time.perf_counter()
            result = run(input_ids, attention_mask)
            figures["model_seconds"] += time.perf_counter() - started
            return result

        runtime.run = timed_run
        return runtime

    def counting_build_windows(tokenized: Sequence[Any], *a: Any, **k: Any) -> Any:
        windows = build_windows(tokenized, *a, **k)
        figures["note_tokens"] += sum(note.n_tokens for note in tokenized)
        figures["content_tokens"] += sum(w.token_end - w.token_start for w in windows)
        return windows

    def capturing_init(self: Any, *a: Any, **k: Any) -> None:
        init(self, *a, **k)
        captured["engine"] = self

    runtimes.make_runtime = timed_make_runtime
    core.build_windows = counting_build_windows
    engine.Deidentifier.__init__ = capturing_init
    argv = ["deidentify", str(args.input), "-o", str(args.output), "--bundle", str(args.bundle)]
    argv += ["--backend", args.backend, "--threads", str(args.threads), "--demo"]
    code = cli.main(argv)
    if code != 0:
        raise SystemExit(code)
    stats = captured["engine"].stats
    seconds = stats.elapsed_seconds
    return {
        "notes": stats.notes + stats.rejected,
        "released": stats.notes,
        "rejected": stats.rejected,
        "windows": stats.windows,
        "real_tokens": stats.real_tokens,
        "computed_tokens": stats.computed_tokens,
        "note_tokens": figures["note_tokens"],
        "seconds": seconds,
        "model_seconds": figures["model_seconds"],
        "startup_s": time.perf_counter() - process_started - seconds,
    }


def flat_bio_model(bundle: Any) -> Any:
    """The bundle's two-head torch model as a ``PreTrainedModel`` with flat-BIO logits."""
    import torch
    from transformers import PreTrainedModel
    from transformers.modeling_outputs import TokenClassifierOutput

    from deid_pipeline.modeling import load_torch_model

    inner = load_torch_model(bundle)
    labels = list(bundle.entity_labels)
    flat = ["O", *(f"B-{label}" for label in labels), *(f"I-{label}" for label in labels)]
    config = inner.config.__class__.from_dict(inner.config.to_dict())
    config.id2label = dict(enumerate(flat))
    config.label2id = {label: index for index, label in enumerate(flat)}

    class TwoHeadAsFlatBio(PreTrainedModel):
        config_class = config.__class__
        base_model_prefix = "inner"

        def __init__(self, config: Any, inner: Any) -> None:
            super().__init__(config)
            self.inner = inner

        def forward(
            self, input_ids: Any = None, attention_mask: Any = None, **_: Any
        ) -> TokenClassifierOutput:
            bio, entity = self.inner(input_ids, attention_mask)
            bio = torch.log_softmax(bio.float(), dim=-1)
            entity = torch.log_softmax(entity.float(), dim=-1)
            logits = torch.cat([bio[..., :1], bio[..., 1:2] + entity, bio[..., 2:3] + entity], -1)
            return TokenClassifierOutput(logits=logits)

    return TwoHeadAsFlatBio(config, inner).eval()


def child_hf(args: argparse.Namespace) -> dict[str, Any]:
    """Run TokenClassificationPipeline over the notes; calibrate the batch size first."""
    process_started = time.perf_counter()
    import torch
    from transformers import TokenClassificationPipeline

    from deid_pipeline.bundle import load_bundle

    torch.set_num_threads(args.threads)
    bundle = load_bundle(args.bundle)
    model = flat_bio_model(bundle)
    tokenizer = bundle.load_tokenizer()
    tokenizer.model_max_length = bundle.window_length
    counts = {"model_seconds": 0.0, "windows": 0, "real_tokens": 0, "computed_tokens": 0}
    forward = model.forward

    def timed_forward(input_ids: Any = None, attention_mask: Any = None, **k: Any) -> Any:
        started = time.perf_counter()
        output = forward(input_ids=input_ids, attention_mask=attention_mask, **k)
        counts["model_seconds"] += time.perf_counter() - started
        counts["windows"] += int(input_ids.shape[0])
        counts["real_tokens"] += int(attention_mask.sum())
        counts["computed_tokens"] += int(input_ids.numel())
        return output

    model.forward = timed_forward
    pipe = TokenClassificationPipeline(
        model=model, tokenizer=tokenizer, device=-1, aggregation_strategy="simple"
    )
    texts = [json.loads(line)["text"] for line in Path(args.input).read_text("utf-8").splitlines()]

    def timed(batch: list[str], batch_size: int) -> float:
        started = time.perf_counter()
        for _ in pipe(batch, batch_size=batch_size, stride=bundle.window_overlap):
            pass
        return time.perf_counter() - started

    calibration: dict[int, float] = {}
    subset = texts[: args.calibration_notes]
    for batch_size in args.hf_batch_sizes:
        calibration[batch_size] = len(subset) / timed(subset, batch_size)
    best = max(calibration, key=lambda size: calibration[size])
    startup = time.perf_counter() - process_started
    for key in counts:
        counts[key] = 0 if key != "model_seconds" else 0.0
    seconds = timed(texts, best)
    note_tokens = sum(
        len(ids) for ids in tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]
    )
    return {
        "notes": len(texts),
        "seconds": seconds,
        "note_tokens": note_tokens,
        **counts,
        "startup_s": startup,
        "batch_size": best,
        "calibration_docs_per_s": {str(k): round(v, 2) for k, v in calibration.items()},
    }


# ------------------------------------------------------------------------------------------
# parent


def run_child(
    command: list[str], env: dict[str, str], result_path: Path, log_path: Path
) -> tuple[int, float, float]:
    """Run ``command``; return its exit status, wall seconds and peak RSS (MiB, ``wait4``)."""
    started = time.perf_counter()
    with log_path.open("w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, time.perf_counter() - started, usage.ru_maxrss / 1024


def run_contender(name: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Run one contender in its own process and return its figures (or why it was skipped)."""
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "TOKENIZERS_PARALLELISM": "false"}
    result_path = work / f"{name}.result.json"
    log_path = work / f"{name}.log"
    if name == "deduce":
        python = Path(args.deduce_python)
        if not python.exists():
            return {"skipped": f"no DEDUCE interpreter at {python} (see --deduce-python)"}
        command = [str(python), str(ROOT / "bench" / "deduce_baseline.py")]
        command += [str(work / "notes.jsonl"), str(work / "deduce.jsonl")]
        code, wall, rss = run_child(command, env, result_path, log_path)
        text = log_path.read_text("utf-8", errors="replace")
        if code != 0 or "deduce notes=" not in text:
            return {"skipped": f"DEDUCE failed (exit {code}); log {log_path.name}"}
        line = next(line for line in text.splitlines() if line.startswith("deduce notes="))
        fields = dict(item.split("=") for item in line.split()[1:])
        notes, rate = int(fields["notes"]), float(fields["docs_per_s"])
        raw = {
            "notes": notes,
            "seconds": notes / rate if rate else 0.0,
            "startup_s": float(fields["build_s"]),
            "deduce_build_s": float(fields["build_s"]),
        }
    else:
        command = [sys.executable, str(Path(__file__).resolve()), "--child", name]
        command += ["--input", str(work / "notes.jsonl"), "--bundle", str(args.bundle)]
        command += ["--threads", str(args.threads), "--result", str(result_path)]
        command += ["--calibration-notes", str(args.calibration_notes)]
        command += ["--hf-batch-sizes", *map(str, args.hf_batch_sizes)]
        for ours_name, backend, precision in OURS:
            if name == ours_name:
                env["DEID_ONNX_PRECISION"] = precision
                command += ["--backend", backend, "--output", str(work / f"{name}.jsonl")]
        code, wall, rss = run_child(command, env, result_path, log_path)
        if code != 0 or not result_path.exists():
            tail = log_path.read_text("utf-8", errors="replace").splitlines()[-3:]
            return {"skipped": f"failed (exit {code}): {' | '.join(tail)[-300:]}"}
        raw = json.loads(result_path.read_text())
    result = derived(raw)
    result["process_wall_s"] = wall
    result["peak_rss_mib"] = rss
    return result


def format_table(results: dict[str, dict[str, Any]]) -> str:
    """The peers table as text; ``-`` where a figure does not apply."""
    header = f"{'contender':16s}" + "".join(f"{title:>9s}" for _, title, _ in COLUMNS)
    lines = [header]
    for name, figures in results.items():
        if "skipped" in figures:
            lines.append(f"{name:16s} skipped: {figures['skipped']}")
            continue
        cells = []
        for key, _, pattern in COLUMNS:
            value = figures.get(key)
            cells.append(f"{'-':>9s}" if value is None else " " + pattern.format(value))
        lines.append(f"{name:16s}" + "".join(cells))
    return "\n".join(lines)


def ratios(results: dict[str, dict[str, Any]]) -> dict[str, float]:
    """docs/s of each of ours over the HF pipeline's (the issue's target is >= 3)."""
    hf = results.get("hf-pipeline", {}).get("docs_per_s")
    return {
        f"{name}/hf-pipeline": figures["docs_per_s"] / hf
        for name, figures in results.items()
        if name.startswith("ours") and hf and "docs_per_s" in figures
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--notes", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--bundle", type=Path, default=ROOT / "bundle")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", default=",".join(CONTENDERS), help="comma-separated names")
    parser.add_argument("--hf-batch-sizes", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--calibration-notes", type=int, default=100)
    parser.add_argument("--deduce-python", default=str(DEFAULT_DEDUCE_PYTHON))
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--child", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--backend", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        figures = child_hf(args) if args.child == "hf-pipeline" else child_ours(args)
        args.result.write_text(json.dumps(figures))
        return 0
    names = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(names) - set(CONTENDERS))
    if unknown:
        raise SystemExit(f"unknown contenders {unknown}; known: {', '.join(CONTENDERS)}")
    from deid_pipeline.bundle import load_bundle

    bundle = load_bundle(args.bundle)  # materializes a source bundle once, before any timing
    args.bundle = bundle.root
    with tempfile.TemporaryDirectory(prefix="deid-peers-") as temp:
        work = Path(temp)
        mix = write_notes(work / "notes.jsonl", args.notes, args.seed)
        results: dict[str, dict[str, Any]] = {}
        for name in names:
            results[name] = run_contender(name, args, work)
            if args.json:  # after each contender, so a stopped run keeps what it measured
                args.json.parent.mkdir(parents=True, exist_ok=True)
                args.json.write_text(json.dumps({"partial": True, "results": results}, indent=2))
    report = {
        "notes": mix,
        "threads": args.threads,
        "bundle": {"path": str(args.bundle), "model_version": bundle.model_version},
        "window": [bundle.window_length, bundle.window_overlap],
        "results": results,
        "ratios_docs_per_s": ratios(results),
    }
    print(format_table(results))
    for key, value in report["ratios_docs_per_s"].items():
        print(f"{key} docs/s: {value:.2f}x")
    print(
        f"({mix['notes']} notes, mean {mix['chars_mean']:.0f} chars, p50 {mix['chars_p50']}, "
        f"p95 {mix['chars_p95']}, max {mix['chars_max']}; {args.threads} threads; bundle "
        f"{bundle.manifest.name} {bundle.model_version}, window {bundle.window_length}/"
        f"{bundle.window_overlap})"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

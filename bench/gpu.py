"""GPU throughput of the inference worker's runtime: windows/s, docs/s and model FLOP utilisation.

For each backend x window length x microbatch size, the worker's own code path runs: a runtime
from ``deid_pipeline.runtimes.make_runtime`` (the same classes and options the worker builds)
fed by ``run_windows`` (token-budget microbatches, padding, per-window logits copied back to
the host). Speed does not depend on weight values, so by default the model is the default
bundle's architecture (XLM-R, 6 layers, hidden 384, 12 heads, FFN 1536, e5-small) with random
weights, written as a throw-away bundle; ``--bundle DIR`` times a real one instead.

Backends (a backend that cannot run here is listed with the reason, never fails the run):

* ``torch-fp16``, ``torch-bf16``: ``TorchRuntime`` with autocast (the worker's precision knob),
  ``...-compile`` with ``torch.compile(dynamic=True)``; ``torch-fp32`` as the reference;
* ``onnx-cuda``: ``OnnxRuntime`` on ONNX Runtime's CUDA execution provider (fp32 graph), when
  this onnxruntime build has it;
* ``tensorrt-fp16``: a TensorRT 10 engine built here from the bundle's ONNX export (fp16, one
  optimisation profile up to the largest batch and length), when ``tensorrt`` imports.

Figures per cell:

* ``windows_per_s`` on full windows (every window ``length`` tokens, ``batch`` per call), the
  steady state after warm-up calls (compile and autotuning happen there);
* ``mfu``: ``windows_per_s * flops_per_window / peak``, where ``flops_per_window`` is counted
  from the encoder's shapes (:func:`encoder_flops`: every matmul of every layer, attention
  scores and values, and the two heads; 2 FLOPs per multiply-add) and ``peak`` is
  ``--peak-tflops`` (dense fp16/bf16 of an H100/H200 SXM, about 990 TFLOP/s);
* ``docs_per_s`` for the note-length mix: held-out synthetic notes from the generator are cut
  into windows of ``length`` (token counts from ``--chars-per-token`` characters per token, the
  default model's training corpus ratio, unless a bundle tokenizer is given with
  ``--tokenize``), and the whole mix runs through ``run_windows`` with ``max_batch = batch`` and
  ``token_budget = batch * length``: short notes give short windows, so this is the worker's
  real cost per note.

On a machine without a GPU the same code runs on the CPU (``--device cpu``); the tests do that
with ``--tiny`` (a 2-layer, hidden-32 model, a few cells) so the script cannot rot, but CPU
figures say nothing about a GPU. Print a table; ``--json PATH`` writes every cell.

    python bench/gpu.py [--device cuda] [--backends torch-fp16 torch-bf16-compile ...]
        [--batches 16 32 64 128 256] [--lengths 128 256 512] [--budget-s 480] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: Dense fp16/bf16 tensor-core peak of an H100 / H200 SXM (without sparsity), TFLOP/s.
H100_PEAK_TFLOPS = 990.0
#: Dense fp16 tensor-core peak of a T4 (the original system's figures: 217 docs/s with
#: torch.compile + fp16, 276 with TensorRT), TFLOP/s; for scaling those figures.
T4_PEAK_TFLOPS = 65.0
#: Characters per token of the default model's training corpus (10,322,518 / 3,482,210).
CHARS_PER_TOKEN = 2.96
BACKENDS = (
    "torch-fp32",
    "torch-fp16",
    "torch-bf16",
    "torch-fp16-compile",
    "torch-bf16-compile",
    "onnx-cuda",
    "tensorrt-fp16",
)
DEFAULT_BACKENDS = tuple(name for name in BACKENDS if name != "torch-fp32")


@dataclass(frozen=True)
class EncoderShape:
    """What the FLOP count needs: the encoder's dimensions and the heads' widths."""

    layers: int
    hidden: int
    heads: int
    intermediate: int
    vocab: int
    n_labels: int = 14

    @classmethod
    def of(cls, config: Any, n_labels: int) -> EncoderShape:
        return cls(
            config.num_hidden_layers,
            config.hidden_size,
            config.num_attention_heads,
            config.intermediate_size,
            config.vocab_size,
            n_labels,
        )


#: The default model's encoder: multilingual-e5-small (XLM-R), 6 layers, pruned vocabulary.
E5_SMALL = EncoderShape(layers=6, hidden=384, heads=12, intermediate=1536, vocab=48_462)
#: A model small enough for a CPU test.
TINY = EncoderShape(layers=2, hidden=32, heads=2, intermediate=64, vocab=512)


def encoder_flops(shape: EncoderShape, length: int) -> int:
    """FLOPs of one forward pass over one window of ``length`` tokens (2 per multiply-add).

    Per layer: the Q, K, V and output projections (``4 * 2*T*d*d``), the feed-forward pair
    (``2 * 2*T*d*f``), attention scores ``QK^T`` and the weighted sum of values
    (``2 * 2*T*T*d``); then both heads (``2*T*d*(3 + labels)``). Embedding look-ups, layer
    norms, softmax, GELU and biases are left out (well under 1% at these sizes), as MFU
    conventions do.
    """
    t, d, f = length, shape.hidden, shape.intermediate
    per_layer = 8 * t * d * d + 4 * t * d * f + 4 * t * t * d
    return shape.layers * per_layer + 2 * t * d * (3 + shape.n_labels)


def note_token_counts(
    n_notes: int, seed: int, chars_per_token: float, tokenizer: Any = None
) -> list[int]:
    """Token counts of held-out synthetic notes (the long-tailed mix the CPU benches use)."""
    from deid_pipeline.synth import generate_notes

    texts = [s.note.text for s in generate_notes(n_notes, seed=seed, split="heldout")]
    if tokenizer is not None:
        encoded = tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]
        return [len(ids) for ids in encoded]
    return [math.ceil(len(text) / chars_per_token) for text in texts]


def mix_window_lengths(token_counts: Sequence[int], length: int, overlap: int) -> list[int]:
    """Lengths (with [CLS] and [SEP]) of every window of the mix, cut as the worker's are."""
    from deid_pipeline.windows import plan_windows

    overlap = min(overlap, length - 3)
    return [
        end - start + 2
        for n_tokens in token_counts
        for start, end in plan_windows(n_tokens, length, overlap)
    ]


def write_random_bundle(out: Path, shape: EncoderShape, max_length: int) -> Any:
    """A throw-away bundle of ``shape`` with random weights (XLM-R config), for timing only."""
    import torch
    from transformers import AutoConfig

    from deid_pipeline.bundle import TwoHeadLayout, load_bundle, write_bundle_manifest
    from deid_pipeline.labels import DEFAULT_ENTITY_LABELS
    from deid_pipeline.modeling import (
        TWO_HEAD_CONFIG_KEY,
        TwoHeadTokenClassifier,
        save_two_head_model,
    )
    from deid_pipeline.testing import write_tiny_tokenizer

    labels = list(DEFAULT_ENTITY_LABELS)[: shape.n_labels]
    config = AutoConfig.for_model(
        "xlm-roberta",
        vocab_size=shape.vocab,
        hidden_size=shape.hidden,
        num_hidden_layers=shape.layers,
        num_attention_heads=shape.heads,
        intermediate_size=shape.intermediate,
        max_position_embeddings=max_length + 2,
        pad_token_id=1,
        type_vocab_size=1,
    )
    config.update({TWO_HEAD_CONFIG_KEY: True, "entity_labels": labels})
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = TwoHeadTokenClassifier(config).eval()
    out.mkdir(parents=True, exist_ok=True)
    tokenizer_files = write_tiny_tokenizer(out)
    config_path, weights_path = save_two_head_model(model, out)
    write_bundle_manifest(
        out,
        name="gpu-bench-random",
        model_version="random",
        label_layout=TwoHeadLayout(entity=labels),
        window_length=max_length,
        window_overlap=min(64, max_length // 4),
        files=[
            *((path.relative_to(out).as_posix(), "tokenizer") for path in tokenizer_files),
            (config_path.name, "config"),
            (weights_path.name, "weights_safetensors"),
        ],
        training={"source": "bench/gpu.py", "random_weights": True},
    )
    return load_bundle(out)


# ------------------------------------------------------------------------------------------
# runtimes


class TensorRTEngine:
    """A TensorRT 10 fp16 engine built from an ONNX file, run like a project runtime."""

    name = "tensorrt"

    def __init__(self, onnx_path: Path, max_batch: int, max_length: int) -> None:
        import tensorrt as trt
        import torch

        self._torch = torch
        logger = trt.Logger(trt.Logger.WARNING)
        builder = trt.Builder(logger)
        network = builder.create_network(0)
        parser = trt.OnnxParser(network, logger)
        if not parser.parse(onnx_path.read_bytes()):
            errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
            raise RuntimeError(f"TensorRT could not parse the ONNX export: {errors[:3]}")
        config = builder.create_builder_config()
        config.set_flag(trt.BuilderFlag.FP16)
        profile = builder.create_optimization_profile()
        for name in ("input_ids", "attention_mask"):
            opt = (max_batch, max_length)
            profile.set_shape(name, (1, 1), opt, opt)
        config.add_optimization_profile(profile)
        plan = builder.build_serialized_network(network, config)
        if plan is None:
            raise RuntimeError("TensorRT engine build failed")
        self.engine = trt.Runtime(logger).deserialize_cuda_engine(plan)
        self.context = self.engine.create_execution_context()
        self.device = "cuda"
        dtypes = {trt.float32: torch.float32, trt.float16: torch.float16, trt.int64: torch.int64}
        dtypes[trt.int32] = torch.int32
        self._dtype = {
            self.engine.get_tensor_name(i): dtypes[
                self.engine.get_tensor_dtype(self.engine.get_tensor_name(i))
            ]
            for i in range(self.engine.num_io_tensors)
        }

    def run(self, input_ids: Any, attention_mask: Any) -> tuple[Any, Any]:
        torch = self._torch
        keep = []
        for name, value in (("input_ids", input_ids), ("attention_mask", attention_mask)):
            tensor = torch.from_numpy(value).to("cuda", dtype=self._dtype[name])
            keep.append(tensor)
            self.context.set_input_shape(name, tuple(tensor.shape))
            self.context.set_tensor_address(name, tensor.data_ptr())
        outputs = {}
        for name in ("bio_logits", "entity_logits"):
            shape = tuple(self.context.get_tensor_shape(name))
            outputs[name] = torch.empty(shape, dtype=self._dtype[name], device="cuda")
            self.context.set_tensor_address(name, outputs[name].data_ptr())
        stream = torch.cuda.current_stream()
        if not self.context.execute_async_v3(stream.cuda_stream):
            raise RuntimeError("TensorRT execution failed")
        stream.synchronize()
        return (
            outputs["bio_logits"].float().cpu().numpy(),
            outputs["entity_logits"].float().cpu().numpy(),
        )


def build_runtime(backend: str, bundle: Any, device: str, max_batch: int, max_length: int) -> Any:
    """The runtime the worker would build for ``backend`` (raises when it cannot run here)."""
    from deid_pipeline.runtimes import RuntimeUnavailableError, make_runtime

    if backend.startswith("torch-"):
        parts = backend.split("-")
        precision, compile_ = parts[1], parts[-1] == "compile"
        if precision == "fp16" and device == "cpu":
            raise RuntimeUnavailableError("fp16 autocast needs CUDA")
        return make_runtime(bundle, "torch", device=device, precision=precision, compile=compile_)
    onnx_path = bundle.path_of("weights_onnx")
    if onnx_path is None:
        from deid_pipeline.bundle import load_bundle
        from deid_pipeline.export import export_onnx

        export_onnx(bundle.root)
        bundle = load_bundle(bundle.root)
        onnx_path = bundle.path_of("weights_onnx")
    if backend == "onnx-cuda":
        if device == "cpu":
            return make_runtime(bundle, "onnx", device="cpu")
        return make_runtime(bundle, "onnx", device=device)
    if backend == "tensorrt-fp16":
        try:
            import tensorrt  # noqa: F401
        except ImportError as error:
            raise RuntimeUnavailableError("tensorrt is not importable here") from error
        if device == "cpu":
            raise RuntimeUnavailableError("TensorRT runs on CUDA only")
        return TensorRTEngine(onnx_path, max_batch, max_length)
    raise ValueError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")


def _synchronize(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def time_full_windows(
    runtime: Any, device: str, batch: int, length: int, vocab: int, warmup: int, seconds: float
) -> tuple[float, int]:
    """Steady-state windows/s on ``batch`` full windows of ``length`` tokens per call."""
    import numpy as np

    from deid_pipeline.runtimes import run_windows

    rng = np.random.default_rng(0)
    windows = [rng.integers(5, vocab, length).astype(np.int32) for _ in range(batch)]
    for _ in range(warmup):
        run_windows(runtime, windows, 1, token_budget=batch * length, max_batch=batch)
    _synchronize(device)
    calls, started = 0, time.perf_counter()
    while True:
        run_windows(runtime, windows, 1, token_budget=batch * length, max_batch=batch)
        calls += 1
        elapsed = time.perf_counter() - started
        if elapsed >= seconds and calls >= 2:
            break
    _synchronize(device)
    return batch * calls / (time.perf_counter() - started), calls


def time_mix(
    runtime: Any, device: str, window_lengths: Sequence[int], n_notes: int, batch: int, vocab: int
) -> tuple[float, float]:
    """docs/s and windows/s of the whole note mix through ``run_windows`` (the worker path)."""
    import numpy as np

    from deid_pipeline.runtimes import run_windows

    rng = np.random.default_rng(1)
    windows = [rng.integers(5, vocab, n).astype(np.int32) for n in window_lengths]
    budget = batch * max(window_lengths)
    _synchronize(device)
    started = time.perf_counter()
    run_windows(runtime, windows, 1, token_budget=budget, max_batch=batch)
    _synchronize(device)
    elapsed = time.perf_counter() - started
    return n_notes / elapsed, len(windows) / elapsed


# ------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default=None, help="cuda (default when visible) or cpu")
    parser.add_argument("--backends", nargs="+", default=list(DEFAULT_BACKENDS))
    parser.add_argument("--batches", type=int, nargs="+", default=[16, 32, 64, 128, 256])
    parser.add_argument("--lengths", type=int, nargs="+", default=[128, 256, 512])
    parser.add_argument("--overlap", type=int, default=64, help="window overlap for the mix")
    parser.add_argument("--bundle", type=Path, help="time this bundle instead of random weights")
    parser.add_argument("--tiny", action="store_true", help="2-layer hidden-32 model (tests)")
    parser.add_argument("--notes", type=int, default=2000, help="notes in the length mix")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--tokenize", action="store_true", help="count tokens with the bundle")
    parser.add_argument("--chars-per-token", type=float, default=CHARS_PER_TOKEN)
    parser.add_argument("--seconds", type=float, default=2.0, help="timed seconds per cell")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--budget-s", type=float, default=480.0, help="stop starting new cells")
    parser.add_argument("--peak-tflops", type=float, default=H100_PEAK_TFLOPS)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch default)")
    parser.add_argument("--json", type=Path)
    return parser.parse_args(argv)


def _default_device() -> str:
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"


def run(args: argparse.Namespace, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Measure every cell; return the report (also what ``--json`` writes)."""
    started = time.perf_counter()
    device = args.device or _default_device()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    max_length = max(args.lengths)
    results: list[dict[str, Any]] = []
    unavailable: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="deid-gpu-bench-") as temp:
        work = Path(temp)
        if args.bundle is not None:
            from deid_pipeline.bundle import load_bundle

            bundle = load_bundle(args.bundle)
            from deid_pipeline.modeling import two_head_config

            config = two_head_config(bundle.root / "config.json")
            shape = EncoderShape.of(config, len(bundle.entity_labels))
            if bundle.path_of("weights_onnx") is None:
                # never export into a committed bundle: copy the folder first
                import shutil

                shutil.copytree(bundle.root, work / "bundle")
                bundle = load_bundle(work / "bundle")
        else:
            shape = TINY if args.tiny else E5_SMALL
            bundle = write_random_bundle(work / "bundle", shape, max_length)
        tokenizer = bundle.load_tokenizer() if args.tokenize else None
        counts = note_token_counts(args.notes, args.seed, args.chars_per_token, tokenizer)
        for backend in args.backends:
            runtime = None
            for length in args.lengths:
                mix = mix_window_lengths(counts, length, args.overlap)
                flops = encoder_flops(shape, length)
                for batch in args.batches:
                    if time.perf_counter() - started > args.budget_s:
                        unavailable.setdefault("budget", f"stopped after {args.budget_s:.0f} s")
                        break
                    if runtime is None:
                        try:
                            runtime = build_runtime(
                                backend, bundle, device, max(args.batches), max_length
                            )
                        except Exception as error:  # a backend that cannot run here
                            unavailable[backend] = f"{type(error).__name__}: {error}"[:300]
                            log(f"{backend:20s} unavailable: {unavailable[backend]}")
                            break
                    try:
                        rate, calls = time_full_windows(
                            runtime, device, batch, length, shape.vocab, args.warmup, args.seconds
                        )
                        docs_per_s, mix_windows_per_s = time_mix(
                            runtime, device, mix, len(counts), batch, shape.vocab
                        )
                    except Exception as error:  # out of memory, an unsupported shape
                        cell_error = f"{type(error).__name__}: {error}"[:200]
                        log(f"{backend:20s} L={length:4d} B={batch:4d} failed: {cell_error}")
                        results.append(
                            {"backend": backend, "length": length, "batch": batch,
                             "error": cell_error}
                        )  # fmt: skip
                        continue
                    mfu = rate * flops / (args.peak_tflops * 1e12)
                    cell = {
                        "backend": backend,
                        "length": length,
                        "batch": batch,
                        "windows_per_s": rate,
                        "calls": calls,
                        "tflops": rate * flops / 1e12,
                        "mfu": mfu,
                        "mix_docs_per_s": docs_per_s,
                        "mix_windows_per_s": mix_windows_per_s,
                        "mix_windows": len(mix),
                    }
                    results.append(cell)
                    log(
                        f"{backend:20s} L={length:4d} B={batch:4d} windows/s={rate:10.1f} "
                        f"TFLOP/s={cell['tflops']:7.2f} MFU={mfu:6.1%} "
                        f"mix docs/s={docs_per_s:9.1f}"
                    )
            del runtime
    device_name = device
    if device.startswith("cuda"):
        import torch

        device_name = torch.cuda.get_device_name()
    ok = [cell for cell in results if "error" not in cell]
    best = max(ok, key=lambda cell: cell["mix_docs_per_s"], default=None)
    scale = args.peak_tflops / T4_PEAK_TFLOPS
    return {
        "device": device_name,
        "model": "bundle" if args.bundle else ("tiny-random" if args.tiny else "e5-small-random"),
        "encoder": asdict(shape),
        "peak_tflops": args.peak_tflops,
        "notes_in_mix": len(counts),
        "mean_tokens_per_note": sum(counts) / max(1, len(counts)),
        "results": results,
        "unavailable": unavailable,
        "best_mix": best,
        "t4_reference_scaled": {
            "torch_compile_fp16_docs_per_s": 217 * scale,
            "tensorrt_docs_per_s": 276 * scale,
            "peak_ratio": scale,
        },
        "seconds": time.perf_counter() - started,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    for backend in args.backends:
        if backend not in BACKENDS:
            raise SystemExit(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
    report = run(args)
    best = report["best_mix"]
    reference = report["t4_reference_scaled"]
    print(
        f"device={report['device']} model={report['model']} peak={report['peak_tflops']:.0f} "
        f"TFLOP/s; mix of {report['notes_in_mix']} notes, "
        f"{report['mean_tokens_per_note']:.0f} tokens/note"
    )
    if best is not None:
        print(
            f"best mix docs/s={best['mix_docs_per_s']:.1f} ({best['backend']}, "
            f"L={best['length']}, B={best['batch']}); original T4 figures scaled by peak "
            f"x{reference['peak_ratio']:.1f}: "
            f"torch.compile fp16 {reference['torch_compile_fp16_docs_per_s']:.0f}, "
            f"TensorRT {reference['tensorrt_docs_per_s']:.0f} docs/s"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

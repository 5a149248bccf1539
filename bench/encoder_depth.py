"""Inference speed of the base encoder by depth: ONNX Runtime windows/s at several layer counts.

Speed does not depend on the weight values, so the two-head model is built on the first N layers
of the pretrained base (heads untrained) for each depth, exported to ONNX once, and timed in its
own process (two runtimes in one process slow each other down) on the same batches of full
windows. Prints windows/s per depth and the ratios to the deepest; no text is involved.

    python bench/encoder_depth.py [--layers 4 6 12] [--batch 16] [--length 256] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _export(layers: int, out: Path, vocabulary: int) -> None:
    import torch

    from deid_pipeline import base_model
    from deid_pipeline.labels import DEFAULT_ENTITY_LABELS
    from deid_pipeline.modeling import build_base_two_head_model

    e5 = base_model.read_e5_file()
    id_map = list(range(vocabulary))
    model = build_base_two_head_model(
        base_model.xlmr_config_dict(e5, layers, vocabulary),
        base_model.encoder_state_dict(e5, layers, id_map),
        DEFAULT_ENTITY_LABELS,
    )
    ids = torch.randint(4, vocabulary, (2, 9))
    mask = torch.ones_like(ids)
    axes = {name: {0: "batch", 1: "sequence"} for name in ("input_ids", "attention_mask", "b", "e")}
    with torch.no_grad():
        torch.onnx.export(
            model,
            (ids, mask),
            str(out),
            input_names=["input_ids", "attention_mask"],
            output_names=["b", "e"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )


def _time(path: Path, batch: int, length: int, threads: int, repeats: int) -> float:
    import numpy as np
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    ids = rng.integers(4, 30_000, (batch, length), dtype=np.int64)
    feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
    session.run(None, feeds)  # warm-up
    started = time.perf_counter()
    for _ in range(repeats):
        session.run(None, feeds)
    return batch * repeats / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--layers", type=int, nargs="+", default=[4, 6, 12])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--length", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--time-one", nargs=1, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.time_one:
        rate = _time(args.time_one[0], args.batch, args.length, args.threads, args.repeats)
        print(json.dumps({"windows_per_s": rate}))
        return
    results: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as temp:
        for layers in args.layers:
            path = Path(temp) / f"l{layers}.onnx"
            _export(layers, path, vocabulary=30_000)
            env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
            command = [sys.executable, __file__, "--time-one", str(path)]
            command += ["--batch", str(args.batch), "--length", str(args.length)]
            command += ["--threads", str(args.threads), "--repeats", str(args.repeats)]
            output = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
            results[layers] = json.loads(output.stdout.strip().splitlines()[-1])["windows_per_s"]
    deepest = max(results)
    for layers, rate in sorted(results.items()):
        ratio = rate / results[deepest]
        print(f"layers={layers:2d}  windows/s={rate:7.2f}  x{ratio:.2f} vs {deepest} layers")
    print(f"(ONNX Runtime fp32, {args.batch} x {args.length} tokens, {args.threads} threads)")


if __name__ == "__main__":
    main()

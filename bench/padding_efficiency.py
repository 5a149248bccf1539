"""Padding efficiency of token-budget microbatching, with and without length sorting.

Window lengths are drawn from a lognormal (long-tailed, like clinical notes), capped at the
window length. Prints the efficiency (real tokens / computed tokens) of both plans and their
ratio. Pure CPU arithmetic, well under a second:

    .venv/bin/python bench/padding_efficiency.py [--windows 20000] [--seed 0]

``--geometry`` instead tokenizes held-out synthetic notes with a bundle's tokenizer and, for a
grid of window lengths and overlaps, cuts them as the pipeline does and plans the microbatches
(sorted, ``--token-budget``, ``--max-batch``): windows per note, padding share, overlap share
(content tokens that repeat a neighbour's), their sum as the waste of computed tokens, and the
encoder GFLOP per note (``bench/gpu.py``'s count over the padded batches, so attention's
growth with length counts too), and the waste the alternative rule would have (a short last
window, as Hugging Face's ``stride`` cuts, instead of one anchored at the note's end). No model
runs; figures only:

    .venv/bin/python bench/padding_efficiency.py --geometry [--bundle DIR] [--notes 1000]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from deid_pipeline.batching import padding_efficiency, plan_microbatches


def geometry_table(
    token_counts: list[int],
    lengths: list[int],
    overlaps: list[int],
    token_budget: int,
    max_batch: int,
) -> list[dict[str, float]]:
    """Waste and encoder cost of every (window length, overlap) for notes of ``token_counts``."""
    import importlib.util
    from pathlib import Path

    from deid_pipeline.windows import plan_windows

    spec = importlib.util.spec_from_file_location("bench_gpu", Path(__file__).with_name("gpu.py"))
    assert spec is not None and spec.loader is not None
    gpu = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = gpu  # dataclasses look their module up there
    spec.loader.exec_module(gpu)
    rows = []
    useful = sum(token_counts)
    for length in lengths:
        for overlap in overlaps:
            if overlap >= length - 2:
                continue
            windows = [
                end - start + 2
                for n in token_counts
                for start, end in plan_windows(n, length, overlap)
            ]
            batches = plan_microbatches(windows, max(token_budget, length), max_batch)
            computed = sum(len(b) * max(windows[i] for i in b) for b in batches)
            real = sum(windows)
            flops = sum(len(b) * gpu.encoder_flops(gpu.E5_SMALL, max(windows[i] for i in b))
                        for b in batches)  # fmt: skip
            # The alternative rule (Hugging Face's stride): a short last window, not anchored.
            content, stride = length - 2, length - 2 - overlap
            short_tail = [
                min(start + content, n) - start + 2
                for n in token_counts
                for start in range(0, max(n - overlap, 1), stride)
                if n > 0
            ]
            tail_batches = plan_microbatches(short_tail, max(token_budget, length), max_batch)
            tail_computed = sum(len(b) * max(short_tail[i] for i in b) for b in tail_batches)
            rows.append(
                {
                    "waste_short_tail": 1 - (useful + 2 * len(short_tail)) / tail_computed,
                    "length": length,
                    "overlap": overlap,
                    "windows_per_note": len(windows) / len(token_counts),
                    "padding": 1 - real / computed,
                    "overlap_share": (real - 2 * len(windows) - useful) / computed,
                    "waste": 1 - (useful + 2 * len(windows)) / computed,
                    "gflop_per_note": flops / 1e9 / len(token_counts),
                }
            )
    return rows


def geometry_main(args: argparse.Namespace) -> None:
    """``--geometry``: tokenize synthetic notes and print the grid."""
    from deid_pipeline.bundle import default_bundle_path, load_bundle
    from deid_pipeline.synth import generate_notes

    bundle = load_bundle(args.bundle or default_bundle_path())
    tokenizer = bundle.load_tokenizer()
    texts = [s.note.text for s in generate_notes(args.notes, seed=args.seed, split="heldout")]
    counts = [
        len(ids) for ids in tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]
    ]
    print(
        f"notes={len(counts)} tokens/note mean={np.mean(counts):.0f} p50={np.median(counts):.0f} "
        f"p95={np.percentile(counts, 95):.0f} max={max(counts)} token_budget={args.token_budget} "
        f"max_batch={args.max_batch} (bundle window {bundle.window_length}/"
        f"{bundle.window_overlap})"
    )
    print("length overlap  win/note  padding  overlap   waste  GFLOP/note  waste(short tail)")
    for row in geometry_table(
        counts, args.lengths, args.overlaps, args.token_budget, args.max_batch
    ):
        print(
            f"{row['length']:6d} {row['overlap']:7d}  {row['windows_per_note']:8.2f}  "
            f"{row['padding']:7.1%}  {row['overlap_share']:7.1%}  {row['waste']:6.1%}  "
            f"{row['gflop_per_note']:10.1f}  {row['waste_short_tail']:6.1%}"
        )


def main() -> None:
    """Parse options, plan both ways and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--geometry", action="store_true", help="window grid on real notes")
    parser.add_argument("--bundle", help="bundle whose tokenizer counts tokens (--geometry)")
    parser.add_argument("--notes", type=int, default=1000, help="synthetic notes (--geometry)")
    parser.add_argument("--lengths", type=int, nargs="+", default=[128, 256, 384, 512])
    parser.add_argument("--overlaps", type=int, nargs="+", default=[16, 32, 64, 128])
    parser.add_argument("--windows", type=int, default=20_000)
    parser.add_argument("--median", type=float, default=96.0, help="median window length")
    parser.add_argument("--sigma", type=float, default=1.0, help="lognormal sigma")
    parser.add_argument("--cap", type=int, default=512, help="window length (max tokens)")
    parser.add_argument("--token-budget", type=int, default=4096)
    parser.add_argument("--max-batch", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.geometry:
        geometry_main(args)
        return

    rng = np.random.default_rng(args.seed)
    raw = rng.lognormal(mean=np.log(args.median), sigma=args.sigma, size=args.windows)
    # At least [CLS] + one token + [SEP]; at most one model window.
    lengths = np.clip(np.rint(raw), 3, args.cap).astype(int).tolist()

    figures = {}
    for sort_by_length in (False, True):
        batches = plan_microbatches(lengths, args.token_budget, args.max_batch, sort_by_length)
        figures[sort_by_length] = (padding_efficiency(lengths, batches), len(batches))
    (unsorted_eff, unsorted_n), (sorted_eff, sorted_n) = figures[False], figures[True]
    print(
        f"windows={args.windows} median={args.median:g} sigma={args.sigma:g} cap={args.cap} "
        f"token_budget={args.token_budget} max_batch={args.max_batch} seed={args.seed}"
    )
    print(
        f"length mean={np.mean(lengths):.1f} p50={np.median(lengths):.0f} "
        f"p95={np.percentile(lengths, 95):.0f} at_cap={np.mean(np.array(lengths) == args.cap):.1%}"
    )
    print(f"unsorted: padding_efficiency={unsorted_eff:.4f} batches={unsorted_n}")
    print(f"sorted:   padding_efficiency={sorted_eff:.4f} batches={sorted_n}")
    print(f"ratio sorted/unsorted={sorted_eff / unsorted_eff:.3f}")


if __name__ == "__main__":
    main()

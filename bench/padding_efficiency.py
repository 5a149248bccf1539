"""Padding efficiency of token-budget microbatching, with and without length sorting.

Window lengths are drawn from a lognormal (long-tailed, like clinical notes), capped at the
window length. Prints the efficiency (real tokens / computed tokens) of both plans and their
ratio. Pure CPU arithmetic, well under a second:

    .venv/bin/python bench/padding_efficiency.py [--windows 20000] [--seed 0]
"""

from __future__ import annotations

import argparse

import numpy as np

from deid_pipeline.batching import padding_efficiency, plan_microbatches


def main() -> None:
    """Parse options, plan both ways and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=20_000)
    parser.add_argument("--median", type=float, default=96.0, help="median window length")
    parser.add_argument("--sigma", type=float, default=1.0, help="lognormal sigma")
    parser.add_argument("--cap", type=int, default=512, help="window length (max tokens)")
    parser.add_argument("--token-budget", type=int, default=4096)
    parser.add_argument("--max-batch", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

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

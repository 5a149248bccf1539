"""Window-boundary agreement: do spans change when a note is cut into several windows?

Takes held-out synthetic notes short enough to fit in one model window of the bundle, decodes
their model spans once with a single window and once forced through several small overlapping
windows (same model, same thresholds), and prints how often the two agree. A model sees less
context in a small window, so agreement below 1.0 measures the model's sensitivity to window
cuts; the overlap averaging is what keeps it high. Figures only, no text.

    python bench/window_agreement.py [--bundle DIR] [--notes 300] [--small-window 64 --overlap 16]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def main() -> None:
    from deid_pipeline.bundle import default_bundle_path, load_bundle
    from deid_pipeline.decoding import decode_windows
    from deid_pipeline.runtimes import make_runtime, run_windows
    from deid_pipeline.synth import generate_notes
    from deid_pipeline.windows import build_windows, tokenize_notes

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bundle", type=Path, default=None)
    parser.add_argument("--notes", type=int, default=300, help="short notes to compare")
    parser.add_argument("--small-window", type=int, default=64)
    parser.add_argument("--overlap", type=int, default=16)
    parser.add_argument("--backend", default="onnx")
    args = parser.parse_args()

    bundle = load_bundle(args.bundle or default_bundle_path())
    runtime = make_runtime(bundle, args.backend, device="cpu")
    tokenizer = bundle.load_tokenizer()
    labels = bundle.entity_labels
    thresholds = [bundle.threshold_for(label) for label in labels]
    content = bundle.window_length - 2

    notes, tokenized = [], []
    for synthetic in generate_notes(args.notes * 6, seed=4242, split="heldout"):
        tokens = tokenize_notes(tokenizer, [synthetic.note])[0]
        if args.small_window - 2 < tokens.n_tokens <= content:
            notes.append(synthetic.note)
            tokenized.append(tokens)
        if len(notes) == args.notes:
            break

    def decode_all(window_length: int, overlap: int) -> tuple[list[list], int]:
        windows = build_windows(
            tokenized, window_length, overlap, bundle.cls_token_id, bundle.sep_token_id
        )
        result = run_windows(runtime, [w.input_ids for w in windows], bundle.pad_token_id)
        spans = decode_windows(
            [note.text for note in notes],
            tokenized,
            windows,
            result.bio,
            result.entity,
            labels,
            thresholds,
        )
        return spans, len(windows)

    single, n_single = decode_all(bundle.window_length, bundle.window_overlap)
    several, n_several = decode_all(args.small_window, args.overlap)
    identical = sum(a == b for a, b in zip(single, several, strict=True))
    keys_a = {(i, s.start, s.end, s.label) for i, spans in enumerate(single) for s in spans}
    keys_b = {(i, s.start, s.end, s.label) for i, spans in enumerate(several) for s in spans}
    agreement = len(keys_a & keys_b) / max(1, len(keys_a | keys_b))
    chars_a = {
        (i, c) for i, spans in enumerate(single) for s in spans for c in range(s.start, s.end)
    }
    chars_b = {
        (i, c) for i, spans in enumerate(several) for s in spans for c in range(s.start, s.end)
    }
    char_agreement = len(chars_a & chars_b) / max(1, len(chars_a | chars_b))
    print(
        f"notes={len(notes)} windows single={n_single} several={n_several} "
        f"(window {bundle.window_length}/{bundle.window_overlap} vs "
        f"{args.small_window}/{args.overlap})"
    )
    print(f"notes with identical spans: {identical}/{len(notes)} = {identical / len(notes):.3f}")
    print(f"span agreement (Jaccard of exact spans): {agreement:.3f}")
    print(f"character agreement (Jaccard of PHI characters): {char_agreement:.3f}")


if __name__ == "__main__":
    main()

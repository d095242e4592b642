"""``python -m bench.encoder_depth``: what serving pays for more encoder blocks (issue 33, item 5).

Times one encoder pass over a 10-second clip (decoded and prepared once; log-mel, LiteRT
encoder on 2 threads, the pooled statistics) for every shared encoder file present,
``model_store/encoders/whisper-base-N.tflite`` (``make encoder ENCODER_BLOCKS=6`` builds the
six-block one), and the start-up cost of building each interpreter. A fine-tuned version's
own encoder has the same shape as the shared file it tunes, so it costs the same. The
head after the pass is a dot product (a linear head) and adds well under 1 ms.

Prints one JSON object ``{blocks: {"p50_ms_10s", "p95_ms_10s", "load_s", "file_mb"}}``;
``--out FILE`` also writes it (``python -m train.encoder.round3 --serving FILE`` reads it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from detector.encoder.runtime import WhisperEncoder, encoder_path, pooled_stats

REPEATS = 15
SECONDS = 10
SAMPLE_RATE = 16_000


def bench_clip() -> np.ndarray:
    """10 s of seeded speech-shaped noise at about -26 dBFS (the encoder's cost does not depend on content)."""
    rng = np.random.default_rng(20261206)
    noise = rng.standard_normal(SECONDS * SAMPLE_RATE)
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * np.arange(len(noise)) / SAMPLE_RATE)   # syllable-rate bursts
    return (0.05 * noise * envelope).astype(np.float32)


def measure(path: Path, clip: np.ndarray) -> dict:
    started = time.perf_counter()
    encoder = WhisperEncoder(path, num_threads=2)
    pooled_stats(encoder.encode(clip))   # the first pass sizes the interpreter's buffers: part of start-up
    load_s = time.perf_counter() - started
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        pooled_stats(encoder.encode(clip))
        times.append(1000 * (time.perf_counter() - started))
    return {"p50_ms_10s": round(float(np.percentile(times, 50)), 1), "p95_ms_10s": round(float(np.percentile(times, 95)), 1),
            "load_s": round(load_s, 2), "file_mb": round(path.stat().st_size / 1e6, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.encoder_depth", description=__doc__)
    parser.add_argument("--store", default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    clip = bench_clip()
    found = {blocks: encoder_path(blocks, args.store) for blocks in range(1, 7)}
    figures = {str(b): measure(p, clip) for b, p in found.items() if p.exists()}
    if not figures:
        print("no shared encoder file found: run `make encoder`", file=sys.stderr)
        return 2
    text = json.dumps(figures, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Training-side benchmarks for ``python -m bench --training CORPUS``.

Training clips/s for the seed baseline and the default architecture (same run,
same input pipeline), and the seed notebook's image pipeline against ours on the
same test clips.
"""

from __future__ import annotations

import json
from pathlib import Path

SPEED_STEPS = 20


def run(corpus: Path, store: Path | None) -> dict[str, dict]:
    from bench import seed_pipeline
    from bench.train_speed import ARCHS, SEED_STEP_SHARE, training_speed
    from train.config import DEFAULT_CACHE, TrainConfig
    from train.dataset import build_clipset, read_manifest

    frame = read_manifest(corpus)
    config = TrainConfig()
    clips, _ = build_clipset(frame[frame["split"] == "train"], config.feature_config(), DEFAULT_CACHE)
    figures: dict[str, dict] = {"training_clips_per_s": {}}
    for arch in ARCHS:
        steps = max(3, int(SPEED_STEPS * (SEED_STEP_SHARE if arch == "seed-cnn" else 1)))
        entry = training_speed(arch, steps, clips, config.batch, config.feature)
        entry.pop("model")
        figures["training_clips_per_s"][arch] = round(entry["train_clips_per_s"], 1)
    print("training clips/s:", json.dumps(figures["training_clips_per_s"]), flush=True)
    figures["seed_vs_ours"] = seed_pipeline.compare(corpus, store)
    print("seed pipeline vs ours:", json.dumps(figures["seed_vs_ours"]), flush=True)
    return figures

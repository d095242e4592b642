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
    from bench.train_speed import speed_of_each_arch, train_split_clips
    from train.config import TrainConfig

    config = TrainConfig()
    clips = train_split_clips(corpus, config.feature)
    figures: dict[str, dict] = {"training_clips_per_s": {}}
    for arch, entry in speed_of_each_arch(clips, SPEED_STEPS, config.batch, config.feature):
        figures["training_clips_per_s"][arch] = round(entry["train_clips_per_s"], 1)
        if "keras_fit_clips_per_s" in entry:
            figures["training_clips_per_s"][f"{arch} via model.fit"] = round(entry["keras_fit_clips_per_s"], 1)
    print("training clips/s:", json.dumps(figures["training_clips_per_s"]), flush=True)
    figures["seed_vs_ours"] = seed_pipeline.compare(corpus, store)
    print("seed pipeline vs ours:", json.dumps(figures["seed_vs_ours"]), flush=True)
    return figures

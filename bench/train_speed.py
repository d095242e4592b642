"""Training and serving speed of the seed baseline and the default architecture, in one run.

Usage::

    nice -n 10 .venv/bin/python bench/train_speed.py [--corpus data/corpus] [--steps 20] [--out bench/out]

For each architecture: training clips/s through the real input pipeline and
training loop (one random window per clip, class-balanced, augmented -- exactly
as ``train.fit`` draws an epoch; for the default arch also through ``model.fit``
over ``tf.data``, which ``train.fit`` no longer uses), and LiteRT milliseconds
to score a 10-s clip (9 windows) on 2 threads. Without ``--corpus`` random
windows stand in for the data (same shapes, so the speed is the same). Results
go to stdout and ``<out>/train_speed.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from train.config import DEFAULT_CACHE, TrainConfig  # noqa: E402

ARCHS = ("seed-cnn", "effnet")
WARMUP_STEPS = 2        # the first steps trace the graph; not timed
SEED_STEP_SHARE = 0.25  # the baseline is slow: time fewer of its steps


def random_batches(config: TrainConfig):
    """Endless random standardised batches with the model's input shape (no corpus needed)."""
    rng = np.random.default_rng(0)
    shape = (config.batch, *config.feature_config().input_shape)
    while True:
        yield rng.standard_normal(shape).astype(np.float32), (rng.random((config.batch, 1)) > 0.5).astype(np.float32)


def _compiled(arch: str, batch: int, feature: str):
    import keras

    from train.archs import build_model
    from train.fit import make_optimizer

    config = TrainConfig(arch=arch, batch=batch, feature=feature)
    model = build_model(arch, config.feature_config().input_shape)
    model.compile(optimizer=make_optimizer(config, 1000),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True), metrics=["accuracy"])
    return model, config


def _batches(clips, config: TrainConfig):
    from train.batches import train_batches

    if clips is None:
        return random_batches(config)
    return train_batches(clips, config.feature_config(), config.batch, config.augment, config.seed)


def _timed_loop(model, batches, steps: int) -> float:
    """Seconds for ``steps`` batches through the trainer's loop (after untimed warm-up steps)."""
    from train.loop import run_training

    run_training(model, batches, 1, WARMUP_STEPS)
    started = time.perf_counter()
    run_training(model, batches, 1, steps)
    return time.perf_counter() - started


def _timed_keras_fit(model, batches, steps: int) -> float:
    """The same through ``model.fit`` over a ``tf.data`` generator (what train.fit used before)."""
    import tensorflow as tf

    shape = (None, *model.input_shape[1:])
    data = tf.data.Dataset.from_generator(
        lambda: batches, output_signature=(tf.TensorSpec(shape, tf.float32), tf.TensorSpec((None, 1), tf.float32)))
    data = data.prefetch(2)
    model.fit(data, steps_per_epoch=WARMUP_STEPS, epochs=1, verbose=0)
    started = time.perf_counter()
    model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
    return time.perf_counter() - started


def training_speed(arch: str, steps: int, clips, batch: int, feature: str,
                   compare_keras_fit: bool = False) -> dict[str, float]:
    """Clips per second of the trainer's loop over ``steps`` batches (one window per clip).

    With ``compare_keras_fit`` a second, fresh model of the same arch is timed through
    ``model.fit`` on the same kind of batches, the figure behind ``train/loop.py``.
    """
    model, config = _compiled(arch, batch, feature)
    elapsed = _timed_loop(model, _batches(clips, config), steps)
    figures = {"params": int(model.count_params()), "train_clips_per_s": steps * batch / elapsed,
               "timed_steps": steps, "batch": batch, "model": model}
    if compare_keras_fit:
        other, _ = _compiled(arch, batch, feature)
        figures["keras_fit_clips_per_s"] = steps * batch / _timed_keras_fit(other, _batches(clips, config), steps)
    return figures


def serving_ms(model, feature: str) -> tuple[float, int]:
    """LiteRT ms for a 10-s clip and the .tflite size in bytes."""
    import numpy as np

    from detector.litert import LiteRTModel
    from train.evaluate import median_ms
    from train.export import export_tflite

    with tempfile.TemporaryDirectory() as folder:
        path = export_tflite(model, Path(folder) / "model.tflite")
        litert = LiteRTModel(path, num_threads=2)
        config = TrainConfig(feature=feature).feature_config()
        windows = np.random.default_rng(0).standard_normal((9, *config.input_shape)).astype(np.float32)  # 10 s
        return median_ms(lambda: litert(windows), repeats=20, warmup=2), os.path.getsize(path)


def train_split_clips(corpus: str | Path, feature: str):
    """The cached features of a corpus's train split."""
    from train.dataset import build_clipset
    from train.schema import read_manifest

    frame = read_manifest(corpus)
    clips, _ = build_clipset(frame[frame["split"] == "train"], TrainConfig(feature=feature).feature_config(),
                             DEFAULT_CACHE)
    return clips


def speed_of_each_arch(clips, steps: int, batch: int, feature: str):
    """``(arch, figures)`` for seed-cnn and the default arch in one run; ``figures["model"]`` is the trained model."""
    for arch in ARCHS:
        arch_steps = max(3, int(steps * (SEED_STEP_SHARE if arch == "seed-cnn" else 1)))
        yield arch, training_speed(arch, arch_steps, clips, batch, feature, compare_keras_fit=arch == "effnet")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", help="use this corpus's train split (features cached)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps for the default arch")
    parser.add_argument("--batch", type=int, default=TrainConfig().batch)
    parser.add_argument("--features", default=TrainConfig().feature, help="feature type (default: the shipped one)")
    parser.add_argument("--no-tflite", action="store_true", help="skip export and serving latency")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "out"))
    args = parser.parse_args(argv)

    clips = train_split_clips(args.corpus, args.features) if args.corpus else None
    results = {"cpu_count": os.cpu_count(), "corpus": args.corpus, "feature": args.features, "archs": {}}
    for arch, entry in speed_of_each_arch(clips, args.steps, args.batch, args.features):
        model = entry.pop("model")
        if not args.no_tflite:
            entry["serve_ms_10s_clip"], entry["tflite_bytes"] = serving_ms(model, args.features)
        results["archs"][arch] = entry
        print(json.dumps({arch: entry}), flush=True)
    speeds = results["archs"]
    results["speedup_train"] = speeds["effnet"]["train_clips_per_s"] / speeds["seed-cnn"]["train_clips_per_s"]
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "train_speed.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({"speedup_train": results["speedup_train"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

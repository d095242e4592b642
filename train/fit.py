"""Train a detector and export it as a new, unpromoted model version.

Usage::

    python -m train.fit --corpus data/corpus [--recipe quick|full|fold] [--arch effnet|seed-cnn] [--epochs N]
        [--batch N] [--lr X] [--features logspec|mel|lfcc|melfine|melexc] [--weight-average-decay D]
        [--window-norm global|per_band] [--speaker-balance B] [--out model_store] [--run-dir DIR]

Flow: manifest -> leakage check -> cached features -> class-balanced, augmented
windows -> training loop (train/loop.py) with early stopping on the validation
clip EER -> Platt calibration and bands on validation; then :mod:`train.publish`
exports, evaluates on test and renames the new version into the store atomically.
The active pointer (``active.json``) is never touched.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from datetime import datetime
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from detector import model_report
from detector.config import FEATURE_TYPES, WINDOW_NORMS
from detector.metrics import compute_eer
from train.archs import available, build_model
from train.averaging import make_weight_average
from train.batches import train_batches
from train.calibrate import calibrate
from train.callbacks import make_callback
from train.config import DEFAULT_CACHE, DEFAULT_RUNS, DEFAULT_STORE, TrainConfig, available_recipes, load_recipe
from train.dataset import ClipSet, build_clipset, keras_predictor, score_clips, warn_errors
from train.events import ProgressLog
from train.loop import run_training
from train.losses import LOSSES, make_loss
from train.publish import publish_version
from train.schema import check_no_leakage, read_manifest
from train.trained import TrainedModel

WARMUP_FRACTION = 0.05        # share of the steps spent warming the learning rate up


def seed_everything(seed: int) -> None:
    """Fix Python, numpy and TensorFlow seeds and make TensorFlow's kernels deterministic.

    Seeds alone leave thread scheduling free to reorder floating-point sums, so two
    runs on different machines (or loads) could end in different models; op
    determinism removes that, which tests that train rely on. Data order uses its
    own seeded generator.
    """
    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def make_optimizer(config: TrainConfig, total_steps: int):
    """Optimizer with linear warm-up then cosine decay of the learning rate."""
    warmup = max(1, int(WARMUP_FRACTION * total_steps))
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=config.lr * 0.1, decay_steps=max(1, total_steps - warmup), alpha=0.02,
        warmup_target=config.lr, warmup_steps=warmup)
    if config.optimizer == "adam":
        return keras.optimizers.Adam(schedule)
    if config.optimizer == "adamw":
        return keras.optimizers.AdamW(schedule, weight_decay=config.weight_decay)
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(schedule, momentum=0.9, nesterov=True)
    raise ValueError(f"unknown optimizer {config.optimizer!r}")


def load_splits(frame: pd.DataFrame, config: TrainConfig, cache_root: Path, log: ProgressLog,
                workers: int = 2) -> tuple[ClipSet, ClipSet, dict[str, str]]:
    """Cached features of the train and validation splits (held-out families removed)."""
    features = config.feature_config()
    keep = ~frame["family"].isin(config.exclude_families)
    started = time.monotonic()

    def report(done: int, total: int) -> None:
        log.event("features", done=done, total=total, elapsed_s=round(time.monotonic() - started, 1))

    train_set, errors = build_clipset(frame[keep & (frame["split"] == "train")], features, cache_root, workers, report)
    val_set, val_errors = build_clipset(frame[keep & (frame["split"] == "val")], features, cache_root, workers, report)
    errors.update(val_errors)
    for name, clips in (("train", train_set), ("val", val_set)):
        if len(set(clips.labels)) < 2:
            raise ValueError(f"the {name} split needs genuine and synthetic clips")
    return train_set, val_set, errors


def train_model(frame: pd.DataFrame, config: TrainConfig, cache_root: str | Path, log: ProgressLog,
                workers: int = 2, splits: tuple[ClipSet, ClipSet] | None = None,
                calibrated: bool = True) -> TrainedModel:
    """Fit one model on the train split, choosing the epoch and calibration on validation.

    Parameters
    ----------
    frame : pd.DataFrame
        The manifest (see :func:`train.schema.read_manifest`); the test split is ignored.
    config : TrainConfig
        The run's settings.
    cache_root : path
        Feature cache root.
    log : ProgressLog
        Progress sink.
    workers : int
        Feature extraction processes.
    splits : (ClipSet, ClipSet), optional
        Already loaded train and validation clips (the tuner reuses them across trials).
    calibrated : bool
        Fit the calibration (the tuner and the held-out folds do without it).

    Returns
    -------
    TrainedModel
        Its ``calibration`` is ``None`` when ``calibrated`` is False: nothing was fitted.
    """
    seed_everything(config.seed)
    features = config.feature_config()
    started = time.monotonic()
    if splits is None:
        train_set, val_set, skipped = load_splits(frame, config, Path(cache_root), log, workers)
    else:
        (train_set, val_set), skipped = splits, {}
    warn_errors(skipped, lambda message: log.event("warning", message=message))
    feature_s = time.monotonic() - started

    model = build_model(config.arch, features.input_shape, **config.model_params())
    steps = max(1, math.ceil(config.windows_per_clip * len(train_set) / config.batch))
    loss, threshold = make_loss(config.loss, config.label_smoothing)
    model.compile(optimizer=make_optimizer(config, steps * config.epochs), loss=loss,
                  metrics=[keras.metrics.BinaryAccuracy(name="accuracy", threshold=threshold)])
    predict = keras_predictor(model)

    def validate() -> float:
        return compute_eer(val_set.labels, score_clips(predict, val_set.features, features)["mean_logit"])[0]

    log.event("start", arch=config.arch, feature=config.feature, params=model.count_params(),
              train_clips=len(train_set), val_clips=len(val_set), steps_per_epoch=steps, epochs=config.epochs,
              feature_s=round(feature_s, 1), excluded=config.exclude_families)
    max_seconds = None if config.max_minutes is None else 60.0 * config.max_minutes
    callback = make_callback(log, config.epochs, steps, validate, config.patience, max_seconds)
    fit_started = time.monotonic()
    # The average goes first: at each epoch's end it swaps in the weights that the progress callback validates.
    averaging = [make_weight_average(config.weight_average_decay)] if config.weight_average_decay else []
    batches = train_batches(train_set, features, config.batch, config.augment, config.seed, config.speaker_balance)
    run_training(model, batches, config.epochs, steps, [*averaging, callback])
    fit_s = time.monotonic() - fit_started

    if calibrated:
        calibration, report = calibrate(score_clips(predict, val_set.features, features), val_set.labels)
        val_eer = float(report["val_eer_by_aggregation"][calibration.aggregation])
    else:
        calibration, report, val_eer = None, {}, float(callback.best_eer)
    return TrainedModel(
        model=model, config=config, features=features, calibration=calibration, calibration_report=report,
        history=callback.history, best_epoch=callback.best_epoch, val_eer=val_eer,
        timings={"features_s": round(feature_s, 1), "fit_s": round(fit_s, 1),
                 "train_windows_per_s": round(callback.steps_done * config.batch / max(fit_s, 1e-9), 1)},
        counts={"train_clips": len(train_set), "val_clips": len(val_set), "epochs_run": len(callback.history),
                "steps_per_epoch": steps, "stop_reason": callback.stop_reason},
        skipped=skipped)


def fit(corpus: str | Path, config: TrainConfig, out: str | Path = DEFAULT_STORE, run_dir: str | Path | None = None,
        cache_root: str | Path = DEFAULT_CACHE, workers: int = 2, quiet: bool = False) -> Path:
    """Train, calibrate, export and evaluate one model; return the new version folder.

    Progress goes to ``run_dir/progress.jsonl``, ending with a ``done`` line (with
    the version name) or an ``error`` line (with the message).
    """
    corpus, out = Path(corpus), Path(out)
    run_dir = Path(run_dir) if run_dir else DEFAULT_RUNS / f"{datetime.now():%Y%m%d-%H%M%S}-{config.arch}-{config.feature}"
    log = ProgressLog(run_dir, quiet=quiet)
    try:
        config.save(Path(run_dir) / "train_config.json")
        frame = read_manifest(corpus)
        check_no_leakage(frame)
        started = time.monotonic()
        trained = train_model(frame, config, cache_root, log, workers)
        path = publish_version(trained, corpus, frame, out, log)
        test = model_report.load(path).test
        log.event("done", version=path.name, path=str(path), val_eer=trained.val_eer,
                  test_eer=test.eer if test else None, total_s=round(time.monotonic() - started, 1))
        return path
    except BaseException as exc:
        log.event("error", message=f"{type(exc).__name__}: {exc}")
        raise


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """A :class:`TrainConfig` from command-line options: a recipe or JSON config first, flags override.

    Any overriding flag marks the recipe name with ``+changes``, so a card never claims
    a committed recipe that the run did not follow.
    """
    if args.config:
        config = TrainConfig.load(args.config)
    else:
        config = load_recipe(args.recipe or "quick")
    changed = False
    for option in ("arch", "epochs", "batch", "lr", "optimizer", "patience", "seed", "max_minutes",
                   "weight_average_decay", "speaker_balance", "window_norm", "loss"):
        value = getattr(args, option)
        if value is not None:
            changed |= value != getattr(config, option)
            setattr(config, option, value)
    if args.features and args.features != config.feature:
        config.feature, changed = args.features, True
    if args.arch_params:
        config.arch_params.update(json.loads(args.arch_params))
        changed = True
    if changed and not config.recipe.endswith("+changes"):
        config.recipe += "+changes"
    return config


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m train.fit", description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", required=True, help="folder with manifest.csv")
    parser.add_argument("--arch", choices=available())
    parser.add_argument("--features", choices=FEATURE_TYPES)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--optimizer", choices=("adam", "adamw", "sgd"))
    parser.add_argument("--patience", type=int)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--max-minutes", type=float, help="wall-clock budget of the fitting loop")
    parser.add_argument("--weight-average-decay", type=float,
                        help="validate and ship an exponential moving average of the weights (e.g. 0.99)")
    parser.add_argument("--window-norm", choices=WINDOW_NORMS,
                        help="global: one mean per window; per_band: each band's own mean removed first")
    parser.add_argument("--speaker-balance", type=float,
                        help="0 draws every training clip alike, 1 every speaker alike (within its class or family)")
    parser.add_argument("--arch-params", help='JSON, e.g. \'{"widths": [32, 64, 96, 128]}\'')
    parser.add_argument("--recipe", choices=available_recipes(),
                        help="committed recipe in train/recipes/ (default quick; make train uses full)")
    parser.add_argument("--config", help="TrainConfig JSON (e.g. a run's train_config.json) instead of a recipe")
    parser.add_argument("--loss", choices=LOSSES, help="bce, or ocsoftmax (one-class softmax, train/losses.py)")
    parser.add_argument("--out", default=str(DEFAULT_STORE), help="model store folder")
    parser.add_argument("--run-dir", help="where progress.jsonl goes (default runs/<time>-<arch>-<feature>)")
    parser.add_argument("--cache", default=str(DEFAULT_CACHE), help="feature cache folder")
    parser.add_argument("--workers", type=int, default=2, help="processes for feature extraction")
    parser.add_argument("--quiet", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.config and args.recipe:
        parser.error("give --recipe or --config, not both")
    path = fit(args.corpus, config_from_args(args), args.out, args.run_dir, args.cache, args.workers, args.quiet)
    print(path.name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

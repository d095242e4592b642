"""Random hyper-parameter search with keras-tuner, bounded by trials and minutes.

Usage::

    python -m train.tune --corpus data/corpus --budget-minutes 30 [--max-trials 10] [--arch effnet]

Searches filters, kernel size, dense units, learning rate and optimizer (as the
seed notebook's ``RandomSearch`` did) with the validation clip EER as the
objective; the test split is never read. Features are loaded once and shared by
all trials. The best trial is written as ``best_config.json`` (a
``TrainConfig``) for ``python -m train.fit --corpus ... --config best_config.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import keras_tuner as kt
from keras_tuner.src.engine.trial import TrialStatus

from train.archs import available
from train.config import DEFAULT_CACHE, DEFAULT_RUNS, TrainConfig
from train.events import ProgressLog
from train.fit import load_splits, train_model
from train.schema import check_no_leakage, read_manifest

OBJECTIVE = "val_eer"
MIN_TRIAL_MINUTES = 0.5   # do not start a trial with less budget than this left


def arch_params(arch: str, hp) -> dict[str, Any]:
    """Architecture hyper-parameters drawn from ``hp`` (a keras-tuner ``HyperParameters``)."""
    base = hp.Choice("filters", [12, 16, 24] if arch == "effnet" else [16, 32])
    kernel = hp.Choice("kernel_size", [3, 5])
    dense = hp.Choice("dense_units", [32, 64, 128])
    if arch == "effnet":
        return {"stem_filters": base, "widths": [2 * base, 3 * base, 4 * base, 6 * base],
                "kernel_size": kernel, "dense_units": dense}
    return {"filters": [base, 2 * base, 4 * base], "kernel_size": kernel, "dense_units": dense}


def trial_config(base: TrainConfig, hp) -> TrainConfig:
    """A copy of ``base`` with this trial's hyper-parameters."""
    return replace(base, arch_params=arch_params(base.arch, hp),
                   lr=hp.Float("lr", 1e-4, 5e-3, sampling="log"),
                   optimizer=hp.Choice("optimizer", ["adam", "adamw", "sgd"]))


def make_tuner(base: TrainConfig, frame, splits, cache_root: Path, run_dir: Path, deadline: float,
               max_trials: int, seed: int, quiet: bool):
    """A keras-tuner ``BaseTuner`` whose oracle (random search) also stops at ``deadline``."""

    class BudgetRandomSearch(kt.oracles.RandomSearchOracle):
        """Random search that stops creating trials once the time budget is spent."""

        def populate_space(self, trial_id: str) -> dict[str, Any]:
            if time.time() + 60 * MIN_TRIAL_MINUTES >= deadline:
                return {"status": TrialStatus.STOPPED, "values": None}
            return super().populate_space(trial_id)

    class DetectorTuner(kt.engine.base_tuner.BaseTuner):
        """Each trial trains with :func:`train.fit.train_model` and reports the best validation EER."""

        def run_trial(self, trial, *args: Any, **kwargs: Any) -> dict[str, float]:
            config = trial_config(base, trial.hyperparameters)
            remaining = max(MIN_TRIAL_MINUTES, (deadline - time.time()) / 60.0)
            config.max_minutes = min(config.max_minutes or remaining, remaining)
            log = ProgressLog(run_dir / f"trial-{trial.trial_id}", quiet=quiet)
            trained = train_model(frame, config, cache_root, log, splits=splits, calibrated=False)
            log.event("done", trial=trial.trial_id, val_eer=trained.val_eer, params=trained.params)
            config.save(run_dir / f"trial-{trial.trial_id}" / "train_config.json")
            return {OBJECTIVE: trained.val_eer}

    space = kt.HyperParameters()
    trial_config(base, space)  # declare the whole space up front so every trial draws all of it
    oracle = BudgetRandomSearch(objective=kt.Objective(OBJECTIVE, direction="min"), max_trials=max_trials, seed=seed,
                                hyperparameters=space)
    return DetectorTuner(oracle=oracle, directory=str(run_dir), project_name="keras_tuner", overwrite=True)


def tune(corpus: str | Path, budget_minutes: float, max_trials: int = 20, base: TrainConfig | None = None,
         run_dir: str | Path | None = None, cache_root: str | Path = DEFAULT_CACHE, quiet: bool = False) -> dict[str, Any]:
    """Run the search; return a summary with every trial's EER and the best ``TrainConfig``."""
    base = base or TrainConfig()
    run_dir = Path(run_dir) if run_dir else DEFAULT_RUNS / f"{time.strftime('%Y%m%d-%H%M%S')}-tune-{base.arch}"
    log = ProgressLog(run_dir, quiet=quiet)
    deadline = time.time() + 60.0 * budget_minutes
    frame = read_manifest(corpus)
    check_no_leakage(frame)
    train_set, val_set, _ = load_splits(frame, base, Path(cache_root), log)
    tuner = make_tuner(base, frame, (train_set, val_set), Path(cache_root), run_dir, deadline, max_trials,
                       base.seed, quiet)
    tuner.search()
    trials = [{"trial": t.trial_id, OBJECTIVE: t.score, "values": t.hyperparameters.values}
              for t in tuner.oracle.trials.values() if t.score is not None]
    trials.sort(key=lambda t: t[OBJECTIVE])
    if not trials:
        raise RuntimeError("no trial finished within the budget; raise --budget-minutes")
    best = trial_config(base, tuner.oracle.get_best_trials(1)[0].hyperparameters)
    best.max_minutes = base.max_minutes
    best.save(run_dir / "best_config.json")
    summary = {"trials": trials, "best_val_eer": trials[0][OBJECTIVE], "best_config": str(run_dir / "best_config.json"),
               "elapsed_s": round(budget_minutes * 60 - (deadline - time.time()), 1)}
    (run_dir / "tune_summary.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
    log.event("done", **{k: v for k, v in summary.items() if k != "trials"}, n_trials=len(trials))
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.tune", description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--budget-minutes", type=float, required=True)
    parser.add_argument("--max-trials", type=int, default=20)
    parser.add_argument("--arch", choices=available(), default="effnet")
    parser.add_argument("--features", default=TrainConfig().feature)
    parser.add_argument("--epochs", type=int, help="maximum epochs per trial")
    parser.add_argument("--trial-minutes", type=float, help="time budget per trial")
    parser.add_argument("--run-dir")
    parser.add_argument("--cache", default=str(DEFAULT_CACHE))
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    base = TrainConfig(arch=args.arch, feature=args.features, max_minutes=args.trial_minutes)
    if args.epochs:
        base.epochs = args.epochs
    summary = tune(args.corpus, args.budget_minutes, args.max_trials, base, args.run_dir, args.cache, args.quiet)
    print(json.dumps({k: v for k, v in summary.items() if k != "trials"}, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The held-out fit step for a CNN: retrain on what a fold leaves in, calibrate on its validation clips.

:func:`cnn_fit_step` hands :func:`train.heldout.run_fold` a function that trains a CNN
with the given recipe on the rows a fold leaves in, calibrates it on the validation
clips among them, and returns a :class:`CnnFoldModel` that scores any corpus rows through
the trainer's feature cache. The trainer is passed in (:func:`train.fit.train_model`),
so this module loads no TensorFlow itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from detector.calibration import AGGREGATIONS, Calibration
from detector.heldout_report import HeldOutReport
from train.calibrate import calibrate
from train.config import TrainConfig
from train.dataset import build_clipset, keras_predictor, score_clips
from train.events import ProgressLog
from train.heldout import Fold, FoldModel, run_folds
from train.trained import TrainedModel

# train.fit.train_model's signature; the caller hands it in, so folds, masks and summaries load no TensorFlow.
Trainer = Callable[..., TrainedModel]


@dataclass
class CnnFoldModel:
    """A CNN trained without one fold (see :class:`train.heldout.FoldModel`)."""

    trained: TrainedModel
    predict: Callable[[np.ndarray], np.ndarray]
    frame: pd.DataFrame
    cache_root: str | Path
    calibration: Calibration | None = None
    validation: tuple[np.ndarray, np.ndarray] = (np.zeros(0), np.zeros(0, int))
    facts: dict[str, Any] = field(default_factory=dict)

    def logits_of(self, rows: pd.DataFrame) -> tuple[dict[str, np.ndarray], np.ndarray, int]:
        clips, errors = build_clipset(rows.reset_index(drop=True), self.trained.features, self.cache_root)
        return score_clips(self.predict, clips.features, self.trained.features), np.asarray(clips.labels), len(errors)

    def score(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        logits, labels, skipped = self.logits_of(self.frame[rows])
        aggregation = self.calibration.aggregation if self.calibration else AGGREGATIONS[0]
        return logits[aggregation], labels, skipped


def calibrated(model: CnnFoldModel, kept: pd.DataFrame) -> CnnFoldModel:
    """``model`` with its calibration on the validation clips of ``kept`` (none when validation is at chance).

    A short fold recipe can leave validation at chance; its EER is still reported (it
    needs no calibration), only the confident-band rates are not.
    """
    logits, labels, _ = model.logits_of(kept[kept["split"] == "val"])
    try:
        calibration, _ = calibrate(logits, labels)
    except ValueError:
        return model
    p = np.asarray(calibration.probability(logits[calibration.aggregation]), dtype=float)
    return replace(model, calibration=calibration, validation=(p, labels))


def cnn_fit_step(frame: pd.DataFrame, config: TrainConfig, cache_root: str | Path, run_dir: str | Path,
                 train_model: Trainer, quiet: bool = False) -> Callable[[Fold], Callable[[np.ndarray], FoldModel]]:
    """For each fold, the fit step that retrains the CNN recipe ``config`` on the rows the fold leaves in."""
    def for_fold(fold: Fold) -> Callable[[np.ndarray], FoldModel]:
        def fit(keep: np.ndarray) -> FoldModel:
            kept = frame[keep].reset_index(drop=True)
            log = ProgressLog(Path(run_dir) / fold.name.replace(":", "-"), quiet=quiet)
            trained = train_model(kept, config, cache_root, log, calibrated=False)
            model = CnnFoldModel(trained, keras_predictor(trained.model), frame, cache_root,
                                 facts={"val_eer_seen": trained.val_eer, "epochs_run": trained.counts["epochs_run"]})
            return calibrated(model, kept)
        return fit
    return for_fold


def run_heldout(frame: pd.DataFrame, config: TrainConfig, cache_root: str | Path, run_dir: str | Path,
                train_model: Trainer, folds: list[Fold], epochs: int | None = None, max_minutes: float | None = None,
                quiet: bool = False, previous: HeldOutReport | None = None, recipe: str | None = None) -> HeldOutReport:
    """Retrain the CNN recipe without each of ``folds`` (shortened to ``epochs``/``max_minutes``) and summarise.

    Results of other folds in ``previous`` (the version's stored held-out report) are kept and
    everything computed across folds is recomputed over all of them. The bands and the rates at
    the shipped bands need the final model's validation scores (:func:`train.heldout_bands.final_bands`,
    :func:`train.heldout_bands.rates_at`).
    """
    fold_config = replace(config, epochs=epochs or config.epochs,
                          max_minutes=max_minutes if max_minutes is not None else config.max_minutes)
    def done(name: str, result) -> None:   # each fold's progress log ends as a training run's does
        ProgressLog(Path(run_dir) / name.replace(":", "-"), quiet=quiet).event("done", fold=name, eer=result.eer)

    return run_folds(frame, folds, cnn_fit_step(frame, fold_config, cache_root, run_dir, train_model, quiet),
                     previous=previous, on_fold=done, epochs=fold_config.epochs, max_minutes=fold_config.max_minutes,
                     arch=config.arch, feature=config.feature, recipe=recipe)

"""Held-out protocols: retrain without part of the corpus and score what the model never heard.

Leave-one-family-out retrains once per synthetic family with that family removed
from train and validation (neither stopping nor model choice sees it) and scores
its test clips against all genuine test clips. Imports the trainer and the
evaluator; neither imports this module.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from train.config import TrainConfig
from train.corpus.splits import lofo_folds
from train.dataset import build_clipset, keras_predictor, score_clips
from train.evaluate import group_eer
from train.fit import train_model
from train.progress import ProgressLog


def lofo_test_sets(frame: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(family, test clips) per synthetic family: the corpus's own ``lofo_folds`` when available.

    The test clips are the test split's genuine clips plus the held-out family's.
    """
    return [(family, test) for family, _, test in lofo_folds(frame)]


def run_lofo(frame: pd.DataFrame, config: TrainConfig, cache_root: str | Path, run_dir: str | Path,
             epochs: int | None = None, max_minutes: float | None = None, quiet: bool = False,
             aggregation: str = "mean_logit", families: list[str] | None = None,
             previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """Leave-one-family-out: retrain without each synthetic family and score it on test.

    The held-out family is removed from train and validation (so neither stopping
    nor model choice sees it); its test clips are scored against all genuine test
    clips with the deployed ``aggregation``. EER needs no calibration, so a fold
    is reported even when it generalises worse than chance. ``families`` limits
    the folds run; their results replace those of the same families in
    ``previous`` (an earlier ``lofo`` entry), the others are kept.
    """
    results: dict[str, Any] = dict((previous or {}).get("families", {})) if families else {}
    for family, test in lofo_test_sets(frame):
        if families and family not in families:
            continue
        fold = replace(config, exclude_families=[family], epochs=epochs or config.epochs,
                       max_minutes=max_minutes if max_minutes is not None else config.max_minutes)
        log = ProgressLog(Path(run_dir) / f"lofo-{family}", quiet=quiet)
        started = time.monotonic()
        trained = train_model(frame, fold, cache_root, log, calibrated=False)
        clips, errors = build_clipset(test, trained.features, cache_root)
        scores = score_clips(keras_predictor(trained.model), clips.features, trained.features)
        entry = group_eer(clips.labels, scores[aggregation])
        entry["skipped_clips"] = len(errors)
        entry.update(val_eer_seen_families=trained.val_eer, epochs_run=trained.counts["epochs_run"],
                     train_s=round(time.monotonic() - started, 1))
        results[family] = entry
        log.event("done", family=family, eer=entry["eer"])
    eers = [v["eer"] for v in results.values() if v["eer"] is not None]
    results = dict(sorted(results.items()))
    return {"families": results, "mean_eer": float(np.mean(eers)) if eers else None,
            "epochs": epochs or config.epochs, "max_minutes": max_minutes, "arch": config.arch,
            "feature": config.feature, "aggregation": aggregation}

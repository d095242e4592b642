"""Screen a training recipe on several held-out parts with ONE retraining.

The held-out protocols (:mod:`train.heldout`) retrain once per fold: the right figures
for a shipped model, too slow for comparing recipes on 2 cores. A screen holds
several parts out at once (by default the neural-vocoder and articulatory families
and one genuine source), trains once, and reports each part the way its fold would
(EER and confident-band errors at the run's own validation bands), plus in-domain
figures on what stayed in training. A run whose validation is at chance has no
calibration: its EERs are still reported, its band errors are ``None``. Recipes are chosen on these figures and on
validation, never on the test split alone.

Usage::

    python -m train.screen --corpus data/corpus --config RECIPE.json [--hold family:neural_vocoder ...]
        [--name NAME] [--set key=value ...]

Writes ``runs/screen-<name>.json`` and prints it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from detector.calibration import AGGREGATIONS, Calibration
from train.calibrate import band_report
from train.config import DEFAULT_CACHE, DEFAULT_RUNS, TrainConfig, load_recipe
from train.dataset import build_clipset, keras_predictor, score_clips
from train.events import ProgressLog
from train.fit import train_model
from train.heldout import Fold, part_eer
from train.heldout_cnn import CnnFoldModel, calibrated
from train.schema import read_manifest

DEFAULT_HOLD = ("family:neural_vocoder", "family:articulatory", "source:sky")
EXTRA_REPORTS = ("neural_vocoder:hifigan", "neural_vocoder:lpcnet")   # parts of a held family, reported on their own


def part_figures(labels: np.ndarray, logits: np.ndarray, calibration: Calibration | None, mask: np.ndarray) -> dict:
    """EER (the held-out minimum-clips rule) and confident-band error shares on the rows in ``mask``."""
    eer, _ = part_eer(labels[mask], logits[mask])
    figures: dict[str, Any] = {"eer": None if eer is None else round(eer, 4),
                               "n": [int(np.sum(labels[mask] == 0)), int(np.sum(labels[mask] == 1))]}
    if eer is not None and calibration is not None:
        bands = band_report(calibration.probability(logits[mask]), labels[mask], calibration)
        figures.update(synthetic_called_genuine=round(bands["synthetic_called_genuine"], 4),
                       genuine_called_synthetic=round(bands["genuine_called_synthetic"], 4))
    return figures


def screen(frame: pd.DataFrame, config: TrainConfig, hold: list[Fold], cache_root: str | Path,
           log: ProgressLog) -> dict[str, Any]:
    """Train once without every part in ``hold``; figures per held part and in-domain."""
    started = time.monotonic()
    held_any = np.logical_or.reduce([fold.held_rows(frame) for fold in hold])
    seen = frame[~(held_any & frame["split"].isin(["train", "val"]).to_numpy())].reset_index(drop=True)
    # Uncalibrated: a run at chance on validation still reports its EERs (plumbing never needs a good model).
    trained = train_model(seen, config, cache_root, log, calibrated=False)
    predict = keras_predictor(trained.model)
    calibration = calibrated(CnnFoldModel(trained, predict, seen, cache_root), seen).calibration
    test = frame[frame["split"] == "test"].reset_index(drop=True)
    clips, _ = build_clipset(test, trained.features, cache_root)
    rows = clips.frame
    logit = score_clips(predict, clips.features, trained.features)[
        calibration.aggregation if calibration else AGGREGATIONS[0]]
    labels = np.asarray(clips.labels)
    unheld = ~np.logical_or.reduce([fold.held_rows(rows) for fold in hold])
    result: dict[str, Any] = {
        "val_eer": trained.val_eer, "epochs_run": trained.counts["epochs_run"], "timings": trained.timings,
        "calibrated": calibration is not None,
        "in_domain": part_figures(labels, logit, calibration, unheld),
    }
    reports = [*hold, *(Fold.parse(n) for n in EXTRA_REPORTS if any(f.held == "neural_vocoder" for f in hold))]
    for fold in reports:
        negatives, positives = fold.test_masks(rows, others=unheld)
        result[fold.name] = part_figures(labels, logit, calibration, negatives | positives)
    for condition in sorted(rows["condition"].unique()):
        mask = (rows["condition"] == condition).to_numpy() & unheld
        result[f"condition:{condition}"] = part_figures(labels, logit, calibration, mask)["eer"]
    held_eers = [result[f.name]["eer"] for f in hold if result[f.name]["eer"] is not None]
    result["mean_heldout_eer"] = round(float(np.mean(held_eers)), 4) if held_eers else None
    result["wall_s"] = round(time.monotonic() - started, 1)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.screen", description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--config", help="TrainConfig JSON (default: the quick recipe, the TrainConfig defaults)")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=JSON",
                        help='override recipe fields, e.g. epochs=5 \'augment={"band_limit_prob": 0.3}\'')
    parser.add_argument("--hold", nargs="+", default=list(DEFAULT_HOLD))
    parser.add_argument("--name", default="recipe")
    parser.add_argument("--cache", default=str(DEFAULT_CACHE))
    args = parser.parse_args(argv)
    data = json.loads(Path(args.config).read_text()) if args.config else load_recipe("quick").to_dict()
    for item in args.set:
        key, _, value = item.partition("=")
        data[key] = {**data.get(key, {}), **json.loads(value)} if key == "augment" else json.loads(value)
    config = TrainConfig.from_dict(data)
    run_dir = DEFAULT_RUNS / f"screen-{args.name}"
    result = {"name": args.name, "recipe": config.to_dict(), "hold": args.hold,
              **screen(read_manifest(args.corpus), config, [Fold.parse(n) for n in args.hold], args.cache,
                       ProgressLog(run_dir, quiet=True))}
    text = json.dumps(result, indent=1)
    (DEFAULT_RUNS / f"screen-{args.name}.json").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

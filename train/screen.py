"""Screen a training recipe on several held-out parts with ONE retraining.

The held-out protocols (:mod:`train.lofo`) retrain once per fold: the right figures
for a shipped model, too slow for comparing recipes on 2 cores. A screen holds
several parts out at once (by default the neural-vocoder and articulatory families
and one genuine source), trains once, and reports each part the way its fold would
(EER and confident-band errors at the run's own validation bands), plus in-domain
figures on what stayed in training. Recipes are chosen on these figures and on
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

from detector.metrics import compute_eer
from train.calibrate import band_report
from train.config import DEFAULT_CACHE, DEFAULT_RUNS, TrainConfig
from train.dataset import build_clipset, keras_predictor, score_clips
from train.events import ProgressLog
from train.fit import train_model
from train.lofo import Fold
from train.schema import read_manifest

DEFAULT_HOLD = ("family:neural_vocoder", "family:articulatory", "source:sky")
EXTRA_REPORTS = ("vocoder:hifigan", "vocoder:lpcnet")   # parts of a held family, reported on their own


def parse_fold(name: str) -> Fold:
    protocol, _, held = name.partition(":")
    if protocol not in ("family", "vocoder", "source") or not held:
        raise ValueError(f"a held-out part is protocol:name, e.g. family:formant, got {name!r}")
    return Fold(protocol, held)


def part_figures(labels: np.ndarray, logits: np.ndarray, p: np.ndarray, calibration, mask: np.ndarray) -> dict:
    """EER and confident-band error shares on the rows in ``mask``."""
    if len(set(labels[mask])) < 2:
        return {"eer": None, "n": [int(np.sum(labels[mask] == 0)), int(np.sum(labels[mask] == 1))]}
    bands = band_report(p[mask], labels[mask], calibration)
    return {"eer": round(float(compute_eer(labels[mask], logits[mask])[0]), 4),
            "synthetic_called_genuine": round(bands["synthetic_called_genuine"], 4),
            "genuine_called_synthetic": round(bands["genuine_called_synthetic"], 4),
            "n": [int(np.sum(labels[mask] == 0)), int(np.sum(labels[mask] == 1))]}


def screen(frame: pd.DataFrame, config: TrainConfig, hold: list[Fold], cache_root: str | Path,
           log: ProgressLog) -> dict[str, Any]:
    """Train once without every part in ``hold``; figures per held part and in-domain."""
    started = time.monotonic()
    held_any = np.zeros(len(frame), dtype=bool)
    for fold in hold:
        held_any |= fold.held_rows(frame).to_numpy()
    trained = train_model(frame[~(held_any & frame["split"].isin(["train", "val"]).to_numpy())], config,
                          cache_root, log)
    test = frame[frame["split"] == "test"].reset_index(drop=True)
    clips, _ = build_clipset(test, trained.features, cache_root)
    rows = clips.frame
    logits = score_clips(keras_predictor(trained.model), clips.features, trained.features)
    logit = logits[trained.calibration.aggregation]
    p = np.asarray(trained.calibration.probability(logit))
    labels = np.asarray(clips.labels)
    held_test = np.zeros(len(rows), dtype=bool)
    for fold in hold:
        held_test |= fold.held_rows(rows).to_numpy()
    seen_genuine, seen_synthetic = (labels == 0) & ~held_test, (labels == 1) & ~held_test
    result: dict[str, Any] = {
        "val_eer": trained.val_eer, "epochs_run": trained.counts["epochs_run"], "timings": trained.timings,
        "in_domain": part_figures(labels, logit, p, trained.calibration, seen_genuine | seen_synthetic),
    }
    reports = [*hold, *(parse_fold(n) for n in EXTRA_REPORTS if any(f.held == "neural_vocoder" for f in hold))]
    for fold in reports:
        part = fold.held_rows(rows).to_numpy()
        negatives, positives = (part & (labels == 0), seen_synthetic) if fold.protocol == "source" else \
            (seen_genuine, part & (labels == 1))
        result[fold.name] = part_figures(labels, logit, p, trained.calibration, negatives | positives)
    for condition in sorted(rows["condition"].unique()):
        mask = (rows["condition"] == condition).to_numpy() & (seen_genuine | seen_synthetic)
        result[f"condition:{condition}"] = part_figures(labels, logit, p, trained.calibration, mask)["eer"]
    held_eers = [result[f.name]["eer"] for f in hold if result[f.name]["eer"] is not None]
    result["mean_heldout_eer"] = round(float(np.mean(held_eers)), 4) if held_eers else None
    result["wall_s"] = round(time.monotonic() - started, 1)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.screen", description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--config", help="TrainConfig JSON (default: the TrainConfig defaults)")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=JSON",
                        help='override recipe fields, e.g. epochs=5 \'augment={"band_limit_prob": 0.3}\'')
    parser.add_argument("--hold", nargs="+", default=list(DEFAULT_HOLD))
    parser.add_argument("--name", default="recipe")
    parser.add_argument("--cache", default=str(DEFAULT_CACHE))
    args = parser.parse_args(argv)
    data = json.loads(Path(args.config).read_text()) if args.config else TrainConfig().to_dict()
    for item in args.set:
        key, _, value = item.partition("=")
        data[key] = {**data.get(key, {}), **json.loads(value)} if key == "augment" else json.loads(value)
    config = TrainConfig.from_dict(data)
    run_dir = DEFAULT_RUNS / f"screen-{args.name}"
    result = {"name": args.name, "recipe": config.to_dict(), "hold": args.hold,
              **screen(read_manifest(args.corpus), config, [parse_fold(n) for n in args.hold], args.cache,
                       ProgressLog(run_dir, quiet=True))}
    text = json.dumps(result, indent=1)
    (DEFAULT_RUNS / f"screen-{args.name}.json").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

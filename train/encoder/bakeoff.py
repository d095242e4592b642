"""The encoder bake-off: every candidate head on every held-out fold, on cached encoder features.

For each candidate and each fold (:mod:`train.heldout` folds: families, neural vocoders,
genuine sources) the head is refitted without the fold's part (train and validation),
calibrated on what validation has left, and scored on the fold's test clips: EER, and
the confident errors at the fold's own validation bands. Each fold also scores its
part's never-heard train and validation clips and records the edges that keep
``HELDOUT_BAND_ERROR`` of them out of the wrong confident band, as a quantile of the
fold model's own validation clips (a rank, so it transfers to the final model).
Decisions are made on the mean held-out EER and the worst fold, never on the test split.

``python -m train.encoder.bakeoff --corpus data/corpus --encoder FILE [--candidates ...]``
writes ``runs/bakeoff/<candidate>.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from detector.metrics import compute_eer
from train.calibrate import band_report, calibrate, edge_above, edge_below
from train.encoder import features
from train.encoder.heads import CANDIDATES, uses_sequences
from train.heldout import HEADLINE_PROTOCOLS, HELDOUT_BAND_ERROR, available_folds
from train.schema import read_manifest

MIN_HELD = 5


def fold_name(name: str) -> str:
    """A fold's name in today's protocols (bake-offs before the held-out module called neural vocoders "vocoder")."""
    protocol, _, held = name.partition(":")
    return f"neural_vocoder:{held}" if protocol == "vocoder" else name


def _fit(name: str, data: dict, rows: np.ndarray, val_rows: np.ndarray):
    head = CANDIDATES[name]()
    seqs = data["seqs"]
    return head.fit(data["stats"][rows], data["y"][rows], data["stats"][val_rows], data["y"][val_rows],
                    seqs=[seqs[i] for i in rows] if seqs else None,
                    val_seqs=[seqs[i] for i in val_rows] if seqs else None)


def _logits(head, data: dict, rows: np.ndarray) -> np.ndarray:
    seqs = data["seqs"]
    return head.logits(data["stats"][rows], seqs=[seqs[i] for i in rows] if seqs else None)


def _quantile_of(value: float, reference: np.ndarray) -> float:
    return float(np.mean(reference < value))


def fit_and_calibrate(name: str, data: dict, keep: np.ndarray):
    """A head fitted on kept train rows, calibrated on kept val rows; (head, calibration, val p, val y)."""
    split = data["split"]
    rows, val_rows = np.flatnonzero(keep & (split == "train")), np.flatnonzero(keep & (split == "val"))
    head = _fit(name, data, rows, val_rows)
    val_logits = _logits(head, data, val_rows)
    calibration, _ = calibrate({"mean_logit": val_logits}, data["y"][val_rows])
    return head, calibration, calibration.probability(val_logits), data["y"][val_rows]


def run_fold(name: str, data: dict, frame: pd.DataFrame, fold) -> dict:
    started = time.monotonic()
    held = fold.held_rows(frame) & frame["split"].isin(["train", "val"]).to_numpy()
    head, calibration, val_p, val_y = fit_and_calibrate(name, data, data["valid"] & ~held)
    test = (frame["split"] == "test").to_numpy() & data["valid"]
    negatives, positives = fold.test_masks(frame)
    scored = np.flatnonzero(test & (negatives | positives))
    logits, labels = _logits(head, data, scored), data["y"][scored]
    p = calibration.probability(logits)
    bands = band_report(p, labels, calibration)
    entry = {"eer": round(float(compute_eer(labels, logits)[0]), 4),
             "n": [int(np.sum(labels == 0)), int(np.sum(labels == 1))],
             "own_bands": {"synthetic_called_genuine": round(bands["synthetic_called_genuine"], 4),
                           "genuine_called_synthetic": round(bands["genuine_called_synthetic"], 4)},
             "seconds": round(time.monotonic() - started, 1)}
    held_rows = np.flatnonzero(held & data["valid"])
    if len(held_rows):
        held_p, held_y = calibration.probability(_logits(head, data, held_rows)), data["y"][held_rows]
        edges = {}
        if np.sum(held_y == 1) >= MIN_HELD:
            edge = edge_below(held_p[held_y == 1], HELDOUT_BAND_ERROR)
            edges["genuine_below_rank"] = _quantile_of(edge, val_p[val_y == 0])
        if np.sum(held_y == 0) >= MIN_HELD:
            edge = edge_above(held_p[held_y == 0], HELDOUT_BAND_ERROR)
            edges["synthetic_above_rank"] = _quantile_of(edge, val_p[val_y == 1])
        entry["edges"] = edges
        entry["test_p"], entry["test_y"] = p.tolist(), labels.tolist()   # for rates at the final bands
        entry["val_genuine_p"], entry["val_synthetic_p"] = val_p[val_y == 0].tolist(), val_p[val_y == 1].tolist()
    return entry


def at_rank(values: list[float], rank: float) -> float:
    return float(np.quantile(np.asarray(values), min(max(rank, 0.0), 1.0))) if values else float("nan")


def summarise(name: str, data: dict, frame: pd.DataFrame, folds: dict, final: tuple | None = None) -> dict:
    """Headline figures, bands by rank over the folds, and the final head's test figures at them.

    ``final`` is :func:`fit_and_calibrate`'s result on every valid clip when the caller has it
    (a publish step reuses the same fit).
    """
    headline = [v["eer"] for k, v in folds.items() if k.split(":")[0] in HEADLINE_PROTOCOLS]
    genuine_rank = min((v["edges"]["genuine_below_rank"] for v in folds.values()
                        if "genuine_below_rank" in v.get("edges", {})), default=0.0)
    # The strictest edges: the lowest genuine edge and the highest synthetic edge over the folds.
    synthetic_rank = max((v["edges"]["synthetic_above_rank"] for v in folds.values()
                          if "synthetic_above_rank" in v.get("edges", {})), default=1.0)
    # Each fold's test rates at the strictest ranks, each in its own model's probabilities.
    for v in folds.values():
        if "test_p" not in v:
            continue
        p, y = np.asarray(v.pop("test_p")), np.asarray(v.pop("test_y"))
        low = at_rank(v.pop("val_genuine_p"), genuine_rank)
        high = at_rank(v.pop("val_synthetic_p"), synthetic_rank)
        v["at_final_ranks"] = {"synthetic_called_genuine": round(float(np.mean(p[y == 1] < low)), 4),
                               "genuine_called_synthetic": round(float(np.mean(p[y == 0] >= high)), 4)}
    head, calibration, val_p, val_y = final or fit_and_calibrate(name, data, data["valid"].copy())
    test = np.flatnonzero((frame["split"] == "test").to_numpy() & data["valid"])
    logits, labels = _logits(head, data, test), data["y"][test]
    p = calibration.probability(logits)
    low, high = at_rank(val_p[val_y == 0].tolist(), genuine_rank), at_rank(val_p[val_y == 1].tolist(), synthetic_rank)
    return {
        "candidate": name, "mean_heldout_eer": round(float(np.mean(headline)), 4),
        "worst_fold": max(((k, v["eer"]) for k, v in folds.items()), key=lambda kv: kv[1]),
        "val_eer": round(float(compute_eer(val_y, val_p)[0]), 4),
        "test_eer": round(float(compute_eer(labels, logits)[0]), 4),
        "bands": {"genuine_below": low, "synthetic_above": high, "genuine_rank": genuine_rank,
                  "synthetic_rank": synthetic_rank, "lowest_p_test": float(p.min())},
        "test_at_bands": {"genuine_called_genuine": round(float(np.mean(p[labels == 0] < low)), 4),
                          "synthetic_called_genuine": round(float(np.mean(p[labels == 1] < low)), 4),
                          "synthetic_called_synthetic": round(float(np.mean(p[labels == 1] >= high)), 4),
                          "genuine_called_synthetic": round(float(np.mean(p[labels == 0] >= high)), 4)},
        "max_heldout_fakes_called_genuine": max((v["at_final_ranks"]["synthetic_called_genuine"]
                                                 for v in folds.values() if "at_final_ranks" in v), default=None),
        "folds": folds,
    }


def load_data(corpus: str, encoder: str, sequences: bool) -> tuple[pd.DataFrame, dict]:
    frame = read_manifest(corpus)
    loaded = features.load(frame, encoder, sequences=sequences)
    stats, seqs = loaded if sequences else (loaded, None)
    valid = ~np.isnan(stats).any(axis=(1, 2, 3))
    return frame, {"stats": np.nan_to_num(stats), "seqs": seqs, "y": frame["y"].to_numpy(),
                   "split": frame["split"].to_numpy(), "valid": valid}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.encoder.bakeoff", description=__doc__)
    parser.add_argument("--corpus", default="data/corpus")
    parser.add_argument("--encoder", required=True)
    parser.add_argument("--candidates", nargs="+", default=list(CANDIDATES), choices=list(CANDIDATES))
    parser.add_argument("--out", default="runs/bakeoff")
    args = parser.parse_args(argv)
    frame, data = load_data(args.corpus, args.encoder, any(uses_sequences(c) for c in args.candidates))
    Path(args.out).mkdir(parents=True, exist_ok=True)
    for name in args.candidates:
        folds = {}
        for fold in available_folds(frame):
            folds[fold.name] = run_fold(name, data, frame, fold)
            print(name, fold.name, folds[fold.name]["eer"], flush=True)
        result = summarise(name, data, frame, folds)
        Path(args.out, f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
        print(json.dumps({k: v for k, v in result.items() if k != "folds"}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

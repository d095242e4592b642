"""Held-out protocols: retrain without part of the corpus, then score what the model never heard.

A journalist's question is "would it catch a synthesiser it has never heard, without
flagging real people it has never heard?". Each fold answers it for one part of the
corpus, removed from train AND validation (so neither stopping, calibration nor model
choice sees it):

* ``family:F`` -- leave one synthetic family out; its test clips against all genuine
  test clips.
* ``vocoder:G`` -- leave one neural vocoder (a generator of the ``neural_vocoder``
  family) out; the other stays in training.
* ``source:S`` -- leave one genuine recording source out, with the synthetic copies made
  from its recordings (they carry its channel); its genuine test clips against the
  synthetic test clips of every other source: false alarms on a source never heard.

Every fold reports its EER and, at the verdict bands its own calibration set on
validation, the share of held-out synthetic clips called *likely genuine* and of
held-out genuine clips called *likely synthetic*. The headline is the mean EER of the
family and source folds. Imports the trainer and the evaluator; neither imports this.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from detector.calibration import AGGREGATIONS, Calibration
from train.calibrate import band_report, calibrate, edge_above, edge_below
from train.config import TrainConfig
from train.dataset import build_clipset, keras_predictor, score_clips
from train.evaluate import MIN_PER_CLASS, group_eer
from train.events import ProgressLog
from train.fit import train_model
from train.trained import TrainedModel

PROTOCOLS = ("family", "vocoder", "source")
HEADLINE_PROTOCOLS = ("family", "source")   # the mean held-out EER the card and README quote
# Verdict bands from held-out parts: at most this share of a fold's never-heard clips in a confident
# band of the wrong class (the confident-error target).
HELDOUT_BAND_ERROR = 0.02
VOCODER_FAMILY = "neural_vocoder"


@dataclass(frozen=True)
class Fold:
    """One held-out part of the corpus: ``protocol`` in :data:`PROTOCOLS`, ``held`` its name."""

    protocol: str
    held: str

    @property
    def name(self) -> str:
        return f"{self.protocol}:{self.held}"

    def held_rows(self, frame: pd.DataFrame) -> pd.Series:
        """The rows this fold removes from training and validation."""
        if self.protocol == "family":
            return (frame["label"] == "synthetic") & (frame["family"] == self.held)
        if self.protocol == "vocoder":
            return (frame["family"] == VOCODER_FAMILY) & (frame["generator"] == self.held)
        return frame["source"] == self.held

    def test_masks(self, test: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(genuine, synthetic) test rows this fold is scored on."""
        genuine, synthetic = test["label"] == "genuine", test["label"] == "synthetic"
        held = self.held_rows(test)
        if self.protocol == "source":
            return (genuine & held).to_numpy(), (synthetic & ~held).to_numpy()
        return genuine.to_numpy(), (synthetic & held).to_numpy()


def available_folds(frame: pd.DataFrame, protocols: Iterable[str] = PROTOCOLS) -> list[Fold]:
    """Every fold the corpus can score: each class needs ``MIN_PER_CLASS`` test clips."""
    test = frame[frame["split"] == "test"]
    synthetic = frame[frame["label"] == "synthetic"]
    candidates = {
        "family": sorted(synthetic["family"].unique()),
        "vocoder": sorted(synthetic.loc[synthetic["family"] == VOCODER_FAMILY, "generator"].unique()),
        "source": sorted(frame.loc[frame["label"] == "genuine", "source"].unique()),
    }
    folds = []
    for protocol in protocols:
        if protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {protocol!r}; expected one of {PROTOCOLS}")
        for held in candidates[protocol]:
            fold = Fold(protocol, held)
            negatives, positives = fold.test_masks(test)
            if negatives.sum() >= MIN_PER_CLASS and positives.sum() >= MIN_PER_CLASS:
                folds.append(fold)
    return folds


def fold_calibration(trained: TrainedModel, predict: Callable[[np.ndarray], np.ndarray], frame: pd.DataFrame,
                     cache_root: str | Path) -> Calibration | None:
    """The fold model's calibration on its own validation clips, or ``None`` when it is no better than chance.

    A short fold recipe can leave validation at chance; its EER is still reported
    (it needs no calibration), only the confident-band rates are not.
    """
    val = frame[frame["split"] == "val"]
    clips, _ = build_clipset(val, trained.features, cache_root)
    try:
        calibration, _ = calibrate(score_clips(predict, clips.features, trained.features),
                                   clips.labels)
    except ValueError:
        return None
    return calibration


def heldout_edges(held: pd.DataFrame, trained: TrainedModel, predict: Callable[[np.ndarray], np.ndarray],
                  calibration: Calibration, cache_root: str | Path) -> dict[str, Any]:
    """Band edges that keep ``HELDOUT_BAND_ERROR`` of the fold's held-out TRAIN and VAL clips out of the wrong band.

    Those clips left training with the fold, so the fold model never heard them, and
    they are not test clips: bands chosen on them are not chosen on the test split.
    """
    clips, _ = build_clipset(held, trained.features, cache_root)
    if not len(clips):
        return {"genuine_below": None, "synthetic_above": None, "genuine_clips": 0, "synthetic_clips": 0}
    logits = score_clips(predict, clips.features, trained.features)[calibration.aggregation]
    p, labels = calibration.probability(logits), np.asarray(clips.labels)
    synthetic, genuine = p[labels == 1], p[labels == 0]
    return {"genuine_below": edge_below(synthetic, HELDOUT_BAND_ERROR) if len(synthetic) >= MIN_PER_CLASS else None,
            "synthetic_above": edge_above(genuine, HELDOUT_BAND_ERROR) if len(genuine) >= MIN_PER_CLASS else None,
            "genuine_clips": int(len(genuine)), "synthetic_clips": int(len(synthetic))}


def run_fold(frame: pd.DataFrame, fold: Fold, config: TrainConfig, cache_root: str | Path,
             log: ProgressLog) -> dict[str, Any]:
    """Retrain without ``fold``'s part, calibrate on what validation has left, score the fold.

    The entry also carries the fold's test probabilities and labels under the private
    key ``_scored`` (for :func:`rates_at_bands`; :func:`run_heldout` drops it).
    """
    started = time.monotonic()
    held = fold.held_rows(frame) & frame["split"].isin(["train", "val"])
    seen = frame[~held].reset_index(drop=True)
    trained = train_model(seen, config, cache_root, log, calibrated=False)
    predict = keras_predictor(trained.model)   # one compiled forward pass for validation and test
    calibration = fold_calibration(trained, predict, seen, cache_root)
    test = frame[frame["split"] == "test"].reset_index(drop=True)
    negatives, positives = fold.test_masks(test)
    scored = test[negatives | positives].reset_index(drop=True)
    clips, errors = build_clipset(scored, trained.features, cache_root)
    logits = score_clips(predict, clips.features, trained.features)
    aggregation = calibration.aggregation if calibration else AGGREGATIONS[0]
    entry = group_eer(clips.labels, logits[aggregation])
    if calibration is None:
        entry.update(synthetic_called_genuine=None, genuine_called_synthetic=None,
                     bands_note="validation at chance: no calibration, no verdict bands")
    else:
        probabilities = calibration.probability(logits[aggregation])
        bands = band_report(probabilities, clips.labels, calibration)
        entry.update(synthetic_called_genuine=bands["synthetic_called_genuine"],
                     genuine_called_synthetic=bands["genuine_called_synthetic"],
                     band_edges=heldout_edges(frame[held].reset_index(drop=True), trained, predict, calibration,
                                              cache_root),
                     _scored=(probabilities, np.asarray(clips.labels)))
    entry.update(aggregation=aggregation, skipped_clips=len(errors), val_eer_seen=trained.val_eer,
                 epochs_run=trained.counts["epochs_run"], train_s=round(time.monotonic() - started, 1))
    return entry


def heldout_bands(folds: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The strictest edges over the folds: every fold kept its never-heard clips within the allowed error."""
    edges = [v["band_edges"] for v in folds.values() if v.get("band_edges")]
    below = [e["genuine_below"] for e in edges if e["genuine_below"] is not None]
    above = [e["synthetic_above"] for e in edges if e["synthetic_above"] is not None]
    if not below or not above:
        return None
    return {"genuine_below": min(below), "synthetic_above": max(above), "max_error": HELDOUT_BAND_ERROR,
            "folds": len(edges)}


def rates_at_bands(folds: dict[str, dict[str, Any]], bands: dict[str, Any]) -> None:
    """Add each fold's test confident-error rates at the held-out bands (in place)."""
    for entry in folds.values():
        scored = entry.pop("_scored", None)
        if scored is None:
            continue
        p, labels = scored
        entry["at_heldout_bands"] = {
            "synthetic_called_genuine": float(np.mean(p[labels == 1] < bands["genuine_below"])),
            "genuine_called_synthetic": float(np.mean(p[labels == 0] >= bands["synthetic_above"]))}


def _largest(folds: dict[str, dict[str, Any]], key: str) -> float | None:
    values = [v[key] for v in folds.values() if v.get(key) is not None]
    return max(values) if values else None


def summarise(folds: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Mean held-out EER (family and source folds together), per protocol and worst fold."""
    def eers(protocols: Iterable[str]) -> list[float]:
        return [v["eer"] for k, v in folds.items() if k.split(":")[0] in protocols and v.get("eer") is not None]

    headline = eers(HEADLINE_PROTOCOLS)
    worst = max(((k, v["eer"]) for k, v in folds.items() if v.get("eer") is not None), key=lambda kv: kv[1],
                default=(None, None))
    return {
        "mean_eer": float(np.mean(headline)) if headline else None,
        "mean_eer_by_protocol": {p: float(np.mean(eers([p]))) for p in PROTOCOLS if eers([p])},
        "worst_fold": {"fold": worst[0], "eer": worst[1]},
        "max_synthetic_called_genuine": _largest(folds, "synthetic_called_genuine"),
        "max_genuine_called_synthetic": _largest(folds, "genuine_called_synthetic"),
        "bands": heldout_bands(folds),
    }


def run_heldout(frame: pd.DataFrame, config: TrainConfig, cache_root: str | Path, run_dir: str | Path,
                folds: list[Fold] | None = None, epochs: int | None = None, max_minutes: float | None = None,
                quiet: bool = False, previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run the held-out folds (default: every available one) and summarise them.

    Parameters
    ----------
    frame : pd.DataFrame
        The corpus manifest.
    config : TrainConfig
        The recipe to retrain with; ``epochs``/``max_minutes`` shorten it for the folds.
    folds : list of Fold, optional
        The folds to run; results of other folds in ``previous`` (an earlier
        ``heldout`` entry of ``metrics.json``) are kept.

    Returns
    -------
    dict
        ``folds`` (fold name -> figures), the summary of :func:`summarise`, and the recipe used.
    """
    folds = folds if folds is not None else available_folds(frame)
    fold_config = replace(config, epochs=epochs or config.epochs,
                          max_minutes=max_minutes if max_minutes is not None else config.max_minutes)
    results: dict[str, Any] = dict((previous or {}).get("folds", {}))
    for fold in folds:
        log = ProgressLog(Path(run_dir) / fold.name.replace(":", "-"), quiet=quiet)
        results[fold.name] = run_fold(frame, fold, fold_config, cache_root, log)
        log.event("done", fold=fold.name, eer=results[fold.name]["eer"])
    results = dict(sorted(results.items()))
    summary = summarise(results)
    if summary["bands"]:
        rates_at_bands(results, summary["bands"])
        summary["max_at_heldout_bands"] = {
            key: max((v["at_heldout_bands"][key] for v in results.values() if "at_heldout_bands" in v), default=None)
            for key in ("synthetic_called_genuine", "genuine_called_synthetic")}
    for entry in results.values():
        entry.pop("_scored", None)
    return {"folds": results, **summary, "epochs": fold_config.epochs,
            "max_minutes": fold_config.max_minutes, "arch": config.arch, "feature": config.feature}


def parse_folds(frame: pd.DataFrame, names: list[str] | None, protocols: list[str] | None) -> list[Fold]:
    """Folds from ``protocol:held`` names and/or whole protocols (default: everything available)."""
    chosen = available_folds(frame, protocols or PROTOCOLS)
    if names:
        known = {f.name: f for f in available_folds(frame)}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"unknown fold(s) {unknown}; this corpus has {sorted(known)}")
        chosen = [known[n] for n in names]
    return chosen

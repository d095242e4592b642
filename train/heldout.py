"""Held-out protocols: retrain without part of the corpus, then score what the model never heard.

A journalist's question is "would it catch a synthesiser it has never heard, without
flagging real people it has never heard?". Each fold answers it for one part of the
corpus, removed from train AND validation (so neither stopping, calibration nor model
choice sees it):

* ``family:F`` -- leave one synthetic family out; its test clips against all genuine
  test clips.
* ``neural_vocoder:G`` -- leave one generator of the ``neural_vocoder`` family out (e.g.
  HiFi-GAN); the other stays in training.
* ``source:S`` -- leave one genuine recording source out, with the synthetic copies made
  from its recordings (they carry its channel); its genuine test clips against the
  synthetic test clips of every other source: false alarms on a source never heard.

Every fold reports its EER and, at the verdict bands its own calibration set on
validation, the share of held-out synthetic clips called *likely genuine* and of
held-out genuine clips called *likely synthetic*. The headline is the mean EER of the
family and source folds.

One engine runs every kind of model: :func:`run_fold` takes a *fit step* (a CNN retrained
by :mod:`train.heldout_cnn`, an encoder head refitted by :mod:`train.encoder.bakeoff`) and
returns a typed :class:`~detector.model_report.FoldResult`; :func:`summarise` and
:func:`final_bands` apply one band rule (edges carried from fold models to the final model
by rank, :func:`final_bands` says why) and :func:`rates_at` one way of measuring each fold at
the shipped bands. The same :class:`Fold`, :func:`part_masks` and :func:`part_eer` serve
:mod:`train.screen` and :func:`train.evaluate.breakdown`. This module imports no TensorFlow.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Protocol

import numpy as np
import pandas as pd

from detector.calibration import Calibration
from detector.heldout_report import (
    BandRates,
    FoldResult,
    FoldScores,
    HeldOutReport,
    HeldScores,
)
from detector.metrics import compute_eer
from detector.vocabulary import NEURAL_VOCODER_FAMILY, PROTOCOLS
from train.calibrate import band_report
from train.heldout_bands import MIN_PER_CLASS, fold_edges

HEADLINE_PROTOCOLS = ("family", "source")   # the mean held-out EER the card and README quote


@dataclass(frozen=True)
class Fold:
    """One held-out part of the corpus: ``protocol`` in :data:`PROTOCOLS`, ``held`` its name."""

    protocol: str
    held: str

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS or not self.held:
            raise ValueError(f"a held-out part is protocol:name with protocol in {PROTOCOLS}, e.g. family:formant; "
                             f"got {self.name!r}")

    @classmethod
    def parse(cls, name: str) -> "Fold":
        """The fold named ``protocol:held`` (e.g. ``family:formant``); ``held`` may itself contain colons."""
        protocol, _, held = name.partition(":")
        return cls(protocol, held)

    @property
    def name(self) -> str:
        return f"{self.protocol}:{self.held}"

    def held_rows(self, frame: pd.DataFrame) -> np.ndarray:
        """The rows this fold removes from training and validation."""
        if self.protocol == "family":
            rows = (frame["label"] == "synthetic") & (frame["family"] == self.held)
        elif self.protocol == NEURAL_VOCODER_FAMILY:
            rows = (frame["family"] == NEURAL_VOCODER_FAMILY) & (frame["generator"] == self.held)
        elif self.protocol == "channel":
            rows = frame["channel"] == self.held
        else:
            rows = frame["source"] == self.held
        return rows.to_numpy()

    def test_masks(self, test: pd.DataFrame, others: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(genuine, synthetic) rows of ``test`` this fold is scored on (see :func:`part_masks`).

        A channel fold is scored on both classes of its own channel: the rest never heard either.
        """
        if self.protocol == "channel":
            part = self.held_rows(test)
            synthetic = (test["label"] == "synthetic").to_numpy()
            return ~synthetic & part, synthetic & part
        return part_masks((test["label"] == "synthetic").to_numpy(), self.held_rows(test), self.protocol == "source",
                          others)


def part_masks(synthetic: np.ndarray, part: np.ndarray, genuine_part: bool,
               others: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(genuine, synthetic) rows that score one part "against the rest"; ``synthetic`` marks each row's class.

    A synthetic part (a family, a generator) is scored against the genuine rows of
    ``others``; a genuine part (a recording source) is scored with its genuine rows
    against the synthetic rows of ``others``. ``others`` defaults to every row outside
    the part; a screen passes the rows no held part touched.
    """
    synthetic = np.asarray(synthetic, dtype=bool)
    genuine = ~synthetic
    rest = ~part if others is None else others
    if genuine_part:
        return genuine & part, synthetic & rest
    return genuine & rest, synthetic & part


def part_eer(labels: np.ndarray, logits: np.ndarray) -> tuple[float | None, str | None]:
    """EER of a part (labels 1 = synthetic), or ``None`` and why: the one minimum-clips rule."""
    positives, negatives = int(np.sum(labels == 1)), int(np.sum(labels == 0))
    if positives < MIN_PER_CLASS or negatives < MIN_PER_CLASS:
        return None, f"fewer than {MIN_PER_CLASS} clips of a class"
    return float(compute_eer(labels, logits)[0]), None


def available_folds(frame: pd.DataFrame, protocols: Iterable[str] = PROTOCOLS) -> list[Fold]:
    """Every fold the corpus can score: ``MIN_PER_CLASS`` test clips of each class, and as many left to train on."""
    test, train = frame[frame["split"] == "test"], frame[frame["split"] == "train"]
    synthetic = frame[frame["label"] == "synthetic"]
    candidates = {
        "family": sorted(synthetic["family"].unique()),
        NEURAL_VOCODER_FAMILY: sorted(
            synthetic.loc[synthetic["family"] == NEURAL_VOCODER_FAMILY, "generator"].unique()),
        "source": sorted(frame.loc[frame["label"] == "genuine", "source"].unique()),
        # Channel folds only where the classes were measured, never of clips the decoder refused.
        "channel": sorted(set(frame["channel"]) - {"unreadable"}) if "channel" in frame.columns else [],
    }
    folds = []
    for protocol in protocols:
        if protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {protocol!r}; expected one of {PROTOCOLS}")
        for held in candidates[protocol]:
            fold = Fold(protocol, held)
            negatives, positives = fold.test_masks(test)
            # ...and training without the part keeps both classes (a channel fold of the only measured class does not).
            kept = train.loc[~fold.held_rows(train), "label"].value_counts()
            if (negatives.sum() >= MIN_PER_CLASS and positives.sum() >= MIN_PER_CLASS
                    and min(kept.get("genuine", 0), kept.get("synthetic", 0)) >= MIN_PER_CLASS):
                folds.append(fold)
    return folds


class FoldModel(Protocol):
    """What a fit step returns: a model trained without one fold's part, able to score any corpus rows.

    Attributes
    ----------
    calibration : Calibration or None
        Fitted on the model's own validation clips; ``None`` when validation is at chance.
    validation : tuple of np.ndarray
        (probabilities, labels) of its own validation clips (empty without a calibration).
    facts : dict
        How it was trained, for the fold's record (``val_eer_seen``, ``epochs_run``).
    """

    calibration: Calibration | None
    validation: tuple[np.ndarray, np.ndarray]
    facts: dict[str, Any]

    def score(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        """(raw clip logits, labels, clips skipped) of the corpus rows where ``rows`` is true."""


# A fit step: the corpus rows a fold leaves in (train and validation may use only them) -> the fold's model.
FitStep = Callable[[np.ndarray], FoldModel]


def run_fold(frame: pd.DataFrame, fold: Fold, fit: FitStep) -> FoldResult:
    """Fit without ``fold``'s part, calibrate on what validation has left, and score what the model never heard.

    The one fold runner for every kind of model: ``fit`` trains a CNN (:mod:`train.heldout_cnn`) or
    refits an encoder head (:mod:`train.encoder.bakeoff`). The result holds the fold's EER, its
    confident errors at its own validation bands, the edges its never-heard train and validation
    clips allow (as probabilities and as ranks), and the scores to recompute rates at other edges.
    When ``frame`` has a measured ``channel`` column (:func:`train.channels.with_channels`), the
    scores keep each test clip's class and the edges are also found per class.
    """
    started = time.monotonic()
    channels = frame["channel"].to_numpy() if "channel" in frame.columns else None
    halves = speaker_halves(frame) if channels is not None else None
    held = fold.held_rows(frame) & frame["split"].isin(["train", "val"]).to_numpy()
    model = fit(~held)
    negatives, positives = fold.test_masks(frame)
    logits, labels, skipped, classes, _ = _scored(model, (frame["split"] == "test").to_numpy() & (negatives | positives),
                                                  channels)
    eer, note = part_eer(labels, logits)
    result = FoldResult(n_genuine=int(np.sum(labels == 0)), n_synthetic=int(np.sum(labels == 1)), eer=eer, note=note,
                        aggregation=model.calibration.aggregation if model.calibration else None,
                        skipped_clips=skipped, train_s=round(time.monotonic() - started, 1),
                        val_eer_seen=model.facts.get("val_eer_seen"), epochs_run=model.facts.get("epochs_run"))
    if model.calibration is None:
        return replace(result, note="validation at chance: no calibration, no verdict bands")
    p = np.asarray(model.calibration.probability(logits), dtype=float)
    bands = band_report(p, labels, model.calibration)
    held_logits, held_labels, _, held_classes, held_halves = _scored(model, held, channels, halves)
    held_p = np.asarray(model.calibration.probability(held_logits), dtype=float)
    val_p, val_y = model.validation
    per_class = {c: fold_edges(held_p[held_classes == c], held_labels[held_classes == c], model.validation)
                 for c in sorted(set(held_classes.tolist()))} if channels is not None else {}
    return replace(result,
                   own_bands=BandRates(bands["synthetic_called_genuine"], bands["genuine_called_synthetic"]),
                   band_edges=fold_edges(held_p, held_labels, model.validation), channel_edges=per_class,
                   scores=FoldScores(_rounded(p), [int(x) for x in labels], _rounded(val_p[val_y == 0]),
                                     _rounded(val_p[val_y == 1]), [str(c) for c in classes],
                                     HeldScores(_rounded(held_p), [int(x) for x in held_labels],
                                                [str(c) for c in held_classes], [int(h) for h in held_halves])
                                     if channels is not None else None))


def speaker_halves(frame: pd.DataFrame) -> np.ndarray:
    """Each row's speaker drawn into half 0 or 1 by a stable digest of its name (the same on every machine)."""
    return np.array([int(hashlib.sha1(str(s).encode("utf-8")).hexdigest()[:8], 16) % 2 for s in frame["speaker"]],
                    dtype=int)


def _scored(model: FoldModel, rows: np.ndarray, channels: np.ndarray | None,
            halves: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, int, np.ndarray, np.ndarray]:
    """(logits, labels, clips skipped, each clip's class, each clip's speaker half) of ``rows``.

    The clips are scored one group (class and half) at a time, so every score knows its group
    whatever clips a model skips. Without measured ``channels`` they are scored together and
    their classes and halves are empty.
    """
    if channels is None:
        logits, labels, skipped = model.score(rows)
        return np.asarray(logits), np.asarray(labels), skipped, np.array([], dtype=str), np.array([], dtype=int)
    halves = np.zeros(len(rows), dtype=int) if halves is None else halves
    groups = sorted({(c, int(h)) for c, h in zip(channels[rows].tolist(), halves[rows].tolist())})
    parts = [(c, h, *model.score(rows & (channels == c) & (halves == h))) for c, h in groups]
    if not parts:
        return np.zeros(0), np.zeros(0, dtype=int), 0, np.array([], dtype=str), np.array([], dtype=int)
    return (np.concatenate([np.asarray(p[2], dtype=float) for p in parts]),
            np.concatenate([np.asarray(p[3], dtype=int) for p in parts]), sum(p[4] for p in parts),
            np.concatenate([np.full(len(p[2]), p[0], dtype=object) for p in parts]).astype(str),
            np.concatenate([np.full(len(p[2]), p[1], dtype=int) for p in parts]))


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(x), 6) for x in values]


def summarise(folds: dict[str, FoldResult], **recipe: Any) -> HeldOutReport:
    """Mean held-out EER (family and source folds together), per protocol, and the worst fold; a new report.

    ``recipe`` fills the report's record of how the folds were trained (``epochs``,
    ``max_minutes``, ``arch``, ``feature``, ``recipe``). Everything is computed over all of
    ``folds`` (never changed), so a rerun of some folds recomputes it whole. The bands need the
    final model's validation scores: :func:`final_bands`.
    """
    def eers(protocols: Iterable[str]) -> list[float]:
        return [v.eer for k, v in folds.items() if Fold.parse(k).protocol in protocols and v.eer is not None]

    headline = eers(HEADLINE_PROTOCOLS)
    measured = {k: v.eer for k, v in folds.items() if v.eer is not None}
    return HeldOutReport(
        folds=dict(sorted(folds.items())),
        mean_eer=float(np.mean(headline)) if headline else None,
        mean_eer_by_protocol={p: float(np.mean(eers([p]))) for p in PROTOCOLS if eers([p])},
        worst_fold=max(measured, key=measured.get) if measured else None, **recipe)


def run_folds(frame: pd.DataFrame, folds: list[Fold], fit_for: Callable[[Fold], FitStep],
              previous: HeldOutReport | None = None, on_fold: Callable[[str, FoldResult], None] | None = None,
              **recipe: Any) -> HeldOutReport:
    """Run ``folds`` (``fit_for(fold)`` is each one's fit step) and summarise them with the other folds in ``previous``."""
    results = dict(previous.folds) if previous is not None else {}
    for fold in folds:
        results[fold.name] = run_fold(frame, fold, fit_for(fold))
        if on_fold is not None:
            on_fold(fold.name, results[fold.name])
    return summarise(results, **recipe)


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

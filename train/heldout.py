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
from typing import Any, Callable, Iterable, Protocol, Sequence

import numpy as np
import pandas as pd

from detector.calibration import Calibration
from detector.heldout_report import (
    BandEdges,
    BandRates,
    FoldEdges,
    FoldResult,
    FoldScores,
    HeldOutBands,
    HeldOutReport,
    HeldScores,
)
from detector.metrics import compute_eer
from detector.vocabulary import NEURAL_VOCODER_FAMILY, PROTOCOLS
from train.calibrate import band_report, class_rates, edge_above, edge_below

HEADLINE_PROTOCOLS = ("family", "source")   # the mean held-out EER the card and README quote
# Verdict bands from held-out parts: at most this share of a fold's never-heard clips in a confident
# band of the wrong class (the confident-error target).
HELDOUT_BAND_ERROR = 0.02
# The one minimum-clips rule: fewer clips of a class than this, and a part's EER is not reported (folds, screen,
# breakdown) and a fold's never-heard clips of that class set no edge.
MIN_PER_CLASS = 5
RANK_EDGE_FLOOR = 1e-4   # an edge carried by rank never reaches 0 or 1 (far below any shipped edge: 0.0108)


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
    """Every fold the corpus can score: each class needs ``MIN_PER_CLASS`` test clips."""
    test = frame[frame["split"] == "test"]
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
            if negatives.sum() >= MIN_PER_CLASS and positives.sum() >= MIN_PER_CLASS:
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


def rank_of(edge: float, reference: np.ndarray) -> float:
    """Where ``edge`` lies among ``reference`` scores: the share of them below it."""
    return float(np.mean(np.asarray(reference) < edge)) if len(reference) else float("nan")


def at_rank(reference: Sequence[float], rank: float) -> float:
    """The score at ``rank`` among ``reference``: the inverse of :func:`rank_of`."""
    return float(np.quantile(np.asarray(reference, dtype=float), min(max(rank, 0.0), 1.0)))


def fold_edges(p: np.ndarray, labels: np.ndarray, validation: tuple[np.ndarray, np.ndarray]) -> FoldEdges:
    """Edges that keep :data:`HELDOUT_BAND_ERROR` of a fold's never-heard clips out of the wrong confident band.

    ``p`` and ``labels`` are the fold model's probabilities of its part's TRAIN and VAL clips:
    they left training with the fold, so the model never heard them, and they are not test
    clips. Each edge is also given as a rank among the model's own validation clips of the
    class it borders, which is how it reaches the final model (:func:`final_bands`).
    """
    synthetic, genuine = p[labels == 1], p[labels == 0]
    val_p, val_y = validation
    below = edge_below(synthetic, HELDOUT_BAND_ERROR) if len(synthetic) >= MIN_PER_CLASS else None
    above = edge_above(genuine, HELDOUT_BAND_ERROR) if len(genuine) >= MIN_PER_CLASS else None
    return FoldEdges(genuine_below=below, synthetic_above=above, genuine_clips=int(len(genuine)),
                     synthetic_clips=int(len(synthetic)),
                     genuine_rank=None if below is None else rank_of(below, val_p[val_y == 0]),
                     synthetic_rank=None if above is None else rank_of(above, val_p[val_y == 1]))


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


def strictest_ranks(folds: dict[str, FoldResult]) -> tuple[float | None, float | None, int] | None:
    """(genuine rank, synthetic rank, folds with edges): the lowest genuine and the highest synthetic rank.

    A rank is ``None`` when no fold set that edge; the whole is ``None`` when no fold set either.
    """
    edges = [v.band_edges for v in folds.values() if v.band_edges is not None]
    below = [e.genuine_rank for e in edges if e.genuine_rank is not None]
    above = [e.synthetic_rank for e in edges if e.synthetic_rank is not None]
    if not below and not above:
        return None
    return min(below, default=None), max(above, default=None), len(edges)


def final_bands(folds: dict[str, FoldResult], validation: tuple[np.ndarray, np.ndarray]) -> HeldOutBands | None:
    """The folds' strictest ranks as edges in the final model's own validation scores.

    The one band rule for every kind of head. A fold model's probability scale is its own, so
    its edge travels as a rank among its validation clips of the bordering class and lands at
    the same rank among the final model's validation clips (a model retrained on more data
    places its validation clips like a fold model does, which a raw probability edge does not
    assume). ``validation`` is the final model's (probabilities, labels).
    """
    ranks = strictest_ranks(folds)
    if ranks is None:
        return None
    genuine_rank, synthetic_rank, count = ranks
    val_p, val_y = (np.asarray(a) for a in validation)
    # Kept inside (0, 1), as a calibration's edges must be: rank 0 of scores that underflow to 0 is no edge.
    below = None if genuine_rank is None else max(at_rank(val_p[val_y == 0], genuine_rank), RANK_EDGE_FLOOR)
    above = None if synthetic_rank is None else min(at_rank(val_p[val_y == 1], synthetic_rank), 1 - RANK_EDGE_FLOOR)
    return HeldOutBands(genuine_below=below, synthetic_above=above, max_error=HELDOUT_BAND_ERROR,
                        folds=count, genuine_rank=genuine_rank, synthetic_rank=synthetic_rank)


def rates_at(report: HeldOutReport, calibration: Calibration,
             validation: tuple[np.ndarray, np.ndarray]) -> HeldOutReport:
    """Every fold's confident errors at ``calibration``'s (the shipped) bands, carried to each fold model by rank.

    The shipped edges are ranked among the final model's validation clips (``validation``:
    its probabilities and labels); each fold is then measured at the same ranks in its own
    model's validation scores. Folds whose scores were not kept, or kept without validation
    scores (reports from before ranks), get ``None``: a rate at other edges would be another figure.
    """
    val_p, val_y = (np.asarray(a) for a in validation)
    genuine_rank = rank_of(calibration.genuine_below, val_p[val_y == 0])
    synthetic_rank = rank_of(calibration.synthetic_above, val_p[val_y == 1])
    folds = {}
    for name, fold in report.folds.items():
        rates = None
        if fold.scores is not None and fold.scores.val_genuine and fold.scores.val_synthetic:
            low, high = at_rank(fold.scores.val_genuine, genuine_rank), at_rank(fold.scores.val_synthetic,
                                                                                synthetic_rank)
            rates = BandRates(*class_rates(fold.scores.probabilities, fold.scores.labels, low, high))
        folds[name] = replace(fold, at_shipped_bands=rates)
    return replace(report, folds=folds,
                   rates_measured_at=BandEdges(calibration.genuine_below, calibration.synthetic_above),
                   ranks_measured_at=BandEdges(genuine_rank, synthetic_rank))


def has_scores(report: HeldOutReport) -> bool:
    """Whether any fold kept its test and validation scores (older results cannot be rescored at new bands)."""
    return any(fold.scores is not None and fold.scores.val_genuine for fold in report.folds.values())


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

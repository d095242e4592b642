"""The one band rule of the held-out engine: edges from fold models, carried to the final model by rank.

A fold model's probabilities are on its own scale, so an edge it allows travels as a *rank*
among its own validation clips of the class it borders (:func:`fold_edges`), and lands at
the same rank among the final model's validation clips (:func:`final_bands`); every fold is
measured at the shipped edges the same way back (:func:`rates_at`). :mod:`train.heldout`
runs the folds; :mod:`train.channel_bands` applies the rule per measured channel class.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np

from detector.calibration import Calibration
from detector.heldout_report import BandEdges, BandRates, FoldEdges, FoldResult, HeldOutBands, HeldOutReport
from train.calibrate import class_rates, edge_above, edge_below

# Verdict bands from held-out parts: at most this share of a fold's never-heard clips in a confident
# band of the wrong class (the confident-error target).
HELDOUT_BAND_ERROR = 0.02
# The one minimum-clips rule: fewer clips of a class than this, and a part's EER is not reported (folds, screen,
# breakdown) and a fold's never-heard clips of that class set no edge.
MIN_PER_CLASS = 5
RANK_EDGE_FLOOR = 1e-4   # an edge carried by rank never reaches 0 or 1 (far below any shipped edge: 0.0108)


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



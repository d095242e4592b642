"""Calibration on the validation split: Platt scaling and verdict bands.

The model's clip logit becomes ``p = sigmoid(scale * logit + bias)``. Platt's
method is used as published (targets ``(N+ + 1)/(N+ + 2)`` and ``1/(N- + 2)``),
which keeps the scale finite even when validation is perfectly separated, with
class-balanced weights so that ``p = 0.5`` sits at the balanced-error point.
Bands are chosen so that on validation at most ``max_band_error`` of the
synthetic clips land in "likely genuine" and of the genuine clips in "likely
synthetic". The test split is never used here.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from scipy.optimize import minimize

from detector.calibration import AGGREGATIONS, Calibration, sigmoid
from detector.metrics import compute_eer

MAX_BAND_ERROR = 0.01   # share of a class allowed in the band of the other class (validation)
MIN_BAND = 0.02         # bands never reach 0 or 1 exactly
MIN_UNCERTAIN = 0.2     # the uncertain band is at least [0.4, 0.6]: validation cannot show unseen voices


def fit_platt(logits: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Fit ``(scale, bias)`` of Platt scaling by weighted maximum likelihood.

    Parameters
    ----------
    logits : np.ndarray
        Clip logits on the validation split.
    labels : np.ndarray
        1 = synthetic, 0 = genuine; both classes must be present.

    Returns
    -------
    scale, bias : float
        ``scale`` is positive for any model better than chance.

    Raises
    ------
    ValueError
        A single class, or a model whose validation scores are inverted.
    """
    logits = np.asarray(logits, dtype=np.float64).ravel()
    labels = np.asarray(labels).astype(int).ravel()
    positives, negatives = int(labels.sum()), int((1 - labels).sum())
    if positives == 0 or negatives == 0:
        raise ValueError("calibration needs both classes in the validation split")
    targets = np.where(labels == 1, (positives + 1.0) / (positives + 2.0), 1.0 / (negatives + 2.0))
    weights = np.where(labels == 1, 0.5 / positives, 0.5 / negatives)  # balanced classes
    spread = float(np.std(logits)) or 1.0  # optimise on a unit scale for conditioning

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        z = params[0] * logits / spread + params[1]
        log_p, log_q = -np.logaddexp(0.0, -z), -np.logaddexp(0.0, z)
        value = -np.sum(weights * (targets * log_p + (1 - targets) * log_q))
        residual = weights * (sigmoid(z) - targets)
        return float(value), np.array([np.sum(residual * logits / spread), np.sum(residual)])

    result = minimize(loss, x0=np.array([1.0, 0.0]), jac=True, method="L-BFGS-B")
    scale, bias = float(result.x[0]) / spread, float(result.x[1])
    if scale <= 0:
        raise ValueError("validation scores are inverted (synthetic clips score lower); refusing to calibrate")
    return scale, bias


def edge_below(synthetic: np.ndarray, max_error: float = MAX_BAND_ERROR) -> float:
    """The highest ``genuine_below`` edge with at most ``max_error`` of these synthetic clips below it."""
    synthetic = np.sort(np.asarray(synthetic, dtype=np.float64).ravel())
    edge = float(synthetic[int(np.floor(max_error * len(synthetic)))]) if len(synthetic) else 0.5
    return float(np.clip(edge, MIN_BAND, 0.5 - MIN_UNCERTAIN / 2))


def edge_above(genuine: np.ndarray, max_error: float = MAX_BAND_ERROR) -> float:
    """The lowest ``synthetic_above`` edge with at most ``max_error`` of these genuine clips at or above it."""
    genuine = np.sort(np.asarray(genuine, dtype=np.float64).ravel())[::-1]
    edge = float(np.nextafter(genuine[int(np.floor(max_error * len(genuine)))], 1.0)) if len(genuine) else 0.5
    return float(np.clip(edge, 0.5 + MIN_UNCERTAIN / 2, 1.0 - MIN_BAND))


def choose_bands(probabilities: np.ndarray, labels: np.ndarray, max_error: float = MAX_BAND_ERROR) -> tuple[float, float]:
    """Band edges ``(genuine_below, synthetic_above)`` from validation probabilities.

    ``genuine_below`` is the highest edge with at most ``max_error`` of the synthetic
    clips below it; ``synthetic_above`` the lowest with at most ``max_error`` of the
    genuine clips at or above it; both are kept outside the central uncertain band.
    """
    p = np.asarray(probabilities, dtype=np.float64).ravel()
    labels = np.asarray(labels).astype(int).ravel()
    return edge_below(p[labels == 1], max_error), edge_above(p[labels == 0], max_error)


def class_rates(probabilities: np.ndarray, labels: np.ndarray, genuine_below: float,
                synthetic_above: float) -> tuple[float, float]:
    """(synthetic called genuine, genuine called synthetic): each class's share in the other's confident band.

    Per-class rates do not depend on the class mix of the evaluated split; a class with no
    clips has rate 0.
    """
    p = np.asarray(probabilities, dtype=np.float64).ravel()
    labels = np.asarray(labels).astype(int).ravel()
    synthetic, genuine = p[labels == 1], p[labels == 0]
    return (float(np.mean(synthetic < genuine_below)) if len(synthetic) else 0.0,
            float(np.mean(genuine >= synthetic_above)) if len(genuine) else 0.0)


def band_report(probabilities: np.ndarray, labels: np.ndarray, calibration: Calibration) -> dict[str, Any]:
    """Share of clips in each band and the error inside the two confident bands."""
    p = np.asarray(probabilities, dtype=np.float64).ravel()
    labels = np.asarray(labels).astype(int).ravel()
    low, high = p < calibration.genuine_below, p >= calibration.synthetic_above
    middle = ~(low | high)
    called_genuine, called_synthetic = class_rates(p, labels, calibration.genuine_below, calibration.synthetic_above)
    return {
        "likely_genuine": {"share": float(low.mean()), "synthetic_inside": int(np.sum(low & (labels == 1))),
                           "error": float(np.mean(labels[low] == 1)) if low.any() else 0.0},
        "uncertain": {"share": float(middle.mean()), "count": int(middle.sum())},
        "likely_synthetic": {"share": float(high.mean()), "genuine_inside": int(np.sum(high & (labels == 0))),
                             "error": float(np.mean(labels[high] == 0)) if high.any() else 0.0},
        "synthetic_called_genuine": called_genuine,
        "genuine_called_synthetic": called_synthetic,
    }


def calibrate(val_scores: dict[str, np.ndarray], labels: np.ndarray, max_error: float = MAX_BAND_ERROR) -> tuple[Calibration, dict[str, Any]]:
    """Choose the aggregation, fit Platt scaling and the bands, all on validation.

    Parameters
    ----------
    val_scores : dict
        ``{"mean_logit": ..., "max_logit": ...}`` per validation clip.
    labels : np.ndarray
        Validation labels.

    Returns
    -------
    calibration : Calibration
    report : dict
        Validation EER per aggregation, the chosen one, and the band report.

    Raises
    ------
    ValueError
        A model no better than chance on validation (it must not be shipped).
    """
    eers = {name: compute_eer(labels, val_scores[name])[0] for name in AGGREGATIONS if name in val_scores}
    aggregation = min(eers, key=lambda name: (eers[name], name != "mean_logit"))  # ties: the default
    if eers[aggregation] >= 0.5:
        raise ValueError(f"the model is no better than chance on the validation split (EER {eers[aggregation]:.1%}); "
                         "nothing was exported: train longer or on more data")
    scale, bias = fit_platt(val_scores[aggregation], labels)
    platt = Calibration(scale=scale, bias=bias, method="platt", aggregation=aggregation)
    probabilities = platt.probability(val_scores[aggregation])
    genuine_below, synthetic_above = choose_bands(probabilities, labels, max_error)
    calibration = replace(platt, genuine_below=genuine_below, synthetic_above=synthetic_above)
    report = {"val_eer_by_aggregation": eers, "aggregation": aggregation, "max_band_error": max_error,
              "val_bands": band_report(probabilities, labels, calibration),
              "decision_logit": calibration.decision_logit}
    return calibration, report

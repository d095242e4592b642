"""Detection metrics: ROC, EER, DET and threshold statistics (numpy only).

Convention everywhere: label 1 = synthetic (the positive, "spoof" class), 0 = genuine;
a higher score means "more likely synthetic".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _validate(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels).astype(int).ravel()
    scores = np.asarray(scores, dtype=np.float64).ravel()
    if labels.shape != scores.shape:
        raise ValueError("labels and scores must have the same length")
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores must be finite")
    if set(np.unique(labels)) - {0, 1}:
        raise ValueError("labels must be 0 (genuine) or 1 (synthetic)")
    if labels.min(initial=1) == labels.max(initial=0) or labels.size == 0:
        raise ValueError("both classes are needed to compute an error rate")
    return labels, scores


def roc_points(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False-positive rate, true-positive rate and thresholds, from strictest to loosest.

    Tied scores form one point, so ties cannot make a classifier look better than it is.
    The first point is (0, 0) at threshold +inf.
    """
    labels, scores = _validate(labels, scores)
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores, sorted_labels = scores[order], labels[order]
    distinct = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(sorted_scores) - 1]
    true_pos = np.cumsum(sorted_labels)[distinct]
    false_pos = (distinct + 1) - true_pos
    tpr = np.r_[0.0, true_pos / labels.sum()]
    fpr = np.r_[0.0, false_pos / (len(labels) - labels.sum())]
    thresholds = np.r_[np.inf, sorted_scores[distinct]]
    return fpr, tpr, thresholds


def compute_eer(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """Equal error rate and the score threshold where it occurs.

    The ROC is linearly interpolated between its points and the crossing of
    FPR with FNR = 1 - TPR is found exactly, so ties and small sets give the
    interpolated value (e.g. 0.5 for a constant score), not a step artefact.

    Returns
    -------
    eer : float
        In [0, 1].
    threshold : float
        Scores >= threshold are called synthetic at the EER operating point.
    """
    fpr, tpr, thresholds = roc_points(labels, scores)
    fnr = 1.0 - tpr
    diff = fpr - fnr  # rises from -1 to +1 along the curve
    crossing = int(np.argmax(diff >= 0))
    if diff[crossing] == 0 or crossing == 0:
        eer = fpr[crossing]
        threshold = thresholds[crossing]
    else:
        i, j = crossing - 1, crossing
        weight = -diff[i] / (diff[j] - diff[i])
        eer = fpr[i] + weight * (fpr[j] - fpr[i])
        hi = thresholds[i] if np.isfinite(thresholds[i]) else thresholds[j]
        threshold = hi + weight * (thresholds[j] - hi)
    return float(eer), float(threshold)


@dataclass
class ThresholdReport:
    """Confusion counts and rates at one decision threshold."""

    threshold: float
    true_genuine: int
    false_synthetic: int
    false_genuine: int
    true_synthetic: int

    @property
    def confusion_matrix(self) -> list[list[int]]:
        """Rows = true class (genuine, synthetic), columns = predicted class."""
        return [[self.true_genuine, self.false_synthetic], [self.false_genuine, self.true_synthetic]]

    @property
    def accuracy(self) -> float:
        total = self.true_genuine + self.false_synthetic + self.false_genuine + self.true_synthetic
        return (self.true_genuine + self.true_synthetic) / total if total else 0.0

    @property
    def precision(self) -> float:
        called = self.true_synthetic + self.false_synthetic
        return self.true_synthetic / called if called else 0.0

    @property
    def recall(self) -> float:
        actual = self.true_synthetic + self.false_genuine
        return self.true_synthetic / actual if actual else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_dict(self) -> dict:
        return {
            "threshold": self.threshold,
            "confusion_matrix": self.confusion_matrix,
            "accuracy": self.accuracy,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
        }


def threshold_report(labels: np.ndarray, scores: np.ndarray, threshold: float) -> ThresholdReport:
    """Confusion matrix and rates when scores >= ``threshold`` are called synthetic."""
    labels, scores = _validate(labels, scores)
    called = scores >= threshold
    return ThresholdReport(
        threshold=float(threshold),
        true_genuine=int(np.sum(~called & (labels == 0))),
        false_synthetic=int(np.sum(called & (labels == 0))),
        false_genuine=int(np.sum(~called & (labels == 1))),
        true_synthetic=int(np.sum(called & (labels == 1))),
    )


def det_points(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """False-positive and false-negative rates (DET curve), before the probit warp."""
    fpr, tpr, _ = roc_points(labels, scores)
    return fpr, 1.0 - tpr


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (trapezoidal; ties count half)."""
    fpr, tpr, _ = roc_points(labels, scores)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))

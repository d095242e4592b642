"""EER and threshold statistics against known cases."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

from detector.metrics import auc, compute_eer, det_points, threshold_report


def test_perfect_separation_has_zero_eer():
    eer, threshold = compute_eer([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    assert eer == 0.0
    assert 0.2 < threshold <= 0.8


def test_inverted_scores_have_eer_one():
    eer, _ = compute_eer([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1])
    assert eer == pytest.approx(1.0)


def test_constant_scores_are_chance():
    eer, threshold = compute_eer([0, 1, 0, 1, 1], [0.5] * 5)
    assert eer == pytest.approx(0.5)
    assert threshold == pytest.approx(0.5)


def test_random_scores_are_near_chance(rng):
    labels = rng.integers(0, 2, 20000)
    eer, _ = compute_eer(labels, rng.random(20000))
    assert 0.47 < eer < 0.53


def test_ties_are_one_roc_point():
    # Two tied scores across classes must not be ordered favourably.
    eer, _ = compute_eer([0, 1], [0.5, 0.5])
    assert eer == pytest.approx(0.5)


def test_agrees_with_sklearn_roc(rng):
    labels = rng.integers(0, 2, 3000)
    scores = labels * 1.0 + rng.normal(0, 1.0, 3000)
    fpr, tpr, _ = roc_curve(labels, scores)
    fnr = 1 - tpr
    i = np.nanargmin(np.abs(fnr - fpr))
    eer, threshold = compute_eer(labels, scores)
    assert eer == pytest.approx((fpr[i] + fnr[i]) / 2, abs=2e-3)
    assert auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-9)
    report = threshold_report(labels, scores, threshold)
    far = report.false_synthetic / (labels == 0).sum()
    frr = report.false_genuine / (labels == 1).sum()
    assert far == pytest.approx(eer, abs=2e-3) and frr == pytest.approx(eer, abs=2e-3)


def test_threshold_report_counts():
    report = threshold_report([0, 0, 1, 1, 1], [0.1, 0.7, 0.2, 0.8, 0.9], 0.5)
    assert report.confusion_matrix == [[1, 1], [1, 2]]
    assert report.accuracy == pytest.approx(3 / 5)
    assert report.precision == pytest.approx(2 / 3)
    assert report.recall == pytest.approx(2 / 3)


def test_det_points_are_complementary():
    fpr, fnr = det_points([0, 1, 0, 1], [0.1, 0.4, 0.35, 0.8])
    assert fpr[0] == 0 and fnr[0] == 1 and fpr[-1] == 1 and fnr[-1] == 0


def test_invalid_inputs_raise():
    with pytest.raises(ValueError):
        compute_eer([1, 1], [0.2, 0.3])
    with pytest.raises(ValueError):
        compute_eer([0, 1], [0.2, np.nan])
    with pytest.raises(ValueError):
        compute_eer([0, 2], [0.2, 0.3])

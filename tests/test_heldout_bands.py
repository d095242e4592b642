"""Verdict bands set on held-out folds (train/lofo.py, train/publish.py, train/calibrate.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from train.calibrate import MIN_BAND, edge_above, edge_below
from train.lofo import HELDOUT_BAND_ERROR, heldout_bands, rates_at_bands, summarise


def test_edges_leave_at_most_the_allowed_share_in_the_wrong_band() -> None:
    rng = np.random.default_rng(0)
    synthetic, genuine = rng.uniform(0.0, 1.0, 500), rng.uniform(0.0, 1.0, 500)
    below, above = edge_below(synthetic, 0.02), edge_above(genuine, 0.02)
    assert np.mean(synthetic < below) <= 0.02 and np.mean(genuine >= above) <= 0.02
    # ...and they are the tightest such edges: one step further lets more than 2 % through.
    assert np.mean(synthetic < np.nextafter(below, 1.0)) > 0.02 - 1 / 500
    assert edge_below(np.full(50, 1e-4), 0.02) == MIN_BAND   # never "likely genuine below 0"


def _fold(below, above, p, labels):
    return {"eer": 0.3, "synthetic_called_genuine": 0.1, "genuine_called_synthetic": 0.0,
            "band_edges": {"genuine_below": below, "synthetic_above": above, "genuine_clips": 9, "synthetic_clips": 9},
            "_scored": (np.asarray(p), np.asarray(labels))}


def test_heldout_bands_take_the_strictest_edge_of_every_fold() -> None:
    folds = {"family:a": _fold(0.10, None, [0.05, 0.5, 0.9], [1, 1, 0]),
             "family:b": _fold(0.04, None, [0.03, 0.95], [1, 0]),
             "source:s": _fold(0.20, 0.85, [0.9, 0.6], [0, 1])}
    bands = heldout_bands(folds)
    assert bands == {"genuine_below": 0.04, "synthetic_above": 0.85, "max_error": HELDOUT_BAND_ERROR, "folds": 3}
    rates_at_bands(folds, bands)
    assert folds["family:a"]["at_heldout_bands"]["synthetic_called_genuine"] == 0.0    # 0.05 is above 0.04
    assert folds["family:b"]["at_heldout_bands"]["synthetic_called_genuine"] == 1.0    # 0.03 is below it
    assert folds["source:s"]["at_heldout_bands"]["genuine_called_synthetic"] == 1.0    # 0.9 >= 0.85
    assert all("_scored" not in v for v in folds.values())


def test_no_bands_without_both_edges() -> None:
    folds = {"family:a": _fold(0.1, None, [0.5], [1])}
    assert heldout_bands(folds) is None and summarise(folds)["bands"] is None


def test_applying_heldout_bands_only_narrows_and_keeps_the_validation_edges(tmp_path) -> None:
    from detector.calibration import Calibration
    from train.publish import apply_heldout_bands

    stored = {"scale": 1.5, "bias": -0.2, "genuine_below": 0.08, "synthetic_above": 0.9, "method": "platt",
              "aggregation": "mean_logit"}
    (tmp_path / "calibration.json").write_text(json.dumps(stored))
    content = apply_heldout_bands(tmp_path, {"genuine_below": 0.03, "synthetic_above": 0.8, "max_error": 0.02})
    calibration = Calibration.from_dict(json.loads((tmp_path / "calibration.json").read_text()))
    assert (calibration.genuine_below, calibration.synthetic_above) == (0.03, 0.9)   # 0.8 would widen: kept 0.9
    assert (calibration.scale, calibration.bias) == (1.5, -0.2)
    assert content["validation_bands"] == [0.08, 0.9]
    # Applying again with looser folds goes back no further than validation allowed.
    apply_heldout_bands(tmp_path, {"genuine_below": 0.5, "synthetic_above": 0.6})
    again = json.loads((tmp_path / "calibration.json").read_text())
    assert (again["genuine_below"], again["synthetic_above"]) == (0.08, 0.9)


def test_evaluate_refuses_heldout_bands_without_heldout_results(tmp_path) -> None:
    from train.evaluate.__main__ import main

    version = tmp_path / "store" / "v1"
    version.mkdir(parents=True)
    (version / "model.tflite").write_bytes(b"x")
    (version / "metrics.json").write_text("{}")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "manifest.csv").write_text("file,label,source,speaker,language,family,generator,derived_from,split,"
                                          "condition,duration_s\n")
    with pytest.raises(SystemExit, match="run with --lofo first"):
        main(["--model", "v1", "--corpus", str(corpus), "--store", str(tmp_path / "store"), "--heldout-bands"])


def test_the_card_says_where_the_bands_come_from_and_the_heldout_confident_errors() -> None:
    from train.card import band_source_lines, heldout_band_lines, recipe_lines

    lofo = {"bands": {"genuine_below": 0.03, "synthetic_above": 0.95, "max_error": 0.02, "folds": 13}}
    narrowed = band_source_lines(lofo, {"genuine_below": 0.03, "synthetic_above": 0.97})
    assert "narrowed to what the 13 held-out folds allow" in narrowed[0] and "2.00 %" in narrowed[0]
    assert "set on validation (" in band_source_lines(lofo, {"genuine_below": 0.2, "synthetic_above": 0.8})[0]
    assert "set on validation (" in band_source_lines({}, {"genuine_below": 0.03, "synthetic_above": 0.97})[0]
    folds = {"family:a": {"synthetic_called_genuine": 0.3, "at_heldout_bands": {"synthetic_called_genuine": 0.01}},
             "source:s": {"genuine_called_synthetic": 0.1, "at_heldout_bands": {"genuine_called_synthetic": 0.04}}}
    own, shipped = heldout_band_lines(folds)
    assert "own validation bands: up to 30.00 %" in own and "up to 10.00 %" in own
    assert "shipped bands" in shipped and "up to 1.00 %" in shipped and "up to 4.00 %" in shipped
    assert recipe_lines({"recipe": "full", "loss": "ocsoftmax"}) == [
        "- Recipe `full` (`train/recipes/full.json`); loss: one-class softmax."]
    assert "options changed" in recipe_lines({"recipe": "quick+changes"})[0] and recipe_lines({}) == []


def test_the_card_reports_both_shortcut_audits() -> None:
    from train.card import channel_audit_lines

    audit = {"eer": 0.39, "details": {"channel_audit": {"features": ["language (one-hot)"], "eer": 0.5143}}}
    (line,) = channel_audit_lines(audit)
    assert "language (one-hot)" in line and "51.43 %" in line
    assert channel_audit_lines({"eer": 0.39}) == []


def test_the_card_says_when_a_cosine_head_can_never_say_likely_genuine() -> None:
    from train.card import score_floor_lines

    (line,) = score_floor_lines({"loss": "ocsoftmax"}, {"scale": 4.0, "bias": 2.5, "genuine_below": 0.15})
    assert "never below 0.182" in line and "never calls a clip *likely genuine*" in line
    (line,) = score_floor_lines({"loss": "ocsoftmax"}, {"scale": 4.0, "bias": 2.5, "genuine_below": 0.3})
    assert "never calls" not in line
    assert score_floor_lines({"loss": "bce"}, {"scale": 4.0}) == []

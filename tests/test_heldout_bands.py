"""Verdict bands set on held-out folds (train/heldout.py, train/publish.py, train/calibrate.py)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from detector.calibration import Calibration
from detector.model_report import BandEdges, BandRates, FoldEdges, FoldResult, FoldScores, HeldOutBands
from train.calibrate import MIN_BAND, edge_above, edge_below
from train.config import TrainConfig
from train.heldout import HELDOUT_BAND_ERROR, Fold, heldout_bands, rates_at, summarise


def test_edges_leave_at_most_the_allowed_share_in_the_wrong_band() -> None:
    rng = np.random.default_rng(0)
    synthetic, genuine = rng.uniform(0.0, 1.0, 500), rng.uniform(0.0, 1.0, 500)
    below, above = edge_below(synthetic, 0.02), edge_above(genuine, 0.02)
    assert np.mean(synthetic < below) <= 0.02 and np.mean(genuine >= above) <= 0.02
    # ...and they are the tightest such edges: one step further lets more than 2 % through.
    assert np.mean(synthetic < np.nextafter(below, 1.0)) > 0.02 - 1 / 500
    assert edge_below(np.full(50, 1e-4), 0.02) == MIN_BAND   # never "likely genuine below 0"


def _fold(below, above, p, labels) -> FoldResult:
    return FoldResult(9, 9, eer=0.3, own_bands=BandRates(0.1, 0.0), band_edges=FoldEdges(below, above, 9, 9),
                      scores=FoldScores(list(p), list(labels)))


def test_heldout_bands_take_the_strictest_edge_of_every_fold() -> None:
    folds = {"family:a": _fold(0.10, None, [0.05, 0.5, 0.9], [1, 1, 0]),
             "family:b": _fold(0.04, None, [0.03, 0.95], [1, 0]),
             "source:s": _fold(0.20, 0.85, [0.9, 0.6], [0, 1])}
    assert heldout_bands(folds) == HeldOutBands(genuine_below=0.04, synthetic_above=0.85,
                                                max_error=HELDOUT_BAND_ERROR, folds=3)


def test_rates_are_measured_at_the_shipped_bands_through_band_report() -> None:
    folds = {"family:a": _fold(0.10, None, [0.05, 0.5, 0.9], [1, 1, 0]),
             "family:b": _fold(0.04, None, [0.03, 0.95], [1, 0]),
             "source:s": _fold(0.20, 0.85, [0.9, 0.6], [0, 1])}
    shipped = Calibration(genuine_below=0.04, synthetic_above=0.92)   # validation's upper edge was stricter
    report = rates_at(summarise(folds), shipped)
    assert report.rates_measured_at == BandEdges(0.04, 0.92)
    rates = {name: fold.at_shipped_bands for name, fold in report.folds.items()}
    assert rates["family:a"].synthetic_called_genuine == 0.0    # 0.05 is above 0.04
    assert rates["family:b"].synthetic_called_genuine == 1.0    # 0.03 is below it
    assert rates["source:s"].genuine_called_synthetic == 0.0    # 0.9 < 0.92: the folds' 0.85 would have said 1.0
    # Folds stored without scores cannot be rescored: no figure rather than one at other edges.
    legacy = rates_at(summarise({"family:a": replace(folds["family:a"], scores=None)}), shipped)
    assert legacy.folds["family:a"].at_shipped_bands is None


def test_a_rerun_of_some_folds_recomputes_everything_that_depends_on_bands(tmp_path) -> None:
    """--folds: stored folds are kept, bands and every fold's rates are recomputed over all of them."""
    from train.heldout import run_heldout

    stored = summarise({"family:a": _fold(0.10, None, [0.05, 0.5, 0.9], [1, 1, 0]),
                        "source:s": _fold(0.20, 0.85, [0.9, 0.6], [0, 1])})
    rerun = {"family:b": _fold(0.04, None, [0.03, 0.95], [1, 0])}

    def fake_fold(frame, fold, config, cache_root, log, train_model):
        return rerun[fold.name]

    import train.heldout as heldout

    original, heldout.run_fold = heldout.run_fold, fake_fold
    try:
        report = run_heldout(pd.DataFrame(), TrainConfig(), tmp_path, tmp_path, train_model=None,
                             folds=[Fold.parse("family:b")], quiet=True, previous=stored)
    finally:
        heldout.run_fold = original
    assert set(report.folds) == {"family:a", "family:b", "source:s"}
    assert report.bands.genuine_below == 0.04 and report.bands.folds == 3   # the new fold's stricter edge counts
    shipped = rates_at(report, Calibration(genuine_below=report.bands.genuine_below, synthetic_above=0.9))
    assert all(fold.at_shipped_bands is not None for fold in shipped.folds.values())


def test_no_bands_without_both_edges() -> None:
    folds = {"family:a": _fold(0.1, None, [0.5], [1])}
    assert heldout_bands(folds) is None and summarise(folds).bands is None


def test_applying_heldout_bands_only_narrows_and_keeps_the_validation_edges(tmp_path) -> None:
    from train.publish import apply_heldout_bands

    stored = {"scale": 1.5, "bias": -0.2, "genuine_below": 0.08, "synthetic_above": 0.9, "method": "platt",
              "aggregation": "mean_logit"}
    (tmp_path / "calibration.json").write_text(json.dumps(stored))
    content = apply_heldout_bands(tmp_path, HeldOutBands(genuine_below=0.03, synthetic_above=0.8, max_error=0.02,
                                                         folds=3))
    calibration = Calibration.from_dict(json.loads((tmp_path / "calibration.json").read_text()))
    assert (calibration.genuine_below, calibration.synthetic_above) == (0.03, 0.9)   # 0.8 would widen: kept 0.9
    assert (calibration.scale, calibration.bias) == (1.5, -0.2)
    assert content["validation_bands"] == [0.08, 0.9]
    # Applying again with looser folds goes back no further than validation allowed.
    apply_heldout_bands(tmp_path, HeldOutBands(genuine_below=0.5, synthetic_above=0.6, max_error=0.02, folds=3))
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
    with pytest.raises(SystemExit, match="run with --heldout first"):
        main(["--model", "v1", "--corpus", str(corpus), "--store", str(tmp_path / "store"), "--heldout-bands"])

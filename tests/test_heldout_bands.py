"""Verdict bands set on held-out folds (train/heldout.py, train/publish.py, train/calibrate.py)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from detector.calibration import Calibration
from detector.heldout_report import BandEdges, BandRates, FoldEdges, FoldResult, FoldScores, HeldOutBands
from detector.metrics import compute_eer
from train.calibrate import MIN_BAND, edge_above, edge_below
from train.heldout import Fold, run_fold, run_folds, summarise
from train.heldout_bands import HELDOUT_BAND_ERROR, final_bands, fold_edges, rates_at


def test_edges_leave_at_most_the_allowed_share_in_the_wrong_band() -> None:
    rng = np.random.default_rng(0)
    synthetic, genuine = rng.uniform(0.0, 1.0, 500), rng.uniform(0.0, 1.0, 500)
    below, above = edge_below(synthetic, 0.02), edge_above(genuine, 0.02)
    assert np.mean(synthetic < below) <= 0.02 and np.mean(genuine >= above) <= 0.02
    # ...and they are the tightest such edges: one step further lets more than 2 % through.
    assert np.mean(synthetic < np.nextafter(below, 1.0)) > 0.02 - 1 / 500
    assert edge_below(np.full(50, 1e-4), 0.02) == MIN_BAND   # never "likely genuine below 0"


def _fold(genuine_rank, synthetic_rank, p=(), labels=(), val_genuine=(), val_synthetic=()) -> FoldResult:
    return FoldResult(9, 9, eer=0.3, own_bands=BandRates(0.1, 0.0),
                      band_edges=FoldEdges(0.1, 0.9, 9, 9, genuine_rank=genuine_rank, synthetic_rank=synthetic_rank),
                      scores=FoldScores(list(p), list(labels), list(val_genuine), list(val_synthetic)))


def test_a_folds_edges_are_also_ranks_among_its_own_validation_clips() -> None:
    synthetic = np.linspace(0.2, 0.9, 50)          # never-heard fakes: 2 % of 50 is one clip below the edge
    genuine = np.linspace(0.05, 0.6, 50)
    p, labels = np.concatenate([synthetic, genuine]), np.array([1] * 50 + [0] * 50)
    validation = (np.array([0.01, 0.1, 0.15, 0.3, 0.5, 0.7, 0.95, 0.99]), np.array([0, 0, 0, 0, 1, 1, 1, 1]))
    edges = fold_edges(p, labels, validation)
    assert edges.genuine_below == pytest.approx(synthetic[1])           # the second-lowest fake
    assert edges.genuine_rank == 0.75                                   # 3 of its 4 genuine validation clips below
    assert edges.synthetic_above == pytest.approx(0.6)                  # kept out of the central uncertain band
    assert edges.synthetic_rank == 0.25                                 # 1 of its 4 synthetic ones (0.5) below 0.6
    few = fold_edges(p[:4], labels[:4], validation)                     # under MIN_PER_CLASS fakes: no edge at all
    assert few.genuine_below is None and few.genuine_rank is None and few.synthetic_rank is None


def test_the_strictest_ranks_land_in_the_final_models_validation_scores() -> None:
    folds = {"family:a": _fold(0.10, 0.60), "family:b": _fold(0.04, 0.80), "source:s": _fold(0.20, 0.70)}
    genuine = np.arange(101) / 1000.0               # the final model's genuine validation clips: 0, 0.001 ... 0.1
    synthetic = 0.5 + np.arange(101) / 200.0        # and its synthetic ones: 0.5 ... 1.0
    validation = (np.concatenate([genuine, synthetic]), np.array([0] * 101 + [1] * 101))
    bands = final_bands(folds, validation)
    assert (bands.genuine_rank, bands.synthetic_rank, bands.folds) == (0.04, 0.80, 3)
    assert bands.genuine_below == pytest.approx(0.004) and bands.synthetic_above == pytest.approx(0.9)
    assert bands.max_error == HELDOUT_BAND_ERROR


def test_no_band_where_no_fold_allows_an_edge() -> None:
    folds = {"family:a": _fold(None, None), "source:s": replace(_fold(0.1, 0.9), band_edges=None)}
    assert final_bands(folds, (np.array([0.1, 0.9]), np.array([0, 1]))) is None
    assert summarise(folds).bands is None   # the summary never invents bands: they need the final validation


def test_rates_at_the_shipped_bands_are_measured_at_the_same_rank_in_each_fold_model() -> None:
    # The final model's validation: the shipped edges 0.02 and 0.9 sit at ranks 0.5 (genuine) and 0.25 (synthetic).
    validation = (np.array([0.01, 0.015, 0.03, 0.04, 0.8, 0.95, 0.96, 0.97]), np.array([0, 0, 0, 0, 1, 1, 1, 1]))
    shipped = Calibration(genuine_below=0.02, synthetic_above=0.9)
    # Fold a's own scale is shifted: its genuine validation median (rank 0.5) is 0.2, synthetic rank 0.25 is 0.6.
    fold_a = _fold(0.1, 0.2, p=[0.1, 0.3, 0.5, 0.7], labels=[1, 1, 0, 0],
                   val_genuine=[0.1, 0.15, 0.25, 0.3], val_synthetic=[0.5, 0.7, 0.8, 0.9])
    report = rates_at(summarise({"family:a": fold_a, "family:b": replace(fold_a, scores=None)}), shipped, validation)
    assert report.rates_measured_at == BandEdges(0.02, 0.9) and report.ranks_measured_at == BandEdges(0.5, 0.25)
    rates = report.folds["family:a"].at_shipped_bands
    # Edges in fold a's scale: np.quantile([0.1, 0.15, 0.25, 0.3], 0.5) = 0.2, np.quantile([.5, .7, .8, .9], .25) = 0.65
    assert rates.synthetic_called_genuine == 0.5    # its fake at 0.1 is below 0.2, the one at 0.3 is not
    assert rates.genuine_called_synthetic == 0.5    # its genuine clip at 0.7 is at or above 0.65, 0.5 is not
    assert report.folds["family:b"].at_shipped_bands is None   # no scores kept: no figure rather than another one


class FakeModel:
    """A fold model whose logits are a column of the corpus (see train.heldout.FoldModel)."""

    def __init__(self, frame, keep):
        self.frame, self.keep = frame, keep
        self.calibration = Calibration(scale=1.0, bias=0.0, genuine_below=0.2, synthetic_above=0.8)
        val = (frame["split"] == "val").to_numpy() & keep
        self.validation = (np.asarray(self.calibration.probability(frame.loc[val, "logit"].to_numpy())),
                           frame.loc[val, "y"].to_numpy())
        self.facts = {"epochs_run": 1}

    def score(self, rows):
        return self.frame.loc[rows, "logit"].to_numpy(), self.frame.loc[rows, "y"].to_numpy(), 0


def toy_frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = []
    for split in ("train", "val", "test"):
        for family in ("a", "b"):
            for _ in range(12):
                rows.append({"split": split, "label": "synthetic", "y": 1, "family": family, "generator": family,
                             "source": "s1", "logit": rng.normal(2.0 if family == "b" else 0.5, 1.0)})
        for source in ("s1", "s2"):
            for _ in range(12):
                rows.append({"split": split, "label": "genuine", "y": 0, "family": "", "generator": "",
                             "source": source, "logit": rng.normal(-2.0, 1.0)})
    return pd.DataFrame(rows)


def test_one_fold_runner_for_any_fit_step() -> None:
    frame, seen = toy_frame(), []

    def fit(keep):
        seen.append(keep)
        return FakeModel(frame, keep)

    result = run_fold(frame, Fold.parse("family:a"), fit)
    held = ((frame["family"] == "a") & frame["split"].isin(["train", "val"])).to_numpy()
    assert np.array_equal(seen[0], ~held)                                  # the fit never saw the fold's part
    test = frame[frame["split"] == "test"]
    assert (result.n_genuine, result.n_synthetic) == (24, 12)              # family a's fakes against all genuine
    assert result.eer == pytest.approx(compute_eer(test.loc[test["family"] != "b", "y"].to_numpy(),
                                                   test.loc[test["family"] != "b", "logit"].to_numpy())[0])
    assert result.band_edges.synthetic_clips == 24 and result.band_edges.genuine_clips == 0
    assert result.band_edges.genuine_rank is not None and result.band_edges.synthetic_rank is None
    assert len(result.scores.probabilities) == 36 and result.scores.val_genuine and result.epochs_run == 1


def test_a_rerun_of_some_folds_keeps_the_others_and_never_changes_them() -> None:
    frame = toy_frame()
    stored = summarise({"family:b": _fold(0.1, 0.9), "source:s1": _fold(0.2, 0.8)}, recipe="stored")
    before = stored.folds.copy()
    report = run_folds(frame, [Fold.parse("family:a")], lambda fold: (lambda keep: FakeModel(frame, keep)),
                       previous=stored, recipe="rerun")
    assert set(report.folds) == {"family:a", "family:b", "source:s1"} and report.recipe == "rerun"
    assert stored.folds == before and set(stored.folds) == {"family:b", "source:s1"}


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

"""detector/model_report.py: one typed report per version, loaded and saved the same way everywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from detector import model_report
from detector.heldout_report import SCORES_FILE, FoldResult, FoldScores, HeldOutReport, HeldScores
from detector.model_report import Band, BandFigures, ModelReport, TestFigures, band_figures

STORE = Path(__file__).resolve().parent.parent / "model_store"
SHIPPED_CNNS = ("20261122-1412-effnet-melexc", "20261130-0747-effnet-melexc")


def only_added_nulls(saved, committed, where: str = "") -> list[str]:
    """Where ``saved`` differs from ``committed`` other than by fields added since, as null or as empty lists or maps."""
    if isinstance(committed, dict) and isinstance(saved, dict):
        problems = [f"{where}.{k} lost" for k in committed if k not in saved]
        problems += [f"{where}.{k} added as {saved[k]!r}" for k in saved if k not in committed and saved[k] not in
                     (None, [], {})]
        return problems + [p for k in committed if k in saved for p in only_added_nulls(saved[k], committed[k],
                                                                                         f"{where}.{k}")]
    if isinstance(committed, list) and isinstance(saved, list) and len(saved) == len(committed):
        return [p for i, (a, b) in enumerate(zip(saved, committed)) for p in only_added_nulls(a, b, f"{where}[{i}]")]
    return [] if saved == committed else [f"{where}: {committed!r} became {saved!r}"]


@pytest.mark.parametrize("version", SHIPPED_CNNS)
def test_both_shipped_reports_load_and_save_back_unchanged(version, tmp_path) -> None:
    report = model_report.load(STORE / version)
    assert report.version == version and report.test.n_genuine > 0 and report.heldout.folds
    assert all(isinstance(fold, FoldResult) for fold in report.heldout.folds.values())
    model_report.save(tmp_path, report)
    # Every committed figure comes back; fields added to the report since (ranks) come back as null or empty.
    saved, committed = (json.loads(p.read_text()) for p in (tmp_path / "metrics.json", STORE / version / "metrics.json"))
    assert only_added_nulls(saved, committed) == []
    assert model_report.load(tmp_path) == report


def test_the_shipped_figures_survived_the_conversion() -> None:
    report = model_report.load(STORE / SHIPPED_CNNS[1])
    assert round(report.test.eer, 4) == 0.2311 and round(report.heldout.mean_eer, 4) == 0.3368
    assert report.heldout.worst_fold == "neural_vocoder:hifigan"
    assert report.heldout.bands.folds == 13 and report.serving.tflite_bytes == 455672
    assert report.audit.channel_eer == 0.5143
    older = model_report.load(STORE / SHIPPED_CNNS[0])   # leave-one-family-out results from before the protocols
    assert set(older.heldout.folds) == {f"family:{f}" for f in ("diphone", "formant", "neural", "parametric",
                                                                 "vocoder")}
    assert older.heldout.bands is None and older.heldout.folds["family:neural"].own_bands is None


def test_missing_figures_are_none_and_a_missing_file_is_an_empty_report(tmp_path) -> None:
    assert model_report.load(tmp_path) == ModelReport()
    (tmp_path / "metrics.json").write_text(json.dumps({"test": {"eer": 0.5}}))
    report = model_report.load(tmp_path)
    assert report.test == TestFigures(eer=0.5) and report.test.bands is None and report.heldout is None


def test_a_renamed_or_broken_field_fails_loudly(tmp_path) -> None:
    path = tmp_path / "metrics.json"
    for content, message in (({"held_out": {"mean_eer": 0.3}}, "held_out"), ({"test": {"eeer": 0.5}}, "eeer"),
                             ({"heldout": {"folds": {"family:a": {"eer": 0.3}}}}, "n_genuine")):
        path.write_text(json.dumps(content))
        with pytest.raises(ValueError, match=message):
            model_report.load(tmp_path)
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        model_report.load(tmp_path)


def test_band_figures_keep_shares_and_errors_of_band_report() -> None:
    figures = band_figures({"likely_genuine": {"share": 0.1, "synthetic_inside": 1, "error": 0.05},
                            "uncertain": {"share": 0.6, "count": 30},
                            "likely_synthetic": {"share": 0.3, "genuine_inside": 0, "error": 0.0},
                            "synthetic_called_genuine": 0.02, "genuine_called_synthetic": 0.0})
    assert figures == BandFigures(Band(0.1, 0.05), Band(0.6), Band(0.3, 0.0), 0.02, 0.0)
    assert figures.rates.synthetic_called_genuine == 0.02


def test_a_report_is_immutable_and_replaced_whole() -> None:
    report = ModelReport(version="v")
    with pytest.raises(AttributeError):
        report.version = "w"
    assert report.replace(heldout=HeldOutReport()).heldout == HeldOutReport() and report.heldout is None


def test_fold_scores_live_compressed_beside_the_report_and_come_back(tmp_path) -> None:
    scores = FoldScores([0.1, 0.9], [0, 1], [0.05], [0.95], ["wideband", "noisy"],
                        HeldScores([0.2], [1], ["wideband"], [0]))
    report = ModelReport(version="v", heldout=HeldOutReport(folds={"family:a": FoldResult(1, 1, scores=scores),
                                                                   "source:s": FoldResult(1, 1)}))
    model_report.save(tmp_path, report)
    stored = json.loads((tmp_path / "metrics.json").read_text())
    assert stored["heldout"]["folds"]["family:a"]["scores"] is None   # the bulky part is not in metrics.json
    assert (tmp_path / SCORES_FILE).is_file() and model_report.load(tmp_path) == report
    (tmp_path / SCORES_FILE).write_bytes(b"not gzip")
    with pytest.raises(ValueError, match="heldout_scores.json.gz is damaged"):
        model_report.load(tmp_path)

"""The model card (train/card.py, train/card_bands.py): every line from the report, and never contradicting itself."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from detector import model_report
from detector.calibration import Calibration
from detector.config import FeatureConfig
from detector.heldout_report import BandEdges, BandRates, FoldResult, HeldOutBands, HeldOutReport
from detector.model_report import AuditFigures, ModelReport, TestFigures, TrainingFigures
from train.card import card_text, channel_audit_lines, data_section, kept_data_section, recipe_lines
from train.card_bands import band_source_lines, heldout_band_lines, score_floor, score_floor_lines

LATEST_CNN_DIR = Path(__file__).resolve().parent.parent / "model_store" / "20261130-0747-effnet-melexc"
RATE_CALLED_GENUINE = re.compile(r"(\d+\.\d+) %[^.;]*called \*likely genuine\*")


def _cosine_model(genuine_below: float) -> tuple[ModelReport, Calibration]:
    """A one-class softmax model (score floor p(-1) = sigmoid(-4 + 2.5) = 0.182) with held-out folds.

    The fold models called 3 % of an unseen generator's clips likely genuine at the
    shipped bands: their scores are not bounded like this model's.
    """
    calibration = Calibration(scale=4.0, bias=2.5, genuine_below=genuine_below, synthetic_above=0.93, method="platt")
    folds = {"family:a": FoldResult(50, 50, eer=0.4, own_bands=BandRates(0.09, 0.0),
                                    at_shipped_bands=BandRates(0.03, 0.0)),
             "source:s": FoldResult(50, 50, eer=0.3, own_bands=BandRates(0.0, 0.05),
                                    at_shipped_bands=BandRates(0.0, 0.02))}
    heldout = HeldOutReport(folds=folds, mean_eer=0.35,
                            bands=HeldOutBands(genuine_below, 0.9, 0.02, 2),
                            rates_measured_at=BandEdges(genuine_below, 0.93))
    report = ModelReport(version="v", arch="effnet", feature="mel", training=TrainingFigures(loss="ocsoftmax"),
                         test=TestFigures(eer=0.2, n_genuine=50, n_synthetic=50), heldout=heldout)
    return report, calibration


def _shipped_band_lines(card: str) -> list[str]:
    return [line for line in card.splitlines() if "this version's bands" in line or "shipped" in line]


def test_a_model_whose_score_floor_is_above_its_genuine_edge_states_no_likely_genuine_rate_at_its_bands() -> None:
    report, calibration = _cosine_model(genuine_below=0.15)
    assert score_floor(report.training, calibration) > calibration.genuine_below
    card = card_text(report, calibration, ["## Data"])
    shipped = _shipped_band_lines(card)
    assert shipped, "the card reports the held-out folds at the version's bands"
    for line in shipped:
        assert all(float(rate) == 0.0 for rate in RATE_CALLED_GENUINE.findall(line)), line
    assert any("never calls a clip *likely genuine*" in line for line in shipped)
    assert "never calls a clip *likely genuine*" in card.split("## Calibration")[1]   # and the two sections agree
    # Without the floor in the way, the fold models' figure is the honest one and is stated.
    report, calibration = _cosine_model(genuine_below=0.3)
    (line,) = _shipped_band_lines(card_text(report, calibration, ["## Data"]))
    assert "up to 3.00 % of an unseen generator's clips called *likely genuine*" in line


def test_rates_measured_at_other_edges_say_which_edges() -> None:
    report, calibration = _cosine_model(genuine_below=0.3)
    heldout = replace(report.heldout, rates_measured_at=BandEdges(0.3, 0.895))
    _, shipped = heldout_band_lines(heldout, calibration, None)
    assert "the edges the held-out folds proposed" in shipped and "0.895" in shipped and "0.930" in shipped


def test_the_shipped_card_does_not_contradict_itself() -> None:
    card = (LATEST_CNN_DIR / "card.md").read_text()
    for line in _shipped_band_lines(card):
        assert all(float(rate) == 0.0 for rate in RATE_CALLED_GENUINE.findall(line)), line
    assert "never calls a clip *likely genuine*" in card
    # The rates were measured at the folds' own upper edge, and the card says so.
    assert "0.895" in card and "not at this version's bands" in card


def test_the_shipped_card_is_what_the_card_code_writes(tmp_path) -> None:
    """Regenerating the card from the stored report (data section kept) changes nothing."""
    card = (LATEST_CNN_DIR / "card.md").read_text()
    calibration = Calibration.from_dict(json.loads((LATEST_CNN_DIR / "calibration.json").read_text()))
    again = card_text(model_report.load(LATEST_CNN_DIR), calibration, kept_data_section(card),
                      FeatureConfig.load(LATEST_CNN_DIR / "features.json"))
    assert again == card


def test_the_card_says_where_the_bands_come_from() -> None:
    bands = HeldOutBands(genuine_below=0.03, synthetic_above=0.95, max_error=0.02, folds=13)
    narrowed = band_source_lines(bands, Calibration(genuine_below=0.03, synthetic_above=0.97))
    assert "narrowed to what the 13 held-out folds allow" in narrowed[0] and "2.00 %" in narrowed[0]
    assert "set on validation (" in band_source_lines(bands, Calibration(genuine_below=0.2, synthetic_above=0.8))[0]
    assert "set on validation (" in band_source_lines(None, Calibration(genuine_below=0.03, synthetic_above=0.97))[0]


def test_the_card_names_the_recipe() -> None:
    assert recipe_lines(TrainingFigures(recipe="full", loss="ocsoftmax")) == [
        "- Recipe `full` (`train/recipes/full.json`); loss: one-class softmax."]
    assert "TrainConfig` defaults" in recipe_lines(TrainingFigures(recipe="quick"))[0]
    assert "options changed" in recipe_lines(TrainingFigures(recipe="quick+changes"))[0]
    assert recipe_lines(TrainingFigures()) == [] and recipe_lines(None) == []


def test_the_card_reports_both_shortcut_audits() -> None:
    (line,) = channel_audit_lines(AuditFigures(eer=0.39, channel_eer=0.5143, channel_features=["language (one-hot)"]))
    assert "language (one-hot)" in line and "51.43 %" in line
    assert channel_audit_lines(AuditFigures(eer=0.39)) == []


def test_the_card_says_when_a_cosine_head_can_never_say_likely_genuine() -> None:
    cosine = TrainingFigures(loss="ocsoftmax")
    calibration = Calibration(scale=4.0, bias=2.5, genuine_below=0.15)
    (line,) = score_floor_lines(score_floor(cosine, calibration), calibration)
    assert "never below 0.182" in line and "never calls a clip *likely genuine*" in line
    calibration = Calibration(scale=4.0, bias=2.5, genuine_below=0.3)
    (line,) = score_floor_lines(score_floor(cosine, calibration), calibration)
    assert "never calls" not in line
    assert score_floor(TrainingFigures(loss="bce"), calibration) is None


def test_card_says_how_windows_were_normalised() -> None:
    frame = pd.DataFrame({"label": ["genuine", "synthetic"], "duration_s": [2.0, 3.0], "speaker": ["a", "b"],
                          "source": ["s", "tts"], "family": ["genuine", "neural"], "generator": ["human", "piper:joe"],
                          "language": ["en", "en"], "condition": ["clean", "mp3"], "split": ["test", "test"]})
    def card(**fields) -> str:
        return card_text(ModelReport(feature="mel", **fields), Calibration(), data_section(frame))

    assert "each band centred on its own average" in card(window_norm="per_band")
    assert "each band centred" not in card(window_norm="global")
    assert "each band centred" not in card()   # cards of older models
    assert "not measured" in card()             # a report without figures says so, line by line


@pytest.mark.parametrize("version", ["20261204-2200-whisper-fused-01234-temporal", "20261204-1945-whisper-linear-01234"])
def test_regenerating_an_encoder_versions_card_gives_the_committed_card(version, tmp_path) -> None:
    """The card is a function of the version's files (report, calibration, features, head spec): nothing by hand."""
    import shutil

    from train.card import write_card

    folder = tmp_path / version
    committed = LATEST_CNN_DIR.parent / version
    shutil.copytree(committed, folder)
    write_card(folder, model_report.load(folder), None)   # no corpus at hand: the card's data section is kept
    assert (folder / "card.md").read_text(encoding="utf-8") == (committed / "card.md").read_text(encoding="utf-8")
    assert "(head `" in (folder / "card.md").read_text(encoding="utf-8")

"""The committed model store: the active encoder model, the CNN kept for rollback, and the docs that quote them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from detector.encoder.runtime import ENCODERS_FOLDER
from detector.features import feature_code
from detector.inference import Detector
from detector.registry import ModelRegistry
from train.config import TrainConfig, load_recipe

REPO = Path(__file__).resolve().parent.parent
STORE = REPO / "model_store"
LEARN_CLIP = REPO / "assets" / "learn" / "es-saturn" / "genuine.flac"
CNN_MODEL = "20261130-0747-effnet-melexc"   # the CNN shipped before the encoder, kept for rollback


@pytest.fixture(scope="module")
def shipped() -> Detector:
    return Detector.from_store(STORE)


@pytest.fixture(scope="module")
def cnn() -> Detector:
    return Detector.from_store(STORE, CNN_MODEL)


def test_active_model_is_the_encoder_bakeoff_winner(shipped):
    """`make bakeoff` chose it (docs/frontends.md); `python -m train.encoder.publish` made it."""
    assert shipped.scorer.kind == "encoder" and shipped.config.feature == "whisper"
    assert shipped.version.encoder.outputs == (0, 1, 2, 3, 4)
    assert shipped.version.report.feature_code == feature_code(shipped.config)  # the skew guard has its record
    frontends = (REPO / "docs" / "frontends.md").read_text()
    assert f"{shipped.version.report.heldout.mean_eer * 100:.1f}" in frontends


def test_the_cnn_was_trained_with_the_full_recipe(cnn):
    """`make train` (`python -m train.fit --corpus data/corpus --recipe full`) is how the rollback CNN was made."""
    saved = json.loads((cnn.version.path / "train_config.json").read_text())
    assert TrainConfig.from_dict(saved) == load_recipe("full")
    assert cnn.config.feature == load_recipe("full").feature
    assert cnn.version.report.feature_code == feature_code(cnn.config)  # the skew guard has its record


def test_the_cnns_litert_model_matches_its_keras_model_on_a_real_recording(cnn):
    import keras

    analysis = cnn.analyse(LEARN_CLIP)
    windows = analysis.model_input
    model = keras.saving.load_model(cnn.version.path / "model.keras", compile=False)
    expected = np.asarray(model(windows, training=False)).reshape(-1)
    np.testing.assert_allclose(cnn.scorer.window_logits(windows), expected, atol=1e-4)


def test_readme_and_card_quote_the_active_models_figures():
    registry = ModelRegistry(STORE)
    version = registry.active()
    report = version.report
    readme = (REPO / "README.md").read_text()
    assert f"model_store/{version.name}" in readme
    assert f"| {report.test.eer * 100:.1f} % (validation {report.validation.eer * 100:.1f} %) |" in readme
    assert f"| **{report.heldout.mean_eer * 100:.1f} %** (target" in readme
    assert f"{version.test_eer * 100:.2f} %" in version.card
    # What the repository commits; the shared encoders are made by `make encoder`, never committed.
    committed = [p for p in STORE.rglob("*") if p.is_file() and ENCODERS_FOLDER not in p.relative_to(STORE).parts]
    assert sum(p.stat().st_size for p in committed) <= 10 * 1024 * 1024


CLIPS = REPO / "tests" / "clips"


def test_active_model_on_real_recordings(shipped):
    """Formant fakes are called out, a real voice can be cleared, none is called synthetic, copies score above it."""
    scored = {p.relative_to(CLIPS).as_posix(): shipped.analyse(p) for p in sorted(CLIPS.glob("*/*.flac"))}
    verdicts = {name: analysis.verdict for name, analysis in scored.items()}
    assert verdicts["ru-nsh/espeak.flac"] == "likely_synthetic"
    assert verdicts["ru-nsh/genuine.flac"] == "likely_genuine"
    assert verdicts["en-allison/genuine.flac"] != "likely_synthetic"
    for copy in ("espeak", "world", "griffin_lim"):
        assert scored[f"ru-nsh/{copy}.flac"].p_synthetic > scored["ru-nsh/genuine.flac"].p_synthetic


def test_active_models_bands_come_from_heldout_folds_and_it_can_clear_a_clip(shipped):
    """The bands were narrowed by the bake-off's folds, and the likely-genuine band is reachable on test."""
    report = shipped.version.report
    assert shipped.calibration.genuine_below == pytest.approx(report.heldout.bands.genuine_below)
    assert shipped.calibration.synthetic_above == pytest.approx(report.heldout.bands.synthetic_above)
    assert 0.0 < report.test.bands.likely_genuine.share < 0.5
    assert "narrowed to what the 13 held-out folds allow" in shipped.version.card


def test_the_cnns_bands_come_from_heldout_folds_and_it_cannot_clear_a_clip(cnn):
    """Held-out folds put the likely-genuine edge below the lowest probability the cosine head can give."""
    shipped = cnn
    report = shipped.version.report
    bands = report.heldout.bands
    assert shipped.calibration.genuine_below == pytest.approx(min(bands.genuine_below, 0.19004865742427757))
    calibration = shipped.calibration
    lowest = calibration.probability(-1.0)   # a cosine score is at least -1
    assert calibration.genuine_below < lowest
    assert report.test.bands.likely_genuine.share == 0.0
    assert "narrowed to what the 13 held-out folds allow" in shipped.version.card

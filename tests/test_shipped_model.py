"""The committed model store: the active model loads, matches its Keras original, and the docs quote it."""

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


@pytest.fixture(scope="module")
def shipped() -> Detector:
    return Detector.from_store(STORE)


def test_active_model_was_trained_with_the_full_recipe(shipped):
    """`make train` (`python -m train.fit --corpus data/corpus --recipe full`) is how the shipped model was made."""
    saved = json.loads((shipped.version.path / "train_config.json").read_text())
    assert TrainConfig.from_dict(saved) == load_recipe("full")
    assert shipped.config.feature == load_recipe("full").feature
    assert shipped.version.report.feature_code == feature_code(shipped.config)  # the skew guard has its record


def test_litert_model_matches_the_keras_model_on_a_real_recording(shipped):
    import keras

    analysis = shipped.analyse(LEARN_CLIP)
    windows = analysis.model_input
    model = keras.saving.load_model(shipped.version.path / "model.keras", compile=False)
    expected = np.asarray(model(windows, training=False)).reshape(-1)
    np.testing.assert_allclose(shipped.window_logits(windows), expected, atol=1e-4)


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
    """Vocoder and formant fakes of a real voice are called out; no real voice is called synthetic."""
    verdicts = {p.relative_to(CLIPS).as_posix(): shipped.analyse(p).verdict for p in sorted(CLIPS.glob("*/*.flac"))}
    assert verdicts["ru-nsh/espeak.flac"] == verdicts["ru-nsh/world.flac"] == "likely_synthetic"
    assert verdicts["ru-nsh/genuine.flac"] != "likely_synthetic" and verdicts["en-allison/genuine.flac"] != "likely_synthetic"


def test_active_models_bands_come_from_heldout_folds_and_it_cannot_clear_a_clip(shipped):
    """Held-out folds put the likely-genuine edge below the lowest probability the cosine head can give."""
    report = shipped.version.report
    bands = report.heldout.bands
    assert shipped.calibration.genuine_below == pytest.approx(min(bands.genuine_below, 0.19004865742427757))
    calibration = shipped.calibration
    lowest = calibration.probability(-1.0)   # a cosine score is at least -1
    assert calibration.genuine_below < lowest
    assert report.test.bands.likely_genuine.share == 0.0
    assert "narrowed to what the 13 held-out folds allow" in shipped.version.card

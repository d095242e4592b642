"""The committed model store: the active model loads, matches its Keras original, and the docs quote it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

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
    assert shipped.version.metrics["feature_code"] == feature_code(shipped.config)  # the skew guard has its record


def test_litert_model_matches_the_keras_model_on_a_real_recording(shipped):
    import keras

    analysis = shipped.analyse(LEARN_CLIP)
    windows = analysis.model_input
    model = keras.saving.load_model(shipped.version.path / "model.keras", compile=False)
    expected = np.asarray(model(windows, training=False)).reshape(-1)
    np.testing.assert_allclose(shipped.window_logits(windows), expected, atol=1e-4)


def test_readme_and_card_quote_the_active_models_test_eer():
    registry = ModelRegistry(STORE)
    version = registry.active()
    test_eer = f"{version.test_eer * 100:.1f} %"
    readme = (REPO / "README.md").read_text()
    assert f"model_store/{version.name}" in readme
    assert f"test EER of {test_eer}" in readme
    assert f"{version.test_eer * 100:.2f} %" in version.card
    assert sum(p.stat().st_size for p in STORE.rglob("*") if p.is_file()) <= 10 * 1024 * 1024

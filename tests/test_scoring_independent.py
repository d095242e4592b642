"""The Detector's numbers, recomputed here without its scoring code.

For each fixture version the window logits come straight from the committed
``.tflite`` run alone (no Detector, no calibration); the clip logit (mean or max, as the
version's calibration.json says) and Platt scaling ``sigmoid(scale * logit +
bias)`` are done here with numpy. The Detector must report the same
probabilities, so skipping the scale, the bias or the aggregation fails.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from audio_fixtures import encode_soundfile, voice_like

from detector.config import FeatureConfig
from detector.features import model_input
from detector.inference import Detector
from detector.litert import LiteRTModel
from detector.registry import ModelRegistry

RATE = 16000


def reference_logits(tflite: Path, windows: np.ndarray) -> np.ndarray:
    """Window logits of the bare model file (the wrapper's agreement with Keras is tests/test_train_export.py's)."""
    return LiteRTModel(tflite, num_threads=1)(windows)


def reference_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, np.float64)))


@pytest.fixture(scope="module")
def clip() -> tuple[np.ndarray, bytes]:
    """A 5.5 s voice-like clip as float WAV at the model rate (decodes to the same samples)."""
    samples = voice_like(5.5, RATE, f0=170.0, seed=11)
    return samples, encode_soundfile(samples, RATE, "WAV", "FLOAT")


@pytest.mark.parametrize("version, aggregation", [("v1", "mean_logit"), ("v2", "max_logit")])
def test_detector_matches_probabilities_computed_here(tiny_store_template, clip, version, aggregation):
    folder = tiny_store_template / version
    calibration = json.loads((folder / "calibration.json").read_text())
    assert calibration["aggregation"] == aggregation
    scale, bias = calibration["scale"], calibration["bias"]
    assert (scale, bias) != (1.0, 0.0)  # an identity calibration would hide a scorer that skips it

    config = FeatureConfig.from_dict(json.loads((folder / "features.json").read_text()))
    samples, data = clip
    windows = model_input(samples, config).windows
    logits = reference_logits(folder / "model.tflite", windows)
    assert len(logits) >= 4 and np.ptp(logits) > 1e-3  # mean and max differ on this clip
    clip_logit = logits.mean() if aggregation == "mean_logit" else logits.max()
    expected = float(reference_sigmoid(scale * clip_logit + bias))
    expected_windows = reference_sigmoid(scale * logits + bias)
    # The fixture must make the test discriminating: every shortcut gives another number.
    for shortcut in (reference_sigmoid(clip_logit), reference_sigmoid(scale * clip_logit),
                     reference_sigmoid(clip_logit + bias),
                     reference_sigmoid(scale * (logits.max() + logits.mean() - clip_logit) + bias)):
        assert abs(float(shortcut) - expected) > 1e-4

    detector = Detector(ModelRegistry(tiny_store_template).load(version))
    analysis = detector.analyse(data, name="clip.wav")
    assert analysis.model_version == version
    assert analysis.p_synthetic == pytest.approx(expected, abs=1e-6)
    assert len(analysis.windows) == len(expected_windows)
    np.testing.assert_allclose([w.p_synthetic for w in analysis.windows], expected_windows, atol=1e-6, rtol=0)


def test_the_store_serves_v1_with_its_own_calibration(tiny_store_template, clip):
    """Detector.from_store loads the active version (v1, mean of logits) with its scale and bias."""
    folder = tiny_store_template / "v1"
    calibration = json.loads((folder / "calibration.json").read_text())
    samples, data = clip
    config = FeatureConfig.from_dict(json.loads((folder / "features.json").read_text()))
    logits = reference_logits(folder / "model.tflite", model_input(samples, config).windows)
    expected = float(reference_sigmoid(calibration["scale"] * logits.mean() + calibration["bias"]))
    assert Detector.from_store(tiny_store_template).analyse(data).p_synthetic == pytest.approx(expected, abs=1e-6)

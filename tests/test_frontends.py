"""The front-end registry: one object per feature type, and a golden fingerprint of each one's numbers.

The fingerprints pin what every front end computes for one fixed synthetic voice.
When a front end's numbers change on purpose, bump its version (``FrontEnd.code``:
``FEATURES_VERSION`` or ``EXCITATION_VERSION``) and paste the new fingerprint that
the failing test prints; a change without a bump fails, because models and feature
caches saved with the old version would silently get different features.
"""

from __future__ import annotations

import numpy as np
import pytest

from detector.config import FEATURE_TYPES, FeatureConfig
from detector.features import clip_features, feature_axis, feature_code
from detector.frontends import FRONT_ENDS, front_end
from detector.preparation import prepare_waveform

RATE = 16000
# (row, column) positions sampled by the fingerprint, as fractions of the matrix's size.
SAMPLED = ((0.1, 0.05), (0.3, 0.2), (0.5, 0.5), (0.7, 0.75), (0.9, 0.95), (0.5, 0.99))
# {name: (code versions, (shape, mean, std, sampled values))}, computed with the code of each version.
GOLDEN = {
    "logspec": ({"features": 2},
                ((248, 257), -14.873, 8.971, (8.031, -2.138, -28.776, -17.68, -16.419, -18.441))),
    "mel": ({"features": 2},
            ((248, 80), -23.259, 8.881, (-8.469, -15.74, -25.214, -31.485, -31.396, -32.649))),
    "lfcc": ({"features": 2},
             ((248, 40), 2.196, 13.725, (30.875, 3.256, -4.064, 3.824, 4.417, -0.732))),
    "melfine": ({"features": 2},
                ((248, 108), -16.007, 14.475, (-3.354, -16.599, -32.845, 4.341, 3.14, 2.298))),
    "melexc": ({"features": 2, "excitation": 3},
               ((248, 88), -23.692, 9.844, (-8.469, -15.565, -28.792, -32.228, -25.185, -49.607))),
}


def golden_signal() -> np.ndarray:
    """2.5 s of a seeded vibrato harmonic tone with a slow tremolo and a little noise, 16 kHz."""
    rng = np.random.default_rng(20261130)
    t = np.arange(int(2.5 * RATE)) / RATE
    f0 = 140.0 * (1 + 0.05 * np.sin(2 * np.pi * 3 * t))
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    tone = sum(np.sin(k * phase) / k for k in range(1, 30)) * (0.6 + 0.4 * np.sin(2 * np.pi * 1.5 * t))
    return (0.1 * tone + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


def fingerprint(features: np.ndarray) -> tuple[tuple[int, int], float, float, tuple[float, ...]]:
    """Shape, mean, deviation and a few sampled values, rounded: short enough to paste in a test."""
    rows, cols = features.shape
    values = tuple(round(float(features[int(r * rows), int(c * cols)]), 3) for r, c in SAMPLED)
    return (rows, cols), round(float(features.mean()), 3), round(float(features.std()), 3), values


def features_of(name: str) -> np.ndarray:
    config = FeatureConfig(feature=name)
    return clip_features(prepare_waveform(golden_signal(), config).samples, config).astype(np.float64)


@pytest.mark.parametrize("name", FEATURE_TYPES)
def test_numbers_change_only_with_the_version(name):
    code, (shape, mean, std, values) = GOLDEN[name]
    current = fingerprint(features_of(name))
    if dict(code) != dict(FRONT_ENDS[name].code):
        pytest.fail(f"{name}'s version changed: paste its new fingerprint into GOLDEN: "
                    f"{name!r}: ({dict(FRONT_ENDS[name].code)}, {current}),")
    message = f"{name}'s features changed without a version bump; now {current}"
    assert current[0] == shape, message
    np.testing.assert_allclose([current[1], current[2], *current[3]], [mean, std, *values], atol=2e-3,
                               err_msg=message)


def test_every_feature_type_has_a_front_end():
    assert FEATURE_TYPES == tuple(FRONT_ENDS) == ("logspec", "mel", "lfcc", "melfine", "melexc")
    assert set(GOLDEN) == set(FRONT_ENDS)
    with pytest.raises(ValueError, match="feature must be one of"):
        FeatureConfig(feature="cqt")
    with pytest.raises(ValueError, match="feature must be one of"):
        front_end("cqt")


@pytest.mark.parametrize("name", FEATURE_TYPES)
def test_sizes_axis_and_words_agree_with_the_features(name):
    config = FeatureConfig(feature=name, n_mels=40, n_lfcc=20)
    unit = front_end(name)
    assert config.front_end is unit and unit.name == name and unit.label
    features = clip_features(prepare_waveform(golden_signal(), config).samples, config)
    assert features.shape[1] == config.n_bins == unit.n_bins(config) and features.dtype == np.float32
    axis, axis_unit = feature_axis(config)
    # The axis covers the drawable spectrum bins, or every coefficient when none is a frequency.
    assert len(axis) == (config.spectrum_bins or config.n_bins) and axis_unit in ("Hz", "coefficient")
    assert (axis_unit == "Hz") == (config.spectrum_bins > 0)
    assert str(config.n_bins if name in ("logspec", "lfcc") else config.n_mels) in unit.describe(config)
    assert bool(unit.extra_label) == (config.spectrum_bins not in (0, config.n_bins))


def test_feature_code_is_the_front_ends_code():
    assert feature_code(FeatureConfig(feature="melexc")) == {"features": 2, "excitation": 3}
    for name in ("logspec", "mel", "lfcc", "melfine"):
        assert feature_code(FeatureConfig(feature=name)) == {"features": 2}


def test_model_card_words_are_unchanged_for_the_default_sizes():
    # The card's words were typed by hand before the front ends said them.
    words = {name: front_end(name).describe(FeatureConfig(feature=name)) for name in FEATURE_TYPES}
    assert words == {
        "logspec": "a 257-bin linear log power spectrogram",
        "mel": "an 80-band log-mel spectrogram",
        "lfcc": "40 linear-frequency cepstral coefficients",
        "melfine": "an 80-band log-mel spectrogram plus 28 bands measuring how sharp the voice's harmonics are "
                   "between 1 and 8 kHz",
        "melexc": "an 80-band log-mel spectrogram plus 8 per-frame statistics of the voice's excitation (the "
                  "linear-prediction residual: how peaky and how periodic it is, overall and in four bands), "
                  "phase information a spectrogram drops",
    }

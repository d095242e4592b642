"""Architectures and the LiteRT export: shapes, sizes, and Keras vs LiteRT agreement."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from detector.config import FeatureConfig
from detector.litert import LiteRTModel
from train.archs import available, build_model
from train.export import export_tflite

TOLERANCE = 1e-4
MAX_DEFAULT_PARAMS = 1_000_000


def litert_logits(path: Path, windows: np.ndarray) -> np.ndarray:
    """Window logits from the serving wrapper, shaped (n, 1) like the Keras model's output."""
    return LiteRTModel(path)(windows).reshape(-1, 1)


def _with_trained_statistics(model, shape: tuple[int, int, int]):
    """A few real training steps so BatchNorm statistics and weights are not at their initial values."""
    import keras

    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, *shape)).astype(np.float32)
    y = (rng.random((8, 1)) > 0.5).astype(np.float32)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=keras.losses.BinaryCrossentropy(from_logits=True))
    for _ in range(3):
        model.train_on_batch(x, y)
    return model


@pytest.mark.parametrize("feature", ["logspec", "mel", "lfcc"])
def test_default_arch_is_small_and_outputs_one_logit(feature: str) -> None:
    shape = FeatureConfig(feature=feature).input_shape
    model = build_model("effnet", shape)
    assert model.count_params() <= MAX_DEFAULT_PARAMS
    assert tuple(model.output.shape) == (None, 1)
    assert model.layers[-1].get_config()["activation"] == "linear"  # raw logit, no sigmoid


def test_registry_lists_both_archs_and_rejects_unknown() -> None:
    assert {"seed-cnn", "effnet"} <= set(available())
    with pytest.raises(ValueError, match="unknown architecture"):
        build_model("nope", (10, 10, 1))


@pytest.mark.parametrize("arch, shape", [("effnet", FeatureConfig().input_shape), ("seed-cnn", (48, 40, 1))])
def test_export_round_trip_matches_keras(arch: str, shape: tuple[int, int, int], tmp_path: Path) -> None:
    model = _with_trained_statistics(build_model(arch, shape), shape)
    path = export_tflite(model, tmp_path / "model.tflite")
    assert path.stat().st_size > 0
    windows = np.random.default_rng(1).standard_normal((5, *shape)).astype(np.float32)
    expected = np.asarray(model(windows, training=False))
    for batch in (windows[:1], windows):  # the batch axis is dynamic
        got = litert_logits(path, batch)
        assert got.shape == (len(batch), 1)
        np.testing.assert_allclose(got, expected[: len(batch)], atol=TOLERANCE)
    assert np.std(expected) > 0  # not a degenerate constant model

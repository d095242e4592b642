"""Band-limiting augmentation: a share of training windows, of both labels, looks telephone-band."""

from __future__ import annotations

import numpy as np

from detector.config import FeatureConfig
from detector.features import feature_axis
from train.augment import BAND_TOP_HZ, augment_batch, band_limit
from train.config import AugmentConfig


def _windows(n: int = 64, frames: int = 20, bins: int = 88) -> np.ndarray:
    return np.random.default_rng(0).normal(-40.0, 10.0, (n, frames, bins)).astype(np.float32)


def test_chosen_windows_hold_their_floor_above_the_edge_and_keep_the_rest() -> None:
    config = FeatureConfig(feature="melexc")
    axis = feature_axis(config)[0]
    windows = _windows()
    out = band_limit(windows, axis, prob=0.5, rng=np.random.default_rng(1))
    changed = [i for i in range(len(windows)) if not np.array_equal(out[i], windows[i])]
    assert 16 <= len(changed) <= 48                        # about half the windows
    for i in changed:
        floor = windows[i, :, :80].min()
        top = axis > BAND_TOP_HZ[1]
        assert np.all(out[i][:, :80][:, top] == floor)      # above every possible edge: the floor
        low_band = (axis > 400) & (axis < BAND_TOP_HZ[0])
        np.testing.assert_array_equal(out[i][:, :80][:, low_band], windows[i][:, :80][:, low_band])
        np.testing.assert_array_equal(out[i][:, 80:], windows[i][:, 80:])   # excitation rows untouched
    assert np.array_equal(windows, _windows())              # the input is not modified


def test_off_by_default_and_no_random_draws_when_off() -> None:
    config = FeatureConfig(feature="melexc")
    windows = _windows()
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    plain = augment_batch(windows, AugmentConfig(), config, rng_a, lambda w: w.copy())
    explicit = augment_batch(windows, AugmentConfig(band_limit_prob=0.0), config, rng_b, lambda w: w.copy())
    np.testing.assert_array_equal(plain, explicit)
    assert AugmentConfig().band_limit_prob == 0.0           # the shipped recipe is unchanged

"""``lfcc``: linear-frequency cepstral coefficients (no bin is a frequency)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
from scipy.fft import dct

from detector.frontends.base import FEATURES_VERSION, FrontEnd
from detector.spectrum import power_db

if TYPE_CHECKING:
    from detector.config import FeatureConfig


@lru_cache(maxsize=8)
def linear_filters(sample_rate: int, n_fft: int, n_filters: int) -> np.ndarray:
    """Triangular filters equally spaced in Hz, shape (n_filters, n_fft // 2 + 1)."""
    bins = n_fft // 2 + 1
    edges = np.linspace(0, bins - 1, n_filters + 2)
    index = np.arange(bins, dtype=np.float64)
    filters = np.zeros((n_filters, bins), dtype=np.float32)
    for k in range(n_filters):
        left, centre, right = edges[k], edges[k + 1], edges[k + 2]
        rising = (index - left) / (centre - left)
        falling = (right - index) / (right - centre)
        filters[k] = np.clip(np.minimum(rising, falling), 0.0, None)
    return filters


def _compute(samples: np.ndarray, power: np.ndarray, config: FeatureConfig) -> np.ndarray:
    energies = power @ linear_filters(config.sample_rate, config.n_fft, config.n_linear_filters).T
    return dct(power_db(energies), type=2, norm="ortho", axis=1)[:, : config.n_lfcc].astype(np.float32, copy=False)


def _bins(config: FeatureConfig) -> int:
    return config.n_lfcc


def _spectrum(config: FeatureConfig) -> int:
    return 0  # cepstral coefficients: nothing to EQ, nothing to draw as frequency


def _axis(config: FeatureConfig) -> tuple[np.ndarray, str]:
    return np.arange(config.n_lfcc, dtype=np.float64), "coefficient"


def _describe(config: FeatureConfig) -> str:
    return f"{config.n_lfcc} linear-frequency cepstral coefficients"


LFCC = FrontEnd(
    name="lfcc", label="LFCC", code={"features": FEATURES_VERSION},
    compute=_compute, bins=_bins, spectrum=_spectrum, axis=_axis, describe=_describe,
    level_label="coefficient value",
)

"""``logspec``: the linear-frequency log power spectrogram, every FFT bin."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from detector.frontends.base import FEATURES_VERSION, FrontEnd, article
from detector.spectrum import power_db

if TYPE_CHECKING:
    from detector.config import FeatureConfig


def _bins(config: FeatureConfig) -> int:
    return config.n_fft // 2 + 1


def _compute(samples: np.ndarray, power: np.ndarray, config: FeatureConfig) -> np.ndarray:
    return power_db(power).astype(np.float32, copy=False)


def _axis(config: FeatureConfig) -> tuple[np.ndarray, str]:
    return np.fft.rfftfreq(config.n_fft, 1.0 / config.sample_rate), "Hz"


def _describe(config: FeatureConfig) -> str:
    return f"{article(_bins(config))} {_bins(config)}-bin linear log power spectrogram"


LOGSPEC = FrontEnd(
    name="logspec", label="Log spectrogram", code={"features": FEATURES_VERSION},
    compute=_compute, bins=_bins, spectrum=_bins, axis=_axis, describe=_describe,
)

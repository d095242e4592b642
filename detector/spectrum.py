"""The power spectrogram every front end starts from, and its noise floor.

Kept apart from the front ends (``detector.frontends``) because the quality
checks and the plots need the same spectrogram without any feature type.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
from scipy.fft import rfft

from detector.framing import frame_signal
from detector.preparation import fit_to_window

if TYPE_CHECKING:  # detector.config imports the front ends, which import this module
    from detector.config import FeatureConfig

# Every spectrum gets the expected power of white noise at this level added. Digital
# silence (exact zeros, common in TTS output and padding) would otherwise sit at the
# numeric floor far below any microphone's noise and become a class cue.
NOISE_FLOOR_DBFS = -75.0
EPS = 1e-10  # added before every logarithm of a power


@lru_cache(maxsize=8)
def hann(length: int) -> np.ndarray:
    """Periodic Hann window of ``length`` samples, float32."""
    return np.hanning(length + 1)[:-1].astype(np.float32)


def power_spectrogram(samples: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Power STFT, shape (frames, n_fft // 2 + 1), no centre padding."""
    frames = frame_signal(np.ascontiguousarray(samples, dtype=np.float32), config.frame_length, config.frame_hop)
    window = hann(config.frame_length)
    # scipy keeps float32 (complex64): ~5x faster than numpy's float64 FFT here.
    spectrum = rfft(frames * window, n=config.n_fft, axis=1)
    return (spectrum.real ** 2 + spectrum.imag ** 2).astype(np.float32)


def noise_floor(config: FeatureConfig) -> float:
    """Expected per-bin power of white noise at ``NOISE_FLOOR_DBFS`` through the Hann window."""
    return float(10.0 ** (NOISE_FLOOR_DBFS / 10.0) * np.sum(hann(config.frame_length) ** 2))


def floored(power: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """``power`` with the noise floor added: what every front end computes from."""
    return power + noise_floor(config)


def clip_power(samples: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Power spectrogram of a prepared clip (repeated to fill a window if short)."""
    return power_spectrogram(fit_to_window(samples, config), config)


def power_db(power: np.ndarray) -> np.ndarray:
    """Power in dB with the ``EPS`` guard every front end uses."""
    return 10.0 * np.log10(power + EPS)

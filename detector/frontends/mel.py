"""``mel``: the log mel spectrogram, and the mel scale the other mel front ends share."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from detector.frontends.base import FEATURES_VERSION, FrontEnd, article
from detector.spectrum import power_db

if TYPE_CHECKING:
    from detector.config import FeatureConfig

# Lower edge of the first mel filter: below 20 Hz is hum and rumble, not voice. A
# constant rather than a FeatureConfig field, so saved configs and cache keys stay as they are.
MEL_FMIN_HZ = 20.0


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """Slaney's mel scale (linear below 1 kHz, logarithmic above), as librosa's default."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / (200.0 / 3)
    log_part = 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, log_part, linear)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    mel = np.asarray(mel, dtype=np.float64)
    linear = mel * (200.0 / 3)
    log_part = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0))
    return np.where(mel >= 15.0, log_part, linear)


def mel_frequencies(n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """``n_mels`` frequencies in Hz equally spaced on the mel scale from ``fmin`` to ``fmax``."""
    return mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels))


@lru_cache(maxsize=8)
def mel_filters(sample_rate: int, n_fft: int, n_mels: int, fmin: float = MEL_FMIN_HZ) -> np.ndarray:
    """Slaney-normalised triangular mel filters, shape (n_mels, n_fft // 2 + 1).

    The same numbers as ``librosa.filters.mel(htk=False, norm="slaney")`` (a test
    checks this), computed here so serving never pays librosa's import time.
    """
    fft_hz = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    edges = mel_frequencies(n_mels + 2, fmin, sample_rate / 2.0)
    widths = np.diff(edges)
    ramps = edges[:, np.newaxis] - fft_hz[np.newaxis, :]
    rising = -ramps[:-2] / widths[:-1, np.newaxis]
    falling = ramps[2:] / widths[1:, np.newaxis]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, np.newaxis]
    return weights.astype(np.float32)


def log_mel(power: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """(frames, n_mels) log mel spectrogram in dB of a floored power spectrogram, float32."""
    mel = power @ mel_filters(config.sample_rate, config.n_fft, config.n_mels).T
    return power_db(mel).astype(np.float32, copy=False)


def mel_bins(config: FeatureConfig) -> int:
    """The mel bins every mel front end starts with."""
    return config.n_mels


def mel_axis(config: FeatureConfig) -> tuple[np.ndarray, str]:
    """Centre frequency of each mel filter, in Hz."""
    return mel_frequencies(config.n_mels + 2, MEL_FMIN_HZ, config.sample_rate / 2)[1:-1], "Hz"


def mel_words(config: FeatureConfig) -> str:
    """The log mel spectrogram in plain words, for the model card."""
    return f"{article(config.n_mels)} {config.n_mels}-band log-mel spectrogram"


def _compute(samples: np.ndarray, power: np.ndarray, config: FeatureConfig) -> np.ndarray:
    return log_mel(power, config)


MEL = FrontEnd(
    name="mel", label="Log mel spectrogram", code={"features": FEATURES_VERSION},
    compute=_compute, bins=mel_bins, spectrum=mel_bins, axis=mel_axis, describe=mel_words,
)

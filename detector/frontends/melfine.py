"""``melfine``: log mel followed by bands measuring how sharp the voice's harmonics are."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
from scipy.fft import dct, idct

from detector.frontends.base import FEATURES_VERSION, FrontEnd
from detector.frontends.mel import log_mel, mel_axis, mel_bins, mel_words
from detector.spectrum import power_db

if TYPE_CHECKING:
    from detector.config import FeatureConfig

# Fine-structure bands above FINE_MIN_HZ; fixed here, not config fields, so adding
# the feature type did not change the cache key of the others.
FINE_BANDS = 28
FINE_MIN_HZ = 1000.0
# Cepstral coefficients kept as the spectral envelope by ``fine_structure``: with
# 257 bins over 0-8 kHz, 30 coefficients keep quefrencies below ~1.9 ms, so every
# voice's harmonics (pitch periods of 2.5-12 ms) land in the residual.
FINE_LIFTER = 30


@lru_cache(maxsize=8)
def _lifter_bases(bins: int) -> tuple[np.ndarray, np.ndarray]:
    """(bins, FINE_LIFTER) orthonormal DCT-II analysis matrix and its (FINE_LIFTER, bins) inverse."""
    identity = np.eye(bins, dtype=np.float64)
    analysis = dct(identity, type=2, norm="ortho", axis=1)[:, :FINE_LIFTER]
    synthesis = idct(identity, type=2, norm="ortho", axis=1)[:FINE_LIFTER]
    return analysis.astype(np.float32), synthesis.astype(np.float32)


@lru_cache(maxsize=8)
def _fine_bands(sample_rate: int, n_fft: int) -> tuple[tuple[int, int], ...]:
    """(first, stop) FFT bins of the ``FINE_BANDS`` equal-width bands above ``FINE_MIN_HZ``."""
    first = int(np.ceil(FINE_MIN_HZ * n_fft / sample_rate))
    bins = np.array_split(np.arange(first, n_fft // 2 + 1), FINE_BANDS)
    return tuple((int(b[0]), int(b[-1]) + 1) for b in bins)


def fine_structure(log_power: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """How strongly the spectrum ripples around its smooth envelope, per band and frame.

    Mel bands above ~1 kHz are wider than the spacing of voice harmonics, so a
    mel spectrogram cannot see whether harmonics are sharp, smeared or missing;
    that is where vocoders differ from a real voice (Griffin-Lim inverted from a
    mel spectrogram has smeared harmonics, LPC/MLSA excitation is too regular).
    The envelope is the log spectrum liftered to ``FINE_LIFTER`` cepstral
    coefficients; the output is the standard deviation of the residual (dB)
    within each of ``FINE_BANDS`` linear bands above ``FINE_MIN_HZ``.

    The 25-ms analysis frame resolves harmonics only from a pitch of about
    140 Hz up; below that (many male voices) the residual looks like noise's.

    Parameters
    ----------
    log_power : np.ndarray
        (frames, n_fft // 2 + 1) power spectrogram in dB.
    config : FeatureConfig
        Supplies the sample rate and FFT size.

    Returns
    -------
    np.ndarray
        (frames, FINE_BANDS), float32.
    """
    analysis, synthesis = _lifter_bases(log_power.shape[1])
    log_power = np.asarray(log_power, dtype=np.float32)
    # Only FINE_LIFTER coefficients survive, so two thin matrix products beat full DCT + inverse DCT.
    residual = log_power - (log_power @ analysis) @ synthesis
    bands = _fine_bands(config.sample_rate, config.n_fft)
    return np.stack([residual[:, a:b].std(axis=1) for a, b in bands], axis=1).astype(np.float32)


def _compute(samples: np.ndarray, power: np.ndarray, config: FeatureConfig) -> np.ndarray:
    return np.concatenate([log_mel(power, config), fine_structure(power_db(power), config)], axis=1)


def _bins(config: FeatureConfig) -> int:
    return config.n_mels + FINE_BANDS


def _describe(config: FeatureConfig) -> str:
    return (f"{mel_words(config)} plus {FINE_BANDS} bands measuring how sharp the voice's harmonics are "
            f"between {FINE_MIN_HZ / 1000:g} and {config.sample_rate / 2000:g} kHz")


MELFINE = FrontEnd(
    name="melfine", label="Log mel + harmonics", code={"features": FEATURES_VERSION},
    compute=_compute, bins=_bins, spectrum=mel_bins, axis=mel_axis, describe=_describe,
    extra_label="Harmonics",
    extra_help="The *Harmonics* strip is what the model reads besides the spectrogram: how sharp the "
               "voice's harmonics are between 1 and 8 kHz.",
)

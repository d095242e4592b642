"""Training-time augmentation of feature windows (numpy, one batch at a time).

Noise, reverberation and codec conditions are already baked into the corpus for
both classes; what is added here works in the feature domain:

* a random smooth spectral gain (tilt plus one slow ripple) before
  standardisation -- a microphone/EQ colouring; a flat gain would be removed by
  the loudness normalisation and window standardisation anyway;
* SpecAugment-style time and frequency masks after standardisation (masked
  cells are set to 0, the window mean), so the model cannot rely on one band
  or one instant.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from detector.config import FeatureConfig
from detector.features import feature_axis
from train.config import AugmentConfig


def spectral_gain(batch: int, bins: int, max_db: float, rng: np.random.Generator) -> np.ndarray:
    """Random smooth gain curves in dB, shape (batch, 1, bins): a tilt plus a half-to-two-cycle ripple."""
    axis = np.linspace(-1.0, 1.0, bins, dtype=np.float32)
    tilt = rng.uniform(-0.5, 0.5, (batch, 1)).astype(np.float32) * axis
    cycles = rng.uniform(0.5, 2.0, (batch, 1))
    phase = rng.uniform(0, 2 * np.pi, (batch, 1))
    ripple = 0.5 * np.sin(np.pi * cycles * axis + phase).astype(np.float32)
    return (max_db * (tilt + ripple) / 2.0)[:, np.newaxis, :]


BAND_TOP_HZ = (3400.0, 7500.0)     # range of the random upper edge (telephone to wideband codecs)
BAND_BOTTOM_HZ = (100.0, 300.0)    # range of the random lower edge (a telephone's high-pass)


def band_limit(windows: np.ndarray, axis_hz: np.ndarray, prob: float, rng: np.random.Generator) -> np.ndarray:
    """Make a random share of windows look band-limited, before standardisation.

    Parameters
    ----------
    windows : np.ndarray
        Unstandardised features (batch, frames, bins) in dB; the first ``len(axis_hz)`` bins are spectrum.
    axis_hz : np.ndarray
        Centre frequency of each spectrum bin.
    prob : float
        Chance per window.

    Returns
    -------
    np.ndarray
        A copy where the chosen windows' bins outside a random pass band hold the window's lowest spectrum
        value: what the serving features of a band-limited recording show there (the noise floor).
    """
    chosen = np.flatnonzero(rng.random(len(windows)) < prob)
    if not len(chosen):
        return windows
    windows = windows.copy()
    spectrum = len(axis_hz)
    for row in chosen:
        floor = windows[row, :, :spectrum].min()
        stop = axis_hz > rng.uniform(*BAND_TOP_HZ)
        if rng.random() < 0.5:
            stop |= axis_hz < rng.uniform(*BAND_BOTTOM_HZ)
        windows[row, :, :spectrum][:, stop] = floor
    return windows


def apply_masks(windows: np.ndarray, augment: AugmentConfig, rng: np.random.Generator, chosen: np.ndarray) -> None:
    """Zero random time and frequency stripes of the ``chosen`` windows, in place."""
    _, frames, bins = windows.shape
    widest_freq = max(1, int(round(augment.freq_mask_fraction * bins)))
    for row in np.flatnonzero(chosen):
        for _ in range(augment.time_masks):
            width = int(rng.integers(0, augment.time_mask_frames + 1))
            start = int(rng.integers(0, max(1, frames - width)))
            windows[row, start:start + width, :] = 0.0
        for _ in range(augment.freq_masks):
            width = int(rng.integers(0, widest_freq + 1))
            start = int(rng.integers(0, max(1, bins - width)))
            windows[row, :, start:start + width] = 0.0


def augment_batch(
    windows: np.ndarray,
    augment: AugmentConfig,
    config: FeatureConfig,
    rng: np.random.Generator,
    standardise: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """Augment and standardise a batch of raw feature windows (batch, frames, bins).

    Parameters
    ----------
    windows : np.ndarray
        Unstandardised features (dB for spectra), float32.
    augment : AugmentConfig
        Probabilities and sizes.
    config : FeatureConfig
        Tells whether the bins are a frequency axis.
    rng : np.random.Generator
        The run's seeded generator.
    standardise : callable
        Per-window standardisation (the serving formula).

    Returns
    -------
    np.ndarray
        Standardised, augmented windows.
    """
    if augment.band_limit_prob > 0 and config.spectrum_bins:
        axis, unit = feature_axis(config)
        if unit == "Hz":
            windows = band_limit(windows, axis[:config.spectrum_bins], augment.band_limit_prob, rng)
    chosen = rng.random(len(windows)) < augment.prob
    spectrum_bins = config.spectrum_bins
    if augment.eq_db > 0 and spectrum_bins and chosen.any():
        # Only spectrum bins take the EQ; a smooth EQ leaves melfine's and melexc's summary rows unchanged.
        gain = spectral_gain(len(windows), spectrum_bins, augment.eq_db, rng)
        windows = windows.copy()
        windows[:, :, :spectrum_bins] += gain * chosen[:, np.newaxis, np.newaxis]
    windows = standardise(windows)
    apply_masks(windows, augment, rng, chosen)
    return windows

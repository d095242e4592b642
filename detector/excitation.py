"""Excitation features: how the voice's source signal behaves, frame by frame.

A spectrogram keeps each frame's magnitude and throws its phase away, yet that is
where vocoder copies of a real voice differ from the voice itself: they keep the
spectral envelope and rebuild the excitation. Griffin-Lim guesses the phase, so a
glottal pulse is smeared into noise-like ripple; WORLD, LPC and MLSA vocoders drive
the envelope with a synthetic pulse train or noise, too regular or too sharp.
Linear prediction removes the envelope; the prediction residual that is left is
the excitation, and its shape in time (how peaky, how periodic, in which band)
is phase information a mel spectrogram cannot show.

Every second analysis frame (the spectrogram's frames; each value is held for the
frame after it) gives ``EXCITATION_ROWS`` numbers, measured in
these units and then mapped onto the scale of a mel band (see ``ROW_CENTRE``):

0. prediction gain, dB: how much of the frame the envelope explains;
1. residual kurtosis, dB (Gaussian noise: 4.8 dB; a pulse train: far higher);
2. residual crest factor, dB (peak against RMS);
3. residual periodicity, the highest normalised autocorrelation at a pitch lag
   (80-400 Hz), times 20;
4-7. residual kurtosis, dB, in four bands: 0-1/8, 1/8-1/4, 1/4-1/2 and 1/2-1 of
   the Nyquist frequency (0-1, 1-2, 2-4, 4-8 kHz at 16 kHz): whether pulses stay
   aligned across harmonics in each band.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
from scipy.fft import irfft, next_fast_len, rfft

from detector.framing import frame_signal

if TYPE_CHECKING:  # detector.config imports the front ends, which import this module
    from detector.config import FeatureConfig

LPC_ORDER = 16
# Added to the samples before analysis, like the spectrogram's noise floor: exact
# digital silence (common in TTS output) would otherwise give undefined statistics
# and become a class cue. A fixed seed keeps training and serving identical.
DITHER_DBFS = -75.0
_DITHER_SEED = 20261122
# Bump whenever this module's arithmetic changes: the trainer's feature cache key
# includes it for ``melexc``, so only those caches are rebuilt.
EXCITATION_VERSION = 3
# Statistics per frame: the width of the block ``melexc`` appends to its mel bins.
EXCITATION_ROWS = 8
# Rows leave here on the scale of a loudness-normalised mel band (centre
# MEL_LEVEL_DB, spread MEL_SPREAD_DB), so the one standardisation of a whole window
# (detector.windows.standardise) neither squashes them nor lets them shift the
# mel bands' mean. ROW_CENTRE and ROW_SPREAD are each row's typical value and
# spread, rounded, over 40 genuine clips of the default corpus's training split, in
# the row's own units; fixed constants, so training and serving map rows identically.
MEL_LEVEL_DB, MEL_SPREAD_DB = -40.0, 15.0
ROW_CENTRE = np.array([21.0, 6.0, 11.5, 3.5, 5.0, 5.5, 6.0, 5.0])
ROW_SPREAD = np.array([11.0, 2.0, 2.0, 2.0, 1.5, 1.5, 2.0, 1.5])
# Statistics are computed on every FRAME_STRIDE-th spectrogram frame and held for
# the frames between: 20 ms steps still resolve syllables, and it halves the cost
# (serving a 10-s clip stays within its 30-ms budget; see bench/).
FRAME_STRIDE = 2
BLOCK_FRAMES = 2048
PITCH_RANGE_HZ = (80.0, 400.0)
BAND_EDGES = (0.0, 0.125, 0.25, 0.5, 1.0)  # fractions of the Nyquist frequency
_TINY = 1e-12


@lru_cache(maxsize=1)
def _dither_block() -> np.ndarray:
    """A fixed 2**15-sample stretch of white noise at DITHER_DBFS, repeated to any length."""
    noise = np.random.default_rng(_DITHER_SEED).standard_normal(1 << 15, dtype=np.float32)
    return noise * np.float32(10.0 ** (DITHER_DBFS / 20.0))


@lru_cache(maxsize=8)
def _hanning(length: int) -> np.ndarray:
    return np.hanning(length).astype(np.float32)


def levinson(autocorr: np.ndarray, order: int) -> np.ndarray:
    """Prediction-error filters ``[1, a1, ..., a_order]`` for each row of autocorrelations.

    Parameters
    ----------
    autocorr : np.ndarray
        (rows, >= order + 1) autocorrelation sequences, lag 0 first.
    order : int
        Number of predictor coefficients.

    Returns
    -------
    np.ndarray
        (rows, order + 1) filters; the residual is ``np.convolve(frame, filter)``.
    """
    rows = autocorr.shape[0]
    filters = np.zeros((rows, order + 1))
    filters[:, 0] = 1.0
    error = autocorr[:, 0].copy()
    for i in range(1, order + 1):
        acc = autocorr[:, i] + np.sum(filters[:, 1:i] * autocorr[:, i - 1:0:-1], axis=1)
        reflection = -acc / np.maximum(error, _TINY)
        filters[:, 1:i] = filters[:, 1:i] + reflection[:, np.newaxis] * filters[:, i - 1:0:-1]
        filters[:, i] = reflection
        error = error * (1.0 - reflection ** 2)
    return filters


def _kurtosis_db(signal: np.ndarray) -> np.ndarray:
    """Fourth moment over squared power, in dB (scale-free, so no absolute epsilon)."""
    squared = signal * signal
    power = squared.mean(axis=-1)
    return 10.0 * np.log10(np.mean(squared * squared, axis=-1) / np.maximum(power * power, 1e-30))


@lru_cache(maxsize=8)
def _band_masks(length: int) -> np.ndarray:
    """(bands, length // 2 + 1) boolean masks over the rfft bins of a residual segment."""
    position = np.arange(length // 2 + 1) / (length // 2)
    edges = BAND_EDGES
    return np.stack([(position >= lo) & (position < hi if hi < 1.0 else position <= hi)
                     for lo, hi in zip(edges[:-1], edges[1:])])


def excitation_features(samples: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """:func:`excitation_statistics` mapped onto a mel band's scale: the model's rows."""
    rows = excitation_statistics(samples, config)
    return (MEL_LEVEL_DB + MEL_SPREAD_DB * (rows - ROW_CENTRE) / ROW_SPREAD).astype(np.float32)


def excitation_statistics(samples: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Per-frame excitation statistics of a prepared clip, in their own units (see the module docstring).

    Parameters
    ----------
    samples : np.ndarray
        Prepared mono samples at ``config.sample_rate``, at least one window long
        (``detector.preparation.fit_to_window`` output), so the frames match the
        spectrogram's.
    config : FeatureConfig
        Sample rate and analysis frames.

    Returns
    -------
    np.ndarray
        (frames, EXCITATION_ROWS).
    """
    x = np.asarray(samples, dtype=np.float32)
    x = x + np.resize(_dither_block(), len(x))
    all_frames = frame_signal(x, config.frame_length, config.frame_hop)
    frames = all_frames[::FRAME_STRIDE]
    # Blocks of frames bound the working memory on long clips (the statistics of
    # each frame do not depend on the others, so blocking changes no number).
    rows = np.concatenate([_frame_statistics(frames[i:i + BLOCK_FRAMES], config.sample_rate)
                           for i in range(0, len(frames), BLOCK_FRAMES)])
    return np.repeat(rows, FRAME_STRIDE, axis=0)[: len(all_frames)]


def _frame_statistics(frames: np.ndarray, sample_rate: int) -> np.ndarray:
    """(frames, EXCITATION_ROWS) statistics of a block of unwindowed frames."""
    # float32 throughout (scipy's FFT keeps it: about twice as fast); only the
    # Levinson recursion, on 17 numbers a frame, runs in float64 for stability.
    length = frames.shape[1]
    # FFT sizes just long enough for linear (not circular) products.
    n_filter = next_fast_len(length + LPC_ORDER, real=True)
    spectrum = rfft(frames * _hanning(length), n=n_filter, axis=1)
    power_spectrum = spectrum.real * spectrum.real + spectrum.imag * spectrum.imag
    autocorr = irfft(power_spectrum, n=n_filter, axis=1)[:, :LPC_ORDER + 1].astype(np.float64)
    autocorr[:, 0] *= 1.0 + 1e-6  # white-noise correction keeps the recursion stable
    filters = levinson(autocorr, LPC_ORDER).astype(np.float32)
    # Residual of the unwindowed frame, skipping the first LPC_ORDER samples whose
    # prediction would reach outside the frame.
    residual = irfft(rfft(frames, n=n_filter, axis=1) * rfft(filters, n=n_filter, axis=1), n=n_filter, axis=1)
    residual = residual[:, LPC_ORDER:length]
    segment = residual.shape[1]
    frame_power = np.var(frames, axis=1)
    residual_power = np.mean(residual * residual, axis=1)
    gain_db = np.clip(10.0 * np.log10((frame_power + _TINY) / (residual_power + _TINY)), 0.0, 60.0)
    crest_db = 20.0 * np.log10(np.max(np.abs(residual), axis=1) / np.sqrt(residual_power + _TINY) + _TINY)

    low = max(1, int(sample_rate / PITCH_RANGE_HZ[1]))
    high = min(segment - 1, int(sample_rate / PITCH_RANGE_HZ[0]))
    n_lag = next_fast_len(segment + high, real=True)
    centred = rfft(residual - residual.mean(axis=1, keepdims=True), n=n_lag, axis=1)
    lagged = irfft(centred.real * centred.real + centred.imag * centred.imag, n=n_lag, axis=1)
    periodicity = np.max(lagged[:, low:high + 1], axis=1) / (lagged[:, 0] + _TINY)

    band_spectrum = rfft(residual, axis=1)
    bands = [_kurtosis_db(irfft(band_spectrum * mask, n=segment, axis=1)) for mask in _band_masks(segment)]
    rows = [gain_db, _kurtosis_db(residual), crest_db, 20.0 * np.clip(periodicity, 0.0, 1.0), *bands]
    return np.stack(rows, axis=1)

"""Whisper's log-mel spectrogram, the encoder's input, in numpy.

The recipe of OpenAI's reference code: a 400-sample (25 ms) periodic Hann window
every 160 samples (10 ms) with the signal reflect-padded by half a window at both
ends, the power spectrum, 80 Slaney-normalised mel bands up to 8 kHz, log10,
everything clamped to at most 8 decades below the clip's loudest value, then
``(x + 4) / 4``. The reference drops the last STFT frame, so a clip of ``n``
samples gives ``n // 160`` frames.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.fft import rfft

from detector.errors import AudioError

SAMPLE_RATE = 16_000
N_FFT = 400
HOP = 160
N_MELS = 80
DYNAMIC_RANGE_DECADES = 8.0
LOG_FLOOR = 1e-10


@lru_cache(maxsize=1)
def mel_filters() -> np.ndarray:
    """Whisper's (80, 201) mel filter bank: librosa's Slaney mel scale and area normalisation."""
    import librosa  # imported here: the registry reaches this module, and the app should not pay librosa's import

    return librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS).astype(np.float32)


@lru_cache(maxsize=1)
def _window() -> np.ndarray:
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)


def log_mel(samples: np.ndarray, noise_floor_dbfs: float | None = None) -> np.ndarray:
    """Log-mel frames of a mono 16 kHz clip, shape (len(samples) // 160, 80), float32.

    Parameters
    ----------
    samples : np.ndarray
        Mono waveform at 16 kHz, float, nominally in [-1, 1].
    noise_floor_dbfs : float, optional
        Add the expected power of white noise at this level to every bin before the
        mel bands, as the other front ends do (``detector.spectrum``): digital
        silence, common in synthetic audio, must not become a class cue. ``None``
        is the reference recipe.

    Raises
    ------
    AudioError
        When the clip is not one-dimensional or shorter than one hop.
    """
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim != 1:
        raise AudioError("The encoder needs a mono clip.", code="not_mono")
    n_frames = len(samples) // HOP
    if n_frames < 1 or len(samples) <= N_FFT // 2:
        raise AudioError("The clip is too short for the encoder (under 13 ms).", code="too_short")
    padded = np.pad(samples, N_FFT // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP][:n_frames]
    spectrum = rfft(frames * _window(), axis=1)
    power = (spectrum.real ** 2 + spectrum.imag ** 2).astype(np.float32)
    if noise_floor_dbfs is not None:
        power += np.float32(10.0 ** (noise_floor_dbfs / 10.0) * np.sum(_window() ** 2))
    log_spec = np.log10(np.maximum(power @ mel_filters().T, LOG_FLOOR))
    log_spec = np.maximum(log_spec, log_spec.max() - DYNAMIC_RANGE_DECADES)
    return ((log_spec + 4.0) / 4.0).astype(np.float32)

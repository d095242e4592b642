"""Is there speech in this clip? A small voice-activity measure with numpy only.

The detector judges *voices*; a tone, a hum or plain noise gets a meaningless
score (a 440 Hz tone once scored "uncertain 60 %", white noise "uncertain 7 %").
Voiced speech has two properties those lack together:

* it is **periodic** with a pitch between 60 and 400 Hz: the normalised
  autocorrelation of a 40-ms frame has a clear peak at the pitch period
  (noise has none; low-pass noise decays monotonically, so its largest value
  sits at the shortest lag searched and is rejected);
* it is **harmonically rich**: its power is spread over several harmonics,
  while a pure tone puts nearly all of it into one spectral peak.

A frame that is loud enough, periodic and not a single peak counts as voiced
speech when it belongs to a stretch of at least 80 ms (noise is periodic by
chance in isolated frames, vowels last longer). Speech is roughly half voiced, so the voiced seconds are a conservative
measure of how much speech a clip holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import soxr

ANALYSIS_RATE = 8000       # pitch and the first harmonics lie far below 4 kHz; half the rate, half the work
FRAME_S = 0.040            # long enough for two periods of a 60-Hz voice
HOP_S = 0.020
MIN_PITCH_HZ = 60.0
MAX_PITCH_HZ = 400.0
PERIODICITY = 0.45         # normalised autocorrelation peak a voiced frame reaches (noise: ~0.1-0.2)
SINGLE_PEAK_SHARE = 0.97   # a frame with more of its power in one spectral peak is a tone, not a voice
PEAK_HALF_WIDTH_HZ = 60.0  # what "one peak" spans (the Hann main lobe plus a slow vibrato)
LOUDNESS_RANGE_DB = 40.0   # frames quieter than this below the loudest frame are pauses
MIN_RUN_FRAMES = 4         # voiced stretches shorter than this (80 ms) are chance periodicity in noise
MIN_VOICED_S = 0.5         # less voiced speech than this: no verdict
CHUNK_FRAMES = 2048        # frames analysed per block, bounding memory on 10-minute clips


@dataclass(frozen=True)
class SpeechActivity:
    """How much of a clip is voiced speech.

    Attributes
    ----------
    voiced_s : float
        Seconds of frames judged voiced speech.
    duration_s : float
        Length of the clip measured.
    voiced : np.ndarray
        One boolean per frame (``HOP_S`` apart).
    """

    voiced_s: float
    duration_s: float
    voiced: np.ndarray

    @property
    def share(self) -> float:
        """Voiced seconds per second of clip (0 for an empty clip)."""
        return self.voiced_s / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def enough(self) -> bool:
        return self.voiced_s >= MIN_VOICED_S


def _frames(samples: np.ndarray, length: int, hop: int) -> np.ndarray:
    count = 1 + max(0, len(samples) - length) // hop
    if len(samples) < length:
        samples = np.pad(samples, (0, length - len(samples)))
    return np.lib.stride_tricks.sliding_window_view(samples, length)[::hop][:count]


def _voiced_frames(frames: np.ndarray, rate: int, window: np.ndarray, window_acf: np.ndarray,
                   n_fft: int) -> np.ndarray:
    """Periodic, harmonically rich frames of one block (loudness is judged by the caller)."""
    frames = frames - frames.mean(axis=1, keepdims=True)
    spectrum = np.fft.rfft(frames * window, n=n_fft)
    power = np.abs(spectrum) ** 2
    # Autocorrelation from the power spectrum, divided by the window's own so a
    # perfectly periodic frame reaches 1 at its period whatever the lag.
    acf = np.fft.irfft(power, n=n_fft)[:, : len(window)]
    acf = acf / np.maximum(acf[:, :1], 1e-20) / window_acf
    low, high = int(rate / MAX_PITCH_HZ), int(np.ceil(rate / MIN_PITCH_HZ))
    search = acf[:, low:high + 1]
    best = search.argmax(axis=1)
    periodic = (search.max(axis=1) >= PERIODICITY) & (best > 0) & (best < search.shape[1] - 1)
    # Share of the power within one peak around the strongest bin.
    half = max(1, int(round(PEAK_HALF_WIDTH_HZ * n_fft / rate)))
    top = power.argmax(axis=1)
    cumulative = np.concatenate([np.zeros((len(power), 1)), np.cumsum(power, axis=1)], axis=1)
    rows = np.arange(len(power))
    lo, hi = np.clip(top - half, 0, power.shape[1]), np.clip(top + half + 1, 0, power.shape[1])
    peak_share = (cumulative[rows, hi] - cumulative[rows, lo]) / np.maximum(cumulative[:, -1], 1e-20)
    return periodic & (peak_share < SINGLE_PEAK_SHARE)


def _drop_short_runs(flags: np.ndarray, shortest: int) -> np.ndarray:
    """``flags`` with every run of True shorter than ``shortest`` set to False."""
    edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    kept = np.zeros_like(flags)
    for start, stop in zip(starts, stops):
        if stop - start >= shortest:
            kept[start:stop] = True
    return kept


def speech_activity(samples: np.ndarray, sample_rate: int) -> SpeechActivity:
    """Measure voiced speech in a mono clip.

    Parameters
    ----------
    samples : np.ndarray
        Mono samples (any level: the measure is relative to the loudest frame).
    sample_rate : int
        Their rate in Hz (at least 4000).

    Returns
    -------
    SpeechActivity

    Raises
    ------
    ValueError
        Samples that are not one-dimensional, or a sample rate below 4000 Hz.
    """
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError("speech_activity expects mono samples (one dimension)")
    if sample_rate < 4000:
        raise ValueError(f"speech_activity needs a sample rate of at least 4000 Hz, got {sample_rate}")
    duration = len(samples) / sample_rate
    if sample_rate > ANALYSIS_RATE:
        samples = soxr.resample(samples, sample_rate, ANALYSIS_RATE, quality="MQ").astype(np.float32, copy=False)
        sample_rate = ANALYSIS_RATE
    length, hop = int(round(FRAME_S * sample_rate)), int(round(HOP_S * sample_rate))
    if len(samples) < length:
        return SpeechActivity(0.0, duration, np.zeros(0, dtype=bool))
    frames = _frames(samples, length, hop)
    level = 10.0 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-12)
    loud = level > level.max() - LOUDNESS_RANGE_DB
    window = np.hanning(length).astype(np.float32)
    n_fft = 2 * length  # room for every lag without wrap-around; 640 at 8 kHz factors into small primes
    window_acf = np.correlate(window.astype(np.float64), window.astype(np.float64), mode="full")[length - 1:]
    window_acf = np.maximum(window_acf / window_acf[0], 1e-3)
    voiced = np.zeros(len(frames), dtype=bool)
    for start in range(0, len(frames), CHUNK_FRAMES):
        block = frames[start:start + CHUNK_FRAMES]
        voiced[start:start + len(block)] = _voiced_frames(block, sample_rate, window, window_acf, n_fft)
    voiced = _drop_short_runs(voiced & loud, MIN_RUN_FRAMES)
    return SpeechActivity(float(voiced.sum()) * HOP_S, duration, voiced)


# A genuine recording holds no run of exact zeros longer than this (a synthesiser's gaps often do: pure black
# columns in a spectrogram); the Learn examples are checked against it.
MAX_DIGITAL_SILENCE_S = 0.02


def digital_silence_s(samples: np.ndarray, rate: int) -> float:
    """The longest run of exact zeros in ``samples``, in seconds."""
    silent = np.concatenate([[0], (np.asarray(samples) == 0).astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(silent))
    runs = edges[1::2] - edges[::2]
    return float(runs.max()) / rate if len(runs) else 0.0

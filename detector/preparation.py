"""Waveform preparation: trim silence and normalise loudness before any feature.

``prepare_waveform`` trims leading/trailing silence and normalises loudness, so
neither class can be told apart by silence or level; ``fit_to_window`` repeats a
clip shorter than one model window. Every front end (``detector.frontends``)
sees clips prepared here, in training and in serving alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from detector.errors import AudioError
from detector.framing import frame_signal

if TYPE_CHECKING:  # detector.config imports the front ends, which import this module
    from detector.config import FeatureConfig

SILENCE_DBFS = -60.0  # below this RMS (in every frame) a clip counts as silent
_EPS = 1e-10


@dataclass
class PreparedClip:
    """A trimmed, loudness-normalised clip and what preparing it revealed."""

    samples: np.ndarray
    sample_rate: int
    speech_s: float          # duration of frames within ``trim_top_db`` of the loudest frame
    leading_trim_s: float
    trailing_trim_s: float
    gain_db: float           # gain applied to reach the target loudness
    clipped_fraction: float  # share of input samples at or near full scale

    @property
    def duration_s(self) -> float:
        return len(self.samples) / float(self.sample_rate)


def frame_rms_db(samples: np.ndarray, frame_length: int, hop: int) -> np.ndarray:
    """RMS level in dBFS of each analysis frame (at least one frame)."""
    frames = frame_signal(samples, frame_length, hop)
    power = np.mean(frames.astype(np.float64) ** 2, axis=1)
    return 10.0 * np.log10(power + _EPS)


def prepare_waveform(samples: np.ndarray, config: FeatureConfig, check_length: bool = True) -> PreparedClip:
    """Trim silence and normalise loudness exactly as the model was trained.

    Parameters
    ----------
    samples : np.ndarray
        Mono float32 samples at ``config.sample_rate``.
    config : FeatureConfig
        The model's feature configuration.
    check_length : bool
        Refuse clips with less than ``config.min_speech_s`` of sound.

    Raises
    ------
    AudioError
        Silent clips, and (with ``check_length``) clips too short to judge.
    """
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim != 1:
        raise AudioError("Internal error: expected mono audio.", "invalid")
    rate = config.sample_rate
    if len(samples) < config.frame_length:
        raise AudioError(
            f"The clip is only {len(samples) / rate * 1000:.0f} ms long; at least {config.min_speech_s:g} s of speech is needed.",
            "too_short",
        )
    clipped = float(np.mean(np.abs(samples) >= 0.999))
    levels = frame_rms_db(samples - np.mean(samples), config.frame_length, config.frame_hop)
    peak = float(levels.max())
    if peak < SILENCE_DBFS:
        raise AudioError("The clip is silent: there is no sound to analyse.", "silent")
    active = levels > peak - config.trim_top_db
    first = int(np.argmax(active))
    last = len(active) - int(np.argmax(active[::-1]))
    start = first * config.frame_hop
    stop = min(len(samples), (last - 1) * config.frame_hop + config.frame_length)
    trimmed = samples[start:stop] - np.mean(samples[start:stop])
    speech_s = float(np.sum(active)) * config.frame_hop / rate
    if check_length and stop - start < config.min_speech_s * rate:
        raise AudioError(
            f"The clip has only {(stop - start) / rate:.2f} s of sound after trimming silence; "
            f"at least {config.min_speech_s:g} s is needed for a verdict.",
            "too_short",
        )
    # Loudness: RMS over the active frames only, so pauses do not change the gain.
    active_power = np.mean(10.0 ** (levels[active] / 10.0))
    gain_db = config.target_rms_dbfs - 10.0 * np.log10(active_power + _EPS)
    normalised = trimmed * np.float32(10.0 ** (gain_db / 20.0))
    peak_amp = float(np.max(np.abs(normalised))) if len(normalised) else 0.0
    if peak_amp > 0.99:  # never create clipping: scale the peak back to just below full scale
        normalised *= np.float32(0.99 / peak_amp)
        gain_db += 20.0 * np.log10(0.99 / peak_amp)
    return PreparedClip(
        samples=normalised.astype(np.float32, copy=False),
        sample_rate=rate,
        speech_s=speech_s,
        leading_trim_s=start / rate,
        trailing_trim_s=(len(samples) - stop) / rate,
        gain_db=float(gain_db),
        clipped_fraction=clipped,
    )


def fit_to_window(samples: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Repeat a clip shorter than one model window until it fills the window.

    Repetition (rather than zero padding) keeps short clips free of artificial
    silence, which would otherwise be a cue the model could learn.
    """
    need = config.window_samples
    if len(samples) >= need:
        return samples
    return np.resize(samples, need).astype(np.float32, copy=False)

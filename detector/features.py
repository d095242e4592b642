"""Waveform preparation and model features: the one code path for training and serving.

``prepare_waveform`` trims leading/trailing silence and normalises loudness, so
neither class can be told apart by silence or level. ``clip_features`` turns the
prepared clip into a (frames, bins) matrix and ``split_windows`` cuts it into the
fixed windows the model scores. The corpus builder, the trainer and the
``Detector`` all call these functions with the model's saved ``FeatureConfig``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.fft import dct, idct, rfft

from detector.config import FINE_BANDS, FINE_MIN_HZ, MEL_FEATURES, FeatureConfig
from detector.errors import AudioError
from detector.excitation import EXCITATION_VERSION, excitation_features
from detector.framing import frame_signal

SILENCE_DBFS = -60.0  # below this RMS (in every frame) a clip counts as silent
# Every spectrum gets the expected power of white noise at this level added. Digital
# silence (exact zeros, common in TTS output and padding) would otherwise sit at the
# numeric floor far below any microphone's noise and become a class cue.
NOISE_FLOOR_DBFS = -75.0
# Bump whenever this module's arithmetic changes, so on-disk feature caches are rebuilt.
FEATURES_VERSION = 2
_EPS = 1e-10
# Cepstral coefficients kept as the spectral envelope by ``fine_structure``: with
# 257 bins over 0-8 kHz, 30 coefficients keep quefrencies below ~1.9 ms, so every
# voice's harmonics (pitch periods of 2.5-12 ms) land in the residual.
FINE_LIFTER = 30


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


@lru_cache(maxsize=8)
def _hann(length: int) -> np.ndarray:
    return np.hanning(length + 1)[:-1].astype(np.float32)


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """Slaney's mel scale (linear below 1 kHz, logarithmic above), as librosa's default."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / (200.0 / 3)
    log_part = 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, log_part, linear)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    linear = mel * (200.0 / 3)
    log_part = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0))
    return np.where(mel >= 15.0, log_part, linear)


def mel_frequencies(n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    return mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels))


@lru_cache(maxsize=8)
def _mel_filters(sample_rate: int, n_fft: int, n_mels: int, fmin: float = 20.0) -> np.ndarray:
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


@lru_cache(maxsize=8)
def _linear_filters(sample_rate: int, n_fft: int, n_filters: int) -> np.ndarray:
    """Triangular filters equally spaced in Hz (the LFCC front end)."""
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


def power_spectrogram(samples: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Power STFT, shape (frames, n_fft // 2 + 1), no centre padding."""
    frames = frame_signal(np.ascontiguousarray(samples, dtype=np.float32), config.frame_length, config.frame_hop)
    window = _hann(config.frame_length)
    # scipy keeps float32 (complex64): ~5x faster than numpy's float64 FFT here.
    spectrum = rfft(frames * window, n=config.n_fft, axis=1)
    return (spectrum.real ** 2 + spectrum.imag ** 2).astype(np.float32)


def _noise_floor(config: FeatureConfig) -> float:
    """Expected per-bin power of white noise at ``NOISE_FLOOR_DBFS`` through the Hann window."""
    return float(10.0 ** (NOISE_FLOOR_DBFS / 10.0) * np.sum(_hann(config.frame_length) ** 2))


def clip_power(samples: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Power spectrogram of a prepared clip (repeated to fill a window if short)."""
    return power_spectrogram(fit_to_window(samples, config), config)


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


def features_from_power(power: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Model features from a power spectrogram, shape (frames, config.n_bins), float32."""
    power = power + _noise_floor(config)
    if config.feature == "logspec":
        out = 10.0 * np.log10(power + _EPS)
    elif config.feature in MEL_FEATURES:
        out = 10.0 * np.log10(power @ _mel_filters(config.sample_rate, config.n_fft, config.n_mels).T + _EPS)
        if config.feature == "melfine":
            out = np.concatenate([out, fine_structure(10.0 * np.log10(power + _EPS), config)], axis=1)
    else:
        energies = power @ _linear_filters(config.sample_rate, config.n_fft, config.n_linear_filters).T
        out = dct(10.0 * np.log10(energies + _EPS), type=2, norm="ortho", axis=1)[:, : config.n_lfcc]
    return out.astype(np.float32, copy=False)


def feature_code(config: FeatureConfig) -> dict[str, int]:
    """Versions of the arithmetic behind ``config``'s features, saved with every model.

    ``features.json`` holds the settings; these numbers say which code computed
    them, so a model is never served by feature code that has changed under it.
    """
    code = {"features": FEATURES_VERSION}
    if config.feature == "melexc":
        code["excitation"] = EXCITATION_VERSION
    return code


def features_from_clip(samples: np.ndarray, power: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Model features of a prepared clip whose power spectrogram is already known.

    Most feature types are a function of the power spectrogram alone; ``melexc``
    also needs the waveform, for the excitation statistics it appends.
    """
    features = features_from_power(power, config)
    if config.feature == "melexc":
        excitation = excitation_features(fit_to_window(samples, config), config)
        features = np.concatenate([features, excitation], axis=1)
    return features


def clip_features(samples: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Model features of a prepared clip, shape (frames, config.n_bins), float32."""
    return features_from_clip(samples, clip_power(samples, config), config)


def feature_axis(config: FeatureConfig) -> tuple[np.ndarray, str]:
    """Values and unit of the feature axis (Hz for spectra, coefficient index for LFCC).

    For ``melfine`` and ``melexc`` the axis covers the mel bins only: the bands
    that follow them are summaries, not more spectrum, and are not drawn.
    """
    if config.feature == "logspec":
        return np.fft.rfftfreq(config.n_fft, 1.0 / config.sample_rate), "Hz"
    if config.feature in MEL_FEATURES:
        return mel_frequencies(config.n_mels + 2, 20.0, config.sample_rate / 2)[1:-1], "Hz"
    return np.arange(config.n_lfcc, dtype=np.float64), "coefficient"


def window_starts(n_frames: int, config: FeatureConfig) -> np.ndarray:
    """First frame of each model window; the last window is aligned to the clip's end."""
    size, hop = config.window_frames, config.hop_frames
    if n_frames <= size:
        return np.array([0])
    starts = list(range(0, n_frames - size + 1, hop))
    if starts[-1] != n_frames - size:
        starts.append(n_frames - size)
    return np.array(starts)


def standardise(windows: np.ndarray, window_norm: str = "global") -> np.ndarray:
    """Zero mean, unit variance over each (frames, bins) window.

    ``windows`` is one window or a stack of them (any leading axes): the trainer's
    batches and the server's windows go through this one formula.
    ``window_norm="per_band"`` first subtracts each band's mean over the window's
    frames, so only how the spectrum moves in time and how bands differ from their
    own average remain (see ``detector.config.WINDOW_NORMS``).
    """
    if window_norm == "per_band":
        windows = windows - windows.mean(axis=-2, keepdims=True)
    mean = windows.mean(axis=(-2, -1), keepdims=True)
    return (windows - mean) / (windows.std(axis=(-2, -1), keepdims=True) + 1e-5)


def split_windows(features: np.ndarray, config: FeatureConfig) -> tuple[np.ndarray, np.ndarray]:
    """Cut a (frames, bins) matrix into model inputs.

    Returns
    -------
    windows : np.ndarray
        Shape (n_windows, window_frames, n_bins, 1), float32, each standardised.
    starts_s : np.ndarray
        Start time of each window in seconds.
    """
    size = config.window_frames
    if len(features) < size:  # only after external truncation; repeat like fit_to_window
        features = np.resize(features, (size, features.shape[1]))
    starts = window_starts(len(features), config)
    windows = standardise(np.stack([features[s:s + size] for s in starts]), config.window_norm).astype(np.float32)
    return windows[..., np.newaxis], starts * config.frame_hop_s


@dataclass
class ModelInput:
    """One clip on its way to the model: every intermediate the server or trainer may need."""

    prepared: PreparedClip
    power: np.ndarray     # (frames, bins) power spectrogram, before the noise floor (quality checks use it)
    features: np.ndarray  # (frames, config.n_bins)
    windows: np.ndarray   # (n_windows, window_frames, n_bins, 1), standardised
    starts_s: np.ndarray  # start of each window in seconds


def model_input(samples: np.ndarray, config: FeatureConfig, check_length: bool = True) -> ModelInput:
    """Prepare, featurise and window a mono clip at ``config.sample_rate``.

    The one path from samples to model windows: the ``Detector`` and the trainer's
    feature cache (through :func:`waveform_to_windows`) both call it.
    """
    prepared = prepare_waveform(samples, config, check_length=check_length)
    power = clip_power(prepared.samples, config)
    features = features_from_clip(prepared.samples, power, config)
    windows, starts = split_windows(features, config)
    return ModelInput(prepared, power, features, windows, starts)


def waveform_to_windows(samples: np.ndarray, config: FeatureConfig, check_length: bool = True) -> tuple[np.ndarray, np.ndarray, PreparedClip, np.ndarray]:
    """:func:`model_input` as a tuple ``(windows, starts_s, prepared_clip, features)``."""
    clip = model_input(samples, config, check_length)
    return clip.windows, clip.starts_s, clip.prepared, clip.features

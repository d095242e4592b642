"""Vocoder copies of a recording: the simplest way to make a "fake" of a real voice.

A copy-synthesis analyses a genuine clip into vocoder parameters and rebuilds the
waveform from them, so the words, voice and timing stay the same and only the
traces of the vocoder are new. That makes copies ideal teaching material (the
Learn page) and a quick check of whether the detector notices a vocoder.

* :func:`world_copy` — the WORLD vocoder (pyworld): F0, spectral envelope and
  aperiodicity. Typical artefacts: too-regular harmonics, a buzzy or smoothed
  noise floor, breath and fricatives replaced by shaped noise.
* :func:`griffin_lim_copy` — an 80-band mel spectrogram (what most neural TTS
  systems predict) inverted with Griffin-Lim phase reconstruction (librosa).
  Typical artefacts: phase smearing ("phasiness", metallic reverberation) and
  harmonics blurred by the coarse mel resolution at high frequencies.

Both are pure functions: mono float samples in, float32 samples of the same length
and rate out. Neither imports Streamlit.
"""

from __future__ import annotations

import numpy as np

MIN_SAMPLE_RATE = 8000
PEAK = 0.89  # output peak level (about -1 dBFS) so copies never clip when saved as 16-bit
N_MELS = 80
WORLD_MIN_RATE = 16000
GRIFFIN_LIM_ITERATIONS = 48


def _check(samples: np.ndarray, sr: int) -> np.ndarray:
    """Validate and return mono float64 samples (WORLD needs float64)."""
    data = np.asarray(samples, dtype=np.float64)
    if data.ndim != 1:
        raise ValueError("expected mono samples (a 1-D array)")
    if sr < MIN_SAMPLE_RATE:
        raise ValueError(f"sample rate must be at least {MIN_SAMPLE_RATE} Hz")
    if len(data) < sr // 10:
        raise ValueError("the clip is too short for a vocoder copy (under 0.1 s)")
    if not np.all(np.isfinite(data)):
        raise ValueError("the samples contain NaN or infinity")
    return data


def _fit(out: np.ndarray, length: int, reference_peak: float) -> np.ndarray:
    """Trim/pad to ``length`` and match the input's peak (capped at ``PEAK``)."""
    out = np.asarray(out, dtype=np.float64)[:length]
    if len(out) < length:
        out = np.pad(out, (0, length - len(out)))
    out = np.nan_to_num(out)
    peak = float(np.max(np.abs(out))) if len(out) else 0.0
    target = min(max(reference_peak, 1e-3), PEAK)
    if peak > 0:
        out = out * (target / peak)
    return out.astype(np.float32)


def world_copy(samples: np.ndarray, sr: int) -> np.ndarray:
    """Re-synthesise ``samples`` with the WORLD vocoder.

    Parameters
    ----------
    samples : np.ndarray
        Mono samples in [-1, 1].
    sr : int
        Their sample rate in Hz.

    Returns
    -------
    np.ndarray
        float32 samples, same length and rate.
    """
    import pyworld

    from detector.audio import resample

    data = _check(samples, sr)
    # D4C's aperiodicity bands assume wideband audio: at 8 kHz it calls almost
    # everything aperiodic and the copy turns into whisper. Vocode at 16 kHz at least.
    rate = max(sr, WORLD_MIN_RATE)
    work = data if rate == sr else resample(data.astype(np.float32), sr, rate).astype(np.float64)
    # DIO + StoneMask is several times faster than Harvest and good enough for
    # a teaching copy; the copy should sound like WORLD, not like a perfect clone.
    f0, times = pyworld.dio(work, rate, frame_period=5.0)
    f0 = pyworld.stonemask(work, f0, times, rate)
    envelope = pyworld.cheaptrick(work, f0, times, rate)
    aperiodicity = pyworld.d4c(work, f0, times, rate)
    out = pyworld.synthesize(f0, envelope, aperiodicity, rate, frame_period=5.0)
    if rate != sr:
        out = resample(out.astype(np.float32), rate, sr)
    return _fit(out, len(data), float(np.max(np.abs(data))))


def mel_settings(sr: int) -> tuple[int, int]:
    """FFT size and hop for the mel analysis: about 64 ms frames and a 16 ms hop at any rate."""
    n_fft = int(2 ** np.round(np.log2(0.064 * sr)))
    return n_fft, n_fft // 4


def griffin_lim_copy(samples: np.ndarray, sr: int, n_iter: int = GRIFFIN_LIM_ITERATIONS) -> np.ndarray:
    """Re-synthesise ``samples`` from an 80-band mel spectrogram with Griffin-Lim.

    The phase is thrown away and re-estimated, as a neural TTS system without a
    neural vocoder would do. A fixed random state keeps the copy reproducible.

    Parameters
    ----------
    samples : np.ndarray
        Mono samples in [-1, 1].
    sr : int
        Their sample rate in Hz.
    n_iter : int
        Griffin-Lim iterations (more = less phasey, slower).

    Returns
    -------
    np.ndarray
        float32 samples, same length and rate.
    """
    import librosa

    data = _check(samples, sr)
    n_fft, hop = mel_settings(sr)
    mel = librosa.feature.melspectrogram(y=data, sr=sr, n_fft=n_fft, hop_length=hop, n_mels=N_MELS,
                                         fmin=0.0, fmax=sr / 2, power=2.0)
    magnitude = librosa.feature.inverse.mel_to_stft(mel, sr=sr, n_fft=n_fft, power=2.0, fmin=0.0, fmax=sr / 2)
    out = librosa.griffinlim(magnitude, n_iter=n_iter, hop_length=hop, n_fft=n_fft, length=len(data),
                             random_state=0)
    return _fit(out, len(data), float(np.max(np.abs(data))))


VOCODERS = {
    "world": ("WORLD vocoder copy", world_copy),
    "griffin_lim": ("Griffin-Lim copy (80-band mel)", griffin_lim_copy),
}


def make_copies(samples: np.ndarray, sr: int) -> list[tuple[str, str, np.ndarray]]:
    """``(key, label, samples)`` for the input and each vocoder copy, genuine first."""
    original = np.asarray(samples, dtype=np.float32)
    copies = [("original", "Your recording", original)]
    copies += [(key, label, function(original, sr)) for key, (label, function) in VOCODERS.items()]
    return copies


def wav_bytes(samples: np.ndarray, sr: int) -> bytes:
    """16-bit PCM WAV bytes (for players, downloads and scoring a copy like an upload)."""
    import io

    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(buffer, np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0), int(sr), format="WAV",
             subtype="PCM_16")
    return buffer.getvalue()

"""Vocoder copy-synthesis: analyse a genuine clip and resynthesise it.

The one home of every vocoder the project uses. The copy keeps the speaker,
words, language and timing of the original, so the only difference between the
pair is the vocoder itself: a hard, honest negative.

* Corpus methods (:func:`copy_synthesis`, 16 kHz): WORLD (pyworld), Griffin-Lim
  from an 80-band mel (librosa), and with pysptk a mel-cepstral MLSA filter and
  an LPC all-pole filter (a scipy ``lfilter`` LPC stands in when pysptk is not
  installed). The corpus on disk was built with them.
* The Learn page's "fake your own voice" (:func:`make_copies`) runs the same
  corpus methods, so the fake a visitor hears is the kind the model trained on.
* :func:`world_copy` and :func:`griffin_lim_copy` work at a clip's own rate; the
  Learn page's committed example clips were made with them, so
  ``python -m train.learn_assets`` still reproduces those files.

Nothing here imports Streamlit or TensorFlow at module level: the app imports it.
"""

from __future__ import annotations

import importlib.util
import io

import numpy as np

RATE = 16000
_HOP = 80  # 5 ms at 16 kHz


def _has_sptk() -> bool:
    return importlib.util.find_spec("pysptk") is not None


def methods() -> list[str]:
    """Vocoder methods available in this environment."""
    return ["world", "griffinlim", "lpc"] + (["mlsa"] if _has_sptk() else [])


def _f0(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import pyworld

    x64 = x.astype(np.float64)
    f0, t = pyworld.dio(x64, RATE, f0_floor=60.0, f0_ceil=600.0, frame_period=_HOP * 1000 / RATE)
    return pyworld.stonemask(x64, f0, t, RATE), t


def world(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    import pyworld

    x64 = x.astype(np.float64)
    f0, t = _f0(x)
    sp = pyworld.cheaptrick(x64, f0, t, RATE)
    ap = pyworld.d4c(x64, f0, t, RATE)
    return pyworld.synthesize(f0, sp, ap, RATE, frame_period=_HOP * 1000 / RATE)


def griffinlim(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    import librosa

    mel = librosa.feature.melspectrogram(y=x, sr=RATE, n_fft=1024, hop_length=256, n_mels=80, power=1.0)
    # Pseudo-inverse of the mel basis: the NNLS inverse librosa uses by default is ~20x slower.
    basis = librosa.filters.mel(sr=RATE, n_fft=1024, n_mels=80)
    stft = np.maximum(np.linalg.pinv(basis) @ mel, 0.0)
    return librosa.griffinlim(stft, n_iter=32, hop_length=256, n_fft=1024, random_state=int(rng.integers(1 << 30)))


def _frames(x: np.ndarray, length: int = 512) -> np.ndarray:
    pad = np.pad(x.astype(np.float64), (length // 2, length // 2))
    count = 1 + (len(pad) - length) // _HOP
    idx = np.arange(length)[None, :] + _HOP * np.arange(count)[:, None]
    return pad[idx] * np.blackman(length)


def _excitation(x: np.ndarray, n_frames: int) -> np.ndarray:
    """Pulse train at the WORLD f0 in voiced frames, Gaussian noise elsewhere."""
    f0, _ = _f0(x)
    f0 = np.resize(f0, n_frames) if len(f0) != n_frames else f0
    if _has_sptk():
        import pysptk

        pitch = np.where(f0 > 0, RATE / np.maximum(f0, 1e-3), 0.0)
        return pysptk.excite(pitch.astype(np.float64), _HOP)
    out = np.zeros(n_frames * _HOP)
    phase = 0.0
    rng = np.random.default_rng(0)
    for i, f in enumerate(f0):
        seg = slice(i * _HOP, (i + 1) * _HOP)
        if f > 0:
            for n in range(_HOP):
                phase += f / RATE
                if phase >= 1.0:
                    phase -= 1.0
                    out[i * _HOP + n] = np.sqrt(RATE / f)
        else:
            out[seg] = rng.standard_normal(_HOP)
    return out


def mlsa(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    import pysptk
    from pysptk.synthesis import MLSADF, Synthesizer

    frames = _frames(x)
    mc = pysptk.mcep(frames, order=24, alpha=0.42, etype=1, eps=1e-8)
    b = pysptk.mc2b(mc, 0.42)
    source = _excitation(x, len(frames))
    return Synthesizer(MLSADF(order=24, alpha=0.42), _HOP).synthesis(source, b)


def lpc(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    frames = _frames(x)
    source = _excitation(x, len(frames))
    if _has_sptk():
        import pysptk
        from pysptk.synthesis import AllPoleDF, Synthesizer

        coefs = pysptk.lpc(frames + 1e-6 * rng.standard_normal(frames.shape), order=20)
        coefs[:, 0] = np.log(np.maximum(coefs[:, 0], 1e-10))  # the filter expects a log gain
        return Synthesizer(AllPoleDF(order=20), _HOP).synthesis(source, coefs)
    return _lpc_scipy(frames, source)


def _lpc_scipy(frames: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Frame-wise all-pole resynthesis with autocorrelation LPC (no pysptk)."""
    from scipy.linalg import solve_toeplitz
    from scipy.signal import lfilter

    order = 20
    out = np.zeros(len(frames) * _HOP)
    state = np.zeros(order)
    for i, frame in enumerate(frames):
        r = np.correlate(frame, frame, "full")[len(frame) - 1:len(frame) + order]
        r[0] += 1e-8
        a = solve_toeplitz(r[:order], -r[1:order + 1])
        gain = np.sqrt(max(r[0] + np.dot(a, r[1:order + 1]), 1e-12))
        seg = source[i * _HOP:(i + 1) * _HOP]
        y, state = lfilter([gain], np.concatenate([[1.0], a]), seg, zi=state)
        out[i * _HOP:i * _HOP + len(y)] = y
    return out


def _match_envelope(y: np.ndarray, x: np.ndarray, frame: int = 320) -> np.ndarray:
    """Give ``y`` the 20 ms energy envelope of ``x``.

    Source-filter resynthesis occasionally blows up for a few frames (an
    unstable filter at a silence/speech boundary); following the original's
    envelope removes such bursts without touching the spectral detail.
    """
    n = min(len(x), len(y)) // frame * frame
    if n == 0:
        return y
    ex = np.sqrt(np.mean(x[:n].reshape(-1, frame) ** 2, axis=1)) + 1e-6
    ey = np.sqrt(np.mean(y[:n].reshape(-1, frame) ** 2, axis=1)) + 1e-6
    gain = np.clip(ex / ey, 0.0, 10.0 * np.median(ex / ey))
    centres = np.arange(len(gain)) * frame + frame / 2
    return y * np.interp(np.arange(len(y)), centres, gain)


_METHODS = {"world": world, "griffinlim": griffinlim, "mlsa": mlsa, "lpc": lpc}


def _neural(method: str):
    """A neural method, imported only when asked for (the Learn page never needs one)."""
    from train.corpus.neural_vocoders import NEURAL_METHODS

    return NEURAL_METHODS[method]


def copy_synthesis(samples: np.ndarray, method: str, seed: int = 0) -> np.ndarray:
    """Resynthesise 16 kHz ``samples`` with ``method``; returns float32 at 16 kHz.

    ``method`` is a classic vocoder (:func:`methods`) or a neural one
    (:data:`train.corpus.neural_vocoders.NEURAL_METHODS`).
    """
    rng = np.random.default_rng(seed)
    synthesise = _METHODS.get(method) or _neural(method)
    y = np.asarray(synthesise(np.asarray(samples, dtype=np.float32), rng), dtype=np.float64)
    y = np.pad(y, (0, max(0, len(samples) - len(y))))[: len(samples)]  # HiFi-GAN stops at its last hop
    # An unstable filter can overflow for a few frames: zero them (the envelope match fills in).
    bound = 100.0 * (float(np.max(np.abs(samples))) + 1e-6)
    y = np.where(np.isfinite(y) & (np.abs(y) < bound), y, 0.0)
    if method in ("mlsa", "lpc"):
        y = _match_envelope(y, np.asarray(samples, dtype=np.float64))
    peak = np.max(np.abs(y)) if len(y) else 0.0
    return (y / peak * 0.9 if peak > 0 else y).astype(np.float32)


# The Learn page -------------------------------------------------------------------------
# "Fake your own voice": (key, label, corpus method). Keys and labels are what the page shows.
LEARN_COPIES = (("world", "WORLD vocoder copy", "world"), ("griffin_lim", "Griffin-Lim copy (80-band mel)", "griffinlim"))


def make_copies(samples: np.ndarray, sr: int) -> list[tuple[str, str, np.ndarray]]:
    """``(key, label, samples)`` for the input and its corpus-vocoder copies, genuine first, all at ``RATE``.

    The clip is resampled to the corpus rate and copied with :func:`copy_synthesis`
    and seed 0, exactly as the corpus builder makes its fakes.
    """
    from detector.audio import resample

    original = np.asarray(samples, dtype=np.float32)
    if sr != RATE:
        original = resample(original, sr, RATE)
    copies = [("original", "Your recording", original)]
    return copies + [(key, label, copy_synthesis(original, method, seed=0)) for key, label, method in LEARN_COPIES]


def wav_bytes(samples: np.ndarray, sr: int) -> bytes:
    """16-bit PCM WAV bytes (for players, downloads and scoring a copy like an upload)."""
    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(buffer, np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0), int(sr), format="WAV",
             subtype="PCM_16")
    return buffer.getvalue()


# Copies at a clip's own rate: the Learn page's committed examples ----------------------------
MIN_SAMPLE_RATE = 8000
PEAK = 0.89  # output peak level (about -1 dBFS) so copies never clip when saved as 16-bit
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
    out = np.nan_to_num(np.pad(np.asarray(out, dtype=np.float64)[:length], (0, max(0, length - len(out)))))
    peak = float(np.max(np.abs(out))) if len(out) else 0.0
    target = min(max(reference_peak, 1e-3), PEAK)
    return (out * (target / peak) if peak > 0 else out).astype(np.float32)


def world_copy(samples: np.ndarray, sr: int) -> np.ndarray:
    """WORLD copy of mono ``samples`` in [-1, 1] at ``sr``: float32, same length and rate."""
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
    """Copy of mono ``samples`` at ``sr`` from an 80-band mel with Griffin-Lim: float32, same length and rate.

    The phase is thrown away and re-estimated, as a neural TTS system without a
    neural vocoder would do. A fixed random state keeps the copy reproducible.
    """
    import librosa

    data = _check(samples, sr)
    n_fft, hop = mel_settings(sr)
    mel = librosa.feature.melspectrogram(y=data, sr=sr, n_fft=n_fft, hop_length=hop, n_mels=80,
                                         fmin=0.0, fmax=sr / 2, power=2.0)
    magnitude = librosa.feature.inverse.mel_to_stft(mel, sr=sr, n_fft=n_fft, power=2.0, fmin=0.0, fmax=sr / 2)
    out = librosa.griffinlim(magnitude, n_iter=n_iter, hop_length=hop, n_fft=n_fft, length=len(data),
                             random_state=0)
    return _fit(out, len(data), float(np.max(np.abs(data))))

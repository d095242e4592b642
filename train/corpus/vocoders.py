"""Vocoder copy-synthesis: analyse a genuine clip and resynthesise it.

The copy keeps the speaker, words, language and timing of the original, so the
only difference between the pair is the vocoder itself: a hard, honest
negative. Methods: WORLD (pyworld), Griffin-Lim from an 80-band mel (librosa),
and with pysptk a mel-cepstral MLSA filter and an LPC all-pole filter (a
scipy ``lfilter`` LPC stands in when pysptk is not installed).
"""

from __future__ import annotations

import importlib.util

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


def copy_synthesis(samples: np.ndarray, method: str, seed: int = 0) -> np.ndarray:
    """Resynthesise 16 kHz ``samples`` with ``method``; returns float32 at 16 kHz.

    ``method`` is a classic vocoder (:func:`methods`) or a neural one
    (:data:`train.corpus.neural_vocoders.NEURAL_METHODS`).
    """
    from train.corpus.neural_vocoders import NEURAL_METHODS

    rng = np.random.default_rng(seed)
    synthesise = _METHODS.get(method) or NEURAL_METHODS[method]
    y = np.asarray(synthesise(np.asarray(samples, dtype=np.float32), rng), dtype=np.float64)
    y = np.pad(y, (0, max(0, len(samples) - len(y))))[: len(samples)]  # HiFi-GAN stops at its last hop
    # An unstable filter can overflow for a few frames: zero them (the envelope match fills in).
    bound = 100.0 * (float(np.max(np.abs(samples))) + 1e-6)
    y = np.where(np.isfinite(y) & (np.abs(y) < bound), y, 0.0)
    if method in ("mlsa", "lpc"):
        y = _match_envelope(y, np.asarray(samples, dtype=np.float64))
    peak = np.max(np.abs(y)) if len(y) else 0.0
    return (y / peak * 0.9 if peak > 0 else y).astype(np.float32)

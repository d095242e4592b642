"""Channel conditions applied with equal probability to both classes.

Every output clip passes through exactly one condition, drawn from the same
distribution whatever its label, so codecs, band limits and noise never tell
genuine from synthetic. Codec round trips are encoded with PyAV's FFmpeg and
decoded back with :func:`detector.audio.load_audio` (the serving decoder).
GSM has no encoder in PyAV's FFmpeg build; AMR-NB, the mobile codec that
replaced it, stands in for it.
"""

from __future__ import annotations

import io

import numpy as np
import soxr
from scipy.signal import butter, sosfilt

from detector.audio import load_audio

RATE = 16000
# name -> probability; identical for genuine and synthetic clips.
CONDITIONS: dict[str, float] = {
    "clean": 0.30,
    "telephone": 0.14,
    "amr-nb": 0.14,
    "mp3": 0.14,
    "opus": 0.14,
    "noise": 0.14,
}


def draw_condition(rng: np.random.Generator) -> str:
    """One condition name, drawn from :data:`CONDITIONS`."""
    names = list(CONDITIONS)
    probs = np.array([CONDITIONS[n] for n in names])
    return str(rng.choice(names, p=probs / probs.sum()))


def narrowband(x: np.ndarray) -> np.ndarray:
    """Round trip through 8 kHz: what an 8 kHz-native recording looks like at 16 kHz."""
    down = soxr.resample(x, RATE, 8000, quality="VHQ")
    return soxr.resample(down, 8000, RATE, quality="VHQ")[: len(x)].astype(np.float32)


def _encode(x: np.ndarray, rate: int, codec: str, fmt: str, bit_rate: int) -> bytes:
    import av

    pcm = np.clip(x * 32767.0, -32768, 32767).astype(np.int16)
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        stream.bit_rate = bit_rate
        frame = av.AudioFrame.from_ndarray(pcm[None, :], format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def _codec_round_trip(x: np.ndarray, rate: int, codec: str, fmt: str, bit_rate: int) -> np.ndarray:
    src = x if rate == RATE else soxr.resample(x, RATE, rate, quality="VHQ")
    decoded = load_audio(_encode(src, rate, codec, fmt, bit_rate), RATE).samples
    # Codecs add priming delay; align by cross-correlation on a short lag range so
    # the clip's length and content are kept.
    return _align(decoded, x)


def _align(y: np.ndarray, x: np.ndarray, max_lag: int = 4000) -> np.ndarray:
    n = min(len(x), 32000)
    if len(y) < n:  # a decoder may return a few samples fewer than it was given
        y = np.pad(y, (0, n - len(y)))
    best, lag = -np.inf, 0
    ref = x[:n]
    for cand in range(0, min(max_lag, max(len(y) - n, 0)) + 1, 8):
        score = float(np.dot(y[cand:cand + n], ref))
        if score > best:
            best, lag = score, cand
    out = y[lag:lag + len(x)]
    if len(out) < len(x):
        out = np.pad(out, (0, len(x) - len(out)))
    return out.astype(np.float32)


def telephone(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """300-3400 Hz band, 8 kHz, G.711 mu-law companding."""
    y = soxr.resample(x, RATE, 8000, quality="VHQ")
    y = sosfilt(butter(4, [300, 3400], btype="bandpass", fs=8000, output="sos"), y)
    y = np.clip(y, -1.0, 1.0)
    mu = 255.0
    companded = np.sign(y) * np.log1p(mu * np.abs(y)) / np.log1p(mu)
    quantised = np.round(companded * 127.0) / 127.0
    y = np.sign(quantised) * ((1.0 + mu) ** np.abs(quantised) - 1.0) / mu
    return soxr.resample(y.astype(np.float32), 8000, RATE, quality="VHQ")[: len(x)].astype(np.float32)


def add_noise(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """White, pink or brown noise at 10-30 dB SNR (speech power over active frames)."""
    kind = rng.choice(["white", "pink", "brown"])
    white = rng.standard_normal(len(x))
    if kind == "white":
        noise = white
    else:
        spec = np.fft.rfft(white)
        freqs = np.maximum(np.fft.rfftfreq(len(x)), 1.0 / len(x))
        spec /= freqs ** (0.5 if kind == "pink" else 1.0)
        noise = np.fft.irfft(spec, n=len(x))
    frames = x[: len(x) // 160 * 160].reshape(-1, 160) if len(x) >= 160 else x[None, :]
    power = np.mean(frames ** 2, axis=1)
    speech_power = float(np.mean(power[power > 0.1 * power.max()])) if power.max() > 0 else 1e-6
    snr = rng.uniform(10.0, 30.0)
    noise *= np.sqrt(speech_power / 10 ** (snr / 10) / (np.mean(noise ** 2) + 1e-12))
    return (x + noise).astype(np.float32)


def apply_condition(x: np.ndarray, name: str, rng: np.random.Generator) -> np.ndarray:
    """Apply the named condition to 16 kHz float32 ``x``."""
    x = np.asarray(x, dtype=np.float32)
    if name == "clean":
        return x
    if name == "telephone":
        return telephone(x, rng)
    if name == "noise":
        return add_noise(x, rng)
    if name == "mp3":
        return _codec_round_trip(x, RATE, "libmp3lame", "mp3", int(rng.choice([24000, 32000, 48000])))
    if name == "opus":
        return _codec_round_trip(x, RATE, "libopus", "ogg", int(rng.choice([8000, 12000, 16000, 24000])))
    if name == "amr-nb":
        return _codec_round_trip(x, 8000, "libopencore_amrnb", "amr", int(rng.choice([4750, 5900, 7400, 10200, 12200])))
    raise ValueError(f"unknown condition {name!r}")


def noise_floor(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Add a faint room-like floor (-80 to -65 dB below full scale).

    Synthesisers emit exact digital silence between words while microphones
    never do; a floor on every clip (both classes) removes that cue.
    """
    level = 10 ** (rng.uniform(-80.0, -65.0) / 20.0)
    return (x + level * rng.standard_normal(len(x))).astype(np.float32)

"""Generate test audio in every supported container (no files are committed)."""

from __future__ import annotations

import io

import av
import numpy as np
import soundfile as sf

RATE = 16000


def voice_like(seconds: float = 3.0, rate: int = RATE, f0: float = 140.0, seed: int = 0) -> np.ndarray:
    """A harmonic, amplitude-modulated tone with a little noise: speech-like enough to pass validation."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    pitch = f0 * (1 + 0.05 * np.sin(2 * np.pi * 0.7 * t))
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    tone = sum(np.sin(k * phase) / k for k in range(1, 12))
    envelope = 0.5 + 0.5 * np.abs(np.sin(2 * np.pi * 2.5 * t))
    signal = 0.2 * tone * envelope + 0.003 * rng.standard_normal(len(t))
    return signal.astype(np.float32)


def chirp(seconds: float = 2.0, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * (200 + 1500 * t / seconds) * t)).astype(np.float32)


def noise(seconds: float = 2.0, rate: int = RATE, seed: int = 1) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal(int(seconds * rate))).astype(np.float32)


def encode_soundfile(samples: np.ndarray, rate: int, fmt: str, subtype: str | None = None) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


def encode_pyav(samples: np.ndarray, rate: int, container: str, codec: str) -> bytes:
    """Encode mono float samples with FFmpeg through PyAV (m4a/aac/webm)."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container) as output:
        stream = output.add_stream(codec, rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples[np.newaxis, :].astype(np.float32), format="fltp", layout="mono")
        frame.rate = rate
        frame.pts = 0
        for packet in stream.encode(frame):
            output.mux(packet)
        for packet in stream.encode(None):
            output.mux(packet)
    return buffer.getvalue()


def encode(samples: np.ndarray, rate: int, name: str) -> bytes:
    """Bytes of ``samples`` in the container called ``name``."""
    if name == "wav":
        return encode_soundfile(samples, rate, "WAV", "PCM_16")
    if name == "flac":
        return encode_soundfile(samples, rate, "FLAC")
    if name == "ogg":
        return encode_soundfile(samples, rate, "OGG", "VORBIS")
    if name == "opus":
        return encode_soundfile(samples, 48000 if rate not in (8000, 12000, 16000, 24000, 48000) else rate, "OGG", "OPUS")
    if name == "mp3":
        return encode_soundfile(samples, rate, "MP3")
    if name == "m4a":
        return encode_pyav(samples, rate, "ipod", "aac")
    if name == "aac":
        return encode_pyav(samples, rate, "adts", "aac")
    if name == "webm":
        return encode_pyav(samples, 48000, "webm", "libopus") if rate == 48000 else encode_pyav(
            _to_48k(samples, rate), 48000, "webm", "libopus")
    raise ValueError(name)


def _to_48k(samples: np.ndarray, rate: int) -> np.ndarray:
    import soxr

    return soxr.resample(samples, rate, 48000).astype(np.float32)


ALL_FORMATS = ("wav", "flac", "ogg", "opus", "mp3", "m4a", "aac", "webm")

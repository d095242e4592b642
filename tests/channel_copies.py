"""Copies of a test clip through the channels issue 32 names: a telephone round trip and a 32-kbit/s MP3 file."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import soundfile as sf
import soxr

CLIPS = sorted((Path(__file__).parent / "clips").glob("*/*.flac"))
SYNTHETIC_CLIPS = [c for c in CLIPS if c.stem != "genuine"]


def telephone_round_trip(path: Path) -> bytes:
    """The clip through an 8-kHz channel and back (soxr 16 -> 8 -> 16 kHz), as WAV bytes."""
    samples, rate = sf.read(path, dtype="float32")
    narrow = soxr.resample(soxr.resample(samples, rate, 8000), 8000, rate)
    buffer = io.BytesIO()
    sf.write(buffer, narrow, rate, format="WAV")
    return buffer.getvalue()


def mp3_copy(path: Path, bit_rate: int = 32_000) -> bytes:
    """The clip as an MP3 file at ``bit_rate`` bits per second (LAME through PyAV), as a user would upload it."""
    samples, rate = sf.read(path, dtype="float32")
    pcm = np.clip(samples * 32767.0, -32768, 32767).astype(np.int16)
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp3") as out:
        stream = out.add_stream("libmp3lame", rate=rate, layout="mono")
        stream.bit_rate = bit_rate
        frame = av.AudioFrame.from_ndarray(pcm[None, :], format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    return buffer.getvalue()

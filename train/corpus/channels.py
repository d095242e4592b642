"""Source channels: the format a recording was shipped in, imitated for synthetic speech.

Genuine clips arrive through their package's format (MP3 at 11.025 kHz, 8-bit PCM,
Ogg Vorbis, 8 kHz telephone WAV, ...), synthesisers write clean 16-32 kHz WAV. A
detector can learn that difference instead of synthesis, and a classifier on
"codec and original sample rate" alone would separate the classes. So every TTS
clip is passed through the source channel of a genuine clip of its language
(drawn at planning time), and vocoder copies inherit the channel of the clip
they copy. Channels are written ``codec:rate`` (``mp3:11025``, ``u8:11025``,
``vorbis:44100``, ``opus:48000``, ``pcm16:8000``).
"""

from __future__ import annotations

import io

import numpy as np
import soundfile as sf
import soxr

from detector.audio import load_audio
from train.corpus.conditions import RATE, _codec_round_trip

# libsndfile subtype -> channel codec name
_SUBTYPES = {"MPEG_LAYER_III": "mp3", "PCM_U8": "u8", "VORBIS": "vorbis", "OPUS": "opus"}
TTS_CHANNEL = "pcm16:16000"  # what a synthesiser's own output is, before imitation


def describe(subtype: str, rate: int) -> str:
    """Channel name of a file from its libsndfile subtype and sample rate."""
    return f"{_SUBTYPES.get(subtype, 'pcm16')}:{int(rate)}"


def _resample_round_trip(x: np.ndarray, rate: int) -> np.ndarray:
    down = soxr.resample(x, RATE, rate, quality="VHQ")
    return down, lambda y: soxr.resample(y, rate, RATE, quality="VHQ")[: len(x)].astype(np.float32)


def imitate(x: np.ndarray, channel: str, rng: np.random.Generator) -> np.ndarray:
    """Pass 16 kHz float32 ``x`` through ``channel``; returns 16 kHz float32 of the same length.

    Raises
    ------
    ValueError
        For a channel name this module does not know.
    """
    codec, _, rate_text = channel.partition(":")
    rate = int(rate_text or RATE)
    x = np.asarray(x, dtype=np.float32)
    if codec == "mp3":
        rate = min(rate, 48000)
        return _codec_round_trip(x, rate, "libmp3lame", "mp3", 16000 if rate <= 12000 else 48000)
    if codec == "vorbis":  # FFmpeg's own Vorbis encoder is experimental: libsndfile's libvorbis instead
        down, back = _resample_round_trip(x, min(rate, 48000))
        buf = io.BytesIO()
        sf.write(buf, np.clip(down, -1.0, 1.0), min(rate, 48000), format="OGG", subtype="VORBIS")
        return back(load_audio(buf.getvalue(), min(rate, 48000)).samples)
    if codec == "opus":
        return _codec_round_trip(x, 48000, "libopus", "ogg", 24000)
    if codec in ("u8", "pcm16"):
        if rate >= RATE and codec == "pcm16":
            return x
        down, back = _resample_round_trip(x, min(rate, RATE))
        if codec == "u8":
            peak = float(np.max(np.abs(down))) or 1.0
            down = np.round(np.clip(down / peak * 0.95, -1.0, 127 / 128) * 128.0) / 128.0
        return back(down.astype(np.float32))
    raise ValueError(f"unknown source channel {channel!r}")

"""Decode-while-reading: downmix and resample audio block by block under a fixed budget.

A file's header decides how much a naive decoder allocates (seconds x native rate x
channels, as float32), so a 1 MB FLAC of silence that claims 384 kHz and 8 channels
could ask for gigabytes. Here the decoders hand over blocks of at most
:data:`BLOCK_SAMPLES` samples; each is checked, mixed to mono and resampled at once,
and only the mono output at the target rate is kept. Peak memory is then bounded by
the analysis (``max_seconds`` at the target rate) whatever the header claims.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import soxr

from detector.errors import AudioError

# Sample rates outside this range are refused: below it nothing of a voice is left
# (and a header claiming 1 Hz turns a few kilobytes into "30 hours"); above it no
# recording device writes speech, and each second would cost a lot to decode.
MIN_SAMPLE_RATE = 4_000
MAX_SAMPLE_RATE = 192_000
MAX_CHANNELS = 64
# Samples (frames x channels) decoded at once: 4 MB of float32 per block.
BLOCK_SAMPLES = 1 << 20
# Samples decoded per file at most, all channels together: 10 minutes of 192 kHz stereo.
# A file with more channels is analysed for correspondingly fewer seconds (and says so),
# which caps the decoding time of a hostile file as the sample rate range caps its memory.
DECODE_SAMPLE_BUDGET = 600 * MAX_SAMPLE_RATE * 2


@dataclass
class Decoded:
    """What a decoder returns: mono samples at the target rate and facts about the source."""

    samples: np.ndarray
    rate: int
    channels: int
    format: str
    codec: str
    truncated: bool
    source_s: float | None
    bit_rate: int | None = None


def check_stream(rate: int, channels: int) -> None:
    """Refuse sample rates and channel counts the analysis cannot handle within its budget.

    Raises
    ------
    AudioError
        With code ``"unsupported"`` and the supported range in the sentence.
    """
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise AudioError(f"The file's sample rate is {rate:,} Hz; only {MIN_SAMPLE_RATE:,} to {MAX_SAMPLE_RATE:,} Hz "
                         "is supported. Convert it to a common rate such as 44,100 or 48,000 Hz.", "unsupported")
    if not 1 <= channels <= MAX_CHANNELS:
        raise AudioError(f"The file has {channels} channels; 1 to {MAX_CHANNELS} are supported.", "unsupported")


class BlockSink:
    """Receives decoded blocks (frames, channels) and keeps only mono audio at the target rate.

    Parameters
    ----------
    rate, channels : int
        The source's sample rate and channel count (already checked).
    target_rate : int
        The rate of the kept samples.
    max_seconds : float
        Source seconds to take at most; :attr:`full` turns true once they are in.
    """

    def __init__(self, rate: int, channels: int, target_rate: int, max_seconds: float) -> None:
        self.channels = channels
        self.limit_frames = max(0, min(int(max_seconds * rate), DECODE_SAMPLE_BUDGET // channels))
        self.frames_in = 0
        self._parts: list[np.ndarray] = []
        self._stream = (None if rate == target_rate else
                        soxr.ResampleStream(rate, target_rate, 1, dtype="float32", quality="HQ"))

    @property
    def full(self) -> bool:
        return self.frames_in >= self.limit_frames

    def next_block_frames(self) -> int:
        """How many frames the next read should ask for (never past the limit)."""
        return max(1, min(BLOCK_SAMPLES // self.channels, self.limit_frames - self.frames_in))

    def add(self, block: np.ndarray) -> None:
        """Check, downmix and resample one block; frames past the limit are dropped.

        Raises
        ------
        AudioError
            When the block holds NaN or infinite samples.
        """
        block = block[: max(0, self.limit_frames - self.frames_in)]
        if len(block) == 0:
            return
        if not np.all(np.isfinite(block)):
            raise AudioError("The audio contains invalid samples (NaN or infinity); the file is damaged.",
                             "non_finite")
        mono = block.mean(axis=1) if block.shape[1] > 1 else block[:, 0]
        mono = np.ascontiguousarray(mono, dtype=np.float32)
        self.frames_in += len(mono)
        out = mono.copy() if self._stream is None else self._stream.resample_chunk(mono, last=False)
        if len(out):
            self._parts.append(np.asarray(out, dtype=np.float32))

    def finish(self) -> np.ndarray:
        """All kept samples as one mono float32 array (the resampler's tail flushed)."""
        if self._stream is not None and self.frames_in:
            tail = self._stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
            if len(tail):
                self._parts.append(np.asarray(tail, dtype=np.float32))
        samples = np.concatenate(self._parts) if self._parts else np.zeros(0, dtype=np.float32)
        self._parts = []
        return samples

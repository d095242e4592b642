"""Decode-while-reading: downmix and resample audio block by block under a fixed budget.

A file's header decides how much a naive decoder allocates (seconds x native rate x
channels, as float32), so a 1 MB FLAC of silence that claims 384 kHz and 8 channels
could ask for gigabytes. Here the decoders hand over blocks of at most
:data:`BLOCK_SAMPLES` samples; each is checked, mixed to mono and resampled at once,
and only the mono output at the target rate is kept. Peak memory is then bounded by
the analysis (``max_seconds`` at the target rate) whatever the header claims.

:class:`DecodeLoss` records what a damaged or incomplete file lost on the way, and
:func:`check_loss` refuses a clip that lost too much of it.
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
# Damage inside a file joins the audio on either side of what it lost, so the model hears a
# recording that never existed. Above a fifth of the file lost that way, the patchwork is no
# longer the recording: a verdict would speak for a different clip, and a splice is easily
# hidden in a stretch that long. Below it, the clip is scored, warned about and capped. A
# missing end does not count: what decoded is then an intact start, analysed with a warning
# as the first ten minutes of a longer file are.
MAX_LOST_SHARE = 0.2
# Timestamps and declared lengths wander by a codec block without anything lost (FFmpeg's
# Vorbis timestamps jump by 8 ms around page boundaries, Opus-in-Ogg declares 6.5 ms more than
# it holds); a tenth of a second is well above that and well below a stretch worth a warning.
TIMESTAMP_SLACK_S = 0.1


@dataclass(frozen=True)
class DecodeLoss:
    """What decoding could not recover from a damaged or incomplete file, in seconds of the file.

    Attributes
    ----------
    gap_s : float
        Audio lost inside the decoded stretch (skipped damaged packets, data the decoder had
        to resynchronise over): the audio on either side of it is joined.
    end_s : float
        Audio the file's header promises after the point where decoding ended (a file cut
        short, or decoding stopped at an error).
    gaps : tuple of (float, float)
        Where the gaps long enough to place start (seconds of the file) and how long they are.
    skipped_packets : int
        Damaged packets the decoder refused and skipped.
    stopped : bool
        Decoding stopped at an error before the end of the file.
    ends_at_s : float
        The second of the file where the decoded audio ends.
    declared_s : float or None
        The length the file's header gives, when it can be trusted.
    """

    gap_s: float = 0.0
    end_s: float = 0.0
    gaps: tuple[tuple[float, float], ...] = ()
    skipped_packets: int = 0
    stopped: bool = False
    ends_at_s: float = 0.0
    declared_s: float | None = None

    @property
    def lost_s(self) -> float:
        return self.gap_s + self.end_s

    @property
    def has_gap(self) -> bool:
        """Audio was lost inside the clip: what the model hears is joined across the damage."""
        return self.gap_s > TIMESTAMP_SLACK_S or self.skipped_packets > 0

    @property
    def ends_early(self) -> bool:
        """The decoded audio stops before the file does (cut short, or an error stopped decoding)."""
        return self.stopped or self.end_s > TIMESTAMP_SLACK_S

    def gap_share(self, decoded_s: float) -> float:
        """The share of the decoded stretch of the file that was lost inside it."""
        span = decoded_s + self.gap_s
        return self.gap_s / span if span > 0 else 0.0


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
    loss: DecodeLoss = DecodeLoss()


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


def check_loss(loss: DecodeLoss, decoded_s: float) -> None:
    """Refuse a clip that lost more than :data:`MAX_LOST_SHARE` of its audio inside it.

    Audio missing at the end is not counted: what decoded is then an intact start of the
    recording, analysed like the first minutes of a file longer than the analysis limit.

    Raises
    ------
    AudioError
        With code ``"damaged"``, how much decoded and how much was lost.
    """
    share = loss.gap_share(decoded_s)
    if share > MAX_LOST_SHARE:
        digits = 0   # as many decimals as it takes for the share never to read as the limit itself
        while round(share * 100, digits) <= MAX_LOST_SHARE * 100 and digits < 3:
            digits += 1
        raise AudioError(f"Only {decoded_s:.1f} s of this file could be decoded: {loss.gap_s:.1f} s inside it "
                         f"({share * 100:.{digits}f} %) is damaged, more than the {MAX_LOST_SHARE * 100:g} % a "
                         "verdict allows. Find an undamaged copy of the file.", "damaged")


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

"""Decode with FFmpeg (PyAV) and count what a damaged file loses on the way.

FFmpeg skips damaged packets and resynchronises over garbage, which keeps a damaged file
readable but joins the audio on either side of the damage without a word. Here every
decoded frame is placed on the file's timeline by its timestamp (:class:`FrameClock`):
a jump forward is audio lost inside the file, a jump back would repeat audio already
decoded and is cut, and a file that ends before the length its header gives has lost
its end. What was lost travels on as a :class:`~detector.audio_blocks.DecodeLoss`.
"""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import numpy as np

from detector.audio_blocks import TIMESTAMP_SLACK_S, BlockSink, Decoded, DecodeLoss, check_stream
from detector.errors import AudioError

# Containers whose header states the length exactly (FLAC's sample count, MP4's and WebM's
# durations, Ogg's last granule position). Elsewhere FFmpeg guesses the length from the bit
# rate, and raw ADTS AAC came out 2.7 % long on an intact file: no shortfall is counted.
EXACT_LENGTH_FORMATS = frozenset({"ogg", "flac", "wav", "w64", "rf64", "aiff", "caf", "au", "matroska", "webm",
                                  "mov", "mp4", "m4a", "3gp"})
# Raw streams carry no timestamps: FFmpeg numbers the packets it finds, so audio lost to
# resynchronisation shows only as a file shorter than its stated length.
RAW_STREAM_FORMATS = frozenset({"mp3", "aac"})
# An MP3 states its frame count in a Xing, Info or VBRI header in its first frame; without
# one FFmpeg divides the size by the first frame's bit rate, which is exact only at a constant rate.
MP3_LENGTH_TAGS = (b"Xing", b"Info", b"VBRI")
MP3_TAG_WINDOW = 2048       # bytes before the first audio packet searched for that header (a frame is < 1,441)
CONSTANT_RATE_SHARE = 0.9   # share of packets of one size (+-1 padding byte) that makes an MP3 constant-rate
# Damaged packets in a row after which the rest of the file is taken for garbage: bounds
# the time spent on a hostile file, far above the 64 in a row measured on a damaged M4A.
MAX_BAD_PACKETS_IN_A_ROW = 1000
CORRUPT = "The file could not be decoded: it is corrupt or not a supported audio format."


class FrameClock:
    """Places decoded frames on the file's timeline and finds what is missing or repeated.

    Jitter within :data:`~detector.audio_blocks.TIMESTAMP_SLACK_S` is neither a gap nor an
    overlap; the lost total still counts every skipped packet, however short, because it is
    the span of the timeline minus the audio placed on it.
    """

    def __init__(self) -> None:
        self.start_s: float | None = None
        self.reach_s = 0.0     # the file second up to which audio has been placed
        self.kept_s = 0.0
        self.gaps: list[tuple[float, float]] = []

    def place(self, time_s: float | None, frames: int, rate: int) -> int:
        """Place a frame of ``frames`` samples starting at ``time_s`` (``None``: right after the last one).

        Returns
        -------
        int
            How many leading samples of the frame to drop because they repeat audio already placed.
        """
        if self.start_s is None:
            self.start_s = self.reach_s = 0.0 if time_s is None else time_s
        at = self.reach_s if time_s is None else time_s
        if at > self.reach_s + TIMESTAMP_SLACK_S:
            self.gaps.append((self.reach_s - self.start_s, at - self.reach_s))
        drop = 0
        if at < self.reach_s - TIMESTAMP_SLACK_S:
            drop = min(frames, int(round((self.reach_s - at) * rate)))
        self.kept_s += (frames - drop) / rate
        self.reach_s = max(self.reach_s, at + frames / rate)
        return drop

    @property
    def span_s(self) -> float:
        """Seconds of the file from the first decoded sample to the last."""
        return 0.0 if self.start_s is None else self.reach_s - self.start_s

    @property
    def missing_s(self) -> float:
        """Seconds inside the span that no decoded audio covers."""
        return max(0.0, self.span_s - self.kept_s)


def decode_pyav(payload: Path | bytes, max_seconds: float, target_sr: int, ffmpeg_format: str | None = None) -> Decoded:
    """Decode the first audio stream of ``payload`` with FFmpeg, counting what damage loses.

    ``ffmpeg_format`` names FFmpeg's demuxer (``"mp3"``) for streams it should not have to guess;
    ``max_seconds`` and ``target_sr`` are :class:`~detector.audio_blocks.BlockSink`'s.

    Raises
    ------
    AudioError
        The file cannot be opened or holds no decodable audio, or its sample rate or
        channel count is unsupported or changes midway.
    """
    import av  # imported lazily: only needed for containers libsndfile cannot read (or reads wrongly)

    try:
        container = av.open(as_file(payload), mode="r", format=ffmpeg_format)
    except Exception as exc:  # PyAV raises many FFmpeg error classes
        raise AudioError(CORRUPT, "corrupt") from exc
    with container:
        streams = [s for s in container.streams if s.type == "audio"]
        if not streams:
            kind = "video without sound" if container.streams.video else "no audio stream"
            raise AudioError(f"The file holds {kind}; there is nothing to analyse.", "not_audio")
        stream = streams[0]
        rate = int(stream.codec_context.sample_rate or stream.rate or 0)
        channels = int(stream.codec_context.channels or 1)
        if rate <= 0:
            raise AudioError("The audio stream has no valid sample rate.", "corrupt")
        check_stream(rate, channels)   # refuse an absurd header before decoding anything
        sink: BlockSink | None = None
        clock = FrameClock()
        sizes: Counter[int] = Counter()
        first_pos: int | None = None
        skipped = in_a_row = 0
        stopped = False
        try:
            for packet in container.demux(stream):
                if packet.size == 0:
                    continue   # the flush packet at the end
                if first_pos is None and packet.pos is not None and packet.pos >= 0:
                    first_pos = int(packet.pos)
                try:
                    frames = packet.decode()
                except Exception:  # a damaged packet: skip it; the clock measures the hole
                    in_a_row += 1
                    if in_a_row > MAX_BAD_PACKETS_IN_A_ROW:
                        stopped = True
                        break
                    continue
                # Bad packets count once audio follows them: the last, cut packet of a file cut short is its end.
                skipped, in_a_row = skipped + in_a_row, 0
                sizes[packet.size] += 1
                for frame in frames:
                    if sink is not None and sink.full:
                        break
                    array = _planar_to_interleaved(frame.to_ndarray(), frame.format.is_planar,
                                                   len(frame.layout.channels))
                    frame_rate = int(frame.sample_rate or rate)
                    if sink is None:
                        # Decoded frames are the truth (HE-AAC, for one, doubles the header's rate).
                        rate, channels = frame_rate, array.shape[1]
                        check_stream(rate, channels)
                        sink = BlockSink(rate, channels, target_sr, max_seconds)
                    elif array.shape[1] != channels or frame_rate != rate:
                        raise AudioError("The audio stream changes its sample rate or channel count midway; "
                                         "convert it to a plain WAV or FLAC file first.", "unsupported")
                    drop = clock.place(frame.time, len(array), rate)
                    sink.add(array[drop:])
                if sink is not None and sink.full:
                    break
        except AudioError:
            raise
        except Exception as exc:   # the demuxer gave up midway: keep what decoded, and say so
            if sink is None or sink.frames_in == 0:
                raise AudioError(CORRUPT, "corrupt") from exc
            stopped = True
        if sink is None or sink.frames_in == 0:
            raise AudioError("The file contains no decodable audio.", "corrupt")
        # Stopping at the limit means more was there (or a packet holds exactly the rest: rare and harmless).
        truncated = sink.full
        stated = float(container.duration / 1_000_000) if container.duration else None
        duration = stated if stated else sink.frames_in / rate
        names = set(container.format.name.split(","))
        exact = bool(names & EXACT_LENGTH_FORMATS) or ("mp3" in names and _mp3_length_is_exact(payload, first_pos, sizes))
        declared = stated if exact else None
        loss = _loss(clock, declared, truncated, skipped, stopped, raw=bool(names & RAW_STREAM_FORMATS))
        bit_rate = int(stream.codec_context.bit_rate or container.bit_rate or 0) or None
        return Decoded(sink.finish(), rate, channels, container.format.name, stream.codec_context.name,
                       truncated, duration, bit_rate, loss)


def _loss(clock: FrameClock, declared: float | None, truncated: bool, skipped: int, stopped: bool,
          raw: bool) -> DecodeLoss:
    """What the decoded timeline lacks inside, and after its end against the declared length."""
    gap_s, end_s = clock.missing_s, 0.0
    if declared is not None and not truncated:
        end_s = max(0.0, declared - clock.span_s)
    if raw and end_s > 0 and (skipped or gap_s > TIMESTAMP_SLACK_S):
        # A raw stream's frames are numbered, not timed: when damage was met on the way,
        # the shortfall is the stretch the decoder resynchronised over, not a missing end.
        gap_s, end_s = gap_s + end_s, 0.0
    return DecodeLoss(gap_s=gap_s, end_s=end_s, gaps=tuple(clock.gaps), skipped_packets=skipped,
                      stopped=stopped, ends_at_s=clock.span_s, declared_s=declared)


def _mp3_length_is_exact(payload: Path | bytes, first_pos: int | None, sizes: Counter[int]) -> bool:
    """Whether FFmpeg's length of an MP3 is exact: a length header, or a constant bit rate."""
    total = sum(sizes.values())
    if total and max(sizes[n - 1] + sizes[n] + sizes[n + 1] for n in sizes) >= CONSTANT_RATE_SHARE * total:
        return True
    if not first_pos:
        return False
    start = max(0, first_pos - MP3_TAG_WINDOW)
    if isinstance(payload, Path):
        with open(payload, "rb") as handle:
            handle.seek(start)
            window = handle.read(first_pos - start)
    else:
        window = payload[start:first_pos]
    return any(tag in window for tag in MP3_LENGTH_TAGS)


def _planar_to_interleaved(array: np.ndarray, planar: bool, channels: int) -> np.ndarray:
    """Return (samples, channels) float32 from a PyAV frame array, scaling integers to [-1, 1]."""
    if planar:
        array = array.T
    else:
        array = array.reshape(-1, channels)
    if np.issubdtype(array.dtype, np.integer):
        scale = float(np.iinfo(array.dtype).max) + 1.0
        array = array.astype(np.float32) / scale
    return array.astype(np.float32, copy=False)


def as_file(payload: Path | bytes) -> io.BufferedIOBase:
    """A binary file object reading ``payload`` (a path is streamed from disk, never held in memory whole)."""
    return open(payload, "rb") if isinstance(payload, Path) else io.BytesIO(payload)

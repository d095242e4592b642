"""Decode audio from a path or bytes into mono float32 at a target rate.

The container is recognised from the content, never from the file name:
libsndfile (via soundfile) reads WAV, FLAC, AIFF and AU; PyAV (FFmpeg bundled in its
wheel, :mod:`detector.audio_pyav`) reads Ogg, MP3, M4A/AAC/WebM and anything libsndfile
refuses. Audio that a damaged file loses is counted (:class:`~detector.audio_blocks.DecodeLoss`),
never hidden or repeated. Every failure is raised as :class:`~detector.errors.AudioError`
with one sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from detector.audio_blocks import BlockSink, DecodeLoss, check_loss
from detector.audio_blocks import Decoded as _Decoded
from detector.audio_blocks import check_stream as _check_stream
from detector.audio_pyav import as_file, decode_pyav
from detector.errors import AudioError

# Magic numbers of common files people upload by mistake: a clear sentence beats "corrupt".
_NOT_AUDIO_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"\x7fELF", "a program"),
    (b"MZ", "a Windows program"),
)
_AUDIO_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"RIFF", 0, "wav"),
    (b"RF64", 0, "wav"),
    (b"fLaC", 0, "flac"),
    (b"OggS", 0, "ogg"),
    (b"ID3", 0, "mp3"),
    (b"ftyp", 4, "mp4"),
    (b"\x1a\x45\xdf\xa3", 0, "webm"),
    (b"FORM", 0, "aiff"),
    (b".snd", 0, "au"),
    (b"#!AMR", 0, "amr"),
)
# Read by FFmpeg first, with the format it is told: libsndfile reads Ogg and MPEG by page and
# frame position, and after damage its position runs ahead of the samples it returned;
# python-soundfile then seeks back to the samples returned, which re-decodes audio already
# read (an Ogg file with 5 s damaged in the middle played its last 5 s twice).
_FFMPEG_FIRST = {"ogg": None, "mp3": "mp3", "mpeg": "mp3", "aac": "aac"}
_SOUNDFILE_HANDS_OVER = {"OGG": None, "MPEG": "mp3"}
# libsndfile formats whose header gives the length exactly (a WAV's is clamped to the data present).
_SOUNDFILE_EXACT = frozenset({"WAV", "WAVEX", "RF64", "W64", "FLAC", "AIFF", "AU", "CAF"})


@dataclass
class DecodedAudio:
    """Mono float32 audio and facts about where it came from."""

    samples: np.ndarray
    sample_rate: int
    original_sample_rate: int
    channels: int
    container: str
    codec: str
    bit_rate: int | None
    truncated: bool
    source_duration_s: float | None
    loss: DecodeLoss = DecodeLoss()   # what a damaged or incomplete file lost in decoding

    @property
    def duration_s(self) -> float:
        return len(self.samples) / float(self.sample_rate)


def sniff_format(head: bytes) -> str:
    """Name the container of ``head`` (the first bytes of a file), or raise.

    Returns a short name such as ``"wav"`` or ``"mp3"``; ``"unknown"`` when the
    bytes are neither recognisable audio nor a known non-audio type (the decoders
    then get a try, since raw MPEG/ADTS streams have no fixed magic).
    """
    if not head:
        raise AudioError("The file is empty (0 bytes).", "empty")
    for magic, offset, name in _AUDIO_SIGNATURES:
        if head[offset:offset + len(magic)] == magic:
            return name
    for magic, what in _NOT_AUDIO_SIGNATURES:
        if head.startswith(magic):
            raise AudioError(f"This file is not audio: it looks like {what}.", "not_audio")
    stripped = head.lstrip()[:64].lower()
    if stripped.startswith((b"<!doctype", b"<html", b"<?xml", b"<svg")):
        raise AudioError("This file is not audio: it looks like a web page or XML document.", "not_audio")
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0:
        return "mpeg" if (head[1] & 0x06) else "aac"
    if _looks_like_text(head):
        raise AudioError("This file is not audio: it contains plain text.", "not_audio")
    return "unknown"


def _looks_like_text(head: bytes) -> bool:
    sample = head[:512]
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError:
        return False
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return printable >= 0.95 * max(len(text), 1)


def _decode_soundfile(payload: Path | bytes, max_seconds: float, target_sr: int) -> _Decoded:
    with sf.SoundFile(as_file(payload)) as handle:
        if handle.format in _SOUNDFILE_HANDS_OVER:   # sniffing missed it; see _FFMPEG_FIRST
            return decode_pyav(payload, max_seconds, target_sr, _SOUNDFILE_HANDS_OVER[handle.format])
        rate, channels = int(handle.samplerate), int(handle.channels)
        _check_stream(rate, channels)
        sink = BlockSink(rate, channels, target_sr, max_seconds)
        declared = handle.frames if handle.frames and handle.frames > 0 else None
        while not sink.full:
            block = handle.read(frames=sink.next_block_frames(), dtype="float32", always_2d=True)
            if len(block) == 0:
                break
            sink.add(block)
        # Reading one frame more than the limit is how a file that really goes on is told apart.
        truncated = sink.full and len(handle.read(frames=1, dtype="float32", always_2d=True)) > 0
        decoded_s = sink.frames_in / rate
        # A header may claim hours that are not there; the decoded length is the truth.
        source = (declared / rate) if (declared and truncated) else decoded_s
        exact = declared if handle.format in _SOUNDFILE_EXACT else None
        missing = (exact - sink.frames_in) / rate if (exact and not truncated) else 0.0
        loss = DecodeLoss(end_s=max(0.0, missing), ends_at_s=decoded_s,
                          declared_s=exact / rate if exact else None)
        return _Decoded(sink.finish(), rate, channels, handle.format.lower(), handle.subtype.lower(),
                        truncated, source, loss=loss)


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """High-quality resampling (soxr HQ, 20-bit) of a mono float32 signal."""
    if from_rate == to_rate or len(samples) == 0:
        return samples.astype(np.float32, copy=False)
    return soxr.resample(samples, from_rate, to_rate, quality="HQ").astype(np.float32, copy=False)


def load_audio(source: str | Path | bytes, target_sr: int, max_seconds: float = 600.0) -> DecodedAudio:
    """Decode ``source`` into mono float32 at ``target_sr``.

    Parameters
    ----------
    source : str, Path or bytes
        A file path or the file's bytes.
    target_sr : int
        The sample rate of the returned samples.
    max_seconds : float
        Decode at most this many seconds; ``truncated`` says whether more existed.
        ``loss`` says what a damaged or incomplete file lost, whatever the limit.
        Decoding runs block by block (:mod:`detector.audio_blocks`), so memory is bounded
        by ``max_seconds`` at ``target_sr`` whatever the file's header claims.

    Returns
    -------
    DecodedAudio

    Raises
    ------
    AudioError
        Empty, unreadable, non-audio or undecodable input, invalid samples, a sample
        rate or channel count outside the supported range, or damage inside the file
        that lost more than :data:`~detector.audio_blocks.MAX_LOST_SHARE` of its audio.
    """
    payload, head = _read_payload(source)
    container = sniff_format(head)
    if container in _FFMPEG_FIRST:
        # Also for MPEG streams: FFmpeg skips damaged frames and resyncs; libsndfile stops at
        # the first bad frame (and has returned garbage samples before stopping).
        decoded = decode_pyav(payload, max_seconds, target_sr, _FFMPEG_FIRST[container])
    else:
        try:
            decoded = _decode_soundfile(payload, max_seconds, target_sr)
        except AudioError:
            raise
        except Exception:   # libsndfile refuses the format, or stops at damage FFmpeg can decode past
            decoded = decode_pyav(payload, max_seconds, target_sr)
    if decoded.samples.size == 0:
        raise AudioError("The file contains no audio samples.", "empty_audio")
    check_loss(decoded.loss, len(decoded.samples) / target_sr)
    bit_rate, codec, source_s = decoded.bit_rate, decoded.codec, decoded.source_s
    if bit_rate is None and source_s and not codec.startswith(("pcm", "float", "double", "flac", "ulaw", "alaw")):
        # libsndfile does not report the bit rate of lossy streams: estimate it from the size.
        size = payload.stat().st_size if isinstance(payload, Path) else len(payload)
        bit_rate = int(size * 8 / source_s) if source_s > 0 else None
    return DecodedAudio(
        samples=decoded.samples,
        sample_rate=target_sr,
        original_sample_rate=decoded.rate,
        channels=int(decoded.channels),
        container=container if container != "unknown" else decoded.format,
        codec=codec,
        bit_rate=bit_rate,
        truncated=decoded.truncated,
        source_duration_s=source_s,
        loss=decoded.loss,
    )


def _read_payload(source: str | Path | bytes) -> tuple[Path | bytes, bytes]:
    """Return something the decoders can open, and the first bytes for sniffing."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        payload = bytes(source)
        return payload, payload[:4096]
    path = Path(source)
    if not path.exists():
        raise AudioError(f"No such file: {path.name}.", "missing")
    if path.is_dir():
        raise AudioError(f"{path.name} is a folder, not an audio file.", "not_audio")
    if not path.is_file():
        # Opening a named pipe would wait for a writer forever; devices and sockets are no files either.
        raise AudioError(f"{path.name} is not a regular file (a pipe, device or socket); save the audio "
                         "to a file first.", "not_audio")
    try:
        with open(path, "rb") as handle:
            return path, handle.read(4096)
    except OSError as exc:
        raise AudioError(f"The file could not be read ({exc.strerror or 'I/O error'}).", "unreadable") from exc

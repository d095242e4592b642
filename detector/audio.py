"""Decode audio from a path or bytes into mono float32 at a target rate.

The container is recognised from the content, never from the file name:
libsndfile (via soundfile) reads WAV, FLAC, OGG/Vorbis, OGG/Opus and MP3; PyAV
(FFmpeg bundled in its wheel) reads M4A/AAC/WebM and anything libsndfile refuses.
Every failure is raised as :class:`~detector.errors.AudioError` with one sentence.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from detector.audio_blocks import BlockSink
from detector.audio_blocks import Decoded as _Decoded
from detector.audio_blocks import check_stream as _check_stream
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
    with sf.SoundFile(_as_file(payload)) as handle:
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
        return _Decoded(sink.finish(), rate, channels, handle.format.lower(), handle.subtype.lower(),
                        truncated, source)


_PYAV_FORMAT_HINTS = {"mp3": "mp3", "mpeg": "mp3", "aac": "aac"}


def _decode_pyav(payload: Path | bytes, max_seconds: float, target_sr: int,
                 container_hint: str | None = None) -> _Decoded:
    import av  # imported lazily: only needed for containers libsndfile cannot read

    try:
        container = av.open(_as_file(payload), mode="r", format=_PYAV_FORMAT_HINTS.get(container_hint or ""))
    except Exception as exc:  # PyAV raises many FFmpeg error classes
        raise AudioError("The file could not be decoded: it is corrupt or not a supported audio format.", "corrupt") from exc
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
        _check_stream(rate, channels)   # refuse an absurd header before decoding anything
        sink: BlockSink | None = None
        errors = 0
        try:
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except Exception:  # a damaged packet: skip it, keep what decodes
                    errors += 1
                    if errors > 50:
                        break
                    continue
                for frame in frames:
                    if sink is not None and sink.full:
                        break
                    array = _planar_to_interleaved(frame.to_ndarray(), frame.format.is_planar,
                                                   len(frame.layout.channels))
                    frame_rate = int(frame.sample_rate or rate)
                    if sink is None:
                        # Decoded frames are the truth (HE-AAC, for one, doubles the header's rate).
                        rate, channels = frame_rate, array.shape[1]
                        _check_stream(rate, channels)
                        sink = BlockSink(rate, channels, target_sr, max_seconds)
                    elif array.shape[1] != channels or frame_rate != rate:
                        raise AudioError("The audio stream changes its sample rate or channel count midway; "
                                         "convert it to a plain WAV or FLAC file first.", "unsupported")
                    sink.add(array)
                if sink is not None and sink.full:
                    break
        except AudioError:
            raise
        except Exception as exc:
            if sink is None or sink.frames_in == 0:
                raise AudioError("The file could not be decoded: it is corrupt or not a supported audio format.", "corrupt") from exc
        if sink is None or sink.frames_in == 0:
            raise AudioError("The file contains no decodable audio.", "corrupt")
        # Stopping at the limit means more was there (or a packet holds exactly the rest: rare and harmless).
        truncated = sink.full
        duration = float(container.duration / 1_000_000) if container.duration else sink.frames_in / rate
        bit_rate = int(stream.codec_context.bit_rate or container.bit_rate or 0) or None
        return _Decoded(sink.finish(), rate, channels, container.format.name, stream.codec_context.name,
                        truncated, duration, bit_rate)


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
        Decoding runs block by block (:mod:`detector.audio_blocks`), so memory is bounded
        by ``max_seconds`` at ``target_sr`` whatever the file's header claims.

    Returns
    -------
    DecodedAudio

    Raises
    ------
    AudioError
        Empty, unreadable, non-audio or undecodable input, invalid samples, or a sample
        rate or channel count outside the supported range.
    """
    payload, head = _read_payload(source)
    container = sniff_format(head)
    if container in _PYAV_FORMAT_HINTS:
        # MPEG streams: FFmpeg skips damaged frames and resyncs; libsndfile stops at the
        # first bad frame (and has returned garbage samples before stopping).
        decoded = _decode_pyav(payload, max_seconds, target_sr, container)
    else:
        try:
            decoded = _decode_soundfile(payload, max_seconds, target_sr)
        except AudioError:
            raise
        except Exception:
            decoded = _decode_pyav(payload, max_seconds, target_sr)
    if decoded.samples.size == 0:
        raise AudioError("The file contains no audio samples.", "empty_audio")
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
    )


def _as_file(payload: Path | bytes) -> io.BufferedIOBase:
    # Paths are streamed from disk so a one-hour file is never held in memory whole.
    return open(payload, "rb") if isinstance(payload, Path) else io.BytesIO(payload)


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

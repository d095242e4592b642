"""A table of malformed and hostile inputs with the outcome each must produce.

Each case: a name, a function that returns (file name, bytes), and what must happen:
``("error", codes)`` — refused with one of these AudioError codes, or
``("score", warning_codes)`` — scored, and these quality warnings shown.
"""

from __future__ import annotations

import io
import struct
import zipfile
from dataclasses import dataclass
from typing import Callable

import numpy as np
import soundfile as sf
from audio_fixtures import encode, encode_soundfile, voice_like

RATE = 16000


@dataclass(frozen=True)
class Case:
    id: str
    make: Callable[[], tuple[str, bytes]]
    outcome: str
    codes: frozenset[str]


def _wav(samples: np.ndarray, rate: int = RATE, subtype: str = "PCM_16") -> bytes:
    return encode_soundfile(samples, rate, "WAV", subtype)


def _float_wav_with(value: float) -> bytes:
    samples = voice_like(2.0)
    samples[500:510] = value
    return _wav(samples, subtype="FLOAT")


def _wav_claiming_hours() -> bytes:
    data = bytearray(_wav(voice_like(1.2)))
    hours = 3 * 3600 * RATE * 2
    data[4:8] = struct.pack("<I", min(hours + 36, 0xFFFFFFFF))
    data[40:44] = struct.pack("<I", min(hours, 0xFFFFFFFF))  # data chunk size of the 44-byte header
    return bytes(data)


def _corrupted_mp3() -> bytes:
    data = bytearray(encode(voice_like(4.0, 44100), 44100, "mp3"))
    rng = np.random.default_rng(3)
    for start in range(2000, len(data) - 400, 3000):  # smash a run of bytes every few frames
        data[start:start + 300] = rng.integers(0, 256, 300, dtype=np.uint8).tobytes()
    return bytes(data)


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("clip.wav", _wav(voice_like(1.0)))
    return buffer.getvalue()


def _png() -> bytes:
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + bytes(17) + bytes(200)


def _ulaw() -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, voice_like(2.5, 8000), 8000, format="WAV", subtype="ULAW")
    return buffer.getvalue()


def _square() -> bytes:
    t = np.arange(3 * RATE) / RATE
    return _wav(np.sign(np.sin(2 * np.pi * 150 * t)).astype(np.float32) * 1.0, subtype="FLOAT")


def _channels(count: int) -> bytes:
    base = voice_like(2.5)
    return _wav(np.stack([base * (0.5 + 0.05 * k) for k in range(count)], axis=1))


def _with_silence(lead: float, speech: float, tail: float) -> bytes:
    parts = [np.zeros(int(lead * RATE), np.float32), voice_like(speech), np.zeros(int(tail * RATE), np.float32)]
    return _wav(np.concatenate(parts))


def _truncated_flac() -> bytes:
    data = encode(voice_like(4.0), RATE, "flac")
    return data[: len(data) // 2]


def _header_only_wav() -> bytes:
    return _wav(voice_like(1.0))[:44]


def _garbage_ogg() -> bytes:
    data = bytearray(encode(voice_like(2.0), RATE, "ogg"))
    data[200:] = bytes(len(data) - 200)
    return bytes(data)


def ok(*codes: str) -> tuple[str, frozenset[str]]:
    return "score", frozenset(codes)


def refused(*codes: str) -> tuple[str, frozenset[str]]:
    return "error", frozenset(codes)


def _case(id: str, make: Callable[[], tuple[str, bytes]], expect: tuple[str, frozenset[str]]) -> Case:
    return Case(id, make, expect[0], expect[1])


CASES: list[Case] = [
    _case("zero_bytes", lambda: ("empty.wav", b""), refused("empty")),
    _case("text_renamed_wav", lambda: ("notes.wav", b"Dear diary, today I recorded nothing.\n" * 30), refused("not_audio")),
    _case("truncated_wav_header", lambda: ("cut.wav", _wav(voice_like(1.0))[:20]), refused("corrupt")),
    _case("wav_header_only", lambda: ("hollow.wav", _header_only_wav()), refused("corrupt", "empty_audio")),
    _case("wav_claims_hours_holds_1s", lambda: ("liar.wav", _wav_claiming_hours()), ok("short")),
    _case("float_wav_nan", lambda: ("nan.wav", _float_wav_with(np.nan)), refused("non_finite")),
    _case("float_wav_inf", lambda: ("inf.wav", _float_wav_with(np.inf)), refused("non_finite")),
    _case("one_sample", lambda: ("one.wav", _wav(np.array([0.5], np.float32))), refused("too_short")),
    _case("tenth_of_a_second", lambda: ("blip.wav", _wav(voice_like(0.1))), refused("too_short")),
    _case("half_second_in_silence", lambda: ("pause.wav", _with_silence(3.0, 0.5, 3.0)), refused("too_short")),
    _case("pure_silence", lambda: ("silence.wav", _wav(np.zeros(5 * RATE, np.float32))), refused("silent")),
    _case("near_silence_-75dB", lambda: ("hiss.wav", _wav(1e-4 * np.random.default_rng(0).standard_normal(3 * RATE).astype(np.float32), subtype="FLOAT")), refused("silent")),
    _case("white_noise", lambda: ("noise.wav", _wav(0.1 * np.random.default_rng(1).standard_normal(4 * RATE).astype(np.float32))), refused("no_speech")),
    _case("pure_tone_440Hz", lambda: ("tone.wav", _wav((0.3 * np.sin(2 * np.pi * 440 * np.arange(5 * RATE) / RATE)).astype(np.float32))), refused("no_speech")),
    _case("dc_offset", lambda: ("dc.wav", _wav(voice_like(3.0) * 0.5 + 0.4)), ok()),
    _case("clipped_square_wave", lambda: ("square.wav", _square()), ok("clipping")),
    _case("eight_channels", lambda: ("octo.wav", _channels(8)), ok()),
    _case("rate_192k", lambda: ("hires.wav", _wav(voice_like(3.0, 192000), 192000)), ok()),
    _case("rate_4k", lambda: ("lofi.wav", _wav(voice_like(3.0, 4000), 4000)), ok("narrow_band")),
    _case("mulaw_8bit", lambda: ("phone.wav", _ulaw()), ok("narrow_band")),
    _case("mostly_silence", lambda: ("sparse.wav", _with_silence(4.0, 2.5, 4.0)), ok("mostly_silence")),
    _case("corrupted_mp3_frames", lambda: ("damaged.mp3", _corrupted_mp3()), ok()),
    _case("truncated_flac", lambda: ("half.flac", _truncated_flac()), ok()),
    _case("ogg_garbage_body", lambda: ("garbage.ogg", _garbage_ogg()), refused("corrupt", "empty_audio", "too_short")),
    _case("png_image", lambda: ("photo.wav", _png()), refused("not_audio")),
    _case("jpeg_image", lambda: ("photo.mp3", b"\xff\xd8\xff\xe0" + bytes(300)), refused("not_audio")),
    _case("zip_archive", lambda: ("clips.wav", _zip()), refused("not_audio")),
    _case("html_page", lambda: ("page.mp3", b"<!DOCTYPE html>\n<html><body><h1>Not audio</h1></body></html>"), refused("not_audio")),
    _case("pdf_document", lambda: ("doc.flac", b"%PDF-1.7\n" + bytes(300)), refused("not_audio")),
    _case("elf_program", lambda: ("run.ogg", b"\x7fELF\x02\x01\x01" + bytes(300)), refused("not_audio")),
    _case("random_bytes", lambda: ("random.m4a", np.random.default_rng(5).integers(0, 256, 4096, dtype=np.uint8).tobytes()), refused("corrupt", "not_audio")),
    _case("unicode_name", lambda: ("голос 声音 🎙.wav", _wav(voice_like(3.0))), ok()),
    _case("very_long_name", lambda: ("v" * 240 + ".wav", _wav(voice_like(3.0))), ok()),
    _case("path_traversal_name", lambda: ("../../../etc/passwd.wav", _wav(voice_like(3.0))), ok()),
]

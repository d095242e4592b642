"""Readers for the speech archives of two ScummVM games shipped in Debian main.

* *Flight of the Amazon Queen* (``flight-of-the-amazon-queen``): ``queen.1c`` is
  a ScummVM compressed table. Bytes 0-3 ``QTBL``, a 6-byte version, 2 bytes, a
  compression byte (1 = MP3) at offset 12, the big-endian entry count at 13,
  then 21-byte entries: a 12-byte NUL-padded name, a bundle byte, big-endian
  offset and size into the same file. Speech lines end ``.SB`` (MP3, 16 kbit/s,
  11.025 kHz); names with ``SSS`` are sound effects.
* *Beneath a Steel Sky* (``beneath-a-steel-sky``): ``sky.dnr`` holds a
  little-endian count, then 8-byte entries: file number (uint16), 24-bit offset
  (bit 23 set: ``(value & 0x7fffff) << 4``) and 24-bit flags whose low 22 bits
  are the size. Speech files are numbers 50000-59999 (60000 and up are sound
  effects). Each payload in ``sky.dsk`` starts with a 22-byte header, then RNC
  ProPack data (``RNC`` magic) or raw 8-bit unsigned PCM at 11.025 kHz.

Extraction writes each line once into a cache folder as an ordinary audio file
(MP3 bytes as shipped; 8-bit PCM WAV), so the corpus decodes game speech with
the same :func:`detector.audio.load_audio` as every other source.
"""

from __future__ import annotations

import io
import re
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

QUEEN_FILE = "usr/share/scummvm/flight-of-the-amazon-queen/queen.1c"
SKY_DIR = "usr/share/scummvm/beneath-a-steel-sky"
SKY_RATE = 11025
SKY_HEADER = 22
SKY_SPEECH = range(50000, 60000)
# Dialogue line ``NNNNNNXk.SB``: dialogue file, line, speaker letter X (J = Joe, P = the
# person Joe talks to in that dialogue file), part k. ``JOE*`` are Joe's descriptions.
_QUEEN_DIALOGUE = re.compile(r"^(\d{2})[0-9A-F]{4}([JP])\d\.SB$")
_QUEEN_JOE = re.compile(r"^JOE.*\.SB$")


class ArchiveError(ValueError):
    """A game archive is truncated or not in the expected format."""


@dataclass(frozen=True)
class Entry:
    """One member of an archive: its name (or number), byte offset and size."""

    name: str
    offset: int
    size: int


def read_qtbl(data: bytes) -> list[Entry]:
    """Entries of a ScummVM ``QTBL`` table (the index of ``queen.1c``)."""
    if len(data) < 15 or data[:4] != b"QTBL":
        raise ArchiveError("not a QTBL archive (no 'QTBL' magic)")
    count = struct.unpack(">H", data[13:15])[0]
    end = 15 + 21 * count
    if len(data) < end:
        raise ArchiveError(f"QTBL index claims {count} entries but the file is {len(data)} bytes")
    entries = []
    for i in range(count):
        raw = data[15 + 21 * i: 36 + 21 * i]
        name = raw[:12].split(b"\0", 1)[0].decode("latin-1")
        offset, size = struct.unpack(">II", raw[13:21])
        if offset + size > len(data):
            raise ArchiveError(f"QTBL entry {name} points past the end of the file")
        entries.append(Entry(name, offset, size))
    return entries


def queen_speaker(name: str) -> str | None:
    """Speaker of a Queen speech line, or ``None`` for effects and unattributed lines.

    Cut-scene lines (``C...``) mix characters without saying who speaks, so they
    are left out rather than given a speaker that could leak across splits.
    """
    if "SSS" in name:
        return None
    if _QUEEN_JOE.match(name):
        return "queen:joe"
    match = _QUEEN_DIALOGUE.match(name)
    if not match:
        return None
    dialogue, letter = match.groups()
    return "queen:joe" if letter == "J" else f"queen:dialogue{dialogue}"


def read_dnr(data: bytes) -> list[Entry]:
    """Entries of ``sky.dnr``; ``name`` is the decimal file number."""
    if len(data) < 4:
        raise ArchiveError("sky.dnr is too short")
    count = struct.unpack("<I", data[:4])[0]
    if len(data) < 4 + 8 * count:
        raise ArchiveError(f"sky.dnr claims {count} entries but holds {(len(data) - 4) // 8}")
    entries = []
    for i in range(count):
        raw = data[4 + 8 * i: 12 + 8 * i]
        number = struct.unpack("<H", raw[:2])[0]
        offset = raw[2] | raw[3] << 8 | raw[4] << 16
        if offset & 0x800000:
            offset = (offset & 0x7FFFFF) << 4
        size = (raw[5] | raw[6] << 8 | raw[7] << 16) & 0x3FFFFF
        entries.append(Entry(str(number), offset, size))
    return entries


def sky_pcm(payload: bytes) -> np.ndarray:
    """8-bit unsigned PCM of one ``sky.dsk`` speech payload as float32 in [-1, 1)."""
    if len(payload) <= SKY_HEADER:
        raise ArchiveError("speech payload shorter than its header")
    body = payload[SKY_HEADER:]
    if body[:3] == b"RNC":
        import propack

        try:
            body = propack.unpack(body)
        except Exception as exc:  # propack raises several types on corrupt input
            raise ArchiveError(f"RNC data does not unpack: {exc}") from exc
    return (np.frombuffer(body, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0


def _write_once(path: Path, data: bytes) -> None:
    if path.exists():
        return
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def extract_queen(root: Path, out_dir: Path, limit: int | None = None) -> list[tuple[Path, str]]:
    """Write Queen's attributed speech lines as ``.mp3`` files; returns ``(path, speaker)``."""
    data = (Path(root) / QUEEN_FILE).read_bytes()
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = [(e, queen_speaker(e.name)) for e in read_qtbl(data)]
    lines = [(e, s) for e, s in lines if s is not None]
    if limit:  # an even sample keeps every part of the game, hence every speaker
        lines = lines[:: max(1, len(lines) // limit)][:limit]
    found = []
    for entry, speaker in lines:
        path = out_dir / (entry.name.rsplit(".", 1)[0] + ".mp3")
        _write_once(path, data[entry.offset: entry.offset + entry.size])
        found.append((path, speaker))
    return found


def extract_sky(root: Path, out_dir: Path, limit: int | None = None) -> list[Path]:
    """Write Sky's speech lines as 8-bit WAV files (RNC unpacking is slow: cached)."""
    base = Path(root) / SKY_DIR
    entries = sorted((e for e in read_dnr((base / "sky.dnr").read_bytes()) if int(e.name) in SKY_SPEECH),
                     key=lambda e: int(e.name))
    if limit:
        entries = entries[:: max(1, len(entries) // limit)][:limit]
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    with open(base / "sky.dsk", "rb") as dsk:
        for entry in entries:
            path = out_dir / f"{entry.name}.wav"
            if not path.exists():
                dsk.seek(entry.offset)
                try:
                    samples = sky_pcm(dsk.read(entry.size))
                except ArchiveError:
                    continue
                buf = io.BytesIO()
                sf.write(buf, samples, SKY_RATE, format="WAV", subtype="PCM_U8")
                _write_once(path, buf.getvalue())
            paths.append(path)
    return paths

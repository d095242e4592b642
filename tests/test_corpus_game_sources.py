"""Corpus v2's new genuine sources, read from archives built byte by byte in the test."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from train.corpus.game_audio import (
    QUEEN_FILE,
    SKY_DIR,
    ArchiveError,
    extract_queen,
    extract_sky,
    queen_speaker,
    read_dnr,
    read_qtbl,
    sky_pcm,
)
from train.corpus.genuine_games import WARZONE_ARCHIVE, scan_codec2, scan_warzone, voice_clusters


def _qtbl(members: dict[str, bytes]) -> bytes:
    """A QTBL archive: header, 21-byte entries, then the payloads."""
    header = b"QTBL" + b"CEM10\x00" + b"\x00\x00" + b"\x01" + struct.pack(">H", len(members))
    offset = len(header) + 21 * len(members)
    index, body = b"", b""
    for name, payload in members.items():
        index += name.encode().ljust(12, b"\0") + b"\x01" + struct.pack(">II", offset + len(body), len(payload))
        body += payload
    return header + index + body


def _dnr(entries: list[tuple[int, int, int]]) -> bytes:
    out = struct.pack("<I", len(entries))
    for number, offset, size in entries:
        packed_offset = offset if offset < 0x800000 else (offset >> 4) | 0x800000
        out += struct.pack("<H", number) + packed_offset.to_bytes(3, "little") + size.to_bytes(3, "little")
    return out


def test_qtbl_index_names_offsets_and_speakers() -> None:
    members = {"020006J1.SB": b"joe-line", "020006P1.SB": b"person", "0200SSS1.SB": b"effect",
               "JOE00012.SB": b"description", "C100A032.SB": b"cutaway"}
    data = _qtbl(members)
    entries = read_qtbl(data)
    assert [e.name for e in entries] == list(members)
    for entry in entries:
        assert data[entry.offset: entry.offset + entry.size] == members[entry.name]
    speakers = {e.name: queen_speaker(e.name) for e in entries}
    assert speakers == {"020006J1.SB": "queen:joe", "020006P1.SB": "queen:dialogue02", "0200SSS1.SB": None,
                        "JOE00012.SB": "queen:joe", "C100A032.SB": None}


def test_qtbl_rejects_bad_and_truncated_archives() -> None:
    with pytest.raises(ArchiveError, match="QTBL"):
        read_qtbl(b"RIFF" + b"\0" * 40)
    good = _qtbl({"010001P1.SB": b"x" * 100})
    with pytest.raises(ArchiveError):
        read_qtbl(good[:-50])  # the entry points past the end


def test_extract_queen_writes_attributed_lines_only(tmp_path: Path) -> None:
    mp3 = io.BytesIO()
    sf.write(mp3, 0.1 * np.sin(np.arange(11025) / 5.0).astype(np.float32), 11025, format="MP3")
    archive = tmp_path / "root" / QUEEN_FILE
    archive.parent.mkdir(parents=True)
    archive.write_bytes(_qtbl({"020006J1.SB": mp3.getvalue(), "0200SSS1.SB": b"fx", "050007P2.SB": mp3.getvalue()}))
    found = extract_queen(tmp_path / "root", tmp_path / "out")
    assert [(p.name, s) for p, s in found] == [("020006J1.mp3", "queen:joe"), ("050007P2.mp3", "queen:dialogue05")]
    assert sf.info(str(found[0][0])).samplerate == 11025


def test_sky_index_and_payloads_raw_and_rnc(tmp_path: Path) -> None:
    import propack

    rng = np.random.default_rng(0)
    pcm = (128 + 60 * np.sin(np.arange(4000) / 7.0) + rng.integers(-3, 4, 4000)).astype(np.uint8).tobytes()
    raw_payload = b"\x81" + b"\0" * 21 + pcm
    rnc_payload = b"\x81" + b"\0" * 21 + propack.pack(pcm, method=1)
    assert rnc_payload[22:25] == b"RNC"
    dsk = raw_payload + rnc_payload + b"\0" * 10
    entries = [(51000, 0, len(raw_payload)), (51001, len(raw_payload), len(rnc_payload)), (60001, 0, 10)]
    index = read_dnr(_dnr(entries))
    assert [(int(e.name), e.offset, e.size) for e in index] == entries
    expected = (np.frombuffer(pcm, np.uint8).astype(np.float32) - 128) / 128
    np.testing.assert_array_equal(sky_pcm(raw_payload), expected)
    np.testing.assert_array_equal(sky_pcm(rnc_payload), expected)
    with pytest.raises(ArchiveError):
        sky_pcm(b"\x81" + b"\0" * 21 + b"RNC\x01garbage")

    base = tmp_path / "root" / SKY_DIR
    base.mkdir(parents=True)
    (base / "sky.dnr").write_bytes(_dnr(entries))
    (base / "sky.dsk").write_bytes(dsk)
    paths = extract_sky(tmp_path / "root", tmp_path / "out")
    assert [p.name for p in paths] == ["51000.wav", "51001.wav"]  # 60001 is a sound effect
    info = sf.info(str(paths[1]))
    assert (info.samplerate, info.subtype, info.frames) == (11025, "PCM_U8", 4000)


def test_large_dnr_offsets_are_scaled() -> None:
    entry = read_dnr(_dnr([(52000, 0x1234560, 77)]))[0]
    assert (entry.offset, entry.size) == (0x1234560, 77)


def test_voice_clusters_separate_two_different_voices(tmp_path: Path) -> None:
    def voice(f0: float, seed: int) -> Path:
        t = np.arange(16000) / 16000
        rng = np.random.default_rng(seed)
        x = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 12)) * 0.1 + 0.002 * rng.standard_normal(len(t))
        path = tmp_path / f"{f0:.0f}-{seed}.wav"
        sf.write(str(path), x.astype(np.float32), 16000)
        return path

    paths = [voice(110, i) for i in range(6)] + [voice(330, i) for i in range(6)]
    labels = voice_clusters(paths, k=2)
    assert len(set(labels[:6])) == 1 and len(set(labels[6:])) == 1 and labels[0] != labels[6]


def test_warzone_keeps_voices_and_drops_radio_folders(tmp_path: Path) -> None:
    ogg = io.BytesIO()
    sf.write(ogg, 0.1 * np.sin(np.arange(22050) / 4.0).astype(np.float32), 22050, format="OGG", subtype="VORBIS")
    archive = tmp_path / "root" / WARZONE_ARCHIVE
    archive.parent.mkdir(parents=True)
    with zipfile.ZipFile(archive, "w") as z:
        for name in ("audio/tutorial/tut1.ogg", "audio/memressp/power/pcv1.ogg", "audio/memressp/vtols/pcv2.ogg",
                     "audio/nexus/n1.ogg", "audio/coltive/c1.ogg", "audio/sfx/weapons/w1.ogg"):
            z.writestr(name, ogg.getvalue())
    clips = scan_warzone(tmp_path / "root")
    assert sorted((Path(c.path).name, c.speaker) for c in clips) == [
        ("audio_memressp_power_pcv1.ogg", "warzone:announcer"), ("audio_tutorial_tut1.ogg", "warzone:tutorial")]
    assert all(c.language == "en" and c.channel == "vorbis:22050" for c in clips)


def test_codec2_takes_clean_references_not_codec_output(tmp_path: Path) -> None:
    base = tmp_path / "root" / "usr/share/codec2"
    for name in ("wav/forig.wav", "wav/f2400.wav", "wav/ve9qrp.wav", "wav/hts1a.wav", "wav/hts2a.wav"):
        (base / name).parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(base / name), np.zeros(8000, np.float32) + 0.01, 8000, subtype="PCM_16")
    clips = scan_codec2(tmp_path / "root")
    assert sorted((Path(c.path).name, c.speaker) for c in clips) == [
        ("forig.wav", "codec2:forig"), ("hts1a.wav", "codec2:hts"), ("hts2a.wav", "codec2:hts")]
    assert {c.channel for c in clips} == {"pcm16:8000"}

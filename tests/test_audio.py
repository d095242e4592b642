"""Decoding every supported container and refusing what is not audio."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf
from audio_fixtures import ALL_FORMATS, encode, encode_soundfile, voice_like

from detector.audio import load_audio, sniff_format
from detector.errors import AudioError


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_every_format_decodes_to_mono_16k(fmt):
    samples = voice_like(3.0, 44100)
    decoded = load_audio(encode(samples, 44100, fmt), 16000)
    assert decoded.sample_rate == 16000
    assert decoded.samples.dtype == np.float32 and decoded.samples.ndim == 1
    # Codec padding/priming may add or drop a little; the length must still be about 3 s.
    assert 2.6 < decoded.duration_s < 3.2
    assert np.max(np.abs(decoded.samples)) > 0.05


def test_format_comes_from_content_not_name(tmp_path):
    path = tmp_path / "really_flac.mp3"
    path.write_bytes(encode(voice_like(2.0), 16000, "flac"))
    decoded = load_audio(path, 16000)
    assert decoded.container == "flac"


def test_stereo_is_mixed_to_mono_and_resampled():
    rate = 22050
    left = voice_like(2.0, rate)
    stereo = np.stack([left, -left * 0.0 + left], axis=1)
    decoded = load_audio(encode_soundfile(stereo, rate, "WAV"), 16000)
    assert decoded.channels == 2 and decoded.original_sample_rate == rate
    assert len(decoded.samples) == pytest.approx(2.0 * 16000, abs=2)


def test_resampling_keeps_a_tone_at_its_frequency():
    rate = 44100
    t = np.arange(rate) / rate
    tone = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    decoded = load_audio(encode_soundfile(tone, rate, "WAV", "FLOAT"), 16000)
    spectrum = np.abs(np.fft.rfft(decoded.samples))
    peak_hz = np.argmax(spectrum) * 16000 / len(decoded.samples)
    assert abs(peak_hz - 1000) < 2


def test_max_seconds_truncates_and_says_so():
    decoded = load_audio(encode(voice_like(5.0), 16000, "wav"), 16000, max_seconds=2.0)
    assert decoded.truncated
    assert decoded.duration_s == pytest.approx(2.0, abs=1e-3)
    assert decoded.source_duration_s == pytest.approx(5.0, abs=1e-3)


@pytest.mark.parametrize(
    "payload, code",
    [
        (b"", "empty"),
        (b"hello, this is just some text\n" * 20, "not_audio"),
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "not_audio"),
        (b"PK\x03\x04" + bytes(200), "not_audio"),
        (b"<!DOCTYPE html><html><body>hi</body></html>", "not_audio"),
        (bytes(range(256)) * 8, "corrupt"),
    ],
)
def test_non_audio_is_refused_with_a_sentence(payload, code):
    with pytest.raises(AudioError) as info:
        load_audio(payload, 16000)
    assert info.value.code == code
    assert info.value.message.endswith(".")


def test_truncated_wav_header_is_corrupt():
    with pytest.raises(AudioError) as info:
        load_audio(encode(voice_like(1.0), 16000, "wav")[:30], 16000)
    assert info.value.code in {"corrupt", "empty_audio"}


def test_nan_samples_are_refused():
    samples = voice_like(1.0)
    samples[100] = np.nan
    buffer = io.BytesIO()
    sf.write(buffer, samples, 16000, format="WAV", subtype="FLOAT")
    with pytest.raises(AudioError) as info:
        load_audio(buffer.getvalue(), 16000)
    assert info.value.code == "non_finite"


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(AudioError, match="No such file"):
        load_audio(tmp_path / "nope.wav", 16000)
    with pytest.raises(AudioError, match="folder"):
        load_audio(tmp_path, 16000)


def test_sniff_recognises_containers():
    assert sniff_format(b"RIFF\x00\x00\x00\x00WAVE") == "wav"
    assert sniff_format(b"fLaC\x00") == "flac"
    assert sniff_format(b"\x00\x00\x00\x20ftypM4A ") == "mp4"
    assert sniff_format(b"\xff\xfb\x90\x00") == "mpeg"

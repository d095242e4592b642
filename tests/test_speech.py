"""detector.speech: voiced speech is found in voices and not in tones, hums or noise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from audio_fixtures import noise, voice_like

from detector.audio import load_audio
from detector.speech import MIN_VOICED_S, speech_activity

RATE = 16000
LEARN = Path(__file__).resolve().parent.parent / "assets" / "learn"


def tone(freq: float, seconds: float = 5.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def coloured_noise(kind: str, seconds: float = 30.0, seed: int = 0) -> np.ndarray:
    """Brown (1/f^2) or pink (1/f) noise: low-pass noise looks periodic to a naive autocorrelation."""
    white = np.random.default_rng(seed).standard_normal(int(seconds * RATE))
    spectrum = np.fft.rfft(white)
    freqs = np.arange(1, len(spectrum) + 1)
    spectrum /= freqs if kind == "brown" else np.sqrt(freqs)
    out = np.fft.irfft(spectrum, n=len(white))
    return (0.3 * out / np.max(np.abs(out))).astype(np.float32)


@pytest.mark.parametrize("signal", [
    pytest.param(lambda: tone(440.0), id="tone-440Hz"),
    pytest.param(lambda: tone(150.0), id="tone-150Hz-in-the-pitch-range"),
    pytest.param(lambda: noise(10.0), id="white-noise"),
    pytest.param(lambda: coloured_noise("brown"), id="brown-noise-30s"),
    pytest.param(lambda: coloured_noise("pink"), id="pink-noise-30s"),
    pytest.param(lambda: tone(100.0) + 0.01 * noise(5.0), id="mains-hum-with-hiss"),
])
def test_no_voiced_speech_in_tones_and_noise(signal):
    activity = speech_activity(signal(), RATE)
    assert activity.voiced_s == 0.0
    assert not activity.enough


def test_a_voice_like_signal_is_voiced():
    activity = speech_activity(voice_like(3.0), RATE)
    assert activity.voiced_s > 2.5 and activity.enough
    assert activity.share == pytest.approx(activity.voiced_s / 3.0)


@pytest.mark.parametrize("path", sorted(LEARN.glob("*/*.flac")), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_real_and_synthetic_speech_have_enough_speech(path):
    """Genuine recordings and every synthetic copy (vocoders, espeak, flite) count as speech."""
    decoded = load_audio(path, RATE)
    activity = speech_activity(decoded.samples, RATE)
    assert activity.voiced_s >= 3 * MIN_VOICED_S, activity.voiced_s
    assert 0.3 < activity.share < 0.95  # speech has pauses and unvoiced sounds


def test_measure_ignores_level_and_works_at_other_rates():
    clip = voice_like(3.0, rate=8000)
    loud, quiet = speech_activity(clip, 8000), speech_activity(clip * 0.01, 8000)
    assert loud.voiced_s == quiet.voiced_s > 2.0


def test_speech_then_noise_counts_only_the_speech():
    clip = np.concatenate([voice_like(2.0), noise(6.0)])
    activity = speech_activity(clip, RATE)
    assert 1.5 < activity.voiced_s <= 2.1


def test_too_short_and_invalid_input():
    assert speech_activity(np.zeros(100, np.float32), RATE).voiced_s == 0.0
    with pytest.raises(ValueError, match="mono"):
        speech_activity(np.zeros((100, 2), np.float32), RATE)
    with pytest.raises(ValueError, match="4000"):
        speech_activity(voice_like(1.0), 2000)


def test_a_sound_file_on_disk_gives_the_same_answer(tmp_path):
    path = tmp_path / "v.wav"
    sf.write(path, voice_like(2.0), RATE)
    assert speech_activity(load_audio(path, RATE).samples, RATE).enough

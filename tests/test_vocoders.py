"""Vocoder copies (``train.corpus.vocoders``): same length and rate, same voice, different waveform.

The Learn page's "fake your own voice" and the corpus builder share the module: a visitor's fake
is the corpus's fake.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf
from audio_fixtures import voice_like

from train.corpus.vocoders import (
    LEARN_COPIES,
    PEAK,
    copy_synthesis,
    griffin_lim_copy,
    make_copies,
    mel_settings,
    wav_bytes,
    world_copy,
)

RATE = 16000
COPIES = [world_copy, griffin_lim_copy]


def median_f0(samples: np.ndarray, sr: int) -> float:
    import pyworld

    f0, _ = pyworld.harvest(samples.astype(np.float64), sr, frame_period=10.0)
    voiced = f0[f0 > 0]
    return float(np.median(voiced))


def log_mel(samples: np.ndarray, sr: int) -> np.ndarray:
    import librosa

    mel = librosa.feature.melspectrogram(y=samples.astype(np.float32), sr=sr, n_mels=40, n_fft=1024, hop_length=256)
    return 10 * np.log10(mel + 1e-8)


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return voice_like(2.0, rate=RATE, f0=150.0)


@pytest.mark.parametrize("copy", COPIES, ids=lambda f: f.__name__)
def test_copy_keeps_length_type_and_level(copy, clip):
    out = copy(clip, RATE)
    assert out.dtype == np.float32 and out.shape == clip.shape
    assert np.all(np.isfinite(out))
    assert 0.1 < np.max(np.abs(out)) <= PEAK + 1e-6
    # A copy is a new waveform, not the input passed through.
    assert not np.allclose(out, clip, atol=1e-3)


@pytest.mark.parametrize("copy", COPIES, ids=lambda f: f.__name__)
def test_copy_keeps_pitch_and_spectral_shape(copy, clip):
    out = copy(clip, RATE)
    assert median_f0(out, RATE) == pytest.approx(median_f0(clip, RATE), rel=0.05)
    a, b = log_mel(clip, RATE).mean(axis=1), log_mel(out, RATE).mean(axis=1)
    assert np.corrcoef(a, b)[0, 1] > 0.9  # the long-term spectral envelope survives


def test_griffin_lim_is_deterministic(clip):
    assert np.array_equal(griffin_lim_copy(clip, RATE), griffin_lim_copy(clip, RATE))


def test_world_copy_works_on_telephone_audio():
    """At 8 kHz WORLD vocodes at 16 kHz internally; the copy must stay voiced, not whispered."""
    narrow = voice_like(2.0, rate=8000, f0=150.0)
    out = world_copy(narrow, 8000)
    assert out.shape == narrow.shape
    assert median_f0(out, 8000) == pytest.approx(150.0, rel=0.08)
    # Voiced speech has a strongly peaked (harmonic) spectrum; whisper-like output is flat.
    spectrum = np.abs(np.fft.rfft(out * np.hanning(len(out))))
    assert spectrum.max() / np.median(spectrum) > 50


def test_mel_settings_scale_with_rate():
    assert mel_settings(16000) == (1024, 256)
    assert mel_settings(8000) == (512, 128)
    assert mel_settings(48000)[0] == 4096


@pytest.mark.parametrize("bad, sr, message", [
    (np.zeros((2, 16000), np.float32), RATE, "mono"),
    (np.zeros(100, np.float32), RATE, "too short"),
    (np.full(16000, np.nan, np.float32), RATE, "NaN"),
    (np.zeros(16000, np.float32), 4000, "sample rate"),
])
@pytest.mark.parametrize("copy", COPIES, ids=lambda f: f.__name__)
def test_copy_rejects_bad_input(copy, bad, sr, message):
    with pytest.raises(ValueError, match=message):
        copy(bad, sr)


def test_make_copies_and_wav_bytes(clip):
    copies = make_copies(clip, RATE)
    assert [key for key, _, _ in copies] == ["original", "world", "griffin_lim"]
    assert np.array_equal(copies[0][2], clip)
    data, rate = sf.read(io.BytesIO(wav_bytes(copies[1][2], RATE)), dtype="float32")
    assert rate == RATE and len(data) == len(clip)
    assert np.max(np.abs(data - copies[1][2])) < 1e-4  # 16-bit PCM round trip


def test_learn_copies_are_the_corpus_copies(clip):
    # The fake a visitor hears is made exactly as the corpus builder made the model's training fakes.
    copies = make_copies(clip, RATE)
    for (key, label, method), (copy_key, copy_label, samples) in zip(LEARN_COPIES, copies[1:]):
        assert (key, label) == (copy_key, copy_label)
        np.testing.assert_array_equal(samples, copy_synthesis(clip, method, seed=0))


@pytest.mark.parametrize("method", [method for _, _, method in LEARN_COPIES])
def test_learn_copies_keep_pitch_and_spectral_shape(method, clip):
    out = copy_synthesis(clip, method, seed=0)
    assert out.dtype == np.float32 and out.shape == clip.shape and not np.allclose(out, clip, atol=1e-3)
    assert median_f0(out, RATE) == pytest.approx(median_f0(clip, RATE), rel=0.05)
    a, b = log_mel(clip, RATE).mean(axis=1), log_mel(out, RATE).mean(axis=1)
    assert np.corrcoef(a, b)[0, 1] > 0.9


def test_make_copies_resamples_to_the_corpus_rate():
    wide = voice_like(1.0, rate=22050, f0=150.0)
    copies = make_copies(wide, 22050)
    assert all(len(samples) == RATE for _, _, samples in copies)   # 1 s at 16 kHz, every version

"""Waveform preparation, features and window series."""

from __future__ import annotations

import numpy as np
import pytest
from audio_fixtures import voice_like

from detector.config import FEATURE_TYPES, FeatureConfig
from detector.errors import AudioError
from detector.features import clip_features, feature_axis, model_input
from detector.frontends.melfine import FINE_BANDS, fine_structure
from detector.preparation import prepare_waveform
from detector.spectrum import power_spectrogram
from detector.windows import split_windows

CONFIGS = [FeatureConfig(feature=name) for name in FEATURE_TYPES]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.feature)
def test_window_shape_matches_config(config):
    clip = model_input(voice_like(5.0), config)
    windows, features = clip.windows, clip.features
    assert windows.shape[1:] == config.input_shape
    assert features.shape[1] == config.n_bins
    assert windows.dtype == np.float32
    assert np.all(np.isfinite(windows))


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.feature)
def test_features_are_deterministic(config):
    samples = voice_like(3.0, seed=5)
    first = model_input(samples, config).windows
    second = model_input(samples.copy(), config).windows
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("seconds, expected", [(1.2, 1), (2.0, 1), (3.0, 2), (10.0, 9), (10.5, 10)])
def test_window_series_covers_the_clip(seconds, expected):
    config = FeatureConfig()
    clip = model_input(voice_like(seconds), config)
    windows, starts, prepared = clip.windows, clip.starts_s, clip.prepared
    assert len(windows) == expected
    assert starts[0] == 0.0
    # The last window ends at the end of the clip (aligned), never past it for long clips.
    if prepared.duration_s >= config.window_s:
        assert starts[-1] + config.window_s == pytest.approx(prepared.duration_s, abs=0.03)


def test_short_clip_is_repeated_to_fill_one_window():
    config = FeatureConfig()
    samples = voice_like(1.3)
    features = clip_features(prepare_waveform(samples, config).samples, config)
    assert len(features) >= config.window_frames
    windows, _ = split_windows(features, config)
    assert windows.shape[0] == 1


def test_leading_silence_and_gain_do_not_change_the_model_input():
    config = FeatureConfig()
    speech = voice_like(3.0, seed=2)
    padded = np.concatenate([np.zeros(16000, np.float32), 0.1 * speech, np.zeros(8000, np.float32)])
    a = model_input(speech, config)
    b = model_input(padded, config)
    assert b.prepared.leading_trim_s == pytest.approx(1.0, abs=0.03)  # frame-quantised (25 ms frames)
    assert b.prepared.duration_s == pytest.approx(a.prepared.duration_s, abs=0.05)
    # Trimming is frame-quantised: a few frames of silence may stay. Aligned by that
    # shift, the model input is the same despite 1 s of silence and -20 dB of gain.
    shift = int(round((1.0 - b.prepared.leading_trim_s) / config.frame_hop_s))
    assert np.mean(np.abs(a.windows[0][:150] - b.windows[0][shift:150 + shift])) < 0.01


def test_loudness_is_normalised():
    config = FeatureConfig()
    quiet = prepare_waveform(0.01 * voice_like(3.0), config)
    loud = prepare_waveform(0.9 * voice_like(3.0), config)
    rms = [20 * np.log10(np.sqrt(np.mean(c.samples ** 2))) for c in (quiet, loud)]
    assert rms[0] == pytest.approx(rms[1], abs=0.5)
    assert max(np.max(np.abs(quiet.samples)), np.max(np.abs(loud.samples))) <= 0.99 + 1e-6


def test_silence_and_too_short_are_refused():
    config = FeatureConfig()
    with pytest.raises(AudioError) as silent:
        prepare_waveform(np.zeros(32000, np.float32), config)
    assert silent.value.code == "silent"
    with pytest.raises(AudioError) as short:
        prepare_waveform(voice_like(0.5), config)
    assert short.value.code == "too_short"
    assert "1 s" in short.value.message
    with pytest.raises(AudioError) as one_sample:
        prepare_waveform(np.ones(1, np.float32), config)
    assert one_sample.value.code == "too_short"


def test_feature_config_round_trips(tmp_path):
    config = FeatureConfig(feature="lfcc", window_s=3.0)
    config.save(tmp_path / "features.json")
    assert FeatureConfig.load(tmp_path / "features.json") == config
    with pytest.raises(ValueError):
        FeatureConfig(feature="cqt-nope")
    with pytest.raises(ValueError):
        FeatureConfig.from_dict({"sample_rate": 16000, "surprise": 1})


def test_mel_filters_match_librosa():
    import librosa

    from detector.frontends.mel import mel_filters

    ours = mel_filters(16000, 512, 80)
    reference = librosa.filters.mel(sr=16000, n_fft=512, n_mels=80, fmin=20.0, htk=False)
    np.testing.assert_allclose(ours, reference, rtol=1e-4, atol=1e-7)
    centres, unit = feature_axis(FeatureConfig(feature="mel"))
    np.testing.assert_allclose(centres, librosa.mel_frequencies(n_mels=82, fmin=20.0, fmax=8000)[1:-1], rtol=1e-6)
    assert unit == "Hz"


def _harmonics(f0: float, seconds: float = 1.0, rate: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return sum(np.sin(2 * np.pi * f0 * k * t) for k in range(1, int(7900 // f0))).astype(np.float32) * 0.02


def test_fine_structure_sees_harmonics_that_mel_bands_blur():
    """Sharp harmonics ripple far more around the envelope than noise of the same spectrum shape."""
    config = FeatureConfig(feature="melfine")
    rng = np.random.default_rng(3)
    noise = (0.05 * rng.standard_normal(16000)).astype(np.float32)
    for f0 in (150.0, 220.0):   # 25-ms frames resolve harmonics from ~140 Hz up (see fine_structure)
        voiced = fine_structure(10 * np.log10(power_spectrogram(_harmonics(f0), config) + 1e-10), config)
        unvoiced = fine_structure(10 * np.log10(power_spectrogram(noise, config) + 1e-10), config)
        assert voiced.shape == (len(voiced), FINE_BANDS)
        # In every band from 1 kHz up to the last harmonic (7.9 kHz) harmonics stand out from noise.
        assert (np.median(voiced, axis=0)[:-1] > np.median(unvoiced, axis=0)[:-1] + 2.0).all(), f0


def test_fine_structure_ignores_a_smooth_equaliser():
    """An EQ/microphone tilt changes the envelope, not the ripple: fine structure stays (nearly) put."""
    config = FeatureConfig(feature="melfine")
    log_power = 10 * np.log10(power_spectrogram(_harmonics(150.0), config) + 1e-10)
    tilt = np.linspace(-6.0, 6.0, log_power.shape[1])[np.newaxis, :]
    np.testing.assert_allclose(fine_structure(log_power + tilt, config), fine_structure(log_power, config), atol=0.05)


def test_melfine_is_mel_followed_by_fine_bands_and_draws_mel_only():
    mel, melfine = FeatureConfig(feature="mel"), FeatureConfig(feature="melfine")
    clip = prepare_waveform(voice_like(3.0), melfine).samples
    both = clip_features(clip, melfine)
    assert both.shape[1] == melfine.n_bins == mel.n_mels + FINE_BANDS
    np.testing.assert_array_equal(both[:, : mel.n_mels], clip_features(clip, mel))
    np.testing.assert_array_equal(feature_axis(melfine)[0], feature_axis(mel)[0])

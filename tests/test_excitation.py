"""Excitation statistics (the ``melexc`` feature): phase information a spectrogram drops."""

from __future__ import annotations

import numpy as np
from audio_fixtures import voice_like
from scipy.linalg import solve_toeplitz
from scipy.signal import lfilter

from detector.config import FeatureConfig
from detector.excitation import EXCITATION_ROWS, excitation_features, excitation_statistics, levinson
from detector.features import clip_features, feature_axis
from detector.preparation import fit_to_window, prepare_waveform

RATE = 16000
CONFIG = FeatureConfig(feature="melexc")
GAIN, KURTOSIS, CREST, PERIODICITY = 0, 1, 2, 3


def _vowel(f0: float = 120.0, seconds: float = 2.0, dispersed: bool = False) -> np.ndarray:
    """A glottal-like pulse train through two formant resonances (a crude vowel).

    ``dispersed`` replaces each pulse by an all-pass burst of 4 ms with random
    phases: the same magnitude spectrum, only the phase changed -- what a vocoder
    that guesses phases (Griffin-Lim) does to a voice.
    """
    excitation = np.zeros(int(seconds * RATE))
    excitation[:: int(RATE / f0)] = 1.0
    if dispersed:
        phases = np.exp(2j * np.pi * np.random.default_rng(0).random(33))
        phases[[0, -1]] = 1.0
        excitation = np.convolve(excitation, np.fft.irfft(phases, n=64))[: len(excitation)]
    denominator = np.array([1.0])
    for formant, bandwidth in ((700.0, 80.0), (1200.0, 90.0)):
        radius = np.exp(-np.pi * bandwidth / RATE)
        denominator = np.convolve(denominator, [1.0, -2 * radius * np.cos(2 * np.pi * formant / RATE), radius ** 2])
    voice = lfilter([1.0], denominator, excitation)
    return (0.1 * voice / np.abs(voice).max()).astype(np.float32)


def test_levinson_matches_a_toeplitz_solve():
    rng = np.random.default_rng(1)
    frames = rng.standard_normal((5, 400))
    autocorr = np.stack([np.correlate(f, f, "full")[399:399 + 11] for f in frames])
    filters = levinson(autocorr, 10)
    for row, filt in zip(autocorr, filters):
        expected = -solve_toeplitz(row[:10], row[1:11])
        np.testing.assert_allclose(filt[0], 1.0)
        np.testing.assert_allclose(filt[1:], expected, rtol=1e-8, atol=1e-10)


def test_a_pulse_train_is_peaky_periodic_and_predictable_noise_is_not():
    voiced = excitation_statistics(_vowel(), CONFIG)
    noise = excitation_statistics((0.05 * np.random.default_rng(2).standard_normal(2 * RATE)).astype(np.float32), CONFIG)
    assert voiced.shape == (len(voiced), EXCITATION_ROWS)
    assert np.median(voiced[:, KURTOSIS]) > np.median(noise[:, KURTOSIS]) + 4.0
    assert np.median(voiced[:, CREST]) > np.median(noise[:, CREST]) + 4.0
    assert np.median(voiced[:, PERIODICITY]) > np.median(noise[:, PERIODICITY]) + 2.0
    assert np.median(voiced[:, GAIN]) > np.median(noise[:, GAIN]) + 20.0
    # Gaussian noise: kurtosis 3, i.e. 4.8 dB, in every band too.
    np.testing.assert_allclose(np.median(noise[:, [KURTOSIS, 4, 5, 6, 7]], axis=0), 4.77, atol=0.6)


def test_random_phase_leaves_the_mel_spectrogram_but_not_the_excitation():
    """The point of the feature: two clips a mel spectrogram can hardly tell apart, and excitation can."""
    voice, dispersed = _vowel(), _vowel(dispersed=True)
    mel = FeatureConfig(feature="mel")
    mel_gap = np.median(np.abs(clip_features(voice, mel) - clip_features(dispersed, mel))[:, 5:60])
    original, rebuilt = excitation_statistics(voice, CONFIG), excitation_statistics(dispersed, CONFIG)
    assert mel_gap < 2.0  # dB per mel bin: the magnitudes barely move
    assert np.median(original[:, KURTOSIS] - rebuilt[:, KURTOSIS]) > 3.0
    assert np.median(original[:, CREST] - rebuilt[:, CREST]) > 2.0


def test_excitation_ignores_loudness_and_survives_digital_silence():
    voice = voice_like(3.0)
    np.testing.assert_allclose(excitation_statistics(voice * 0.5, CONFIG), excitation_statistics(voice, CONFIG), atol=0.5)
    silent = excitation_statistics(np.zeros(2 * RATE, dtype=np.float32), CONFIG)
    assert np.all(np.isfinite(silent))
    np.testing.assert_allclose(np.median(silent[:, KURTOSIS]), 4.77, atol=0.6)  # the dither's statistics


def test_long_clips_are_analysed_in_blocks_with_the_same_numbers(monkeypatch):
    import detector.excitation as excitation

    clip = voice_like(5.0)
    whole = excitation_statistics(clip, CONFIG)
    monkeypatch.setattr(excitation, "BLOCK_FRAMES", 7)
    np.testing.assert_array_equal(excitation_statistics(clip, CONFIG), whole)
    assert len(whole) == len(clip_features(clip, FeatureConfig(feature="mel")))


def test_melexc_is_mel_followed_by_excitation_rows_and_draws_mel_only():
    mel = FeatureConfig(feature="mel")
    clip = prepare_waveform(voice_like(3.0), CONFIG).samples
    both = clip_features(clip, CONFIG)
    assert both.shape[1] == CONFIG.n_bins == mel.n_mels + EXCITATION_ROWS
    assert CONFIG.spectrum_bins == mel.n_mels
    np.testing.assert_array_equal(both[:, : mel.n_mels], clip_features(clip, mel))
    np.testing.assert_array_equal(both[:, mel.n_mels:], excitation_features(fit_to_window(clip, CONFIG), CONFIG))
    np.testing.assert_array_equal(feature_axis(CONFIG)[0], feature_axis(mel)[0])


def test_rows_reach_the_model_on_a_mel_band_scale():
    """Typical speech puts the excitation rows near a loudness-normalised mel band's level and spread."""
    clip = prepare_waveform(voice_like(4.0), CONFIG).samples
    both = clip_features(clip, CONFIG)
    mel_rows, excitation_rows = both[:, :80], both[:, 80:]
    assert abs(np.median(excitation_rows) - np.median(mel_rows)) < 20.0
    # Spread over time: within a factor of 3 of a mel band's, not ten times smaller as in raw units.
    ratio = excitation_rows.std(axis=0).mean() / mel_rows.std(axis=0).mean()
    assert 1 / 3 < ratio < 3

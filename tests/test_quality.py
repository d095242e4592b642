"""The narrow-band warning: a band edge, not an energy roll-off (issue #7 follow-up).

Voiced speech keeps 99 % of its energy below 1-4 kHz even when recorded at full
bandwidth; the old 99 %-energy rule therefore called most clean clips "narrow, like
a phone call". The edge rule asks where the spectrum falls far below its loudest band.
"""

from __future__ import annotations

import re

import numpy as np
from audio_fixtures import encode
from scipy.signal import butter, sosfilt

from detector.config import FeatureConfig
from detector.quality import NARROW_BAND_HZ, bandwidth_hz
from detector.spectrum import clip_power

RATE = 16000
CONFIG = FeatureConfig(feature="mel")


def speech_like(seconds: float = 3.0, seed: int = 0) -> np.ndarray:
    """Strong low harmonics plus a breathy band up to 8 kHz some 30 dB lower: 99 % of energy < 1.5 kHz."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    voiced = sum(np.sin(2 * np.pi * 130.0 * k * t) / k for k in range(1, 12))
    breath = sosfilt(butter(4, 2000, "highpass", fs=RATE, output="sos"), rng.standard_normal(len(t)))
    return (0.2 * voiced + 0.01 * breath).astype(np.float32)


def phone_line(samples: np.ndarray) -> np.ndarray:
    """300-3400 Hz band-pass, as a telephone channel."""
    return sosfilt(butter(8, [300, 3400], "bandpass", fs=RATE, output="sos"), samples).astype(np.float32)


def energy_rolloff(power: np.ndarray, share: float = 0.99) -> float:
    cumulative = np.cumsum(power.sum(axis=0))
    return float(np.searchsorted(cumulative, share * cumulative[-1]) * RATE / CONFIG.n_fft)


def test_full_band_speech_is_not_called_narrow_even_when_its_energy_is_low():
    power = clip_power(speech_like(), CONFIG)
    assert energy_rolloff(power) < 2000          # the case the old rule got wrong
    assert bandwidth_hz(power, CONFIG) >= 7500     # the breath band reaches Nyquist


def test_a_phone_line_is_narrow_and_its_edge_is_named():
    edge = bandwidth_hz(clip_power(phone_line(speech_like(seed=1)), CONFIG), CONFIG)
    assert 3000 <= edge < NARROW_BAND_HZ


def test_silence_has_no_band():
    assert bandwidth_hz(np.zeros((100, CONFIG.n_fft // 2 + 1)), CONFIG) == 0.0


def test_warning_follows_the_channel_not_the_voice(tiny_detector):
    full = tiny_detector.analyse(encode(speech_like(4.0, seed=2), RATE, "wav"))
    phone = tiny_detector.analyse(encode(phone_line(speech_like(4.0, seed=2)), RATE, "wav"))
    assert "narrow_band" not in {w.code for w in full.warnings}
    message = next(w.message for w in phone.warnings if w.code == "narrow_band")
    named_khz = float(re.search(r"up to about ([0-9.]+) kHz", message).group(1))
    assert 3.0 <= named_khz <= NARROW_BAND_HZ / 1000   # the edge of a 3.4 kHz line, not "0.9 kHz"

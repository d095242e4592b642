"""A clip's channel class, measured from its audio: the one function serving, training and the folds use.

A verdict band is a promise about the audio it was earned on (issue 32): a *likely genuine*
edge measured on wideband clips says nothing about a phone call. A user's clip comes with no
label, so its class is measured, never asked for:

* ``narrowband``: the ``narrow_band`` quality warning (sound only up to about 4.5 kHz, or an
  8-kHz file: a phone line, AMR-NB).
* ``compressed``: the ``compressed`` warning (a lossy codec under 48 kbit/s, read from the
  file's container). Corpus clips are stored decoded, so no corpus clip measures compressed
  and no band is earned on the class: the verdict says so.
* ``noisy``: noise fills the pauses. The loud frames' level (95th percentile) stands less than
  :data:`NOISY_SPREAD_DB` above the quiet frames' (10th). On the corpus this measure puts added
  noise at a median of 22.6 dB and every other condition at 44-56 dB
  (``python -m train.channel_audit``).
* ``wideband``: none of these.

The first that applies wins, in that order: narrowband audio can be noisy too, and the
narrowband rule is the strictest.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

CHANNEL_CLASSES = ("wideband", "narrowband", "compressed", "noisy")
NOISY_SPREAD_DB = 30.0   # between noise's 75th percentile (27.5 dB) and clean audio's 25th (32.1 dB) on the corpus
# Shown on the card and in the report: what each class means to a person.
CHANNEL_WORDS = {
    "wideband": "full-bandwidth audio",
    "narrowband": "telephone-quality audio",
    "compressed": "heavily compressed audio",
    "noisy": "noisy audio",
}


def level_spread_db(power: np.ndarray) -> float:
    """Loud frames' level (95th percentile) minus quiet frames' (10th), in dB: low when noise fills the pauses.

    Parameters
    ----------
    power : np.ndarray
        (frames, bins) power spectrogram of the prepared clip.

    Returns
    -------
    float
        The spread in dB (0 for a clip without frames).
    """
    power = np.asarray(power, dtype=float)
    if power.ndim != 2:
        raise ValueError(f"power must be a (frames, bins) spectrogram, got shape {power.shape}")
    if len(power) == 0:
        return 0.0
    frames = 10.0 * np.log10(power.sum(axis=1) + 1e-12)
    return float(np.percentile(frames, 95) - np.percentile(frames, 10))


def channel_class(warning_codes: Iterable[str], power: np.ndarray) -> str:
    """The channel class of a clip from its quality warnings' codes and its power spectrogram.

    Parameters
    ----------
    warning_codes : iterable of str
        Codes of :func:`detector.quality.quality_warnings` for the clip.
    power : np.ndarray
        (frames, bins) power spectrogram the warnings were computed on.

    Returns
    -------
    str
        One of :data:`CHANNEL_CLASSES`.
    """
    codes = set(warning_codes)
    if "narrow_band" in codes:
        return "narrowband"
    if "compressed" in codes:
        return "compressed"
    if level_spread_db(power) < NOISY_SPREAD_DB:
        return "noisy"
    return "wideband"

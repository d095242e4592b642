"""Occlusion sensitivity: which time-frequency regions moved the score.

The version's scorer hides one patch at a time and scores again
(:meth:`~detector.scoring.Scorer.occlusion_map`). A CNN version scores each window of
its model input with the patch set to the window's mean (0 after standardisation): the
windows the timeline shows. An encoder version encodes the region's log-mel on its own
with the patch blurred to the region's average spectrum; encoded alone, a region can
score differently from the same seconds in the timeline (one pass over the whole clip),
so :func:`region_score` gives the score the heatmap explains. The drop in the logit is
the patch's contribution: positive regions pushed towards "synthetic", negative ones
towards "genuine". Computed with the served LiteRT models.
"""

from __future__ import annotations

import math

import numpy as np

from detector.analysis import Analysis
from detector.errors import AudioError
from detector.inference import Detector

DEFAULT_PATCH_S = 0.2
DEFAULT_PATCH_BINS = 16


def check_region(start_s: float, end_s: float, first_s: float, last_s: float) -> tuple[float, float]:
    """The region ``(start_s, end_s)`` to explain, as floats, once it is known to be a real stretch of the clip.

    The page's slider cannot send a reversed or empty region, but a forged websocket
    message can; explaining something else without a word would mislead.

    Parameters
    ----------
    start_s, end_s : float
        The region, in seconds of the uploaded file.
    first_s, last_s : float
        The analysed seconds the region must overlap.

    Raises
    ------
    AudioError
        (code ``"bad_region"``) when a time is not a finite number, the region is empty or
        reversed, or it lies outside the analysed seconds.
    """
    try:
        start, end = float(start_s), float(end_s)
    except (TypeError, ValueError):
        raise AudioError("The region to explain must be two times in seconds.", "bad_region") from None
    if not (math.isfinite(start) and math.isfinite(end)):
        raise AudioError("The region to explain must be two times in seconds.", "bad_region")
    if end < start:
        raise AudioError(f"The region to explain ends ({end:.1f} s) before it starts ({start:.1f} s); choose a start "
                         "before the end.", "bad_region")
    if end == start:
        raise AudioError(f"The region to explain is empty (it starts and ends at {start:.1f} s); choose a stretch "
                         "of the clip.", "bad_region")
    if end <= first_s or start >= last_s:
        raise AudioError(f"The region to explain ({start:.1f}–{end:.1f} s) lies outside the analysed seconds "
                         f"{first_s:.1f}–{last_s:.1f}.", "bad_region")
    return start, end


def occlusion_map(
    detector: Detector,
    analysis: Analysis,
    patch_s: float = DEFAULT_PATCH_S,
    patch_bins: int = DEFAULT_PATCH_BINS,
) -> np.ndarray:
    """Heatmap with the shape of ``analysis.features`` (frames, bins): logit drops (original minus occluded).

    ``analysis`` is the region to explain (a few windows of a clip's analysis).
    """
    return detector.scorer.occlusion_map(analysis, patch_s, patch_bins)


def region_score(detector: Detector, analysis: Analysis) -> float:
    """The calibrated score of the region the heatmap explains, scored as the heatmap scores it."""
    return float(detector.calibration.probability(detector.scorer.region_logit(analysis)))


def summary_effect(heat: np.ndarray, spectrum_bins: int) -> np.ndarray | None:
    """Per-frame effect of the summary rows after the spectrum, or None if there are none."""
    if not spectrum_bins or heat.shape[1] <= spectrum_bins:
        return None
    return heat[:, spectrum_bins:].mean(axis=1)

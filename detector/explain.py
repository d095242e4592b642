"""Occlusion sensitivity: which time-frequency regions moved the score.

A CNN version: each window of the model input is scored again with one patch
replaced by the window's mean (0 after standardisation). An encoder version: the
region's log-mel (the encoder's own input) is encoded again with one patch replaced
by the region's average spectrum, and the head scores the region's pooled encoder
outputs, as it scores the timeline's windows. The drop in the logit is the patch's
contribution: positive regions pushed the clip towards "synthetic", negative ones
towards "genuine". Computed with the served LiteRT models, so it explains exactly
what the scores used.
"""

from __future__ import annotations

import math

import numpy as np

from detector.errors import AudioError
from detector.inference import Analysis, Detector

DEFAULT_PATCH_S = 0.2
DEFAULT_PATCH_BINS = 16
MAX_BATCH = 64  # occluded copies scored per interpreter call


def encoder_region_logit(detector: Detector, log_mel: np.ndarray) -> float:
    """The head's logit on the pooled encoder outputs of one stretch of log-mel (a window's score)."""
    scorer = detector.encoder_scorer
    return float(scorer.frames_logits([scorer.encoder_frames(np.ascontiguousarray(log_mel, dtype=np.float32))])[0])


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
    """Heatmap with the shape of ``analysis.features`` (frames, bins).

    Values are logit changes (original minus occluded), averaged where windows overlap.
    Summary rows after the spectrum (``melexc``'s excitation statistics) are hidden
    together as one patch of their own, never mixed with spectrum bins.

    For an encoder version ``analysis`` must be one region (:func:`encoder_occlusion_map`).
    """
    if detector.encoder_scorer is not None:
        return encoder_occlusion_map(detector, analysis, patch_s, patch_bins)
    config = detector.config
    windows = analysis.model_input
    if windows is None:
        raise ValueError("the analysis carries no model input to explain")
    frames, bins = config.window_frames, config.n_bins
    patch_frames = max(1, int(round(patch_s / config.frame_hop_s)))
    spectrum = config.spectrum_bins or bins
    patch_bins = max(1, min(patch_bins, spectrum))
    edges = list(range(0, spectrum, patch_bins)) + [spectrum] + ([bins] if bins > spectrum else [])
    rows = list(zip(edges[:-1], edges[1:]))
    patches = [(t, lo, hi) for t in range(0, frames, patch_frames) for lo, hi in rows]
    total_frames = max(len(analysis.features), frames)
    heat = np.zeros((total_frames, bins), dtype=np.float64)
    weight = np.zeros((total_frames, 1), dtype=np.float64)
    base = detector.window_logits(windows)
    for index, window in enumerate(windows):
        # Window times are in seconds of the uploaded file; the features start at the trimmed lead-in.
        start = int(round((analysis.windows[index].start_s - analysis.offset_s) / config.frame_hop_s))
        deltas = np.zeros((frames, bins), dtype=np.float64)
        for offset in range(0, len(patches), MAX_BATCH):
            chunk = patches[offset:offset + MAX_BATCH]
            batch = np.repeat(window[np.newaxis], len(chunk), axis=0)
            for k, (t, lo, hi) in enumerate(chunk):
                batch[k, t:t + patch_frames, lo:hi, 0] = 0.0
            scores = detector.window_logits(batch)
            for (t, lo, hi), score in zip(chunk, scores):
                deltas[t:t + patch_frames, lo:hi] = base[index] - score
        heat[start:start + frames] += deltas
        weight[start:start + frames] += 1.0
    heat = heat / np.maximum(weight, 1.0)
    return heat[: len(analysis.features)].astype(np.float32)


def encoder_occlusion_map(detector: Detector, analysis: Analysis, patch_s: float = DEFAULT_PATCH_S,
                          patch_bins: int = DEFAULT_PATCH_BINS) -> np.ndarray:
    """Heatmap (frames, 80) over an encoder version's log-mel of one region, ``analysis.features``.

    The region is scored on its own, like a timeline window: every patch costs one pass of
    the encoder over the region, so callers keep regions short (a few seconds). A hidden
    patch takes the region's average spectrum in its bands: it loses its detail, not its level.
    """
    log_mel = np.asarray(analysis.features, dtype=np.float32)
    if log_mel.ndim != 2 or len(log_mel) == 0:
        raise ValueError("the analysis carries no log-mel to explain")
    patch_frames = max(1, int(round(patch_s / detector.config.frame_hop_s)))
    bins = log_mel.shape[1]
    fill = log_mel.mean(axis=0)
    base = encoder_region_logit(detector, log_mel)
    heat = np.zeros(log_mel.shape, dtype=np.float64)
    for t in range(0, len(log_mel), patch_frames):
        for lo in range(0, bins, max(1, patch_bins)):
            hi = min(bins, lo + patch_bins)
            hidden = log_mel.copy()
            hidden[t:t + patch_frames, lo:hi] = fill[lo:hi]
            heat[t:t + patch_frames, lo:hi] = base - encoder_region_logit(detector, hidden)
    return heat.astype(np.float32)


def summary_effect(heat: np.ndarray, spectrum_bins: int) -> np.ndarray | None:
    """Per-frame effect of the summary rows after the spectrum, or None if there are none."""
    if not spectrum_bins or heat.shape[1] <= spectrum_bins:
        return None
    return heat[:, spectrum_bins:].mean(axis=1)

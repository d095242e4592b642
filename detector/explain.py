"""Occlusion sensitivity: which time-frequency regions moved the score.

Each window of the model input is scored again with one patch replaced by the
window's mean (0 after standardisation). The drop in the logit is the patch's
contribution: positive regions pushed the clip towards "synthetic", negative
ones towards "genuine". Computed with the served LiteRT model, so it explains
exactly what the verdict used.
"""

from __future__ import annotations

import math

import numpy as np

from detector.errors import AudioError, ModelError
from detector.inference import Analysis, Detector

DEFAULT_PATCH_S = 0.2
DEFAULT_PATCH_BINS = 16
MAX_BATCH = 64  # occluded copies scored per interpreter call
# Hiding spectrogram patches explains a CNN's windows; an encoder version pools a pretrained encoder's
# outputs over the whole clip, and no occlusion over the encoder's input has been built and checked yet.
ENCODER_NOT_EXPLAINED = ("This model reads the clip through a pretrained speech encoder, and the explanation that "
                         "hides parts of the spectrogram works only for the spectrogram models, so it is not "
                         "available for this model yet. The verdict and the scores per second above still apply.")


def explain_refusal(detector: Detector) -> str | None:
    """Why ``detector``'s verdicts cannot be explained by occlusion, in a sentence for the user; ``None`` when they can."""
    return ENCODER_NOT_EXPLAINED if detector.encoder_scorer is not None else None


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

    Raises
    ------
    ModelError
        For an encoder version, with :data:`ENCODER_NOT_EXPLAINED` (:func:`explain_refusal`).
    """
    refusal = explain_refusal(detector)
    if refusal:
        raise ModelError(refusal)
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


def summary_effect(heat: np.ndarray, spectrum_bins: int) -> np.ndarray | None:
    """Per-frame effect of the summary rows after the spectrum, or None if there are none."""
    if not spectrum_bins or heat.shape[1] <= spectrum_bins:
        return None
    return heat[:, spectrum_bins:].mean(axis=1)

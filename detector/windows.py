"""Model windows: cut a (frames, bins) feature matrix into standardised model inputs.

The trainer's batches and the server's windows go through the same two functions,
:func:`standardise` and :func:`split_windows`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from detector.config import FeatureConfig


def window_starts(n_frames: int, config: FeatureConfig) -> np.ndarray:
    """First frame of each model window; the last window is aligned to the clip's end."""
    return frame_starts(n_frames, config.window_frames, config.hop_frames)


def frame_starts(n_frames: int, size: int, hop: int) -> np.ndarray:
    """First frame of each window of ``size`` frames every ``hop``, the last aligned to the end.

    A clip no longer than one window is one window. Shared by the CNN's feature windows
    and the encoder's display windows (:mod:`detector.encoder.scorer`).
    """
    if n_frames <= size:
        return np.array([0])
    starts = list(range(0, n_frames - size + 1, hop))
    if starts[-1] != n_frames - size:
        starts.append(n_frames - size)
    return np.array(starts)


def standardise(windows: np.ndarray, window_norm: str = "global") -> np.ndarray:
    """Zero mean, unit variance over each (frames, bins) window.

    ``windows`` is one window or a stack of them (any leading axes): the trainer's
    batches and the server's windows go through this one formula.
    ``window_norm="per_band"`` first subtracts each band's mean over the window's
    frames, so only how the spectrum moves in time and how bands differ from their
    own average remain (see ``detector.config.WINDOW_NORMS``).
    """
    if window_norm == "per_band":
        windows = windows - windows.mean(axis=-2, keepdims=True)
    mean = windows.mean(axis=(-2, -1), keepdims=True)
    return (windows - mean) / (windows.std(axis=(-2, -1), keepdims=True) + 1e-5)


def split_windows(features: np.ndarray, config: FeatureConfig) -> tuple[np.ndarray, np.ndarray]:
    """Cut a (frames, bins) matrix into model inputs.

    Returns
    -------
    windows : np.ndarray
        Shape (n_windows, window_frames, n_bins, 1), float32, each standardised.
    starts_s : np.ndarray
        Start time of each window in seconds.
    """
    size = config.window_frames
    if len(features) < size:  # only after external truncation; repeat like fit_to_window
        features = np.resize(features, (size, features.shape[1]))
    starts = window_starts(len(features), config)
    windows = standardise(np.stack([features[s:s + size] for s in starts]), config.window_norm).astype(np.float32)
    return windows[..., np.newaxis], starts * config.frame_hop_s

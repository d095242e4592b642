"""Many clips through one model: windows batched across clips, logits split back per clip.

Scoring clip by clip wastes most of a forward pass on tiny batches; evaluation,
validation during training and batch scoring instead send windows of many clips
together. Aggregating each clip's logits is the calibration's job
(:meth:`detector.calibration.Calibration.clip_logit`), not this module's.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from detector.calibration import AGGREGATIONS, aggregate

BATCH_WINDOWS = 256   # windows per model call; bounds memory whatever the number of clips


def logits_per_clip(predict: Callable[[np.ndarray], np.ndarray], windows: Sequence[np.ndarray],
                    batch: int = BATCH_WINDOWS) -> list[np.ndarray]:
    """Window logits of each clip, computed in calls of about ``batch`` windows.

    Parameters
    ----------
    predict : callable
        Maps windows (n, frames, bins, 1) to n logits (a LiteRT or Keras model).
    windows : sequence of np.ndarray
        Each clip's windows.
    batch : int
        Windows per call (a call may hold more when one clip alone has more).
    """
    results: list[np.ndarray] = [np.zeros(0)] * len(windows)
    pending: list[int] = []

    def flush() -> None:
        if pending:
            logits = np.asarray(predict(np.concatenate([windows[i] for i in pending])), dtype=np.float64).reshape(-1)
            parts = np.split(logits, np.cumsum([len(windows[i]) for i in pending])[:-1])
            for index, part in zip(pending, parts):
                results[index] = part
            pending.clear()

    count = 0
    for index, clip in enumerate(windows):
        pending.append(index)
        count += len(clip)
        if count >= batch:
            flush()
            count = 0
    flush()
    return results


def aggregated(window_logits: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """Clip logits under every aggregation in :data:`~detector.calibration.AGGREGATIONS`."""
    return {how: np.array([aggregate(w, how) for w in window_logits]) for how in AGGREGATIONS}

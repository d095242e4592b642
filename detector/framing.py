"""Cutting a signal into analysis frames: one definition for every feature.

The spectrogram (``detector.features``) and the excitation statistics
(``detector.excitation``) must see exactly the same frames, or the rows a model
reads side by side would describe different instants.
"""

from __future__ import annotations

import numpy as np


def frame_signal(samples: np.ndarray, frame_length: int, hop: int) -> np.ndarray:
    """Read-only (frames, frame_length) view of ``samples``, a frame every ``hop`` samples.

    No centre padding: the first frame starts at sample 0 and the last one ends
    inside the signal. A signal shorter than one frame is zero-padded to one frame.
    """
    if len(samples) < frame_length:
        samples = np.pad(samples, (0, frame_length - len(samples)))
    count = 1 + (len(samples) - frame_length) // hop
    return np.lib.stride_tricks.as_strided(
        samples,
        shape=(count, frame_length),
        strides=(samples.strides[0] * hop, samples.strides[0]),
        writeable=False,
    )

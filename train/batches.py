"""Training batches: which clips a batch draws, random window crops, augmentation, standardisation.

Batches are numpy arrays made in a background thread (:mod:`train.loop`) from the
cached feature matrices of a :class:`~train.dataset.ClipSet`; the windows are random
crops of the same matrices the server windows, standardised the same way.
"""

from __future__ import annotations

from functools import partial
from typing import Iterator

import numpy as np
import pandas as pd

from detector.config import FeatureConfig
from detector.windows import standardise
from train.augment import augment_batch
from train.config import AugmentConfig
from train.dataset import ClipSet


def balanced_weights(frame: pd.DataFrame, speaker_balance: float = 0.0) -> np.ndarray:
    """Sampling weight per clip: both classes equally likely, and within the synthetic
    class every family equally likely, so no class or family dominates the gradient.

    ``speaker_balance`` (0-1) shares each group's weight among its speakers (voices, for
    synthetic clips): 0 weights every clip alike, 1 every speaker alike, 0.5 in between
    (a clip weighs ``1 / clips_of_its_speaker ** speaker_balance``). Genuine sources are
    very uneven (one gives two thirds of the genuine training clips); evening them out was
    meant to stop small, unusual speakers looking synthetic, but did not lower the
    validation EER (docs/experiments.md), so the default stays 0.
    """
    if not 0.0 <= speaker_balance <= 1.0:
        raise ValueError(f"speaker_balance must be within [0, 1], got {speaker_balance}")
    groups = pd.Series(np.where(frame["y"].to_numpy() == 1, "syn:" + frame["family"].astype(str), "genuine"))
    is_syn = frame["y"].to_numpy() == 1
    families = max(1, len(set(groups[is_syn])))
    share = np.where(is_syn, 0.5 / families, 0.5)
    if not is_syn.any() or is_syn.all():
        share = np.full(len(frame), 1.0)
    if speaker_balance > 0 and "speaker" in frame:
        speakers = groups + "|" + frame["speaker"].astype(str).to_numpy()
        raw = speakers.map(speakers.value_counts()).to_numpy(dtype=float) ** -speaker_balance
    else:
        raw = np.ones(len(frame))
    group_totals = pd.Series(raw).groupby(groups).transform("sum").to_numpy()
    weights = share * raw / group_totals
    return weights / weights.sum()


def random_crops(clips: ClipSet, indices: np.ndarray, frames: int, rng: np.random.Generator) -> np.ndarray:
    """One window of ``frames`` frames from each chosen clip, at a random start, float32."""
    out = np.empty((len(indices), frames, clips.features[0].shape[1]), dtype=np.float32)
    for row, index in enumerate(indices):
        feats = clips.features[index]
        start = int(rng.integers(0, len(feats) - frames + 1))
        out[row] = feats[start:start + frames]
    return out


def train_batches(clips: ClipSet, config: FeatureConfig, batch: int, augment: AugmentConfig | None,
                  seed: int, speaker_balance: float = 0.0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Endless class-balanced batches ``(windows (b, frames, bins, 1), labels (b, 1))``."""
    rng = np.random.default_rng(seed)
    weights = balanced_weights(clips.frame, speaker_balance)
    labels = clips.labels.astype(np.float32)
    normalise = partial(standardise, window_norm=config.window_norm)
    while True:
        chosen = rng.choice(len(clips), size=batch, p=weights)
        windows = random_crops(clips, chosen, config.window_frames, rng)
        if augment is not None:
            windows = augment_batch(windows, augment, config, rng, normalise)
        else:
            windows = normalise(windows)
        yield windows[..., np.newaxis].astype(np.float32), labels[chosen, np.newaxis]


# Evaluation -----------------------------------------------------------------------

"""Score clips with a CNN version: standardised feature windows in, one logit per window out.

The version's ``model.tflite`` takes (batch, frames, bins, 1) windows cut by
:func:`detector.features.model_input`, the trainer's own path; its
:class:`~detector.calibration.Calibration` aggregates a clip's window logits into the
clip logit. Explain hides patches of each window's features and scores the window
again, so its heatmap explains exactly the windows the timeline shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from detector.clips import logits_per_clip
from detector.errors import ModelError
from detector.features import ModelInput, model_input
from detector.litert import LiteRTModel
from detector.registry import ModelVersion
from detector.scoring import ClipLogits, probe_logits
from detector.windows import split_windows

if TYPE_CHECKING:
    from detector.analysis import Analysis

EXPLAIN_WINDOWS = 10      # occlusion costs ~100-200 model calls per window: explain at most this many
TIMING_WINDOWS = 9        # a 10-s clip = 9 windows of 2 s every 1 s
MAX_BATCH = 64            # occluded copies scored per interpreter call


class CnnScorer:
    """A CNN version's model and calibration; thread-safe (see :class:`~detector.scoring.Scorer`).

    Raises
    ------
    ModelError
        When ``model.tflite`` cannot be loaded or expects another input than ``features.json`` gives.
    """

    kind = "cnn"
    explain_windows = EXPLAIN_WINDOWS

    def __init__(self, version: ModelVersion, num_threads: int = 2) -> None:
        self.name, self.config, self.calibration = version.name, version.features, version.calibration
        self._model = LiteRTModel(version.tflite_path, num_threads, name=version.name)
        if self._model.input_shape != tuple(self.config.input_shape):
            raise ModelError(f"Model version {version.name!r} is broken: the model expects input "
                             f"{self._model.input_shape}, but its features.json gives "
                             f"{tuple(self.config.input_shape)}: the files do not match.")
        self.feature_hop_s = self.config.frame_hop_s
        window = f"{self.config.window_s:g}-second window"
        self.timeline_scope = f"The model scores {window}s, and the verdict combines them;"
        self.explain_method = ("Small patches of the spectrogram are hidden one at a time and each window is scored "
                               "again, as the timeline scores it. Red regions pushed the score towards *synthetic*, "
                               "blue ones towards *genuine*.")

    def window_logits(self, windows: np.ndarray) -> np.ndarray:
        """Raw logits of standardised windows (n, frames, bins, 1), shape (n,)."""
        return self._model(windows)

    def prepare(self, samples: np.ndarray) -> ModelInput:
        return model_input(samples, self.config)

    def score(self, clip: ModelInput) -> ClipLogits:
        logits = self.window_logits(clip.windows)
        return ClipLogits(self.calibration.clip_logit(logits), logits, clip.starts_s)

    def score_features(self, features: Sequence[np.ndarray]) -> list[ClipLogits]:
        cut = [split_windows(np.asarray(f, dtype=np.float32), self.config) for f in features]
        per_clip = logits_per_clip(self._model, [windows for windows, _ in cut])
        return [ClipLogits(self.calibration.clip_logit(logits), logits, starts)
                for logits, (_, starts) in zip(per_clip, cut)]

    def region_logit(self, analysis: "Analysis") -> float:
        """The clip logit of the windows ``analysis`` holds (the calibration's aggregation)."""
        return float(self.calibration.clip_logit(self.window_logits(_windows(analysis))))

    def occlusion_map(self, analysis: "Analysis", patch_s: float, patch_bins: int) -> np.ndarray:
        """Each window's logit drop per hidden patch (set to the window's mean, 0), averaged where windows overlap.

        Summary rows after the spectrum (``melexc``'s excitation statistics) are hidden
        together as one patch of their own, never mixed with spectrum bins.
        """
        config, windows = self.config, _windows(analysis)
        frames, bins = config.window_frames, config.n_bins
        patch_frames = max(1, int(round(patch_s / config.frame_hop_s)))
        spectrum = config.spectrum_bins or bins
        patch_bins = max(1, min(patch_bins, spectrum))
        edges = list(range(0, spectrum, patch_bins)) + [spectrum] + ([bins] if bins > spectrum else [])
        patches = [(t, lo, hi) for t in range(0, frames, patch_frames) for lo, hi in zip(edges[:-1], edges[1:])]
        total_frames = max(len(analysis.features), frames)
        heat, weight = np.zeros((total_frames, bins)), np.zeros((total_frames, 1))
        base = self.window_logits(windows)
        for index, window in enumerate(windows):
            # Window times are in seconds of the uploaded file; the features start at the trimmed lead-in.
            start = int(round((analysis.windows[index].start_s - analysis.offset_s) / config.frame_hop_s))
            deltas = np.zeros((frames, bins))
            for offset in range(0, len(patches), MAX_BATCH):
                chunk = patches[offset:offset + MAX_BATCH]
                batch = np.repeat(window[np.newaxis], len(chunk), axis=0)
                for k, (t, lo, hi) in enumerate(chunk):
                    batch[k, t:t + patch_frames, lo:hi, 0] = 0.0
                for (t, lo, hi), score in zip(chunk, self.window_logits(batch)):
                    deltas[t:t + patch_frames, lo:hi] = base[index] - score
            heat[start:start + frames] += deltas
            weight[start:start + frames] += 1.0
        heat = heat / np.maximum(weight, 1.0)
        return heat[: len(analysis.features)].astype(np.float32)

    def probe(self, seed: int) -> float:
        """Score one standardised-looking window (zero mean, unit deviation) drawn from ``seed``."""
        window = np.random.default_rng(seed).standard_normal((1, *self._model.input_shape)).astype(np.float32)
        logits = probe_logits(self.name, lambda: self.window_logits(window))
        if logits.size != 1:
            raise ModelError(f"Model version {self.name!r} is broken: one test window gave {logits.size} scores.")
        return float(logits[0])

    def timing_call(self) -> Callable[[], object]:
        windows = np.random.default_rng(0).standard_normal((TIMING_WINDOWS, *self.config.input_shape))
        windows = windows.astype(np.float32)
        return lambda: self.window_logits(windows)


def _windows(analysis: "Analysis") -> np.ndarray:
    if analysis.model_input is None:
        raise ValueError("the analysis carries no model input to explain")
    return analysis.model_input

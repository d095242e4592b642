"""Score a prepared clip with an encoder model version: one encoder pass, then the version's head.

An encoder version (``encoder.json``, :mod:`detector.encoder.record`) runs the shared
Whisper encoder once over the whole prepared clip (:meth:`WhisperEncoder.encode_mel` of
:func:`~detector.encoder.runtime.encoder_input`, in 30-s chunks) and feeds its
``model.tflite`` head: a linear head on pooled statistics, or (the head spec's kind is
``pooled+temporal``) that fused with a temporal head on
:func:`~detector.encoder.runtime.step_sequence` of the frames (:mod:`detector.encoder.fused_head`).

* the **clip logit**, which alone decides the verdict, is the head on the pooled
  statistics of *all* the clip's encoder frames: exactly the features training computed
  (``train.encoder.features.clip_entry``: the same preparation, the same encoder call,
  the same :func:`~detector.encoder.runtime.pooled_stats` and ``step_sequence``);
* **window logits** are the head on the pooled statistics of each window's frames
  (``window_s``/``hop_s`` of ``features.json``). They only draw the timeline and the
  "which seconds look synthetic" stretches: the head was fitted on whole clips, so a
  2-s window is a shorter input than any it learned from, and no verdict rests on one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from detector.config import FeatureConfig
from detector.encoder.fused_head import FusedHeadModel
from detector.encoder.head_spec import FUSED
from detector.encoder.logmel import HOP, SAMPLE_RATE
from detector.encoder.record import serving_encoder
from detector.encoder.runtime import FRAMES_PER_SECOND, encoder_input, pooled_stats, step_sequence
from detector.errors import ModelError
from detector.features import ModelInput, features_from_clip
from detector.litert import LiteRTModel
from detector.preparation import prepare_waveform
from detector.registry import ModelVersion
from detector.scoring import ClipLogits, probe_logits
from detector.spectrum import clip_power
from detector.windows import frame_starts

if TYPE_CHECKING:
    from detector.analysis import Analysis

PROBE_SECONDS = 2.0
LOG_MEL_HOP_S = HOP / SAMPLE_RATE   # seconds between the encoder's log-mel frames (10 ms)
EXPLAIN_WINDOWS = 3   # Explain re-encodes the whole region per patch: 4 s take ~100 passes
TIMING_SECONDS = 10


def encoder_clip(samples: np.ndarray, config: FeatureConfig) -> ModelInput:
    """A decoded 16-kHz clip prepared for an encoder version: trimmed and normalised as in training, its log-mel.

    ``features`` is the encoder's input (the ``whisper`` front end: :func:`encoder_input` of
    the whole prepared clip, never repeated to fill a window); ``power`` feeds the quality
    checks. ``windows`` and ``starts_s`` stay empty: :meth:`EncoderScorer.score_log_mel` cuts
    its windows from the encoder's frames.
    """
    prepared = prepare_waveform(samples, config)
    power = clip_power(prepared.samples, config)
    return ModelInput(prepared, power, features_from_clip(prepared.samples, power, config),
                      np.zeros((0,), np.float32), np.zeros(0))


def head_input(frames: np.ndarray, outputs: Sequence[int]) -> np.ndarray:
    """The head's input vector for encoder frames (frames, encoder outputs, 512).

    Pooled statistics of the chosen ``outputs`` in the order training used
    (``train.encoder.heads.pooled_matrix``): for each output, 512 means then 512
    standard deviations; float32.
    """
    return pooled_stats(frames)[list(outputs)].reshape(-1)


class EncoderScorer:
    """The shared encoder and a version's head, loaded and cross-checked; thread-safe.

    Parameters
    ----------
    version : ModelVersion
        A loaded version whose ``encoder`` record is set.
    num_threads : int
        LiteRT CPU threads for the encoder and the head.

    Raises
    ------
    ModelError
        When the shared encoder file is missing, or has other bytes than the recorded one
        and outputs that differ from the recorded fingerprint (or there is none), the head
        cannot be loaded or reads another input size than the record implies, or
        ``features.json`` does not describe 16-kHz audio.
    """

    kind = "encoder"
    feature_hop_s = LOG_MEL_HOP_S
    explain_windows = EXPLAIN_WINDOWS

    def __init__(self, version: ModelVersion, num_threads: int = 2) -> None:
        record = version.encoder
        if record is None:
            raise ModelError(f"Model version {version.name!r} has no encoder.json: it is not an encoder version.")
        if version.features.sample_rate != SAMPLE_RATE:
            raise ModelError(f"Model version {version.name!r} is broken: its encoder reads {SAMPLE_RATE} Hz audio, "
                             f"but its features.json gives {version.features.sample_rate} Hz.")
        self.name, self.record, self.config = version.name, record, version.features
        # The interpreter that serves is the one whose bytes (or, for a rebuild, outputs) were checked.
        self._encoder = serving_encoder(version.name, version.path.parent, record, num_threads)
        if record.spec.kind == FUSED:
            self._fused = FusedHeadModel(version.tflite_path, num_threads, name=version.name)
            self._head, shape = None, (self._fused.pooled_size,)
        else:
            self._head, self._fused = LiteRTModel(version.tflite_path, num_threads, name=version.name), None
            shape = self._head.input_shape
        if shape != (record.head_inputs,):
            raise ModelError(f"Model version {version.name!r} is broken: its head expects input "
                             f"{shape}, but encoder.json's outputs {list(record.outputs)} give "
                             f"({record.head_inputs},): the files do not match.")
        self.window_frames = max(1, int(round(self.config.window_s * FRAMES_PER_SECOND)))
        self.hop_frames = max(1, int(round(self.config.hop_s * FRAMES_PER_SECOND)))
        window = f"{self.config.window_s:g}-second window"
        self.timeline_scope = (f"The verdict comes from the whole clip at once; the top row scores each {window} "
                               "of the same encoder pass on its own, as a guide only:")
        self.explain_method = ("Small patches of the log-mel spectrogram the encoder reads are blurred to the "
                               "region's average one at a time, and the region alone is encoded and scored again. "
                               "Red regions pushed that score towards *synthetic*, blue ones towards *genuine*. "
                               "Encoded on its own, the region can score differently from the same seconds in the "
                               "top row, which come from one pass over the whole clip; its own score is shown.")

    def encoder_frames(self, log_mel: np.ndarray) -> np.ndarray:
        """The encoder's outputs for a clip's log-mel frames, (frames, blocks + 1, 512).

        Raises
        ------
        ModelError
            When the encoder file returns another number of outputs than ``blocks + 1``.
        """
        frames = self._encoder.encode_mel(log_mel)
        if frames.ndim != 3 or frames.shape[1] != self.record.blocks + 1:
            raise ModelError(f"Model version {self.name!r} is broken: its speech encoder {self.record.file} "
                             f"returns {frames.shape[1:]} per frame where {self.record.blocks + 1} outputs were "
                             "recorded.")
        return frames

    def prepare(self, samples: np.ndarray) -> ModelInput:
        return encoder_clip(samples, self.config)

    def score(self, clip: ModelInput) -> ClipLogits:
        return self.score_log_mel(clip.features)

    def score_features(self, features: Sequence[np.ndarray]) -> list[ClipLogits]:
        return [self.score_log_mel(np.asarray(f, dtype=np.float32)) for f in features]

    def score_log_mel(self, log_mel: np.ndarray) -> ClipLogits:
        """Clip and window logits of one clip from its encoder input (:func:`encoder_input`).

        One encoder pass: the clip logit from all its frames, each window's from its slice of them.
        """
        frames = self.encoder_frames(log_mel)
        starts = frame_starts(len(frames), self.window_frames, self.hop_frames)
        logits = self.frames_logits([frames, *(frames[start:start + self.window_frames] for start in starts)])
        return ClipLogits(float(logits[0]), logits[1:], starts / FRAMES_PER_SECOND)

    def frames_logits(self, stretches: Sequence[np.ndarray]) -> np.ndarray:
        """The head's raw logit for each stretch of encoder frames (a clip, a window), shape (n,)."""
        if self._fused is not None:   # one call per stretch: the sequence's length varies
            return np.array([self._fused(head_input(f, self.record.outputs), step_sequence(f)) for f in stretches])
        return self._head(np.stack([head_input(f, self.record.outputs) for f in stretches]))   # one call for all

    def score_samples(self, samples: np.ndarray) -> tuple[np.ndarray, ClipLogits]:
        """The encoder input (log-mel, for drawing) and the scores of a prepared 16-kHz clip."""
        log_mel = encoder_input(samples)
        return log_mel, self.score_log_mel(log_mel)

    def head_logits(self, inputs: np.ndarray) -> np.ndarray:
        """Raw logits of a pooled head for (n, head inputs) pooled statistics, shape (n,).

        Raises
        ------
        ModelError
            For a fused head, which needs the frames (:meth:`frames_logits`).
        """
        if self._head is None:
            raise ModelError(f"Model version {self.name!r} has a fused head: it scores frames, not statistics alone.")
        return self._head(inputs)

    def log_mel_logit(self, log_mel: np.ndarray) -> float:
        """The head's logit on one stretch of log-mel encoded on its own."""
        return float(self.frames_logits([self.encoder_frames(np.ascontiguousarray(log_mel, dtype=np.float32))])[0])

    def region_logit(self, analysis: "Analysis") -> float:
        """The logit of the region ``analysis.features`` (log-mel) encoded on its own, as Explain scores it."""
        return self.log_mel_logit(analysis.features)

    def occlusion_map(self, analysis: "Analysis", patch_s: float, patch_bins: int) -> np.ndarray:
        """Heatmap (frames, 80) over the log-mel of one region, ``analysis.features``.

        The region is encoded on its own for every patch (so callers keep regions to a few
        seconds). A hidden patch takes the region's average spectrum in its bands: it loses
        its detail, not its level. Patch sizes are in log-mel frames (:data:`LOG_MEL_HOP_S`).
        """
        log_mel = np.asarray(analysis.features, dtype=np.float32)
        if log_mel.ndim != 2 or len(log_mel) == 0:
            raise ValueError("the analysis carries no log-mel to explain")
        patch_frames = max(1, int(round(patch_s / LOG_MEL_HOP_S)))
        bins, fill = log_mel.shape[1], log_mel.mean(axis=0)
        base = self.log_mel_logit(log_mel)
        heat = np.zeros(log_mel.shape, dtype=np.float64)
        for t in range(0, len(log_mel), patch_frames):
            for lo in range(0, bins, max(1, patch_bins)):
                hi = min(bins, lo + patch_bins)
                hidden = log_mel.copy()
                hidden[t:t + patch_frames, lo:hi] = fill[lo:hi]
                heat[t:t + patch_frames, lo:hi] = base - self.log_mel_logit(hidden)
        return heat.astype(np.float32)

    def probe(self, seed: int) -> float:
        """Score a fixed 2-s noise clip drawn from ``seed``; its clip logit (all window logits finite too)."""
        noise = (0.05 * np.random.default_rng(seed).standard_normal(int(PROBE_SECONDS * SAMPLE_RATE)))

        def scored() -> np.ndarray:
            scores = self.score_samples(noise.astype(np.float32))[1]
            return np.concatenate([[scores.clip_logit], scores.window_logits])

        return float(probe_logits(self.name, scored)[0])   # the clip logit; the windows' are checked too

    def timing_call(self) -> Callable[[], object]:
        samples = (0.05 * np.random.default_rng(0).standard_normal(TIMING_SECONDS * SAMPLE_RATE)).astype(np.float32)
        return lambda: self.score_samples(samples)



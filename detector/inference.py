"""Score clips with a model version: the only inference path the app, the CLI and evaluation use.

A version's :class:`~detector.scoring.Scorer` (chosen once, by :func:`load_scorer`)
prepares a clip as training did and gives its clip logit and window logits: a CNN
version's windows (:mod:`detector.cnn_scorer`), or an encoder version's one pass of the
shared speech encoder and its head (:mod:`detector.encoder.scorer`). The calibration maps
the clip logit to a calibrated probability; :func:`detector.verdict.judge` turns that and
the recording's quality warnings into the verdict and its words. TensorFlow is never
imported here.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from detector.analysis import Analysis
from detector.audio import load_audio
from detector.channel import channel_class
from detector.clips import aggregated
from detector.cnn_scorer import CnnScorer
from detector.config import MAX_UPLOAD_BYTES, MIB
from detector.encoder.scorer import EncoderScorer
from detector.errors import AudioError
from detector.features import feature_axis
from detector.files import sha256_file
from detector.model_facts import ModelFacts, facts_of
from detector.names import safe_display_name
from detector.quality import quality_warnings
from detector.registry import ModelRegistry, ModelVersion
from detector.scoring import Scorer
from detector.speech import MIN_VOICED_S, SpeechActivity, speech_activity
from detector.verdict import WindowScore, is_spliced, judge, synthetic_spans


@dataclass
class ClipScores:
    """Scores of many clips at once (evaluation, batch): one entry per clip."""

    window_logits: list[np.ndarray]   # each clip's raw window logits
    clip_logits: np.ndarray           # aggregated with the model's calibration
    p_synthetic: np.ndarray           # calibrated

    def by_aggregation(self) -> dict[str, np.ndarray]:
        """Clip logits under every aggregation (the trainer chooses among them on validation)."""
        return aggregated(self.window_logits)


def load_scorer(version: ModelVersion, num_threads: int = 2) -> Scorer:
    """The scorer for ``version``'s kind: the one place that asks whether a version runs on a speech encoder."""
    if version.encoder is not None:
        return EncoderScorer(version, num_threads)
    return CnnScorer(version, num_threads)


class Detector:
    """A loaded model version (any kind): audio in, calibrated scores and verdicts out; thread-safe."""

    def __init__(self, version: ModelVersion, num_threads: int = 2) -> None:
        self.version = version
        self.config = version.features
        self.calibration = version.calibration
        self.facts: ModelFacts = facts_of(version)   # what this model can say, for every sentence about it
        self.scorer: Scorer = load_scorer(version, num_threads)

    @classmethod
    def from_store(cls, store: str | Path | None = None, version: str | None = None) -> "Detector":
        """Load the active version (or ``version``) from a model store folder."""
        registry = ModelRegistry(store)
        return cls(registry.load(version) if version else registry.active())

    @property
    def name(self) -> str:
        return self.version.name

    def score_features(self, features: Sequence[np.ndarray]) -> ClipScores:
        """Score clips from their features, the way :meth:`analyse` scores one (evaluation is this over a split).

        ``features`` are what the version's front end computes for each prepared clip: a CNN
        version's (frames, bins) matrix, cut into windows and sent through the model many
        windows per call; an encoder version's log-mel, one encoder pass per clip.
        """
        scored = self.scorer.score_features(features)
        clip_logits = np.array([s.clip_logit for s in scored], dtype=np.float64)
        return ClipScores([s.window_logits for s in scored], clip_logits,
                          np.asarray(self.calibration.probability(clip_logits)))

    def analyse(self, source: str | Path | bytes, name: str | None = None,
                max_bytes: int = MAX_UPLOAD_BYTES) -> Analysis:
        """Decode, validate, featurise and score one clip.

        Parameters
        ----------
        source : str, Path or bytes
            A file path, or the bytes of an upload.
        name : str, optional
            The name to report (an upload's file name); only its last component is kept.
        max_bytes : int
            Uploads (bytes) larger than this are refused; paths are streamed instead.

        Raises
        ------
        AudioError
            Input that cannot be judged, with a sentence for the user.
        """
        payload, display_name = _payload(source, name, max_bytes)
        decoded = load_audio(payload, self.config.sample_rate, max_seconds=self.config.max_duration_s)
        clip = self.scorer.prepare(decoded.samples)   # the trainer's own path for this kind of model
        speech = require_speech(clip.prepared.samples, self.config.sample_rate)
        scored = self.scorer.score(clip)
        p_synthetic = float(self.calibration.probability(scored.clip_logit))
        warnings = quality_warnings(decoded, clip.prepared, clip.power, self.config)
        channel = channel_class([w.code for w in warnings], clip.power)
        judged = judge(p_synthetic, warnings, self.calibration, self.facts, channel)
        # Windows are cut from the trimmed clip; adding the trimmed lead-in gives times in the uploaded file.
        offset, analysed = clip.prepared.leading_trim_s, clip.prepared.duration_s
        window_p = np.atleast_1d(self.calibration.probability(scored.window_logits))
        windows = [WindowScore(float(s) + offset, float(min(s + self.config.window_s, analysed)) + offset, float(p))
                   for s, p in zip(scored.starts_s, window_p)]
        red = judged.bands.synthetic_above if judged.bands is not None else self.calibration.synthetic_above
        spans = synthetic_spans(windows, red) if red is not None else []
        axis, unit = feature_axis(self.config)
        return Analysis(
            name=display_name, sha256=_sha256(payload), model_version=self.version.name,
            p_synthetic=p_synthetic, clip_logit=scored.clip_logit, verdict=judged.verdict,
            explanation=judged.explanation, verdict_capped_by=judged.capped_by,
            # Stretches by the clip's own red edge (none where its class earned none), as its timeline colours them.
            windows=windows, synthetic_spans=spans, spliced=bool(spans) and is_spliced(windows, self.facts),
            warnings=warnings,
            duration_s=decoded.duration_s, analysed_s=analysed,
            # A file cut short: its header's length, so "analysed 10.6 s of 20.0 s" says what is missing.
            source_duration_s=decoded.source_duration_s or (decoded.loss.declared_s if decoded.loss.end_s else None),
            original_sample_rate=decoded.original_sample_rate, container=decoded.container, codec=decoded.codec,
            truncated=decoded.truncated, channels=decoded.channels, bit_rate=decoded.bit_rate,
            sample_rate=self.config.sample_rate, samples=clip.prepared.samples, features=clip.features,
            feature_times=offset + np.arange(len(clip.features)) * self.scorer.feature_hop_s,
            feature_axis=axis, feature_unit=unit, feature_level=self.config.front_end.level_label,
            model_input=clip.windows if len(clip.windows) else None,   # a CNN's windows as fed to it
            offset_s=offset, speech_s=speech.voiced_s, channel=channel, bands=judged.bands,
        )


def require_speech(samples: np.ndarray, sample_rate: int) -> SpeechActivity:
    """The clip's speech activity, or an AudioError when there is too little voiced speech to judge."""
    speech = speech_activity(samples, sample_rate)
    if not speech.enough:
        raise AudioError(
            f"No speech found: the clip holds {speech.voiced_s:.1f} s of voiced speech and at least "
            f"{MIN_VOICED_S:g} s is needed. The detector judges voices; tones, music, noise and silence "
            "get no verdict.", "no_speech")
    return speech


def _payload(source: str | Path | bytes, name: str | None, max_bytes: int) -> tuple[Path | bytes, str]:
    """What to decode (a path, or an upload's bytes within ``max_bytes``) and the name to show."""
    is_bytes = isinstance(source, (bytes, bytearray))
    if is_bytes and len(source) > max_bytes:
        # Rounded up: a file over the limit never reads as the limit itself.
        raise AudioError(f"The upload is {math.ceil(len(source) / MIB * 10) / 10:.1f} MiB; the limit is "
                         f"{max_bytes / MIB:g} MiB. Trim the clip or use the command line.", "too_large")
    payload = bytes(source) if is_bytes else Path(source)
    return payload, safe_display_name(name or ("upload" if is_bytes else Path(source).name))


def _sha256(payload: Path | bytes) -> str:
    """The upload's digest; a file is streamed (detector.files.sha256_file)."""
    return sha256_file(payload) if isinstance(payload, Path) else hashlib.sha256(payload).hexdigest()

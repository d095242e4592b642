"""Score clips with a LiteRT model: the only inference path the app and CLI use.

A CNN version's model takes standardised feature windows (batch, frames, bins, 1) and
returns one raw logit per window (:mod:`detector.litert`); its
:class:`~detector.calibration.Calibration` aggregates a clip's windows into the clip
logit. An encoder version (``encoder.json``) runs the shared speech encoder once over
the whole clip and its head on the pooled statistics (:mod:`detector.encoder.scorer`);
its window scores are for display only. Either way the calibration maps the clip logit
to a calibrated probability and a verdict band. TensorFlow is never imported here.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from detector.audio import load_audio
from detector.clips import aggregated, logits_per_clip
from detector.config import MAX_UPLOAD_BYTES, MIB
from detector.encoder.scorer import LOG_MEL_HOP_S, EncoderScorer, encoder_clip
from detector.errors import AudioError, ModelError
from detector.features import feature_axis, model_input
from detector.litert import LiteRTModel
from detector.model_facts import ModelFacts, facts_of
from detector.names import safe_display_name
from detector.quality import QualityWarning, damage_reasons, quality_warnings
from detector.registry import ModelRegistry, ModelVersion
from detector.speech import MIN_VOICED_S, speech_activity
from detector.verdict import (
    VERDICTS,
    WindowScore,
    cannot_clear_reasons,
    capped_verdict,
    explain_probability,
    is_spliced,
    synthetic_spans,
)
from detector.windows import split_windows


@dataclass
class Analysis:
    """Everything the app, CLI and JSON export show about one clip."""

    name: str
    sha256: str
    model_version: str
    p_synthetic: float
    clip_logit: float
    verdict: str
    explanation: str
    windows: list[WindowScore]                    # times in seconds of the uploaded file
    warnings: list[QualityWarning]
    duration_s: float
    analysed_s: float
    source_duration_s: float | None
    original_sample_rate: int
    container: str
    codec: str
    truncated: bool
    sample_rate: int
    samples: np.ndarray = field(repr=False)       # the prepared waveform the model saw
    features: np.ndarray = field(repr=False)      # (frames, bins) model features (an encoder version: its log-mel)
    feature_times: np.ndarray = field(repr=False)  # seconds of the uploaded file
    feature_axis: np.ndarray = field(repr=False)
    feature_unit: str = "Hz"
    feature_level: str = "level (dB)"   # what the spectrogram's values are (the front end's colour-bar label)
    model_input: np.ndarray = field(default=None, repr=False)  # the CNN's windows as fed to it (None: encoder)
    # Leading silence trimmed before analysis: the analysed audio starts this many seconds into the file.
    offset_s: float = 0.0
    speech_s: float = 0.0                         # seconds of voiced speech (detector.speech)
    channels: int = 1
    bit_rate: int | None = None
    verdict_capped_by: list[str] = field(default_factory=list)  # quality codes that capped the verdict
    synthetic_spans: list[tuple[float, float]] = field(default_factory=list)  # file seconds scoring synthetic
    spliced: bool = False   # a likely-synthetic stretch next to one that scores as genuine as the model gets
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    @property
    def verdict_label(self) -> str:
        return VERDICTS[self.verdict]

    @property
    def file_duration_s(self) -> float:
        """The length of the uploaded file: longer than ``duration_s`` when only its start was decoded."""
        return self.source_duration_s if self.truncated and self.source_duration_s else self.duration_s

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no sample arrays)."""
        return {
            "file": self.name,
            "sha256": self.sha256,
            "model_version": self.model_version,
            "p_synthetic": round(self.p_synthetic, 6),
            "verdict": self.verdict,
            "verdict_label": self.verdict_label,
            "explanation": self.explanation,
            "verdict_capped_by": list(self.verdict_capped_by),
            "duration_s": round(self.duration_s, 3),
            "analysed_s": round(self.analysed_s, 3),
            "offset_s": round(self.offset_s, 3),
            "speech_s": round(self.speech_s, 3),
            "source_duration_s": self.source_duration_s,
            "truncated": self.truncated,
            "original_sample_rate": self.original_sample_rate,
            "container": self.container,
            "codec": self.codec,
            "channels": self.channels,
            "bit_rate": self.bit_rate,
            "synthetic_spans": [[round(a, 3), round(b, 3)] for a, b in self.synthetic_spans],
            "spliced": self.spliced,
            "windows": [{"start_s": round(w.start_s, 3), "end_s": round(w.end_s, 3),
                         "p_synthetic": round(w.p_synthetic, 6)} for w in self.windows],
            "warnings": [w.to_dict() for w in self.warnings],
            "created": self.created,
        }


@dataclass
class ClipScores:
    """Scores of many clips at once (evaluation, batch): one entry per clip."""

    window_logits: list[np.ndarray]   # each clip's raw window logits
    clip_logits: np.ndarray           # aggregated with the model's calibration
    p_synthetic: np.ndarray           # calibrated

    def by_aggregation(self) -> dict[str, np.ndarray]:
        """Clip logits under every aggregation (the trainer chooses among them on validation)."""
        return aggregated(self.window_logits)


class Detector:
    """A loaded model version (CNN or encoder): features in, calibrated scores and verdicts out; thread-safe."""

    def __init__(self, version: ModelVersion, num_threads: int = 2) -> None:
        self.version = version
        self.config = version.features
        self.calibration = version.calibration
        self.facts: ModelFacts = facts_of(version)   # what this model can say, for every sentence about it
        self.encoder_scorer: EncoderScorer | None = None
        if version.encoder is not None:   # the head reads pooled encoder statistics, not feature windows
            self.encoder_scorer = EncoderScorer(version, num_threads)
            return
        self._model = LiteRTModel(version.tflite_path, num_threads, name=version.name)
        if self._model.input_shape != tuple(self.config.input_shape):
            raise ModelError(f"Model version {version.name!r} expects input {self._model.input_shape}, but its "
                             f"features.json gives {tuple(self.config.input_shape)}: the files do not match.")

    @classmethod
    def from_store(cls, store: str | Path | None = None, version: str | None = None) -> "Detector":
        """Load the active version (or ``version``) from a model store folder."""
        registry = ModelRegistry(store)
        return cls(registry.load(version) if version else registry.active())

    @property
    def name(self) -> str:
        return self.version.name

    def window_logits(self, windows: np.ndarray) -> np.ndarray:
        """Raw model logits for a batch of standardised windows, shape (n,); an encoder version refuses (ModelError)."""
        if self.encoder_scorer is not None:
            raise ModelError(f"Model version {self.name!r} runs on a speech encoder and scores whole clips; it "
                             "takes no feature windows.")
        return self._model(windows)

    def score_features(self, features: Sequence[np.ndarray]) -> ClipScores:
        """Score clips from their (frames, bins) features, many windows per model call.

        The serving windows of each clip (:func:`detector.windows.split_windows`) go
        through the model together; each clip's logits are aggregated and calibrated
        by the version's :class:`~detector.calibration.Calibration`. Evaluation is this
        method over the test split.

        For an encoder version the features are each clip's encoder input (the
        ``whisper`` front end's log-mel) and every clip goes through the same scorer as
        :meth:`analyse`: the clip logit from the whole clip, window logits for display.
        """
        if self.encoder_scorer is not None:
            scored = [self.encoder_scorer.score_log_mel(np.asarray(f, dtype=np.float32)) for f in features]
            clip_logits = np.array([s.clip_logit for s in scored], dtype=np.float64)
            return ClipScores([s.window_logits for s in scored], clip_logits,
                              np.asarray(self.calibration.probability(clip_logits)))
        windows = [split_windows(np.asarray(f, dtype=np.float32), self.config)[0] for f in features]
        per_clip = logits_per_clip(self._model, windows)
        clip_logits = np.array([self.calibration.clip_logit(w) for w in per_clip], dtype=np.float64)
        return ClipScores(per_clip, clip_logits, np.asarray(self.calibration.probability(clip_logits)))

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
        is_bytes = isinstance(source, (bytes, bytearray))
        if is_bytes and len(source) > max_bytes:
            # Rounded up: a file over the limit never reads as the limit itself.
            raise AudioError(f"The upload is {math.ceil(len(source) / MIB * 10) / 10:.1f} MiB; the limit is "
                             f"{max_bytes / MIB:g} MiB. Trim the clip or use the command line.", "too_large")
        payload = bytes(source) if is_bytes else Path(source)
        display_name = safe_display_name(name or ("upload" if is_bytes else Path(source).name))
        decoded = load_audio(payload, self.config.sample_rate, max_seconds=self.config.max_duration_s)
        # The trainer's path too (an encoder version: training's preparation and the encoder's log-mel);
        # its power spectrogram spares the quality checks a second STFT.
        clip = model_input(decoded.samples, self.config) if self.encoder_scorer is None else \
            encoder_clip(decoded.samples, self.config)
        speech = speech_activity(clip.prepared.samples, self.config.sample_rate)
        if not speech.enough:
            raise AudioError(
                f"No speech found: the clip holds {speech.voiced_s:.1f} s of voiced speech and at least "
                f"{MIN_VOICED_S:g} s is needed. The detector judges voices; tones, music, noise and silence "
                "get no verdict.", "no_speech")
        if self.encoder_scorer is None:
            logits = self.window_logits(clip.windows)
            clip_logit = self.calibration.clip_logit(logits)
            starts_s, feature_hop_s = clip.starts_s, self.config.frame_hop_s
        else:   # one encoder pass: the clip logit from the whole clip; window logits draw the timeline
            encoded = self.encoder_scorer.score_log_mel(clip.features)
            logits, clip_logit, starts_s = encoded.window_logits, encoded.clip_logit, encoded.starts_s
            feature_hop_s = LOG_MEL_HOP_S
        p_synthetic = float(self.calibration.probability(clip_logit))
        warnings = quality_warnings(decoded, clip.prepared, clip.power, self.config)
        damage = damage_reasons(warnings)
        unbounded = self.calibration.verdict(p_synthetic)
        # The narrowband rule withholds only the green verdict; it caps when that is what the score alone gives.
        withheld = cannot_clear_reasons([w.code for w in warnings]) if unbounded == "likely_genuine" else {}
        verdict = capped_verdict(unbounded, damage, list(withheld))
        window_p = np.atleast_1d(self.calibration.probability(logits))
        analysed = clip.prepared.duration_s
        # Windows are cut from the trimmed clip; adding the trimmed lead-in gives times in the uploaded file.
        offset = clip.prepared.leading_trim_s
        scores = [WindowScore(float(s) + offset, float(min(s + self.config.window_s, analysed)) + offset, float(p))
                  for s, p in zip(starts_s, window_p)]
        axis, unit = feature_axis(self.config)
        return Analysis(
            name=display_name,
            sha256=_sha256(payload),
            model_version=self.version.name,
            p_synthetic=p_synthetic,
            clip_logit=clip_logit,
            verdict=verdict,
            explanation=explain_probability(p_synthetic, verdict, self.calibration, list(damage.values()),
                                            self.facts, list(withheld.values())),
            windows=scores,
            warnings=warnings,
            duration_s=decoded.duration_s,
            analysed_s=analysed,
            source_duration_s=decoded.source_duration_s,
            original_sample_rate=decoded.original_sample_rate,
            container=decoded.container,
            codec=decoded.codec,
            truncated=decoded.truncated,
            sample_rate=self.config.sample_rate,
            samples=clip.prepared.samples,
            features=clip.features,
            feature_times=offset + np.arange(len(clip.features)) * feature_hop_s,
            feature_axis=axis,
            feature_unit=unit,
            feature_level=self.config.front_end.level_label,
            model_input=clip.windows if self.encoder_scorer is None else None,
            offset_s=offset,
            speech_s=speech.voiced_s,
            channels=decoded.channels,
            bit_rate=decoded.bit_rate,
            verdict_capped_by=list(damage) or list(withheld),
            synthetic_spans=synthetic_spans(scores, self.calibration.synthetic_above),
            spliced=is_spliced(scores, self.facts),
        )


def _sha256(payload: Path | bytes) -> str:
    digest = hashlib.sha256()
    if isinstance(payload, Path):
        with open(payload, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    else:
        digest.update(payload)
    return digest.hexdigest()

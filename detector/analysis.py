"""One analysed clip: everything the app, the CLI, the report and the JSON export show about it.

A plain record built by :meth:`detector.inference.Detector.analyse`; it sits below the
scorers so that Explain's methods can take one without importing inference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np

from detector.calibration import ClipBands
from detector.quality import QualityWarning
from detector.verdict import VERDICTS, WindowScore


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
    channel: str = "wideband"        # measured channel class (detector.channel.channel_class)
    bands: ClipBands | None = None   # the verdict edges that applied to this clip (its class's, where earned)

    @property
    def verdict_label(self) -> str:
        return VERDICTS[self.verdict]

    @property
    def file_duration_s(self) -> float:
        """The length of the uploaded file: longer than ``duration_s`` when only its start was decoded."""
        longer = self.source_duration_s is not None and self.source_duration_s > self.duration_s
        return self.source_duration_s if longer else self.duration_s

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
            "channel": self.channel,
            "bands": None if self.bands is None else {
                "genuine_below": _rounded(self.bands.genuine_below), "synthetic_above": _rounded(self.bands.synthetic_above),
                "per_channel": self.bands.per_channel},
            "created": self.created,
        }


def _rounded(edge: float | None) -> float | None:
    return None if edge is None else round(edge, 6)

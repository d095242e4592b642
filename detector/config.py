"""The single feature configuration shared by training and serving.

Every model version saves its ``FeatureConfig`` as ``features.json``; the server
rebuilds exactly the same features from it. Changing a default here never changes
how an already-trained model is served.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from detector.frontends import FRONT_ENDS, FrontEnd, front_end

# Every feature type is a front end in detector.frontends; this is their names, in selector order.
FEATURE_TYPES = tuple(FRONT_ENDS)
# How each model window is normalised before the network sees it (see
# detector.windows.standardise): "global" takes one mean and deviation over the
# whole window; "per_band" first removes each band's own mean over the window (a
# 2-s spectral mean normalisation, like cepstral mean normalisation), so a fixed
# microphone, room or codec colouring cannot tell the network who recorded a clip.
WINDOW_NORMS = ("global", "per_band")

# Upload limit, sized from the analysis rather than picked: the app analyses the first
# ANALYSED_S seconds (FeatureConfig.max_duration_s), and the largest common way to hold
# them is 16-bit stereo PCM at 48 kHz (115.2 MB), plus room for headers and tags. Decoding
# runs block by block (detector.audio_blocks), so an analysis's memory does not grow with
# the file; the limit only bounds what one upload holds on the server.
ANALYSED_S = 600.0
# One unit everywhere: MiB (2**20 bytes), the unit of Streamlit's server.maxUploadSize, which the
# server enforces; the app's check and its message use the same figure. Streamlit's upload box reads
# the same setting in decimal megabytes on Linux and macOS (10**6 bytes, a little stricter), so the
# figure is sized for that reading too: 10 minutes of 48 kHz stereo plus 1 MB still pass it. It is
# rounded up to a multiple of 10 so that it reads as a round figure wherever it is shown: the upload
# box writes "120MB per file" and the app's own text "120 MB" (UPLOAD_LIMIT_TEXT), the same number.
UPLOAD_LIMIT_MIB = 10 * math.ceil((ANALYSED_S * 48_000 * 2 * 2 + 1_000_000) / 10_000_000)   # = 120
UPLOAD_LIMIT_TEXT = f"{UPLOAD_LIMIT_MIB} MB"   # as Streamlit's upload box writes it ("120MB per file")
MIB = 2**20
MAX_UPLOAD_BYTES = UPLOAD_LIMIT_MIB * MIB


@dataclass(frozen=True)
class FeatureConfig:
    """How audio becomes model input.

    Attributes
    ----------
    sample_rate : int
        Rate every clip is resampled to, in Hz.
    window_s, hop_s : float
        The model sees fixed windows of ``window_s`` seconds taken every ``hop_s``.
    feature : str
        The name of a front end in :data:`detector.frontends.FRONT_ENDS` (one of
        :data:`FEATURE_TYPES`); the front end says what the features are.
    n_fft, frame_length_s, frame_hop_s : int, float, float
        STFT size and analysis frame length/step.
    n_mels, n_lfcc, n_linear_filters : int
        Sizes for the mel and LFCC front ends.
    trim_top_db : float
        Leading/trailing parts quieter than this below the peak are trimmed.
    target_rms_dbfs : float
        Loudness every clip is normalised to before features.
    min_speech_s : float
        Clips with less sound than this after trimming are refused.
    max_duration_s : float
        Only this much of a longer clip is analysed (the user is told).
    window_norm : str
        One of :data:`WINDOW_NORMS`. The default stays ``"global"`` because models
        saved before the field existed were trained that way.
    """

    sample_rate: int = 16000
    window_s: float = 2.0
    hop_s: float = 1.0
    feature: str = "logspec"
    n_fft: int = 512
    frame_length_s: float = 0.025
    frame_hop_s: float = 0.010
    n_mels: int = 80
    n_lfcc: int = 40
    n_linear_filters: int = 70
    trim_top_db: float = 40.0
    target_rms_dbfs: float = -23.0
    min_speech_s: float = 1.0
    max_duration_s: float = ANALYSED_S
    window_norm: str = "global"

    def __post_init__(self) -> None:
        front_end(self.feature)  # raises ValueError for an unknown feature type
        if self.window_norm not in WINDOW_NORMS:
            raise ValueError(f"window_norm must be one of {WINDOW_NORMS}, got {self.window_norm!r}")
        if self.sample_rate < 4000 or self.window_s <= 0 or self.hop_s <= 0:
            raise ValueError("sample_rate must be >= 4000 and window_s, hop_s > 0")
        if self.frame_length_s * self.sample_rate > self.n_fft:
            raise ValueError("frame_length_s * sample_rate must not exceed n_fft")

    # Derived sizes -----------------------------------------------------------
    @property
    def frame_length(self) -> int:
        return int(round(self.frame_length_s * self.sample_rate))

    @property
    def frame_hop(self) -> int:
        return int(round(self.frame_hop_s * self.sample_rate))

    @property
    def window_frames(self) -> int:
        # Frames that fit in exactly one window of samples (no centre padding).
        return 1 + (self.window_samples - self.frame_length) // self.frame_hop

    @property
    def hop_frames(self) -> int:
        return int(round(self.hop_s / self.frame_hop_s))

    @property
    def window_samples(self) -> int:
        return int(round(self.window_s * self.sample_rate))

    @property
    def front_end(self) -> FrontEnd:
        """The front end that computes this configuration's features."""
        return front_end(self.feature)

    @property
    def n_bins(self) -> int:
        """Number of feature bins per frame (the model's second input axis)."""
        return self.front_end.n_bins(self)

    @property
    def spectrum_bins(self) -> int:
        """How many leading feature bins are spectrum (a frequency axis): EQ-able and drawable.

        0 when no bin is a frequency (LFCC); summary rows that follow the
        spectrum (``melfine``, ``melexc``) are not counted.
        """
        return self.front_end.spectrum_bins(self)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """Model input shape without the batch axis: (frames, bins, 1)."""
        return (self.window_frames, self.n_bins, 1)

    # Serialisation -----------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FeatureConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown feature settings: {sorted(unknown)}")
        return cls(**data)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> "FeatureConfig":
        return cls.from_dict(json.loads(Path(path).read_text()))

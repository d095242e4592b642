"""Everything after the network: window logits -> clip logit -> probability -> verdict band.

One :class:`Calibration` is saved with every model version (``calibration.json``)
and is the only code that turns model outputs into what a user reads, for the app,
the CLI, evaluation and the benchmarks alike. Training fits it on validation
(:mod:`train.calibrate`); nothing else re-implements a sigmoid, an aggregation or
a threshold.

>>> c = Calibration(scale=2.0, bias=-1.0, genuine_below=0.2, synthetic_above=0.8)
>>> c.clip_logit([0.0, 1.0, 2.0])
1.0
>>> round(float(c.probability(1.0)), 4)
0.7311
>>> c.verdict(0.7311)
'uncertain'
>>> c.decision_logit
0.5
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np

# How a clip's windows become one clip logit; the trainer picks one on validation.
AGGREGATIONS = ("mean_logit", "max_logit")
BANDS = ("likely_genuine", "uncertain", "likely_synthetic")


def sigmoid(x: np.ndarray | float) -> np.ndarray | float:
    """Logistic function, clipped so large logits never overflow ``exp``."""
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60.0, 60.0)))


def aggregate(window_logits: Sequence[float] | np.ndarray, how: str) -> float:
    """One clip logit from its window logits (``how`` in :data:`AGGREGATIONS`).

    Raises
    ------
    ValueError
        For an unknown aggregation or no windows at all.
    """
    logits = np.asarray(window_logits, dtype=np.float64).reshape(-1)
    if logits.size == 0:
        raise ValueError("a clip needs at least one window logit")
    if how == "mean_logit":
        return float(logits.mean())
    if how == "max_logit":
        return float(logits.max())
    raise ValueError(f"unknown aggregation {how!r}; expected one of {AGGREGATIONS}")


@dataclass(frozen=True)
class ClipBands:
    """The verdict edges that apply to one clip: its channel class's, or the version's single pair.

    An edge is ``None`` where no band was earned on the clip's class (issue 32): such a clip
    cannot get that verdict, whatever it scores. ``per_channel`` says whether the version's
    bands were earned per measured class at all (versions before issue 32 have one pair).
    """

    genuine_below: float | None
    synthetic_above: float | None
    channel: str
    per_channel: bool

    def verdict(self, p_synthetic: float) -> str:
        """The band of ``p_synthetic`` among the edges that exist (no edge: no such band)."""
        if self.synthetic_above is not None and p_synthetic >= self.synthetic_above:
            return "likely_synthetic"
        if self.genuine_below is not None and p_synthetic < self.genuine_below:
            return "likely_genuine"
        return "uncertain"


@dataclass
class Calibration:
    """Maps window logits to a calibrated probability of "synthetic" and a verdict band.

    ``p = sigmoid(scale * clip_logit + bias)`` (Platt scaling; ``method="none"`` with
    scale 1 and bias 0 is the raw model). Bands: ``p < genuine_below`` is likely
    genuine, ``p >= synthetic_above`` likely synthetic, anything between uncertain.

    Attributes
    ----------
    scale, bias : float
        Platt parameters; ``scale`` must be positive (a larger logit means more synthetic).
    genuine_below, synthetic_above : float
        Band edges on the probability, ``0 < genuine_below <= synthetic_above < 1``.
    method : str
        How the parameters were fitted (``"platt"`` or ``"none"``).
    aggregation : str
        One of :data:`AGGREGATIONS`.
    channel_bands : dict or None
        Edges earned per measured channel class (:mod:`detector.channel`): class ->
        ``{"genuine_below": float or None, "synthetic_above": float or None}``; ``None`` for
        versions whose bands were set on all their audio together.
    """

    scale: float = 1.0
    bias: float = 0.0
    genuine_below: float = 0.2
    synthetic_above: float = 0.8
    method: str = "none"
    aggregation: str = "mean_logit"
    channel_bands: dict[str, dict[str, float | None]] | None = None

    def __post_init__(self) -> None:
        if not 0.0 < self.genuine_below <= self.synthetic_above < 1.0:
            raise ValueError("calibration bands must satisfy 0 < genuine_below <= synthetic_above < 1")
        for channel, edges in (self.channel_bands or {}).items():
            low, high = edges.get("genuine_below"), edges.get("synthetic_above")
            if any(e is not None and not 0.0 < e < 1.0 for e in (low, high)) or (
                    low is not None and high is not None and low > high):
                raise ValueError(f"the {channel} bands must lie inside (0, 1) with genuine_below <= synthetic_above")
        if self.aggregation not in AGGREGATIONS:
            raise ValueError(f"unknown aggregation {self.aggregation!r}")
        if not self.scale > 0:
            raise ValueError("calibration scale must be positive (a larger logit means more synthetic)")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Calibration":
        """Read ``calibration.json`` content; unknown keys (reports, notes) are ignored."""
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    def to_dict(self) -> dict[str, Any]:
        """The content of ``calibration.json``; ``channel_bands`` only where the version has them."""
        content = asdict(self)
        if self.channel_bands is None:
            del content["channel_bands"]
        return content

    def clip_logit(self, window_logits: Sequence[float] | np.ndarray) -> float:
        """The clip logit of one clip's window logits, with this model's aggregation."""
        return aggregate(window_logits, self.aggregation)

    def probability(self, logits: np.ndarray | float) -> np.ndarray | float:
        """Calibrated probability of "synthetic" for clip (or window) logits."""
        return sigmoid(self.scale * np.asarray(logits, dtype=np.float64) + self.bias)

    def verdict(self, p_synthetic: float) -> str:
        """The verdict band (one of :data:`BANDS`) of a calibrated probability."""
        if p_synthetic >= self.synthetic_above:
            return "likely_synthetic"
        if p_synthetic < self.genuine_below:
            return "likely_genuine"
        return "uncertain"

    def bands_for(self, channel: str) -> ClipBands:
        """The edges for a clip of measured class ``channel``: its class's where the version has them.

        A class the version has no entry for gets no edges: nothing was earned on it.
        """
        if self.channel_bands is None:
            return ClipBands(self.genuine_below, self.synthetic_above, channel, per_channel=False)
        edges = self.channel_bands.get(channel, {})
        return ClipBands(edges.get("genuine_below"), edges.get("synthetic_above"), channel, per_channel=True)

    @property
    def decision_logit(self) -> float:
        """The clip logit where the calibrated probability crosses 0.5 (the deployed threshold)."""
        return -self.bias / self.scale

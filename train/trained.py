"""What one training run hands on: the fitted model and everything measured on the way.

Its own module so that :mod:`train.fit` (which makes it) and :mod:`train.publish`
(which writes it into the model store) depend on it, not on each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from detector.calibration import Calibration
from detector.config import FeatureConfig
from train.config import TrainConfig


@dataclass
class TrainedModel:
    """A trained Keras model, its calibration (``None`` when none was fitted) and everything measured on the way."""

    model: Any
    config: TrainConfig
    features: FeatureConfig
    calibration: Calibration | None
    calibration_report: dict[str, Any]
    history: list[dict[str, Any]]
    best_epoch: int
    val_eer: float
    timings: dict[str, float]
    counts: dict[str, Any] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def params(self) -> int:
        return int(self.model.count_params())

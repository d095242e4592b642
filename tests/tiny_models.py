"""Tiny random-weight model versions for tests, copied from committed LiteRT files.

The ``.tflite`` files in tests/fixtures/ come from tests/fixtures/make_tiny_models.py;
copying them costs no TensorFlow. The calibrations are deliberately not the
identity, so a scorer that skipped Platt scaling or the aggregation would be caught
(tests/test_scoring_independent.py).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from detector.calibration import Calibration
from detector.config import FeatureConfig
from detector.integrity import seal_folder

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TINY_CONFIG = FeatureConfig(feature="mel", n_mels=40)
EXC_CONFIG = FeatureConfig(feature="melexc", n_mels=40)

# Model v1 of the test store: mean of window logits; v2: max. Bands stay 0.3 / 0.7.
CALIBRATIONS = {
    "tiny-a": Calibration(scale=1.7, bias=-0.4, genuine_below=0.3, synthetic_above=0.7,
                          method="platt", aggregation="mean_logit"),
    "tiny-b": Calibration(scale=0.6, bias=0.25, genuine_below=0.3, synthetic_above=0.7,
                          method="platt", aggregation="max_logit"),
    "tiny-exc": Calibration(scale=1.3, bias=0.2, genuine_below=0.3, synthetic_above=0.7,
                            method="platt", aggregation="mean_logit"),
}


def tiny_version(folder: Path, model: str = "tiny-a", config: FeatureConfig | None = None,
                 calibration: Calibration | None = None, seal: bool = True) -> Path:
    """Write a complete model version whose model.tflite is the committed fixture ``model``.

    ``config`` must give the fixture's input shape (mel 40 for tiny-a/b, melexc 40 for
    tiny-exc); other settings (e.g. window_norm) may differ.
    """
    config = config or (EXC_CONFIG if model == "tiny-exc" else TINY_CONFIG)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(FIXTURES / f"{model}.tflite", folder / "model.tflite")
    config.save(folder / "features.json")
    calibration = calibration or CALIBRATIONS[model]
    (folder / "calibration.json").write_text(json.dumps(calibration.to_dict()))
    metrics = {"created": "2026-11-22T00:00:00+00:00", "test": {"eer": 0.5}}
    (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / "card.md").write_text(f"# Tiny test model {folder.name}\nRandom weights, for tests only.\n")
    if seal:
        seal_folder(folder)   # as publishing does: the registry refuses a version without its integrity record
    return folder

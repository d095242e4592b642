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


# Two fixture models with a cosine head (one-class softmax): the same network and Platt scaling,
# so the same score floor p(cosine -1) = 0.109; only the genuine edge differs. "clears" puts the
# edge above the floor, so it can say *likely genuine*; "cannot-clear" puts it below, as the shipped model.
FLOOR_CALIBRATIONS = {
    "clears": Calibration(scale=1.7, bias=-0.4, genuine_below=0.3, synthetic_above=0.7, method="platt"),
    "cannot-clear": Calibration(scale=1.7, bias=-0.4, genuine_below=0.1, synthetic_above=0.7, method="platt"),
}


def cosine_report(calibration: Calibration, version: str) -> dict:
    """A ``metrics.json`` with every figure the app words read: test bands, families, held-out folds."""
    can_clear = float(calibration.probability(-1.0)) < calibration.genuine_below
    band = {"share": 0.2 if can_clear else 0.0, "error": 0.01 if can_clear else None}
    rates = {"synthetic_called_genuine": 0.05, "genuine_called_synthetic": 0.02}
    return {
        "created": "2026-12-01T00:00:00+00:00", "version": version, "corpus": "data/corpus", "corpus_version": 3,
        "training": {"loss": "ocsoftmax", "recipe": "full"},
        "test": {"eer": 0.12, "n_genuine": 400, "n_synthetic": 600,
                 "bands": {"likely_genuine": band, "uncertain": {"share": 0.5},
                           "likely_synthetic": {"share": 0.3, "error": 0.02},
                           "synthetic_called_genuine": 0.004 if can_clear else 0.0,
                           "genuine_called_synthetic": 0.006}},
        "breakdown": {"family": {"formant": {"n_genuine": 400, "n_synthetic": 100, "eer": 0.04},
                                 "vocoder": {"n_genuine": 400, "n_synthetic": 100, "eer": 0.31}},
                      "source": {"sky": {"n_genuine": 400, "n_synthetic": 0, "eer": None}}},
        "heldout": {"mean_eer": 0.3, "mean_eer_by_protocol": {"family": 0.28},
                    "folds": {"family:vocoder": {"n_genuine": 400, "n_synthetic": 100, "eer": 0.4, "own_bands": rates},
                              "source:sky": {"n_genuine": 300, "n_synthetic": 100, "eer": 0.3, "own_bands": rates}}},
    }


def floor_version(folder: Path, kind: str) -> Path:
    """A version of tiny-a whose report and calibration make it ``kind`` ("clears" or "cannot-clear")."""
    calibration = FLOOR_CALIBRATIONS[kind]
    tiny_version(folder, "tiny-a", calibration=calibration, seal=False)
    (folder / "metrics.json").write_text(json.dumps(cosine_report(calibration, folder.name)))
    seal_folder(folder)   # after its report is written, as publishing does
    return folder

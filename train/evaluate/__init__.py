"""Evaluate a model version on the test split, exactly as the server scores it.

Every test clip is featurised through the serving feature path and scored by the
version's :class:`~detector.inference.Detector` (its LiteRT model and its
calibration), so the figures describe the model users get. This package computes;
it writes nothing: :func:`train.publish.write_evaluation` stores the results, and
``python -m train.evaluate`` (:mod:`train.evaluate.__main__`) re-evaluates a stored
version and runs the held-out protocols (:mod:`train.lofo`). The test split is
never used for stopping, calibration or model choice.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from detector.calibration import Calibration
from detector.config import FeatureConfig
from detector.errors import AudioError
from detector.inference import Detector
from detector.litert import LiteRTModel
from detector.metrics import auc, compute_eer, threshold_report
from detector.registry import load_folder
from train.calibrate import band_report
from train.dataset import compute_features

MIN_PER_CLASS = 5          # fewer clips of a class than this: a breakdown EER is not reported
BREAKDOWNS = ("family", "generator", "language", "condition", "source")
CLEAN_CONDITIONS = ("clean", "none", "(none)")
LATENCY_WINDOWS = 9        # a 10-s clip = 9 windows of 2 s every 1 s


def serving_latency_ms(model_path: str | Path, config: FeatureConfig, repeats: int = 20) -> float:
    """Median LiteRT time (2 threads) to score the 9 windows of a 10-s clip."""
    model = LiteRTModel(model_path, num_threads=2)
    windows = np.random.default_rng(0).standard_normal((LATENCY_WINDOWS, *config.input_shape)).astype(np.float32)
    times = []
    for _ in range(repeats + 2):
        started = time.perf_counter()
        model(windows)
        times.append(time.perf_counter() - started)
    return float(np.median(times[2:]) * 1000.0)


def load_detector(folder: str | Path) -> Detector:
    """The :class:`Detector` of a version folder (also a temporary one while publishing)."""
    return Detector(load_folder(folder))


def score_split(detector: Detector, frame: pd.DataFrame, split: str = "test") -> pd.DataFrame:
    """Score one split with a version's :class:`Detector` from the audio files (no cache).

    Returns the split's manifest rows that could be scored, with ``mean_logit``,
    ``max_logit``, ``logit`` (the deployed aggregation) and ``p_synthetic``.
    """
    rows = frame[frame["split"] == split].reset_index(drop=True)
    features, keep = [], []
    for path in rows["path"]:
        try:
            features.append(compute_features(path, detector.config))
            keep.append(True)
        except AudioError:
            keep.append(False)
    rows = rows[keep].reset_index(drop=True)
    scores = detector.score_features(features)
    for how, logits in scores.by_aggregation().items():
        rows[how] = logits
    rows["logit"], rows["p_synthetic"] = scores.clip_logits, scores.p_synthetic
    return rows


def split_metrics(labels: np.ndarray, logits: np.ndarray, calibration: Calibration) -> dict[str, Any]:
    """EER, AUC, metrics at the deployed threshold (p >= 0.5) and band shares for one split."""
    eer, threshold = compute_eer(labels, logits)
    at_deployed = threshold_report(labels, logits, calibration.decision_logit).to_dict()
    at_deployed.update(p_threshold=0.5)
    return {
        "eer": eer, "eer_threshold_logit": threshold,
        "eer_threshold_p": float(calibration.probability(threshold)),
        "auc": auc(labels, logits), "n_genuine": int(np.sum(labels == 0)), "n_synthetic": int(np.sum(labels == 1)),
        "at_deployed_threshold": at_deployed,
        "bands": band_report(calibration.probability(logits), labels, calibration),
    }


def group_eer(labels: np.ndarray, logits: np.ndarray) -> dict[str, Any]:
    """EER of one subset, or the reason it is not reported."""
    positives, negatives = int(np.sum(labels == 1)), int(np.sum(labels == 0))
    entry: dict[str, Any] = {"n_genuine": negatives, "n_synthetic": positives}
    if positives < MIN_PER_CLASS or negatives < MIN_PER_CLASS:
        entry["eer"] = None
        entry["note"] = f"fewer than {MIN_PER_CLASS} clips of a class"
    else:
        entry["eer"] = compute_eer(labels, logits)[0]
    return entry


def breakdown(scored: pd.DataFrame, column: str) -> dict[str, Any]:
    """EER per value of ``column``.

    ``family`` and ``generator`` describe synthetic clips only, so each synthetic
    group is scored against all genuine test clips; other columns (language,
    condition, source) are compared within the group.
    """
    result: dict[str, Any] = {}
    labels, logits = scored["y"].to_numpy(), scored["logit"].to_numpy()
    synthetic_only = column in ("family", "generator")
    for value in sorted(set(scored.loc[scored["y"] == 1 if synthetic_only else slice(None), column])):
        if synthetic_only:
            mask = (scored["y"] == 0) | ((scored["y"] == 1) & (scored[column] == value))
        else:
            mask = scored[column] == value
        result[str(value) or "(none)"] = group_eer(labels[mask.to_numpy()], logits[mask.to_numpy()])
    return result


def audit_summary(corpus: Path) -> dict[str, Any] | None:
    """The corpus shortcut-audit result (``audit.json``), with its EER lifted to the top if found."""
    path = corpus / "audit.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text())

    def find_eer(node: Any) -> float | None:
        if isinstance(node, dict):
            for key in ("eer", "test_eer", "audit_eer"):
                if isinstance(node.get(key), (int, float)):
                    return float(node[key])
            for value in node.values():
                found = find_eer(value)
                if found is not None:
                    return found
        return None

    return {"eer": find_eer(data), "details": data}


def condition_ratios(conditions: dict[str, Any]) -> dict[str, float]:
    """EER of each condition divided by the clean EER (the "<= 2x clean" target)."""
    clean = next((conditions[c]["eer"] for c in CLEAN_CONDITIONS if c in conditions), None)
    if clean is None:
        return {}
    floor = max(clean, 1e-3)  # a clean EER of 0 would make every ratio infinite
    return {c: v["eer"] / floor for c, v in conditions.items() if v.get("eer") is not None}


def evaluate_version(folder: str | Path, frame: pd.DataFrame, corpus: str | Path) -> tuple[dict[str, Any], pd.DataFrame]:
    """Test-split figures of the version in ``folder`` and its scored rows (nothing is written).

    Returns
    -------
    metrics : dict
        ``test``, ``breakdown``, ``condition_eer_ratio_to_clean``, ``audit``, ``calibration``,
        ``tflite_bytes`` and ``latency_ms_10s_clip`` entries of ``metrics.json``.
    scored : pd.DataFrame
        The test rows with their logits and probabilities (see :func:`score_split`).
    """
    folder = Path(folder)
    detector = load_detector(folder)
    scored = score_split(detector, frame, "test")
    labels, logits = scored["y"].to_numpy(), scored["logit"].to_numpy()
    metrics: dict[str, Any] = {"test": split_metrics(labels, logits, detector.calibration)}
    metrics["breakdown"] = {column: breakdown(scored, column) for column in BREAKDOWNS}
    metrics["condition_eer_ratio_to_clean"] = condition_ratios(metrics["breakdown"]["condition"])
    metrics["audit"] = audit_summary(Path(corpus))
    metrics["calibration"] = detector.calibration.to_dict()
    metrics["tflite_bytes"] = (folder / "model.tflite").stat().st_size
    metrics["latency_ms_10s_clip"] = serving_latency_ms(folder / "model.tflite", detector.config)
    return metrics, scored

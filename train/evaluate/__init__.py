"""Evaluate a model version on the test split, exactly as the server scores it.

Every test clip is featurised through the serving feature path and scored by the
version's :class:`~detector.inference.Detector` (its LiteRT model and its
calibration), so the figures describe the model users get. This package computes;
it writes nothing: :func:`train.publish.write_evaluation` stores the results in the
version's report (:mod:`detector.model_report`), and ``python -m train.evaluate``
(:mod:`train.evaluate.__main__`) re-evaluates a stored version and runs the held-out
protocols (:mod:`train.heldout`). The test split is
never used for stopping, calibration or model choice.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from detector.calibration import Calibration
from detector.errors import AudioError
from detector.inference import Detector
from detector.metrics import auc, compute_eer, threshold_report
from detector.model_report import (
    AuditFigures,
    GroupFigures,
    ModelReport,
    ServingFigures,
    TestFigures,
    ThresholdFigures,
    band_figures,
)
from detector.registry import load_folder
from detector.scoring import Scorer
from detector.typed_json import from_dict
from train.calibrate import band_report
from train.dataset import compute_features
from train.heldout import part_eer, part_masks

BREAKDOWNS = ("family", "generator", "language", "condition", "source")


def median_ms(call, repeats: int, warmup: int) -> float:
    """Median wall time of ``call()`` in milliseconds over ``repeats`` runs after ``warmup`` uncounted ones."""
    times = []
    for _ in range(warmup + repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return float(np.median(times[warmup:]) * 1000.0)


def serving_latency_ms(scorer: Scorer, repeats: int = 5) -> float:
    """Median time (2 threads) to score a 10-s clip with a version's scorer (:meth:`Scorer.timing_call`).

    A CNN version: its 9 windows through the model; an encoder version: log-mel, the encoder
    pass and the head. The first call plans the interpreter for this size: not counted.
    """
    return median_ms(scorer.timing_call(), repeats, warmup=1)


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


def validation_scores(folder: str | Path, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The version's calibrated probabilities and labels on its validation split: where held-out ranks land.

    Scored through the served :class:`Detector`, like the test split (:mod:`train.heldout`'s
    :func:`~train.heldout_bands.final_bands` and :func:`~train.heldout_bands.rates_at` read them).
    """
    scored = score_split(load_detector(folder), frame, "val")
    return scored["p_synthetic"].to_numpy(dtype=float), scored["y"].to_numpy(dtype=int)


def split_metrics(labels: np.ndarray, logits: np.ndarray, calibration: Calibration) -> TestFigures:
    """EER, AUC, figures at the deployed threshold (p >= 0.5) and band shares for one split."""
    eer, threshold = compute_eer(labels, logits)
    at_deployed = threshold_report(labels, logits, calibration.decision_logit).to_dict()
    return TestFigures(
        eer=float(eer), eer_threshold_p=float(calibration.probability(threshold)), auc=float(auc(labels, logits)),
        n_genuine=int(np.sum(labels == 0)), n_synthetic=int(np.sum(labels == 1)),
        at_deployed_threshold=from_dict(ThresholdFigures, at_deployed),
        bands=band_figures(band_report(calibration.probability(logits), labels, calibration)))


def group_figures(labels: np.ndarray, logits: np.ndarray) -> GroupFigures:
    """EER of one group of clips under the held-out minimum-clips rule, or the reason it is not reported."""
    eer, note = part_eer(labels, logits)
    return GroupFigures(n_genuine=int(np.sum(labels == 0)), n_synthetic=int(np.sum(labels == 1)), eer=eer, note=note)


def breakdown(scored: pd.DataFrame, column: str) -> dict[str, GroupFigures]:
    """EER per value of ``column``.

    ``family`` and ``generator`` describe synthetic clips only, so each synthetic
    group is scored against all genuine test clips ("a part against the rest",
    :func:`train.heldout.part_masks`); other columns (language, condition, source)
    are compared within the group.
    """
    result: dict[str, GroupFigures] = {}
    labels, logits = scored["y"].to_numpy(), scored["logit"].to_numpy()
    synthetic_only = column in ("family", "generator")
    for value in sorted(set(scored.loc[scored["y"] == 1 if synthetic_only else slice(None), column])):
        group = (scored[column] == value).to_numpy()
        if synthetic_only:
            genuine, synthetic = part_masks(labels == 1, group, genuine_part=False)
            group = genuine | synthetic
        result[str(value) or "(none)"] = group_figures(labels[group], logits[group])
    return result


def audit_figures(corpus: Path) -> AuditFigures | None:
    """The corpus shortcut audits (``audit.json``): the trivial-cue EER and the channel audit's, if found."""
    path = corpus / "audit.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    channel = data.get("channel_audit") or {}
    return AuditFigures(eer=data.get("eer"), channel_eer=channel.get("eer"),
                        channel_features=list(channel.get("features", [])), details=data)


def evaluate_version(folder: str | Path, frame: pd.DataFrame, corpus: str | Path) -> tuple[ModelReport, pd.DataFrame]:
    """Test-split figures of the version in ``folder`` and its scored rows (nothing is written).

    Returns
    -------
    figures : ModelReport
        Only ``test``, ``breakdown``, ``audit`` and ``serving`` are filled in.
    scored : pd.DataFrame
        The test rows with their logits and probabilities (see :func:`score_split`).
    """
    folder = Path(folder)
    detector = load_detector(folder)
    scored = score_split(detector, frame, "test")
    labels, logits = scored["y"].to_numpy(), scored["logit"].to_numpy()
    latency = serving_latency_ms(detector.scorer)   # an encoder version: the shared encoder's time too
    serving = ServingFigures(tflite_bytes=(folder / "model.tflite").stat().st_size, latency_ms_10s_clip=latency)
    figures = ModelReport(test=split_metrics(labels, logits, detector.calibration),
                          breakdown={column: breakdown(scored, column) for column in BREAKDOWNS},
                          audit=audit_figures(Path(corpus)), serving=serving)
    return figures, scored

"""Held-out protocols: retrain without part of the corpus, then score what the model never heard.

A journalist's question is "would it catch a synthesiser it has never heard, without
flagging real people it has never heard?". Each fold answers it for one part of the
corpus, removed from train AND validation (so neither stopping, calibration nor model
choice sees it):

* ``family:F`` -- leave one synthetic family out; its test clips against all genuine
  test clips.
* ``neural_vocoder:G`` -- leave one generator of the ``neural_vocoder`` family out (e.g.
  HiFi-GAN); the other stays in training.
* ``source:S`` -- leave one genuine recording source out, with the synthetic copies made
  from its recordings (they carry its channel); its genuine test clips against the
  synthetic test clips of every other source: false alarms on a source never heard.

Every fold reports its EER and, at the verdict bands its own calibration set on
validation, the share of held-out synthetic clips called *likely genuine* and of
held-out genuine clips called *likely synthetic*. The headline is the mean EER of the
family and source folds. ``python -m train.evaluate --heldout`` runs the folds; the
same :class:`Fold`, :func:`part_masks` and :func:`part_eer` serve :mod:`train.screen`
and :func:`train.evaluate.breakdown`, and :mod:`train.card` reads fold names through
:meth:`Fold.parse`. This module imports no TensorFlow: the trainer is passed in.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from detector.calibration import AGGREGATIONS, Calibration
from detector.metrics import compute_eer
from detector.model_report import BandEdges, BandRates, FoldEdges, FoldResult, FoldScores, HeldOutBands, HeldOutReport
from detector.vocabulary import NEURAL_VOCODER_FAMILY, PROTOCOLS
from train.calibrate import band_report, calibrate, edge_above, edge_below
from train.config import TrainConfig
from train.dataset import build_clipset, keras_predictor, score_clips
from train.events import ProgressLog
from train.trained import TrainedModel

HEADLINE_PROTOCOLS = ("family", "source")   # the mean held-out EER the card and README quote
# Verdict bands from held-out parts: at most this share of a fold's never-heard clips in a confident
# band of the wrong class (the confident-error target).
HELDOUT_BAND_ERROR = 0.02
MIN_PER_CLASS = 5    # fewer test clips of a class than this: a part's EER is not reported (folds, screen, breakdown)
# train.fit.train_model's signature; the caller hands it in, so folds, masks and summaries load no TensorFlow.
Trainer = Callable[..., TrainedModel]


@dataclass(frozen=True)
class Fold:
    """One held-out part of the corpus: ``protocol`` in :data:`PROTOCOLS`, ``held`` its name."""

    protocol: str
    held: str

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS or not self.held:
            raise ValueError(f"a held-out part is protocol:name with protocol in {PROTOCOLS}, e.g. family:formant; "
                             f"got {self.name!r}")

    @classmethod
    def parse(cls, name: str) -> "Fold":
        """The fold named ``protocol:held`` (e.g. ``family:formant``); ``held`` may itself contain colons."""
        protocol, _, held = name.partition(":")
        return cls(protocol, held)

    @property
    def name(self) -> str:
        return f"{self.protocol}:{self.held}"

    def held_rows(self, frame: pd.DataFrame) -> np.ndarray:
        """The rows this fold removes from training and validation."""
        if self.protocol == "family":
            rows = (frame["label"] == "synthetic") & (frame["family"] == self.held)
        elif self.protocol == NEURAL_VOCODER_FAMILY:
            rows = (frame["family"] == NEURAL_VOCODER_FAMILY) & (frame["generator"] == self.held)
        else:
            rows = frame["source"] == self.held
        return rows.to_numpy()

    def test_masks(self, test: pd.DataFrame, others: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(genuine, synthetic) rows of ``test`` this fold is scored on (see :func:`part_masks`)."""
        return part_masks((test["label"] == "synthetic").to_numpy(), self.held_rows(test), self.protocol == "source",
                          others)


def part_masks(synthetic: np.ndarray, part: np.ndarray, genuine_part: bool,
               others: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(genuine, synthetic) rows that score one part "against the rest"; ``synthetic`` marks each row's class.

    A synthetic part (a family, a generator) is scored against the genuine rows of
    ``others``; a genuine part (a recording source) is scored with its genuine rows
    against the synthetic rows of ``others``. ``others`` defaults to every row outside
    the part; a screen passes the rows no held part touched.
    """
    synthetic = np.asarray(synthetic, dtype=bool)
    genuine = ~synthetic
    rest = ~part if others is None else others
    if genuine_part:
        return genuine & part, synthetic & rest
    return genuine & rest, synthetic & part


def part_eer(labels: np.ndarray, logits: np.ndarray) -> tuple[float | None, str | None]:
    """EER of a part (labels 1 = synthetic), or ``None`` and why: the one minimum-clips rule."""
    positives, negatives = int(np.sum(labels == 1)), int(np.sum(labels == 0))
    if positives < MIN_PER_CLASS or negatives < MIN_PER_CLASS:
        return None, f"fewer than {MIN_PER_CLASS} clips of a class"
    return float(compute_eer(labels, logits)[0]), None


def available_folds(frame: pd.DataFrame, protocols: Iterable[str] = PROTOCOLS) -> list[Fold]:
    """Every fold the corpus can score: each class needs ``MIN_PER_CLASS`` test clips."""
    test = frame[frame["split"] == "test"]
    synthetic = frame[frame["label"] == "synthetic"]
    candidates = {
        "family": sorted(synthetic["family"].unique()),
        NEURAL_VOCODER_FAMILY: sorted(
            synthetic.loc[synthetic["family"] == NEURAL_VOCODER_FAMILY, "generator"].unique()),
        "source": sorted(frame.loc[frame["label"] == "genuine", "source"].unique()),
    }
    folds = []
    for protocol in protocols:
        if protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {protocol!r}; expected one of {PROTOCOLS}")
        for held in candidates[protocol]:
            fold = Fold(protocol, held)
            negatives, positives = fold.test_masks(test)
            if negatives.sum() >= MIN_PER_CLASS and positives.sum() >= MIN_PER_CLASS:
                folds.append(fold)
    return folds


def fold_calibration(trained: TrainedModel, predict: Callable[[np.ndarray], np.ndarray], frame: pd.DataFrame,
                     cache_root: str | Path) -> Calibration | None:
    """The fold model's calibration on its own validation clips, or ``None`` when it is no better than chance.

    A short fold recipe can leave validation at chance; its EER is still reported
    (it needs no calibration), only the confident-band rates are not.
    """
    val = frame[frame["split"] == "val"]
    clips, _ = build_clipset(val, trained.features, cache_root)
    try:
        calibration, _ = calibrate(score_clips(predict, clips.features, trained.features), clips.labels)
    except ValueError:
        return None
    return calibration


def heldout_edges(held: pd.DataFrame, trained: TrainedModel, predict: Callable[[np.ndarray], np.ndarray],
                  calibration: Calibration, cache_root: str | Path) -> FoldEdges:
    """Band edges that keep ``HELDOUT_BAND_ERROR`` of the fold's held-out TRAIN and VAL clips out of the wrong band.

    Those clips left training with the fold, so the fold model never heard them, and
    they are not test clips: bands chosen on them are not chosen on the test split.
    """
    clips, _ = build_clipset(held, trained.features, cache_root)
    if not len(clips):
        return FoldEdges(None, None, 0, 0)
    logits = score_clips(predict, clips.features, trained.features)[calibration.aggregation]
    p, labels = calibration.probability(logits), np.asarray(clips.labels)
    synthetic, genuine = p[labels == 1], p[labels == 0]
    return FoldEdges(
        genuine_below=edge_below(synthetic, HELDOUT_BAND_ERROR) if len(synthetic) >= MIN_PER_CLASS else None,
        synthetic_above=edge_above(genuine, HELDOUT_BAND_ERROR) if len(genuine) >= MIN_PER_CLASS else None,
        genuine_clips=int(len(genuine)), synthetic_clips=int(len(synthetic)))


def run_fold(frame: pd.DataFrame, fold: Fold, config: TrainConfig, cache_root: str | Path, log: ProgressLog,
             train_model: Trainer) -> FoldResult:
    """Retrain without ``fold``'s part with ``train_model``, calibrate on what validation has left, score the fold."""
    started = time.monotonic()
    held = fold.held_rows(frame) & frame["split"].isin(["train", "val"]).to_numpy()
    seen = frame[~held].reset_index(drop=True)
    trained = train_model(seen, config, cache_root, log, calibrated=False)
    predict = keras_predictor(trained.model)   # one compiled forward pass for validation and test
    calibration = fold_calibration(trained, predict, seen, cache_root)
    test = frame[frame["split"] == "test"].reset_index(drop=True)
    negatives, positives = fold.test_masks(test)
    clips, errors = build_clipset(test[negatives | positives].reset_index(drop=True), trained.features, cache_root)
    logits = score_clips(predict, clips.features, trained.features)
    aggregation = calibration.aggregation if calibration else AGGREGATIONS[0]
    labels = np.asarray(clips.labels)
    eer, note = part_eer(labels, logits[aggregation])
    result = FoldResult(n_genuine=int(np.sum(labels == 0)), n_synthetic=int(np.sum(labels == 1)), eer=eer, note=note,
                        aggregation=aggregation, skipped_clips=len(errors), val_eer_seen=trained.val_eer,
                        epochs_run=trained.counts["epochs_run"], train_s=round(time.monotonic() - started, 1))
    if calibration is None:
        return replace(result, note="validation at chance: no calibration, no verdict bands")
    probabilities = np.asarray(calibration.probability(logits[aggregation]), dtype=float)
    bands = band_report(probabilities, labels, calibration)
    return replace(result,
                   own_bands=BandRates(bands["synthetic_called_genuine"], bands["genuine_called_synthetic"]),
                   band_edges=heldout_edges(frame[held].reset_index(drop=True), trained, predict, calibration,
                                            cache_root),
                   scores=FoldScores([round(float(x), 6) for x in probabilities], [int(x) for x in labels]))


def heldout_bands(folds: dict[str, FoldResult]) -> HeldOutBands | None:
    """The strictest edges over the folds: every fold kept its never-heard clips within the allowed error."""
    edges = [v.band_edges for v in folds.values() if v.band_edges is not None]
    below = [e.genuine_below for e in edges if e.genuine_below is not None]
    above = [e.synthetic_above for e in edges if e.synthetic_above is not None]
    if not below or not above:
        return None
    return HeldOutBands(genuine_below=min(below), synthetic_above=max(above), max_error=HELDOUT_BAND_ERROR,
                        folds=len(edges))


def rates_at(report: HeldOutReport, calibration: Calibration) -> HeldOutReport:
    """Every fold's confident errors at ``calibration``'s bands (the shipped ones), through :func:`band_report`.

    The rates are measured with each fold model's probabilities: the shipped model
    heard every part. Folds whose scores were not kept (results stored before
    scores were) get ``None``: a rate at other edges would be a different figure.
    """
    folds = {}
    for name, fold in report.folds.items():
        rates = None
        if fold.scores is not None:
            bands = band_report(np.asarray(fold.scores.probabilities), np.asarray(fold.scores.labels), calibration)
            rates = BandRates(bands["synthetic_called_genuine"], bands["genuine_called_synthetic"])
        folds[name] = replace(fold, at_shipped_bands=rates)
    return replace(report, folds=folds,
                   rates_measured_at=BandEdges(calibration.genuine_below, calibration.synthetic_above))


def has_scores(report: HeldOutReport) -> bool:
    """Whether any fold kept its scores (results stored before they were cannot be rescored at new bands)."""
    return any(fold.scores is not None for fold in report.folds.values())


def summarise(folds: dict[str, FoldResult], **recipe: Any) -> HeldOutReport:
    """Mean held-out EER (family and source folds together), per protocol, worst fold and held-out bands.

    ``recipe`` fills the report's record of how the folds were trained (``epochs``,
    ``max_minutes``, ``arch``, ``feature``, ``recipe``). Everything here is computed
    over all of ``folds``, so a rerun of some folds recomputes it whole.
    """
    def eers(protocols: Iterable[str]) -> list[float]:
        return [v.eer for k, v in folds.items() if Fold.parse(k).protocol in protocols and v.eer is not None]

    headline = eers(HEADLINE_PROTOCOLS)
    measured = {k: v.eer for k, v in folds.items() if v.eer is not None}
    return HeldOutReport(
        folds=dict(sorted(folds.items())),
        mean_eer=float(np.mean(headline)) if headline else None,
        mean_eer_by_protocol={p: float(np.mean(eers([p]))) for p in PROTOCOLS if eers([p])},
        worst_fold=max(measured, key=measured.get) if measured else None,
        bands=heldout_bands(folds), **recipe)


def run_heldout(frame: pd.DataFrame, config: TrainConfig, cache_root: str | Path, run_dir: str | Path,
                train_model: Trainer, folds: list[Fold] | None = None, epochs: int | None = None,
                max_minutes: float | None = None, quiet: bool = False, previous: HeldOutReport | None = None,
                recipe: str | None = None) -> HeldOutReport:
    """Run the held-out folds (default: every available one) and summarise them.

    Parameters
    ----------
    frame : pd.DataFrame
        The corpus manifest.
    config : TrainConfig
        The recipe to retrain with; ``epochs``/``max_minutes`` shorten it for the folds.
    train_model : callable
        :func:`train.fit.train_model` (passed in, so this module never loads TensorFlow).
    folds : list of Fold, optional
        The folds to run; results of other folds in ``previous`` (the version's
        stored held-out report) are kept, and everything computed across folds
        (means, bands) is recomputed over all of them.
    recipe : str, optional
        Where ``config`` came from, for the record.

    Returns
    -------
    HeldOutReport
        Without rates at the shipped bands: those need the version's final bands
        (:func:`rates_at`, once the bands are applied).
    """
    folds = folds if folds is not None else available_folds(frame)
    fold_config = replace(config, epochs=epochs or config.epochs,
                          max_minutes=max_minutes if max_minutes is not None else config.max_minutes)
    results = dict(previous.folds) if previous is not None else {}
    for fold in folds:
        log = ProgressLog(Path(run_dir) / fold.name.replace(":", "-"), quiet=quiet)
        results[fold.name] = run_fold(frame, fold, fold_config, cache_root, log, train_model)
        log.event("done", fold=fold.name, eer=results[fold.name].eer)
    return summarise(results, epochs=fold_config.epochs, max_minutes=fold_config.max_minutes, arch=config.arch,
                     feature=config.feature, recipe=recipe)


def parse_folds(frame: pd.DataFrame, names: list[str] | None, protocols: list[str] | None) -> list[Fold]:
    """Folds from ``protocol:held`` names and/or whole protocols (default: everything available)."""
    chosen = available_folds(frame, protocols or PROTOCOLS)
    if names:
        known = {f.name: f for f in available_folds(frame)}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"unknown fold(s) {unknown}; this corpus has {sorted(known)}")
        chosen = [known[n] for n in names]
    return chosen

"""A model version's report (``metrics.json``), typed: what it was trained on and how well it did.

The trainer writes it (:mod:`train.publish` for training, test and serving figures,
:mod:`train.heldout` for the held-out folds); the card, the app's sidebar facts,
the job view, the plots and the registry read it. Everyone goes through these
dataclasses, so a renamed field fails loudly instead of silently reading as "not
measured", and a figure nobody measured is an explicit ``None``.

It lives in :mod:`detector` because both ``train`` and ``webapp`` may import it.

Example
-------
>>> from detector.model_report import load
>>> report = load("model_store/20261130-0747-effnet-melexc")   # doctest: +SKIP
>>> report.test.eer, report.heldout.mean_eer                    # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from detector.files import atomic_write_bytes, atomic_write_text
from detector.heldout_report import SCORES_FILE, BandRates, FoldScores, HeldOutReport, with_scores, without_scores
from detector.typed_json import from_dict

FILE_NAME = "metrics.json"


@dataclass(frozen=True)
class GroupFigures:
    """EER of one group of test clips (a family, condition, source... or a held-out fold)."""

    n_genuine: int
    n_synthetic: int
    eer: float | None = None     # None: too few clips of a class (see ``note``)
    note: str | None = None


@dataclass(frozen=True)
class Band:
    """One verdict band on a split: its share of the clips and, for a confident band, its error."""

    share: float
    error: float | None = None   # share of the band's clips that belong to the other class; None for "uncertain"


@dataclass(frozen=True)
class BandFigures:
    """The three verdict bands on a split, and the per-class confident errors."""

    likely_genuine: Band
    uncertain: Band
    likely_synthetic: Band
    synthetic_called_genuine: float
    genuine_called_synthetic: float

    @property
    def rates(self) -> BandRates:
        return BandRates(self.synthetic_called_genuine, self.genuine_called_synthetic)


@dataclass(frozen=True)
class ThresholdFigures:
    """Figures at the deployed decision threshold (calibrated probability 0.5)."""

    threshold: float
    confusion_matrix: list[list[int]]
    accuracy: float
    precision: float
    recall: float
    f1: float


@dataclass(frozen=True)
class TestFigures:
    """The test split, scored exactly as the server scores it."""

    __test__ = False   # a dataclass, not a pytest test class

    eer: float | None = None
    eer_threshold_p: float | None = None
    auc: float | None = None
    n_genuine: int | None = None
    n_synthetic: int | None = None
    at_deployed_threshold: ThresholdFigures | None = None
    bands: BandFigures | None = None
    # The corpus of this test split; None: the training corpus (reports from before Admin's re-score).
    corpus: str | None = None
    corpus_version: int | None = None


@dataclass(frozen=True)
class ValidationFigures:
    """The validation split: where the epoch, the aggregation and the calibration were chosen."""

    eer: float | None = None
    eer_by_aggregation: dict[str, float] = field(default_factory=dict)
    aggregation: str | None = None
    bands: BandFigures | None = None


@dataclass(frozen=True)
class TrainingFigures:
    """How the model was trained: recipe, epochs, times and the per-epoch history."""

    recipe: str | None = None
    loss: str | None = None
    epochs: int | None = None
    epochs_run: int | None = None
    best_epoch: int | None = None
    stop_reason: str | None = None
    fit_s: float | None = None
    features_s: float | None = None
    train_windows_per_s: float | None = None
    train_clips: int | None = None
    val_clips: int | None = None
    steps_per_epoch: int | None = None
    skipped_clips: int | None = None
    history: list[dict[str, Any]] = field(default_factory=list)   # one progress event per epoch, as logged


@dataclass(frozen=True)
class AuditFigures:
    """The corpus shortcut audits: can trivial cues (level, duration...) or the channel tell the classes apart?"""

    eer: float | None = None
    channel_eer: float | None = None
    channel_features: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)   # the corpus's audit.json as it was


@dataclass(frozen=True)
class ServingFigures:
    """What serving the model costs."""

    tflite_bytes: int | None = None
    latency_ms_10s_clip: float | None = None   # LiteRT, 2 threads, the 9 windows of a 10-s clip


@dataclass(frozen=True)
class PlotFiles:
    """One evaluation figure, paths relative to the version folder."""

    png: str
    plotly: str


@dataclass(frozen=True)
class ModelReport:
    """Everything measured about one model version (the content of ``metrics.json``)."""

    created: str | None = None
    version: str | None = None
    corpus: str | None = None
    corpus_version: int | None = None
    arch: str | None = None
    feature: str | None = None
    window_norm: str | None = None
    feature_code: dict[str, int] | None = None   # None: saved before the skew guard existed
    params: int | None = None
    training: TrainingFigures | None = None
    validation: ValidationFigures | None = None
    test: TestFigures | None = None
    breakdown: dict[str, dict[str, GroupFigures]] = field(default_factory=dict)   # column -> group -> figures
    audit: AuditFigures | None = None
    serving: ServingFigures | None = None
    plots: dict[str, PlotFiles] = field(default_factory=dict)
    heldout: HeldOutReport | None = None

    def replace(self, **changes: Any) -> "ModelReport":
        """A copy with ``changes`` (the report is immutable)."""
        return dataclasses.replace(self, **changes)


def to_dict(report: ModelReport) -> dict[str, Any]:
    """The JSON content of ``report`` (every field, ``None`` included, so missing data reads as missing)."""
    return dataclasses.asdict(report)


def load(version_dir: str | Path) -> ModelReport:
    """The report of the version in ``version_dir``; an empty one when it has no ``metrics.json``.

    The folds' scores, where the version has them, are read back from :data:`SCORES_FILE`.

    Raises
    ------
    ValueError
        The file exists but is not valid JSON of this shape, or the scores file is damaged.
    """
    path = Path(version_dir) / FILE_NAME
    if not path.is_file():
        return ModelReport()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"{FILE_NAME} is not valid JSON ({type(exc).__name__})") from exc
    try:
        report = from_dict(ModelReport, data)
    except (TypeError, AttributeError, RecursionError) as exc:   # a field of the wrong JSON kind
        raise ValueError(f"{FILE_NAME} does not have the report's shape ({exc})") from exc
    scores_path = Path(version_dir) / SCORES_FILE
    if report.heldout is None or not scores_path.is_file():
        return report
    try:
        stored = json.loads(gzip.decompress(scores_path.read_bytes()).decode("utf-8"))
        scores = {name: from_dict(FoldScores, value) for name, value in stored.items()}
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError, TypeError, AttributeError) as exc:
        raise ValueError(f"{SCORES_FILE} is damaged ({type(exc).__name__})") from exc
    return report.replace(heldout=with_scores(report.heldout, scores))


def save(version_dir: str | Path, report: ModelReport) -> Path:
    """Write ``metrics.json`` (and the folds' scores, compressed, beside it) atomically, readable by the app."""
    scores: dict[str, FoldScores] = {}
    if report.heldout is not None:
        heldout, scores = without_scores(report.heldout)
        report = report.replace(heldout=heldout)
    if scores:
        text = json.dumps({name: dataclasses.asdict(value) for name, value in scores.items()}, default=float)
        atomic_write_bytes(Path(version_dir) / SCORES_FILE, gzip.compress(text.encode("utf-8"), mtime=0), mode=0o644)
    # numpy scalars in the logged history become plain numbers
    text = json.dumps(to_dict(report), indent=2, default=float) + "\n"
    return atomic_write_text(Path(version_dir) / FILE_NAME, text, mode=0o644)


def band_figures(report: dict[str, Any]) -> BandFigures:
    """:class:`BandFigures` from :func:`train.calibrate.band_report`'s dict (its clip counts are not kept)."""
    genuine, uncertain, synthetic = report["likely_genuine"], report["uncertain"], report["likely_synthetic"]
    return BandFigures(likely_genuine=Band(genuine["share"], genuine["error"]), uncertain=Band(uncertain["share"]),
                       likely_synthetic=Band(synthetic["share"], synthetic["error"]),
                       synthetic_called_genuine=report["synthetic_called_genuine"],
                       genuine_called_synthetic=report["genuine_called_synthetic"])

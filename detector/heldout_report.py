"""The held-out part of a version's report, typed: folds, their edges and scores, and the bands they set.

:mod:`train.heldout` (the one fold engine) and :mod:`train.channel_bands` (bands per measured
channel class) fill it; :class:`detector.model_report.ModelReport` holds it under ``heldout``.
Apart from the rest of the report because it is the part issue 32 keeps growing: the folds
crossed with channel classes, and the scores that let a band be recomputed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class BandRates:
    """Per-class confident errors: the share of each class called confidently the other."""

    synthetic_called_genuine: float
    genuine_called_synthetic: float


@dataclass(frozen=True)
class BandEdges:
    """Verdict band edges in calibrated probability: likely genuine below, likely synthetic at or above."""

    genuine_below: float
    synthetic_above: float


@dataclass(frozen=True)
class FoldEdges:
    """Edges one fold's never-heard train and validation clips allow (``None``: too few clips of the class).

    The edges are in the fold model's calibrated probability; the ranks place them among the
    fold model's own validation clips (the share of its genuine validation clips below
    ``genuine_below``, of its synthetic ones below ``synthetic_above``). Ranks carry an edge
    from one model to another (:mod:`train.heldout`); reports from before ranks have ``None``.
    """

    genuine_below: float | None
    synthetic_above: float | None
    genuine_clips: int
    synthetic_clips: int
    genuine_rank: float | None = None
    synthetic_rank: float | None = None


@dataclass(frozen=True)
class ChannelRates:
    """One fold's never-heard test clips of one channel class: counts, EER and confident errors at given edges.

    A rate is ``None`` where the class has fewer than the minimum clips of the class it counts
    (:data:`train.heldout_bands.MIN_PER_CLASS`), or no edge of that kind applies to the class.
    """

    n_genuine: int
    n_synthetic: int
    eer: float | None = None
    synthetic_called_genuine: float | None = None
    genuine_called_synthetic: float | None = None


@dataclass(frozen=True)
class ChannelBand:
    """The verdict edges earned on one channel class, or why an edge was not (``None`` and a note).

    The ranks are where the edges were set (strictest over the folds, :mod:`train.channel_bands`);
    an edge the folds' test clips withdrew keeps its rank, so the fold × class figures show why,
    and has no value.
    """

    genuine_below: float | None
    synthetic_above: float | None
    genuine_rank: float | None = None
    synthetic_rank: float | None = None
    note: str | None = None


@dataclass(frozen=True)
class HeldScores:
    """A fold model's probabilities on its part's never-heard TRAIN and VALIDATION clips (they set edges).

    ``channels`` is each clip's measured class and ``halves`` the half (0 or 1) its speaker was
    drawn into, so an edge set on one half of the speakers can be checked on the other.
    """

    probabilities: list[float]
    labels: list[int]
    channels: list[str]
    halves: list[int]


@dataclass(frozen=True)
class FoldScores:
    """A fold model's calibrated probabilities and labels (1 = synthetic) on the fold's test clips.

    ``val_genuine`` and ``val_synthetic`` are its probabilities on its own validation clips of
    each class: where a rank lies in this model's scale (empty in reports from before ranks).
    """

    probabilities: list[float]
    labels: list[int]
    val_genuine: list[float] = field(default_factory=list)
    val_synthetic: list[float] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)   # each test clip's measured class (empty: not measured)
    held: HeldScores | None = None                       # never-heard train and validation clips (with classes)


@dataclass(frozen=True)
class FoldResult:
    """One held-out fold: the part left out of training, scored by the model retrained without it."""

    n_genuine: int
    n_synthetic: int
    eer: float | None = None
    note: str | None = None
    aggregation: str | None = None
    own_bands: BandRates | None = None          # at the bands the fold model's own validation set
    band_edges: FoldEdges | None = None
    at_shipped_bands: BandRates | None = None   # at the edges in HeldOutReport.rates_measured_at
    val_eer_seen: float | None = None
    epochs_run: int | None = None
    train_s: float | None = None
    skipped_clips: int | None = None
    scores: FoldScores | None = None            # kept so a rerun of other folds can recompute the rates
    channel_edges: dict[str, FoldEdges] = field(default_factory=dict)   # class -> edges its never-heard clips allow
    at_shipped_by_channel: dict[str, ChannelRates] = field(default_factory=dict)   # class -> test figures


@dataclass(frozen=True)
class HeldOutBands:
    """The strictest edges over the folds, with the error every fold kept within.

    ``genuine_rank`` and ``synthetic_rank`` are the strictest ranks (:class:`FoldEdges`);
    ``genuine_below`` and ``synthetic_above`` are those ranks in the final model's own
    validation scores. An edge is ``None`` when no fold had enough never-heard clips of the
    class to set it: validation's edge then stands alone. Reports from before ranks have
    ``None`` ranks and edges that were the fold models' probabilities themselves.
    """

    genuine_below: float | None
    synthetic_above: float | None
    max_error: float
    folds: int
    genuine_rank: float | None = None
    synthetic_rank: float | None = None
    by_channel: dict[str, ChannelBand] = field(default_factory=dict)   # measured class -> its own edges


@dataclass(frozen=True)
class HeldOutReport:
    """Every held-out fold and their summary."""

    folds: dict[str, FoldResult] = field(default_factory=dict)   # "protocol:held" -> result
    mean_eer: float | None = None                                 # family and source folds together
    mean_eer_by_protocol: dict[str, float] = field(default_factory=dict)
    worst_fold: str | None = None
    bands: HeldOutBands | None = None
    rates_measured_at: BandEdges | None = None                    # the edges of every fold's at_shipped_bands
    ranks_measured_at: BandEdges | None = None                    # those edges as ranks of the final validation
    epochs: int | None = None
    max_minutes: float | None = None
    arch: str | None = None
    feature: str | None = None
    recipe: str | None = None


# The folds' scores (test, validation and never-heard clips of every fold) are most of a report's bytes:
# they live beside metrics.json, compressed, so a committed version stays small.
SCORES_FILE = "heldout_scores.json.gz"


def without_scores(report: HeldOutReport) -> tuple[HeldOutReport, dict[str, FoldScores]]:
    """``report`` with every fold's scores taken out, and those scores by fold name."""
    scores = {name: fold.scores for name, fold in report.folds.items() if fold.scores is not None}
    folds = {name: replace(fold, scores=None) for name, fold in report.folds.items()}
    return replace(report, folds=folds), scores


def with_scores(report: HeldOutReport, scores: dict[str, FoldScores]) -> HeldOutReport:
    """``report`` with the scores :func:`without_scores` took out put back (folds without any keep ``None``)."""
    unknown = sorted(set(scores) - set(report.folds))
    if unknown:
        raise ValueError(f"{SCORES_FILE} holds scores of folds the report does not have: {unknown}")
    return replace(report, folds={name: replace(fold, scores=scores.get(name, fold.scores))
                                  for name, fold in report.folds.items()})

"""What one model version can and cannot say, and every rate with what it was measured on.

The one set of facts the app's words are built from: the sidebar, the verdict
sentences, the *uncertain* advice, the timeline and histogram bands, the report,
Learn's comments, Batch and Admin all read a :class:`ModelFacts`. It is derived
from the typed report (:mod:`detector.model_report`) and the served
:class:`~detector.calibration.Calibration`, never typed in by hand, so a model that
can clear a clip gets *likely genuine* words and a green band automatically and a
model that cannot gets neither.

Example
-------
>>> from detector.registry import ModelRegistry
>>> facts = facts_of(ModelRegistry("model_store").active())      # doctest: +SKIP
>>> facts.can_clear, round(facts.floor, 3)                        # doctest: +SKIP
(False, 0.189)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from detector.calibration import Calibration
from detector.heldout_report import HeldOutReport
from detector.model_report import ModelReport
from detector.registry import ModelVersion

# A clip this close (in probability) to the model's lowest possible score is "at the floor":
# nothing in it looked synthetic to the model.
FLOOR_MARGIN = 0.02
COSINE_LOSSES = ("ocsoftmax",)   # heads whose score is a cosine in [-1, 1]: the probability is bounded
FOLDS_OWN_BANDS = "fold models at their own bands"


@dataclass(frozen=True)
class MeasuredRate:
    """A rate and the words for what it was measured on (``value`` ``None``: not measured)."""

    value: float | None
    measured_on: str

    def text(self, decimals: int = 1) -> str:
        """``"23.1 % (test split, corpus v2, 1091 clips)"``, or ``"not measured"``."""
        if self.value is None:
            return "not measured"
        return f"{self.value * 100:.{decimals}f} % ({self.measured_on})"


@dataclass(frozen=True)
class BandSpan:
    """One verdict band as drawn: the scores from ``low`` to ``high`` give ``verdict``."""

    verdict: str
    low: float
    high: float


def score_floor(report: ModelReport, calibration: Calibration) -> float | None:
    """The lowest p(synthetic) the network can give (``None``: its score is unbounded below).

    A cosine head (one-class softmax) scores in [-1, 1]; the calibrated probability
    of a cosine of -1 is the floor.
    """
    training = report.training
    if training is None or training.loss not in COSINE_LOSSES:
        return None
    return float(calibration.probability(-1.0))


def score_ceiling(report: ModelReport, calibration: Calibration) -> float | None:
    """The highest p(synthetic) the network can give (``None``: unbounded above)."""
    training = report.training
    if training is None or training.loss not in COSINE_LOSSES:
        return None
    return float(calibration.probability(1.0))


@dataclass(frozen=True)
class ModelFacts:
    """Everything the app says about one model version, each rate with where it was measured.

    Attributes
    ----------
    version : str
        The version's name.
    genuine_below, synthetic_above : float
        The served band edges (calibrated probability).
    floor, ceiling : float or None
        The lowest and highest probability the model can give (``None``: unbounded).
    corpus, corpus_version, test_clips :
        The training corpus, and the corpus version and size of the test split the test figures come from.
    test_eer : MeasuredRate
        Test EER.
    heldout_eer, unseen_synthesiser_eer : MeasuredRate
        Mean EER of all held-out folds, and of the synthesiser-family folds alone.
    test_false_alarms, test_missed : MeasuredRate
        Share of genuine test clips called *likely synthetic*, and of synthetic ones called *likely
        genuine* (``None`` when the model cannot say *likely genuine*: no such rate exists).
    likely_genuine_share : MeasuredRate
        Share of test clips called *likely genuine*.
    unseen_missed : MeasuredRate
        The largest share of a never-heard synthesiser kind's fakes that scored in the green band
        (held-out folds): what *likely genuine* can promise about synthesisers outside training.
    family_eer : dict
        Test EER per synthetic family.
    """

    version: str
    genuine_below: float
    synthetic_above: float
    floor: float | None = None
    ceiling: float | None = None
    corpus: str | None = None
    corpus_version: int | None = None
    test_clips: int | None = None
    test_eer: MeasuredRate = MeasuredRate(None, "")
    heldout_eer: MeasuredRate = MeasuredRate(None, "")
    unseen_synthesiser_eer: MeasuredRate = MeasuredRate(None, "")
    test_false_alarms: MeasuredRate = MeasuredRate(None, "")
    test_missed: MeasuredRate = MeasuredRate(None, "")
    likely_genuine_share: MeasuredRate = MeasuredRate(None, "")
    unseen_missed: MeasuredRate = MeasuredRate(None, "")
    family_eer: dict[str, float] = field(default_factory=dict)

    @property
    def can_clear(self) -> bool:
        """Whether any clip can score *likely genuine* (the floor lies below the genuine edge)."""
        return self.floor is None or self.floor < self.genuine_below

    @property
    def can_flag(self) -> bool:
        """Whether any clip can score *likely synthetic* (the ceiling reaches the synthetic edge)."""
        return self.ceiling is None or self.ceiling >= self.synthetic_above

    @property
    def reachable(self) -> tuple[str, ...]:
        """The verdict bands a clip can land in, from genuine to synthetic."""
        return tuple(band for band, ok in (("likely_genuine", self.can_clear), ("uncertain", True),
                                           ("likely_synthetic", self.can_flag)) if ok)

    @property
    def lowest(self) -> float:
        """The lowest score a clip can get (0 when unbounded)."""
        return 0.0 if self.floor is None else self.floor

    @property
    def highest(self) -> float:
        """The highest score a clip can get (1 when unbounded)."""
        return 1.0 if self.ceiling is None else self.ceiling

    def band_spans(self) -> list[BandSpan]:
        """The reachable bands as drawn: nothing below the floor or above the ceiling is shaded."""
        spans = [BandSpan("likely_genuine", self.lowest, self.genuine_below),
                 BandSpan("uncertain", max(self.lowest, self.genuine_below), min(self.highest, self.synthetic_above)),
                 BandSpan("likely_synthetic", self.synthetic_above, self.highest)]
        return [span for span in spans if span.verdict in self.reachable and span.high > span.low]

    def at_floor(self, p_synthetic: float) -> bool:
        """Whether ``p_synthetic`` is (within :data:`FLOOR_MARGIN` of) the lowest score, for a model that cannot clear."""
        return not self.can_clear and p_synthetic - self.lowest <= FLOOR_MARGIN

    def scores_like_genuine(self, p_synthetic: float) -> bool:
        """Whether a score is as genuine as this model gets: *likely genuine*, or at the floor."""
        return p_synthetic < self.genuine_below or self.at_floor(p_synthetic)


def test_corpus_version(report: ModelReport) -> int | None:
    """The corpus version of the test split the test figures come from (a re-score's, else training's)."""
    if report.test is not None and report.test.corpus_version is not None:
        return report.test.corpus_version
    return report.corpus_version


def _test_place(report: ModelReport) -> str:
    """``"test split, corpus v2, 1091 clips"`` (the parts that are known)."""
    parts = ["test split"]
    version = test_corpus_version(report)
    if version is not None:
        parts.append(f"corpus v{version}")
    elif report.corpus:
        # train.publish records no version for corpus v1 (before versions) or a user's own dataset.
        parts.append(f"corpus {report.corpus} (version not recorded)")
    test = report.test
    if test is not None and test.n_genuine is not None and test.n_synthetic is not None:
        parts.append(f"{test.n_genuine + test.n_synthetic} clips")
    return ", ".join(parts)


def facts_from(name: str, report: ModelReport, calibration: Calibration) -> ModelFacts:
    """The facts of a version from its report and the calibration it serves with."""
    test, heldout = report.test, report.heldout
    bands = test.bands if test else None
    place = _test_place(report)
    floor = score_floor(report, calibration)
    held_words = "held-out folds, each scored by a model retrained without it"
    unseen = heldout.mean_eer_by_protocol.get("family") if heldout else None
    can_clear = floor is None or floor < calibration.genuine_below
    return ModelFacts(
        version=name, genuine_below=calibration.genuine_below, synthetic_above=calibration.synthetic_above,
        floor=floor, ceiling=score_ceiling(report, calibration),
        corpus=report.corpus, corpus_version=test_corpus_version(report),
        test_clips=None if test is None or test.n_genuine is None or test.n_synthetic is None
        else test.n_genuine + test.n_synthetic,
        test_eer=MeasuredRate(test.eer if test else None, place),
        heldout_eer=MeasuredRate(heldout.mean_eer if heldout else None, held_words),
        unseen_synthesiser_eer=MeasuredRate(unseen, "held-out synthesiser families, each scored by a model "
                                                    "retrained without it"),
        test_false_alarms=MeasuredRate(bands.genuine_called_synthetic if bands else None,
                                       f"genuine clips of the {place}"),
        # A rate of a band this model cannot reach is no rate at all: it is not printed.
        test_missed=MeasuredRate(bands.synthetic_called_genuine if bands and can_clear else None,
                                 f"synthetic clips of the {place}"),
        likely_genuine_share=MeasuredRate(bands.likely_genuine.share if bands else None, place),
        family_eer={k: g.eer for k, g in report.breakdown.get("family", {}).items() if g.eer is not None},
        unseen_missed=unseen_missed(heldout) if heldout is not None and can_clear else MeasuredRate(None, ""),
    )


def unseen_missed(heldout: HeldOutReport) -> MeasuredRate:
    """The worst synthesiser fold's share of never-heard fakes in the green band, and at which edges.

    At the version's own bands where the report measured them (``at_shipped_bands``); otherwise at
    each fold model's own validation bands, which are wider, so the figure is an upper bound.
    """
    folds = [f for name, f in heldout.folds.items() if name.partition(":")[0] not in ("source", "channel")]
    shipped = [f.at_shipped_bands.synthetic_called_genuine for f in folds
               if f.at_shipped_bands is not None and f.at_shipped_bands.synthetic_called_genuine is not None]
    if shipped:
        return MeasuredRate(max(shipped), "held-out folds, the synthesiser kind it misses most, at this version's bands")
    own = [f.own_bands.synthetic_called_genuine for f in folds
           if f.own_bands is not None and f.own_bands.synthetic_called_genuine is not None]
    if own:
        return MeasuredRate(max(own), "held-out folds, the synthesiser kind it misses most, at each fold model's own "
                                      "bands, which are wider than this version's")
    return MeasuredRate(None, "")


def facts_of(version: ModelVersion) -> ModelFacts:
    """The facts of a loaded model version."""
    return facts_from(version.name, version.report, version.calibration)

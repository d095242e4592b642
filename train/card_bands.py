"""What the model card says about its verdict bands: where they come from, the score floor, held-out confident errors.

Split from :mod:`train.card` because these sentences must agree with each other: a
rate of *likely genuine* is never stated for bands the model's score floor makes
unreachable (``tests/test_card.py`` checks it).
"""

from __future__ import annotations

from typing import Callable

from detector import model_facts
from detector.calibration import Calibration
from detector.heldout_report import BandRates, FoldResult, HeldOutBands, HeldOutReport
from detector.model_report import ModelReport, TrainingFigures
from train.heldout import Fold

NOT_MEASURED = "not measured"


def pct(value: float | None) -> str:
    """A rate as a percentage with two decimals, or "not measured"."""
    return NOT_MEASURED if value is None else f"{100 * value:.2f} %"


def _largest(folds: dict[str, FoldResult], rates: Callable[[FoldResult], BandRates | None], key: str,
             sources: bool) -> float | None:
    """The largest ``key`` rate over the synthetic-part folds (``sources`` False) or the source folds."""
    values = [getattr(rates(fold), key) for name, fold in folds.items()
              if (Fold.parse(name).protocol == "source") == sources and rates(fold) is not None]
    return max(values) if values else None


def score_floor(training: TrainingFigures | None, calibration: Calibration) -> float | None:
    """The lowest p(synthetic) a cosine head can give (``None``: the score is unbounded).

    The app's words use the same rule (:func:`detector.model_facts.score_floor`): one definition.
    """
    return model_facts.score_floor(ModelReport(training=training), calibration)


def heldout_band_lines(heldout: HeldOutReport, calibration: Calibration, floor: float | None) -> list[str]:
    """The confident errors of the held-out folds: at each fold's own bands, and at the version's bands.

    Both are measured with the fold models' scores. A rate of *likely genuine* at the
    version's bands is only stated when this model can give that verdict at all: a
    score floor at or above the edge means it never does, whatever a fold model did.
    """
    folds, lines = heldout.folds, []
    missed = _largest(folds, lambda f: f.own_bands, "synthetic_called_genuine", False)
    alarms = _largest(folds, lambda f: f.own_bands, "genuine_called_synthetic", True)
    if missed is not None or alarms is not None:
        lines.append(f"- Wrong with confidence on held-out test parts, each fold model at the bands its own validation "
                     f"set: up to {pct(missed)} of an unseen generator's clips called *likely genuine*, up to "
                     f"{pct(alarms)} of an unseen source's genuine clips called *likely synthetic*.")
    edges = heldout.rates_measured_at
    alarms = _largest(folds, lambda f: f.at_shipped_bands, "genuine_called_synthetic", True)
    missed = _largest(folds, lambda f: f.at_shipped_bands, "synthetic_called_genuine", False)
    if edges is None or (alarms is None and missed is None):
        return lines
    shipped = (calibration.genuine_below, calibration.synthetic_above)
    if max(abs(a - b) for a, b in zip((edges.genuine_below, edges.synthetic_above), shipped)) < 1e-9:
        where = "the fold models at this version's bands"
    else:
        where = (f"the fold models at the edges the held-out folds proposed (likely genuine below "
                 f"{edges.genuine_below:.3f}, likely synthetic from {edges.synthetic_above:.3f}), not at this "
                 f"version's bands ({shipped[0]:.3f} and {shipped[1]:.3f}, where validation was stricter)")
    if floor is not None and floor >= calibration.genuine_below:
        genuine_words = (f"this model itself never calls a clip *likely genuine* (its score floor {floor:.3f} lies "
                         f"above the {calibration.genuine_below:.3f} edge)")
    else:
        genuine_words = f"up to {pct(missed)} of an unseen generator's clips called *likely genuine*"
    lines.append(f"- Wrong with confidence on held-out test parts, measured with {where}: up to {pct(alarms)} of an "
                 f"unseen source's genuine clips called *likely synthetic*; {genuine_words}.")
    return lines


def band_source_lines(bands: HeldOutBands | None, calibration: Calibration) -> list[str]:
    """Where the verdict bands come from: validation alone, or narrowed by the held-out folds."""
    applied = bands is not None and (bands.genuine_below is not None or bands.synthetic_above is not None) \
        and (bands.genuine_below is None or calibration.genuine_below <= bands.genuine_below + 1e-12) \
        and (bands.synthetic_above is None or calibration.synthetic_above >= bands.synthetic_above - 1e-12)
    if not applied:
        return ["- The verdict bands were set on validation (at most 1 % of a class in the other class's band)."]
    return [f"- The verdict bands were set on validation, then narrowed to what the {bands.folds} held-out "
            f"folds allow: in every fold at most {pct(bands.max_error)} of the never-heard training and "
            "validation clips of the held-out part fell in the wrong confident band (test clips chose nothing)."]


def score_floor_lines(floor: float | None, calibration: Calibration) -> list[str]:
    """A cosine head bounds the probability: say so, and whether *likely genuine* can happen at all."""
    if floor is None:
        return []
    never = calibration.genuine_below <= floor
    return [f"- The network's score is a cosine between -1 and 1, so p(synthetic) is never below {floor:.3f}"
            + (": this model never calls a clip *likely genuine*; it can flag a fake but cannot clear a clip."
               if never else ".")]

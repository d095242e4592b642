"""Verdict bands per measured channel class, each earned on never-heard clips and checked on others (issue 32).

A *likely genuine* edge promises that at most :data:`PROMISE` (2 %) of fakes from a
synthesiser the model never heard score below it; a *likely synthetic* edge that at most
2 % of genuine recordings from a source it never heard score above it. The engine's first
rule set each edge on a fold's never-heard train and validation clips at exactly 2 %, and
the fold's never-heard *test* clips, other speakers of the same part, then broke it: up to
7.7 % of wideband formant fakes and 12.2 % of noisy vocoder copies fell below the edge
(``docs/verdicts.md``). Speakers differ more than a 2 % quantile allows for. So, per class:

1. **The margin is chosen on speakers held back from setting, never on test clips.**
   Each fold's never-heard train and validation clips are split in two by speaker
   (:func:`train.heldout.speaker_halves`). An edge set on one half at a target error
   (2 %, 1 %, 0.5 %, ...: :data:`TARGETS`) is measured on the other half, both ways, in
   every fold. The target is the loosest at which every fold keeps the promise on the
   speakers it did not see (:func:`chosen_target`).
2. **The edge** is that target's edge on all of a fold's never-heard train and validation
   clips of the class, as a rank among the fold model's validation clips; the strictest
   rank over the folds lands at the same rank in the final model's validation scores
   (the one band rule of :func:`train.heldout_bands.final_bands`).
3. **The test clips only veto.** Each fold × class is measured on its never-heard test
   clips at the final edges (:func:`class_rates_at`). An edge that lets more than the
   promise through in any fold × class with enough clips is withdrawn, with the figure
   that withdrew it: a test clip can take a promise away, never move or widen one.
4. **No green verdict on narrowband audio** (:data:`detector.verdict.CANNOT_CLEAR`):
   the folds cannot vouch for it, whatever they say.

A class with too few never-heard clips to set or check an edge gets none. Where a class
has no *likely genuine* edge, its clips are capped at *uncertain* and the card says why.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from detector.channel import CHANNEL_CLASSES
from detector.heldout_report import ChannelBand, ChannelRates, FoldResult, HeldOutReport, HeldScores
from train.calibrate import edge_above, edge_below
from train.heldout import part_eer
from train.heldout_bands import MIN_PER_CLASS, RANK_EDGE_FLOOR, at_rank, rank_of

PROMISE = 0.02                                   # the most never-heard clips of a class in the wrong confident band
TARGETS = (0.02, 0.01, 0.005, 0.002, 0.001, 0.0)  # setting targets, loosest first
NO_CLEAR_CLASSES = ("narrowband",)               # detector.verdict.CANNOT_CLEAR: no green verdict, whatever the folds
# A speaker half needs this many clips to check a 2 % promise at all (one clip is 2 % of 50); smaller halves
# neither set the margin nor veto it (they still count in the edge and in the test veto).
MIN_HALF = 50


def _edge(values: np.ndarray, target: float, genuine_edge: bool) -> float:
    return edge_below(values, target) if genuine_edge else edge_above(values, target)


def _wrong_share(values: np.ndarray, edge: float, genuine_edge: bool) -> float:
    return float(np.mean(values < edge)) if genuine_edge else float(np.mean(values >= edge))


def _never_heard(held: HeldScores, cls: str, genuine_edge: bool) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities, halves) of a fold's never-heard clips of the class an edge guards against."""
    label = 1 if genuine_edge else 0   # a genuine edge guards against fakes; a synthetic edge against genuine clips
    p, y = np.asarray(held.probabilities, dtype=float), np.asarray(held.labels)
    chosen = (np.asarray(held.channels) == cls) & (y == label)
    return p[chosen], np.asarray(held.halves)[chosen]


def split_half_error(held: HeldScores, cls: str, target: float, genuine_edge: bool) -> float | None:
    """The worse of the two ways: an edge set on one speaker half at ``target``, measured on the other.

    ``None`` when either half has fewer than :data:`MIN_HALF` clips.
    """
    p, halves = _never_heard(held, cls, genuine_edge)
    parts = [p[halves == 0], p[halves == 1]]
    if min(len(part) for part in parts) < MIN_HALF:
        return None
    return max(_wrong_share(parts[1 - i], _edge(parts[i], target, genuine_edge), genuine_edge) for i in (0, 1))


def chosen_target(folds: dict[str, FoldResult], cls: str, genuine_edge: bool) -> tuple[float | None, str]:
    """The loosest setting target that keeps :data:`PROMISE` across speaker halves in every fold, and why."""
    helds = {name: f.scores.held for name, f in folds.items() if f.scores is not None and f.scores.held is not None}
    for target in TARGETS:
        errors = {name: e for name, e in ((n, split_half_error(h, cls, target, genuine_edge)) for n, h in helds.items())
                  if e is not None}
        if not errors:
            return None, f"no fold has {MIN_HALF} never-heard clips of this class in each speaker half"
        if max(errors.values()) <= PROMISE:
            return target, f"set at {target:.1%} so that every fold keeps {PROMISE:.0%} on unseen speakers"
    worst = max(errors, key=errors.get)
    return None, (f"even the strictest edge set on one half of {worst}'s never-heard speakers lets "
                  f"{errors[worst]:.1%} of the other half through (promise: {PROMISE:.0%})")


def strictest_rank(folds: dict[str, FoldResult], cls: str, target: float, genuine_edge: bool) -> float | None:
    """The strictest rank over the folds of the edge at ``target`` on each fold's never-heard clips of ``cls``."""
    ranks = []
    for fold in folds.values():
        if fold.scores is None or fold.scores.held is None:
            continue
        p, _ = _never_heard(fold.scores.held, cls, genuine_edge)
        if len(p) < MIN_PER_CLASS:
            continue
        reference = fold.scores.val_genuine if genuine_edge else fold.scores.val_synthetic
        ranks.append(rank_of(_edge(p, target, genuine_edge), np.asarray(reference)))
    if not ranks:
        return None
    return min(ranks) if genuine_edge else max(ranks)


def class_rates_at(fold: FoldResult, cls: str, genuine_rank: float | None, synthetic_rank: float | None,
                   never_heard: tuple[bool, bool]) -> ChannelRates | None:
    """One fold's test clips of ``cls``: counts, EER and confident errors of its never-heard class at given ranks.

    The ranks place the edges among the fold model's own validation clips (how an edge
    travels between models, :func:`train.heldout_bands.final_bands`); ``None``: no such edge. Only
    never-heard clips are counted (``never_heard``: whether the fold's fakes, and its genuine
    clips, were never heard; :func:`never_heard_classes`): fakes below the green edge in a
    synthesiser or channel fold, genuine clips at or above the red edge in a source or channel
    fold. A rate of clips the model heard is ``None``.
    """
    scores = fold.scores
    if scores is None or not scores.channels or not scores.val_genuine:
        return None
    chosen = np.asarray(scores.channels) == cls
    p, y = np.asarray(scores.probabilities)[chosen], np.asarray(scores.labels)[chosen]
    fakes, genuine = p[y == 1], p[y == 0]
    eer, _ = part_eer(y, p)
    missed = (None if not never_heard[0] or genuine_rank is None or len(fakes) < MIN_PER_CLASS
              else float(np.mean(fakes < at_rank(scores.val_genuine, genuine_rank))))
    flagged = (None if not never_heard[1] or synthetic_rank is None or len(genuine) < MIN_PER_CLASS
               else float(np.mean(genuine >= at_rank(scores.val_synthetic, synthetic_rank))))
    return ChannelRates(int(len(genuine)), int(len(fakes)), eer, missed, flagged)


def never_heard_classes(fold_name: str) -> tuple[bool, bool]:
    """(fakes, genuine clips): which of a fold's test classes the fold model never heard.

    A synthesiser fold never heard its fakes, a source fold its genuine clips, a channel fold both.
    """
    protocol = fold_name.partition(":")[0]
    return protocol != "source", protocol in ("source", "channel")


def _earned(folds: dict[str, FoldResult], cls: str, genuine_edge: bool) -> tuple[float | None, str]:
    """(rank, how it was set or why there is none) of one edge of one class, before the test veto."""
    if genuine_edge and cls in NO_CLEAR_CLASSES:
        return None, "no green verdict on narrowband audio: the folds cannot vouch for it"
    target, why = chosen_target(folds, cls, genuine_edge)
    if target is None:
        return None, why
    rank = strictest_rank(folds, cls, target, genuine_edge)
    return rank, why if rank is not None else "no fold has enough never-heard clips of this class"


def _veto(folds: dict[str, FoldResult], cls: str, rank: float, genuine_edge: bool) -> str | None:
    """Why the test clips withdraw an edge (the worst fold over the promise), or ``None`` when every fold keeps it."""
    kind = "synthetic_called_genuine" if genuine_edge else "genuine_called_synthetic"
    ranks = (rank, None) if genuine_edge else (None, rank)
    measured = {name: getattr(class_rates_at(f, cls, *ranks, never_heard_classes(name)), kind, None) for name, f in folds.items()}
    broken = {name: rate for name, rate in measured.items() if rate is not None and rate > PROMISE}
    if not broken:
        return None
    worst = max(broken, key=broken.get)
    return f"withdrawn: {broken[worst]:.1%} of {worst}'s never-heard test clips fell on the wrong side"


def channel_bands(folds: dict[str, FoldResult], validation: tuple[np.ndarray, np.ndarray],
                  classes: tuple[str, ...] = CHANNEL_CLASSES) -> dict[str, ChannelBand]:
    """Each class's edges in the final model's validation scores, or ``None`` with the reason in ``note``."""
    val_p, val_y = (np.asarray(a, dtype=float) for a in validation)
    bands = {}
    for cls in classes:
        genuine_rank, genuine_why = _earned(folds, cls, genuine_edge=True)
        synthetic_rank, synthetic_why = _earned(folds, cls, genuine_edge=False)
        genuine_veto = _veto(folds, cls, genuine_rank, True) if genuine_rank is not None else None
        synthetic_veto = _veto(folds, cls, synthetic_rank, False) if synthetic_rank is not None else None
        # The ranks stay as set (the fold × class table is measured at them); a vetoed edge gets no value.
        below = (None if genuine_rank is None or genuine_veto
                 else max(at_rank(val_p[val_y == 0], genuine_rank), RANK_EDGE_FLOOR))
        above = (None if synthetic_rank is None or synthetic_veto
                 else min(at_rank(val_p[val_y == 1], synthetic_rank), 1 - RANK_EDGE_FLOOR))
        note = (f"likely genuine: {genuine_veto or genuine_why}; "
                f"likely synthetic: {synthetic_veto or synthetic_why}")
        bands[cls] = ChannelBand(below, above, genuine_rank, synthetic_rank, note)
    return bands


def with_channel_bands(report: HeldOutReport, validation: tuple[np.ndarray, np.ndarray]) -> HeldOutReport:
    """``report`` with its bands per class, and every fold × class measured at the version's overall edges.

    The fold × class table (:mod:`train.channel_table`) shows what the one pair of edges the
    version had before issue 32 does on each class (``ranks_measured_at``); each class's own
    edges, and why one was not given, are in ``bands.by_channel``. A report whose folds were
    not crossed with channel classes is returned as it is.
    """
    if report.bands is None or not any(f.scores is not None and f.scores.held is not None
                                       for f in report.folds.values()):
        return report
    bands = channel_bands(report.folds, validation)
    ranks = report.ranks_measured_at
    folds = {}
    for name, fold in report.folds.items():
        rates = {cls: class_rates_at(fold, cls, ranks.genuine_below if ranks else None,
                                     ranks.synthetic_above if ranks else None, never_heard_classes(name)) for cls in bands}
        folds[name] = replace(fold, at_shipped_by_channel={c: r for c, r in rates.items() if r is not None})
    return replace(report, folds=folds, bands=replace(report.bands, by_channel=bands))

"""The encoder bake-off: every candidate head on every held-out fold, on cached encoder features.

For each candidate and each fold (:mod:`train.heldout` folds: families, neural vocoders,
genuine sources) the held-out engine (:func:`train.heldout.run_fold`) refits the head
without the fold's part (train and validation) through :func:`head_fit_step`, calibrates
it on what validation has left, and scores the fold's test clips and its part's
never-heard train and validation clips: a typed :class:`~detector.model_report.FoldResult`
per fold, with the CNN's band rule (ranks carried to the final head). Decisions are made
on the mean held-out EER and the worst fold, never on the test split.

``python -m train.encoder.bakeoff --corpus data/corpus --encoder FILE [--candidates ...]``
writes ``runs/bakeoff/<candidate>.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from detector.calibration import Calibration
from detector.heldout_report import HeldOutReport
from detector.metrics import compute_eer
from detector.model_report import to_dict
from detector.typed_json import from_dict
from train.calibrate import calibrate
from train.channel_bands import with_channel_bands
from train.channels import with_channels
from train.encoder import copies, features, frames
from train.encoder.finetune import TUNED_CANDIDATES, stream_below
from train.encoder.heads import CANDIDATES, PooledLinear, uses_sequences
from train.heldout import available_folds, parse_folds, run_folds
from train.heldout_bands import final_bands, rates_at
from train.schema import read_manifest


def fold_name(name: str) -> str:
    """A fold's name in today's protocols (bake-offs before the held-out module called neural vocoders "vocoder")."""
    protocol, _, held = name.partition(":")
    return f"neural_vocoder:{held}" if protocol == "vocoder" else name


# Round 3's candidates beside the heads over frozen four-block features (heads.CANDIDATES, looked up at call time):
# the six-block linear head and the fine-tuned blocks.
ROUND3_CANDIDATES = {"linear-0123456": lambda: PooledLinear(tuple(range(7))),
                     "linear-01234-multicondition": lambda: PooledLinear((0, 1, 2, 3, 4)), **TUNED_CANDIDATES}
MULTICONDITION = "-multicondition"   # a candidate trained with the copies of train.encoder.copies


def candidate(name: str):
    """An unfitted head of candidate ``name`` (:data:`heads.CANDIDATES` or :data:`ROUND3_CANDIDATES`)."""
    return (CANDIDATES.get(name) or ROUND3_CANDIDATES[name])()


def _streams(data: dict, rows: np.ndarray) -> dict:
    """What a fine-tuned candidate reads besides the statistics: the cached stream and the recorded channel."""
    if data.get("frames") is None:
        return {}
    return {"frames": [data["frames"][i] for i in rows], "conditions": data["condition"][rows]}


def _fit(name: str, data: dict, rows: np.ndarray, val_rows: np.ndarray):
    head = candidate(name)
    if data.get("seed") is not None:   # a rerun with another seed (round 3's spread); a linear head has none
        for part in (head, getattr(head, "temporal", None)):
            if hasattr(part, "seed"):
                part.seed = data["seed"]
    seqs = data["seqs"]
    stats, labels, extra = data["stats"][rows], data["y"][rows], _streams(data, rows)
    if extra:
        extra["val_frames"] = _streams(data, val_rows)["frames"]
    if data.get("copies") is not None:
        stats, labels, extra = _with_copies(data, rows, stats, labels, extra)
    return head.fit(stats, labels, data["stats"][val_rows], data["y"][val_rows],
                    seqs=[seqs[i] for i in rows] if seqs else None,
                    val_seqs=[seqs[i] for i in val_rows] if seqs else None, **extra)


def _with_copies(data: dict, rows: np.ndarray, stats: np.ndarray, labels: np.ndarray, extra: dict):
    """The training rows followed by the multi-condition copies of those rows (a copy of a clip the fold
    holds out is held out with it), and ``groups``: each clip's row, each copy's owner's."""
    made = data["copies"]
    mine = np.flatnonzero(np.isin(made["owner"], rows))
    owners = made["owner"][mine]
    extra = {**extra, "groups": np.concatenate([rows, owners])}
    if extra.get("frames") is not None:
        extra["frames"] = extra["frames"] + [made["frames"][i] for i in mine]
        extra["conditions"] = np.concatenate([extra["conditions"], made["condition"][mine]])
    return (np.concatenate([stats, made["stats"][mine]]), np.concatenate([labels, data["y"][owners]]), extra)


def _logits(head, data: dict, rows: np.ndarray) -> np.ndarray:
    seqs = data["seqs"]
    frames = _streams(data, rows).get("frames")
    return head.logits(data["stats"][rows], seqs=[seqs[i] for i in rows] if seqs else None,
                       **({"frames": frames} if frames is not None else {}))


def fit_and_calibrate(name: str, data: dict, keep: np.ndarray):
    """A head fitted on kept train rows, calibrated on kept val rows; (head, calibration, val p, val y)."""
    split = data["split"]
    rows, val_rows = np.flatnonzero(keep & (split == "train")), np.flatnonzero(keep & (split == "val"))
    head = _fit(name, data, rows, val_rows)
    val_logits = _logits(head, data, val_rows)
    calibration, _ = calibrate({"mean_logit": val_logits}, data["y"][val_rows])
    return head, calibration, calibration.probability(val_logits), data["y"][val_rows]


@dataclass
class HeadFoldModel:
    """A head refitted without one fold, on cached features (see :class:`train.heldout.FoldModel`)."""

    head: object
    data: dict
    calibration: Calibration
    validation: tuple[np.ndarray, np.ndarray]
    facts: dict = field(default_factory=dict)

    def score(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        chosen = np.flatnonzero(rows & self.data["valid"])   # clips the encoder could not read have no features
        return (_logits(self.head, self.data, chosen), self.data["y"][chosen],
                int(np.sum(rows & ~self.data["valid"])))


def head_fit_step(name: str, data: dict) -> Callable[[np.ndarray], HeadFoldModel]:
    """The fit step of candidate ``name`` for :func:`train.heldout.run_fold`: refit and calibrate on kept rows."""
    def fit(keep: np.ndarray) -> HeadFoldModel:
        head, calibration, val_p, val_y = fit_and_calibrate(name, data, data["valid"] & keep)
        # A head trained by epochs says which it kept (a tuned head's 0 is its frozen warm start).
        facts = {"val_eer_seen": min(head.history), "epochs_run": head.best_epoch} if hasattr(head, "best_epoch") \
            else {}
        return HeadFoldModel(head, data, calibration, (np.asarray(val_p), np.asarray(val_y)), facts)
    return fit


def run_candidate(name: str, data: dict, frame: pd.DataFrame, on_fold=None, folds=None) -> HeldOutReport:
    """Every available fold (or ``folds``) for candidate ``name``, through the one held-out engine."""
    folds = available_folds(frame) if folds is None else folds
    return run_folds(frame, folds, lambda fold: head_fit_step(name, data), on_fold=on_fold,
                     arch=f"whisper-base + {name}", feature="whisper",
                     recipe=f"encoder bake-off: {name}, refitted per fold")


def summarise(name: str, data: dict, frame: pd.DataFrame, heldout: HeldOutReport, final: tuple | None = None) -> dict:
    """The candidate's record: its held-out report with bands and rates at them, and the final head's figures.

    The bands are the folds' strictest ranks in the final head's validation scores
    (:func:`train.heldout_bands.final_bands`); every fold is measured at them (:func:`train.heldout_bands.rates_at`).
    ``final`` is :func:`fit_and_calibrate`'s result on every valid clip when the caller has it (a publish
    step reuses the same fit). ``heldout`` is not changed.
    """
    head, calibration, val_p, val_y = final or fit_and_calibrate(name, data, data["valid"].copy())
    validation = (np.asarray(val_p), np.asarray(val_y))
    bands = final_bands(heldout.folds, validation)
    # An edge no fold set is validation's alone (publish narrows only where the folds set an edge).
    low = bands.genuine_below if bands and bands.genuine_below is not None else calibration.genuine_below
    high = bands.synthetic_above if bands and bands.synthetic_above is not None else calibration.synthetic_above
    heldout = with_channel_bands(rates_at(replace(heldout, bands=bands),
                                          replace(calibration, genuine_below=low, synthetic_above=high), validation),
                                 validation)
    test = np.flatnonzero((frame["split"] == "test").to_numpy() & data["valid"])
    logits, labels = _logits(head, data, test), data["y"][test]
    p = calibration.probability(logits)
    missed = [f.at_shipped_bands.synthetic_called_genuine for f in heldout.folds.values() if f.at_shipped_bands]
    return {
        "candidate": name, "mean_heldout_eer": heldout.mean_eer,
        "worst_fold": [heldout.worst_fold, heldout.folds[heldout.worst_fold].eer] if heldout.worst_fold else None,
        "val_eer": round(float(compute_eer(val_y, val_p)[0]), 4),
        "test_eer": round(float(compute_eer(labels, logits)[0]), 4),
        "bands": {"genuine_below": low, "synthetic_above": high, "lowest_p_test": float(p.min())},
        "test_at_bands": {"genuine_called_genuine": round(float(np.mean(p[labels == 0] < low)), 4),
                          "synthetic_called_genuine": round(float(np.mean(p[labels == 1] < low)), 4),
                          "synthetic_called_synthetic": round(float(np.mean(p[labels == 1] >= high)), 4),
                          "genuine_called_synthetic": round(float(np.mean(p[labels == 0] >= high)), 4)},
        "max_heldout_fakes_called_genuine": max(missed, default=None),
        "channel_bands": channel_edges(heldout, low, high),
        # A head trained by epochs: validation EER after each (0: a tuned head's frozen warm start) and the one kept.
        "val_history": getattr(head, "history", None) or None, "epoch_kept": getattr(head, "best_epoch", None),
        "heldout": to_dict(heldout),
    }


def channel_edges(heldout: HeldOutReport, genuine_below: float, synthetic_above: float) -> dict | None:
    """Each measured class's edges for ``calibration.json``, never looser than the overall ones; ``None``: no classes.

    An edge the class did not earn is ``None``: that verdict is not given on the class.
    """
    if heldout.bands is None or not heldout.bands.by_channel:
        return None
    return {cls: {"genuine_below": None if band.genuine_below is None else min(band.genuine_below, genuine_below),
                  "synthetic_above": None if band.synthetic_above is None else max(band.synthetic_above,
                                                                                   synthetic_above)}
            for cls, band in heldout.bands.by_channel.items()}


def heldout_of(summary: dict) -> HeldOutReport:
    """The typed held-out report inside a bake-off record (:func:`summarise`)."""
    return from_dict(HeldOutReport, summary["heldout"])


def load_data(corpus: str, encoder: str, sequences: bool, deep: bool = False,
              stream: int | None = None) -> tuple[pd.DataFrame, dict]:
    """The manifest with channel classes, and the cached features the candidates read.

    ``deep`` appends outputs 5 and 6 (from :mod:`train.encoder.frames`) to the statistics;
    ``stream`` loads the cached residual stream after that block for fine-tuning.
    """
    frame = with_channels(read_manifest(corpus))   # the folds are crossed with measured channel classes
    loaded = features.load(frame, encoder, sequences=sequences)
    stats, seqs = loaded if sequences else (loaded, None)
    streams = None
    if deep or stream is not None:
        streams, deeper = frames.load(frame, encoder, raw=stream, deep=True)
        if deep:
            stats = np.concatenate([stats, deeper], axis=1)
        else:
            stats = np.where(np.isnan(deeper).any(axis=(1, 2, 3))[:, None, None, None], np.nan, stats)
    valid = ~np.isnan(stats).any(axis=(1, 2, 3))
    return frame, {"stats": np.nan_to_num(stats), "seqs": seqs, "y": frame["y"].to_numpy(),
                   "split": frame["split"].to_numpy(), "valid": valid,
                   "frames": streams if stream is not None else None, "condition": frame["condition"].to_numpy()}


def load_for(corpus: str, encoder: str, name: str) -> tuple[pd.DataFrame, dict]:
    """:func:`load_data` with what candidate ``name`` reads: sequences, outputs 5-6, a cached stream, copies."""
    frame, data = load_data(corpus, encoder, uses_sequences(name), deep=name.endswith("0123456"),
                            stream=stream_below(name) if name in TUNED_CANDIDATES else None)
    if name.endswith(MULTICONDITION):
        data["copies"] = copies.load(frame, encoder, stream=name in TUNED_CANDIDATES)
    return frame, data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.encoder.bakeoff", description=__doc__)
    parser.add_argument("--corpus", default="data/corpus")
    parser.add_argument("--encoder", required=True)
    parser.add_argument("--candidates", nargs="+", default=list(CANDIDATES), choices=[*CANDIDATES, *ROUND3_CANDIDATES])
    parser.add_argument("--folds", nargs="+", default=None, help="only these folds (protocol:held), e.g. the "
                        "four hardest families and the sources when fine-tuning does not fit every fold")
    parser.add_argument("--seed", type=int, default=None, help="the seed of heads that train from random weights "
                        "or batches (default: each head's own); written into the record's name")
    parser.add_argument("--out", default="runs/bakeoff")
    args = parser.parse_args(argv)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    for name in args.candidates:
        frame, data = load_for(args.corpus, args.encoder, name)
        data["seed"] = args.seed
        folds = parse_folds(frame, args.folds, None)
        heldout = run_candidate(name, data, frame, folds=folds,
                                on_fold=lambda fold, result: print(name, fold, result.eer, result.train_s, flush=True))
        result = summarise(name, data, frame, heldout)
        result["seed"] = args.seed
        record = f"{name}{'' if args.seed is None else f'-seed{args.seed}'}.json"
        Path(args.out, record).write_text(json.dumps(result, indent=1) + "\n")
        print(json.dumps({k: v for k, v in result.items() if k != "heldout"}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

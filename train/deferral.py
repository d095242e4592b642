"""Deferral, measured on the held-out folds before anything is built (issue 32, item 3).

A deferral score sends a clip the score alone would call *likely genuine* to *uncertain*
when the model seems unsure of it. It is worth shipping only if, on clips the model never
heard, it defers a larger share of the fakes in the green band than of the genuine clips
there. Two scores are measured on every fold of the one engine (:mod:`train.heldout`):

* **margin (energy)**: for a head with one logit ``z``, the energy score of Wang et al.
  (2021), ``-log(1 + e^z)``, and the margin ``|z - edge|`` order the green clips exactly as
  the score does, so deferring the least confident of them is a stricter edge. Measured as
  the upper half (by validation rank) of the green band deferred.
* **disagreement**: one regression per encoder output (outputs 0-4, the ``-each`` head's
  parts), and the spread (standard deviation) of their five logits on a clip. A clip is
  deferred when its spread exceeds the 90th percentile of the fold's genuine validation clips.

For each fold the green band is the engine's own edge (2 % of the fold's never-heard train
and validation fakes below it); the figures are on the fold's never-heard *test* clips.

``python -m train.deferral --corpus data/corpus --encoder FILE`` prints a Markdown table.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd

from train.calibrate import calibrate, edge_below
from train.encoder.bakeoff import load_data
from train.encoder.heads import PooledLinear
from train.heldout import available_folds
from train.heldout_bands import HELDOUT_BAND_ERROR, MIN_PER_CLASS, rank_of

OUTPUTS = (0, 1, 2, 3, 4)
SPREAD_QUANTILE = 0.9   # disagreement above this quantile of genuine validation clips is deferred


def _fit(data: dict, rows: np.ndarray, val_rows: np.ndarray, outputs: tuple[int, ...]) -> PooledLinear:
    return PooledLinear(outputs).fit(data["stats"][rows], data["y"][rows], data["stats"][val_rows],
                                     data["y"][val_rows])


def fold_figures(data: dict, keep: np.ndarray, held: np.ndarray, test: np.ndarray) -> dict[str, float]:
    """Deferred shares of the green band's never-heard test fakes and genuine clips, for one fold."""
    split = data["split"]
    rows, val_rows = np.flatnonzero(keep & (split == "train")), np.flatnonzero(keep & (split == "val"))
    head = _fit(data, rows, val_rows, OUTPUTS)
    calibration, _ = calibrate({"mean_logit": head.logits(data["stats"][val_rows])}, data["y"][val_rows])
    prob = lambda idx: np.asarray(calibration.probability(head.logits(data["stats"][idx])))   # noqa: E731
    held_idx, test_idx = np.flatnonzero(held), np.flatnonzero(test)
    held_fakes = prob(held_idx)[data["y"][held_idx] == 1]
    if len(held_fakes) < MIN_PER_CLASS:
        return {}
    edge = edge_below(held_fakes, HELDOUT_BAND_ERROR)
    p, y = prob(test_idx), data["y"][test_idx]
    green = p < edge
    # Margin: the upper half of the green band by rank among validation genuine clips (a stricter edge).
    val_p, val_y = prob(val_rows), data["y"][val_rows]
    half_edge = np.quantile(val_p[val_y == 0], rank_of(edge, val_p[val_y == 0]) / 2)
    margin_deferred = green & (p >= half_edge)
    # Disagreement: the spread of one regression per output.
    parts = [_fit(data, rows, val_rows, (k,)) for k in OUTPUTS]
    spread = lambda idx: np.std([h.logits(data["stats"][idx]) for h in parts], axis=0)   # noqa: E731
    cut = np.quantile(spread(val_rows)[val_y == 0], SPREAD_QUANTILE)
    spread_deferred = green & (spread(test_idx) > cut)
    fakes, genuine = green & (y == 1), green & (y == 0)
    share = lambda deferred, among: float(np.sum(deferred & among) / max(np.sum(among), 1))   # noqa: E731
    return {"green_fakes": int(fakes.sum()), "green_genuine": int(genuine.sum()),
            "margin_fakes": share(margin_deferred, fakes), "margin_genuine": share(margin_deferred, genuine),
            "spread_fakes": share(spread_deferred, fakes), "spread_genuine": share(spread_deferred, genuine)}


def measure(frame: pd.DataFrame, data: dict) -> pd.DataFrame:
    """One row per fold: the green band's never-heard test clips, and the share each score defers."""
    rows = []
    for fold in available_folds(frame):
        held = fold.held_rows(frame) & frame["split"].isin(["train", "val"]).to_numpy()
        negatives, positives = fold.test_masks(frame)
        test = (frame["split"] == "test").to_numpy() & (negatives | positives) & data["valid"]
        figures = fold_figures(data, data["valid"] & ~held, held & data["valid"], test)
        if figures:
            rows.append({"fold": fold.name, **figures})
    return pd.DataFrame(rows)


def table(measured: pd.DataFrame) -> str:
    lines = ["| fold | green fakes / genuine | margin defers fakes / genuine | disagreement defers fakes / genuine |",
             "|---|---|---|---|"]
    for row in measured.itertuples():
        lines.append(f"| {row.fold} | {row.green_fakes} / {row.green_genuine} | {100 * row.margin_fakes:.0f} % / "
                     f"{100 * row.margin_genuine:.0f} % | {100 * row.spread_fakes:.0f} % / "
                     f"{100 * row.spread_genuine:.0f} % |")
    pooled = {k: (measured[f"{k}_fakes"] * measured["green_fakes"]).sum() / max(measured["green_fakes"].sum(), 1)
              for k in ("margin", "spread")}
    pooled_g = {k: (measured[f"{k}_genuine"] * measured["green_genuine"]).sum() / max(measured["green_genuine"].sum(), 1)
                for k in ("margin", "spread")}
    lines.append(f"| all folds (pooled) | {measured['green_fakes'].sum()} / {measured['green_genuine'].sum()} | "
                 f"{100 * pooled['margin']:.0f} % / {100 * pooled_g['margin']:.0f} % | "
                 f"{100 * pooled['spread']:.0f} % / {100 * pooled_g['spread']:.0f} % |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.deferral", description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="data/corpus")
    parser.add_argument("--encoder", required=True)
    args = parser.parse_args(argv)
    frame, data = load_data(args.corpus, args.encoder, sequences=False)
    print(table(measure(frame, data)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

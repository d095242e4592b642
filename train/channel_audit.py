"""How often the app's own channel measurements agree with the corpus's recorded condition (issue 32, step 1).

A clip's channel class has to be measured from its audio, by the function serving uses,
because a user's clip comes with no label. Today serving measures one class: *narrowband*
(the ``narrow_band`` warning of :func:`detector.quality.quality_warnings`: sound only up to
about 4.5 kHz, or an 8-kHz file), the one on which the green verdict is withheld. This audit
runs that function on corpus clips and tabulates it against the condition the builder
recorded (clean, telephone, AMR-NB, MP3, Opus, noise). It also reports a candidate *noisy*
measure (the spread between loud and quiet frames' levels) for the next step.

``python -m train.channel_audit --corpus data/corpus [--per-condition 200] [--split train]``
prints Markdown tables (a stratified sample with a fixed seed; ``--per-condition 0`` for all).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd

from train import channels
from train.schema import read_manifest

NARROWBAND_CONDITIONS = ("telephone", "amr-nb")
SEED = 20261206


def measure(path: str) -> dict[str, object]:
    """The serving path's narrowband decision and the noise measure for one clip (:func:`train.channels.measure`)."""
    row = channels.measure(path)
    return {"narrowband": "narrow_band" in str(row["warnings"]).split(), "level_spread_db": row["level_spread_db"]}


def sample(frame: pd.DataFrame, per_condition: int, split: str | None) -> pd.DataFrame:
    rows = frame if split is None else frame[frame["split"] == split]
    if per_condition <= 0:
        return rows
    return pd.concat([group.sample(min(per_condition, len(group)), random_state=SEED)
                      for _, group in rows.groupby("condition")])


def tables(measured: pd.DataFrame) -> str:
    """Markdown: measured narrowband share per recorded condition, and the noise measure's quartiles."""
    lines = ["| recorded condition | clips | measured narrowband | level spread (dB): 25 / 50 / 75 % |",
             "|---|---|---|---|"]
    for condition, group in measured.groupby("condition"):
        q = np.percentile(group["level_spread_db"], [25, 50, 75])
        lines.append(f"| {condition} | {len(group)} | {100 * group['narrowband'].mean():.1f} % | "
                     f"{q[0]:.1f} / {q[1]:.1f} / {q[2]:.1f} |")
    clean = measured[measured["condition"] == "clean"]
    lines += ["", "Clips recorded as clean that measure narrowband, by genuine source (its genuine clips and the "
                  "synthetic copies made from them):", "", "| source | genuine | synthetic |", "|---|---|---|"]
    for source, group in clean.groupby("source"):
        share = {label: group.loc[group["label"] == label, "narrowband"] for label in ("genuine", "synthetic")}
        cells = [f"{100 * s.mean():.0f} % of {len(s)}" if len(s) else "–" for s in share.values()]
        lines.append(f"| {source} | {cells[0]} | {cells[1]} |")
    recorded = measured["condition"].isin(NARROWBAND_CONDITIONS)
    agree = float(np.mean(recorded == measured["narrowband"]))
    lines += ["", f"Agreement of the measured narrowband class with the recorded telephone/AMR-NB conditions: "
                  f"{100 * agree:.1f} % of {len(measured)} clips."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.channel_audit", description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="data/corpus")
    parser.add_argument("--per-condition", type=int, default=200, help="clips per recorded condition (0: all)")
    parser.add_argument("--split", default=None, help="only this split (default: all)")
    args = parser.parse_args(argv)
    chosen = sample(read_manifest(args.corpus), args.per_condition, args.split)
    found = channels.measured(chosen)   # the cached measurements of train.channels (a clip is decoded once)
    readable = (found["channel"] != channels.UNREADABLE).to_numpy()
    rows = pd.DataFrame({"condition": chosen["condition"].to_numpy(), "source": chosen["source"].to_numpy(),
                         "label": chosen["label"].to_numpy(),
                         "narrowband": [("narrow_band" in str(w).split()) for w in found["warnings"]],
                         "level_spread_db": found["level_spread_db"].to_numpy()})[readable]
    print(tables(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())

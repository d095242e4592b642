"""The bake-off table for ``docs/frontends.md``, from ``runs/bakeoff/*.json`` and a CNN baseline version.

``python -m train.encoder.table --runs runs/bakeoff --baseline model_store/<version>`` prints Markdown:
EER per held-out fold (and the confident errors at each fold's own validation bands),
the mean of the family and source folds, the worst fold, validation and test EER.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from detector import model_report
from train.encoder.bakeoff import fold_name, heldout_of


def _pct(value) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def baseline_row(version: Path) -> dict:
    """The shipped CNN's held-out folds (its typed report) in the bake-off's shape."""
    report = model_report.load(version)
    heldout = report.heldout
    folds = {name: {"eer": fold.eer,
                    "own_bands": {"synthetic_called_genuine": fold.own_bands and fold.own_bands.synthetic_called_genuine,
                                  "genuine_called_synthetic": fold.own_bands and fold.own_bands.genuine_called_synthetic}}
             for name, fold in heldout.folds.items()}
    return {"candidate": f"CNN `{version.name}` (baseline)", "mean_heldout_eer": heldout.mean_eer,
            "worst_fold": [heldout.worst_fold, heldout.folds[heldout.worst_fold].eer],
            "val_eer": report.validation.eer, "test_eer": report.test.eer, "folds": folds}


def markdown(rows: list[dict]) -> str:
    folds = sorted({name for row in rows for name in row["folds"]})
    lines = ["| fold | " + " | ".join(row["candidate"] for row in rows) + " |",
             "|---|" + "---|" * len(rows)]
    for fold in folds:
        cells = []
        for row in rows:
            entry = row["folds"].get(fold)
            if entry is None:
                cells.append("–")
                continue
            own = entry.get("own_bands") or {}
            cells.append(f"{_pct(entry['eer'])} ({_pct(own.get('synthetic_called_genuine'))} / "
                         f"{_pct(own.get('genuine_called_synthetic'))})")
        lines.append(f"| {fold} | " + " | ".join(cells) + " |")
    lines.append("| **mean held-out (family + source)** | " + " | ".join(f"**{_pct(r['mean_heldout_eer'])}**"
                                                                     for r in rows) + " |")
    lines.append("| worst fold | " + " | ".join(f"{_pct(r['worst_fold'][1])} ({r['worst_fold'][0]})"
                                             for r in rows) + " |")
    lines.append("| validation / test EER | " + " | ".join(f"{_pct(r['val_eer'])} / {_pct(r['test_eer'])}"
                                                        for r in rows) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.encoder.table", description=__doc__)
    parser.add_argument("--runs", default="runs/bakeoff")
    parser.add_argument("--baseline", default=None, help="a model version folder with held-out folds")
    args = parser.parse_args(argv)
    rows = [baseline_row(Path(args.baseline))] if args.baseline else []
    for path in sorted(Path(args.runs).glob("*.json")):
        row = json.loads(path.read_text())
        if "heldout" in row:   # the held-out engine's typed report
            row["folds"] = {name: {"eer": fold.eer, "own_bands": fold.own_bands and dataclasses.asdict(fold.own_bands)}
                            for name, fold in heldout_of(row).folds.items()}
        else:                  # a bake-off from before the engine
            row["folds"] = {fold_name(name): entry for name, entry in row["folds"].items()}
        rows.append(row)
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())

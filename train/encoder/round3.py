"""Round 3 of the encoder bake-off in Markdown (issue 33): frozen, six-block, fine-tuned and channel-robust heads.

``python -m train.encoder.round3 --runs runs/round3 [--serving runs/round3/serving.json]`` reads the
bake-off records (``<candidate>.json``, reruns ``<candidate>-seed<k>.json``) and prints three tables:

* the summary, every figure on the same folds (:data:`COMPARED_FOLDS`: the four hardest
  synthesiser families and every genuine source, the set the fine-tuned candidates could
  afford on two cores): mean and worst fold, the worst fold × channel class, each class's
  mean over the folds, the spread of the mean over seeds, fitting time per fold and
  serving cost (from ``python -m bench.encoder_depth``'s record);
* every fold's EER per candidate, with the epoch a tuned head kept (0: its frozen warm start);
* every fold × measured channel class: each candidate's EER on the fold's never-heard test clips of the class.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

from detector.channel import CHANNEL_CLASSES
from detector.heldout_report import HeldOutReport
from train.encoder.bakeoff import heldout_of

COMPARED_FOLDS = ("family:vocoder", "family:formant", "neural_vocoder:hifigan", "family:articulatory",
                  "source:klettres", "source:ktuberling", "source:queen", "source:sky")
SEED_FILE = re.compile(r"^(?P<name>.+)-seed(?P<seed>\d+)$")


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def read_runs(folder: Path) -> dict[str, list[dict]]:
    """Bake-off records by candidate, the default seed's first."""
    runs: dict[str, list[dict]] = {}
    for path in sorted(folder.glob("*.json")):
        record = json.loads(path.read_text())
        if "heldout" not in record:
            continue
        match = SEED_FILE.match(path.stem)
        name = match["name"] if match else path.stem
        runs.setdefault(name, []).insert(len(runs.get(name, [])) if match else 0, record)
    return runs


def compared_mean(report: HeldOutReport) -> float | None:
    """Mean EER over :data:`COMPARED_FOLDS`; ``None`` unless every one of them was run."""
    eers = [report.folds[f].eer for f in COMPARED_FOLDS if f in report.folds]
    return float(np.mean(eers)) if len(eers) == len(COMPARED_FOLDS) and None not in eers else None


def class_eers(report: HeldOutReport) -> dict[str, list[tuple[str, float]]]:
    """Per measured class, (fold, EER) over the compared folds where the class had enough clips to measure."""
    out: dict[str, list[tuple[str, float]]] = {}
    for fold in COMPARED_FOLDS:
        result = report.folds.get(fold)
        for cls, rates in (result.at_shipped_by_channel if result else {}).items():
            if rates.eer is not None:
                out.setdefault(cls, []).append((fold, rates.eer))
    return out


def summary_row(name: str, records: list[dict], serving: dict) -> str:
    reports = [heldout_of(r) for r in records]
    first = reports[0]
    means = [m for m in (compared_mean(r) for r in reports) if m is not None]
    compared = {f: first.folds[f].eer for f in COMPARED_FOLDS if f in first.folds}
    worst = max(compared, key=compared.get) if compared else None
    by_class = class_eers(first)
    cells = [(fold, cls, eer) for cls, pairs in by_class.items() for fold, eer in pairs]
    worst_cell = max(cells, key=lambda c: c[2]) if cells else None
    classes = " / ".join(_pct(np.mean([e for _, e in by_class[c]])) if c in by_class else "–"
                         for c in CHANNEL_CLASSES)
    spread = f"{100 * (max(means) - min(means)):.1f} ({len(means)} seeds)" if len(means) > 1 else "1 run"
    seconds = [f.train_s for f in first.folds.values() if f.train_s is not None]
    blocks = 6 if name.endswith("0123456") else 4
    cost = serving.get(str(blocks), {}).get("p50_ms_10s")
    cell = f"{_pct(worst_cell[2])} ({worst_cell[0]} × {worst_cell[1]})" if worst_cell else "–"
    all_folds = _pct(first.mean_eer) if len(first.folds) > len(COMPARED_FOLDS) else "–"
    return (f"| `{name}` | {_pct(means[0] if means else None)} | {_pct(worst and compared[worst])} ({worst}) | "
            f"{cell} | {classes} | {spread} | {np.mean(seconds) / 60:.1f} | "
            f"{'–' if cost is None else f'{cost:.0f} ms ({blocks} blocks)'} | {all_folds} | "
            f"{_pct(records[0]['val_eer'])} / {_pct(records[0]['test_eer'])} |")


def summary_table(runs: dict[str, list[dict]], serving: dict) -> str:
    lines = ["| candidate | mean EER, 8 folds | worst fold | worst fold × class | class means "
             f"({' / '.join(CHANNEL_CLASSES)}) | seed spread of the mean | minutes per fold | serving, 10-s clip p50 "
             "| mean of all 13 family + source folds | validation / test EER |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    lines += [summary_row(name, records, serving) for name, records in runs.items()]
    return "\n".join(lines)


def fold_table(runs: dict[str, list[dict]]) -> str:
    names = list(runs)
    lines = ["| fold | " + " | ".join(f"`{n}`" for n in names) + " |", "|---|" + "---|" * len(names)]
    reports = {n: heldout_of(records[0]) for n, records in runs.items()}
    for fold in COMPARED_FOLDS:
        cells = []
        for n in names:
            result = reports[n].folds.get(fold)
            kept = "" if result is None or result.epochs_run is None else f" (epoch {result.epochs_run})"
            cells.append("–" if result is None else f"{_pct(result.eer)}{kept}")
        lines.append(f"| {fold} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def class_table(runs: dict[str, list[dict]]) -> str:
    """Every compared fold × measured class: each candidate's EER per class, in :data:`CHANNEL_CLASSES` order."""
    names = list(runs)
    reports = {n: heldout_of(records[0]) for n, records in runs.items()}
    measured = [c for c in CHANNEL_CLASSES if any(class_eers(r).get(c) for r in reports.values())]
    lines = [f"| fold ({' / '.join(measured)}) | " + " | ".join(f"`{n}`" for n in names) + " |",
             "|---|" + "---|" * len(names)]
    for fold in COMPARED_FOLDS:
        cells = []
        for n in names:
            result = reports[n].folds.get(fold)
            rates = result.at_shipped_by_channel if result else {}
            cells.append(" / ".join(_pct(rates[c].eer) if c in rates else "–" for c in measured))
        lines.append(f"| {fold} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.encoder.round3", description=__doc__)
    parser.add_argument("--runs", default="runs/round3")
    parser.add_argument("--serving", default=None, help="python -m bench.encoder_depth's JSON record")
    args = parser.parse_args(argv)
    runs = read_runs(Path(args.runs))
    serving = json.loads(Path(args.serving).read_text()) if args.serving else {}
    print(summary_table(runs, serving), "", fold_table(runs), "", class_table(runs), sep="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

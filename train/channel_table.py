"""The fold × channel-class table of a held-out report, in Markdown (issue 32): for the card and docs/verdicts.md.

Every figure comes from the typed report (:class:`~detector.model_report.HeldOutReport`):
each fold's never-heard test clips of one measured class, their EER, and the share on the
wrong side of the class's edges as they were set (:mod:`train.channel_bands`; a withdrawn
edge keeps its rank, so the table shows what withdrew it), then each class's verdict bands.

``python -m train.channel_table FILE`` prints the tables of a bake-off record
(``runs/bakeoff/<candidate>.json``) or of a model version's ``metrics.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from detector.channel import CHANNEL_CLASSES, CHANNEL_WORDS
from detector.heldout_report import ChannelRates, HeldOutReport
from detector.typed_json import from_dict
from train.channel_bands import PROMISE


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def _cell(rates: ChannelRates | None) -> str:
    """``EER · fakes missed · genuine flagged (n genuine / n synthetic)`` of one fold × class."""
    if rates is None or rates.n_genuine + rates.n_synthetic == 0:
        return "–"
    return (f"{_percent(rates.eer)} · {_percent(rates.synthetic_called_genuine)} · "
            f"{_percent(rates.genuine_called_synthetic)} ({rates.n_genuine}/{rates.n_synthetic})")


def measured_classes(report: HeldOutReport) -> list[str]:
    """The classes any fold has test clips of, in :data:`CHANNEL_CLASSES` order."""
    seen = {c for fold in report.folds.values() for c, r in fold.at_shipped_by_channel.items()
            if r.n_genuine + r.n_synthetic}
    return [c for c in CHANNEL_CLASSES if c in seen]


def fold_channel_table(report: HeldOutReport) -> str:
    """Markdown: one row per fold, one column per measured class; empty when the folds were not crossed with classes."""
    classes = measured_classes(report)
    if not classes:
        return ""
    lines = ["| fold | " + " | ".join(classes) + " |", "|---|" + "---|" * len(classes)]
    for name, fold in report.folds.items():
        lines.append(f"| {name} | " + " | ".join(_cell(fold.at_shipped_by_channel.get(c)) for c in classes) + " |")
    edges = report.rates_measured_at
    at = (f" ({_edge(edges.genuine_below)} and {_edge(edges.synthetic_above)})" if edges is not None else "")
    lines += ["", f"Each cell: EER · never-heard fakes below the version's overall *likely genuine* edge "
                  f"(synthesiser folds) · never-heard genuine clips at or above its overall *likely synthetic* "
                  f"edge (source folds){at}, each edge carried to the fold model by rank (genuine / synthetic test "
                  f"clips of the fold and class). A per-class edge must keep at most {PROMISE:.0%} in every cell; "
                  "\"–\" where a cell has fewer than five clips of the class counted or counts clips the model heard."]
    return "\n".join(lines)


def bands_table(report: HeldOutReport) -> str:
    """Markdown: each class's edges (or none) and why; empty when the report has no per-class bands."""
    if report.bands is None or not report.bands.by_channel:
        return ""
    lines = ["| class | *likely genuine* below | *likely synthetic* from | how they were set, or why there is none |",
             "|---|---|---|---|"]
    for cls, band in report.bands.by_channel.items():
        lines.append(f"| {cls} ({CHANNEL_WORDS.get(cls, cls)}) | {_edge(band.genuine_below)} | "
                     f"{_edge(band.synthetic_above)} | {band.note or ''} |")
    return "\n".join(lines)


def _edge(value: float | None) -> str:
    return "none" if value is None else f"{100 * value:.3g} %"


def heldout_of_file(path: Path) -> HeldOutReport:
    """The held-out report in a bake-off record or a version's ``metrics.json`` (or its folder)."""
    path = path / "metrics.json" if path.is_dir() else path
    data = json.loads(path.read_text())
    if "heldout" not in data or data["heldout"] is None:
        raise ValueError(f"{path} holds no held-out report")
    return from_dict(HeldOutReport, data["heldout"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.channel_table", description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path, help="runs/bakeoff/<candidate>.json, or a version folder / metrics.json")
    args = parser.parse_args(argv)
    try:
        report = heldout_of_file(args.file)
    except (OSError, ValueError) as error:
        print(f"Cannot read the held-out report: {error}", file=sys.stderr)
        return 2
    table = fold_channel_table(report)
    if not table:
        print("This report's folds were not crossed with channel classes (made before issue 32).", file=sys.stderr)
        return 1
    print(table + "\n\n" + (bands_table(report) or "No per-class bands in this report."))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``python -m train.evaluate``: re-evaluate a stored version, optionally with held-out retraining.

Usage::

    python -m train.evaluate --model VERSION --corpus data/corpus [--lofo] [--store model_store]

Scores every test clip with the version's ``model.tflite`` through the serving
feature path and rewrites the version's ``metrics.json``, ``scores.csv.gz``,
plots and card (:func:`train.publish.write_evaluation`). ``--lofo`` first retrains
once per synthetic family with that family held out (:mod:`train.lofo`).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from train.config import DEFAULT_CACHE, DEFAULT_RUNS, DEFAULT_STORE, TrainConfig
from train.dataset import read_manifest
from train.lofo import run_lofo
from train.publish import write_evaluation


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m train.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="version name in the store")
    parser.add_argument("--corpus", required=True, help="folder with manifest.csv")
    parser.add_argument("--store", default=str(DEFAULT_STORE))
    parser.add_argument("--lofo", action="store_true", help="also run leave-one-family-out retraining")
    parser.add_argument("--lofo-epochs", type=int, help="epochs per LOFO fold (default: the version's)")
    parser.add_argument("--lofo-minutes", type=float, help="time budget per LOFO fold")
    parser.add_argument("--lofo-families", nargs="+", help="run only these folds; keep the stored others")
    parser.add_argument("--cache", default=str(DEFAULT_CACHE))
    parser.add_argument("--quiet", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    folder = Path(args.store) / args.model
    if not (folder / "model.tflite").exists():
        raise SystemExit(f"no model version {args.model!r} in {args.store}")
    frame = read_manifest(args.corpus)
    lofo = None
    if args.lofo:
        config = TrainConfig.from_dict(json.loads((folder / "train_config.json").read_text()))
        run_dir = DEFAULT_RUNS / f"{time.strftime('%Y%m%d-%H%M%S')}-lofo-{args.model}"
        aggregation = json.loads((folder / "calibration.json").read_text())["aggregation"]
        previous = json.loads((folder / "metrics.json").read_text()).get("lofo") if args.lofo_families else None
        lofo = run_lofo(frame, config, args.cache, run_dir, args.lofo_epochs, args.lofo_minutes, args.quiet,
                        aggregation, args.lofo_families, previous)
    metrics = write_evaluation(folder, frame, args.corpus, lofo)
    summary = {"version": args.model, "test_eer": metrics["test"]["eer"],
               "lofo_mean_eer": (metrics.get("lofo") or {}).get("mean_eer")}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

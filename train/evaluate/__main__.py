"""``python -m train.evaluate``: re-evaluate a stored version, optionally with held-out retraining.

Usage::

    python -m train.evaluate --model VERSION --corpus data/corpus [--heldout [--heldout-bands]] [--store model_store]

Scores every test clip with the version's ``model.tflite`` through the serving
feature path and rewrites the version's report (``metrics.json``), ``scores.csv.gz``,
plots and card (:func:`train.publish.write_evaluation`); a sealed version is checked
first and sealed again after. ``--heldout`` first runs the
held-out protocols (:mod:`train.heldout`): one retraining per held-out synthetic family,
neural-vocoder generator and genuine source, stored under ``heldout`` in the report.
``--heldout-bands`` then narrows the verdict bands to where the folds' never-heard
train and validation clips say they must be (:func:`train.publish.apply_heldout_bands`).
With ``--folds``, only those folds retrain; the stored ones are kept, and the means,
the bands and every fold's rates at the bands are recomputed over all of them.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from detector import model_report, trust
from detector.errors import ModelError
from detector.integrity import INTEGRITY_FILE, seal_folder
from detector.registry import ModelRegistry
from detector.vocabulary import PROTOCOLS
from train.config import DEFAULT_CACHE, DEFAULT_RUNS, DEFAULT_STORE, TrainConfig
from train.evaluate import validation_scores
from train.fit import train_model
from train.heldout import parse_folds
from train.heldout_bands import final_bands
from train.heldout_cnn import run_heldout
from train.publish import apply_heldout_bands, write_evaluation
from train.schema import read_manifest


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m train.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="version name in the store")
    parser.add_argument("--corpus", required=True, help="folder with manifest.csv")
    parser.add_argument("--store", default=str(DEFAULT_STORE))
    parser.add_argument("--heldout", action="store_true",
                        help="also run the held-out protocols (retrain once per fold; see train/heldout.py)")
    parser.add_argument("--protocols", nargs="+", choices=PROTOCOLS, help="held-out protocols to run (default: all)")
    parser.add_argument("--folds", nargs="+", help="run only these folds (e.g. family:formant source:sky); "
                        "the stored results of other folds are kept")
    parser.add_argument("--heldout-epochs", type=int, help="epochs per fold (default: the version's recipe)")
    parser.add_argument("--heldout-minutes", type=float, help="time budget per fold")
    parser.add_argument("--heldout-recipe", help="TrainConfig JSON for the folds (default: the version's own)")
    parser.add_argument("--heldout-bands", action="store_true",
                        help="narrow the version's verdict bands to the held-out folds' edges where stricter "
                             "(needs held-out results from --heldout, now or stored)")
    parser.add_argument("--cache", default=str(DEFAULT_CACHE))
    parser.add_argument("--quiet", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    folder = Path(args.store) / args.model
    if not (folder / "model.tflite").exists():
        raise SystemExit(f"no model version {args.model!r} in {args.store}")
    if args.heldout:
        refusal = heldout_refusal(folder, args.heldout_recipe)
        if refusal:
            raise SystemExit(refusal)
    # A sealed version is checked before anything in it changes and sealed again afterwards: re-scoring
    # rewrites metrics.json, the card and (with --heldout-bands) calibration.json, and a version whose
    # files no longer match its record would stop serving (issue 31, item 5).
    sealed = (folder / INTEGRITY_FILE).is_file()
    if sealed:
        try:
            trust.check(ModelRegistry(args.store), args.model)
        except ModelError as exc:
            raise SystemExit(f"not re-scored: {exc}") from exc
    frame = read_manifest(args.corpus)
    stored = model_report.load(folder).heldout
    heldout = None
    if args.heldout:
        recipe = Path(args.heldout_recipe) if args.heldout_recipe else folder / "train_config.json"
        config = TrainConfig.from_dict(json.loads(recipe.read_text()))
        run_dir = DEFAULT_RUNS / f"{time.strftime('%Y%m%d-%H%M%S')}-heldout-{args.model}"
        folds = parse_folds(frame, args.folds, args.protocols)
        heldout = run_heldout(frame, config, args.cache, run_dir, train_model, folds, args.heldout_epochs,
                              args.heldout_minutes, args.quiet, stored if args.folds else None, str(recipe))
    validation = None   # scored once: the bands and the report's rates both need it
    if args.heldout_bands:
        folds = (heldout or stored).folds if (heldout or stored) else {}
        validation = validation_scores(folder, frame) if folds else None
        bands = final_bands(folds, validation) if folds else None
        if bands is None:
            raise SystemExit("no held-out band edges: run with --heldout first (every fold needs a calibration and "
                             "its validation scores; results stored before ranks were kept have none)")
        apply_heldout_bands(folder, bands)
    report = write_evaluation(folder, frame, args.corpus, heldout, validation)
    if sealed:
        seal_folder(folder)
    summary = {"version": args.model, "test_eer": report.test.eer,
               "heldout_mean_eer": report.heldout.mean_eer if report.heldout else None}
    print(json.dumps(summary))
    return 0


def heldout_refusal(folder: Path, recipe: str | None) -> str | None:
    """Why ``--heldout`` cannot run for the version in ``folder``, in a sentence; ``None`` when it can."""
    if (folder / "encoder.json").is_file():
        return (f"{folder.name} is an encoder version: its held-out folds refit its head on cached encoder features, "
                "which `python -m train.encoder.retrain --corpus CORPUS --candidate HEAD` does (Admin: Retrain the "
                "Whisper head); it publishes a new version with its folds, bands and rates. A CNN recipe "
                "(--heldout-recipe) would train CNN folds, whose edges do not belong to this head.")
    if recipe is None and not (folder / "train_config.json").is_file():
        return (f"{folder.name} has no train_config.json, so the recipe to retrain its folds with is unknown: pass "
                "one with --heldout-recipe (e.g. train/recipes/fold.json).")
    return None


if __name__ == "__main__":
    raise SystemExit(main())

"""Evaluate a model version on the test split, exactly as the server would score it.

Usage::

    python -m train.evaluate --model VERSION --corpus data/corpus [--lofo] [--store model_store]

Scores every test clip with the version's ``model.tflite`` through the serving
feature path, then writes into the version folder: ``metrics.json`` (EER and its
threshold, metrics and confusion matrix at the deployed threshold, band shares,
EER per family, generator, language and condition, the corpus shortcut-audit
EER), ``scores.csv.gz``, ``plots/*.png`` + ``plots/*.json`` (plotly) and
``card.md``. ``--lofo`` retrains once per synthetic family with that family held
out of train and validation, and reports its test EER. The test split is never
used for stopping, calibration or model choice.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from detector.config import FeatureConfig
from detector.errors import AudioError
from detector.metrics import auc, compute_eer, threshold_report
from detector.registry import Calibration, atomic_write_text
from train.calibrate import apply, band_report
from train.config import DEFAULT_CACHE, DEFAULT_RUNS, DEFAULT_STORE, TrainConfig
from train.dataset import build_clipset, compute_features, keras_predictor, score_clips
from train.schema import read_manifest

TFLITE_BATCH = 64          # fixed interpreter batch; the last chunk is zero-padded
MIN_PER_CLASS = 5          # fewer clips of a class than this: a breakdown EER is not reported
BREAKDOWNS = ("family", "generator", "language", "condition", "source")
CLEAN_CONDITIONS = ("clean", "none", "(none)")
LATENCY_WINDOWS = 9        # a 10-s clip = 9 windows of 2 s every 1 s


def tflite_predictor(model_path: str | Path, threads: int = 2) -> Callable[[np.ndarray], np.ndarray]:
    """Window logits from a ``.tflite`` file via LiteRT (what the server runs)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(model_path), num_threads=threads)
    source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    shape = [TFLITE_BATCH, *source["shape"][1:]]
    interpreter.resize_tensor_input(source["index"], shape)
    interpreter.allocate_tensors()

    def predict(windows: np.ndarray) -> np.ndarray:
        out = []
        for start in range(0, len(windows), TFLITE_BATCH):
            chunk = windows[start:start + TFLITE_BATCH]
            padded = np.zeros(shape, dtype=np.float32)
            padded[:len(chunk)] = chunk
            interpreter.set_tensor(source["index"], padded)
            interpreter.invoke()
            out.append(interpreter.get_tensor(target["index"])[:len(chunk)].reshape(-1))
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)

    return predict


def serving_latency_ms(model_path: str | Path, config: FeatureConfig, repeats: int = 20) -> float:
    """Median LiteRT time (2 threads) to score the 9 windows of a 10-s clip."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(model_path), num_threads=2)
    source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    interpreter.resize_tensor_input(source["index"], [LATENCY_WINDOWS, *config.input_shape])
    interpreter.allocate_tensors()
    windows = np.random.default_rng(0).standard_normal((LATENCY_WINDOWS, *config.input_shape)).astype(np.float32)
    times = []
    for _ in range(repeats + 2):
        started = time.perf_counter()
        interpreter.set_tensor(source["index"], windows)
        interpreter.invoke()
        interpreter.get_tensor(target["index"])
        times.append(time.perf_counter() - started)
    return float(np.median(times[2:]) * 1000.0)


def score_split(folder: Path, frame: pd.DataFrame, split: str = "test") -> pd.DataFrame:
    """Score one split with the folder's LiteRT model from the audio files (no cache).

    Returns the split's manifest rows that could be scored, with ``mean_logit``,
    ``max_logit``, ``logit`` (the deployed aggregation) and ``p_synthetic``.
    """
    config = FeatureConfig.load(folder / "features.json")
    calibration = Calibration.from_dict(json.loads((folder / "calibration.json").read_text()))
    rows = frame[frame["split"] == split].reset_index(drop=True)
    features, keep = [], []
    for path in rows["path"]:
        try:
            features.append(compute_features(path, config))
            keep.append(True)
        except AudioError:
            keep.append(False)
    rows = rows[keep].reset_index(drop=True)
    scores = score_clips(tflite_predictor(folder / "model.tflite"), features, config)
    rows["mean_logit"], rows["max_logit"] = scores["mean_logit"], scores["max_logit"]
    rows["logit"] = rows[calibration.aggregation]
    rows["p_synthetic"] = apply(calibration, rows["logit"])
    return rows


def split_metrics(labels: np.ndarray, logits: np.ndarray, calibration: Calibration) -> dict[str, Any]:
    """EER, AUC, metrics at the deployed threshold (p >= 0.5) and band shares for one split."""
    eer, threshold = compute_eer(labels, logits)
    deployed_logit = -calibration.bias / calibration.scale  # where the calibrated p crosses 0.5
    at_deployed = threshold_report(labels, logits, deployed_logit).to_dict()
    at_deployed.update(p_threshold=0.5)
    return {
        "eer": eer, "eer_threshold_logit": threshold,
        "eer_threshold_p": float(apply(calibration, [threshold])[0]),
        "auc": auc(labels, logits), "n_genuine": int(np.sum(labels == 0)), "n_synthetic": int(np.sum(labels == 1)),
        "at_deployed_threshold": at_deployed,
        "bands": band_report(apply(calibration, logits), labels, calibration),
    }


def group_eer(labels: np.ndarray, logits: np.ndarray) -> dict[str, Any]:
    """EER of one subset, or the reason it is not reported."""
    positives, negatives = int(np.sum(labels == 1)), int(np.sum(labels == 0))
    entry: dict[str, Any] = {"n_genuine": negatives, "n_synthetic": positives}
    if positives < MIN_PER_CLASS or negatives < MIN_PER_CLASS:
        entry["eer"] = None
        entry["note"] = f"fewer than {MIN_PER_CLASS} clips of a class"
    else:
        entry["eer"] = compute_eer(labels, logits)[0]
    return entry


def breakdown(scored: pd.DataFrame, column: str) -> dict[str, Any]:
    """EER per value of ``column``.

    ``family`` and ``generator`` describe synthetic clips only, so each synthetic
    group is scored against all genuine test clips; other columns (language,
    condition, source) are compared within the group.
    """
    result: dict[str, Any] = {}
    labels, logits = scored["y"].to_numpy(), scored["logit"].to_numpy()
    synthetic_only = column in ("family", "generator")
    for value in sorted(set(scored.loc[scored["y"] == 1 if synthetic_only else slice(None), column])):
        if synthetic_only:
            mask = (scored["y"] == 0) | ((scored["y"] == 1) & (scored[column] == value))
        else:
            mask = scored[column] == value
        result[str(value) or "(none)"] = group_eer(labels[mask.to_numpy()], logits[mask.to_numpy()])
    return result


def audit_summary(corpus: Path) -> dict[str, Any] | None:
    """The corpus shortcut-audit result (``audit.json``), with its EER lifted to the top if found."""
    path = corpus / "audit.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text())

    def find_eer(node: Any) -> float | None:
        if isinstance(node, dict):
            for key in ("eer", "test_eer", "audit_eer"):
                if isinstance(node.get(key), (int, float)):
                    return float(node[key])
            for value in node.values():
                found = find_eer(value)
                if found is not None:
                    return found
        return None

    return {"eer": find_eer(data), "details": data}


def condition_ratios(conditions: dict[str, Any]) -> dict[str, float]:
    """EER of each condition divided by the clean EER (the "<= 2x clean" target)."""
    clean = next((conditions[c]["eer"] for c in CLEAN_CONDITIONS if c in conditions), None)
    if clean is None:
        return {}
    floor = max(clean, 1e-3)  # a clean EER of 0 would make every ratio infinite
    return {c: v["eer"] / floor for c, v in conditions.items() if v.get("eer") is not None}


def evaluate_folder(folder: str | Path, frame: pd.DataFrame, corpus: str | Path,
                    lofo: dict[str, Any] | None = None) -> dict[str, Any]:
    """Evaluate the model in ``folder`` on the test split and write metrics, plots and card.

    Parameters
    ----------
    folder : path
        A version folder (possibly still the temporary one during fit).
    frame : pd.DataFrame
        The corpus manifest.
    corpus : path
        The corpus folder (for ``audit.json``).
    lofo : dict, optional
        Leave-one-family-out results to store; kept from an earlier run if omitted.

    Returns
    -------
    dict
        The complete ``metrics.json`` content.
    """
    from train.card import write_card
    from train.plots import write_plots

    folder, corpus = Path(folder), Path(corpus)
    metrics_path = folder / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    calibration = Calibration.from_dict(json.loads((folder / "calibration.json").read_text()))
    config = FeatureConfig.load(folder / "features.json")
    scored = score_split(folder, frame, "test")
    labels, logits = scored["y"].to_numpy(), scored["logit"].to_numpy()
    metrics.setdefault("created", time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    metrics["test"] = split_metrics(labels, logits, calibration)
    metrics["breakdown"] = {column: breakdown(scored, column) for column in BREAKDOWNS}
    metrics["condition_eer_ratio_to_clean"] = condition_ratios(metrics["breakdown"]["condition"])
    metrics["audit"] = audit_summary(corpus)
    metrics["calibration"] = calibration.to_dict()
    metrics["tflite_bytes"] = (folder / "model.tflite").stat().st_size
    metrics["latency_ms_10s_clip"] = serving_latency_ms(folder / "model.tflite", config)
    if lofo is not None:
        metrics["lofo"] = lofo
    metrics["plots"] = write_plots(folder / "plots", scored, metrics)
    scored[["file", "label", "family", "generator", "language", "condition", "mean_logit", "max_logit",
            "p_synthetic"]].to_csv(folder / "scores.csv.gz", index=False, float_format="%.5g")
    atomic_write_text(metrics_path, json.dumps(metrics, indent=2, default=float) + "\n")
    card = write_card(folder, metrics, frame)
    for path in (metrics_path, card):
        path.chmod(0o644)  # atomic writes create private temp files; the app must read them
    return metrics


def lofo_test_sets(frame: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(family, test clips) per synthetic family: the corpus's own ``lofo_folds`` when available.

    The test clips are the test split's genuine clips plus the held-out family's.
    """
    try:
        from train.corpus.splits import lofo_folds
    except ImportError:  # the corpus package is optional for training on other manifests
        families = sorted(set(frame.loc[frame["y"] == 1, "family"]))
        test = frame[frame["split"] == "test"]
        return [(f, test[(test["y"] == 0) | (test["family"] == f)]) for f in families]
    return [(family, test) for family, _, test in lofo_folds(frame)]


def run_lofo(frame: pd.DataFrame, config: TrainConfig, cache_root: str | Path, run_dir: str | Path,
             epochs: int | None = None, max_minutes: float | None = None, quiet: bool = False,
             aggregation: str = "mean_logit", families: list[str] | None = None,
             previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """Leave-one-family-out: retrain without each synthetic family and score it on test.

    The held-out family is removed from train and validation (so neither stopping
    nor model choice sees it); its test clips are scored against all genuine test
    clips with the deployed ``aggregation``. EER needs no calibration, so a fold
    is reported even when it generalises worse than chance. ``families`` limits
    the folds run; their results replace those of the same families in
    ``previous`` (an earlier ``lofo`` entry), the others are kept.
    """
    from train.events import ProgressLog
    from train.fit import train_model

    results: dict[str, Any] = dict((previous or {}).get("families", {})) if families else {}
    for family, test in lofo_test_sets(frame):
        if families and family not in families:
            continue
        fold = replace(config, exclude_families=[family], epochs=epochs or config.epochs,
                       max_minutes=max_minutes if max_minutes is not None else config.max_minutes)
        log = ProgressLog(Path(run_dir) / f"lofo-{family}", quiet=quiet)
        started = time.monotonic()
        trained = train_model(frame, fold, cache_root, log, calibrated=False)
        clips, errors = build_clipset(test, trained.features, cache_root)
        scores = score_clips(keras_predictor(trained.model), clips.features, trained.features)
        entry = group_eer(clips.labels, scores[aggregation])
        entry["skipped_clips"] = len(errors)
        entry.update(val_eer_seen_families=trained.val_eer, epochs_run=trained.counts["epochs_run"],
                     train_s=round(time.monotonic() - started, 1))
        results[family] = entry
        log.event("done", family=family, eer=entry["eer"])
    eers = [v["eer"] for v in results.values() if v["eer"] is not None]
    results = dict(sorted(results.items()))
    return {"families": results, "mean_eer": float(np.mean(eers)) if eers else None,
            "epochs": epochs or config.epochs, "max_minutes": max_minutes, "arch": config.arch,
            "feature": config.feature, "aggregation": aggregation}


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
    metrics = evaluate_folder(folder, frame, args.corpus, lofo)
    summary = {"version": args.model, "test_eer": metrics["test"]["eer"],
               "lofo_mean_eer": (metrics.get("lofo") or {}).get("mean_eer")}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

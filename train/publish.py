"""Publish a trained model as a new version of the model store, atomically.

A version folder is assembled under ``<store>/.tmp-<version>/`` — LiteRT export,
feature configuration, calibration, training configuration, evaluation on the
test split, plots and model card — and appears under its name with one
``os.rename``, so the registry never sees half a version. The active pointer is
never touched: promotion is a separate, deliberate step.

This module writes the version's report (``metrics.json``, typed by
:mod:`detector.model_report`) and then the card from it: the trainer hands it a
:class:`~train.trained.TrainedModel`, :mod:`train.evaluate` and :mod:`train.heldout`
only compute, and ``python -m train.evaluate`` re-evaluates a stored version (with
its held-out folds) through :func:`write_evaluation`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

from detector import model_report
from detector.calibration import Calibration
from detector.features import feature_code
from detector.files import atomic_write_text
from detector.heldout_report import HeldOutBands, HeldOutReport
from detector.integrity import seal_folder
from detector.model_report import ModelReport, TrainingFigures, ValidationFigures, band_figures
from detector.typed_json import from_dict
from train.archs import build_model
from train.card import write_card
from train.channel_bands import with_channel_bands
from train.config import TrainConfig
from train.evaluate import evaluate_version, validation_scores
from train.events import ProgressLog
from train.export import export_tflite
from train.heldout_bands import final_bands, has_scores, rates_at
from train.plots import write_plots
from train.trained import TrainedModel

KERAS_MAX_BYTES = 3_000_000   # model.keras is optional; large ones would blow the store's size budget
SCORE_COLUMNS = ("file", "label", "family", "generator", "language", "condition", "mean_logit", "max_logit",
                 "p_synthetic")


def version_name(config: TrainConfig, out: Path, now: datetime | None = None) -> str:
    """Folder-safe, sortable version name such as ``20261122-0512-effnet-logspec``."""
    now = now or datetime.now()
    base = f"{now:%Y%m%d-%H%M}-{config.arch}-{config.feature}"
    name, counter = base, 2
    while (out / name).exists() or (out / f".tmp-{name}").exists():
        name, counter = f"{base}-{counter}", counter + 1
    return name


def corpus_version(corpus: Path) -> int | None:
    """The builder's ``corpus_version`` from ``summary.json`` (``None`` for v1 or a user's dataset)."""
    try:
        return json.loads((Path(corpus) / "summary.json").read_text()).get("corpus_version")
    except (OSError, ValueError):
        return None


def training_report(trained: TrainedModel, corpus: Path, name: str) -> ModelReport:
    """The training and validation part of the version's report."""
    report = trained.calibration_report
    return ModelReport(
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"), version=name, corpus=str(corpus),
        corpus_version=corpus_version(corpus), arch=trained.config.arch, feature=trained.config.feature,
        window_norm=trained.config.window_norm, feature_code=feature_code(trained.features), params=trained.params,
        training=from_dict(TrainingFigures, {
            **trained.timings, **trained.counts, "best_epoch": trained.best_epoch, "recipe": trained.config.recipe,
            "loss": trained.config.loss, "epochs": trained.config.epochs, "history": trained.history,
            "skipped_clips": len(trained.skipped)}),
        validation=ValidationFigures(
            eer=trained.val_eer, eer_by_aggregation=report.get("val_eer_by_aggregation", {}),
            aggregation=report.get("aggregation"),
            bands=band_figures(report["val_bands"]) if "val_bands" in report else None))


def save_keras(trained: TrainedModel, path: Path) -> None:
    """Save the weights as ``model.keras`` without optimizer state (3x smaller), if small enough."""
    bare = build_model(trained.config.arch, trained.features.input_shape, **trained.config.model_params())
    bare.set_weights(trained.model.get_weights())
    bare.save(path)
    if path.stat().st_size > KERAS_MAX_BYTES:
        path.unlink()  # the .tflite is what serves; keep the store within its 10 MB budget


@contextmanager
def assembled_version(out: Path, name: str) -> Iterator[Path]:
    """Yield ``out/.tmp-<name>``, created empty; then publish it as ``out/<name>`` with one atomic rename.

    Readers never see a half-written version: the store ignores dot-folders, and the
    folder is renamed only when the block finishes. On any failure (a cancel included)
    the temporary folder is removed and the error raised again.
    """
    temp = out / f".tmp-{name}"
    temp.mkdir()
    try:
        yield temp
        for path in temp.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)  # temp files are created private
        temp.chmod(0o755)
        os.rename(temp, out / name)  # atomic publish on one filesystem
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


def publish_version(trained: TrainedModel, corpus: Path, frame: pd.DataFrame, out: Path, log: ProgressLog,
                    evaluate: bool = True) -> Path:
    """Export, evaluate on test and publish ``out/<version>/`` with one atomic rename.

    Never writes ``out/active.json``: promotion is a separate, deliberate step.
    """
    if trained.calibration is None:
        raise ValueError("an uncalibrated model cannot be published: train it with calibrated=True")
    out.mkdir(parents=True, exist_ok=True)
    name = version_name(trained.config, out)
    # Named before the folder exists, so a job manager can remove it after a SIGKILL.
    log.event("export", version=name)
    with assembled_version(out, name) as temp:
        export_tflite(trained.model, temp / "model.tflite")
        trained.features.save(temp / "features.json")
        (temp / "calibration.json").write_text(json.dumps(trained.calibration.to_dict(), indent=2) + "\n")
        trained.config.save(temp / "train_config.json")
        save_keras(trained, temp / "model.keras")
        model_report.save(temp, training_report(trained, corpus, name))
        if evaluate:
            log.event("evaluate", version=name, split="test")
            write_evaluation(temp, frame, corpus)
        seal_folder(temp, name=name)   # last: the record covers every file the version ships (detector/integrity.py)
    return out / name


def narrowed(calibration: Calibration, genuine_below: float | None, synthetic_above: float | None) -> Calibration:
    """``calibration`` with each confident band shrunk to a held-out edge where that is stricter, never widened.

    An edge given as ``None`` (no fold could set it) leaves the calibration's edge as it is.
    """
    return replace(calibration,
                   genuine_below=min(calibration.genuine_below, genuine_below or calibration.genuine_below),
                   synthetic_above=max(calibration.synthetic_above, synthetic_above or calibration.synthetic_above))


def apply_heldout_bands(folder: str | Path, bands: HeldOutBands) -> dict[str, Any]:
    """Widen the version's uncertain band to the held-out folds' edges where they are stricter.

    Validation only knows the synthesisers and sources the model trained on; the
    held-out folds (:func:`train.heldout_bands.final_bands`) show how far never-heard ones
    reach into the confident bands. The stricter of the two edges is kept, so a band
    only ever narrows. Writes ``calibration.json`` atomically (the old edges are kept
    in it under ``validation_bands``) and returns its content.
    """
    path = Path(folder) / "calibration.json"
    stored = json.loads(path.read_text())
    validation = stored.get("validation_bands") or [stored["genuine_below"], stored["synthetic_above"]]
    at_validation = replace(Calibration.from_dict(stored), genuine_below=validation[0], synthetic_above=validation[1])
    tightened = narrowed(at_validation, bands.genuine_below, bands.synthetic_above)
    content = {**tightened.to_dict(), "validation_bands": validation, "bands_from": "validation and held-out folds",
               "heldout_max_error": bands.max_error}
    atomic_write_text(path, json.dumps(content, indent=2) + "\n", mode=0o644)
    return content


def write_evaluation(folder: str | Path, frame: pd.DataFrame, corpus: str | Path,
                     heldout: HeldOutReport | None = None,
                     validation: tuple[np.ndarray, np.ndarray] | None = None) -> ModelReport:
    """Evaluate the version in ``folder`` on the test split; write its report, scores, plots and card.

    Parameters
    ----------
    folder : path
        A version folder (possibly still the temporary one while publishing).
    frame : pd.DataFrame
        The corpus manifest.
    corpus : path
        The corpus folder (for ``audit.json``).
    heldout : HeldOutReport, optional
        Held-out results to store; kept from an earlier run if omitted. Their rates at
        the version's bands are recomputed here (the bands may have just changed).
    validation : tuple of np.ndarray, optional
        The version's validation probabilities and labels (:func:`train.evaluate.validation_scores`)
        when the caller has them; scored here when held-out results need them. Band edges do
        not change a probability, so scores taken before the bands were narrowed serve.

    Returns
    -------
    ModelReport
        The complete report, as written to ``metrics.json``.
    """
    folder = Path(folder)
    report = model_report.load(folder)
    if report.created is None:
        report = report.replace(created=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    figures, scored = evaluate_version(folder, frame, corpus)
    # The test figures say which corpus they come from: a re-score (Admin) may use a newer corpus than training.
    test = dataclasses.replace(figures.test, corpus=str(corpus), corpus_version=corpus_version(Path(corpus)))
    report = report.replace(test=test, breakdown=figures.breakdown, audit=figures.audit, serving=figures.serving)
    heldout = heldout if heldout is not None else report.heldout
    calibration = Calibration.from_dict(json.loads((folder / "calibration.json").read_text()))
    if heldout is not None and has_scores(heldout):   # bands and rates by rank, in this model's validation scores
        validation = validation if validation is not None else validation_scores(folder, frame)
        heldout = dataclasses.replace(heldout, bands=final_bands(heldout.folds, validation) or heldout.bands)
        heldout = with_channel_bands(rates_at(heldout, calibration, validation), validation)
    if heldout is not None:
        report = report.replace(heldout=heldout)
    report = report.replace(plots=write_plots(folder / "plots", scored, report, calibration))
    scored[list(SCORE_COLUMNS)].to_csv(folder / "scores.csv.gz", index=False, float_format="%.5g")
    model_report.save(folder, report)
    write_card(folder, report, frame).chmod(0o644)
    return report

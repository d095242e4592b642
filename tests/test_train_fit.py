"""End to end on a tiny generated corpus: fit -> version folder -> evaluate (with the held-out folds).

One real (short) training run is shared by the tests of this module.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from detector import model_report
from detector.audio import load_audio
from detector.config import FeatureConfig
from detector.features import feature_code, model_input
from detector.heldout_report import BandEdges
from detector.litert import LiteRTModel
from detector.metrics import compute_eer
from detector.registry import REQUIRED_FILES, ModelRegistry
from train.config import TrainConfig
from train.events import read_progress
from train.schema import LeakageError, find_leakage, read_manifest
from train.toy_corpus import make_toy_corpus, toy_recipe

ACTIVE = {"version": "someone-elses-model", "history": []}
STEP_KEYS = ("epoch", "step", "loss", "accuracy", "val_eer", "elapsed_s", "eta_s")


def toy_config(**changes) -> TrainConfig:
    """Small but real: the toy corpus's own 2-epoch recipe (seeded, so every run trains the same model)."""
    return toy_recipe(**changes)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from train.fit import fit

    root = tmp_path_factory.mktemp("fit")
    corpus = make_toy_corpus(root / "corpus")
    store = root / "store"
    store.mkdir()
    (store / "active.json").write_text(json.dumps(ACTIVE))
    before = (store / "active.json").stat().st_mtime_ns
    path = fit(corpus, toy_config(), out=store, run_dir=root / "run", cache_root=root / "cache", quiet=True)
    return {"root": root, "corpus": corpus, "store": store, "path": path, "run": root / "run",
            "active_mtime": before}


def test_toy_corpus_splits_share_no_speaker(trained) -> None:
    frame = read_manifest(trained["corpus"])
    assert not any(find_leakage(frame).values())
    speakers = {split: set(frame.loc[frame["split"] == split, "speaker"]) for split in ("train", "val", "test")}
    assert not (speakers["train"] & speakers["test"]) and not (speakers["train"] & speakers["val"])


def test_fit_publishes_a_complete_loadable_version(trained) -> None:
    path, store = trained["path"], trained["store"]
    for name in (*REQUIRED_FILES, "metrics.json", "card.md", "model.keras", "train_config.json"):
        assert (path / name).is_file(), name
    assert not [p for p in store.iterdir() if p.name.startswith(".tmp-")]
    version = ModelRegistry(store).load(path.name)
    assert version.features == FeatureConfig(feature=toy_config().feature)
    assert version.calibration.method == "platt" and version.calibration.scale > 0
    report = model_report.load(path)
    assert report.created and report.version == path.name and report == version.report
    assert report.feature_code == feature_code(version.features) and report.feature_code["features"] >= 1
    # The toy task is learnable: the model must really have learnt it.
    assert report.test.eer <= 0.2 and report.validation.eer <= 0.2
    assert version.test_eer == report.test.eer
    assert set(report.breakdown["family"]) == {"formant", "vocoder"}
    assert set(report.breakdown["condition"]) == {"clean", "noise"}
    confusion = np.array(report.test.at_deployed_threshold.confusion_matrix)
    assert confusion.sum() == report.test.n_genuine + report.test.n_synthetic == 24
    assert report.heldout is None and report.training.recipe == "quick"


def test_fit_never_touches_the_active_pointer(trained) -> None:
    pointer = trained["store"] / "active.json"
    assert json.loads(pointer.read_text()) == ACTIVE
    assert pointer.stat().st_mtime_ns == trained["active_mtime"]


def test_progress_jsonl_is_well_formed(trained) -> None:
    lines = (trained["run"] / "progress.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all("event" in r and "time" in r for r in records)
    epochs = [r for r in records if r["event"] == "epoch"]
    assert [r["epoch"] for r in epochs] == [1, 2]
    for record in (r for r in records if r["event"] in ("step", "epoch")):
        assert all(key in record for key in STEP_KEYS)
        assert record["loss"] > 0 and 0 <= record["accuracy"] <= 1 and record["eta_s"] >= 0
    assert all(0 <= r["val_eer"] <= 1 for r in epochs)
    elapsed = [r["elapsed_s"] for r in records if r["event"] in ("step", "epoch")]
    assert elapsed == sorted(elapsed)
    assert records[-1]["event"] == "done" and records[-1]["version"] == trained["path"].name
    assert read_progress(trained["run"]) == records


def test_keras_and_litert_agree_on_real_windows(trained) -> None:
    import keras

    path = trained["path"]
    config = FeatureConfig.load(path / "features.json")
    frame = read_manifest(trained["corpus"])
    clips = frame[frame["split"] == "test"]["path"].tolist()[:4]
    windows = np.concatenate([model_input(load_audio(c, config.sample_rate).samples, config).windows for c in clips])
    expected = np.asarray(keras.saving.load_model(path / "model.keras")(windows, training=False))
    np.testing.assert_allclose(LiteRTModel(path / "model.tflite")(windows), expected.reshape(-1), atol=1e-4)


def test_evaluate_cli_with_heldout_folds_writes_the_report_plots_and_card(trained, capsys) -> None:
    import plotly.io

    from train.evaluate.__main__ import main

    path = trained["path"]
    assert main(["--model", path.name, "--corpus", str(trained["corpus"]), "--store", str(trained["store"]),
                 "--heldout", "--heldout-bands", "--cache", str(trained["root"] / "cache"), "--quiet"]) == 0   # toy folds
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    report = model_report.load(path)
    assert summary["test_eer"] == report.test.eer
    folds = report.heldout.folds
    assert set(folds) == {"family:formant", "family:vocoder"} and all(0 <= v.eer <= 1 for v in folds.values())
    assert report.heldout.mean_eer == pytest.approx(np.mean([v.eer for v in folds.values()]))
    calibration = json.loads((path / "calibration.json").read_text())
    assert report.heldout.rates_measured_at == BandEdges(calibration["genuine_below"], calibration["synthetic_above"])
    for fold in folds.values():   # the toy recipe separates the classes even with a family held out
        assert fold.own_bands is not None and 0 <= fold.own_bands.synthetic_called_genuine <= 1
        assert len(fold.scores.labels) == fold.n_genuine + fold.n_synthetic and fold.at_shipped_bands is not None
    # The recorded test EER is reproducible from the saved per-clip scores.
    scores = pd.read_csv(path / "scores.csv.gz")
    column = json.loads((path / "calibration.json").read_text())["aggregation"]
    recomputed = compute_eer((scores["label"] == "synthetic").astype(int), scores[column])[0]
    assert recomputed == pytest.approx(report.test.eer, abs=1e-3)
    for name in ("roc", "det", "scores", "eer_by_family", "eer_by_condition", "heldout"):
        entry = report.plots[name]
        assert (path / entry.png).stat().st_size > 1000
        assert plotly.io.from_json((path / entry.plotly).read_text()).data
    card = (path / "card.md").read_text()
    assert f"{100 * report.test.eer:.2f} %" in card and "evidence, not proof" in card
    assert f"{100 * report.heldout.mean_eer:.2f} %" in card
    assert json.loads((trained["store"] / "active.json").read_text()) == ACTIVE


def test_fit_refuses_a_leaky_corpus_and_reports_the_error(trained, tmp_path) -> None:
    from train.fit import fit

    corpus = tmp_path / "leaky"
    shutil.copytree(trained["corpus"], corpus)
    manifest = pd.read_csv(corpus / "manifest.csv", dtype=str, keep_default_na=False)
    manifest.loc[manifest["split"] == "test", "speaker"] = manifest.loc[manifest["split"] == "train", "speaker"].iloc[0]
    manifest.to_csv(corpus / "manifest.csv", index=False)
    store = tmp_path / "store"
    with pytest.raises(LeakageError):
        fit(corpus, toy_config(epochs=1), out=store, run_dir=tmp_path / "run", cache_root=trained["root"] / "cache",
            quiet=True)
    last = read_progress(tmp_path / "run")[-1]
    assert last["event"] == "error" and "LeakageError" in last["message"]
    assert not store.exists() or not any(store.iterdir())


def test_training_is_repeatable_and_separates_the_toy_classes_in_two_epochs(trained, tmp_path) -> None:
    """Seeded and deterministic: the same recipe on the same data trains the same weights, on any machine."""
    from train.events import ProgressLog
    from train.fit import train_model

    frame = read_manifest(trained["corpus"])
    runs = [train_model(frame, toy_config(), trained["root"] / "cache", ProgressLog(tmp_path / f"run{i}", quiet=True))
            for i in range(2)]
    assert all(run.val_eer == 0.0 for run in runs)   # the toy classes are separable by construction
    for first, second in zip(runs[0].model.get_weights(), runs[1].model.get_weights()):
        np.testing.assert_array_equal(first, second)
    assert runs[0].calibration == runs[1].calibration

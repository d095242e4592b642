"""The encoder path end to end on the toy corpus: features, held-out bake-off, publish, a served verdict.

A 2-block random-weight encoder made by the shipped export code stands in for Whisper, so
the suite needs no 145 MB weights here; the toy corpus separates its classes by construction.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from encoder_helpers import random_variables

from detector.inference import Detector
from detector.registry import ModelRegistry
from train.encoder import bakeoff, features
from train.encoder.export import export_encoder
from train.encoder.heads import PooledLinear
from train.encoder.publish import publish
from train.heldout import available_folds
from train.schema import read_manifest
from train.toy_corpus import make_toy_corpus


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("encoder-pipeline")
    corpus = make_toy_corpus(root / "corpus", clips_per_speaker=4)
    encoder = export_encoder(2, root / "whisper-random-2.tflite", variables=random_variables(2, seed=4))
    return root, Path(corpus), encoder


def test_features_bakeoff_publish_and_serve(toy, monkeypatch):
    root, corpus, encoder = toy
    monkeypatch.setattr(features, "CACHE_ROOT", root / "cache")
    monkeypatch.setitem(bakeoff.CANDIDATES, "linear-012", lambda: PooledLinear((0, 1, 2)))
    frame = read_manifest(corpus)
    assert features.extract(frame, encoder) == {}
    cached = list((root / "cache").rglob("*.npz"))
    assert len(cached) == len(frame)
    with np.load(cached[0]) as entry:
        assert entry["stats"].shape == (3, 2, 512) and entry["sequence"].shape[1:] == (3, 512)

    frame, data = bakeoff.load_data(str(corpus), str(encoder), sequences=False)
    folds = {fold.name: bakeoff.run_fold("linear-012", data, frame, fold) for fold in available_folds(frame)}
    assert folds and all(entry["eer"] is not None for entry in folds.values())
    result = bakeoff.summarise("linear-012", data, frame, folds)
    assert result["bands"]["genuine_below"] < result["bands"]["synthetic_above"]
    assert result["test_eer"] < 0.5
    bakeoff_file = root / "linear-012.json"
    bakeoff_file.write_text(json.dumps(result))

    store = root / "store"
    folder = publish(str(corpus), str(encoder), "linear-012", str(bakeoff_file), store, "toy-encoder")
    registry = ModelRegistry(store)
    registry.promote("toy-encoder")   # checks files, reference scores and the shared encoder's digest
    report = registry.active().report
    assert report.test.eer == pytest.approx(result["test_eer"], abs=1e-4)   # served path = bake-off's final fit (rounded there)
    assert set(report.heldout.folds) == set(folds)
    detector = Detector.from_store(store)
    clip = frame.loc[frame["split"] == "test", "path"].iloc[0]
    analysis = detector.analyse(clip)
    assert analysis.verdict in ("likely_genuine", "uncertain", "likely_synthetic") and analysis.windows
    assert (folder / "encoder.json").is_file() and not (folder / encoder.name).exists()   # shared, not copied

"""Shared fixtures: a tiny LiteRT model store (random weights) and generated audio."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from detector.calibration import Calibration
from detector.config import FeatureConfig  # noqa: E402
from detector.registry import ModelRegistry  # noqa: E402

TINY_CONFIG = FeatureConfig(feature="mel", n_mels=40)


def build_tiny_version(folder: Path, seed: int, config: FeatureConfig = TINY_CONFIG) -> Path:
    """Write a complete model version with a small random-weight CNN exported to LiteRT."""
    import keras

    from train.export import export_tflite

    keras.utils.set_random_seed(seed)
    inputs = keras.Input(config.input_shape)
    x = keras.layers.Conv2D(4, 3, strides=2, activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(1)(x)
    model = keras.Model(inputs, outputs)
    folder.mkdir(parents=True, exist_ok=True)
    export_tflite(model, folder / "model.tflite")
    config.save(folder / "features.json")
    calibration = Calibration(scale=1.0, bias=0.0, genuine_below=0.3, synthetic_above=0.7, method="none")
    (folder / "calibration.json").write_text(json.dumps(calibration.to_dict()))
    metrics = {"created": "2026-11-22T00:00:00+00:00", "test": {"eer": 0.5}}
    (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / "card.md").write_text(f"# Tiny test model {folder.name}\nRandom weights, for tests only.\n")
    return folder


@pytest.fixture(scope="session")
def tiny_store_template(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("store-template")
    build_tiny_version(root / "v1", seed=1)
    build_tiny_version(root / "v2", seed=2)
    ModelRegistry(root).promote("v1")
    return root


@pytest.fixture
def tiny_store(tiny_store_template, tmp_path) -> Path:
    """A fresh copy of a store with versions v1 (active) and v2, per test."""
    root = tmp_path / "model_store"
    shutil.copytree(tiny_store_template, root)
    return root


@pytest.fixture(scope="session")
def tiny_detector(tiny_store_template):
    from detector.inference import Detector

    return Detector.from_store(tiny_store_template)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def downloads(monkeypatch) -> list[dict]:
    """Record what every st.download_button would hand the browser (AppTest does not expose the data)."""
    import streamlit

    calls: list[dict] = []
    original = streamlit.download_button

    def spy(label, data=None, **kwargs):
        calls.append({"label": label, "data": data, **kwargs})
        return original(label, data=data, **kwargs)

    monkeypatch.setattr(streamlit, "download_button", spy)
    return calls

"""Shared fixtures (a tiny LiteRT model store, generated audio) and the test tiers.

Every test is marked by what it loads (:mod:`tiers`): ``make test-fast`` leaves out
TensorFlow, AppTest, job and corpus-builder tests; ``make test`` runs them all. A
test that loads TensorFlow starts from fixed seeds with deterministic kernels, so
whether it passes cannot depend on the machine.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import tiers
from tiny_models import tiny_version

from detector import trust
from detector.registry import ModelRegistry

TEST_SEED = 1234

# Records the tests seal are signed with a key of the test session's own (detector.signing), never with the
# developer's or the server's; child processes (CLI, jobs) inherit it through the environment.
os.environ.pop("DETECTOR_STORE_KEY", None)
os.environ["DETECTOR_KEY_FILE"] = str(Path(tempfile.mkdtemp(prefix="detector-test-key-")) / "store.key")


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        for marker in tiers.markers_for(item):
            item.add_marker(marker)


def pytest_runtest_setup(item) -> None:
    """Seed Python, numpy and TensorFlow and make its kernels deterministic before any test that may train."""
    if item.get_closest_marker("tensorflow"):
        from train.fit import seed_everything

        seed_everything(TEST_SEED)


@pytest.fixture(scope="session")
def tiny_store_template(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("store-template")
    tiny_version(root / "v1", "tiny-a")  # mean of window logits, Platt scale 1.7, bias -0.4
    tiny_version(root / "v2", "tiny-b")  # max of window logits, Platt scale 0.6, bias 0.25
    trust.promote(ModelRegistry(root), "v1")
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


# A real model kept in the store for rollback whose behaviour on tests/clips is pinned
# (tests/test_pinned_scores.py): app logic that needs a real model's verdicts on real speech
# (spliced clips, clipping caps) is tested on it, so retraining the active model cannot
# silently change what those tests check.
PINNED_MODEL = "20261122-1412-effnet-melexc"
REPO_STORE = Path(__file__).resolve().parent.parent / "model_store"


@pytest.fixture(scope="session")
def pinned_store(tmp_path_factory) -> Path:
    """A store whose only, active, version is :data:`PINNED_MODEL` (copied from the repository store)."""
    root = tmp_path_factory.mktemp("pinned-store")
    shutil.copytree(REPO_STORE / PINNED_MODEL, root / PINNED_MODEL)
    trust.promote(ModelRegistry(root), PINNED_MODEL)
    return root


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

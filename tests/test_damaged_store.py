"""What the app says when the model store is damaged (issue 26, item 4): what happened, never a wrong story."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from test_registry_repair import truncate_model

from detector import trust
from detector.registry import ModelRegistry

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture
def app(tiny_store, monkeypatch):
    monkeypatch.setenv("DETECTOR_MODEL_STORE", str(tiny_store))
    return lambda: AppTest.from_file(APP, default_timeout=120).run()


def shown(at, kind: str) -> str:
    return " ".join(element.value for element in getattr(at, kind))


def test_a_corrupt_pointer_with_good_versions_serves_one_and_says_so(tiny_store, app):
    (tiny_store / "active.json").write_text("{not json")
    at = app()
    assert not at.exception
    warning = shown(at, "warning")
    assert "active.json" in warning and "corrupt" in warning and "Serving v2 instead" in warning
    assert "No model is available" not in shown(at, "info") and not at.error
    assert len(at.file_uploader) == 1   # the page works: a clip can be uploaded


def test_the_fallback_banner_tells_what_failed_not_a_promotion_story(tiny_store, app):
    trust.promote(ModelRegistry(tiny_store), "v2")   # active v2, history [v1]
    truncate_model(tiny_store, "v2")          # damaged on disk before this server started
    at = app()
    warning = shown(at, "warning")
    assert "'v2' is broken" in warning and "Serving v1 instead" in warning and "rollback" in warning
    assert "newly activated" not in warning


def test_no_good_version_says_none_passes_instead_of_train_one(tiny_store, app):
    (tiny_store / "active.json").write_text("{not json")
    for name in ("v1", "v2"):
        truncate_model(tiny_store, name)
    at = app()
    assert not at.exception
    assert "corrupt" in shown(at, "error")
    info = shown(at, "info")
    assert "2 version(s), but none passes its checks" in info and "No model is available yet" not in info


def test_an_empty_store_still_says_how_to_train_one(tmp_path, monkeypatch):
    monkeypatch.setenv("DETECTOR_MODEL_STORE", str(tmp_path / "empty"))
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert "No model is available yet" in shown(at, "info")

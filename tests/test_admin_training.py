"""Real training jobs (separate processes running train.fit) on a tiny generated corpus.

One job is started from the page and followed to the end (progress, curves,
results, promotion); another is killed with SIGKILL mid-training.
"""

from __future__ import annotations

import os
import signal

import pytest
from admin_helpers import PASSWORD, admin_app, chart_titles, login, progress_texts, table_with, texts, wait_for

from detector.registry import ModelRegistry
from train.config import TrainConfig
from webapp.jobs import JobManager, pid_alive

pytestmark = pytest.mark.slow
JOB_TIMEOUT_S = 300   # a 4-epoch fit takes ~40 s alone; the machine is shared


@pytest.fixture(scope="session")
def toy_data(tmp_path_factory):
    """A data root holding the built-in ``small`` corpus slot, filled with the toy corpus."""
    from train.toy_corpus import make_toy_corpus

    root = tmp_path_factory.mktemp("admin-data")
    make_toy_corpus(root / "corpus-small")
    return root


@pytest.fixture(scope="session")
def feature_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("admin-feature-cache")


@pytest.fixture
def train_env(tmp_path, tiny_store, toy_data, feature_cache, monkeypatch):
    monkeypatch.setenv("DETECTOR_MODEL_STORE", str(tiny_store))
    monkeypatch.setenv("DETECTOR_JOBS_ROOT", str(tmp_path / "jobs"))
    monkeypatch.setenv("DETECTOR_DATA_ROOT", str(toy_data))
    monkeypatch.setenv("DETECTOR_FEATURE_CACHE", str(feature_cache))
    monkeypatch.setenv("DETECTOR_ADMIN_PASSWORD", PASSWORD)
    return JobManager(tmp_path / "jobs")


def detect_serves() -> str:
    from app_pages._shared import get_service

    return get_service().get().name


def has_event(manager: JobManager, job, name: str) -> bool:
    return any(e.get("event") == name for e in manager.status(job).events)


def finished(manager: JobManager, job):
    status = manager.status(job)
    return status if status.finished and not pid_alive(job.pid) else None


def test_training_job_from_the_page_reports_progress_finishes_and_shows_results(train_env, tiny_store):
    manager, registry = train_env, ModelRegistry(tiny_store)
    at = login(admin_app().run())
    assert any("Corpus ready" in s for s in texts(at, "success"))
    recipe = TrainConfig()  # the form starts at the quick recipe (the defaults), not at numbers of its own
    assert (at.selectbox(key="arch").value, at.selectbox(key="feature").value) == (recipe.arch, recipe.feature)
    assert (at.number_input(key="epochs").value, at.number_input(key="batch").value) == (recipe.epochs, recipe.batch)
    assert at.number_input(key="lr").value == pytest.approx(recipe.lr)
    at.number_input(key="epochs").set_value(4)
    at.number_input(key="batch").set_value(16)
    next(b for b in at.button if b.label == "Start training").click()
    at.run()
    job = manager.current()
    assert job is not None and job.kind == "fit" and job.params["epochs"] == 4
    assert any("Running job" in s for s in texts(at, "subheader"))

    wait_for(lambda: has_event(manager, job, "epoch"), JOB_TIMEOUT_S)
    at.run()
    if not manager.status(job).finished:   # normally still training: the live panel shows it
        assert any("epoch" in p for p in progress_texts(at))
        assert "Accuracy and validation EER per epoch" in chart_titles(at)

    status = wait_for(lambda: finished(manager, job), JOB_TIMEOUT_S, interval=1.0)
    assert status.state == "done", f"{status.message}\n{(job.folder / 'stderr.log').read_text()[-3000:]}"
    version = status.version
    assert version in registry.versions() and registry.active_name() == "v1"   # trained, not promoted
    at.run()
    assert not at.exception
    assert table_with(at, "state")["state"].tolist() == ["done"]
    titles = chart_titles(at)
    for title in ("Confusion matrix at p = 0.5", "ROC (test)", "DET (test)", "Scores (test)", "Test EER by family",
                  "Test EER by condition", "Accuracy and validation EER per epoch"):
        assert title in titles, titles
    assert "Test EER" in [m.label for m in at.metric]
    breakdown = table_with(at, "by")
    assert {"family", "condition"} <= set(breakdown["by"])
    compare = table_with(at, "candidate")
    assert compare.loc["version"].tolist() == [version, "v1"]

    assert detect_serves() == "v1"
    at.button(key="promote_candidate").click()
    at.run()
    assert registry.active_name() == "v1"   # promotion waits for the admin's confirmation
    assert any(f"Promote **{version}**?" in w for w in texts(at, "warning"))
    at.button(key="confirm_yes").click()
    at.run()
    assert registry.active_name() == version and detect_serves() == version


def test_sigkill_during_training_leaves_the_registry_intact_and_shows_failed(train_env, tiny_store, feature_cache,
                                                                             toy_data):
    manager, registry = train_env, ModelRegistry(tiny_store)
    versions, pointer = registry.versions(), (tiny_store / "active.json").read_bytes()
    assert detect_serves() == "v1"
    config = TrainConfig(arch="effnet", feature="logspec", epochs=50, batch=16, lr=2e-3)
    job = manager.start_fit(toy_data / "corpus-small", tiny_store, config, extra=["--cache", str(feature_cache)])
    wait_for(lambda: has_event(manager, job, "step") or has_event(manager, job, "epoch"), JOB_TIMEOUT_S)
    assert manager.status(job).state == "running"   # mid-training: weights are being updated
    os.killpg(job.pid, signal.SIGKILL)
    status = wait_for(lambda: finished(manager, job), 30)
    assert status.state == "failed" and "ended without finishing" in status.message

    assert registry.versions() == versions
    assert (tiny_store / "active.json").read_bytes() == pointer
    assert registry.active_name() == "v1" and detect_serves() == "v1"
    assert manager.current() is None   # the stale lock is gone: a new job may start

    at = login(admin_app().run())
    assert table_with(at, "state")["state"].tolist() == ["failed"]
    assert any("Job failed" in e for e in texts(at, "error"))
    assert not any("Running job" in s for s in texts(at, "subheader"))
    assert not next(b for b in at.button if b.label == "Start training").disabled


def test_search_with_too_small_a_budget_fails_with_its_reason_on_the_page(train_env, toy_data, feature_cache):
    """The real ``train.tune`` command line as the page builds it; no trial fits in 1 s, so it fails clearly."""
    manager = train_env
    job = manager.start_tune(toy_data / "corpus-small", 1 / 60, TrainConfig(arch="effnet", feature="logspec"), 2,
                             extra=["--cache", str(feature_cache)])
    status = wait_for(lambda: finished(manager, job), JOB_TIMEOUT_S, interval=0.5)
    assert status.state == "failed" and "no trial finished within the budget" in status.message
    at = login(admin_app().run())
    assert any("no trial finished within the budget" in e for e in texts(at, "error"))

"""Admin page with a tiny model store: registry actions reach the Detect side, cancel, data selection."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import soundfile as sf
from admin_helpers import (
    FAKE_JOB,
    PASSWORD,
    admin_app,
    chart_titles,
    labels,
    login,
    progress_texts,
    set_admin_env,
    table_with,
    texts,
    wait_for,
)

from detector.registry import ModelRegistry
from webapp.jobs import JobManager, pid_alive


@pytest.fixture
def admin_env(tmp_path, tiny_store, monkeypatch):
    (tmp_path / "data").mkdir()
    return set_admin_env(monkeypatch, tmp_path, tiny_store)


def detect_serves() -> str:
    """The version the Detect page would use: the app's one cached ModelService."""
    from app_pages._shared import get_service

    return get_service().get().name


def click(at, key: str):
    at.button(key=key).click()
    return at.run()


def test_promote_rollback_delete_change_what_detect_serves(admin_env, tiny_store):
    registry = ModelRegistry(tiny_store)
    assert detect_serves() == "v1"
    at = login(admin_app().run())
    table = table_with(at, "active")
    assert table["version"].tolist() == ["v1", "v2"] and table["active"].tolist() == ["active", ""]
    assert "Download card" in [b.label for b in at.get("download_button")]
    assert at.button(key="promote").disabled   # v1 is already active
    at.selectbox(key="registry_pick").select("v2").run()
    at = click(at, "promote")
    # Promotion waits for a confirmation; "Cancel" leaves everything as it was.
    assert any("Promote **v2**?" in w for w in texts(at, "warning"))
    assert registry.active_name() == "v1"
    at = click(at, "confirm_cancel")
    assert registry.active_name() == "v1" and not any("Promote **v2**?" in w for w in texts(at, "warning"))
    at = click(at, "promote")
    at = click(at, "confirm_yes")
    assert "Promoted v2." in texts(at, "success")
    assert registry.active_name() == "v2"
    assert detect_serves() == "v2"   # no restart: the cached service reloads on the new pointer
    assert any("serves **v2**" in c for c in texts(at, "caption"))
    at = click(at, "rollback")
    assert any("Roll back from **v2**" in w for w in texts(at, "warning"))
    assert registry.active_name() == "v2"   # not before the confirmation
    at = click(at, "confirm_yes")
    assert "Rolled back to v1." in texts(at, "success")
    assert registry.active_name() == "v1" and detect_serves() == "v1"
    # Delete: the active version cannot be deleted; another one only after confirming.
    at.selectbox(key="registry_pick").select("v1").run()
    assert at.button(key="delete").disabled
    at.selectbox(key="registry_pick").select("v2").run()
    assert at.button(key="delete").disabled   # not confirmed yet
    at.checkbox(key="confirm_delete").check().run()
    at = click(at, "delete")
    assert "Deleted v2." in texts(at, "success")
    assert registry.versions() == ["v1"] and registry.active_name() == "v1" and detect_serves() == "v1"


def test_running_job_shows_live_progress_and_cancel_stops_it(admin_env, tmp_path):
    (tmp_path / "fakejob.py").write_text(FAKE_JOB)
    manager = JobManager(tmp_path / "jobs")
    job = manager.start("fit", [sys.executable, str(tmp_path / "fakejob.py"), "--run-dir", "{job}",
                                "--mode", "sleep", "--steps", "4"])
    wait_for(lambda: any(e["event"] == "epoch" for e in manager.status(job).events), 30)
    at = login(admin_app().run())
    assert any("Running job" in s for s in texts(at, "subheader"))
    assert any("epoch 1/1" in p and "validation EER 10.00%" in p for p in progress_texts(at))
    assert {"Training loss", "Accuracy and validation EER per epoch"} <= set(chart_titles(at))
    assert at.button(key=[b.key for b in at.button if b.label == "Start training"][0]).disabled   # one job at a time
    at = click(at, "cancel_job")
    assert not pid_alive(job.pid)
    assert manager.status(job).state == "cancelled"
    assert "Cancel job" not in labels(at)
    assert any("Job cancelled" in e for e in texts(at, "error"))
    assert table_with(at, "state")["state"].tolist() == ["cancelled"]


def test_dataset_folder_selection_is_confined(admin_env, tmp_path):
    data = tmp_path / "data" / "mine"
    for label in ("real", "fake"):
        (data / label).mkdir(parents=True)
        sf.write(data / label / "a.wav", np.zeros(1600, dtype=np.float32), 16000)
    at = login(admin_app().run())
    assert any("not built yet" in w for w in texts(at, "warning"))   # built-in small corpus missing
    assert "Build the corpus" in labels(at)
    at.radio(key="data_source").set_value("Dataset folder").run()
    assert "mine  (real/fake folders)" in at.selectbox(key="dataset_pick").options
    at.text_input(key="dataset_path").input("../../etc").run()
    assert any("outside the data root" in e for e in texts(at, "error"))
    start = [b for b in at.button if b.label == "Start training"][0]
    assert start.disabled
    at.selectbox(key="dataset_pick").select("mine  (real/fake folders)").run()
    assert not any("outside" in e for e in texts(at, "error"))
    assert not [b for b in at.button if b.label == "Start training"][0].disabled


FAKE_SEARCH = """
import json, sys
from pathlib import Path
run = Path(sys.argv[1])
def event(folder, name, **fields):
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "progress.jsonl", "a") as handle:
        handle.write(json.dumps({"event": name, **fields}) + "\\n")
event(run / "trial-00", "epoch", epoch=1, epochs=2, step=3, steps_per_epoch=3, loss=0.5, accuracy=0.7, val_eer=0.25)
event(run / "trial-00", "done", trial="00", val_eer=0.25, params=999)
(run / "best_config.json").write_text(json.dumps({"arch": "seed-cnn", "epochs": 2, "lr": 0.001}))
event(run, "done", best_val_eer=0.25, n_trials=1)
"""


def test_finished_search_shows_trials_and_trains_its_best_configuration(admin_env, tmp_path):
    manager = JobManager(tmp_path / "jobs")
    corpus = tmp_path / "data" / "corpus-small"
    search = manager.start("tune", [sys.executable, "-c", FAKE_SEARCH, "{job}"],
                           {"corpus": str(corpus), "budget_minutes": 1, "prepared": False})
    wait_for(lambda: manager.status(search).finished and not pid_alive(search.pid), 30)
    at = login(admin_app().run())
    trials = table_with(at, "val_eer")
    assert trials["trial"].tolist() == ["00"] and trials["val_eer"].tolist() == [0.25]
    assert any("seed-cnn" in str(j.value) for j in at.json)
    at = click(at, "train_best")
    fit = manager.current() or manager.jobs()[0]
    try:
        assert fit.kind == "fit" and fit.params["config"] == str(search.folder / "best_config.json")
        assert fit.params["corpus"] == str(corpus) and "--config" in fit.command and "--arch" not in fit.command
    finally:
        manager.cancel(fit, grace_s=5)


def test_the_page_process_never_imports_tensorflow(tmp_path):
    """Render the logged-in page in a fresh interpreter and list the TensorFlow/Keras modules it loaded."""
    import subprocess

    from admin_helpers import REPO
    from cli_helpers import subprocess_env

    script = """
import sys
from admin_helpers import admin_app, login, labels
at = login(admin_app().run())
assert "Log out" in labels(at) and not at.exception
print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras')))
"""
    env = subprocess_env(DETECTOR_ADMIN_PASSWORD=PASSWORD, DETECTOR_MODEL_STORE=str(tmp_path / "store"),
                         DETECTOR_JOBS_ROOT=str(tmp_path / "jobs"), DETECTOR_DATA_ROOT=str(tmp_path / "data"))
    result = subprocess.run([sys.executable, "-c", script], env=env, cwd=REPO, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"

"""Job runner: lock, status from progress + PID, cancel, the child wrapper, SIGKILL. Fake short-lived jobs only."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest
from admin_helpers import FAKE_JOB, wait_for
from cli_helpers import subprocess_env

from webapp.job_view import curves, progress_of
from webapp.jobs import LOCK_FILE, JobBusy, JobManager, pid_alive, process_start_time


@pytest.fixture
def fake(tmp_path: Path) -> Path:
    folder = tmp_path / "fakemods"
    folder.mkdir()
    (folder / "fakejob.py").write_text(FAKE_JOB)
    return folder


@pytest.fixture
def manager(tmp_path: Path) -> JobManager:
    return JobManager(tmp_path / "jobs")


def raw(fake: Path, mode: str, steps: int = 3) -> list[str]:
    """The fake as a plain process (no wrapper): SIGTERM kills it outright."""
    return [sys.executable, str(fake / "fakejob.py"), "--run-dir", "{job}", "--mode", mode, "--steps", str(steps)]


def wrapped(fake: Path, mode: str, steps: int = 3) -> list[str]:
    """The fake through train.job_runner, as the admin page launches train.fit."""
    return [sys.executable, "-m", "train.job_runner", "exec", "--run-dir", "{job}", "--", "fakejob",
            "--run-dir", "{job}", "--mode", mode, "--steps", str(steps)]


def poll(predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
    """The shared ``wait_for``, polling faster: these fake jobs live for a fraction of a second."""
    return wait_for(predicate, timeout, interval=0.05)


def wait_finished(manager: JobManager, job, timeout: float = 30.0):
    return poll(lambda: (s := manager.status(job)).finished and not pid_alive(job.pid) and s, timeout)


def test_finished_job_is_done_and_releases_the_lock(manager, fake):
    job = manager.start("fit", raw(fake, "finish"), {"note": "x"})
    assert job.pid and (manager.root / LOCK_FILE).exists()
    assert json.loads((job.folder / "job.json").read_text())["pid"] == job.pid
    status = wait_finished(manager, job)
    assert status.state == "done" and status.version == "fake-version"
    assert progress_of(status).fraction == 1.0
    assert manager.current() is None and not (manager.root / LOCK_FILE).exists()
    assert curves(status.events)["val_eer"] == [0.1]
    assert [j.id for j in manager.jobs()] == [job.id]


def test_one_job_at_a_time_then_cancel_frees_the_slot(manager, fake):
    job = manager.start("fit", raw(fake, "sleep"))
    poll(lambda: any(e["event"] == "epoch" for e in manager.status(job).events))
    status = manager.status(job)
    assert status.state == "running"
    progress = progress_of(status)
    assert progress.fraction == pytest.approx(1.0) and "epoch 1/1" in progress.text
    with pytest.raises(JobBusy):
        manager.start("fit", raw(fake, "finish"))
    assert manager.current().id == job.id
    assert manager.cancel(job, grace_s=5)
    assert manager.status(job).state == "cancelled"
    assert not pid_alive(job.pid)
    second = manager.start("fit", raw(fake, "finish"))
    assert wait_finished(manager, second).state == "done"


def test_stale_lock_from_a_dead_or_reused_pid_is_cleared(manager, fake):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    manager.root.mkdir(parents=True)
    (manager.root / LOCK_FILE).write_text(json.dumps({"job": "gone", "pid": dead.pid, "start_time": None}))
    assert manager.current() is None
    assert not (manager.root / LOCK_FILE).exists()
    # A live PID with another start time is a reused PID: also stale.
    (manager.root / LOCK_FILE).write_text(json.dumps({"job": "gone", "pid": os.getpid(),
                                                      "start_time": (process_start_time(os.getpid()) or 0) + 1}))
    job = manager.start("fit", raw(fake, "finish"))
    assert wait_finished(manager, job).state == "done"


def test_cancel_escalates_to_sigkill_when_sigterm_is_ignored(manager, fake):
    job = manager.start("fit", raw(fake, "ignore-term"))
    poll(lambda: any(e["event"] == "epoch" for e in manager.status(job).events))
    started = time.monotonic()
    assert manager.cancel(job, grace_s=1.0)
    assert 0.9 <= time.monotonic() - started < 10
    assert not pid_alive(job.pid)
    assert manager.status(job).state == "cancelled"
    assert manager.current() is None


def test_sigkill_without_done_line_is_failed(manager, fake):
    job = manager.start("fit", raw(fake, "sleep"))
    poll(lambda: any(e["event"] == "epoch" for e in manager.status(job).events))
    os.killpg(job.pid, signal.SIGKILL)
    status = poll(lambda: (s := manager.status(job)).finished and s)
    assert status.state == "failed"
    assert "ended without finishing" in status.message
    assert manager.current() is None


def test_wrapper_turns_sigterm_into_clean_cancel(manager, fake):
    job = manager.start("fit", wrapped(fake, "sleep"), env={"PYTHONPATH": str(fake)})
    poll(lambda: any(e["event"] == "epoch" for e in manager.status(job).events))
    assert (job.folder / "half-written").exists()
    assert manager.cancel(job, grace_s=10)
    status = manager.status(job)
    assert status.state == "cancelled"
    assert status.events[-1] == {**status.events[-1], "event": "error", "message": "Cancelled by the admin."}
    assert not (job.folder / "half-written").exists(), "the job's cleanup (finally) ran on SIGTERM"


@pytest.mark.parametrize("mode, state, message", [
    ("crash", "failed", "RuntimeError: boom"),
    ("exit3", "failed", "exited with code 3"),
    ("silent", "done", "fakejob finished"),
    ("finish", "done", None),
])
def test_wrapper_always_ends_with_a_terminal_event(manager, fake, mode, state, message):
    job = manager.start("fit", wrapped(fake, mode), env={"PYTHONPATH": str(fake)})
    status = wait_finished(manager, job)
    assert status.state == state
    terminal = [e for e in status.events if e["event"] in ("done", "error")]
    assert len(terminal) == 1
    if message:
        assert message in terminal[0].get("message", "")


def test_admin_password_is_not_passed_to_jobs(manager, monkeypatch):
    monkeypatch.setenv("DETECTOR_ADMIN_PASSWORD", "secret")
    job = manager.start("probe", [sys.executable, "-c",
                                  "import os; print(os.environ.get('DETECTOR_ADMIN_PASSWORD', 'absent'))"])
    poll(lambda: not pid_alive(job.pid))
    assert (job.folder / "stdout.log").read_text().strip() == "absent"


def test_prepare_dataset_with_the_corpus_adapters(tmp_path):
    """A real/fake folder becomes an absolute-path manifest inside the job folder."""
    import numpy as np
    import soundfile as sf

    from train.job_runner import prepare_dataset
    from train.schema import read_manifest

    data = tmp_path / "mydata"
    for label in ("real", "fake"):
        (data / label).mkdir(parents=True)
        for index in range(4):
            sf.write(data / label / f"{label}{index}.wav", np.zeros(16000, dtype=np.float32), 16000)
    run_dir = tmp_path / "job"
    run_dir.mkdir()
    corpus = prepare_dataset(data, run_dir)
    frame = read_manifest(corpus)
    assert len(frame) == 8 and sorted(set(frame["label"])) == ["genuine", "synthetic"]
    assert all(Path(p).is_file() and Path(p).is_relative_to(data) for p in frame["path"])


def test_search_progress_is_time_based_with_trials(tmp_path):
    from datetime import datetime, timedelta, timezone

    from train.events import append_event
    from webapp.job_records import Job, JobStatus
    from webapp.job_view import latest_trial_events, tune_trials

    folder = tmp_path / "tune-job"
    for trial, events in (("00", [("epoch", {"val_eer": 0.3}), ("done", {"val_eer": 0.2, "params": 1234})]),
                          ("01", [("step", {"loss": 0.5, "step": 1}), ("epoch", {"val_eer": 0.4, "loss": 0.4})])):
        (folder / f"trial-{trial}").mkdir(parents=True)
        for name, fields in events:
            append_event(folder / f"trial-{trial}", name, **fields)
        time.sleep(0.02)   # trials are ordered by modification time
    created = (datetime.now(timezone.utc) - timedelta(seconds=30)).isoformat()
    job = Job(id="t", kind="tune", folder=folder, command=[], params={"budget_minutes": 1}, created=created)
    progress = progress_of(JobStatus(job, "running", []))
    assert progress.fraction == pytest.approx(0.5, abs=0.05) and progress.eta_s == pytest.approx(30, abs=3)
    assert progress.text == "Searching: trial 2, best validation EER so far 20.00%"
    rows = tune_trials(folder)
    assert [(r["trial"], r["state"], r["val_eer"]) for r in rows] == [("00", "done", 0.2), ("01", "running", 0.4)]
    assert curves(latest_trial_events(folder))["val_eer"] == [0.4]


def test_job_outlives_the_process_that_started_it(tmp_path, fake):
    """Like an app restart: the launcher exits, the job keeps running and another process sees it finish."""
    launcher = ("from webapp.jobs import JobManager\n"
                f"job = JobManager({str(tmp_path / 'jobs')!r}).start('fit', {raw(fake, 'finish', steps=20)!r})\n"
                "print(job.id)")
    job_id = subprocess.run([sys.executable, "-c", launcher], capture_output=True, text=True, check=True,
                            timeout=60, env=subprocess_env()).stdout.strip()
    manager = JobManager(tmp_path / "jobs")
    job = manager.get(job_id)
    assert pid_alive(job.pid, job.start_time) and manager.current().id == job_id
    assert wait_finished(manager, job).state == "done"
    assert manager.current() is None


@pytest.mark.parametrize("last_event", ["export", "evaluate"])
def test_killed_fit_leaves_no_half_written_version(manager, fake, tmp_path, last_event):
    from train.events import append_event

    store = tmp_path / "store"
    (store / ".tmp-v9").mkdir(parents=True)      # what train.fit was exporting when killed
    (store / ".tmp-other").mkdir()               # someone else's export: left alone
    job = manager.start("fit", raw(fake, "sleep"), {"store": str(store)})
    poll(lambda: any(e["event"] == "epoch" for e in manager.status(job).events))
    append_event(job.folder, last_event, version="v9")
    assert progress_of(manager.status(job)).fraction == 0.99   # export and evaluation: the last stretch
    os.killpg(job.pid, signal.SIGKILL)
    assert poll(lambda: (s := manager.status(job)).finished and s).state == "failed"
    assert sorted(p.name for p in store.iterdir()) == [".tmp-other"]


def test_a_training_job_carries_its_whole_configuration_as_one_file(manager, tmp_path):
    """The form's TrainConfig reaches train.fit unchanged through ``--config``: no option list kept by hand."""
    from dataclasses import replace

    from train.config import TrainConfig
    from train.fit import build_parser, config_from_args

    config = replace(TrainConfig(), arch="seed-cnn", feature="mel", epochs=3, batch=8, lr=1.5e-3,
                     speaker_balance=0.25, exclude_families=["x"])
    job = manager.start_fit(tmp_path / "corpus", tmp_path / "store", config, ["--cache", str(tmp_path / "cache")])
    manager.cancel(job, grace_s=5)
    written = job.folder / "fit_config.json"
    assert job.params["config"] == str(written) and written.is_file()
    assert job.params["epochs"] == 3 and job.params["arch"] == "seed-cnn"
    module_args = job.command[job.command.index("train.fit") + 1:]
    assert "--arch" not in module_args and "--epochs" not in module_args
    assert config_from_args(build_parser().parse_args(module_args)) == config


def test_a_search_job_passes_the_base_architecture_and_features(manager, tmp_path):
    from train.config import TrainConfig

    job = manager.start_tune(tmp_path / "corpus", 1, TrainConfig(arch="seed-cnn", feature="lfcc"), 3)
    manager.cancel(job, grace_s=5)
    module_args = job.command[job.command.index("train.tune") + 1:]
    assert module_args[module_args.index("--arch") + 1] == "seed-cnn"
    assert module_args[module_args.index("--features") + 1] == "lfcc"
    assert (job.params["arch"], job.params["feature"], job.params["max_trials"]) == ("seed-cnn", "lfcc", 3)

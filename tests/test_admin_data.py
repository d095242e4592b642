"""Data root confinement, dataset discovery and the corpus-build job (with a fake builder)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from train.events import read_events
from webapp.data_root import DataPathError, builtin_corpus_dir, data_root, detect_layout, list_datasets, resolve_inside
from webapp.job_records import Job, JobStatus
from webapp.job_view import progress_of


@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    base = tmp_path / "data"
    (base / "corpus-small").mkdir(parents=True)
    (base / "corpus-small" / "manifest.csv").write_text("file,label\n")
    (base / "fakeorreal" / "training" / "real").mkdir(parents=True)
    (base / "fakeorreal" / "training" / "fake").mkdir(parents=True)
    (base / "itw").mkdir()
    (base / "itw" / "meta.csv").write_text("file,speaker,label\n")
    (base / "asv" / "protocols").mkdir(parents=True)
    (base / "asv" / "protocols" / "keys.txt").write_text("LA_0079 LA_T_1 - - bonafide\n")
    (base / "group" / "itw2").mkdir(parents=True)
    (base / "group" / "itw2" / "meta.csv").write_text("file,speaker,label\n")
    (base / "empty").mkdir()
    outside = tmp_path / "outside"
    (outside / "real").mkdir(parents=True)
    (outside / "fake").mkdir()
    os.symlink(outside, base / "escape")
    monkeypatch.setenv("DETECTOR_DATA_ROOT", str(base))
    return base


def test_paths_are_confined_to_the_data_root(root, tmp_path):
    assert data_root() == root.resolve()
    assert resolve_inside("itw") == (root / "itw").resolve()
    assert resolve_inside(str(root / "itw")) == (root / "itw").resolve()
    for bad in ("../outside", str(tmp_path / "outside"), "escape", "itw/../../outside", "/etc", ""):
        with pytest.raises(DataPathError):
            resolve_inside(bad)
    with pytest.raises(DataPathError, match="not an existing folder"):
        resolve_inside("missing")


def test_datasets_are_found_with_their_layout(root):
    found = {d.relative: d.layout for d in list_datasets()}
    assert found == {"corpus-small": "manifest", "fakeorreal": "real/fake folders", "itw": "In-the-Wild (meta.csv)",
                     "asv": "ASVspoof protocol", "group/itw2": "In-the-Wild (meta.csv)"}   # no "escape" symlink
    assert detect_layout(root / "empty") is None


def test_builtin_corpus_folders_follow_the_corpus_cli(root):
    assert builtin_corpus_dir("small") == root.resolve() / "corpus-small"
    assert builtin_corpus_dir("default") == root.resolve() / "corpus"
    with pytest.raises(ValueError):
        builtin_corpus_dir("huge")


def test_corpus_job_reports_progress_and_done(tmp_path, monkeypatch):
    """The corpus job entry point with a stand-in builder (the real one downloads packages)."""
    import train.corpus
    from train import job_runner

    def fake_build(out, size, progress=None, **kwargs):
        for done in range(4):
            progress(done, 4, f"rendering {size}")
        Path(out).mkdir(parents=True, exist_ok=True)
        return {"clips": 4, "hours": 0.01, "build_s": 0.1}

    monkeypatch.setattr(train.corpus, "build", fake_build)
    monkeypatch.setattr(job_runner, "CORPUS_EVENT_EVERY_S", 0.0)
    run_dir = tmp_path / "job"
    run_dir.mkdir()
    assert job_runner.build_corpus(str(tmp_path / "corpus-small"), "small", run_dir) == 0
    events = read_events(run_dir / "progress.jsonl")
    assert events[0]["event"] == "start" and events[-1]["event"] == "done" and events[-1]["clips"] == 4
    job = Job(id="x", kind="corpus", folder=run_dir, command=[])
    progress = progress_of(JobStatus(job, "running", events[:-1]))
    assert progress.fraction == 0.75 and "Building the corpus: 3/4 — rendering small" == progress.text

    def failing_build(out, size, progress=None, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(train.corpus, "build", failing_build)
    assert job_runner.build_corpus(str(tmp_path / "c2"), "small", run_dir) == 1
    assert read_events(run_dir / "progress.jsonl")[-1] == {**read_events(run_dir / "progress.jsonl")[-1],
                                                            "event": "error", "message": "OSError: no network"}


def test_head_retraining_progress_names_the_phase_and_the_fold(tmp_path):
    job = Job(id="x", kind="encoder", folder=tmp_path, command=[])
    features = [{"event": "features", "done": 400, "total": 1600, "message": "first run on this corpus: encoding "
                 "all 1600 clips once"}]
    progress = progress_of(JobStatus(job, "running", features))
    assert progress.fraction == 0.25 and progress.text.startswith("Computing features: 400/1600 — first run")
    folds = features + [{"event": "fold", "done": 3, "total": 12, "message": "held out: family:formant"}]
    progress = progress_of(JobStatus(job, "running", folds))
    assert progress.fraction == 0.25
    assert progress.text == "Refitting without each held-out part: 3/12 — held out: family:formant"


def _at(seconds: float) -> str:
    """An event time ``seconds`` after a fixed start, written as train.events writes it."""
    from datetime import datetime, timedelta, timezone

    start = datetime(2026, 12, 6, 12, 0, 0, tzinfo=timezone.utc)
    return (start + timedelta(seconds=seconds)).isoformat(timespec="seconds")


def test_eta_comes_from_the_pace_of_the_progress_events(tmp_path):
    """Issue 34: "ETA unknown" stayed for a whole head retraining. Its features and folds are counted
    (done/total with a time on each line): their pace gives the time left in the step."""
    from datetime import datetime

    job = Job(id="x", kind="encoder", folder=tmp_path, command=[])
    start = datetime.fromisoformat(_at(0)).timestamp()
    features = [{"event": "features", "done": 100, "total": 1600, "time": _at(0)},
                {"event": "features", "done": 400, "total": 1600, "time": _at(60)}]   # 300 clips a minute
    progress = progress_of(JobStatus(job, "running", features), now=start + 60)
    assert progress.eta_s == pytest.approx(240.0)
    assert progress.eta_words == "about 4 min 00 s left in this step"
    # It counts down between reports, and never below zero.
    assert progress_of(JobStatus(job, "running", features), now=start + 90).eta_s == pytest.approx(210.0)
    assert progress_of(JobStatus(job, "running", features), now=start + 900).eta_words == "a few seconds left in this step"
    # A new phase has its own pace: the folds are timed from their own first line, not the features'.
    folds = features + [{"event": "fold", "done": 0, "total": 12, "time": _at(100)},
                        {"event": "fold", "done": 3, "total": 12, "time": _at(190)}]   # 30 s a fold
    assert progress_of(JobStatus(job, "running", folds), now=start + 190).eta_s == pytest.approx(270.0)


@pytest.mark.parametrize("events", [
    [],                                                                               # nothing reported yet
    [{"event": "features", "done": 0, "total": 1600, "time": _at(0)}],                # one line: no pace yet
    [{"event": "features", "done": 1600, "total": 1600, "time": _at(0)}],             # the step just ended
    [{"event": "fold", "done": 12, "total": 12, "time": _at(0)}, {"event": "export", "time": _at(5)}],
    [{"event": "evaluate", "time": _at(5)}],
    [{"event": "start", "arch": "cnn", "time": _at(0)}],
    [{"event": "step", "epoch": 1, "epochs": 2, "step": 1, "steps_per_epoch": 9, "eta_s": None}],
])
def test_without_an_estimate_the_caption_says_what_the_job_is_doing(tmp_path, events):
    progress = progress_of(JobStatus(Job(id="x", kind="encoder", folder=tmp_path, command=[]), "running", events))
    assert progress.eta_s is None
    assert "unknown" not in progress.eta_words and len(progress.eta_words) > 20


def test_training_keeps_the_trainers_own_estimate(tmp_path):
    step = {"event": "step", "epoch": 1, "epochs": 2, "step": 3, "steps_per_epoch": 9, "eta_s": 75.0}
    progress = progress_of(JobStatus(Job(id="x", kind="fit", folder=tmp_path, command=[]), "running", [step]))
    assert progress.eta_words == "about 1 min 15 s left in training"

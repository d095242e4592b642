"""Housekeeping (issue 17 item 12): job folders are pruned, a tiny dataset gets a sentence."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from train.events import read_events
from train.job_runner import dataset_problem, run_module
from webapp.jobs import KEEP_ENV, JobManager, keep_jobs

MANIFEST_HEADER = "file,label,source,speaker,language,family,generator,derived_from,split,condition,duration_s\n"


def fake_finished_job(root: Path, job_id: str) -> None:
    folder = root / job_id
    folder.mkdir(parents=True)
    (folder / "job.json").write_text(json.dumps({"id": job_id, "kind": "fit", "command": ["true"]}))
    (folder / "progress.jsonl").write_text(json.dumps({"event": "done", "version": None}) + "\n")


def test_starting_a_job_keeps_only_the_newest_n_folders(tmp_path, monkeypatch):
    monkeypatch.setenv(KEEP_ENV, "5")
    root = tmp_path / "jobs"
    for day in range(1, 13):
        fake_finished_job(root, f"202611{day:02d}-120000-fit")
    (root / "notes").mkdir()   # not a job folder: left alone
    manager = JobManager(root)
    job = manager.start("fit", [sys.executable, "-c", "pass"])
    remaining = sorted(p.name for p in root.iterdir() if (p / "job.json").is_file())
    assert len(remaining) == 5 and job.id in remaining
    assert remaining[:4] == [f"202611{day:02d}-120000-fit" for day in range(9, 13)]
    assert (root / "notes").is_dir()


def test_the_running_job_is_never_pruned(tmp_path):
    root = tmp_path / "jobs"
    manager = JobManager(root)
    job = manager.start("fit", [sys.executable, "-c", "import time; time.sleep(5)"])
    for day in range(1, 4):
        fake_finished_job(root, f"29990{day}01-000000-fit")   # sorts after (looks newer than) the running one
    try:
        removed = manager.prune(2)
        assert job.id not in removed and (root / job.id).is_dir()
    finally:
        manager.cancel(job, grace_s=1)


@pytest.mark.parametrize("value, expected", [("3", 3), ("0", 1), ("lots", 20)])
def test_keep_setting(monkeypatch, value, expected):
    monkeypatch.setenv(KEEP_ENV, value)
    assert keep_jobs() == expected


def write_manifest(folder: Path, rows: list[tuple[str, str]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"{i}.wav,{label},src,spk{i},en,fam,gen,,{split},original,3.0" for i, (label, split) in enumerate(rows)]
    (folder / "manifest.csv").write_text(MANIFEST_HEADER + "\n".join(lines) + "\n")
    return folder


def test_a_tiny_dataset_fails_with_a_sentence_not_key_error(tmp_path):
    # One genuine and one synthetic clip, both put in the train split: the probe's "KeyError: 'y'".
    corpus = write_manifest(tmp_path / "dataset", [("genuine", "train"), ("synthetic", "train")])
    run_dir = tmp_path / "job"
    run_dir.mkdir()
    code = run_module("train.fit", ["--corpus", str(corpus), "--out", str(tmp_path / "store"),
                                    "--run-dir", str(run_dir), "--quiet"], run_dir)
    assert code == 2
    error = [e for e in read_events(run_dir / "progress.jsonl") if e["event"] == "error"][-1]["message"]
    assert error.startswith("The dataset is too small to train on: its val split has no genuine and no synthetic")
    assert "KeyError" not in error


def test_a_dataset_with_every_split_filled_passes_the_check(tmp_path):
    rows = [(label, split) for split in ("train", "val", "test") for label in ("genuine", "synthetic")]
    assert dataset_problem(write_manifest(tmp_path / "ok", rows) / "manifest.csv") is None
    no_test = [r for r in rows if r[1] != "test"]
    manifest = write_manifest(tmp_path / "no-test", no_test) / "manifest.csv"
    assert "test split" in dataset_problem(manifest)
    assert dataset_problem(manifest, ("train", "val")) is None   # a search does not test

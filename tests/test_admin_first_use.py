"""What a first-time admin meets on the Admin page (issue 16, defect 8): the shipped versions' evaluation,
the login form, the forms' defaults, following the newest job and a job that ended before the page refreshed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from admin_helpers import FAKE_JOB, PASSWORD, admin_app, chart_titles, login, set_admin_env, texts, wait_for
from conftest import REPO_STORE
from streamlit.testing.v1 import AppTest

from webapp.auth import MAX_FAILURES
from webapp.jobs import JobManager, pid_alive


@pytest.fixture
def admin_env(tmp_path, tiny_store, monkeypatch):
    (tmp_path / "data").mkdir()
    return set_admin_env(monkeypatch, tmp_path, tiny_store)


def test_every_shipped_version_shows_its_evaluation_picked_by_version(admin_env, monkeypatch):
    """No job was ever run here, yet each registry version's own plots and metrics are shown."""
    monkeypatch.setenv("DETECTOR_MODEL_STORE", str(REPO_STORE))   # read only: nothing is promoted here
    active = json.loads((REPO_STORE / "active.json").read_text())["version"]
    at = login(admin_app().run())
    assert not at.exception
    assert at.selectbox(key="registry_pick").value == active   # the picker starts on the active version
    assert f"Evaluation of {active}" in texts(at, "subheader")
    titles = chart_titles(at)
    for wanted in ("Confusion matrix at p = 0.5", "ROC (test)", "DET (test)", "Test EER by family",
                   "Held-out EER (part unseen in training)"):
        assert wanted in titles, titles
    older = next(name for name in at.selectbox(key="registry_pick").options if name != active)
    at.selectbox(key="registry_pick").select(older).run()
    assert not at.exception
    assert f"Evaluation of {older}" in texts(at, "subheader")
    shown = json.loads(next(c.proto.spec for c in at.get("plotly_chart") if "ROC (test)" in c.proto.spec))
    shipped = json.loads((REPO_STORE / older / "plots" / "roc.json").read_text())
    assert shown["data"][0]["y"] == shipped["data"][0]["y"]   # the picked version's own curve
    # Beside the active version, for comparison.
    compare = next(d.value for d in at.dataframe if "candidate" in d.value.columns)
    assert compare.loc["version"].tolist() == [older, active]


def test_empty_password_is_not_a_failed_attempt(admin_env):
    at = admin_app().run()
    for _ in range(MAX_FAILURES + 2):
        at = login(at, "")
        assert "Type the admin password first." in texts(at, "warning")
        assert not at.error
    at = login(at, PASSWORD)   # not locked out by the empty presses
    assert "Log out" in [b.label for b in at.button]


def test_forms_start_on_the_same_recipe_and_the_corpus_tooltip_is_true(admin_env):
    at = login(admin_app().run())
    assert at.selectbox(key="tune_feature").value == at.selectbox(key="feature").value
    assert at.selectbox(key="tune_arch").value == at.selectbox(key="arch").value
    build = at.button(key="build_corpus")
    assert build.help and "download" not in build.help.lower()
    assert "Debian packages" in build.help


def fake_job(manager: JobManager, script: Path, mode: str):
    return manager.start("fit", [sys.executable, str(script), "--run-dir", "{job}", "--mode", mode,
                                 "--steps", "2"])


def test_show_job_follows_the_newest_job_when_it_ends(admin_env, tmp_path):
    script = tmp_path / "fakejob.py"
    script.write_text(FAKE_JOB)
    manager = JobManager(tmp_path / "jobs")
    first = fake_job(manager, script, "finish")
    wait_for(lambda: manager.status(first).finished and not pid_alive(first.pid), 30)
    at = login(admin_app().run())
    assert at.selectbox(key="job_pick").value == first.id
    second = fake_job(manager, script, "crash")
    wait_for(lambda: manager.status(second).finished and not pid_alive(second.pid), 30)
    at.run()
    assert at.selectbox(key="job_pick").value == second.id
    assert any("Job failed" in e for e in texts(at, "error"))
    # A pick made by hand sticks while nothing new happens.
    at.selectbox(key="job_pick").select(first.id).run()
    at.run()
    assert at.selectbox(key="job_pick").value == first.id


LIVE_SCRIPT = """
import streamlit as st
from app_pages.admin_jobs import live_job
live_job(JOB_ID)
"""


def test_a_job_that_ended_is_not_drawn_as_running_before_the_page_refreshes(admin_env, tmp_path, monkeypatch):
    """The live panel asks for a full rerun before drawing a finished job, so the screen never shows
    "Running job" with a failed icon, a second copy of the charts and a Cancel button."""
    import streamlit

    script = tmp_path / "fakejob.py"
    script.write_text(FAKE_JOB)
    manager = JobManager(tmp_path / "jobs")
    job = fake_job(manager, script, "crash")
    wait_for(lambda: manager.status(job).finished and not pid_alive(job.pid), 30)

    class RerunAsked(Exception):
        pass

    asked = []

    def rerun(*args, **kwargs):   # stop where the real rerun would: what was drawn before it stays visible
        asked.append(kwargs)
        raise RerunAsked

    monkeypatch.setattr(streamlit, "rerun", rerun)
    at = AppTest.from_string(LIVE_SCRIPT.replace("JOB_ID", repr(job.id)), default_timeout=30)
    at.run()   # the script imports app_pages from the repository root: on sys.path via pyproject
    assert asked and at.exception   # the rerun was asked for (and stopped the script there)
    assert not at.subheader and not at.get("plotly_chart") and not at.button and not at.get("progress")


# A stand-in for a head retraining that ends when the test says so: a "go" file in its folder.
WAITING_JOB = """
import json, sys, time
from pathlib import Path
run = Path(sys.argv[1])
def event(name, **fields):
    with open(run / "progress.jsonl", "a") as handle:
        handle.write(json.dumps({"event": name, **fields}) + "\\n")
event("fold", done=1, total=4, message="held out: family:formant")
while not (run / "go").exists():
    time.sleep(0.05)
event("done", version="v9-candidate")
"""


def test_a_finished_job_keeps_its_panel_saying_how_it_ended_and_what_to_do_next(admin_env, tmp_path):
    """Issue 34: when a job ended, its panel vanished and "Finished: version …" appeared only far down
    under "Jobs and results"."""
    manager = JobManager(tmp_path / "jobs")
    job = manager.start("encoder", [sys.executable, "-c", WAITING_JOB, "{job}"])
    wait_for(lambda: manager.status(job).events, 30)
    at = login(admin_app().run())
    assert any("Running job" in s for s in texts(at, "subheader"))
    assert texts(at, "subheader")[0] == ":material/hourglass_top: Running job"   # the first section of the page
    caption = next(c for c in texts(at, "caption") if c.startswith(f"Job `{job.id}`"))
    assert "unknown" not in caption and "refitting without each held-out part" in caption   # what it is doing
    (job.folder / "go").write_text("")
    wait_for(lambda: manager.status(job).finished and not pid_alive(job.pid), 30)
    at.run()
    assert not at.exception
    headings = texts(at, "subheader")
    assert headings[0] == ":material/check_circle: Job finished"   # in the same place as the live panel was
    assert "Running job" not in " ".join(headings)
    done = next(s for s in texts(at, "success") if "v9-candidate" in s)
    assert "not promoted" in done and "promote" in done.split("not promoted")[1] and "Jobs and results" in done
    # Dismissed, it goes; the job stays listed under "Jobs and results".
    at.button(key="dismiss_finished_job").click().run()
    assert "Job finished" not in " ".join(texts(at, "subheader")) and "Jobs and results" in texts(at, "subheader")


def test_finished_panel_words_for_each_kind_of_job(tmp_path):
    from webapp.job_records import Job, JobStatus
    from webapp.job_view import finished_words

    def words(kind, state="done", version=None, message="", params=None):
        job = Job(id="j", kind=kind, folder=tmp_path, command=[], params=params or {})
        return finished_words(JobStatus(job, state, [], message, version))

    assert words("fit", version="v7")[0] == "success" and "**v7**" in words("fit", version="v7")[1]
    assert "Train with the best configuration" in words("tune")[1]
    assert "choose it under *Data*" in words("corpus", params={"out": "data/corpus-small"})[1]
    assert "re-scored" in words("rescore", params={"model": "v1", "corpus": "data/corpus"})[1]
    tone, text = words("fit", "failed", message="RuntimeError: boom\ntraceback")
    assert tone == "error" and text.startswith("Job failed: RuntimeError: boom.") and "traceback" not in text
    assert words("fit", "cancelled")[0] == "info"

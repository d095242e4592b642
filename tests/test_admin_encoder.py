"""A real Whisper head retraining job started from the admin page, on the toy corpus.

The job runs ``train.encoder.retrain`` in its own process with the shared 4-block encoder
that ``make encoder`` converts (linked into the test's store, not copied): features, the
held-out folds, a sealed version that is not promoted until the admin confirms.
"""

from __future__ import annotations

import pytest
from admin_helpers import REPO, admin_app, login, progress_texts, table_with, texts, wait_for

from detector.registry import ModelRegistry
from train.events import read_events
from webapp.jobs import JobManager, pid_alive

pytestmark = pytest.mark.slow
ENCODER = REPO / "model_store" / "encoders" / "whisper-base-4.tflite"
JOB_TIMEOUT_S = 420


@pytest.fixture
def encoder_env(tmp_path, tiny_store, monkeypatch):
    from train.toy_corpus import make_toy_corpus

    assert ENCODER.is_file(), "the shared encoder is made by `make encoder` (a prerequisite of `make test`)"
    (tiny_store / "encoders").mkdir()
    for suffix in (".tflite", ".json"):
        (tiny_store / "encoders" / ENCODER.with_suffix(suffix).name).symlink_to(ENCODER.with_suffix(suffix))
    make_toy_corpus(tmp_path / "data" / "corpus-small")
    monkeypatch.setenv("DETECTOR_MODEL_STORE", str(tiny_store))
    monkeypatch.setenv("DETECTOR_JOBS_ROOT", str(tmp_path / "jobs"))
    monkeypatch.setenv("DETECTOR_DATA_ROOT", str(tmp_path / "data"))
    monkeypatch.setenv("DETECTOR_FEATURE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("DETECTOR_ADMIN_PASSWORD", "correct horse battery staple")
    return JobManager(tmp_path / "jobs")


def test_head_retraining_from_the_page_publishes_a_version_the_admin_can_promote(encoder_env, tiny_store, tmp_path):
    manager, registry = encoder_env, ModelRegistry(tiny_store)
    at = login(admin_app().run())
    assert at.selectbox(key="encoder_head").value == "fused-01234-temporal-0123"   # the shipped kind of head
    assert any("first run on a corpus encodes every clip once" in c for c in texts(at, "caption"))
    next(b for b in at.button if b.label == "Start head retraining").click()
    at.run()
    job = manager.current()
    assert job is not None and job.kind == "encoder" and job.params["candidate"] == "fused-01234-temporal-0123"
    status = wait_for(lambda: (s := manager.status(job)).finished and not pid_alive(job.pid) and s, JOB_TIMEOUT_S,
                      interval=1.0)
    assert status.state == "done", f"{status.message}\n{(job.folder / 'stderr.log').read_text()[-3000:]}"
    events = read_events(job.progress_path)
    assert "first run on this corpus" in events[0]["message"]
    assert len(list((tmp_path / "cache" / "encoder").rglob("*.npz"))) == 96   # the job's own cache, every clip
    assert any(e["event"] == "fold" for e in events)
    version = status.version
    assert version in registry.versions() and registry.active_name() == "v1"   # not promoted
    assert registry.load(version).report.heldout.folds   # bands and figures from held-out folds

    at.run()
    assert not at.exception and table_with(at, "state")["state"].tolist() == ["done"]
    assert any(version in p for p in progress_texts(at))
    at.button(key="promote_candidate").click()
    at.run()
    at.button(key="confirm_yes").click()
    at.run()
    assert registry.active_name() == version   # the shared encoder's digest and reference scores checked out

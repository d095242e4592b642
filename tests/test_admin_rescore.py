"""Admin's re-score never leaves a sealed version failing its own check (issue 31, item 5).

The re-score job rewrote ``metrics.json`` and ``card.md`` of the picked version (by default
the active one) without sealing it again; the active version then failed its integrity
check and, after a restart, the previous version served.
"""

from __future__ import annotations

import json

import pytest
from admin_helpers import admin_app, login, set_admin_env, texts, wait_for

from detector import trust
from detector.integrity import INTEGRITY_FILE
from detector.registry import ModelRegistry
from webapp.auth import THROTTLE
from webapp.service import ModelService

JOB_TIMEOUT_S = 240


@pytest.fixture
def admin_with_corpus(tmp_path, tiny_store, monkeypatch):
    from train.toy_corpus import make_toy_corpus

    set_admin_env(monkeypatch, tmp_path, tiny_store)
    make_toy_corpus(tmp_path / "data" / "corpus-small")   # the built-in corpus slot the page offers first
    THROTTLE.reset()
    return tiny_store


def test_rescoring_the_active_version_from_the_page_keeps_it_sealed_and_serving(admin_with_corpus):
    store = admin_with_corpus
    before = json.loads((store / "v1" / INTEGRITY_FILE).read_text())
    at = login(admin_app().run())
    assert not at.exception
    button = at.button(key="rescore")
    assert button.label.startswith("Re-score v1 on ")   # the active version is the default pick
    button.click()
    at.run()

    def finished() -> bool:
        at.run()
        return any("Finished" in t or "finished" in t for t in texts(at, "success") + texts(at, "markdown")) \
            or json.loads((store / "v1" / INTEGRITY_FILE).read_text())["sealed"] != before["sealed"]

    wait_for(finished, JOB_TIMEOUT_S, interval=1.0)
    wait_for(lambda: json.loads((store / "v1" / INTEGRITY_FILE).read_text()) != before, 30)
    report = json.loads((store / "v1" / "metrics.json").read_text())
    assert report["test"]["corpus"].endswith("corpus-small")   # it was really re-scored on the toy corpus
    trust.check(ModelRegistry(store), "v1")                     # and its record matches what it now holds
    service = ModelService(store)                               # a restarted server still serves it
    assert service.get().name == "v1" and service.last_error is None


def test_a_version_that_fails_its_check_is_not_rescored(admin_with_corpus, tmp_path):
    import subprocess
    import sys

    from cli_helpers import subprocess_env

    store = admin_with_corpus
    (store / "v2" / "card.md").write_text("edited by hand")
    before = (store / "v2" / "metrics.json").read_text()
    result = subprocess.run([sys.executable, "-m", "train.evaluate", "--model", "v2", "--corpus",
                             str(tmp_path / "data" / "corpus-small"), "--store", str(store), "--quiet"],
                            capture_output=True, text=True, env=subprocess_env(), timeout=300)
    assert result.returncode != 0 and "not re-scored" in result.stderr
    assert "card.md is not the file recorded" in result.stderr
    assert (store / "v2" / "metrics.json").read_text() == before   # nothing was written

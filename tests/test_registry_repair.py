"""A model store that can be repaired as its messages say (issue 17 items 4, 5, 9, 10, 11)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from admin_helpers import PASSWORD, admin_app, login, table_with, texts
from audio_fixtures import encode, voice_like
from cli_helpers import run_cli

from detector import trust
from detector.errors import ModelError
from detector.registry import ModelRegistry
from webapp.auth import THROTTLE
from webapp.service import ModelService

BAD_POINTERS = {
    "not json": "{not json",
    "version is a number": json.dumps({"version": 5, "history": []}),
    "history is null": json.dumps({"version": "v1", "history": None}),
    "history of numbers": json.dumps({"version": "v1", "history": [1, 2]}),
    "a list": json.dumps(["v1"]),
    "a path as version": json.dumps({"version": "../v1", "history": []}),
}


def truncate_model(store: Path, name: str) -> None:
    model = store / name / "model.tflite"
    model.write_bytes(model.read_bytes()[: model.stat().st_size // 2])


@pytest.fixture
def clip(tmp_path) -> Path:
    path = tmp_path / "clip.wav"
    path.write_bytes(encode(voice_like(3.0), 16000, "wav"))
    return path


# Item 9: a pointer with the wrong shape is one sentence; issue 26: the newest good version serves meanwhile ---
@pytest.mark.parametrize("text", BAD_POINTERS.values(), ids=BAD_POINTERS.keys())
def test_a_malformed_pointer_is_one_sentence_and_the_newest_good_version_serves(tiny_store, clip, text):
    (tiny_store / "active.json").write_text(text)
    with pytest.raises(ModelError, match="corrupt"):
        ModelRegistry(tiny_store).active_name()
    code, _, err = run_cli("score", str(clip), store=tiny_store)
    assert code == 0 and "Traceback" not in err
    assert err.startswith("warning: ") and "corrupt" in err and "promote" in err and str(tiny_store) not in err
    assert "Serving v2 instead" in err and "model v2" in err
    service = ModelService(tiny_store)   # the app: serves v2 and says why
    assert service.get().name == "v2"
    assert "corrupt" in service.last_error and "Serving v2 instead" in service.last_error


def test_a_malformed_pointer_with_no_good_version_is_exit_two(tiny_store, clip):
    (tiny_store / "active.json").write_text("{not json")
    for name in ("v1", "v2"):
        truncate_model(tiny_store, name)
    code, _, err = run_cli("score", str(clip), store=tiny_store)
    assert code == 2 and err.startswith("error: ") and "corrupt" in err and "Traceback" not in err
    with pytest.raises(ModelError, match="corrupt"):
        ModelService(tiny_store).get()


# Item 4: promote repairs a corrupt pointer, from the CLI and from Admin ---------------------------------
@pytest.mark.parametrize("text", BAD_POINTERS.values(), ids=BAD_POINTERS.keys())
def test_promote_rewrites_a_corrupt_pointer(tiny_store, text):
    (tiny_store / "active.json").write_text(text)
    code, out, err = run_cli("promote", "v2", store=tiny_store)
    assert code == 0, err
    assert ModelRegistry(tiny_store).active_name() == "v2"
    code, out, _ = run_cli("models", store=tiny_store)
    assert code == 0 and out.splitlines()[1].startswith("* v2")


# Issue 31 item 6: any unreadable pointer falls back with a true sentence, and promote and rollback rewrite it ---
UNREADABLE_POINTERS = {
    "deep nesting": b"[" * 100_000 + b"]" * 100_000,
    "zero bytes": b"",
    "binary": bytes(range(256)) * 8,
    "a huge valid document": json.dumps({"version": "v1", "history": ["v1"] * 50_000}).encode(),
}


@pytest.mark.parametrize("content", UNREADABLE_POINTERS.values(), ids=UNREADABLE_POINTERS.keys())
def test_an_unreadable_pointer_serves_the_newest_good_version_and_is_repairable(tiny_store, clip, content):
    (tiny_store / "active.json").write_bytes(content)
    with pytest.raises(ModelError, match="corrupt or unreadable"):
        ModelRegistry(tiny_store).pointer()
    version, notice = trust.serving_version(ModelRegistry(tiny_store))
    assert version.name == "v2" and "Serving v2 instead" in notice
    code, _, err = run_cli("score", str(clip), store=tiny_store)
    assert code == 0 and "Traceback" not in err and "Serving v2 instead" in err
    code, out, err = run_cli("rollback", store=tiny_store)   # no history to read: the newest good version
    assert code == 0 and "Traceback" not in err and out.strip() == "Active model: v2"
    assert "It now names v2" in err
    assert ModelRegistry(tiny_store).pointer() == {"version": "v2", "history": []}
    (tiny_store / "active.json").write_bytes(content)
    code, out, err = run_cli("promote", "v1", store=tiny_store)
    assert code == 0 and "Traceback" not in err and "It was rewritten" in err
    assert ModelRegistry(tiny_store).pointer() == {"version": "v1", "history": []}


def test_a_pointer_to_a_missing_version_with_no_history_serves_the_newest_good_one(tiny_store):
    (tiny_store / "active.json").write_text(json.dumps({"version": "gone", "history": []}))
    version, notice = trust.serving_version(ModelRegistry(tiny_store))
    assert version.name == "v2"
    assert "'gone' does not exist" in notice and "Serving v2 instead, the newest version in the store" in notice
    service = ModelService(tiny_store)
    assert service.get().name == "v2" and "Serving v2 instead" in service.last_error


def test_rollback_with_no_good_earlier_version_says_so(tiny_store):
    code, _, err = run_cli("rollback", store=tiny_store)   # v1 active, empty history
    assert code == 2 and "no earlier model version" in err and "Traceback" not in err


def test_models_still_lists_versions_when_the_pointer_is_corrupt(tiny_store):
    (tiny_store / "active.json").write_text(json.dumps({"version": 5}))
    code, out, err = run_cli("models", store=tiny_store)
    assert code == 0 and "corrupt" in err
    assert [line.split()[0] for line in out.splitlines()] == ["v1", "v2"]


@pytest.fixture
def admin_store(tmp_path, tiny_store, monkeypatch):
    monkeypatch.setenv("DETECTOR_MODEL_STORE", str(tiny_store))
    monkeypatch.setenv("DETECTOR_JOBS_ROOT", str(tmp_path / "jobs"))
    monkeypatch.setenv("DETECTOR_DATA_ROOT", str(tmp_path / "data"))
    monkeypatch.setenv("DETECTOR_ADMIN_PASSWORD", PASSWORD)
    (tmp_path / "data").mkdir()
    THROTTLE.reset()
    return tiny_store


@pytest.mark.parametrize("content", [b"{not json", UNREADABLE_POINTERS["deep nesting"], UNREADABLE_POINTERS["binary"]],
                         ids=["not json", "deep nesting", "binary"])
def test_admin_shows_the_registry_and_repairs_a_corrupt_pointer(admin_store, content):
    (admin_store / "active.json").write_bytes(content)
    at = login(admin_app().run())
    assert not at.exception
    assert any("corrupt" in e and "promote" in e for e in texts(at, "error"))
    assert table_with(at, "active")["version"].tolist() == ["v1", "v2"]
    at.selectbox(key="registry_pick").select("v2").run()
    assert not at.button(key="promote").disabled
    at.button(key="promote").click()
    at.run()
    at.button(key="confirm_yes").click()   # promotion asks for a confirmation first
    at.run()
    assert "Promoted v2." in texts(at, "success")
    assert ModelRegistry(admin_store).active_name() == "v2"


# Item 5: promotion builds the model and scores a probe -----------------------------------------------
def test_a_truncated_model_is_not_promoted_and_listed_as_broken(tiny_store):
    truncate_model(tiny_store, "v2")
    code, _, err = run_cli("promote", "v2", store=tiny_store)
    assert code == 2 and "v2" in err and "broken" in err
    assert ModelRegistry(tiny_store).active_name() == "v1"
    code, out, _ = run_cli("models", store=tiny_store)
    lines = out.splitlines()
    assert lines[0].startswith("* v1") and "broken" not in lines[0]
    assert lines[1].startswith("  v2") and "broken" in lines[1]


def test_a_model_whose_input_does_not_match_its_features_is_refused(tiny_store):
    features = json.loads((tiny_store / "v2" / "features.json").read_text())
    (tiny_store / "v2" / "features.json").write_text(json.dumps({**features, "n_mels": 64}))
    with pytest.raises(ModelError, match="broken"):
        trust.promote(ModelRegistry(tiny_store), "v2")


# Item 10: a broken active model falls back to the newest good one in the history ----------------------
def test_a_broken_active_model_falls_back_to_the_history_and_names_rollback(tiny_store, clip):
    trust.promote(ModelRegistry(tiny_store), "v2")   # active v2, history [v1]
    truncate_model(tiny_store, "v2")          # broken after promotion (a disk fault, a bad copy)
    service = ModelService(tiny_store)        # a restarted server
    assert service.get().name == "v1"
    assert "v2" in service.last_error and "rollback" in service.last_error
    assert str(tiny_store) not in service.last_error
    code, out, err = run_cli("score", str(clip), store=tiny_store)
    assert code == 0 and "rollback" in err and "model v1" in err


def test_with_no_good_version_left_the_error_is_the_active_ones(tiny_store):
    trust.promote(ModelRegistry(tiny_store), "v2")
    truncate_model(tiny_store, "v1")
    truncate_model(tiny_store, "v2")
    with pytest.raises(ModelError, match="'v2' is broken"):
        ModelService(tiny_store).get()


# Item 11: no server paths in what users read --------------------------------------------------------
def test_model_store_errors_carry_no_server_paths(tiny_store, tmp_path):
    registry = ModelRegistry(tiny_store)
    messages = []
    for action in (lambda: registry.load("v9"), lambda: ModelRegistry(tmp_path / "none").active()):
        with pytest.raises(ModelError) as info:
            action()
        messages.append(str(info.value))
    (tiny_store / "active.json").write_text("{")
    with pytest.raises(ModelError) as info:
        registry.active_name()
    messages.append(str(info.value))
    assert messages and not any(str(tmp_path) in m or "/" in m.replace("</", "") for m in messages), messages


def test_detect_serves_the_fallback_and_says_how_to_roll_back(tiny_store, monkeypatch):
    from streamlit.testing.v1 import AppTest

    trust.promote(ModelRegistry(tiny_store), "v2")
    truncate_model(tiny_store, "v2")
    monkeypatch.setenv("DETECTOR_MODEL_STORE", str(tiny_store))
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=120).run()
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "v2" in warnings and "rollback" in warnings and "v1" in warnings
    assert not any("No model is available" in i.value for i in at.info)
    assert len(at.file_uploader) == 1   # the page works: a clip can be uploaded

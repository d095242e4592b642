"""A model version proves it is intact (issue 26, item 1): file hashes and reference scores.

The damage from the issue: three bits flipped in the (then active) CNN's ``model.tflite`` still
give finite scores, so the old probe passed it, and every clip then scored 0.938937.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from admin_helpers import admin_app, login, set_admin_env, table_with, texts
from cli_helpers import run_cli
from conftest import REPO_STORE

from detector import trust
from detector.errors import ModelError
from detector.integrity import INTEGRITY_FILE, file_digests, reference_clips, reference_scores, seal, verify
from detector.registry import ModelRegistry
from detector.signing import load_key, sign
from webapp.auth import THROTTLE
from webapp.service import ModelService

SHIPPED_CNNS = ("20261122-1412-effnet-melexc", "20261130-0747-effnet-melexc")
ACTIVE, OLDER = SHIPPED_CNNS[1], SHIPPED_CNNS[0]
FLIPPED_BYTES = (123747, 170199, 246939)   # the issue's reproduction: XOR 0x40 at each


@pytest.fixture(scope="module")
def real_store(tmp_path_factory) -> Path:
    """The two shipped CNNs, the newer active, plus ``v-const``: it with the issue's three bits flipped."""
    root = tmp_path_factory.mktemp("real-store")
    for name in SHIPPED_CNNS:
        shutil.copytree(REPO_STORE / name, root / name)
    (root / "active.json").write_text(json.dumps({"version": ACTIVE, "history": [OLDER]}))
    shutil.copytree(REPO_STORE / ACTIVE, root / "v-const")
    model = root / "v-const" / "model.tflite"
    data = bytearray(model.read_bytes())
    for offset in FLIPPED_BYTES:
        data[offset] ^= 0x40
    model.write_bytes(bytes(data))
    return root


@pytest.fixture
def store(real_store, tmp_path) -> Path:
    root = tmp_path / "store"
    shutil.copytree(real_store, root)
    return root


def forge_hash(folder: Path, file: str = "model.tflite") -> None:
    """What a forger who knows the record would do: write the damaged file's hash into it."""
    record = json.loads((folder / INTEGRITY_FILE).read_text())
    record["files"][file] = file_digests(folder)[file]
    (folder / INTEGRITY_FILE).write_text(json.dumps(record))


def test_the_shipped_versions_are_sealed_and_intact():
    registry = ModelRegistry(REPO_STORE)
    assert set(SHIPPED_CNNS) < set(registry.versions())   # and the encoder version that is active now
    for name in registry.versions():
        record = json.loads((REPO_STORE / name / INTEGRITY_FILE).read_text())
        assert {"model.tflite", "features.json", "calibration.json", "metrics.json", "card.md"} <= set(record["files"])
        labels = {entry["label"] for entry in record["references"]}
        assert labels == {"genuine", "synthetic"}
        trust.check(registry, name)   # raises if a hash or a reference score differs


def test_the_bit_flip_from_the_issue_is_refused_at_promote(store):
    code, out, err = run_cli("promote", "v-const", store=store)
    assert code == 2 and "Active model" not in out
    assert "'v-const' failed its integrity check" in err and "model.tflite" in err and "SHA-256" in err
    assert ModelRegistry(store).active_name() == ACTIVE
    code, out, _ = run_cli("models", store=store)
    assert "v-const  broken: " in out and "integrity" in out


def resign(folder: Path) -> None:
    """Sign the folder's record, as it is, with this server's key: what the reference scores must still catch."""
    record = json.loads((folder / INTEGRITY_FILE).read_text())
    record.pop("signature", None)
    record["version"] = folder.name
    record["signature"] = sign(record, load_key(create=True))
    (folder / INTEGRITY_FILE).write_text(json.dumps(record))


def test_a_forged_hash_without_the_key_is_refused(store):
    # Issue 31 item 4: a store writer rewrites the damaged file's hash; the record is then neither shipped nor signed.
    load_key(create=True)   # the server has its key (whether an earlier test already sealed something or not)
    forge_hash(store / "v-const")
    with pytest.raises(ModelError, match="'v-const' failed its integrity check: its record is not one this project "
                                         "shipped and its signature does not match"):
        trust.promote(ModelRegistry(store), "v-const")
    assert ModelRegistry(store).active_name() == ACTIVE


def test_the_bit_flip_is_refused_by_the_reference_scores_when_the_hash_is_forged(store):
    forge_hash(store / "v-const")
    resign(store / "v-const")   # even a record signed with the key cannot vouch for a model that stopped listening
    with pytest.raises(ModelError) as info:
        trust.promote(ModelRegistry(store), "v-const")
    message = str(info.value)
    assert "'v-const' failed its integrity check" in message and "genuine reference recording" in message
    assert "0.938937" in message   # the constant score the issue saw for every clip
    assert ModelRegistry(store).active_name() == ACTIVE


def test_a_one_byte_change_with_finite_unchanged_outputs_is_refused_by_the_hash(store):
    target = store / "v-edit"
    shutil.copytree(store / ACTIVE, target)
    data = bytearray((target / "model.tflite").read_bytes())
    offset = data.find(b"MLIR Converted.")
    assert offset > 0
    data[offset] ^= 0x20   # "MLIR" -> "mLIR" in the description: the model computes exactly as before
    (target / "model.tflite").write_bytes(bytes(data))
    registry = ModelRegistry(store)
    version = registry.load("v-edit")
    recorded = json.loads((target / INTEGRITY_FILE).read_text())["references"]
    now = reference_scores(version, reference_clips())
    assert [r["clip_logit"] for r in now] == pytest.approx([r["clip_logit"] for r in recorded], abs=1e-6)
    with pytest.raises(ModelError, match="model.tflite is not the file recorded"):
        trust.promote(registry, "v-edit")


def test_a_changed_recorded_score_is_refused(store):
    # The reference-score check on its own: the files are untouched, the record's score is not.
    path = store / OLDER / INTEGRITY_FILE
    record = json.loads(path.read_text())
    record["references"][0]["clip_logit"] += 0.01
    path.write_text(json.dumps(record))
    resign(store / OLDER)
    with pytest.raises(ModelError, match="failed its integrity check: it scores the"):
        trust.check(ModelRegistry(store), OLDER)


def test_a_version_without_a_record_is_refused_until_sealed(store):
    (store / OLDER / INTEGRITY_FILE).unlink()   # deleting the record must not switch the check off
    with pytest.raises(ModelError, match="has no integrity record"):
        trust.promote(ModelRegistry(store), OLDER)
    code, out, err = run_cli("seal", OLDER, store=store)
    assert code == 0 and out.startswith(f"Sealed {OLDER}"), err
    trust.promote(ModelRegistry(store), OLDER)
    assert ModelRegistry(store).active_name() == OLDER


def test_a_model_that_ignores_its_input_cannot_be_sealed(store):
    with pytest.raises(ModelError, match="same score"):
        seal(ModelRegistry(store).load("v-const"))
    code, _, err = run_cli("seal", "v-const", store=store)
    assert code == 2 and "same score" in err


def test_a_damaged_active_version_falls_back_at_start_up_and_says_so(store):
    (store / "active.json").write_text(json.dumps({"version": "v-const", "history": [ACTIVE, OLDER]}))
    service = ModelService(store)   # a restarted server
    assert service.get().name == ACTIVE
    notice = service.last_error
    assert "'v-const' failed its integrity check" in notice and "model.tflite" in notice
    assert f"Serving {ACTIVE} instead" in notice and str(store) not in notice


def test_admin_promote_refuses_the_damaged_version_and_the_registry_shows_why(store, tmp_path, monkeypatch):
    set_admin_env(monkeypatch, tmp_path, store)
    (tmp_path / "data").mkdir()
    THROTTLE.reset()
    at = login(admin_app().run())
    assert not at.exception
    table = table_with(at, "active")
    row = table[table["version"] == "v-const"].iloc[0]
    assert "failed its integrity check" in row["test EER"]
    at.selectbox(key="registry_pick").select("v-const").run()
    assert at.button(key="promote").disabled   # a version that fails its check cannot be promoted
    # A forged promote (the disabled button bypassed, the confirmation asked for) is refused all the same.
    at.session_state["admin_confirm"] = ("promote", "v-const", "registry")
    at.run()
    at.button(key="confirm_yes").click()
    at.run()
    assert any("'v-const' failed its integrity check" in e for e in texts(at, "error"))
    assert not any("Promoted v-const" in s for s in texts(at, "success"))
    assert ModelRegistry(store).active_name() == ACTIVE


def test_verify_reads_the_hashes_every_time(store):
    registry = ModelRegistry(store)
    version = trust.check(registry, OLDER)            # passes, and its reference scores are remembered
    model = store / OLDER / "model.tflite"
    data = bytearray(model.read_bytes())
    data[FLIPPED_BYTES[0]] ^= 0x40
    model.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="SHA-256"):
        verify(version)


def test_admin_says_which_version_failed_when_detect_serves_a_fallback(store, tmp_path, monkeypatch):
    (store / "active.json").write_text(json.dumps({"version": "v-const", "history": [ACTIVE, OLDER]}))
    set_admin_env(monkeypatch, tmp_path, store)
    (tmp_path / "data").mkdir()
    THROTTLE.reset()
    at = login(admin_app().run())
    assert not at.exception
    warning = " ".join(texts(at, "warning"))
    assert "'v-const' failed its integrity check" in warning and f"Serving {ACTIVE} instead" in warning

"""Damage to the store is refused with a sentence on the Admin page, never served quietly (issue 31, items 1, 2, 9).

The cases from the hostile re-probe: the shared encoder edited in place with its
modification time put back, then another version promoted from Admin; a report
(``metrics.json``) that no longer parses, which used to read as an empty report and so
switched the feature-code check off; and version folders whose names carry Markdown.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from admin_helpers import admin_app, login, set_admin_env, table_with, texts
from cli_helpers import run_cli
from conftest import REPO_STORE

from detector import trust
from detector.errors import ModelError
from detector.registry import ModelRegistry
from webapp.auth import THROTTLE

FUSED, LINEAR = "20261204-2200-whisper-fused-01234-temporal", "20261204-1945-whisper-linear-01234"
ENCODER = Path("encoders") / "whisper-base-4.tflite"


def confirm_promote(at, name: str):
    at.selectbox(key="registry_pick").select(name).run()
    at.session_state["admin_confirm"] = ("promote", name, "registry")   # what the Promote button asks for
    at.run()
    at.button(key="confirm_yes").click()
    return at.run()


@pytest.fixture
def encoder_admin(tmp_path, monkeypatch) -> Path:
    """A store with the two shipped encoder versions (fused active) and the shared encoder, and Admin on it."""
    store = tmp_path / "store"
    for name in (FUSED, LINEAR):
        shutil.copytree(REPO_STORE / name, store / name)
    (store / "encoders").mkdir()
    shutil.copyfile(REPO_STORE / ENCODER, store / ENCODER)
    (store / "active.json").write_text(json.dumps({"version": FUSED, "history": []}))
    set_admin_env(monkeypatch, tmp_path, store)
    (tmp_path / "data").mkdir()
    THROTTLE.reset()
    return store


def test_an_encoder_edited_in_place_with_its_mtime_kept_is_refused_at_an_admin_promote(encoder_admin):
    store = encoder_admin
    at = login(admin_app().run())   # lists and checks both versions: the digests are now remembered
    assert not at.exception and not texts(at, "error")
    encoder = store / ENCODER
    times = encoder.stat()
    with open(encoder, "r+b") as handle:   # XOR 400 bytes in the middle, as the re-probe did
        handle.seek(times.st_size // 2)
        chunk = bytearray(handle.read(400))
        handle.seek(times.st_size // 2)
        handle.write(bytes(b ^ 0xFF for b in chunk))
    os.utime(encoder, ns=(times.st_atime_ns, times.st_mtime_ns))
    assert encoder.stat().st_mtime_ns == times.st_mtime_ns and encoder.stat().st_size == times.st_size
    at = confirm_promote(at, LINEAR)
    errors = " ".join(texts(at, "error"))
    assert "whisper-base-4.tflite" in errors and "differs" in errors
    assert not any(f"Promoted {LINEAR}" in s for s in texts(at, "success"))
    assert ModelRegistry(store).active_name() == FUSED


def test_a_report_that_does_not_parse_is_refused_at_load_seal_promote_and_on_the_page(tiny_store, tmp_path,
                                                                                      monkeypatch):
    report = json.loads((tiny_store / "v2" / "metrics.json").read_text())
    report["unknown_key"] = 1                         # the re-probe's edit: one key the report does not declare
    report["feature_code"] = {"made": 999}            # and a feature code the server does not compute
    (tiny_store / "v2" / "metrics.json").write_text(json.dumps(report))
    with pytest.raises(ModelError, match="unreadable report.*unknown_key"):
        ModelRegistry(tiny_store).load("v2")
    code, _, err = run_cli("seal", "v2", store=tiny_store)
    assert code == 2 and "unreadable report" in err
    with pytest.raises(ModelError, match="unreadable report"):
        trust.promote(ModelRegistry(tiny_store), "v2")
    set_admin_env(monkeypatch, tmp_path, tiny_store)
    (tmp_path / "data").mkdir()
    THROTTLE.reset()
    at = login(admin_app().run())
    table = table_with(at, "active")
    assert "unreadable report" in table[table["version"] == "v2"].iloc[0]["test EER"]
    at = confirm_promote(at, "v2")
    assert any("unreadable report" in e for e in texts(at, "error"))
    assert ModelRegistry(tiny_store).active_name() == "v1"


HOSTILE_NAMES = ["**bold**", "[link](x.org)", "<img src=x>", "v1\u202eevil", "a b"]


def test_folders_with_unsafe_names_are_never_versions_and_the_page_says_so(tiny_store, tmp_path, monkeypatch):
    for name in HOSTILE_NAMES:
        shutil.copytree(tiny_store / "v2", tiny_store / name)
    registry = ModelRegistry(tiny_store)
    assert registry.versions() == ["v1", "v2"]
    assert sorted(registry.stray_folders()) == sorted(HOSTILE_NAMES)
    for name in HOSTILE_NAMES:
        with pytest.raises(ModelError, match="is not a model version name"):
            registry.load(name)
    set_admin_env(monkeypatch, tmp_path, tiny_store)
    (tmp_path / "data").mkdir()
    THROTTLE.reset()
    at = login(admin_app().run())
    assert not at.exception
    assert table_with(at, "active")["version"].tolist() == ["v1", "v2"]
    warning = " ".join(texts(at, "warning"))
    assert "5 folders in the model store are not versions" in warning
    assert "**bold**" not in " ".join(m.value for m in at.markdown)   # shown as code, never rendered


def test_a_renamed_copy_of_a_sealed_version_is_refused_until_sealed_under_its_name(tiny_store):
    shutil.copytree(tiny_store / "v2", tiny_store / "v2-copy")
    with pytest.raises(ModelError, match="sealed for 'v2', so the folder was copied or renamed"):
        trust.check(ModelRegistry(tiny_store), "v2-copy")
    code, _, err = run_cli("seal", "v2-copy", store=tiny_store)
    assert code == 0, err
    trust.check(ModelRegistry(tiny_store), "v2-copy")


def test_a_version_is_never_sealed_under_an_unsafe_name(tiny_store):
    from detector.integrity import seal_folder

    with pytest.raises(ModelError, match="cannot name a model version"):
        seal_folder(tiny_store / "v2", name="**v2**")
    with pytest.raises(ModelError, match="cannot name a model version"):
        seal_folder(tiny_store / "v2", name="v2\u202e")

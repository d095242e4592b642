"""Integrity records a store writer cannot forge (issue 31, item 4): a key outside the store, shipped digests in code."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from conftest import REPO_STORE

from detector import signing, trust
from detector.errors import ModelError
from detector.integrity import INTEGRITY_FILE, file_digests, record_digest
from detector.registry import ModelRegistry
from detector.shipped import SHIPPED_RECORDS


def test_every_shipped_version_is_listed_with_the_digest_of_its_record():
    names = ModelRegistry(REPO_STORE).versions()
    assert sorted(SHIPPED_RECORDS) == names
    for name in names:
        record = json.loads((REPO_STORE / name / INTEGRITY_FILE).read_text())
        assert "signature" not in record and record_digest(record) == SHIPPED_RECORDS[name]


def test_a_shipped_record_under_another_name_is_not_trusted(tmp_path):
    name = "20261122-1412-effnet-melexc"
    shutil.copytree(REPO_STORE / name, tmp_path / "store" / "renamed")
    with pytest.raises(ModelError, match="'renamed' failed its integrity check: its record is not one this project "
                                         "shipped"):
        trust.check(ModelRegistry(tmp_path / "store"), "renamed")


def test_a_forged_record_is_refused_and_a_signed_one_passes(tiny_store):
    folder = tiny_store / "v2"
    (folder / "card.md").write_text("a store writer's card")
    record = json.loads((folder / INTEGRITY_FILE).read_text())
    record["files"]["card.md"] = file_digests(folder)["card.md"]   # the hash rewritten, the signature left
    (folder / INTEGRITY_FILE).write_text(json.dumps(record))
    with pytest.raises(ModelError, match="its signature does not match this server's key"):
        trust.check(ModelRegistry(tiny_store), "v2")
    record.pop("signature")                                         # or dropped altogether
    (folder / INTEGRITY_FILE).write_text(json.dumps(record))
    with pytest.raises(ModelError, match="its signature does not match"):
        trust.check(ModelRegistry(tiny_store), "v2")
    record["signature"] = signing.sign(record, signing.load_key())  # what only the key's holder can do
    (folder / INTEGRITY_FILE).write_text(json.dumps(record))
    trust.check(ModelRegistry(tiny_store), "v2")


def test_without_the_key_no_signed_version_passes_and_the_sentence_says_why(tiny_store, monkeypatch, tmp_path):
    monkeypatch.setenv(signing.KEY_FILE_ENV, str(tmp_path / "elsewhere" / "store.key"))
    with pytest.raises(ModelError, match="this server has no signing key yet"):
        trust.check(ModelRegistry(tiny_store), "v2")


def test_the_key_file_is_created_private_and_refused_when_others_can_read_it(monkeypatch, tmp_path):
    path = tmp_path / "keys" / "store.key"
    monkeypatch.setenv(signing.KEY_FILE_ENV, str(path))
    assert signing.load_key(create=False) is None
    key = signing.load_key(create=True)
    assert len(key) == 64 and path.stat().st_mode & 0o777 == 0o600
    assert signing.load_key() == key   # the same key next time
    os.chmod(path, 0o644)
    with pytest.raises(ModelError, match="can be read or written by other users"):
        signing.load_key()


def test_a_key_inside_the_store_or_too_short_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv(signing.KEY_FILE_ENV, str(tmp_path / "store" / "store.key"))
    with pytest.raises(ModelError, match="must live outside the model store"):
        signing.load_key(create=True, store=tmp_path / "store")
    monkeypatch.setenv(signing.KEY_ENV, "short")
    with pytest.raises(ModelError, match="shorter than 32 characters"):
        signing.load_key()
    monkeypatch.setenv(signing.KEY_ENV, "k" * 40)
    assert signing.load_key() == b"k" * 40


def test_a_signature_covers_every_field_but_itself():
    key = b"x" * 32
    record = {"format": 1, "version": "v", "files": {"a": "0" * 64}, "references": []}
    signed = {**record, "signature": signing.sign(record, key)}
    assert signing.signature_valid(signed, key)
    for change in ({"version": "w"}, {"files": {"a": "1" * 64}}, {"extra": 1}):
        assert not signing.signature_valid({**signed, **change}, key)
    assert not signing.signature_valid(signed, b"y" * 32)

"""Model registry: promote, roll back, delete, atomic pointer, clear errors."""

from __future__ import annotations

import json
import threading

import pytest

from detector import trust
from detector.errors import ModelError
from detector.registry import ModelRegistry


def test_lists_versions_and_active(tiny_store):
    registry = ModelRegistry(tiny_store)
    assert registry.versions() == ["v1", "v2"]
    assert registry.active_name() == "v1"
    assert registry.active().features.feature == "mel"


def test_a_model_from_other_feature_code_is_refused(tiny_store):
    """Train/serve skew guard: a version whose features were computed by other code never serves."""
    from detector.features import feature_code

    metrics_path = tiny_store / "v2" / "metrics.json"
    metrics = json.loads(metrics_path.read_text())
    registry = ModelRegistry(tiny_store)
    current = feature_code(registry.load("v2").features)
    metrics_path.write_text(json.dumps({**metrics, "feature_code": current}))
    assert registry.load("v2").report.feature_code == current
    metrics_path.write_text(json.dumps({**metrics, "feature_code": {**current, "features": current["features"] - 1}}))
    with pytest.raises(ModelError, match="feature code") as info:
        registry.load("v2")
    assert "Retrain" in str(info.value)
    with pytest.raises(ModelError):
        trust.promote(registry, "v2")
    assert registry.active_name() == "v1"


def test_promote_and_rollback(tiny_store):
    registry = ModelRegistry(tiny_store)
    trust.promote(registry, "v2")
    assert registry.active_name() == "v2"
    assert trust.rollback(registry) == "v1"
    assert registry.active_name() == "v1"
    with pytest.raises(ModelError, match="no earlier"):
        trust.rollback(registry)


def test_promote_refuses_incomplete_version(tiny_store):
    (tiny_store / "v2" / "features.json").unlink()
    registry = ModelRegistry(tiny_store)
    with pytest.raises(ModelError, match="incomplete"):
        trust.promote(registry, "v2")
    assert registry.active_name() == "v1"
    with pytest.raises(ModelError, match="does not exist"):
        trust.promote(registry, "v9")
    with pytest.raises(ModelError, match="is not a model version name"):
        trust.promote(registry, "../v1")


def test_delete_only_inactive(tiny_store):
    registry = ModelRegistry(tiny_store)
    with pytest.raises(ModelError, match="active"):
        registry.delete("v1")
    registry.delete("v2")
    assert registry.versions() == ["v1"]
    assert not any(p.name.startswith(".deleted") for p in tiny_store.iterdir())
    (tiny_store / "encoders").mkdir()
    (tiny_store / "encoders" / "whisper-base-4.tflite").write_bytes(b"shared")
    with pytest.raises(ModelError, match="shared speech encoder"):
        registry.delete("encoders")
    assert (tiny_store / "encoders" / "whisper-base-4.tflite").is_file()


def test_missing_and_corrupt_pointer_give_clear_errors(tmp_path, tiny_store):
    with pytest.raises(ModelError, match="No active model"):
        ModelRegistry(tmp_path / "empty").active()
    (tiny_store / "active.json").write_text("{not json")
    with pytest.raises(ModelError, match="corrupt"):
        ModelRegistry(tiny_store).active()
    (tiny_store / "active.json").write_text(json.dumps({"version": "gone"}))
    with pytest.raises(ModelError, match="does not exist"):
        ModelRegistry(tiny_store).active()


def test_pointer_is_atomic_under_concurrent_readers(tiny_store):
    registry = ModelRegistry(tiny_store)
    seen: list[str] = []
    errors: list[Exception] = []
    stop = threading.Event()

    def reader() -> None:
        reader_registry = ModelRegistry(tiny_store)
        while not stop.is_set():
            try:
                seen.append(reader_registry.active_name())
            except Exception as exc:  # any partial read would surface here
                errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    for i in range(300):
        trust.promote(registry, "v2" if i % 2 == 0 else "v1")
    stop.set()
    for thread in threads:
        thread.join()
    assert not errors
    assert set(seen) <= {"v1", "v2"} and len(seen) > 100
    assert not [p for p in tiny_store.iterdir() if p.name.endswith(".tmp")]

"""Several app sessions at once in one process, sharing one loaded model (issue #7, "concurrent clients").

A Streamlit server runs every browser session's script in its own thread of one
process; all of them share the ``st.cache_resource`` ModelService and so one
Detector. Here several ``AppTest`` sessions run their scripts in threads at the
same time, and each must show exactly what a serial run shows for its own clip:
no exception, the same full-precision score, and nothing from another session.

AppTest itself is not thread-safe: every ``AppTest.run`` installs a mock
``Runtime`` singleton and a patched ``config.get_option`` and takes both away
when it finishes, so a session finishing early pulls the runtime from under
another one still running ("Runtime hasn't been created!"). The ``one_runtime``
fixture installs one runtime and the AppTest config override for the whole test,
as a real server has one runtime for all its sessions; nothing in the app is
patched. Likewise every ``AppTest`` builds its own script cache, so sessions
starting together compiled the pages concurrently, which CPython 3.11 cannot do
safely ("SystemError: AST constructor recursion depth mismatch", cpython#106905);
the fixture gives them the one script cache (and its lock) a server has.
"""

from __future__ import annotations

import hashlib
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest
import streamlit
from audio_fixtures import encode, noise, voice_like
from streamlit import config
from streamlit.components.v2.component_manager import BidiComponentManager
from streamlit.runtime import Runtime
from streamlit.runtime.caching.storage.dummy_cache_storage import MemoryCacheStorageManager
from streamlit.runtime.dataframe_source_manager import DataframeSourceManager
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.runtime.scriptrunner.script_cache import ScriptCache
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import app_test as app_test_module
from streamlit.testing.v1.util import build_mock_config_get_option

from detector.inference import Detector

APP = str(Path(__file__).resolve().parent.parent / "app.py")
ROUNDS = 1  # concurrent rounds (each one: eight sessions racing to load the model, then uploading at once)
# Distinct lengths, so a session showing another session's clip shows another caption.
CLIPS = {
    "alpha.wav": encode(voice_like(3.0, seed=21), 16000, "wav"),
    "bravo.flac": encode(voice_like(3.6, seed=22), 16000, "flac"),
    "charlie.ogg": encode(voice_like(4.2, f0=210.0, seed=23), 16000, "ogg"),
    "delta.wav": encode(voice_like(4.8, f0=110.0, seed=24) + noise(4.8, seed=24), 16000, "wav"),  # a noisy voice
    "notes.wav": b"Shopping list: bread, milk, batteries.\n" * 40,  # refused: an error box, concurrently too
}
# Eight sessions: some share a clip (each must still run its own analysis), two use the Batch page.
SESSIONS = [("detect", ["alpha.wav"]), ("detect", ["bravo.flac"]), ("detect", ["alpha.wav"]),
            ("detect", ["charlie.ogg"]), ("detect", ["delta.wav"]), ("detect", ["notes.wav"]),
            ("batch", ["alpha.wav", "notes.wav", "delta.wav"]), ("batch", ["charlie.ogg", "bravo.flac"])]


@pytest.fixture
def one_runtime(monkeypatch) -> MagicMock:
    """One mock runtime and the AppTest config override for the whole test (see the module docstring)."""
    runtime = MagicMock(spec=Runtime)
    runtime.media_file_mgr = MediaFileManager(MemoryMediaFileStorage("/mock/media"))
    runtime.dataframe_source_mgr = DataframeSourceManager()
    runtime.cache_storage_manager = MemoryCacheStorageManager()
    components = BidiComponentManager()
    components.discover_and_register_components(start_file_watching=False)
    runtime.bidi_component_registry = components
    monkeypatch.setattr(Runtime, "instance", classmethod(lambda cls: runtime))
    monkeypatch.setattr(Runtime, "exists", classmethod(lambda cls: True))
    # AppTest.run patches and restores config.get_option itself; with overlapping runs the
    # restores come out of order, so the override must hold underneath all of them.
    monkeypatch.setattr(config, "get_option", build_mock_config_get_option({"global.appTest": True}))
    shared_cache = ScriptCache()   # a server compiles each page once, under one lock, for all sessions
    monkeypatch.setattr(app_test_module, "ScriptCache", lambda: shared_cache)
    return runtime


@pytest.fixture
def json_downloads(monkeypatch) -> dict[str, list[Any]]:
    """What each session's download button would hand its browser, by the session's own label.

    The spy runs in the session's script thread and reads that session's ``st.session_state``.
    """
    seen: dict[str, list[Any]] = {}
    lock = threading.Lock()
    original = streamlit.download_button

    def spy(label: str, data: Any = None, **kwargs: Any) -> Any:
        who = streamlit.session_state.get("who", "?")
        with lock:
            seen.setdefault(who, []).append((kwargs.get("file_name"), data))
        return original(label, data=data, **kwargs)

    monkeypatch.setattr(streamlit, "download_button", spy)
    return seen


def snapshot(at: AppTest, kind: str) -> dict[str, Any]:
    """Everything a user of this session sees (the Batch table as plain rows)."""
    main = at.main
    seen = {"exceptions": [e.value for e in at.exception], "errors": [e.value for e in main.error],
            "metrics": [(m.label, m.value) for m in main.metric], "markdown": [m.value for m in main.markdown],
            "captions": [c.value for c in main.caption], "warnings": [w.value for w in main.warning]}
    if kind == "batch" and at.dataframe:
        seen["table"] = at.dataframe[0].value.astype(str).values.tolist()
    return seen


def run_session(label: str, kind: str, names: list[str], start: threading.Barrier | None = None) -> dict[str, Any]:
    """One user: open the app, (go to Batch), upload, then rerun as a browser would."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["who"] = label
    at.run()
    if kind == "batch":
        at.switch_page("app_pages/batch.py").run()
    files = [(name, CLIPS[name], "application/octet-stream") for name in names]
    if start is not None:
        start.wait(timeout=60)  # every session uploads at the same moment
    at.file_uploader[0].set_value(files[0] if kind == "detect" else files).run()
    first = snapshot(at, kind)
    at.run()  # a rerun must show the same (cached, per session) result
    assert snapshot(at, kind) == first, label
    return first


def analysis_json(data: Any) -> dict[str, Any]:
    exported = json.loads(data)
    exported.pop("created")  # a time stamp, the only field that may differ between runs
    return exported


@pytest.mark.slow
def test_concurrent_sessions_see_their_own_serial_results(tiny_store, monkeypatch, one_runtime, json_downloads):
    from app_pages._shared import _service_for

    monkeypatch.setenv("DETECTOR_MODEL_STORE", str(tiny_store))
    serial = {index: run_session(f"serial-{index}", kind, names) for index, (kind, names) in enumerate(SESSIONS)}
    for index, (kind, names) in enumerate(SESSIONS):
        assert not serial[index]["exceptions"], serial[index]
        if names == ["notes.wav"]:
            assert serial[index]["errors"] == ["This file is not audio: it contains plain text."]
    # The baselines differ between clips, so a session showing another one's result is caught.
    views = {SESSIONS[i][1][0]: json.dumps(serial[i], sort_keys=True) for i in serial if SESSIONS[i][0] == "detect"}
    assert len(set(views.values())) == len(views) == len(CLIPS)

    loads: list[str] = []
    original_init = Detector.__init__

    def counting_init(self: Detector, version: Any, *args: Any, **kwargs: Any) -> None:
        loads.append(version.name)
        original_init(self, version, *args, **kwargs)

    monkeypatch.setattr(Detector, "__init__", counting_init)
    for round_ in range(ROUNDS):
        _service_for.clear()  # the sessions race to load the model: it must still load once
        loads.clear()
        start = threading.Barrier(len(SESSIONS))
        with ThreadPoolExecutor(max_workers=len(SESSIONS)) as pool:
            futures = [pool.submit(run_session, f"r{round_}-{index}", kind, names, start)
                       for index, (kind, names) in enumerate(SESSIONS)]
            results = [future.result(timeout=300) for future in futures]
        assert loads == ["v1"], loads
        for index, result in enumerate(results):
            assert result == serial[index], (round_, SESSIONS[index])

    # Full-precision scores, by session: each JSON is its own clip's, identical to the serial one.
    for index, (kind, names) in enumerate(SESSIONS):
        if kind != "detect" or names == ["notes.wav"]:
            continue
        baselines = {json.dumps(analysis_json(data), sort_keys=True)
                     for name, data in json_downloads[f"serial-{index}"] if name.endswith(".analysis.json")}
        assert len(baselines) == 1   # the upload run and the rerun exported the same analysis
        baseline = json.loads(baselines.pop())
        assert baseline["file"] == names[0] and baseline["sha256"] == hashlib.sha256(CLIPS[names[0]]).hexdigest()
        for round_ in range(ROUNDS):
            exported = [analysis_json(data) for name, data in json_downloads[f"r{round_}-{index}"]
                        if name.endswith(".analysis.json")]
            assert len(exported) == 2 and all(item == baseline for item in exported), (round_, SESSIONS[index])

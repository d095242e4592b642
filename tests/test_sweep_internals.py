"""The session sweep's Streamlit internals: present in the pinned Streamlit, and a loud warning when one is not.

No server and no AppTest: :func:`webapp.session_sweep.missing_internals` reads the
classes alone, so an upgrade that drops an internal fails here before it quietly
brings back the leak of issue 26 (closed tabs' uploads kept on an idle server).
"""

from __future__ import annotations

import ast
import inspect
import logging
import textwrap

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.websocket_session_manager import WebsocketSessionManager

from webapp import session_sweep

CONSEQUENCE = "freed only when Streamlit itself drops their sessions"


def test_the_pinned_streamlit_has_every_internal_the_sweep_reads():
    assert session_sweep.missing_internals() == []


def test_every_private_name_the_sweep_reads_is_in_the_checked_list():
    listed = {attribute for _, _, attribute in session_sweep.INTERNALS}
    read = set()
    for function in (session_sweep.sweep, session_sweep._loop):
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
        read |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
                 and node.attr.startswith("_") and not node.attr.startswith("__")}
    assert read, "the sweep reads no private attribute: this test no longer looks at the right code"
    assert read <= listed, f"read by the sweep but never checked: {sorted(read - listed)}"


def test_a_missing_method_is_named(monkeypatch):
    monkeypatch.delattr(MediaFileManager, "clear_session_refs")
    assert session_sweep.missing_internals() == ["MediaFileManager.clear_session_refs"]


def test_an_instance_attribute_no_init_assigns_is_missing(monkeypatch):
    # The check reads __init__'s assignments for instance attributes: a name it never assigns must not pass.
    extra = ("streamlit.runtime.runtime", "Runtime", "_sessions_by_id")
    monkeypatch.setattr(session_sweep, "INTERNALS", (*session_sweep.INTERNALS, extra))
    assert session_sweep.missing_internals() == ["Runtime._sessions_by_id"]


def test_a_missing_module_is_named_once(monkeypatch):
    gone = tuple(("streamlit.runtime.no_such_module", "Gone", name) for name in ("a", "b"))
    monkeypatch.setattr(session_sweep, "INTERNALS", (*session_sweep.INTERNALS, *gone))
    assert session_sweep.missing_internals() == ["streamlit.runtime.no_such_module.Gone"]


class _Threads:
    """Stands in for ``threading.Thread``: records what would have started."""

    def __init__(self):
        self.started = []

    def __call__(self, target, args, name, daemon):
        started = self.started

        class _Thread:
            def start(self):
                started.append(name)
        return _Thread()


@pytest.fixture
def fresh_start(monkeypatch):
    """:func:`session_sweep.start` as in a new process, with no thread and no ``mallopt`` in pytest's process."""
    threads = _Threads()
    monkeypatch.setattr(session_sweep, "_started", False)
    monkeypatch.setattr(session_sweep, "cap_mmap_threshold", lambda: True)
    monkeypatch.setattr(session_sweep.threading, "Thread", threads)
    return threads


def test_start_warns_once_per_process_naming_what_is_missing(fresh_start, monkeypatch, caplog):
    monkeypatch.delattr(MediaFileManager, "remove_orphaned_files")
    with caplog.at_level(logging.WARNING, logger="detector.app"):
        assert session_sweep.start() is False
        assert session_sweep.start() is False   # every later script run calls start() again
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == "detector.app"]
    assert len(warnings) == 1
    assert "MediaFileManager.remove_orphaned_files" in warnings[0].getMessage()
    assert CONSEQUENCE in warnings[0].getMessage()
    assert fresh_start.started == []   # no sweep runs on internals that are not there


def test_start_with_every_internal_starts_one_sweep_and_warns_nothing(fresh_start, caplog):
    with caplog.at_level(logging.WARNING, logger="detector.app"):
        assert session_sweep.start() is True
        assert session_sweep.start() is False
    assert fresh_start.started == ["session-sweep"]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


class _Session:
    """An expired session as the sweep sees one: an id, a real SessionState, and ``shutdown``."""

    def __init__(self, session_id: str):
        from streamlit.runtime.state.session_state import SessionState

        self.id, self.session_state, self.shut_down = session_id, SessionState(), False
        self.session_state["detect_last"] = ("clip.wav", b"\0" * 1000, "audio/wav")

    def shutdown(self):
        self.shut_down = True


class _Runtime:
    """The three parts of Streamlit's Runtime the sweep uses, real except the server around them."""

    def __init__(self):
        from streamlit.runtime.media_file_manager import MediaFileManager
        from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
        from streamlit.runtime.memory_session_storage import MemorySessionStorage
        from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
        from streamlit.runtime.scriptrunner.script_cache import ScriptCache

        self.uploaded_file_mgr = MemoryUploadedFileManager("/_stcore/upload_file")
        self.media_file_mgr = MediaFileManager(MemoryMediaFileStorage("/media"))
        # A TTL of 0: every stored (closed) session has expired by the next sweep.
        self._session_mgr = WebsocketSessionManager(MemorySessionStorage(ttl_seconds=0), self.uploaded_file_mgr,
                                                    ScriptCache(), None)


def test_a_sweep_shuts_an_expired_session_down_empties_its_state_and_then_drops_orphaned_uploads(monkeypatch):
    from streamlit.runtime import Runtime
    from streamlit.runtime.session_manager import SessionInfo
    from streamlit.runtime.uploaded_file_manager import UploadedFileRec

    runtime, closed = _Runtime(), _Session("closed-tab")
    monkeypatch.setattr(Runtime, "_instance", runtime)
    monkeypatch.setattr(session_sweep, "_suspects", set())
    monkeypatch.setattr(session_sweep, "release_heap", lambda: True)   # no malloc_trim in pytest's process
    runtime._session_mgr._session_storage.save(SessionInfo(client=None, session=closed))
    for session_id in ("closed-tab", "never-a-session"):
        runtime.uploaded_file_mgr.add_file(session_id, UploadedFileRec("f", "clip.wav", "audio/wav", b"\0" * 1000))

    assert session_sweep.sweep() == {"expired": 1, "orphaned": 0}   # orphans are dropped at their second sweep
    assert closed.shut_down
    # Streamlit's loop may still reference the session object: what it held must be gone anyway.
    assert "detect_last" not in closed.session_state
    assert set(runtime.uploaded_file_mgr.file_storage) == {"closed-tab", "never-a-session"}
    assert session_sweep.sweep() == {"expired": 0, "orphaned": 2}
    assert not runtime.uploaded_file_mgr.file_storage

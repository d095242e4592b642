"""Free what closed sessions hold once they expire, on an idle server too.

Streamlit keeps a closed tab's session for ``server.disconnectedSessionTTL`` seconds so
a reconnect can resume it. Its store of such sessions (a TTL cache) only drops an
expired one when something else is written to it, that is when another tab closes,
and drops it without shutting it down: the session's uploads stayed in the
``UploadedFileManager`` (and its analyses in memory) on an idle server, and were
freed only when a new page opened (issue 26: 122 MB held for minutes with no session).

:func:`start` runs :func:`sweep` every :data:`SWEEP_S` seconds on the server's event
loop (one daemon thread per process schedules it): expired sessions are shut down as
Streamlit shuts down a closed one (uploads, media references and caches released) and
their session state is emptied (Streamlit's runtime loop keeps the last session it
served referenced: issue 31, a 10-min clip's upload and analysis stayed), and uploads
whose session no longer exists are dropped. A closed tab's uploads are thus freed within
the TTL plus one sweep. The sweep reads Streamlit internals (:data:`INTERNALS`). :func:`start` checks them
once per process: where one is missing (another Streamlit version) it logs one warning
naming it and starts no sweep, and closed tabs' uploads are then freed only when
Streamlit itself drops their sessions. A test checks the pinned Streamlit has them all.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import logging
import os
import textwrap
import threading
import time

from webapp.heap import cap_mmap_threshold, release_heap

log = logging.getLogger("detector.app")

SWEEP_ENV = "DETECTOR_SESSION_SWEEP_S"
SWEEP_S = 15.0   # how often; README's "freed within the TTL plus 15 s" names this figure
_started = False
_start_lock = threading.Lock()
_suspects: set[str] = set()   # sessions whose uploads had no session at the last sweep

# Every Streamlit internal that :func:`sweep` and :func:`_loop` read, as (module, class,
# attribute). Instance attributes count as present when the class's ``__init__`` assigns them.
INTERNALS: tuple[tuple[str, str, str], ...] = (
    ("streamlit.runtime.runtime", "Runtime", "exists"),
    ("streamlit.runtime.runtime", "Runtime", "instance"),
    ("streamlit.runtime.runtime", "Runtime", "_session_mgr"),
    ("streamlit.runtime.runtime", "Runtime", "_get_async_objs"),
    ("streamlit.runtime.runtime", "AsyncObjects", "eventloop"),
    ("streamlit.runtime.runtime", "Runtime", "uploaded_file_mgr"),
    ("streamlit.runtime.runtime", "Runtime", "media_file_mgr"),
    ("streamlit.runtime.websocket_session_manager", "WebsocketSessionManager", "_session_storage"),
    ("streamlit.runtime.websocket_session_manager", "WebsocketSessionManager", "_storage_lock"),
    ("streamlit.runtime.websocket_session_manager", "WebsocketSessionManager", "list_sessions"),
    ("streamlit.runtime.memory_session_storage", "MemorySessionStorage", "_cache"),
    ("streamlit.runtime.caching.ttl_cache", "TTLCache", "expire"),
    ("streamlit.runtime.session_manager", "SessionInfo", "session"),
    ("streamlit.runtime.app_session", "AppSession", "id"),
    ("streamlit.runtime.app_session", "AppSession", "shutdown"),
    ("streamlit.runtime.app_session", "AppSession", "session_state"),
    ("streamlit.runtime.state.session_state", "SessionState", "clear"),
    ("streamlit.runtime.memory_uploaded_file_manager", "MemoryUploadedFileManager", "file_storage"),
    ("streamlit.runtime.memory_uploaded_file_manager", "MemoryUploadedFileManager", "remove_session_files"),
    ("streamlit.runtime.media_file_manager", "MediaFileManager", "clear_session_refs"),
    ("streamlit.runtime.media_file_manager", "MediaFileManager", "remove_orphaned_files"),
)
MISSING_WARNING = (
    "The session sweep is off: this Streamlit version lacks %s, which it reads (webapp/session_sweep.py). "
    "Closed tabs' uploads and analyses are then freed only when Streamlit itself drops their sessions "
    "(when another tab closes), not within the session TTL plus the sweep interval: an idle server keeps them."
)


def sweep_interval() -> float:
    """Seconds between sweeps: ``$DETECTOR_SESSION_SWEEP_S`` if a positive number, else :data:`SWEEP_S`."""
    try:
        value = float(os.environ.get(SWEEP_ENV, SWEEP_S))
    except ValueError:
        return SWEEP_S
    return value if 0 < value < 86_400 else SWEEP_S


def _assigned_in_init(cls: type, name: str) -> bool:
    """Whether an ``__init__`` of ``cls`` or a base class assigns ``self.<name>`` (read from its source)."""
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(init))) if init is not None else None
        except (OSError, TypeError, SyntaxError):   # no source (a C base class, a .pyc-only install)
            continue
        for node in ast.walk(tree) if tree is not None else ():
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and node.attr == name \
                    and isinstance(node.value, ast.Name) and node.value.id == "self":
                return True
    return False


def missing_internals() -> list[str]:
    """The :data:`INTERNALS` this process's Streamlit lacks, as ``Class.attribute`` (empty when all are there).

    Read from the classes alone: no server or session needs to exist.
    """
    missing = []
    for module_name, class_name, attribute in INTERNALS:
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError):
            missing.append(f"{module_name}.{class_name}")
            continue
        fields = getattr(cls, "__dataclass_fields__", {})
        if not (hasattr(cls, attribute) or attribute in fields or _assigned_in_init(cls, attribute)):
            missing.append(f"{class_name}.{attribute}")
    return list(dict.fromkeys(missing))   # a missing module once, however many attributes it has


def sweep() -> dict[str, int]:
    """Shut down expired sessions and drop uploads of sessions that no longer exist.

    Reads the :data:`INTERNALS` that :func:`start` checked; one that vanished anyway raises
    (and :func:`_safe_sweep` logs it) rather than being skipped in silence.

    Returns
    -------
    dict
        ``{"expired": n, "orphaned": m}``: sessions shut down, upload sets dropped
        (both 0 when no Streamlit server runs in this process).
    """
    from streamlit.runtime import Runtime
    from streamlit.runtime.websocket_session_manager import WebsocketSessionManager

    done = {"expired": 0, "orphaned": 0}
    if not Runtime.exists():
        return done
    runtime = Runtime.instance()
    manager = runtime._session_mgr
    if not isinstance(manager, WebsocketSessionManager):   # AppTest's stand-in runtime, or another server
        return done
    lock = manager._storage_lock
    with lock:   # the manager's own lock: a reconnect cannot take a session mid-shutdown
        expired = manager._session_storage._cache.expire()
    for _, info in expired:
        try:
            info.session.shutdown()   # what Streamlit does for a session closed for good
            # Streamlit's runtime loop keeps the last session it flushed in a local variable until another
            # tab is open (Runtime._loop_coroutine): on an idle server that kept a closed tab's uploads and
            # analyses (150 MB after a 10-min clip) alive. A shut-down session's state is never read again.
            info.session.session_state.clear()
            done["expired"] += 1
        except Exception:   # one bad session must not stop the sweep
            log.exception("shutting down an expired session failed")
    uploads = runtime.uploaded_file_mgr   # Streamlit's MemoryUploadedFileManager: its sessions' files
    stored = uploads.file_storage
    with lock:
        live = {info.session.id for info in manager.list_sessions()}
    orphans = {s for s in list(stored) if s not in live}
    # Dropped at the second sweep that finds them orphaned: a session moving between Streamlit's
    # "active" and "stored" lists at the moment of a sweep keeps its uploads.
    for session_id in orphans & _suspects:
        uploads.remove_session_files(session_id)
        runtime.media_file_mgr.clear_session_refs(session_id)
        done["orphaned"] += 1
    remaining = orphans - _suspects
    _suspects.clear()
    _suspects.update(remaining)
    if done["orphaned"]:
        runtime.media_file_mgr.remove_orphaned_files()
    if done["expired"] or done["orphaned"]:
        release_heap()   # what the sessions held is free now: give the pages back
    return done


def _safe_sweep() -> None:
    try:
        sweep()
    except Exception:   # never let one failure end the sweeps: the next may succeed
        log.exception("the session sweep failed")


def _loop(interval: float) -> None:
    from streamlit.runtime import Runtime

    while True:
        time.sleep(interval)
        try:
            # On the server's event loop, where Streamlit itself connects, disconnects and shuts
            # sessions down: the sweep never races a reconnect.
            loop = Runtime.instance()._get_async_objs().eventloop if Runtime.exists() else None
        except RuntimeError:   # the server has not started its event loop yet: try again next time
            loop = None
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(_safe_sweep)


def start() -> bool:
    """Start the sweep thread once per process, and cap the C heap's mmap threshold.

    Where Streamlit lacks one of :data:`INTERNALS`, log one warning naming it (once per
    process) and start no sweep.

    Returns
    -------
    bool
        True when this call started the sweep.
    """
    global _started
    with _start_lock:
        if _started:
            return False
        _started = True
    cap_mmap_threshold()   # before the first analysis: large arrays never settle in the heap (webapp/heap.py)
    missing = missing_internals()
    if missing:
        log.warning(MISSING_WARNING, ", ".join(missing))
        return False
    threading.Thread(target=_loop, args=(sweep_interval(),), name="session-sweep", daemon=True).start()
    return True

"""Free what closed sessions hold once they expire, on an idle server too.

Streamlit keeps a closed tab's session for ``server.disconnectedSessionTTL`` seconds so
a reconnect can resume it. Its store of such sessions (a TTL cache) only drops an
expired one when something else is written to it, that is when another tab closes,
and drops it without shutting it down: the session's uploads stayed in the
``UploadedFileManager`` (and its analyses in memory) on an idle server, and were
freed only when a new page opened (issue 26: 122 MB held for minutes with no session).

:func:`start` runs :func:`sweep` every :data:`SWEEP_S` seconds on the server's event
loop (one daemon thread per process schedules it): expired sessions are shut down as Streamlit shuts down a closed one
(uploads, media references and caches released), and uploads whose session no longer
exists are dropped. A closed tab's uploads are thus freed within the TTL plus one
sweep. The sweep reads Streamlit internals; where they are missing (another Streamlit
version) it does nothing rather than fail the app.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from webapp.heap import cap_mmap_threshold, release_heap

log = logging.getLogger("detector.app")

SWEEP_ENV = "DETECTOR_SESSION_SWEEP_S"
SWEEP_S = 15.0   # how often; README's "freed within the TTL plus 15 s" names this figure
_started = False
_start_lock = threading.Lock()
_suspects: set[str] = set()   # sessions whose uploads had no session at the last sweep


def sweep_interval() -> float:
    """Seconds between sweeps: ``$DETECTOR_SESSION_SWEEP_S`` if a positive number, else :data:`SWEEP_S`."""
    try:
        value = float(os.environ.get(SWEEP_ENV, SWEEP_S))
    except ValueError:
        return SWEEP_S
    return value if 0 < value < 86_400 else SWEEP_S


def sweep() -> dict[str, int]:
    """Shut down expired sessions and drop uploads of sessions that no longer exist.

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
    manager = getattr(runtime, "_session_mgr", None)
    if not isinstance(manager, WebsocketSessionManager):   # AppTest's stand-in runtime, or another server
        return done
    storage = getattr(manager, "_session_storage", None)
    cache, lock = getattr(storage, "_cache", None), getattr(manager, "_storage_lock", None)
    if lock is None:
        return done
    if cache is not None and hasattr(cache, "expire"):
        with lock:   # the manager's own lock: a reconnect cannot take a session mid-shutdown
            expired = cache.expire()
        for _, info in expired:
            try:
                info.session.shutdown()   # what Streamlit does for a session closed for good
                done["expired"] += 1
            except Exception:   # one bad session must not stop the sweep
                log.exception("shutting down an expired session failed")
    uploads = getattr(runtime, "uploaded_file_mgr", None)
    stored = getattr(uploads, "file_storage", None)
    if isinstance(stored, dict):
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
        except Exception:   # no running server yet (or a stand-in runtime): try again next time
            loop = None
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(_safe_sweep)


def start() -> bool:
    """Start the sweep thread once per process, and cap the C heap's mmap threshold; True when this call started it."""
    global _started
    with _start_lock:
        if _started:
            return False
        _started = True
    cap_mmap_threshold()   # before the first analysis: large arrays never settle in the heap (webapp/heap.py)
    threading.Thread(target=_loop, args=(sweep_interval(),), name="session-sweep", daemon=True).start()
    return True

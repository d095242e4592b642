"""A closed tab's uploads are freed on an idle server (issue 26, item 2), and freed arrays' pages go back.

The first test runs a real server and a real browser; the heap tests measure resident
memory in child processes, so the allocator settings they try never touch this one's.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from audio_fixtures import encode, voice_like
from browser_helpers import chromium, streamlit_server

from bench import soak
from webapp import session_sweep

REPO = Path(__file__).resolve().parent.parent
TTL_S, SWEEP_S = 3, 1


@pytest.mark.browser
@pytest.mark.slow
def test_uploads_of_a_closed_session_are_freed_without_any_new_page(tiny_store, tmp_path, monkeypatch):
    clip = tmp_path / "speech.wav"
    clip.write_bytes(encode(voice_like(20.0), 16000, "wav"))
    monkeypatch.setenv("DETECTOR_SESSION_SWEEP_S", str(SWEEP_S))
    monkeypatch.setenv("STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL", str(TTL_S))
    with streamlit_server(tiny_store, tmp_path / "server.log") as url, chromium() as browser:
        context = browser.new_context()
        page = context.new_page()
        page.goto(url)
        page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(str(clip))
        page.get_by_text("Probability that the voice is synthetic").wait_for(timeout=90_000)
        held = soak.metrics(url)["upload_bytes"]
        assert held >= clip.stat().st_size   # the upload is in the server's memory while the tab is open
        context.close()
        deadline = time.monotonic() + TTL_S + 4 * SWEEP_S + 10
        while time.monotonic() < deadline and soak.metrics(url)["upload_bytes"]:
            time.sleep(0.5)   # metrics requests open no page and no session: the server stays idle
        assert soak.metrics(url)["upload_bytes"] == 0
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as response:
            assert response.read().strip() == b"ok"


def test_the_sweep_does_nothing_without_a_server():
    assert session_sweep.sweep() == {"expired": 0, "orphaned": 0}


# In a child: 20 arrays of 15 MB (a 30-s clip's encoder outputs), each followed by a small block that stays
# live (as an analysis leaves some), after one such array was freed (glibc's mmap threshold then rises to
# 15 MB, so without the cap the arrays come from the heap). Prints RSS before, at the peak and after freeing.
_HEAP_CHILD = r"""
import gc, sys
import numpy as np
from webapp import heap

def rss_mb():
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS:")) / 1024

remedies = sys.argv[1]
if "cap" in remedies:
    heap.cap_mmap_threshold()
size = 15 * 2**20 // 8
np.ones(size)
before = rss_mb()
arrays, pins = [], []
for _ in range(20):
    arrays.append(np.ones(size))
    pins.append(bytes(4096))
peak = rss_mb()
del arrays
gc.collect()
if "trim" in remedies:
    heap.release_heap()
print(before, peak, rss_mb())
"""
ALLOCATED_MB = 20 * 15
RETURNED_WITHIN_MB = 40   # of the 300 MB freed, at most this much may stay resident (measured: under 1 MB)


def _heap_child(remedies: str) -> tuple[float, float, float]:
    """RSS in MB (before, peak, after freeing) of :data:`_HEAP_CHILD` with ``remedies`` ("cap", "trim", both, "none")."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES"))}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run([sys.executable, "-c", _HEAP_CHILD, remedies], capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=120, check=True)
    before, peak, after = (float(v) for v in done.stdout.split())
    assert peak - before > 0.8 * ALLOCATED_MB, "the arrays were never resident: the measurement shows nothing"
    return before, peak, after


glibc_only = pytest.mark.skipif(platform.libc_ver()[0] != "glibc" or not Path("/proc/self/status").exists(),
                                reason="webapp.heap tunes glibc only; RSS is read from /proc")


@glibc_only
@pytest.mark.parametrize("remedies", ["cap+trim", "cap", "trim"])
def test_freed_arrays_give_their_memory_back_with_webapp_heap(remedies):
    before, _, after = _heap_child(remedies)
    assert after - before < RETURNED_WITHIN_MB


@glibc_only
def test_without_webapp_heap_the_same_arrays_stay_resident():
    # The control: what the remedies above prevent still happens without them, so those tests can fail.
    before, _, after = _heap_child("none")
    assert after - before > ALLOCATED_MB / 2


@pytest.mark.parametrize(("value", "expected"), [("2.5", 2.5), ("0", 15.0), ("-1", 15.0), ("soon", 15.0)])
def test_the_sweep_interval_comes_from_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv(session_sweep.SWEEP_ENV, value)
    assert session_sweep.sweep_interval() == expected


def _soak_verdict(idle_upload_bytes: list[int], idle_rss: list[float], sweep_log: list[str]) -> dict:
    rows = [{"round": n, "when": "after 40 s idle", "rss_mb": rss, "upload_bytes": held, "active_sessions": 0}
            for n, (held, rss) in enumerate(zip(idle_upload_bytes, idle_rss), start=1)]
    return {"uploads_freed": not any(idle_upload_bytes), "levels_off": soak.levels_off(idle_rss),
            "idle_rss_mb": idle_rss, "sweep_log": sweep_log, "rows": rows}


def test_the_soak_fails_with_a_sentence_when_uploads_stay(monkeypatch, capsys):
    warning = "The session sweep is off: this Streamlit version lacks Runtime._session_mgr, ..."
    monkeypatch.setattr(soak, "run", lambda *args: _soak_verdict([0, 2_600_000, 0], [500, 505, 506], [warning]))
    assert soak.main([]) == 1
    err = capsys.readouterr().err
    assert "FAIL: closed sessions' uploads were not freed" in err
    assert "2,600,000 B after round 2" in err and warning in err


def test_the_soak_fails_when_memory_keeps_growing_and_passes_when_all_is_freed(monkeypatch, capsys):
    monkeypatch.setattr(soak, "run", lambda *args: _soak_verdict([0, 0, 0], [500, 560, 620], []))
    assert soak.main([]) == 1
    assert "does not level off" in capsys.readouterr().err
    monkeypatch.setattr(soak, "run", lambda *args: _soak_verdict([0, 0, 0], [500, 505, 506], []))
    assert soak.main([]) == 0
    assert capsys.readouterr().err == ""

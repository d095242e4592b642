"""A closed tab's uploads are freed on an idle server (issue 26, item 2): a real server, a real browser."""

from __future__ import annotations

import time
import urllib.request

import pytest
from audio_fixtures import encode, voice_like
from browser_helpers import chromium, streamlit_server

from bench.soak import metrics
from webapp import session_sweep

pytestmark = [pytest.mark.browser, pytest.mark.slow]
TTL_S, SWEEP_S = 3, 1


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
        held = metrics(url)["upload_bytes"]
        assert held >= clip.stat().st_size   # the upload is in the server's memory while the tab is open
        context.close()
        deadline = time.monotonic() + TTL_S + 4 * SWEEP_S + 10
        while time.monotonic() < deadline and metrics(url)["upload_bytes"]:
            time.sleep(0.5)   # metrics requests open no page and no session: the server stays idle
        assert metrics(url)["upload_bytes"] == 0
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as response:
            assert response.read().strip() == b"ok"


def test_the_sweep_does_nothing_without_a_server():
    assert session_sweep.sweep() == {"expired": 0, "orphaned": 0}


def test_freed_heap_pages_go_back_to_the_system_on_glibc():
    import platform

    from webapp import heap

    glibc = platform.libc_ver()[0] == "glibc"
    assert heap.release_heap() is glibc and heap.cap_mmap_threshold() is glibc


@pytest.mark.parametrize(("value", "expected"), [("2.5", 2.5), ("0", 15.0), ("-1", 15.0), ("soon", 15.0)])
def test_the_sweep_interval_comes_from_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv(session_sweep.SWEEP_ENV, value)
    assert session_sweep.sweep_interval() == expected

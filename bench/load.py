"""Load benchmark: N simultaneous sessions of the real Detect page in one server process.

Each session is a :class:`streamlit.testing.v1.AppTest` of ``app.py`` running in its
own thread, so every session executes exactly the page code a browser session runs
(upload widget, session cache, analysis, verdict card, charts) and all of them share
the process-wide cached model, as the sessions of one Streamlit server do. What a
real browser adds (the websocket, drawing Plotly in the browser) is not measured:
the figures are the server's side of "time to verdict".

Per session: load the page, wait until all sessions are ready, upload a distinct
10-s 44.1 kHz WAV at the same moment as the others, then rerun the page once more,
as any later click does. Printed: p50/p95 time to verdict (from the common upload
moment until the session's verdict card is drawn, which Streamlit sends at once),
time to the full page (charts included), the analysis alone, the rerun, the
process's peak RSS, and how many analyses ran (must equal the number of uploads:
a rerun reuses the session's result).
"""

from __future__ import annotations

import io
import resource
import threading
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from bench.serving import speech_like
from detector.paths import REPO_ROOT as ROOT

APP = str(ROOT / "app.py")
CLIP_S = 10.0
CLIP_RATE = 44_100
VERDICT_PREFIX = "## "   # the verdict card's heading (see app_pages/detect.py)
VERDICT_METRIC = "Probability that the voice is synthetic"   # the verdict card's st.metric label


def _clip(seed: int) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, speech_like(CLIP_S, CLIP_RATE, seed), CLIP_RATE, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0   # Linux: kilobytes


def _percentiles(values: list[float]) -> dict[str, float]:
    return {"p50_s": round(float(np.percentile(values, 50)), 3), "p95_s": round(float(np.percentile(values, 95)), 3),
            "max_s": round(float(np.max(values)), 3)} if values else {}


class _VerdictClock:
    """Records when each verdict card is drawn: Streamlit sends it to the browser at that moment,
    before the charts below it are built, so this is the time to verdict a user sees."""

    def __init__(self) -> None:
        import streamlit

        self._module, self._original = streamlit, streamlit.metric
        self.times: list[float] = []
        self._lock = threading.Lock()

        def metric(label, *args, **kwargs):
            if label == VERDICT_METRIC:
                with self._lock:
                    self.times.append(time.perf_counter())
            return self._original(label, *args, **kwargs)

        streamlit.metric = metric

    def restore(self) -> None:
        self._module.metric = self._original


class _AnalysisCounter:
    """Wraps ``Detector.analyse`` to count calls and time each one (thread-safe)."""

    def __init__(self) -> None:
        from detector.inference import Detector

        self._cls, self._original = Detector, Detector.analyse
        self.durations: list[float] = []
        self._lock = threading.Lock()

        def timed(detector, *args, **kwargs):
            started = time.perf_counter()
            try:
                return self._original(detector, *args, **kwargs)
            finally:
                with self._lock:
                    self.durations.append(time.perf_counter() - started)

        Detector.analyse = timed

    def restore(self) -> None:
        self._cls.analyse = self._original


def run(sessions: int = 20, store: Path | None = None) -> dict:
    """Drive ``sessions`` concurrent Detect sessions; return the figures (also printed by ``python -m bench``).

    Parameters
    ----------
    sessions : int
        How many sessions upload at the same moment.
    store : Path, optional
        The model store to serve (default: ``$DETECTOR_MODEL_STORE`` or ``model_store/``).
    """
    import os

    from streamlit.testing.v1 import AppTest

    previous_store = os.environ.get("DETECTOR_MODEL_STORE")
    if store is not None:
        os.environ["DETECTOR_MODEL_STORE"] = str(store)
    clips = [_clip(seed) for seed in range(sessions)]
    counter = _AnalysisCounter()
    released: list[float] = []
    ready = threading.Barrier(sessions, action=lambda: released.append(time.perf_counter()))
    opening = threading.Lock()
    verdict_s: list[float] = []
    rerun_s: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def session(index: int) -> None:
        try:
            with opening:   # AppTest's first run sets up shared test state: one session at a time
                page = AppTest.from_file(APP, default_timeout=900).run()
            ready.wait()
            started = time.perf_counter()
            page.file_uploader[0].set_value((f"session-{index}.wav", clips[index], "audio/wav")).run()
            took = time.perf_counter() - started   # the whole run: verdict, charts, download button
            if page.exception or not any(m.value.startswith(VERDICT_PREFIX) for m in page.markdown):
                raise RuntimeError(f"no verdict ({[e.value for e in page.exception]})")
            started = time.perf_counter()
            page.run()
            again = time.perf_counter() - started
            with lock:
                verdict_s.append(took)
                rerun_s.append(again)
        except Exception as exc:  # one failed session is a result, not the end of the benchmark
            ready.abort()
            with lock:
                failures.append(f"session {index}: {type(exc).__name__}: {exc}")

    baseline_mb = _peak_rss_mb()
    verdict_clock = _VerdictClock()
    started = time.perf_counter()
    threads = [threading.Thread(target=session, args=(i,), name=f"session-{i}") for i in range(sessions)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        counter.restore()
        verdict_clock.restore()
        if previous_store is None:
            os.environ.pop("DETECTOR_MODEL_STORE", None)
        else:
            os.environ["DETECTOR_MODEL_STORE"] = previous_store
    # Reruns draw the card again: the first `sessions` records are the uploads' verdicts.
    to_verdict = [t - released[0] for t in sorted(verdict_clock.times)[:sessions]] if released else []
    return {
        "sessions": sessions,
        "verdicts": len(verdict_s),
        "failures": failures[:5],
        "clip": f"{CLIP_S:g} s WAV, {CLIP_RATE} Hz mono",
        "time_to_verdict": _percentiles(to_verdict),
        "time_to_full_page": _percentiles(verdict_s),
        "analysis_alone": _percentiles(counter.durations),
        "rerun_after_verdict": _percentiles(rerun_s),
        "analyses_run": len(counter.durations),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "peak_rss_before_sessions_mb": round(baseline_mb, 1),
        "wall_s": round(time.perf_counter() - started, 2),
    }

"""Soak benchmark: does a server's memory level off over rounds of real sessions?

``python -m bench.soak`` starts ``streamlit run app.py`` on 127.0.0.1 only, then runs
rounds: N real Chromium sessions (each its own browser context, so its own Streamlit
session) open the Detect page, upload a distinct WAV, wait for the verdict and close;
then the server idles for longer than the session expiry
(``server.disconnectedSessionTTL`` plus the app's sweep interval). With ``--long-clip``
each round also has one session that uploads a 10-minute 48 kHz stereo WAV (115 MB,
the largest upload the app takes in). After each round's sessions and again after its
idle gap it prints the server's RSS and the bytes Streamlit's ``UploadedFileManager``
holds (from ``/_stcore/metrics``); at the end, the server's peak RSS (``VmHWM``).

How it judges (printed at the end; the exit status is 1, with a sentence on stderr
saying which, when either fails):

* **uploads freed**: after every idle gap the upload manager holds 0 bytes;
* **memory levels off**: the RSS after the idle gap of each of the last two rounds is
  within ``max(5 %, 20 MB)`` of the round before it (the first round loads the model,
  the charts' fonts and every page's code, so it grows the most and is not judged).

The default run is short (4 rounds of 4 sessions, a 20-s TTL): a few minutes. Use
``--ttl 120`` (Streamlit's default) for the production expiry.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf

from bench.serving import speech_like
from detector.paths import REPO_ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CLIP_RATE = 44_100
VERDICT = re.compile("Likely genuine|Uncertain|Likely synthetic", re.IGNORECASE)
UPLOADS_METRIC = re.compile(r'^cache_memory_bytes\{cache_type="UploadedFileManager"[^}]*\}\s+(\d+)', re.M)
SESSIONS_METRIC = re.compile(r"^active_sessions(?:\{[^}]*\})?\s+(\d+)", re.M)
LEVEL_RELATIVE, LEVEL_ABSOLUTE_MB = 0.05, 20.0
LONG_CLIP_S, LONG_CLIP_RATE = 600.0, 48_000   # the app analyses at most 10 minutes; 48 kHz stereo is its largest
VERDICT_WAIT_MS = {"short": 120_000, "long": 600_000}   # a 10-min clip takes minutes on 2 shared cores


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """Resident memory of process ``pid`` in MB (Linux ``/proc``); ``field="VmHWM"`` for its peak so far."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"no {field} for process {pid}")


def metrics(url: str) -> dict[str, int]:
    """Upload bytes and active sessions from ``/_stcore/metrics`` (0 when a family is absent)."""
    with urllib.request.urlopen(f"{url}/_stcore/metrics", timeout=10) as response:
        text = response.read().decode("utf-8", "replace")
    uploads = sum(int(v) for v in UPLOADS_METRIC.findall(text))
    sessions = SESSIONS_METRIC.search(text)
    return {"upload_bytes": uploads, "active_sessions": int(sessions.group(1)) if sessions else -1}


@contextlib.contextmanager
def server(store: Path | None, ttl_s: int, sweep_s: float, log: Path) -> Iterator[tuple[str, int]]:
    """``streamlit run app.py`` on 127.0.0.1 with the shipped config; yields (url, pid)."""
    port = _free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1", DETECTOR_SESSION_SWEEP_S=str(sweep_s))
    if store is not None:
        env["DETECTOR_MODEL_STORE"] = str(store)
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.address",
                                    "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
                                    "--server.disconnectedSessionTTL", str(ttl_s)],
                                   cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit did not start; see {log}")
                with contextlib.suppress(OSError):
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                        if response.read().strip() == b"ok":
                            break
                time.sleep(0.5)
            yield url, process.pid
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _clip(folder: Path, seed: int, seconds: float) -> Path:
    path = folder / f"soak-{seed}.wav"
    buffer = io.BytesIO()
    sf.write(buffer, speech_like(seconds, CLIP_RATE, seed), CLIP_RATE, format="WAV", subtype="PCM_16")
    path.write_bytes(buffer.getvalue())
    return path


def _long_clip(folder: Path) -> Path:
    """A 10-minute 48 kHz stereo 16-bit WAV (115 MB), written 30 s at a time to keep this process small."""
    path = folder / "soak-long.wav"
    with sf.SoundFile(path, "w", LONG_CLIP_RATE, 2, "PCM_16", format="WAV") as out:
        for block in range(int(LONG_CLIP_S // 30)):
            mono = speech_like(30.0, LONG_CLIP_RATE, 100 + block)
            out.write(np.stack([mono, 0.9 * mono], axis=1))
    return path


def one_session(browser, url: str, clip: Path, wait_ms: int = VERDICT_WAIT_MS["short"]) -> None:
    """Open the Detect page in a fresh context, upload ``clip``, wait for the verdict, close."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(url)
        page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(str(clip))
        page.locator("h2").filter(has_text=VERDICT).first.wait_for(timeout=wait_ms)
    finally:
        context.close()   # closes the websocket: the server keeps the session for the TTL, then must free it


def levels_off(rss: list[float]) -> bool:
    """Whether the post-idle RSS of each of the last two rounds is within tolerance of the round before."""
    if len(rss) < 3:
        return False
    return all(abs(b - a) <= max(LEVEL_RELATIVE * a, LEVEL_ABSOLUTE_MB) for a, b in zip(rss[-3:-1], rss[-2:]))


def failures(verdict: dict) -> list[str]:
    """One sentence per failed judgement of a :func:`run` verdict (empty when the soak passes)."""
    found = []
    if not verdict["uploads_freed"]:
        held = [f"{r['upload_bytes']:,} B after round {r['round']}" for r in verdict["rows"]
                if r["when"].endswith("idle") and r["upload_bytes"]]
        found.append(f"FAIL: closed sessions' uploads were not freed: the upload manager still held "
                     f"{'; '.join(held)} after the idle gap, longer than the session TTL plus two sweeps. "
                     + (f"The server log says: {' '.join(verdict['sweep_log'])}" if verdict["sweep_log"]
                        else "Is the app's session sweep (webapp/session_sweep.py) running?"))
    if not verdict["levels_off"]:
        found.append("FAIL: the server's RSS after the idle gaps does not level off (or there were under 3 rounds): "
                     + " → ".join(f"{v:.0f}" for v in verdict["idle_rss_mb"]) + " MB.")
    return found


def run(rounds: int = 4, sessions: int = 4, ttl_s: int = 20, sweep_s: float = 5.0, clip_s: float = 30.0,
        store: Path | None = None, long_clip: bool = False) -> dict:
    """Run the soak and return its figures (also printed, one line per measurement)."""
    if rounds < 1 or sessions < 1 or ttl_s < 1 or sweep_s <= 0 or clip_s <= 0:
        raise ValueError("rounds, sessions, ttl, sweep and clip length must be positive")
    from playwright.sync_api import sync_playwright

    gap_s = ttl_s + 2 * sweep_s + 10   # longer than the expiry plus one full sweep, with margin
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="soak-") as temp:
        folder = Path(temp)
        clips = [_clip(folder, seed, clip_s) for seed in range(sessions)]
        long_path = _long_clip(folder) if long_clip else None
        log = folder / "server.log"
        with server(store, ttl_s, sweep_s, log) as (url, pid), sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                start = {"round": 0, "when": "start", "rss_mb": rss_mb(pid), **metrics(url)}
                rows.append(start)
                print(_line(start), flush=True)
                for number in range(1, rounds + 1):
                    for clip in clips:
                        one_session(browser, url, clip)
                    if long_path is not None:
                        one_session(browser, url, long_path, VERDICT_WAIT_MS["long"])
                    busy = {"round": number, "when": "after sessions", "rss_mb": rss_mb(pid), **metrics(url)}
                    print(_line(busy), flush=True)
                    time.sleep(gap_s)
                    idle = {"round": number, "when": f"after {gap_s:g} s idle", "rss_mb": rss_mb(pid), **metrics(url)}
                    print(_line(idle), flush=True)
                    rows += [busy, idle]
                peak = rss_mb(pid, "VmHWM")
            finally:
                browser.close()
        # What the sweep said about itself (its start-up warning, a failed sweep): the reason when uploads stay.
        sweep_log = [line.strip() for line in log.read_text(errors="replace").splitlines() if "session sweep" in line]
    idle_rss = [r["rss_mb"] for r in rows if r["when"].endswith("idle")]
    freed = all(r["upload_bytes"] == 0 for r in rows if r["when"].endswith("idle"))
    verdict = {"rounds": rounds, "sessions_per_round": sessions, "ttl_s": ttl_s, "gap_s": gap_s,
               "long_clip": long_clip, "uploads_freed": freed, "levels_off": levels_off(idle_rss),
               "idle_rss_mb": idle_rss, "peak_rss_mb": peak, "sweep_log": sweep_log, "rows": rows}
    print(f"uploads freed after every idle gap: {'yes' if freed else 'NO'}; RSS after idle "
          f"{' → '.join(f'{v:.0f}' for v in idle_rss)} MB: "
          f"{'levels off' if verdict['levels_off'] else 'does NOT level off (or too few rounds to tell)'} "
          f"(each of the last two rounds within max({LEVEL_RELATIVE:.0%}, {LEVEL_ABSOLUTE_MB:g} MB) of the one before); "
          f"peak RSS (VmHWM) {peak:.0f} MB")
    return verdict


def _line(row: dict) -> str:
    return (f"round {row['round']} {row['when']:>22}: RSS {row['rss_mb']:7.1f} MB, UploadedFileManager "
            f"{row['upload_bytes']:>11,} B, active sessions {row['active_sessions']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--sessions", type=int, default=4, help="real Chromium sessions per round")
    parser.add_argument("--ttl", type=int, default=20, help="server.disconnectedSessionTTL in seconds")
    parser.add_argument("--sweep", type=float, default=5.0, help="the app's session sweep interval in seconds")
    parser.add_argument("--clip-seconds", type=float, default=30.0, help="length of each uploaded WAV")
    parser.add_argument("--long-clip", action="store_true",
                        help="each round also uploads one 10-minute 48 kHz stereo WAV (115 MB) in its own session")
    parser.add_argument("--store", help="model store (default: model_store/)")
    args = parser.parse_args(argv)
    try:
        verdict = run(args.rounds, args.sessions, args.ttl, args.sweep, args.clip_seconds,
                      Path(args.store) if args.store else None, args.long_clip)
    except ValueError as exc:
        parser.error(str(exc))
    found = failures(verdict)
    for sentence in found:
        print(sentence, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())

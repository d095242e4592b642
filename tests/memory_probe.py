"""Run one decode or analysis in a fresh process under an address-space limit (``resource.setrlimit``).

Memory targets are checked by a hard limit, never by watching RSS: the child first
warms up (imports, a small decode, the model's threads), then caps its address space
at what it already uses plus ``budget_mb`` and runs the case. Over budget shows up as
``MemoryError`` (or the child dying), which the tests report as a failure.

Usage (from the tests)::

    run_under_limit("decode", path, budget_mb=500)            # detector.audio.load_audio
    run_under_limit("analyse", path, budget_mb=500, store=s)  # Detector.analyse on the upload's bytes
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

_CHILD = r"""
import io, json, resource, sys
import numpy as np
import soundfile as sf
from detector.audio import load_audio
from detector.errors import AudioError

mode, path, budget_mb, store = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
warm = io.BytesIO()
t = np.arange(48000 * 3) / 48000
# A voice-like warm-up (harmonics of 150 Hz in syllables): a pure tone is refused by the speech check
# before inference, which would leave the model's first-call memory inside the measured budget.
voiced = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 15)) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)) ** 2
sf.write(warm, np.stack([0.1 * voiced] * 2, axis=1), 48000, format="WAV")
detector = None
if mode == "analyse":
    from detector.inference import Detector
    detector = Detector.from_store(store)
    detector.analyse(warm.getvalue(), name="warm.wav")
else:
    load_audio(warm.getvalue(), 16000)
payload = open(path, "rb").read()   # the upload is already held by the server: not part of the budget
used_kb = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmSize:"))
limit = used_kb * 1024 + budget_mb * 2**20
resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
try:
    if detector is not None:
        result = detector.analyse(payload, name="case")
        out = {"ok": True, "duration_s": result.duration_s, "truncated": result.truncated,
               "verdict": result.verdict}
    else:
        result = load_audio(payload, 16000)
        out = {"ok": True, "duration_s": result.duration_s, "truncated": result.truncated}
except AudioError as exc:
    out = {"ok": False, "code": exc.code, "message": exc.message}
except MemoryError:
    out = {"ok": False, "code": "MemoryError", "message": "over the memory budget"}
print("RESULT " + json.dumps(out), flush=True)
"""


def run_under_limit(mode: str, path: Path, budget_mb: int = 500, store: Path | None = None,
                    timeout: float = 300) -> dict:
    """Run ``mode`` ("decode" or "analyse") on the file at ``path`` in a child capped at ``budget_mb``."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MALLOC_ARENA_MAX": "2"}
    result = subprocess.run([sys.executable, "-c", _CHILD, mode, str(path), str(budget_mb), str(store or "")],
                            capture_output=True, text=True, cwd=REPO, env=env, timeout=timeout)
    line = next((text for text in result.stdout.splitlines() if text.startswith("RESULT ")), None)
    if line is None:   # killed, or an exception that escaped: over budget in practice
        return {"ok": False, "code": f"died (exit {result.returncode})", "message": result.stderr[-2000:]}
    return json.loads(line[len("RESULT "):])

"""Serving benchmarks: warm latency, cold start to first verdict, batch throughput."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from detector.paths import REPO_ROOT as ROOT

CLIP_S = 10.0
WARM_RUNS = 50
BATCH_CLIPS = 40


def speech_like(seconds: float, rate: int = 16000, seed: int = 0) -> np.ndarray:
    """A harmonic tone with syllable-rate modulation (benchmarks need no real speech)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    phase = 2 * np.pi * np.cumsum(120 * (1 + 0.1 * np.sin(2 * np.pi * 0.5 * t))) / rate
    tone = sum(np.sin(k * phase) / k for k in range(1, 15))
    return (0.2 * tone * (0.4 + 0.6 * np.abs(np.sin(2 * np.pi * 3 * t))) + 0.002 * rng.standard_normal(len(t))).astype(np.float32)


def write_clip(path: Path, seconds: float, seed: int = 0, rate: int = 16000) -> Path:
    sf.write(path, speech_like(seconds, rate, seed), rate, subtype="PCM_16")
    return path


def warm_latency(store: Path | None = None) -> dict[str, float]:
    """p50/p95 of decode + features + inference for a 10-s WAV, model already loaded."""
    from detector.inference import Detector

    detector = Detector.from_store(store)
    with tempfile.TemporaryDirectory() as folder:
        clip = write_clip(Path(folder) / "clip.wav", CLIP_S, rate=44100)
        detector.analyse(clip)  # warm-up: allocations, filter banks, interpreter resize
        times = []
        for _ in range(WARM_RUNS):
            start = time.perf_counter()
            detector.analyse(clip)
            times.append(time.perf_counter() - start)
    return {"p50_ms": 1000 * float(np.percentile(times, 50)), "p95_ms": 1000 * float(np.percentile(times, 95)),
            "model": detector.name}


def cold_start(store: Path | None = None) -> dict[str, float]:
    """Seconds from a fresh ``python -m detector score`` process to its verdict."""
    with tempfile.TemporaryDirectory() as folder:
        clip = write_clip(Path(folder) / "clip.wav", CLIP_S)
        command = [sys.executable, "-m", "detector"] + (["--store", str(store)] if store else []) + ["score", str(clip)]
        runs = []
        for _ in range(3):
            start = time.perf_counter()
            result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=dict(os.environ))
            runs.append(time.perf_counter() - start)
            if result.returncode != 0:
                raise RuntimeError(f"scoring failed: {result.stderr[-500:]}")
    return {"first_verdict_s_median": float(np.median(runs)), "first_verdict_s_max": float(np.max(runs))}


def batch_throughput(store: Path | None = None) -> dict[str, float]:
    """Audio seconds scored per wall-clock second over many clips (as a multiple of real time)."""
    from detector.inference import Detector

    detector = Detector.from_store(store)
    with tempfile.TemporaryDirectory() as folder:
        clips = [write_clip(Path(folder) / f"c{i}.wav", 5 + (i % 4) * 5, seed=i) for i in range(BATCH_CLIPS)]
        audio_s = sum(sf.info(c).duration for c in clips)
        start = time.perf_counter()
        for clip in clips:
            detector.analyse(clip)
        wall = time.perf_counter() - start
    return {"audio_s": audio_s, "wall_s": wall, "x_real_time": audio_s / wall}

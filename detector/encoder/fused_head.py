"""A fused head's LiteRT file: pooled statistics and the 0.1-s step sequence in, one logit out.

A ``pooled+temporal`` encoder version (:data:`detector.encoder.head_spec.FUSED`) ships
one ``model.tflite`` with three named inputs:

* ``pooled_stats`` (1, n): :func:`~detector.encoder.scorer.head_input` of the frames;
* ``sequence`` (1, steps, 4, 512): :func:`~detector.encoder.runtime.step_sequence` of them;
* ``mask`` (1, steps): ones (training padded batches; one clip at a time has no padding).

Its output is the fused logit: a linear head on the statistics and a temporal head on
the sequence, weighted as fitted on validation (``train.encoder.heads.FusedHead``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from detector.errors import ModelError
from detector.litert import LiteRTProgram

INPUT_NAMES = ("pooled_stats", "sequence", "mask")
# Steps (0.1 s each) above which the interpreter is rebuilt after scoring: 30 s, the longest input the
# encoder itself takes at once. Rebuilding a head of this size costs a few milliseconds.
LONG_SEQUENCE_STEPS = 300


class FusedHeadModel:
    """The loaded fused head; one clip per call; thread-safe.

    Raises
    ------
    ModelError
        When the file is not a LiteRT model or lacks one of :data:`INPUT_NAMES`.
    """

    def __init__(self, path: str | Path, num_threads: int = 2, name: str | None = None) -> None:
        self.name = name or Path(path).parent.name
        self._program = LiteRTProgram(path, num_threads, what=f"Model version {self.name!r}")
        try:
            self._order = [self._program.input_index(n) for n in INPUT_NAMES]
        except ModelError as exc:
            raise ModelError(f"Model version {self.name!r} is broken: its fused head needs the inputs "
                             f"{', '.join(INPUT_NAMES)}.") from exc
        self.pooled_size = int(self._program.input_shape(self._order[0])[-1])

    def __call__(self, pooled: np.ndarray, sequence: np.ndarray) -> float:
        """The fused logit of one clip (or stretch): ``pooled`` (n,), ``sequence`` (steps, 4, 512)."""
        pooled = np.asarray(pooled, dtype=np.float32).reshape(1, -1)
        sequence = np.asarray(sequence, dtype=np.float32)[np.newaxis]
        if pooled.shape[1] != self.pooled_size:
            raise ModelError(f"Model {self.name!r} expects {self.pooled_size} pooled statistics, got {pooled.shape[1]}.")
        feeds = {"pooled_stats": pooled, "sequence": sequence, "mask": np.ones((1, sequence.shape[1]), np.float32)}
        arrays = [None] * len(INPUT_NAMES)
        for name, position in zip(INPUT_NAMES, self._order):
            arrays[position] = feeds[name]
        logit = float(self._program.run(arrays).reshape(-1)[0])
        if sequence.shape[1] > LONG_SEQUENCE_STEPS:   # a long clip: give its buffers back (docs/deployment.md)
            self._program.reset()
        return logit

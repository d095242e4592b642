"""A fused head's LiteRT file: pooled statistics and the 0.1-s step sequence in, one logit out.

A ``pooled+temporal`` encoder version (:data:`detector.encoder.record.FUSED_HEAD`) ships
one ``model.tflite`` with three named inputs:

* ``pooled_stats`` (1, n): :func:`~detector.encoder.scorer.head_input` of the frames;
* ``sequence`` (1, steps, 4, 512): :func:`~detector.encoder.runtime.step_sequence` of them;
* ``mask`` (1, steps): ones (training padded batches; one clip at a time has no padding).

Its output is the fused logit: a linear head on the statistics and a temporal head on
the sequence, weighted as fitted on validation (``train.encoder.heads.FusedHead``).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from detector.errors import ModelError

INPUT_NAMES = ("pooled_stats", "sequence", "mask")


class FusedHeadModel:
    """The loaded fused head; one clip per call; thread-safe.

    Raises
    ------
    ModelError
        When the file is not a LiteRT model or lacks one of :data:`INPUT_NAMES`.
    """

    def __init__(self, path: str | Path, num_threads: int = 2, name: str | None = None) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.name = name or Path(path).parent.name
        try:
            self._interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
        except Exception as exc:
            raise ModelError(f"Model version {self.name!r} could not be loaded: model.tflite is corrupt.") from exc
        found = {}
        for detail in self._interpreter.get_input_details():
            matches = [n for n in INPUT_NAMES if n in detail["name"]]
            if len(matches) == 1:
                found[matches[0]] = detail
        if set(found) != set(INPUT_NAMES):
            raise ModelError(f"Model version {self.name!r} is broken: its fused head needs the inputs "
                             f"{', '.join(INPUT_NAMES)}, and model.tflite has {sorted(found)}.")
        self._inputs = found
        self._output = self._interpreter.get_output_details()[0]["index"]
        self.pooled_size = int(found["pooled_stats"]["shape"][-1])
        self._steps = -1
        self._lock = threading.Lock()

    def __call__(self, pooled: np.ndarray, sequence: np.ndarray) -> float:
        """The fused logit of one clip (or stretch): ``pooled`` (n,), ``sequence`` (steps, 4, 512)."""
        pooled = np.ascontiguousarray(pooled, dtype=np.float32).reshape(1, -1)
        sequence = np.ascontiguousarray(sequence, dtype=np.float32)[np.newaxis]
        if pooled.shape[1] != self.pooled_size:
            raise ModelError(f"Model {self.name!r} expects {self.pooled_size} pooled statistics, got {pooled.shape[1]}.")
        steps = sequence.shape[1]
        with self._lock:
            if steps != self._steps:   # resizing re-plans the graph: only when the length changes
                self._interpreter.resize_tensor_input(self._inputs["sequence"]["index"], sequence.shape)
                self._interpreter.resize_tensor_input(self._inputs["mask"]["index"], (1, steps))
                self._interpreter.resize_tensor_input(self._inputs["pooled_stats"]["index"], pooled.shape)
                self._interpreter.allocate_tensors()
                self._steps = steps
            self._interpreter.set_tensor(self._inputs["pooled_stats"]["index"], pooled)
            self._interpreter.set_tensor(self._inputs["sequence"]["index"], sequence)
            self._interpreter.set_tensor(self._inputs["mask"]["index"], np.ones((1, steps), np.float32))
            self._interpreter.invoke()
            return float(np.asarray(self._interpreter.get_tensor(self._output)).reshape(-1)[0])

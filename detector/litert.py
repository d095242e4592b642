"""The one LiteRT model wrapper: a ``.tflite`` file in, window logits out.

Serving (:class:`detector.inference.Detector`), the store's health probe, evaluation
and the benchmarks all run a model through :class:`LiteRTModel`, so what evaluation
measures is what the server runs. Only ``ai_edge_litert`` is imported (no TensorFlow).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from detector.errors import ModelError

MAX_BATCH = 64   # windows per invoke: bounds interpreter memory for long clips and whole test splits


class LiteRTModel:
    """A loaded ``.tflite`` model scoring (n, frames, bins, 1) windows; thread-safe.

    Parameters
    ----------
    path : str or Path
        The ``model.tflite`` file.
    num_threads : int
        LiteRT CPU threads.
    name : str, optional
        How error messages name the model (defaults to the file path's folder name).

    Raises
    ------
    ModelError
        The file is missing, truncated or not a LiteRT model.
    """

    def __init__(self, path: str | Path, num_threads: int = 2, name: str | None = None) -> None:
        from ai_edge_litert.interpreter import Interpreter  # imported here: app pages that never score skip it

        self.path = Path(path)
        self.name = name or self.path.parent.name
        try:
            self._interpreter = Interpreter(model_path=str(self.path), num_threads=num_threads)
            self._interpreter.allocate_tensors()
        except Exception as exc:  # LiteRT raises ValueError/RuntimeError for a bad flatbuffer
            raise ModelError(f"Model version {self.name!r} could not be loaded: model.tflite is corrupt.") from exc
        self._input = self._interpreter.get_input_details()[0]
        self._output_index = self._interpreter.get_output_details()[0]["index"]
        self._batch = int(self._input["shape"][0])
        self._lock = threading.Lock()

    @property
    def input_shape(self) -> tuple[int, ...]:
        """One window's shape, without the batch axis."""
        return tuple(int(d) for d in self._input["shape"][1:])

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        """Raw logits, shape (n,), float64, for windows shaped (n, *input_shape)."""
        windows = np.ascontiguousarray(windows, dtype=np.float32)
        if windows.ndim != len(self.input_shape) + 1 or windows.shape[1:] != self.input_shape:
            raise ModelError(f"Model {self.name!r} expects windows shaped (n, {self.input_shape}), "
                             f"got {windows.shape}.")
        out = np.empty(len(windows), dtype=np.float64)
        with self._lock:
            for start in range(0, len(windows), MAX_BATCH):
                chunk = windows[start:start + MAX_BATCH]
                out[start:start + len(chunk)] = self._invoke(chunk)
        return out

    def _invoke(self, chunk: np.ndarray) -> np.ndarray:
        if chunk.shape[0] != self._batch:   # resizing re-plans the graph: only when the batch changes
            self._interpreter.resize_tensor_input(self._input["index"], chunk.shape)
            self._interpreter.allocate_tensors()
            self._batch = chunk.shape[0]
        self._interpreter.set_tensor(self._input["index"], chunk)
        self._interpreter.invoke()
        return np.asarray(self._interpreter.get_tensor(self._output_index), dtype=np.float64).reshape(-1)

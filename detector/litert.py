"""The one LiteRT wrapper: a ``.tflite`` file's bytes in, an interpreter that runs arrays.

Every model the app runs goes through :class:`LiteRTProgram`: a CNN's windows
(:class:`LiteRTModel`), the shared speech encoder (:class:`detector.encoder.runtime.WhisperEncoder`)
and an encoder version's head, pooled or fused (:mod:`detector.encoder.fused_head`). So
what evaluation measures is what the server runs, and there is one place that reads a
model file. Only ``ai_edge_litert`` is imported (no TensorFlow).

The interpreter is built from the file's bytes read once, never from the path: a file
edited on disk after it was checked cannot change what a loaded interpreter computes
(a memory-mapped model would follow the edit), and :attr:`LiteRTProgram.sha256` is the
digest of the bytes that serve, so a caller that checks it checks what runs.
"""

from __future__ import annotations

import hashlib
import threading
from functools import cached_property
from pathlib import Path
from typing import Sequence

import numpy as np

from detector.errors import ModelError

MAX_BATCH = 64   # windows per invoke: bounds interpreter memory for long clips and whole test splits


class LiteRTProgram:
    """One LiteRT interpreter with its inputs resized on demand; thread-safe.

    Parameters
    ----------
    path : str or Path
        The ``.tflite`` file.
    num_threads : int
        LiteRT CPU threads.
    what : str
        How sentences name the model, e.g. ``"Model version 'v1'"`` or ``"The speech encoder x.tflite"``.

    Raises
    ------
    ModelError
        The file is missing or unreadable, or it is not a LiteRT model.
    """

    def __init__(self, path: str | Path, num_threads: int = 2, *, what: str) -> None:
        self.path, self.what = Path(path), what
        try:
            content = self.path.read_bytes()
        except OSError as exc:
            raise ModelError(f"{what} could not be read ({self.path.name}: {exc.strerror or exc}).") from exc
        self._content, self._threads = content, num_threads   # the interpreter reads this buffer: keep it alive
        self._lock = threading.Lock()
        self._build()

    def _build(self) -> None:
        from ai_edge_litert.interpreter import Interpreter  # imported here: app pages that never score skip it

        try:
            self._interpreter = Interpreter(model_content=self._content, num_threads=self._threads)
            self._interpreter.allocate_tensors()
        except Exception as exc:  # LiteRT raises ValueError/RuntimeError for a bad flatbuffer
            raise ModelError(f"{self.what} is broken: {self.path.name} cannot be loaded (truncated or corrupt).") \
                from exc
        self.inputs = self._interpreter.get_input_details()
        self._output = self._interpreter.get_output_details()[0]["index"]
        self._shapes = [tuple(int(d) for d in detail["shape"]) for detail in self.inputs]

    def reset(self) -> None:
        """Rebuild the interpreter at the file's declared shapes, so buffers sized for a large input are freed.

        A resized interpreter keeps its arena at the largest size it has planned for: after one
        10-minute clip, a fused head held about 117 MB for the rest of the server's life.
        """
        with self._lock:
            self._build()

    @cached_property
    def sha256(self) -> str:
        """SHA-256 of the bytes this interpreter was built from (hashed on first request)."""
        return hashlib.sha256(self._content).hexdigest()

    def input_index(self, name_part: str) -> int:
        """The position of the one input whose tensor name contains ``name_part``.

        Raises
        ------
        ModelError
            When no input or more than one matches.
        """
        matches = [i for i, detail in enumerate(self.inputs) if name_part in detail["name"]]
        if len(matches) != 1:
            raise ModelError(f"{self.what} is broken: it has no single input named {name_part!r} "
                             f"(inputs: {', '.join(d['name'] for d in self.inputs)}).")
        return matches[0]

    def input_shape(self, position: int = 0) -> tuple[int, ...]:
        """The shape of input ``position`` as the file declares it (or as last resized)."""
        return self._shapes[position]

    def run(self, arrays: Sequence[np.ndarray]) -> np.ndarray:
        """Feed one array per input (in :attr:`inputs` order) and return a copy of the first output.

        Inputs whose shape changed since the last call are resized first; that re-plans the
        graph, so callers keep shapes stable where they can.
        """
        arrays = [np.ascontiguousarray(a, dtype=np.float32) for a in arrays]
        if len(arrays) != len(self.inputs):
            raise ModelError(f"{self.what} takes {len(self.inputs)} input(s), got {len(arrays)}.")
        with self._lock:
            changed = False
            for position, array in enumerate(arrays):
                if array.shape != self._shapes[position]:
                    self._interpreter.resize_tensor_input(self.inputs[position]["index"], array.shape)
                    self._shapes[position], changed = array.shape, True
            if changed:
                self._interpreter.allocate_tensors()
            for detail, array in zip(self.inputs, arrays):
                self._interpreter.set_tensor(detail["index"], array)
            self._interpreter.invoke()
            return np.array(self._interpreter.get_tensor(self._output))


class LiteRTModel:
    """A one-input model scoring a batch of inputs: (n, *input_shape) in, one raw logit each out; thread-safe.

    A CNN version's windows (n, frames, bins, 1) and a pooled encoder head's statistics
    (n, features) both run through it.

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
        self.name = name or Path(path).parent.name
        self._program = LiteRTProgram(path, num_threads, what=f"Model version {self.name!r}")
        self._lock = threading.Lock()   # one caller's chunks run back to back

    @property
    def input_shape(self) -> tuple[int, ...]:
        """One input's shape, without the batch axis."""
        return self._program.input_shape()[1:]

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """Raw logits, shape (n,), float64, for inputs shaped (n, *input_shape)."""
        batch = np.asarray(batch, dtype=np.float32)
        if batch.ndim != len(self.input_shape) + 1 or batch.shape[1:] != self.input_shape:
            raise ModelError(f"Model {self.name!r} expects inputs shaped (n, {self.input_shape}), "
                             f"got {batch.shape}.")
        out = np.empty(len(batch), dtype=np.float64)
        with self._lock:
            for start in range(0, len(batch), MAX_BATCH):
                chunk = batch[start:start + MAX_BATCH]
                out[start:start + len(chunk)] = self._program.run([chunk]).reshape(-1)
        return out

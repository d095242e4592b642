"""Export a Keras model to LiteRT (``.tflite``) with a dynamic batch axis."""

from __future__ import annotations

import tempfile
from pathlib import Path


def export_tflite(model, path: str | Path) -> Path:
    """Convert ``model`` (Keras 3, input (batch, frames, bins, 1)) to a ``.tflite`` file.

    Goes through a SavedModel: converting a ``tf.function`` that closes over a
    Keras 3 model directly produced garbage weights in TF 2.21, while the
    SavedModel route matches Keras to ~1e-7. The batch axis stays dynamic so the
    server scores all windows of a clip in one call. Output: the raw synthetic
    logit, shape (batch, 1).
    """
    import tensorflow as tf  # heavy: imported only when exporting

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as saved:
        model.export(saved, format="tf_saved_model", verbose=False)
        flatbuffer = tf.lite.TFLiteConverter.from_saved_model(saved).convert()
    path.write_bytes(flatbuffer)
    return path

"""Convert the pretrained Whisper encoder (first N blocks) into the shared LiteRT file serving runs.

``python -m train.encoder.export --blocks 4`` (``make encoder``) writes
``model_store/encoders/whisper-base-4.tflite`` once from the installed weights; model
versions name the file, its SHA-256 and its fingerprint instead of carrying a copy.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import keras
import tensorflow as tf

from detector.encoder.runtime import SHIPPED_BLOCKS, encoder_path, write_encoder_record
from train.encoder.keras_whisper import pretrained_encoder


def export_encoder(blocks: int, path: str | Path | None = None, variables=None, *,
                   float16_weights: bool = False) -> Path:
    """Write the LiteRT encoder of ``blocks`` blocks, time axis dynamic; returns its path.

    Input: log-mel (1, frames, 80). Output: (1, frames // 2, blocks + 1, 512), the
    final-layer-normed stream after the stem and after each block.

    ``float16_weights`` stores the weights as float16, the precision the Whisper weights
    ship in, so none is lost and the file is half the size; it still computes in float32.
    Its bytes differ from the default file's and its outputs by float rounding only
    (1.4e-4 at most for whisper-base-4): versions published on either serve on the other
    through their fingerprint (:func:`detector.encoder.record.serving_encoder`).
    """
    path = Path(path) if path else encoder_path(blocks)
    path.parent.mkdir(parents=True, exist_ok=True)
    encoder = pretrained_encoder(blocks, variables=variables)
    stacked = keras.Model(encoder.inputs, keras.ops.stack(encoder.outputs, axis=2), name=encoder.name)
    with tempfile.TemporaryDirectory() as saved:
        export = keras.export.ExportArchive()
        export.track(stacked)
        export.add_endpoint("serve", lambda mel: stacked(mel, training=False),
                            input_signature=[tf.TensorSpec((1, None, 80), tf.float32, name="log_mel")])
        export.write_out(saved, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved)
        if float16_weights:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        flatbuffer = converter.convert()
    temp = path.with_suffix(".tmp")
    temp.write_bytes(flatbuffer)
    temp.replace(path)
    write_encoder_record(path, blocks)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.encoder.export", description=__doc__)
    parser.add_argument("--blocks", type=int, default=SHIPPED_BLOCKS, help="transformer blocks to keep (1-6)")
    parser.add_argument("--out", default=None, help="output file (default: the shared encoder path)")
    parser.add_argument("--force", action="store_true", help="rewrite an existing file")
    parser.add_argument("--float16-weights", action="store_true",
                        help="store the weights as float16 (their shipped precision): half the file, same outputs")
    args = parser.parse_args(argv)
    target = Path(args.out) if args.out else encoder_path(args.blocks)
    if target.exists() and not args.force:
        print(f"{target} exists")
        return 0
    print(export_encoder(args.blocks, target, float16_weights=args.float16_weights))
    return 0


if __name__ == "__main__":
    sys.exit(main())

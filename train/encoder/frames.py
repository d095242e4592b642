"""The raw residual stream inside Whisper's encoder, cached per clip: what fine-tuning the upper blocks reads.

Fine-tuning the top one or two blocks on two CPU cores is affordable only if the frozen
lower blocks run once. This module runs the pretrained Keras encoder (six blocks) over
every corpus clip, prepared exactly as the server prepares it, and keeps per clip:

* ``raw2``, ``raw3`` (frames, 512) float16: the residual stream after blocks 2 and 3,
  before the final layer norm -- the inputs of block 3 (two-block fine-tuning) and of
  block 4 (one-block fine-tuning);
* ``stats56`` (2, 2, 512) float32: mean and standard deviation over time of outputs 5
  and 6 (final-layer-normed, as :func:`detector.encoder.runtime.pooled_stats`), for the
  frozen four-against-six-blocks comparison without a second LiteRT encoder pass.

The folder is keyed on the feature cache's key (:func:`train.encoder.features.cache_key`:
encoder bytes, preparation, front-end code), this module's format and the weights'
digest. ``python -m train.encoder.frames --corpus data/corpus --encoder FILE``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from detector.encoder.runtime import encoder_input, mel_chunks, pooled_stats
from train.dataset import clip_key
from train.encoder import features

FRAMES_FORMAT = 1
CACHED_RAW = (2, 3)          # residual streams kept: after block 2 and after block 3
POOLED_DEEP = (5, 6)         # outputs whose pooled statistics are kept for the 6-block comparison
DEPTH = max(POOLED_DEEP)     # blocks the cache builder runs


def frames_folder(encoder_file: str | Path) -> Path:
    shaping = {"features": features.cache_key(encoder_file), "format": FRAMES_FORMAT,
               "raw": CACHED_RAW, "pooled": POOLED_DEEP}
    key = hashlib.sha256(json.dumps(shaping, sort_keys=True).encode("utf-8")).hexdigest()[:16]
    return features.CACHE_ROOT / f"frames-{key}"


def raw_stream_model(encoder):
    """A Keras model from log-mel to the residual stream after the stem and every block (no final layer norm),
    sharing ``encoder``'s layers (:func:`train.encoder.keras_whisper.pretrained_encoder`)."""
    import keras

    blocks = [layer for layer in encoder.layers if layer.name.startswith("block_")]
    mel = keras.Input((None, 80))
    x = encoder.get_layer("conv1")(mel)
    x = encoder.get_layer("positions")(encoder.get_layer("conv2")(encoder.get_layer("pad2")(x)))
    streams = [x]
    for block in blocks:
        x = block(x)
        streams.append(x)
    return keras.Model(mel, streams)


def raw_streams(run, mel: np.ndarray) -> list[np.ndarray]:
    """The residual streams of log-mel frames, 30-s chunks at a time as served; ``run`` maps a (1, frames, 80)
    batch to the streams (:func:`raw_stream_model` compiled once). Returns arrays (frames, 512) float32."""
    chunks = [run(chunk[None].astype(np.float32)) for chunk in mel_chunks(mel)]
    return [np.concatenate([np.asarray(c[k])[0] for c in chunks]) for k in range(len(chunks[0]))]


def normed_stats(norm, streams: list[np.ndarray], outputs) -> np.ndarray:
    """Pooled statistics (outputs, 2, 512) of the encoder outputs ``outputs``: the streams through the final layer
    norm ``norm``, as served (:func:`detector.encoder.runtime.pooled_stats`)."""
    return pooled_stats(np.stack([np.asarray(norm(streams[o][None]))[0] for o in outputs], axis=1))


def clip_frames(run, norm, samples: np.ndarray) -> dict[str, np.ndarray]:
    """What the cache keeps of one prepared clip (see the module's docstring); ``norm`` is the final layer norm."""
    streams = raw_streams(run, encoder_input(samples))
    entry = {f"raw{o}": streams[o].astype(np.float16) for o in CACHED_RAW}
    entry["stats56"] = normed_stats(norm, streams, POOLED_DEEP)
    return entry


def stream_runner(blocks: int):
    """``(run, norm)``: the pretrained Keras encoder's first ``blocks`` blocks compiled once from log-mel to every
    residual stream (:func:`raw_stream_model`), and its final layer norm; TensorFlow on the machine's two cores."""
    import tensorflow as tf

    from train.encoder.keras_whisper import pretrained_encoder

    try:
        tf.config.threading.set_intra_op_parallelism_threads(2)   # the machine's two cores, as LiteRT gets
    except RuntimeError:   # TensorFlow already ran in this process (a test, a notebook): its pool stays as it is
        pass
    encoder = pretrained_encoder(blocks)
    model = raw_stream_model(encoder)
    # One graph for every clip length: eager calls layer by layer cost about twice as much.
    run = tf.function(lambda mel: model(mel, training=False),
                      input_signature=[tf.TensorSpec((1, None, 80), tf.float32)])
    return run, encoder.get_layer("final_norm")


def extract(frame: pd.DataFrame, encoder_file: str | Path) -> dict[str, str]:
    """Cache every clip of ``frame`` not cached yet; returns ``{path: why}`` for clips that could not be read."""
    run, norm = stream_runner(DEPTH)
    return features.cache_each(frame, frames_folder(encoder_file),
                               lambda row: clip_frames(run, norm, features.prepared_samples(row.path)),
                               log=lambda line: print(line, flush=True))


def load(frame: pd.DataFrame, encoder_file: str | Path, raw: int | None = 3, deep: bool = False):
    """Per clip the cached stream after block ``raw`` (float16 list; ``None`` for a clip not cached), and the
    stacked deep statistics (n, 2, 2, 512) when ``deep`` (NaN rows for clips not cached)."""
    folder = frames_folder(encoder_file)
    streams, stats = [], []
    for path in frame["path"]:
        target = folder / f"{clip_key(path)}.npz"
        if not target.exists():
            streams.append(None)
            stats.append(np.full((len(POOLED_DEEP), 2, 512), np.nan, np.float32))
            continue
        with np.load(target) as data:
            streams.append(data[f"raw{raw}"] if raw is not None else None)
            stats.append(data["stats56"])
    return (streams, np.stack(stats)) if deep else streams


def main(argv: list[str] | None = None) -> int:
    from train.schema import read_manifest

    parser = argparse.ArgumentParser(prog="python -m train.encoder.frames", description=__doc__)
    parser.add_argument("--corpus", default="data/corpus")
    parser.add_argument("--encoder", required=True, help="the shared LiteRT encoder file (its key names the cache)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N clips (to time the step)")
    args = parser.parse_args(argv)
    frame = read_manifest(args.corpus)
    if args.limit:
        frame = frame.head(args.limit)
    started = time.monotonic()
    errors = extract(frame, args.encoder)
    print(f"{len(frame)} clips, {len(errors)} unreadable, {time.monotonic() - started:.0f} s")
    for path, why in errors.items():
        print(f"unreadable: {path}: {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

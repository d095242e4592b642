"""Multi-condition copies: the same training clip through other channels, for multi-condition batches.

Every corpus clip exists in one channel condition (:mod:`train.corpus.conditions`). For
multi-condition training (Zhang et al. 2021, "An Empirical Study on Channel Effects for
Synthetic Voice Spoofing Countermeasure Systems") each *clean* training clip gets
:data:`COPIES_PER_CLIP` copies through distinct degraded conditions, drawn from a seed of
the clip's own (so a copy never depends on the order clips are listed in). Only clean
clips are copied, so a copy carries exactly one channel, as every corpus clip does; only
the train split is copied, so validation, calibration and test see the corpus as it is.
Genuine and synthetic clips are copied by one rule.

Per copy the cache keeps what the multi-condition candidates read, from one pass of the
pretrained Keras encoder (four blocks) over the copy prepared as served:

* ``stats`` (5, 2, 512) float32: pooled mean and spread of outputs 0-4 (final-layer-normed,
  as the served features; the Keras path agrees with the LiteRT one within 5e-4);
* ``raw3`` (frames, 512) float16: the residual stream after block 3 (one-block fine-tuning).

``python -m train.encoder.copies --corpus data/corpus --encoder FILE``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from detector.encoder.runtime import encoder_input
from detector.preparation import prepare_waveform
from train.corpus import conditions
from train.corpus.conditions import apply_condition
from train.dataset import clip_key
from train.encoder import features
from train.encoder.frames import normed_stats, raw_streams, stream_runner

COPIES_FORMAT = 1
COPY_CONDITIONS = ("telephone", "amr-nb", "mp3", "opus", "noise")
COPIES_PER_CLIP = 2
POOLED = (0, 1, 2, 3, 4)     # outputs whose statistics a copy keeps (the frozen linear head's)
RAW = 3                      # the stream kept: the input of block 4


def card_line(count: int) -> str:
    """The model card's sentence on a version trained with ``count`` copies (its Data section)."""
    return (f"- Multi-condition training: {count} copies of the clean training clips, each clip through "
            f"{COPIES_PER_CLIP} of {', '.join(COPY_CONDITIONS)} (`train/encoder/copies.py`), joined the training "
            "split; validation, calibration and test clips were not copied.")


def add_to_card(card: Path, count: int) -> None:
    """Put :func:`card_line` after the card's line on channel conditions (the Data section later rewrites keep)."""
    lines = card.read_text(encoding="utf-8").splitlines()
    at = next((i for i, line in enumerate(lines) if line.startswith("- Channel conditions")), None)
    if at is None:
        raise ValueError(f"{card} has no line on channel conditions to put the multi-condition training after")
    card.write_text("\n".join(lines[:at + 1] + [card_line(count)] + lines[at + 1:]) + "\n", encoding="utf-8")


def copies_folder(encoder_file: str | Path) -> Path:
    """The cache folder, keyed on the feature cache's key, the channel code and everything above."""
    channel_code = hashlib.sha256(Path(conditions.__file__).read_bytes()).hexdigest()
    shaping = {"features": features.cache_key(encoder_file), "format": COPIES_FORMAT, "channel_code": channel_code,
               "conditions": COPY_CONDITIONS, "per_clip": COPIES_PER_CLIP, "pooled": POOLED, "raw": RAW}
    key = hashlib.sha256(json.dumps(shaping, sort_keys=True).encode("utf-8")).hexdigest()[:16]
    return features.CACHE_ROOT / f"copies-{key}"


def _clip_seed(path: str) -> int:
    """A clip's own seed, from its file name: its copies never depend on where it is listed."""
    return zlib.crc32(Path(path).name.encode("utf-8"))


def plan(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per copy: ``owner`` (row of ``frame``), ``path`` (the owner's file), ``copy`` and ``condition``."""
    rows = []
    owners = np.flatnonzero((frame["split"] == "train").to_numpy() & (frame["condition"] == "clean").to_numpy())
    for owner in owners:
        path = frame["path"].iloc[owner]
        rng = np.random.default_rng(_clip_seed(path))
        for k, condition in enumerate(rng.choice(COPY_CONDITIONS, size=COPIES_PER_CLIP, replace=False)):
            rows.append({"owner": int(owner), "path": path, "copy": k, "condition": str(condition)})
    return pd.DataFrame(rows, columns=["owner", "path", "copy", "condition"])


def copy_samples(path: str, condition: str, copy: int) -> np.ndarray:
    """The clip at ``path`` through ``condition``, prepared as served (the condition's randomness seeded per copy)."""
    rng = np.random.default_rng([_clip_seed(path), copy])
    degraded = apply_condition(features.prepared_samples(path), condition, rng)
    return prepare_waveform(degraded, features.PREPARATION, check_length=False).samples


def _key(row) -> str:
    return f"{clip_key(row.path)}-{row.copy}"


def extract(copies: pd.DataFrame, encoder_file: str | Path) -> dict[str, str]:
    """Cache every copy of ``copies`` (:func:`plan`) not cached yet; ``{path: why}`` for unreadable owners."""
    run, norm = stream_runner(max(POOLED))

    def entry(row) -> dict[str, np.ndarray]:
        streams = raw_streams(run, encoder_input(copy_samples(row.path, row.condition, row.copy)))
        return {"stats": normed_stats(norm, streams, POOLED), f"raw{RAW}": streams[RAW].astype(np.float16)}

    return features.cache_each(copies, copies_folder(encoder_file), entry, key_of=_key,
                               log=lambda line: print(line, flush=True))


def load(frame: pd.DataFrame, encoder_file: str | Path, stream: bool = True) -> dict:
    """The cached copies of ``frame``'s clips: ``owner`` (rows of ``frame``), ``stats`` (m, 5, 2, 512),
    ``frames`` (list of float16 streams after block 3, when ``stream``) and ``condition``.

    A copy not cached is an error that names the command that makes it, not a silently smaller set.
    """
    copies, folder = plan(frame), copies_folder(encoder_file)
    files = [folder / f"{_key(row)}.npz" for row in copies.itertuples(index=False)]
    missing = [path for path, file in zip(copies["path"], files) if not file.exists()]
    if missing:
        raise FileNotFoundError(f"{len(missing)} of {len(copies)} multi-condition copies are not cached (first: "
                                f"{missing[0]}); run python -m train.encoder.copies --encoder {encoder_file}")
    stats, streams = [], []
    for file in files:
        with np.load(file) as data:
            stats.append(data["stats"])
            streams.append(data[f"raw{RAW}"] if stream else None)
    empty = np.zeros((0, len(POOLED), 2, 512), np.float32)
    return {"owner": copies["owner"].to_numpy(), "stats": np.stack(stats) if stats else empty,
            "frames": streams if stream else None, "condition": copies["condition"].to_numpy()}


def main(argv: list[str] | None = None) -> int:
    from train.schema import read_manifest

    parser = argparse.ArgumentParser(prog="python -m train.encoder.copies", description=__doc__)
    parser.add_argument("--corpus", default="data/corpus")
    parser.add_argument("--encoder", required=True, help="the shared LiteRT encoder file (its key names the cache)")
    args = parser.parse_args(argv)
    copies = plan(read_manifest(args.corpus))
    started = time.monotonic()
    errors = extract(copies, args.encoder)
    print(f"{len(copies)} copies of {copies['owner'].nunique()} clean training clips, {len(errors)} unreadable, "
          f"{time.monotonic() - started:.0f} s")
    for path, why in errors.items():
        print(f"unreadable: {path}: {why}")
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())

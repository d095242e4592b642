"""Encoder features of a corpus, computed once through the serving path and cached per clip.

Each clip is decoded, trimmed and loudness-normalised exactly as the server does
(:func:`detector.preparation.prepare_waveform`), turned into log-mel and run through
the shared LiteRT encoder (:class:`detector.encoder.runtime.WhisperEncoder`). What is
kept per clip:

* ``stats`` (outputs, 2, 512): mean and standard deviation over time of every output;
* ``sequence`` (:func:`~detector.encoder.runtime.step_sequence`): the first four outputs averaged over
  0.1-s steps, for heads that look at time.

The cache folder is named by a digest of everything that shapes a feature (:func:`cache_key`):
the encoder file's SHA-256, the preparation settings and the front end's code version,
and the cache's own format. A change to any of them starts a new folder, never reuses
stale features. Pooled statistics are kept as float32, as serving computes them; the
sequences as float16 (they are most of the cache). ``python -m train.encoder.features --corpus data/corpus``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from detector.audio import load_audio
from detector.config import FeatureConfig
from detector.encoder.record import cached_sha256
from detector.encoder.runtime import SEQUENCE_OUTPUTS, SEQUENCE_STEP, WhisperEncoder, pooled_stats, step_sequence
from detector.errors import AudioError
from detector.features import feature_code
from detector.paths import REPO_ROOT
from detector.preparation import prepare_waveform
from train.dataset import clip_key

CACHE_ROOT = REPO_ROOT / ".cache" / "encoder"
PROGRESS_EVERY = 50       # clips between progress reports
# The configuration an encoder version saves as features.json (train.encoder.version): trimming and loudness as
# every other front end, the whisper front end's log-mel.
PREPARATION = FeatureConfig(feature="whisper")
# Bump when what a cache entry holds changes (2: float32 statistics, key over the preparation and the code).
CACHE_FORMAT = 2


def prepared_samples(path: str) -> np.ndarray:
    """A clip decoded at 16 kHz, trimmed and loudness-normalised like served audio."""
    decoded = load_audio(path, PREPARATION.sample_rate)
    return prepare_waveform(decoded.samples, PREPARATION, check_length=False).samples


def clip_entry(encoder: WhisperEncoder, path: str) -> dict[str, np.ndarray]:
    """Pooled statistics (float32, as served) and the short-step sequence (float16: 1 GB as it is) of one clip."""
    frames = encoder.encode(prepared_samples(path))
    return {"stats": pooled_stats(frames), "sequence": step_sequence(frames).astype(np.float16)}


def cache_key(encoder_file: str | Path) -> str:
    """A digest of everything that shapes a cached feature: encoder, preparation, front-end code, cache format."""
    shaping = {"encoder": cached_sha256(Path(encoder_file)),   # hashed once per process, not per call
               "features": PREPARATION.to_dict(), "code": feature_code(PREPARATION), "format": CACHE_FORMAT,
               "sequence": {"step": SEQUENCE_STEP, "outputs": SEQUENCE_OUTPUTS}}
    return hashlib.sha256(json.dumps(shaping, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def cache_folder(encoder_file: str | Path) -> Path:
    return CACHE_ROOT / cache_key(encoder_file)


def missing(frame: pd.DataFrame, encoder_file: str | Path) -> int:
    """How many clips of ``frame`` have no cached features yet (each costs one pass of the encoder)."""
    folder = cache_folder(encoder_file)
    return sum(not (folder / f"{clip_key(path)}.npz").exists() for path in frame["path"])


def extract(frame: pd.DataFrame, encoder_file: str | Path, threads: int = 2, log=print,
            on_progress=None) -> dict[str, str]:
    """Make sure every clip of ``frame`` (a manifest with ``path``) has cached features; return errors.

    ``on_progress(done, total)`` is called every ``PROGRESS_EVERY`` clips encoded (for a job's page).
    """
    encoder = WhisperEncoder(encoder_file, num_threads=threads)
    return cache_each(frame, cache_folder(encoder_file), lambda row: clip_entry(encoder, row.path), log, on_progress)


def cache_each(frame: pd.DataFrame, folder: Path, entry_of, log=print, on_progress=None,
               key_of=None) -> dict[str, str]:
    """``entry_of(row)`` (a dict of arrays) saved as ``folder/<key_of(row)>.npz`` for every row not cached yet.

    ``row`` is one of ``frame.itertuples()``; the key defaults to the clip's (:func:`train.dataset.clip_key`
    of ``row.path``). Each file is written aside and renamed, so an interrupted run leaves no half entry
    and the next run resumes. Returns ``{path: why}`` for the rows that could not be decoded.
    """
    key_of = key_of or (lambda row: clip_key(row.path))
    folder.mkdir(parents=True, exist_ok=True)
    errors: dict[str, str] = {}
    started, done = time.monotonic(), 0
    for index, row in enumerate(frame.itertuples(index=False)):
        target = folder / f"{key_of(row)}.npz"
        if target.exists():
            continue
        try:
            entry = entry_of(row)
        except AudioError as exc:
            errors[row.path] = exc.message
            continue
        temp = target.with_suffix(".tmp.npz")
        np.savez(temp, **entry)
        os.replace(temp, target)
        done += 1
        if done % 250 == 0:
            log(f"{index + 1}/{len(frame)} clips, {time.monotonic() - started:.0f} s")
        if on_progress is not None and done % PROGRESS_EVERY == 0:
            on_progress(index + 1, len(frame))
    return errors


def load(frame: pd.DataFrame, encoder_file: str | Path, sequences: bool = False):
    """Stacked ``stats`` (n, outputs, 2, 512) float32, and the list of sequences when asked; NaN rows for missing clips."""
    folder = cache_folder(encoder_file)
    stats, seqs = [], []
    for path in frame["path"]:
        target = folder / f"{clip_key(path)}.npz"
        if target.exists():
            with np.load(target) as data:
                stats.append(data["stats"].astype(np.float32))
                if sequences:
                    seqs.append(data["sequence"])
        else:
            stats.append(None)
            seqs.append(None)
    shape = next(s.shape for s in stats if s is not None)
    array = np.stack([s if s is not None else np.full(shape, np.nan, np.float32) for s in stats])
    return (array, seqs) if sequences else array


def main(argv: list[str] | None = None) -> int:
    from train.schema import read_manifest

    parser = argparse.ArgumentParser(prog="python -m train.encoder.features", description=__doc__)
    parser.add_argument("--corpus", default="data/corpus")
    parser.add_argument("--encoder", required=True, help="the LiteRT encoder file")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    frame = read_manifest(args.corpus)
    started = time.monotonic()
    errors = extract(frame, args.encoder, args.threads)
    print(f"{len(frame)} clips, {len(errors)} skipped, {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

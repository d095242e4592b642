"""Every corpus clip's channel class, measured by serving's own function and cached.

The held-out engine crosses its folds with channel classes (issue 32). The class must be
the one serving would give the clip (:func:`detector.channel.channel_class` on the quality
warnings and power spectrogram that :meth:`detector.inference.Detector.analyse` computes),
never the condition the corpus builder recorded: a user's clip has no recorded condition.

Measuring decodes every clip once (about a minute per thousand clips on one core), so the
results are cached in ``.cache/channels/<key>.csv``. The key is a digest of the code that
shapes a measurement (this module's measuring path and the detector modules it calls) and
of the preparation settings; each row is found by :func:`train.dataset.clip_key` (path,
size, modification time), so an edited clip is measured again.

``python -m train.channels --corpus data/corpus`` fills the cache and prints the counts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

import detector.channel
import detector.preparation
import detector.quality
import detector.spectrum
from detector.audio import load_audio
from detector.channel import channel_class, level_spread_db
from detector.config import FeatureConfig
from detector.errors import AudioError
from detector.paths import REPO_ROOT
from detector.preparation import prepare_waveform
from detector.quality import quality_warnings
from detector.spectrum import clip_power
from train.dataset import clip_key
from train.schema import read_manifest

CONFIG = FeatureConfig(feature="whisper")   # the shipped model's preparation and quality checks
CACHE_ROOT = REPO_ROOT / ".cache" / "channels"
SHAPING_MODULES = (detector.channel, detector.quality, detector.preparation, detector.spectrum)
UNREADABLE = "unreadable"   # a clip the decoder refuses: it has no class, and the engine never scores it
PROGRESS_EVERY = 500


def cache_file() -> Path:
    """The cache of today's measuring code and settings."""
    shaping = {"config": CONFIG.to_dict(),
               "code": {m.__name__: hashlib.sha256(Path(m.__file__).read_bytes()).hexdigest()
                        for m in SHAPING_MODULES}}
    key = hashlib.sha256(json.dumps(shaping, sort_keys=True).encode("utf-8")).hexdigest()[:16]
    return CACHE_ROOT / f"{key}.csv"


def measure(path: str) -> dict[str, object]:
    """The channel class of one clip as serving measures it, with the warnings and level spread behind it."""
    decoded = load_audio(path, CONFIG.sample_rate)
    prepared = prepare_waveform(decoded.samples, CONFIG, check_length=False)
    power = clip_power(prepared.samples, CONFIG)
    codes = [w.code for w in quality_warnings(decoded, prepared, power, CONFIG)]
    return {"channel": channel_class(codes, power), "level_spread_db": round(level_spread_db(power), 2),
            "warnings": " ".join(codes)}


def measured(frame: pd.DataFrame, progress: bool = False) -> pd.DataFrame:
    """One row per clip of ``frame`` (same order): ``channel``, ``level_spread_db``, ``warnings``.

    Clips not in the cache are measured and added to it. A clip the decoder refuses gets the
    class :data:`UNREADABLE` and its reason in ``warnings``, so a count can say so.
    """
    path = cache_file()
    cached = pd.read_csv(path, dtype=str, keep_default_na=False).set_index("key") if path.exists() else None
    keys = [clip_key(p) for p in frame["path"]]
    rows, new = [], []
    for done, (key, clip) in enumerate(zip(keys, frame["path"]), start=1):
        if cached is not None and key in cached.index:
            row = cached.loc[key]
            rows.append({"channel": row["channel"], "level_spread_db": float(row["level_spread_db"]),
                         "warnings": row["warnings"]})
            continue
        try:
            row = measure(clip)
        except AudioError as error:
            row = {"channel": UNREADABLE, "level_spread_db": float("nan"), "warnings": str(error)}
        rows.append(row)
        new.append({"key": key, **row})
        if progress and done % PROGRESS_EVERY == 0:
            print(f"{done} / {len(keys)} clips", flush=True)
    if new:
        path.parent.mkdir(parents=True, exist_ok=True)
        table = pd.DataFrame(new)
        table.to_csv(path, mode="a", header=not path.exists(), index=False)
    return pd.DataFrame(rows, index=frame.index)


def with_channels(frame: pd.DataFrame, progress: bool = False) -> pd.DataFrame:
    """``frame`` with a ``channel`` column (a new frame; the manifest is not changed)."""
    return frame.assign(channel=measured(frame, progress)["channel"].to_numpy())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.channels", description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="data/corpus")
    args = parser.parse_args(argv)
    frame = with_channels(read_manifest(args.corpus), progress=True)
    print(pd.crosstab(frame["condition"], frame["channel"]).to_string())
    print(f"cache: {cache_file()}; clips per class: "
          + ", ".join(f"{k} {v}" for k, v in frame["channel"].value_counts().items()))
    return int(np.any(frame["channel"] == UNREADABLE))


if __name__ == "__main__":
    sys.exit(main())

"""Speaker-disjoint splits, synthetic-voice splits and leave-one-family-out folds.

Genuine speakers are assigned to train/val/test first. Vocoder copies and TTS
renderings of a speaker's text inherit that speaker's split. Synthetic voices
are assigned too: in a family with at least three voices, some voices appear
only in val or only in test (the test split holds unseen voices), while every
family stays present in every split. The check that a finished manifest keeps
these rules is the trainer's own, :func:`train.schema.check_no_leakage`.
"""

from __future__ import annotations

import hashlib
from typing import Iterable

import numpy as np

from train.schema import SPLITS

DEFAULT_FRACTIONS = {"train": 0.7, "val": 0.15, "test": 0.15}


def assign_speaker_splits(sizes: dict[str, float], seed: int = 0,
                          fractions: dict[str, float] | None = None) -> dict[str, str]:
    """Assign each speaker to a split so that split sizes follow ``fractions``.

    Parameters
    ----------
    sizes : dict
        Speaker -> weight (planned clips).
    seed : int
        Shuffles speakers of equal size.
    fractions : dict, optional
        Split -> share of the total weight.

    Returns
    -------
    dict
        Speaker -> split. With three or more speakers every split gets one.
    """
    fractions = fractions or DEFAULT_FRACTIONS
    rng = np.random.default_rng(seed)
    names = list(sizes)
    rng.shuffle(names)
    names.sort(key=lambda s: -sizes[s])
    total = float(sum(sizes.values())) or 1.0
    filled = {s: 0.0 for s in SPLITS}
    out: dict[str, str] = {}
    # Give val and test one mid-sized speaker each first, so no split is empty.
    if len(names) >= 3:
        mids = names[len(names) // 2: len(names) // 2 + 2]
        for split, name in zip(("test", "val"), mids):
            out[name] = split
            filled[split] += sizes[name]
    for name in names:
        if name in out:
            continue
        split = max(SPLITS, key=lambda s: fractions[s] - filled[s] / total)
        out[name] = split
        filled[split] += sizes[name]
    return out


def _bucket(key: str, seed: int) -> float:
    digest = hashlib.sha1(f"{seed}:{key}".encode()).hexdigest()
    return int(digest[:8], 16) / 0xFFFFFFFF


def assign_voice_splits(voices: Iterable[tuple[str, str]], seed: int = 0, held_out: float = 0.15) -> dict[str, str]:
    """Split synthetic voices: ``(voice_id, family)`` -> ``train``/``val``/``test``/``all``.

    Families with fewer than three voices return ``all`` (the voice appears in
    every split; its texts still follow the speakers' splits). Otherwise about
    ``held_out`` of the voices go to val only and as many to test only (at least
    one each), the rest to train.
    """
    by_family: dict[str, list[str]] = {}
    for voice, family in voices:
        by_family.setdefault(family, []).append(voice)
    out: dict[str, str] = {}
    for family, ids in by_family.items():
        if len(ids) < 3:
            out.update({v: "all" for v in ids})
            continue
        ordered = sorted(ids, key=lambda v: _bucket(v, seed))
        n_hold = max(1, int(round(held_out * len(ids))))
        for i, voice in enumerate(ordered):
            out[voice] = "test" if i < n_hold else "val" if i < 2 * n_hold else "train"
    return out

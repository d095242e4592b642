"""Keep language and source channel from standing in for the label.

Corpus v1 had English 146 genuine vs 1,512 synthetic clips: a model could call
anything English "synthetic" and be right. Here every language gets both labels
in nearly the same share (``SHARE_RANGE`` in :mod:`train.corpus.manifest`), in every split where it appears,
and every TTS clip wears the source channel of a genuine clip of its language.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

from detector.vocabulary import COPY_FAMILIES, TTS_FAMILIES
from train.corpus.plan import FAMILY_SHARE, NARROW_RATE, Job, copy_job


def tts_per_language(genuine: list[Job], synthetic_total: int) -> dict[str, int]:
    """TTS clips per language: the TTS part of ``synthetic_total`` spread like the genuine languages."""
    langs = Counter(j.language for j in genuine)
    tts_share = sum(FAMILY_SHARE[f] for f in TTS_FAMILIES) / sum(FAMILY_SHARE.values())
    scale = synthetic_total * tts_share / max(1, len(genuine))
    return {lang: int(round(n * scale)) for lang, n in langs.items()}


def copy_counts(synthetic_total: int) -> dict[str, int]:
    total = sum(FAMILY_SHARE.values())
    return {f: int(round(synthetic_total * FAMILY_SHARE[f] / total)) for f in COPY_FAMILIES}


def balance_languages(genuine: list[Job], synthetic: list[Job], methods: dict[str, list[str]],
                      rng: np.random.Generator) -> list[Job]:
    """Top up or trim each language's synthetic clips to the genuine count.

    A language short of synthetic clips (no TTS voice, or no texts) gets more
    vocoder copies of its own genuine clips, neural and classic in turn; one with
    too many loses TTS clips at random. Returns the new synthetic list.
    """
    by_lang: dict[str, list[Job]] = defaultdict(list)
    for job in synthetic:
        by_lang[job.language].append(job)
    genuine_by_lang: dict[str, list[Job]] = defaultdict(list)
    for job in genuine:
        genuine_by_lang[job.language].append(job)
    order = [(f, m) for pair in zip(*(methods.get(f, []) for f in COPY_FAMILIES)) for f, m in zip(COPY_FAMILIES, pair)]
    order += [(f, m) for f in COPY_FAMILIES for m in methods.get(f, []) if (f, m) not in order]
    out: list[Job] = []
    for lang in sorted(set(by_lang) | set(genuine_by_lang)):
        jobs, originals = by_lang.get(lang, []), genuine_by_lang.get(lang, [])
        target = len(originals)
        if len(jobs) > target:
            tts = [j for j in jobs if j.kind == "tts"]
            drop = set(rng.choice(len(tts), size=min(len(tts), len(jobs) - target), replace=False).tolist())
            jobs = [j for j in jobs if j.kind != "tts"] + [j for i, j in enumerate(tts) if i not in drop]
        have = {j.id for j in jobs}
        pool = list(originals)
        rng.shuffle(pool)
        # Clip k of the pool gets method k (shifted by one each pass over the pool), so methods
        # spread over clips; at most two copies per clip and method round.
        for k in range(2 * len(pool) * len(order) if pool and order else 0):
            if len(jobs) >= target:
                break
            family, method = order[(k + k // len(pool)) % len(order)]
            extra = copy_job(pool[k % len(pool)], family, method, rng)
            if extra.id not in have:
                jobs.append(extra)
                have.add(extra.id)
        out += jobs
    return out


def drop_single_label_cells(jobs: list[Job]) -> tuple[list[Job], list[str]]:
    """Remove the clips of a language that has only one label in a split; names what was dropped."""
    labels: dict[tuple[str, str], set[str]] = defaultdict(set)
    for job in jobs:
        labels[(job.language, job.split)].add(job.label)
    lonely = {cell for cell, seen in labels.items() if len(seen) < 2}
    dropped = [f"{lang}/{split}" for lang, split in sorted(lonely)]
    return [j for j in jobs if (j.language, j.split) not in lonely], dropped


def assign_channels(genuine: list[Job], tts: list[Job], rng: np.random.Generator) -> None:
    """Give each TTS job the source channel of a random genuine job of its language (any, if none)."""
    by_lang: dict[str, list[str]] = defaultdict(list)
    for job in genuine:
        if job.channel:
            by_lang[job.language].append(job.channel)
    every = [c for channels in by_lang.values() for c in channels]
    for job in tts:
        pool = by_lang.get(job.language) or every
        if pool:
            job.channel = pool[int(rng.integers(len(pool)))]
            job.narrow = job.narrow or int(job.channel.rsplit(":", 1)[1]) <= NARROW_RATE

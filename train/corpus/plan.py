"""Plan every clip of a corpus before rendering anything.

The plan is a deterministic function of the indexed sources, the size and the
seed, so an interrupted build resumes by skipping the jobs whose files exist.
Planning also fixes everything that must not depend on the label: one target
duration distribution, one condition distribution, and the same share of
narrow-band (8 kHz-native or 8 kHz round-trip) clips in both classes.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from detector.vocabulary import COPY_FAMILIES, TTS_FAMILIES
from train.corpus.conditions import draw_condition
from train.corpus.source_clip import SourceClip
from train.corpus.splits import assign_speaker_splits, assign_voice_splits
from train.corpus.tts import Voice
from train.schema import SPLITS

CORPUS_VERSION = 2  # v2: neural-vocoder and articulatory families, game voices, language balance
ALL_SOURCES = ["asterisk", "festvox-ru", "tuxpaint", "fillets", "klettres", "ktuberling", "gcin",
               "queen", "sky", "warzone", "codec2"]
SIZES: dict[str, dict] = {
    # archive_limit: lines taken from each game archive (extraction and voice clustering are slow).
    "small": {"genuine": 160, "synthetic": 160, "espeak_variants": 4, "archive_limit": 60,
              "sources": ["asterisk", "tuxpaint", "fillets", "klettres", "ktuberling", "gcin",
                          "queen", "sky", "warzone", "codec2"],
              "asterisk_langs": ["en", "fr"]},
    "default": {"genuine": 5000, "synthetic": 5000, "espeak_variants": 12, "archive_limit": 2000,
                "sources": ALL_SOURCES},
    "full": {"genuine": 14000, "synthetic": 14000, "espeak_variants": 12, "sources": ALL_SOURCES},
}
# Share of the synthetic clips per family. Copies (vocoder, neural_vocoder) mirror genuine
# clips, so they follow the genuine languages by construction; TTS is planned per language.
FAMILY_SHARE = {"formant": 0.16, "diphone": 0.12, "parametric": 0.10, "neural": 0.08, "articulatory": 0.06,
                "vocoder": 0.18, "neural_vocoder": 0.30}
MIN_TARGET_S, MAX_TARGET_S = 1.5, 6.0
NARROW_RATE = 8000
MIN_NARROW_SHARE = 0.25


@dataclass
class Job:
    """One output clip: how to make it and its manifest row."""

    id: str
    kind: str                    # genuine | tts | vocoder
    label: str
    source: str
    speaker: str
    language: str
    family: str
    generator: str
    derived_from: str
    split: str
    condition: str
    target_s: float
    seed: int
    narrow: bool
    inputs: list[str] = field(default_factory=list)   # source paths or texts
    voice: str = ""                                   # voice id (tts) or method (vocoder)
    words: bool = False                               # tts: speak short chunks like single-word genuine clips
    channel: str = ""                                 # source channel, ``codec:rate`` (train.corpus.channels)

    @property
    def file(self) -> str:
        return f"clips/{self.family}/{self.id}.wav"


def draw_target(rng: np.random.Generator) -> float:
    """Target duration in seconds: log-uniform, the same for every clip of either class."""
    return float(np.exp(rng.uniform(np.log(MIN_TARGET_S), np.log(MAX_TARGET_S))))


def _job_id(*parts: object) -> str:
    return hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()[:14]


def _speaker_quota(by_speaker: dict[str, list[SourceClip]], total: int) -> dict[str, int]:
    """Clips per speaker: capacity-limited, with a common cap so no speaker dominates."""
    mean_target = (MAX_TARGET_S - MIN_TARGET_S) / np.log(MAX_TARGET_S / MIN_TARGET_S)
    capacity = {s: int(sum(c.duration_s for c in clips) * 0.8 / mean_target) for s, clips in by_speaker.items()}
    lo, hi = 1, max(capacity.values(), default=1)
    while lo < hi:  # smallest cap reaching the total
        mid = (lo + hi) // 2
        if sum(min(mid, c) for c in capacity.values()) >= total:
            hi = mid
        else:
            lo = mid + 1
    quota = {s: min(lo, c) for s, c in capacity.items() if min(lo, c) > 0}
    # The common cap overshoots by up to one clip per speaker: take them back from the largest.
    for speaker in sorted(quota, key=lambda s: (-quota[s], s)):
        if sum(quota.values()) <= total:
            break
        if quota[speaker] > 1:
            quota[speaker] -= 1
    return quota


def plan_genuine(clips: list[SourceClip], total: int, rng: np.random.Generator) -> tuple[list[Job], dict[str, str]]:
    """Genuine jobs (pieces of one speaker concatenated up to a target) and speaker splits."""
    by_speaker: dict[str, list[SourceClip]] = defaultdict(list)
    for clip in clips:
        by_speaker[clip.speaker].append(clip)
    quota = _speaker_quota(by_speaker, total)
    splits = assign_speaker_splits({s: float(q) for s, q in quota.items()}, seed=int(rng.integers(1 << 30)))
    jobs: list[Job] = []
    for speaker in sorted(quota):
        pool = list(by_speaker[speaker])
        rng.shuffle(pool)
        for _ in range(quota[speaker]):
            target = draw_target(rng)
            pieces: list[SourceClip] = []
            est = 0.0
            while pool and est < target * 1.3:
                piece = pool.pop()
                pieces.append(piece)
                est += piece.duration_s * 0.8 + 0.2
            if not pieces:
                break
            first = pieces[0]
            seed = int(rng.integers(1 << 31))
            jobs.append(Job(
                id="g" + _job_id("genuine", *[p.path for p in pieces], seed), kind="genuine", label="genuine",
                source=first.source, speaker=speaker, language=first.language, family="genuine", generator="human",
                derived_from="", split=splits[speaker], condition=draw_condition(rng), target_s=target, seed=seed,
                narrow=all(p.native_rate <= NARROW_RATE for p in pieces), inputs=[p.path for p in pieces],
                channel=first.channel))
    return jobs, splits


def copy_job(g: Job, family: str, method: str, rng: np.random.Generator) -> Job:
    """A vocoder copy of genuine job ``g``: same speaker, language, split, crop and channel."""
    return Job(
        id="v" + _job_id(g.id, method), kind="vocoder", label="synthetic", source=g.source, speaker=g.speaker,
        language=g.language, family=family, generator=method, derived_from=g.file, split=g.split,
        condition=draw_condition(rng), target_s=g.target_s, seed=g.seed, narrow=g.narrow,
        inputs=list(g.inputs), voice=method, channel=g.channel)


def plan_copies(genuine: list[Job], counts: dict[str, int], methods: dict[str, list[str]],
                rng: np.random.Generator) -> list[Job]:
    """Copies of randomly chosen genuine jobs: ``counts[family]`` per copy family, methods in turn."""
    jobs = []
    for family in COPY_FAMILIES:
        names = methods.get(family, [])
        if not names or not counts.get(family):
            continue
        chosen = rng.choice(len(genuine), size=min(counts[family], len(genuine)), replace=False)
        for i, index in enumerate(sorted(chosen)):
            jobs.append(copy_job(genuine[int(index)], family, names[i % len(names)], rng))
    return jobs


def _tts_counts(voices: list[Voice], per_language: dict[str, int]) -> dict[str, int]:
    """Jobs per voice: each language's TTS count, shared by family weight, then evenly by voice."""
    counts: dict[str, int] = {}
    for lang, total in sorted(per_language.items()):
        members = [v for v in voices if v.language == lang]
        families = [f for f in TTS_FAMILIES if any(v.family == f for v in members)]
        if not families or total <= 0:
            continue
        weight = np.array([FAMILY_SHARE[f] for f in families])
        exact = weight / weight.sum() * total
        per_family = np.floor(exact).astype(int)
        for i in np.argsort(-(exact - per_family))[: total - int(per_family.sum())]:
            per_family[i] += 1  # largest remainders: the total is exact
        for family, n in zip(families, per_family):
            group = [v for v in members if v.family == family]
            offset = len(counts) % len(group)  # rotate so small counts do not always hit the first variants
            for i, v in enumerate(group[offset:] + group[:offset]):
                counts[v.id] = n // len(group) + (1 if i < n % len(group) else 0)
    return counts


def plan_tts(voices: list[Voice], texts: list[tuple[str, str, str | None]], speaker_splits: dict[str, str],
             per_language: dict[str, int], words_share: float, rng: np.random.Generator,
             genuine_cells: set[tuple[str, str]] | None = None) -> list[Job]:
    """TTS jobs: ``per_language[lang]`` clips, each voice reading texts of its language from its split.

    With ``genuine_cells`` (the ``(language, split)`` pairs holding genuine clips), a voice only
    speaks in splits where its language has genuine speech: a split holding one label of a
    language would be dropped from the corpus (``balance.drop_single_label_cells``).
    """
    voice_split = assign_voice_splits([(v.id, v.family) for v in voices if not v.tied_speaker], seed=int(rng.integers(1 << 30)))
    for v in voices:
        if v.tied_speaker:
            voice_split[v.id] = speaker_splits.get(v.tied_speaker, "all")
    # (language, split) -> owner -> texts. Unowned texts (no genuine recording) fit every split.
    pool: dict[tuple[str, str], dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for lang, text, owner in texts:
        text = " ".join(text.split())[:300]
        if not text:
            continue
        if owner is None:
            for split in SPLITS:
                pool[(lang, split)][""].append(text)
        elif owner in speaker_splits:
            pool[(lang, speaker_splits[owner])][owner].append(text)
    split_weights = Counter(speaker_splits.values())
    counts = _tts_counts(voices, per_language)
    jobs = []
    for v in voices:
        def usable(split: str) -> bool:  # texts to read, and genuine clips of the language to pair with
            return bool(pool.get((v.language, split))) and (genuine_cells is None or (v.language, split) in genuine_cells)

        allowed = [voice_split[v.id]] if voice_split[v.id] in SPLITS else list(SPLITS)
        allowed = [s for s in allowed if usable(s)] or [s for s in SPLITS if usable(s)]
        if not allowed:
            continue
        probs = np.array([split_weights.get(s, 0) + 1e-3 for s in allowed], dtype=float)
        for k in range(counts.get(v.id, 0)):
            split = str(rng.choice(allowed, p=probs / probs.sum()))
            owners = sorted(pool[(v.language, split)])
            owner = owners[int(rng.integers(len(owners)))]
            candidates = pool[(v.language, split)][owner]
            picks = [candidates[int(i)] for i in rng.integers(len(candidates), size=8)]
            seed = int(rng.integers(1 << 31))
            words = bool(rng.random() < words_share)
            jobs.append(Job(
                id="t" + _job_id(v.id, k, seed), kind="tts", label="synthetic", source=v.generator,
                speaker=v.id, language=v.language, family=v.family, generator=v.id, split=split,
                derived_from=f"text:{owner}" if owner else "", condition=draw_condition(rng),
                target_s=draw_target(rng), seed=seed, narrow=v.engine == "flite" and v.name == "kal",
                inputs=picks, voice=v.id, words=words))
    return jobs


def equalise_narrowband(jobs: list[Job], rng: np.random.Generator, share: float | None = None) -> float:
    """Flag extra clips narrow-band so both classes have the same narrow share.

    Native 8 kHz material (asterisk prompts, flite ``kal``) cannot be widened,
    so the other clips of each class are band-limited through 8 kHz with the
    probability that brings that class up to the common share. Returns the share.
    """
    if share is None:
        share = max([MIN_NARROW_SHARE] + [np.mean([j.narrow for j in jobs if j.label == lab] or [0.0]) for lab in ("genuine", "synthetic")])
    for label in ("genuine", "synthetic"):
        members = [j for j in jobs if j.label == label and j.kind != "vocoder"]
        fixed = [j for j in jobs if j.label == label and j.kind == "vocoder"]  # copies follow their original
        native = sum(j.narrow for j in members) + sum(j.narrow for j in fixed)
        need = share * (len(members) + len(fixed)) - native
        free = [j for j in members if not j.narrow]
        if need > 0 and free:
            for index in rng.choice(len(free), size=min(len(free), int(round(need))), replace=False):
                free[int(index)].narrow = True
    return float(share)

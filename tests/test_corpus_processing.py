"""Processing invariants: conditions, the clip chain, narrow-band balance, TTS planning."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from detector.audio import load_audio
from detector.config import FeatureConfig
from detector.preparation import frame_rms_db
from train.corpus.conditions import CONDITIONS, apply_condition, narrowband
from train.corpus.plan import MAX_TARGET_S, MIN_TARGET_S, Job, draw_target, equalise_narrowband, plan_tts
from train.corpus.process import make_clip
from train.corpus.tts import Voice

RATE = 16000
CONFIG = FeatureConfig()


def _speechlike(seconds: float, rate: int, seed: int) -> np.ndarray:
    """Harmonic 'vowels' with a syllable-rate envelope and breathy noise, up to rate/2."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    f0 = 110 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 30) if k * 140 < rate / 2)
    envelope = np.clip(np.sin(2 * np.pi * 3.0 * t), 0, None) ** 0.5
    return (0.1 * envelope * voiced + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


def _band_energy_db(x: np.ndarray, lo: float, hi: float) -> float:
    spec = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / RATE)
    band = spec[(freqs >= lo) & (freqs < hi)].sum()
    return float(10 * np.log10(band / spec.sum() + 1e-20))


@pytest.mark.parametrize("name", sorted(CONDITIONS))
def test_every_condition_keeps_length_and_content(name: str) -> None:
    x = _speechlike(2.0, RATE, 0)
    y = apply_condition(x, name, np.random.default_rng(1))
    assert y.dtype == np.float32 and len(y) == len(x) and np.all(np.isfinite(y))
    assert 0.2 < np.sqrt(np.mean(y ** 2)) / np.sqrt(np.mean(x ** 2)) < 5.0
    if name == "telephone" or name == "amr-nb":
        assert _band_energy_db(y, 4200, 8000) < -40.0  # an 8 kHz channel has nothing above 4 kHz
    if name == "clean":
        assert np.array_equal(x, y)


def test_narrowband_matches_an_8khz_native_recording() -> None:
    x = _speechlike(2.0, RATE, 2)
    assert _band_energy_db(x, 4200, 8000) > -30.0
    y = narrowband(x)
    assert len(y) == len(x) and _band_energy_db(y, 4200, 8000) < -60.0


def _job(kind: str, inputs: list[str], target: float, narrow: bool, label: str, family: str) -> Job:
    return Job(id=f"{kind}-x", kind=kind, label=label, source="test", speaker="spk", language="en", family=family,
               generator="world" if kind == "vocoder" else "human", derived_from="", split="train", condition="clean",
               target_s=target, seed=7, narrow=narrow, inputs=inputs, voice="world" if kind == "vocoder" else "")


def _active_rms_db(x: np.ndarray) -> float:
    levels = frame_rms_db(x, CONFIG.frame_length, CONFIG.frame_hop)
    active = levels > levels.max() - CONFIG.trim_top_db
    return float(10 * np.log10(np.mean(10 ** (levels[active] / 10))))


def test_genuine_and_vocoder_clips_share_rate_length_and_loudness(tmp_path: Path) -> None:
    # Two pieces at different native rates and levels, with leading silence.
    a, b = tmp_path / "a.ogg", tmp_path / "b.wav"
    sf.write(str(a), np.concatenate([np.zeros(20000, np.float32), 0.3 * _speechlike(1.2, 44100, 3)]), 44100, format="OGG")
    sf.write(str(b), 0.02 * _speechlike(1.5, 8000, 4), 8000)
    durations = {}
    for kind, label, family in (("genuine", "genuine", "genuine"), ("vocoder", "synthetic", "vocoder")):
        job = _job(kind, [str(a), str(b)], 2.2, narrow=True, label=label, family=family)
        duration = make_clip(job, tmp_path / "out", None, {})
        stored = load_audio(tmp_path / "out" / job.file, RATE)
        info = sf.info(str(tmp_path / "out" / job.file))
        assert (info.samplerate, info.channels, info.subtype) == (RATE, 1, "PCM_16")
        assert stored.duration_s == pytest.approx(duration, abs=0.01)
        assert 1.0 <= duration <= 2.2 + 0.01
        assert _active_rms_db(stored.samples) == pytest.approx(CONFIG.target_rms_dbfs, abs=1.0)
        assert _band_energy_db(stored.samples, 4200, 8000) < -35.0  # narrow flag honoured for both
        durations[kind] = duration
    # The copy is cut from the very same stretch of the original.
    assert durations["genuine"] == pytest.approx(durations["vocoder"], abs=0.3)


def test_too_short_material_is_refused(tmp_path: Path) -> None:
    short = tmp_path / "s.wav"
    sf.write(str(short), 0.3 * _speechlike(0.4, RATE, 5), RATE)
    with pytest.raises(Exception, match="at least 1 s"):
        make_clip(_job("genuine", [str(short)], 3.0, False, "genuine", "genuine"), tmp_path / "out", None, {})
    assert not (tmp_path / "out" / "clips" / "genuine" / "genuine-x.wav").exists()


def test_target_durations_are_label_free_and_bounded() -> None:
    rng = np.random.default_rng(0)
    values = np.array([draw_target(rng) for _ in range(2000)])
    assert values.min() >= MIN_TARGET_S and values.max() <= MAX_TARGET_S
    assert np.median(values) == pytest.approx(np.sqrt(MIN_TARGET_S * MAX_TARGET_S), rel=0.08)


def test_narrow_share_is_equalised_between_classes() -> None:
    rng = np.random.default_rng(0)
    jobs = [_job("genuine", [], 2.0, i < 400, "genuine", "genuine") for i in range(1000)]
    jobs += [_job("tts", [], 2.0, i < 30, "synthetic", "formant") for i in range(800)]
    share = equalise_narrowband(jobs, rng)
    assert share == pytest.approx(0.4)
    for label in ("genuine", "synthetic"):
        flags = [j.narrow for j in jobs if j.label == label]
        assert np.mean(flags) == pytest.approx(share, abs=0.01)


def test_tts_jobs_follow_the_split_of_the_text_owner() -> None:
    voices = [Voice(f"espeak-ng:fr:{i}", "formant", "espeak-ng", "fr", "espeak", "fr") for i in range(6)]
    voices += [Voice("piper:joe", "neural", "piper", "en", "piper", "joe")]
    texts = [("fr", f"phrase {i} de A", "A") for i in range(5)] + [("fr", f"phrase {i} de B", "B") for i in range(5)]
    texts += [("en", "an unowned english sentence", None), ("fr", "une phrase libre", None)]
    splits = {"A": "train", "B": "test", "C": "val"}
    jobs = plan_tts(voices, texts, splits, {"fr": 120, "en": 80}, 0.5, np.random.default_rng(0))
    assert Counter(j.language for j in jobs) == {"fr": 120, "en": 80}  # the per-language counts are exact
    for job in jobs:
        if job.derived_from.startswith("text:"):
            assert splits[job.derived_from[5:]] == job.split
            owner_texts = {t for _, t, o in texts if o == job.derived_from[5:]}
            assert set(job.inputs) <= owner_texts
    held = Counter((j.voice, j.split) for j in jobs if j.family == "formant")
    voice_splits = {v: {s for (vv, s) in held if vv == v} for v, _ in held}
    assert all(len(s) == 1 for s in voice_splits.values())  # 6 formant voices: each in one split
    assert {j.split for j in jobs if j.voice == "piper:joe"} == {"train", "val", "test"}  # a lone neural voice is shared


def test_tts_speaks_only_in_splits_where_its_language_has_genuine_speech() -> None:
    voices = [Voice(f"espeak-ng:fr:{i}", "formant", "espeak-ng", "fr", "espeak", "fr") for i in range(6)]
    texts = [("fr", f"une phrase libre {i}", None) for i in range(10)]  # unowned: every split has texts
    jobs = plan_tts(voices, texts, {"A": "train", "B": "val"}, {"fr": 60}, 0.0, np.random.default_rng(0),
                    genuine_cells={("fr", "train"), ("fr", "val")})
    assert len(jobs) == 60 and {j.split for j in jobs} == {"train", "val"}  # no French genuine clip in test

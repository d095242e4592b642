"""Memory bombs (issue 17, item 1) and the upload limit sized from the analysis (item 6).

The memory cases run in a child process under ``resource.setrlimit`` (see
``memory_probe``): before block decoding, each of them needed gigabytes.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from audio_fixtures import encode_soundfile, voice_like
from memory_probe import run_under_limit

from detector import audio_blocks
from detector.audio import load_audio
from detector.cli import score_paths
from detector.config import ANALYSED_S, MAX_UPLOAD_BYTES, UPLOAD_LIMIT_MIB, UPLOAD_LIMIT_TEXT, FeatureConfig
from detector.errors import AudioError

REPO = Path(__file__).resolve().parent.parent
BUDGET_MB = 500


def write_silence(path: Path, rate: int, channels: int, seconds: float, fmt: str = "FLAC") -> Path:
    """A file of digital silence written a second at a time (FLAC makes it tiny)."""
    block = np.zeros((rate, channels), dtype=np.float32)
    with sf.SoundFile(path, "w", rate, channels, format=fmt, subtype="PCM_16") as out:
        for _ in range(int(seconds)):
            out.write(block)
    return path


@pytest.fixture(scope="module")
def bombs(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bombs")
    return {
        # 120 s x 384 kHz x 2 channels: 0.37 GB as float32 before any mono or resampling copy.
        "384k": write_silence(folder / "silence-384k.flac", 384_000, 2, 120),
        # Inside the supported range, but 90 s x 192 kHz x 8 channels: 0.55 GB as float32.
        "192k8": write_silence(folder / "silence-192k-8ch.flac", 192_000, 8, 90),
    }


def test_a_rate_above_the_range_is_refused_under_the_memory_limit(bombs):
    outcome = run_under_limit("decode", bombs["384k"], BUDGET_MB)
    assert outcome["code"] == "unsupported", outcome
    assert "384,000 Hz" in outcome["message"] and "192,000" in outcome["message"]


def test_many_channels_at_a_high_rate_decode_within_the_budget(bombs):
    outcome = run_under_limit("decode", bombs["192k8"], BUDGET_MB)
    assert outcome["ok"], outcome
    assert outcome["duration_s"] == pytest.approx(90.0, abs=0.01)


@pytest.mark.parametrize("rate", [1, 100, 3000])
def test_a_header_claiming_a_tiny_rate_is_refused(rate):
    payload = encode_soundfile(voice_like(600 / rate if rate < 100 else 6.0, rate), rate, "WAV")
    with pytest.raises(AudioError) as info:
        load_audio(payload, 16000)
    assert info.value.code == "unsupported"
    assert f"{rate:,} Hz" in info.value.message and "4,000" in info.value.message


def test_the_cli_walking_a_folder_with_a_bomb_reports_a_row(bombs, tiny_detector):
    rows = score_paths(tiny_detector, [str(bombs["384k"].parent)])
    by_name = {Path(r["path"]).name: r for r in rows}
    assert "sample rate" in by_name["silence-384k.flac"]["error"]


def test_blocks_give_the_same_samples_as_decoding_whole(tmp_path):
    # Block-wise downmix and streaming resampling must not change what the model hears.
    import soxr

    rate = 44_100
    stereo = np.stack([voice_like(7.3, rate), voice_like(7.3, rate, f0=210.0, seed=4)], axis=1)
    path = tmp_path / "stereo.wav"
    sf.write(path, stereo, rate, subtype="FLOAT")
    whole = soxr.resample(stereo.mean(axis=1).astype(np.float32), rate, 16000, quality="HQ")
    decoded = load_audio(path, 16000)
    assert decoded.samples.shape == whole.shape
    np.testing.assert_array_equal(decoded.samples, whole.astype(np.float32))


def test_the_sample_budget_truncates_and_says_so(monkeypatch):
    monkeypatch.setattr(audio_blocks, "DECODE_SAMPLE_BUDGET", 16_000 * 2 * 3)   # 3 s of stereo
    stereo = np.stack([voice_like(10.0)] * 2, axis=1)
    decoded = load_audio(encode_soundfile(stereo, 16000, "WAV"), 16000)
    assert decoded.truncated and decoded.duration_s == pytest.approx(3.0, abs=1e-3)
    assert decoded.source_duration_s == pytest.approx(10.0, abs=1e-3)


def test_nan_in_a_late_block_is_still_refused(monkeypatch):
    monkeypatch.setattr(audio_blocks, "BLOCK_SAMPLES", 4096)
    samples = voice_like(3.0)
    samples[40_000] = np.nan
    with pytest.raises(AudioError) as info:
        load_audio(encode_soundfile(samples, 16000, "WAV", "FLOAT"), 16000)
    assert info.value.code == "non_finite"


def test_a_named_pipe_is_refused_instead_of_blocking(tmp_path, tiny_detector):
    fifo = tmp_path / "clip.wav"
    import os

    os.mkfifo(fifo)
    with pytest.raises(AudioError) as info:
        load_audio(fifo, 16000)
    assert "not a regular file" in info.value.message
    rows = score_paths(tiny_detector, [str(fifo)])
    assert rows[0]["error"] and rows[0]["p_synthetic"] == ""


# Item 6: the upload limit ------------------------------------------------------------------------
def test_the_limit_is_sized_from_the_analysed_ten_minutes():
    assert ANALYSED_S == FeatureConfig().max_duration_s  # the analysed minutes are the served models' maximum
    analysed_48k_stereo_pcm16 = ANALYSED_S * 48_000 * 2 * 2
    assert analysed_48k_stereo_pcm16 < MAX_UPLOAD_BYTES < analysed_48k_stereo_pcm16 * 1.1
    assert UPLOAD_LIMIT_MIB % 10 == 0   # issue 34: a round figure, read the same in the box and the help
    # Streamlit's upload box reads the setting as decimal MB on Linux and macOS: the ten minutes pass it too.
    assert analysed_48k_stereo_pcm16 + 1_000_000 <= UPLOAD_LIMIT_MIB * 1_000_000
    server = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())["server"]
    assert server["maxUploadSize"] == UPLOAD_LIMIT_MIB     # server and core agree, in MiB
    assert server["fileWatcherType"] == "none"               # item 12: no watcher on the whole repository


@pytest.mark.slow
def test_a_five_minute_48k_stereo_wav_is_analysed_within_the_budget(tiny_store, tmp_path):
    # Issue 16: "a 5-minute 48 kHz stereo WAV (55 MB) is refused today".
    path = tmp_path / "interview.wav"
    voice = voice_like(10.0, 48_000)
    chunk = np.stack([voice, 0.7 * voice], axis=1)   # one talker, two microphones at different distances
    with sf.SoundFile(path, "w", 48_000, 2, subtype="PCM_16") as out:
        for _ in range(30):
            out.write(chunk)
    assert path.stat().st_size > 50 * 2**20
    outcome = run_under_limit("analyse", path, BUDGET_MB, store=tiny_store)
    assert outcome["ok"], outcome
    assert outcome["duration_s"] == pytest.approx(300.0, abs=0.01) and not outcome["truncated"]


def test_the_detect_page_states_the_same_limit(tiny_store, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("DETECTOR_MODEL_STORE", str(tiny_store))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()
    # Issue 34: the box said "117MB per file" and the help "117 MiB". Streamlit's box writes the server
    # setting as "<n>MB per file" (its frontend, whatever base the browser counts in); the help says the same.
    server = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())["server"]
    assert UPLOAD_LIMIT_TEXT == f"{server['maxUploadSize']} MB" == "120 MB"
    assert f"up to {UPLOAD_LIMIT_TEXT}." in at.file_uploader[0].help and "MiB" not in at.file_uploader[0].help
    assert f"first {ANALYSED_S / 60:g} minutes" in at.file_uploader[0].help


@pytest.mark.parametrize("fmt", ["m4a", "mp3", "webm"])
def test_the_ffmpeg_path_streams_and_truncates_too(fmt):
    from audio_fixtures import encode

    decoded = load_audio(encode(voice_like(5.0, 44_100), 44_100, fmt), 16000, max_seconds=2.0)
    assert decoded.truncated
    assert decoded.duration_s == pytest.approx(2.0, abs=0.01)
    assert decoded.original_sample_rate in (44_100, 48_000)

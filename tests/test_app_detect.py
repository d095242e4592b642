"""AppTest of app.py and the Detect page: uploads, recordings, bad input, sidebar, explanation, JSON."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from audio_fixtures import ALL_FORMATS, encode, noise, voice_like
from cli_helpers import subprocess_env
from streamlit.testing.v1 import AppTest

from detector import trust
from detector.bands import band_text
from detector.errors import AudioError
from detector.inference import Detector
from detector.integrity import seal_folder
from detector.registry import ModelRegistry

REPO = Path(__file__).resolve().parent.parent
APP = str(REPO / "app.py")
VERDICTS = ("Likely genuine", "Uncertain", "Likely synthetic")
MIME = {"wav": "audio/wav", "flac": "audio/flac", "ogg": "audio/ogg", "opus": "audio/ogg", "mp3": "audio/mpeg",
        "m4a": "audio/mp4", "aac": "audio/aac", "webm": "audio/webm"}


@pytest.fixture
def app(tiny_store, monkeypatch) -> AppTest:
    """The whole app (entry point + Detect page) serving a fresh tiny store."""
    monkeypatch.setenv("DETECTOR_MODEL_STORE", str(tiny_store))
    return AppTest.from_file(APP, default_timeout=120)


def sidebar_version(at: AppTest) -> str | None:
    """The active version the sidebar names (set in code font under an "Active version" caption)."""
    names = [m.value.strip("`") for m in at.sidebar.markdown if m.value.startswith("`")]
    return names[0] if names else None


def verdict_text(at: AppTest) -> str | None:
    """The verdict heading's label, or None when no verdict is shown."""
    for block in at.markdown:
        if block.value.startswith("## ") and any(v in block.value for v in VERDICTS):
            return next(v for v in VERDICTS if v in block.value)
    return None


def image_count(at: AppTest) -> int:
    """Static charts on the page (the verdict bar, the overview and, once explained, the heatmap)."""
    return len(at.get("image"))


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_no_model_shows_how_to_train(tmp_path, monkeypatch):
    monkeypatch.setenv("DETECTOR_MODEL_STORE", str(tmp_path / "empty_store"))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert_clean(at)
    assert "No active model" in at.error[0].value
    assert "python -m train.fit" in at.info[0].value and "promote" in at.info[0].value
    assert not at.file_uploader  # nothing to upload to without a model
    assert "No model loaded" in at.sidebar.warning[0].value


def test_corrupt_model_is_a_message_not_a_traceback(tiny_store, monkeypatch):
    (tiny_store / "v1" / "model.tflite").write_bytes(b"not a flatbuffer" * 100)
    monkeypatch.setenv("DETECTOR_MODEL_STORE", str(tiny_store))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert_clean(at)
    # Issue 31: a broken active version with no history falls back to the newest good one, and says so.
    warning = " ".join(w.value for w in at.warning)
    assert "'v1' is broken" in warning and "corrupt" in warning and "Serving v2 instead" in warning


def test_sidebar_shows_model_card_and_follows_promotion(app, tiny_store):
    app.run()
    assert_clean(app)
    assert sidebar_version(app) == "v1"
    # Plain words first: the tiny store has no per-family results, so the sentence quotes its test error.
    assert app.sidebar.markdown[1].value.startswith("It was not measured on synthesisers and recording sources it "
                                                    "never heard, where it will do worse than on its test clips. On "
                                                    "test clips of the kinds it trained on it is wrong 50 % of the "
                                                    "time (test split). Its bands were set for all kinds of audio")
    assert any("Error rate 50.00 % on test clips of the kinds it trained on (test split)" in c.value
               for c in app.sidebar.caption)
    assert not app.sidebar.expander  # the card is a page of its own, not a tall sidebar column
    app.switch_page("app_pages/model_card.py").run()
    assert_clean(app)
    assert any("Tiny test model v1" in m.value for m in app.main.markdown)
    trust.promote(ModelRegistry(tiny_store), "v2")
    # AppTest (1.67) drops sidebar elements drawn before page.run() on reruns of an
    # st.navigation app (the real browser keeps them; see test_browser), so a new
    # session looks: it shares the process-wide cached ModelService, which must reload.
    again = AppTest.from_file(APP, default_timeout=60).run()
    assert sidebar_version(again) == "v2"


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_upload_produces_the_detectors_verdict(app, tiny_detector, fmt):
    data = encode(voice_like(4.0, seed=7), 16000, fmt)
    app.run()
    app.file_uploader[0].set_value((f"clip.{fmt}", data, MIME[fmt])).run()
    assert_clean(app)
    expected = tiny_detector.analyse(data, name=f"clip.{fmt}")
    assert verdict_text(app) == expected.verdict_label
    assert app.main.metric[0].value == band_text([expected.p_synthetic], 0.3, 0.7).values[0]
    assert expected.explanation in [m.value for m in app.markdown]
    assert len(app.get("audio")) == 1  # the player for what was received
    assert image_count(app) == 2  # the verdict bar; timeline, waveform and spectrogram: one image on one time axis
    assert not app.error


def test_recording_produces_a_verdict(app, tiny_detector):
    wav = encode(voice_like(3.5, rate=48000, seed=2), 48000, "wav")
    app.run()
    app.audio_input[0].set_value(("recording.wav", wav, "audio/wav")).run()
    assert_clean(app)
    assert verdict_text(app) == tiny_detector.analyse(wav).verdict_label
    assert not app.error


def test_latest_input_wins(app, downloads):
    app.run()
    app.file_uploader[0].set_value(("upload.wav", encode(voice_like(3.0), 16000, "wav"), "audio/wav")).run()
    assert downloads[-1]["file_name"] == "upload.analysis.json"
    app.audio_input[0].set_value(("recording.wav", encode(voice_like(3.0, seed=5), 16000, "wav"),
                                  "audio/wav")).run()
    assert downloads[-1]["file_name"] == "recording.analysis.json"
    assert downloads[-2]["file_name"] == "recording.report.html"


def _bad_inputs() -> dict[str, tuple[str, bytes]]:
    return {
        "text": ("notes.wav", b"Meeting notes: call the bank tomorrow.\n" * 20),
        "image": ("photo.mp3", b"\x89PNG\r\n\x1a\n" + bytes(2000)),
        "truncated": ("broken.flac", encode(voice_like(3.0), 16000, "flac")[:60]),
        "silent": ("silence.wav", encode(voice_like(3.0) * 0, 16000, "wav")),
        "too_short": ("blip.wav", encode(voice_like(0.3), 16000, "wav")),
        "tone": ("tone.wav", encode(0.3 * np.sin(2 * np.pi * 440 * np.arange(48000) / 16000), 16000, "wav")),
        "noise": ("hiss.wav", encode(noise(3.0), 16000, "wav")),
    }


@pytest.mark.parametrize("case", list(_bad_inputs()))
def test_bad_file_shows_the_audio_error_sentence(app, tiny_detector, case):
    name, data = _bad_inputs()[case]
    with pytest.raises(AudioError) as expected:
        tiny_detector.analyse(data, name=name)
    app.run()
    app.file_uploader[0].set_value((name, data, "application/octet-stream")).run()
    assert_clean(app)
    assert [e.value for e in app.error] == [expected.value.message]
    assert verdict_text(app) is None
    assert not app.get("audio")  # no empty 0:00 player above the message


def test_unexpected_failure_is_a_short_message(app, monkeypatch):
    def broken(self, source, name=None, **kwargs):
        raise RuntimeError("secret internal detail /srv/models")

    monkeypatch.setattr(Detector, "analyse", broken)
    app.run()
    app.file_uploader[0].set_value(("clip.wav", encode(voice_like(3.0), 16000, "wav"), "audio/wav")).run()
    assert_clean(app)
    message = app.error[0].value
    assert "internal error (RuntimeError)" in message and "secret" not in message


def test_reruns_reuse_the_cached_analysis(app, monkeypatch):
    calls = []
    original = Detector.analyse

    def counting(self, *args, **kwargs):
        calls.append(kwargs.get("name"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Detector, "analyse", counting)
    app.run()
    app.file_uploader[0].set_value(("clip.wav", encode(voice_like(3.0), 16000, "wav"), "audio/wav")).run()
    app.run()
    app.run()
    assert calls == ["clip.wav"]
    assert verdict_text(app) is not None


def test_timeline_heading_only_for_clips_longer_than_one_window(app):
    app.run()
    app.file_uploader[0].set_value(("short.wav", encode(voice_like(1.8), 16000, "wav"), "audio/wav")).run()
    assert "#### Which seconds look synthetic" not in [m.value for m in app.markdown]
    app.file_uploader[0].set_value(("long.wav", encode(voice_like(7.0), 16000, "wav"), "audio/wav")).run()
    assert "#### Which seconds look synthetic" in [m.value for m in app.markdown]


def test_explain_button_draws_the_occlusion_heatmap(app):
    app.run()
    app.file_uploader[0].set_value(("clip.wav", encode(voice_like(3.0), 16000, "wav"), "audio/wav")).run()
    assert image_count(app) == 2
    app.button(key="explain_button").click().run()
    assert_clean(app)
    assert image_count(app) == 3
    app.run()  # kept across reruns without pressing again
    assert image_count(app) == 3
    assert not [b for b in app.button if b.key == "explain_button"]


def test_excitation_model_explains_its_voice_source_rows(tmp_path, monkeypatch):
    from tiny_models import tiny_version

    store = tmp_path / "store"
    tiny_version(store / "exc", "tiny-exc")  # melexc, 40 mel bins
    trust.promote(ModelRegistry(store), "exc")
    monkeypatch.setenv("DETECTOR_MODEL_STORE", str(store))
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.file_uploader[0].set_value(("clip.wav", encode(voice_like(3.0), 16000, "wav"), "audio/wav")).run()
    assert not any("Voice source" in c.value for c in at.caption)
    at.button(key="explain_button").click().run()
    assert_clean(at)
    assert image_count(at) == 3
    assert any("*Voice source* strip" in c.value for c in at.caption)


def test_mel_model_has_no_voice_source_strip(app):
    app.run()
    app.file_uploader[0].set_value(("clip.wav", encode(voice_like(3.0), 16000, "wav"), "audio/wav")).run()
    app.button(key="explain_button").click().run()
    assert image_count(app) == 3
    assert not any("Voice source" in c.value for c in app.caption)


def test_json_download_holds_the_analysis(app, downloads):
    data = encode(voice_like(5.0, seed=3), 16000, "flac")
    app.run()
    app.file_uploader[0].set_value(("interview.flac", data, "audio/flac")).run()
    download = downloads[-1]
    assert download["file_name"] == "interview.analysis.json" and download["mime"] == "application/json"
    exported = json.loads(download["data"])
    assert exported["file"] == "interview.flac"
    assert exported["sha256"] == hashlib.sha256(data).hexdigest()
    assert exported["model_version"] == "v1"
    assert exported["verdict_label"] == verdict_text(app)
    assert len(exported["windows"]) >= 3 and "created" in exported
    assert all({"code", "message"} == set(w) for w in exported["warnings"])
    assert exported["offset_s"] >= 0 and exported["bands"]["genuine_below"] == 0.3
    assert exported["model"]["error_rates"]["test_eer"] == 0.5


def test_card_limits_are_shown_with_the_verdict(app, tiny_store):
    card = tiny_store / "v1" / "card.md"
    card.write_text("# Model v1\n\n## Known limits\n- Not trained on singing.\n\n## Training\nAdam.\n")
    seal_folder(tiny_store / "v1")   # a changed card is a changed version: recorded again, as an operator would
    app.run()
    app.file_uploader[0].set_value(("clip.wav", encode(voice_like(3.0), 16000, "wav"), "audio/wav")).run()
    limits = next(e for e in app.main.expander if e.label == "What this model cannot tell you")
    assert limits.markdown[0].value == "- Not trained on singing."


def test_quality_warnings_sit_next_to_the_verdict(app, tiny_detector):
    data = encode(voice_like(2.5) + noise(2.5), 16000, "wav")
    app.run()
    app.file_uploader[0].set_value(("hiss.wav", data, "audio/wav")).run()
    expected = [w.message for w in tiny_detector.analyse(data).warnings]
    assert [w.value for w in app.warning] == expected
    assert expected  # a 2.5 s clip is short: at least one warning


def test_admin_page_is_listed_and_renders(app):
    """The Admin page belongs to the admin issue; here only that navigation reaches it cleanly."""
    app.run()
    app.switch_page("app_pages/admin.py").run()
    assert_clean(app)
    assert len(app.main.children) > 0


def test_app_process_never_imports_tensorflow(tiny_store):
    """Drive every page, with uploads, in a fresh interpreter and look at sys.modules."""
    script = textwrap.dedent(f"""
        import sys
        from streamlit.testing.v1 import AppTest
        from audio_fixtures import encode, voice_like
        wav = encode(voice_like(3.0), 16000, "wav")
        at = AppTest.from_file({APP!r}, default_timeout=120).run()
        at.file_uploader[0].set_value(("a.wav", wav, "audio/wav")).run()
        at.button(key="explain_button").click().run()
        at.switch_page("app_pages/batch.py").run()
        at.file_uploader[0].set_value([("a.wav", wav, "audio/wav")]).run()
        at.switch_page("app_pages/learn.py").run()
        at.file_uploader[0].set_value(("a.wav", wav, "audio/wav")).run()
        at.switch_page("app_pages/admin.py").run()
        assert not at.exception, [e.value for e in at.exception]
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "tf_keras"))
        print("LOADED", loaded)
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300,
                            env=subprocess_env(DETECTOR_MODEL_STORE=str(tiny_store)))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "LOADED []" in result.stdout, result.stdout[-2000:]


def test_broken_new_model_keeps_serving_the_old_one(tiny_store, monkeypatch):
    monkeypatch.setenv("DETECTOR_MODEL_STORE", str(tiny_store))
    first = AppTest.from_file(APP, default_timeout=60).run()
    assert sidebar_version(first) == "v1"
    trust.promote(ModelRegistry(tiny_store), "v2")
    # Promotion refuses a broken model (it builds it and scores a probe), so it breaks afterwards.
    (tiny_store / "v2" / "model.tflite").write_bytes(b"garbage" * 100)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert_clean(at)
    assert sidebar_version(at) == "v1"
    warning = at.warning[0].value   # what happened, never "newly activated" (issue 26)
    assert "'v2' is broken" in warning and "corrupt" in warning and "Serving v1 instead" in warning
    at.file_uploader[0].set_value(("clip.wav", encode(voice_like(3.0), 16000, "wav"), "audio/wav")).run()
    assert verdict_text(at) is not None


def test_long_clip_explains_the_chosen_region(app):
    app.run()
    app.file_uploader[0].set_value(("long.wav", encode(voice_like(20.0), 16000, "wav"), "audio/wav")).run()
    slider = app.slider[0]
    assert slider.value == (0.0, 11.0)  # no synthetic stretch in view: the first 11 s
    slider.set_range(12.0, 18.0).run()
    app.button(key="explain_button").click().run()
    assert_clean(app)
    assert image_count(app) == 3
    # The region's own score sits beside the heatmap (issue 30, item 5), with its band and the clip's score.
    assert any(re.fullmatch(r"Explained: seconds 12\.0–18\.0, which score [\d.]+ % \(\*(likely genuine|uncertain|"
                            r"likely synthetic)\*\) as the heatmap scores them; the whole clip scores [\d.]+ %\.",
                            c.value) for c in app.caption)
    assert app.main.metric[1].label == "Seconds 12.0–18.0 on their own"   # the score, where a reader looks (issue 34)


def test_the_explanation_survives_a_visit_to_another_page(app):
    # Issue 34, item 3: the clip stayed after a visit to another page, its explanation did not.
    app.run()
    app.file_uploader[0].set_value(("long.wav", encode(voice_like(20.0), 16000, "wav"), "audio/wav")).run()
    app.slider[0].set_range(12.0, 18.0).run()
    app.button(key="explain_button").click().run()
    explained = [c.value for c in app.caption if c.value.startswith("Explained: seconds 12.0–18.0")]
    assert explained and image_count(app) == 3
    assert not [b for b in app.button if b.key == "explain_button"]   # gone with its stretch explained, at once
    for other in ("app_pages/learn.py", "app_pages/model_card.py"):
        app.switch_page(other).run()
        app.switch_page("app_pages/detect.py").run()
        assert_clean(app)
        assert app.slider[0].value == (12.0, 18.0)   # the slider starts on the stretch explained, not the default
        assert [c.value for c in app.caption if c.value.startswith("Explained: seconds")] == explained
        assert image_count(app) == 3 and not [b for b in app.button if b.key == "explain_button"]
    # Another stretch asks again; its explanation replaces the first, and is the one kept.
    app.slider[0].set_range(2.0, 6.0).run()
    assert [b for b in app.button if b.key == "explain_button"] and image_count(app) == 2
    app.button(key="explain_button").click().run()
    assert any(c.value.startswith("Explained: seconds 2.0–6.0") for c in app.caption)


def test_the_report_carries_the_explanation_once_asked_for(app, downloads):
    app.run()
    app.file_uploader[0].set_value(("talk.wav", encode(voice_like(6.0, seed=9), 16000, "wav"), "audio/wav")).run()
    report = next(d for d in reversed(downloads) if d["file_name"] == "talk.report.html")["data"]
    assert "Why: what moved the score" not in report and report.count("data:image/png;base64,") == 1
    assert "explained" not in json.loads(downloads[-1]["data"])
    app.button(key="explain_button").click().run()
    sentence = next(c.value for c in app.caption if c.value.startswith("Explained: seconds"))
    report = next(d for d in reversed(downloads) if d["file_name"] == "talk.report.html")["data"]
    assert "<h2>Why: what moved the score of seconds " in report
    assert sentence.replace("*", "") in re.sub(r"</?em>", "", report)   # the page's sentence, word for word
    assert report.count("data:image/png;base64,") == 2   # the overview, then the heatmap
    assert "The detector hides small pieces of the sound picture" in report
    data = json.loads(downloads[-1]["data"])
    exported = data["explained"]
    assert data["explanation"].startswith("The model gives")   # the verdict's paragraph keeps its field
    assert exported["sentence"] == sentence.replace("*", "")
    assert exported["band"] in ("likely_genuine", "uncertain", "likely_synthetic") and 0 <= exported["p_synthetic"] <= 1


def test_the_overview_has_a_picture_drawn_for_a_phone(app):
    # Issue 34, item 10: at 390 px the 12-inch overview shrank to unreadable type; a phone gets its own picture.
    from app_pages.detect import PAGE_STYLE

    app.run()
    app.file_uploader[0].set_value(("long.wav", encode(voice_like(8.0), 16000, "wav"), "audio/wav")).run()
    assert_clean(app)
    overview = app.get_by_key("detect_overview").get("image")
    assert len(overview) == 1 and len(overview[0].proto.imgs) == 2   # the wide picture, then the phone's
    # The page's style shows one of the two by the screen's width, and moves the verdict up on a phone.
    assert "@media (max-width: 640px)" in PAGE_STYLE and ".st-key-detect_verdict" in PAGE_STYLE
    assert app.get_by_key("detect_verdict").get("markdown")[0].value.startswith("## ")
    # A phone user who picked the file below the card is taken up to it, once per clip (not on Explain's rerun).
    script = app.get_by_key("detect_scroll").get("html")[0].value
    assert "window.matchMedia(\"(max-width: 640px)\")" in script and "detectScrolledTo" in script


def test_the_phone_overview_is_taller_with_larger_type_and_fewer_ticks(tiny_detector):
    from webapp import figures, scale

    analysis = tiny_detector.analyse(encode(voice_like(8.0), 16000, "wav"))
    wide = figures.overview_figure(analysis, 0.3, 0.7)
    phone = figures.overview_figure(analysis, 0.3, 0.7, compact=True)
    (wide_w, wide_h), (phone_w, phone_h) = wide.get_size_inches(), phone.get_size_inches()
    assert phone_w == figures.PHONE_WIDTH_IN and phone_h / phone_w > 1.5 > wide_h / wide_w   # taller than wide
    timeline = phone.axes[0]
    assert timeline.get_ylim() == pytest.approx(scale.LIMITS)   # the same log-odds scale as the bar
    assert [t.get_text() for t in timeline.get_yticklabels()] == ["1 %", "10 %", "50 %", "90 %", "99 %"]
    assert min(t.get_fontsize() for t in timeline.get_yticklabels()) >= 9
    assert timeline.get_legend()._ncols == 1   # the band names one under the other: three across do not fit
    # At the phone's 358 px the type is as large on screen as at 100 dpi: 9 pt reads at about 12 px.
    shown_px_per_inch = 358 / phone_w
    assert 9 * shown_px_per_inch / 72 >= 12
    assert len(phone.axes[-1].get_xticks()) <= 7

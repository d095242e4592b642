"""Upload names are text everywhere (issue 17 items 7-8): no Markdown, no bidi tricks, no floods."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from audio_fixtures import encode, voice_like
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from detector.names import MAX_NAME_CHARS, markdown_text, safe_display_name
from webapp.batch import rows_to_frame, score_one, to_csv

APP = str(Path(__file__).resolve().parent.parent / "app.py")
BEACON = "![b](beacon.png) [Click to verify](evil.example) :red[x] $y$.wav"   # no slash: all of it is the name
RLO = "invoice\u202eexe.wav"   # shown as "invoicevaw.exe" where the override works
LONG = "a" * 300 + ".wav"


def rendered(markdown: str) -> str:
    return MarkdownIt("commonmark").render(markdown)


# The core helpers ---------------------------------------------------------------------------------
def test_markdown_text_renders_as_the_literal_name():
    html = rendered(f"Analysing {markdown_text(BEACON)}…")
    assert "<img" not in html and "<a " not in html
    assert "beacon.png" in html and "[Click to verify]" in html


def test_safe_display_name_drops_bidi_controls_paths_and_floods():
    assert safe_display_name(RLO) == "invoiceexe.wav"
    assert safe_display_name("..\\..\\etc/passwd.wav") == "passwd.wav"
    assert safe_display_name("\u2067\u200fclip.wav\u2069") == "clip.wav"
    long = safe_display_name(LONG)
    assert len(long) == MAX_NAME_CHARS and long.endswith("…")
    assert safe_display_name("\x00\x1b") == "upload"


# Item 7: the pages pass names through markdown_text --------------------------------------------------
@pytest.fixture
def markdown_calls(monkeypatch) -> list[str]:
    """Every text the pages hand to st.spinner or a progress bar (both render Markdown)."""
    import streamlit
    from streamlit.delta_generator import DeltaGenerator

    calls: list[str] = []
    spinner, progress = streamlit.spinner, DeltaGenerator.progress

    def record_spinner(text="", *args, **kwargs):
        calls.append(text)
        return spinner(text, *args, **kwargs)

    def record_progress(self, value, text=None, *args, **kwargs):
        if text:
            calls.append(text)
        return progress(self, value, text, *args, **kwargs)

    monkeypatch.setattr(streamlit, "spinner", record_spinner)
    monkeypatch.setattr(DeltaGenerator, "progress", record_progress)
    return calls


@pytest.fixture
def app(tiny_store, monkeypatch) -> AppTest:
    monkeypatch.setenv("DETECTOR_MODEL_STORE", str(tiny_store))
    return AppTest.from_file(APP, default_timeout=120).run()


def assert_no_active_markdown(texts: list[str], expected_word: str) -> None:
    named = [t for t in texts if expected_word in t]
    assert named, texts
    for text in named:
        html = rendered(text)
        assert "<img" not in html and "<a " not in html, text


def test_detect_shows_a_hostile_name_as_text(app, markdown_calls):
    clip = encode(voice_like(3.0), 16000, "wav")
    app.file_uploader[0].set_value((BEACON, clip, "audio/wav")).run()
    assert not app.exception
    assert_no_active_markdown(markdown_calls, "beacon")


def test_batch_shows_a_hostile_name_as_text(app, markdown_calls):
    batch = app.switch_page("app_pages/batch.py").run()
    batch.file_uploader[0].set_value([(BEACON, encode(voice_like(3.0), 16000, "wav"), "audio/wav")]).run()
    assert not batch.exception
    assert_no_active_markdown(markdown_calls, "beacon")


# Item 8: the Batch table and CSV use the same safe name as Detect and the JSON ------------------------
def test_batch_table_and_csv_use_the_safe_display_name(app, tiny_detector, downloads):
    clip = encode(voice_like(3.0), 16000, "wav")
    batch = app.switch_page("app_pages/batch.py").run()
    batch.file_uploader[0].set_value([(RLO, clip, "audio/wav"), (LONG, clip, "audio/wav"),
                                      (RLO.replace(".wav", "-bad.wav"), b"not audio at all\n" * 40, "audio/wav")]).run()
    assert not batch.exception
    expected = [tiny_detector.analyse(clip, name=RLO).name, tiny_detector.analyse(clip, name=LONG).name,
                safe_display_name(RLO.replace(".wav", "-bad.wav"))]
    assert json.loads(json.dumps(tiny_detector.analyse(clip, name=RLO).to_dict()))["file"] == expected[0]
    # Failed files have a table of their own (listed first), the scored ones the results table.
    shown = [name for table in batch.dataframe if "file" in table.value.columns for name in table.value["file"]]
    assert sorted(shown) == sorted(expected)
    csv_bytes = next(d["data"] for d in downloads if d.get("file_name", "").endswith(".csv"))
    assert list(pd.read_csv(io.BytesIO(csv_bytes))["file"]) == expected
    assert "\u202e" not in csv_bytes.decode("utf-8")


def test_score_one_rows_carry_the_safe_name_for_failures_too(tiny_detector):
    ok = score_one(tiny_detector, RLO, encode(voice_like(3.0), 16000, "wav"))
    bad = score_one(tiny_detector, LONG, b"")
    assert ok.file == "invoiceexe.wav" and len(bad.file) == MAX_NAME_CHARS and bad.error
    assert "\u202e" not in to_csv(rows_to_frame([ok, bad])).decode("utf-8")


def test_the_kept_clip_notice_shows_a_hostile_name_as_text(app):
    """Detect names the clip it kept across a page switch: as text, like every other place."""
    app.file_uploader[0].set_value((BEACON, encode(voice_like(3.0), 16000, "wav"), "audio/wav")).run()
    app.switch_page("app_pages/learn.py").run()
    app.switch_page("app_pages/detect.py").run()
    assert not app.exception
    assert_no_active_markdown([i.value for i in app.info], "beacon")


def test_batch_names_repeated_files_as_text(app):
    clip = encode(voice_like(3.0), 16000, "wav")
    batch = app.switch_page("app_pages/batch.py").run()
    batch.file_uploader[0].set_value([(BEACON, clip, "audio/wav"), (BEACON, clip, "audio/wav")]).run()
    assert not batch.exception
    assert_no_active_markdown([c.value for c in batch.caption], "beacon")

"""Batch page (AppTest) and the webapp.batch helpers behind it."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from audio_fixtures import encode, voice_like
from streamlit.testing.v1 import AppTest

from detector.inference import Detector
from detector.names import markdown_text
from webapp.batch import COLUMNS, BatchRow, rows_to_frame, score_files, summary, to_csv

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture
def batch(tiny_store, monkeypatch) -> AppTest:
    monkeypatch.setenv("DETECTOR_MODEL_STORE", str(tiny_store))
    at = AppTest.from_file(APP, default_timeout=120).run()
    return at.switch_page("app_pages/batch.py").run()


def mixed_files() -> list[tuple[str, bytes, str]]:
    return [
        ("one.wav", encode(voice_like(3.0, seed=1), 16000, "wav"), "audio/wav"),
        ("notes.mp3", b"these are not sounds\n" * 50, "audio/mpeg"),
        ("two.ogg", encode(voice_like(4.0, seed=2), 16000, "ogg"), "audio/ogg"),
        ("three.m4a", encode(voice_like(5.0, seed=3), 16000, "m4a"), "audio/mp4"),
    ]


def test_batch_without_files_explains_what_to_do(batch):
    assert not batch.exception
    assert batch.file_uploader[0].accept_multiple_files
    assert "Choose or drop files" in batch.info[0].value
    assert not batch.dataframe


def tables(at: AppTest) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """(results of the analysed files, the files that could not be analysed or None)."""
    results = next(d.value for d in at.dataframe if "verdict" in d.value.columns)
    failed = next((d.value for d in at.dataframe if list(d.value.columns) == ["file", "error"]), None)
    return results, failed


def test_batch_builds_the_table_histogram_and_csv(batch, tiny_detector, downloads):
    files = mixed_files()
    batch.file_uploader[0].set_value(files).run()
    assert not batch.exception and not batch.error
    table, failed = tables(batch)
    assert list(table.columns) == ["file", "verdict", "p_synthetic", "duration_s", "synthetic_stretches", "warnings"]
    # The failed file is listed with its reason in a table of its own, so no cell of the results is empty.
    assert failed.to_dict("records") == [{"file": "notes.mp3",
                                          "error": "This file is not audio: it contains plain text."}]
    assert list(table["file"]) == ["one.wav", "two.ogg", "three.m4a"]
    assert not table.isna().any().any()
    for name, data, _ in files:
        if name == "notes.mp3":
            continue
        row = table.set_index("file").loc[name]
        expected = tiny_detector.analyse(data, name=name)
        assert row["verdict"] == expected.verdict_label
        # Per cent with the one precision that keeps every row on its side of both band edges.
        assert abs(row["p_synthetic"] - expected.p_synthetic * 100) <= 0.5
        assert row["duration_s"] == pytest.approx(expected.duration_s, abs=0.01)
    assert "Done: 4 files analysed" in batch.get("progress")[0].proto.text
    assert {m.label: m.value for m in batch.main.metric}["Failed"] == "1"
    assert "batch_histogram" in {chart.key for chart in batch.get("plotly_chart")}
    csv = downloads[-1]
    assert csv["file_name"] == "detector-results.csv" and csv["mime"] == "text/csv"
    exported = pd.read_csv(io.BytesIO(csv["data"]))
    assert list(exported.columns) == COLUMNS
    assert list(exported["file"]) == [name for name, _, _ in files]   # the CSV keeps every file, in order
    assert set(exported["model_version"]) == {"v1"}
    scored = exported.set_index("file").loc["one.wav", "p_synthetic"]
    assert scored == pytest.approx(tiny_detector.analyse(files[0][1], name="one.wav").p_synthetic, abs=1e-4)


def test_every_verdict_has_a_tile_even_at_zero(batch):
    batch.file_uploader[0].set_value(mixed_files()[:1]).run()
    tiles = {m.label: m.value for m in batch.main.metric}
    assert set(tiles) == {"Likely genuine", "Uncertain", "Likely synthetic"}   # no failed file: no Failed tile
    assert sum(int(v) for v in tiles.values()) == 1


def test_dropping_the_same_files_again_does_not_double_the_rows(batch):
    files = mixed_files()
    batch.file_uploader[0].set_value(files + files[:2]).run()
    table, failed = tables(batch)
    assert list(table["file"]) == ["one.wav", "two.ogg", "three.m4a"] and list(failed["file"]) == ["notes.mp3"]
    repeats = f"{markdown_text('one.wav')}, {markdown_text('notes.mp3')}"   # names are shown as text
    assert any("Skipped 2 repeated files" in c and repeats in c for c in
               (str(c.value) for c in batch.caption))
    assert "Done: 4 files analysed" in batch.get("progress")[0].proto.text
    # Same name, other content: a different file, kept.
    other = ("one.wav", encode(voice_like(3.0, seed=9), 16000, "wav"), "audio/wav")
    batch.file_uploader[0].set_value([files[0], other]).run()
    assert list(tables(batch)[0]["file"]) == ["one.wav", "one.wav"]
    assert batch.selectbox(key="batch_detail_pick").options == ["one.wav (upload 1)", "one.wav (upload 2)"]


def test_the_last_batch_survives_a_visit_to_another_page(batch):
    batch.file_uploader[0].set_value(mixed_files()).run()
    before, _ = tables(batch)
    batch.switch_page("app_pages/detect.py").run()
    assert not batch.dataframe
    batch.switch_page("app_pages/batch.py").run()
    assert not batch.exception
    after, failed = tables(batch)
    pd.testing.assert_frame_equal(before, after)
    assert list(failed["file"]) == ["notes.mp3"]
    assert any("Your last batch (4 files" in i.value for i in batch.info)
    # Emptying the upload box is "start over": the kept batch goes.
    batch.file_uploader[0].set_value(mixed_files()[:1]).run()
    batch.file_uploader[0].set_value([]).run()
    assert not batch.dataframe and "Choose or drop files" in batch.info[0].value


def test_one_row_opens_its_timeline_and_explanation(batch, tiny_detector):
    files = mixed_files()
    batch.file_uploader[0].set_value(files).run()
    pick = batch.selectbox(key="batch_detail_pick")
    assert pick.options == ["one.wav", "two.ogg", "three.m4a"]   # failed files have nothing to open
    pick.select(3).run()
    expected = tiny_detector.analyse(files[3][1], name="three.m4a")
    assert len(expected.windows) > 1
    assert any(expected.explanation == str(m.value) for m in batch.markdown)
    timeline = next(c for c in batch.get("plotly_chart") if c.key == "batch_detail_timeline")
    assert timeline is not None


def test_unexpected_failure_in_one_file_does_not_stop_the_rest(batch, monkeypatch):
    original = Detector.analyse

    def flaky(self, source, name=None, **kwargs):
        if name == "two.ogg":
            raise MemoryError("simulated")
        return original(self, source, name=name, **kwargs)

    monkeypatch.setattr(Detector, "analyse", flaky)
    batch.file_uploader[0].set_value(mixed_files()).run()
    assert not batch.exception
    table, failed = tables(batch)
    assert failed.set_index("file").loc["two.ogg", "error"] == \
        "Could not analyse this file (internal error: MemoryError)."
    assert table.set_index("file").loc[["one.wav", "three.m4a"], "verdict"].all()


def test_adding_a_file_only_scores_the_new_one(batch, monkeypatch):
    calls: list[str] = []
    original = Detector.analyse

    def counting(self, source, name=None, **kwargs):
        calls.append(name)
        return original(self, source, name=name, **kwargs)

    monkeypatch.setattr(Detector, "analyse", counting)
    files = mixed_files()
    batch.file_uploader[0].set_value(files[:2]).run()
    batch.file_uploader[0].set_value(files).run()
    assert calls == ["one.wav", "notes.mp3", "two.ogg", "three.m4a"]
    table, failed = tables(batch)
    assert len(table) + len(failed) == 4


def test_batch_without_model_shows_the_message(tmp_path, monkeypatch):
    monkeypatch.setenv("DETECTOR_MODEL_STORE", str(tmp_path / "nothing"))
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("app_pages/batch.py").run()
    assert not at.exception
    assert "No active model" in at.error[0].value and not at.file_uploader


# webapp.batch ---------------------------------------------------------------
def test_score_files_reports_progress_and_keeps_order(tiny_detector):
    seen: list[tuple[int, str]] = []
    rows = score_files(tiny_detector, [(n, d) for n, d, _ in mixed_files()], progress=lambda i, n: seen.append((i, n)))
    assert [r.file for r in rows] == ["one.wav", "notes.mp3", "two.ogg", "three.m4a"]
    assert seen == [(1, "one.wav"), (2, "notes.mp3"), (3, "two.ogg"), (4, "three.m4a")]
    assert rows[1].error and rows[1].verdict is None and rows[1].model_version == "v1"
    assert rows[0].sha256 and rows[0].p_synthetic is not None


def test_frame_csv_and_summary_of_rows():
    rows = [BatchRow("a.wav", "Uncertain", 0.5, 3.0), BatchRow("b.wav", error="bad"),
            BatchRow("c.wav", "Uncertain", 0.6, 4.0, warnings="Short clip")]
    frame = rows_to_frame(rows)
    assert list(frame.columns) == COLUMNS and frame["p_synthetic"].dtype == float
    back = pd.read_csv(io.BytesIO(to_csv(frame)), keep_default_na=False)
    assert list(back["file"]) == ["a.wav", "b.wav", "c.wav"] and back.loc[1, "error"] == "bad"
    assert summary(rows) == {"Uncertain": 2, "Failed": 1}
    assert list(rows_to_frame([]).columns) == COLUMNS


@pytest.mark.parametrize("name", ["=HYPERLINK(\"http://x\").wav", "+1.wav", "-2.wav", "@SUM(A1).wav", "\tx.wav"])
def test_csv_never_hands_a_spreadsheet_a_formula(name):
    frame = rows_to_frame([BatchRow(name, error="This file is not audio."), BatchRow("plain.wav", "Uncertain", 0.5)])
    back = pd.read_csv(io.BytesIO(to_csv(frame)))
    assert list(back["file"]) == ["'" + name, "plain.wav"]   # text, not a formula
    assert back["p_synthetic"].tolist()[1] == 0.5             # numbers stay numbers


# Issue 34 ----------------------------------------------------------------------
def all_windows_synthetic(monkeypatch) -> None:
    """Every window of every clip scores 95 %, as a wholly synthetic clip does: the card gives no stretch
    sentence (the verdict says it all), yet those seconds score likely synthetic."""
    import dataclasses

    from detector.verdict import WindowScore, synthetic_spans

    original = Detector.analyse

    def synthetic(self, source, name=None, **kwargs):
        analysis = original(self, source, name=name, **kwargs)
        windows = [WindowScore(w.start_s, w.end_s, 0.95) for w in analysis.windows]
        return dataclasses.replace(analysis, p_synthetic=0.95, verdict="likely_synthetic", windows=windows,
                                   synthetic_spans=synthetic_spans(windows, self.calibration.synthetic_above),
                                   spliced=False)

    monkeypatch.setattr(Detector, "analyse", synthetic)


def test_synthetic_seconds_are_listed_whenever_windows_score_likely_synthetic(batch, monkeypatch, downloads):
    """The column was empty for a clip whose windows all scored likely synthetic: it was filled from the card's
    sentence, which leaves such a clip out."""
    all_windows_synthetic(monkeypatch)
    files = mixed_files()
    batch.file_uploader[0].set_value(files).run()
    table, _ = tables(batch)
    cell = table.set_index("file").loc["three.m4a", "synthetic_stretches"]
    assert cell.startswith("whole clip (0.0–") and cell.endswith(" s)")
    assert all(table["synthetic_stretches"])                                  # no analysed file left empty
    exported = pd.read_csv(io.BytesIO(downloads[-1]["data"])).set_index("file")
    assert exported.loc["three.m4a", "synthetic_stretches"].startswith("Seconds 0.0–")   # the CSV too
    batch.selectbox(key="batch_detail_pick").select(3).run()
    assert any(str(m.value).startswith("**Seconds 0.0–") for m in batch.markdown)


def test_seconds_in_short_for_the_table():
    from detector.verdict import WindowScore
    from webapp.batch import seconds_text

    windows = [WindowScore(float(s), float(s) + 2.0, 0.5) for s in range(0, 10, 1)]   # 0-11 s
    assert seconds_text([], windows) == ""
    assert seconds_text([(0.0, 11.0)], windows) == "whole clip (0.0–11.0 s)"
    assert seconds_text([(3.0, 7.5)], windows) == "3.0–7.5 s"
    assert seconds_text([(3.0, 7.5)], windows, spliced=True) == "possibly spliced: 3.0–7.5 s"
    assert seconds_text([(0.0, 1.0), (2.0, 3.0), (4.0, 5.0), (6.0, 8.0)], windows) == "4 stretches, 5.0 s in all"


def test_warnings_are_short_in_the_table_and_whole_in_yellow_boxes_in_the_detail(batch, tiny_detector):
    """The Warnings column cut its sentences off, and the detail view showed them as small grey text
    instead of the yellow boxes Detect uses."""
    short = ("short.wav", encode(voice_like(2.0, rate=8000, seed=4), 8000, "wav"), "audio/wav")   # short, narrowband
    batch.file_uploader[0].set_value([short, mixed_files()[0]]).run()
    assert not batch.exception
    expected = tiny_detector.analyse(short[1], name="short.wav").warnings
    assert {w.code for w in expected} >= {"short", "narrow_band"}
    table, _ = tables(batch)
    cell = table.set_index("file").loc["short.wav", "warnings"]
    assert "short clip" in cell and "phone bandwidth" in cell and len(cell) <= 40   # readable whole in its cell
    batch.selectbox(key="batch_detail_pick").select(0).run()
    boxes = [w for w in batch.warning if w.proto.icon == ":material/warning:"]
    assert [w.value for w in boxes] == [w.message for w in expected]                 # every sentence, whole
    assert not any("Recording quality:" in str(c.value) for c in batch.caption)      # no grey text any more

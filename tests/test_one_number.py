"""One number and one edge text everywhere (issue 32, "a scale people read right"), with the shipped model.

The Detect card shows the bands bar right under its verdict; Detect, Batch (table and detail),
the HTML report, the JSON and the CLI write the same probability and the same edges for the
same clip. Batch used to give every row the precision its hardest row needed, so a genuine
clip read "0.279 %" next to a 99.999 % one, where Detect wrote "0.3 %".
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from cli_helpers import run_cli
from conftest import REPO_STORE
from streamlit.testing.v1 import AppTest

from detector.clip_edges import clip_edges
from detector.inference import Detector
from webapp.report import report_dict, report_html

REPO = Path(__file__).resolve().parent.parent
APP = str(REPO / "app.py")
GENUINE = REPO / "tests" / "clips" / "ru-nsh" / "genuine.flac"    # likely genuine, well below the 1 % edge
ESPEAK = REPO / "tests" / "clips" / "ru-nsh" / "espeak.flac"      # 99.99... %: needs three decimals of its own


@pytest.fixture(scope="module")
def shipped() -> Detector:
    return Detector.from_store(REPO_STORE)


@pytest.fixture
def app(monkeypatch) -> AppTest:
    monkeypatch.setenv("DETECTOR_MODEL_STORE", str(REPO_STORE))   # read only: nothing is promoted here
    return AppTest.from_file(APP, default_timeout=120)


def in_order(block) -> list:
    """The page's elements in the order they are drawn (columns and containers opened)."""
    found = []
    for key in sorted(block.children):
        child = block.children[key]
        found += in_order(child) if isinstance(getattr(child, "children", None), dict) else [child]
    return found


def upload(at: AppTest, path: Path) -> AppTest:
    at.file_uploader[0].set_value((path.name, path.read_bytes(), "audio/flac")).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def detect_card(at: AppTest) -> tuple[str, str]:
    """(the probability on the card, the bar's caption): the bar must come right under the verdict."""
    shown = in_order(at.main)
    headline = next(i for i, e in enumerate(shown) if e.type == "markdown" and e.value.startswith("## "))
    bar, caption, metric = shown[headline + 1:headline + 4]
    assert bar.type == "image", [e.type for e in shown[headline:headline + 4]]   # directly under the verdict
    assert caption.type == "caption" and caption.value.startswith("Where this clip's score")
    assert metric.type == "metric"
    assert not any(e.type == "image" for e in shown[:headline])   # no chart above the verdict
    return metric.value, caption.value


def test_the_detect_card_shows_the_bands_bar_under_the_verdict(app, shipped):
    expected = clip_edges(shipped.analyse(GENUINE), shipped.calibration)
    value, caption = detect_card(upload(app.run(), GENUINE))
    assert value == expected.text.value and "0 %" not in value
    named = "; ".join(name for band, name in expected.band_names().items() if band != "uncertain")
    assert f"Where this clip's score, {value}, falls among the verdict bands ({named})." in caption
    for edge in (expected.text.genuine_below, expected.text.synthetic_above):   # the edges, as written everywhere
        assert edge is None or edge in caption
    assert len(app.get("image")) == 2   # the bar, then the timeline/waveform/spectrogram overview


def batch_written(at: AppTest) -> dict[str, str]:
    """File name to the probability the Batch table shows (the Styler's display values, not the sort numbers)."""
    table = next(d for d in at.dataframe if "verdict" in d.value.columns)
    shown = pa.ipc.open_stream(table.proto.arrow_data.styler.display_values).read_all().to_pandas()
    return dict(zip(shown["file"], shown["p_synthetic"]))


def test_batch_and_detect_write_the_same_probability_and_edges(app, shipped):
    value, caption = detect_card(upload(app.run(), GENUINE))
    app.switch_page("app_pages/batch.py").run()
    files = [(p.name, p.read_bytes(), "audio/flac") for p in (GENUINE, ESPEAK)]
    app.file_uploader[0].set_value(files).run()
    assert not app.exception
    written = batch_written(app)
    assert written[GENUINE.name] == value   # not "0.279 %" because the espeak row needs three decimals
    assert written[ESPEAK.name] == clip_edges(shipped.analyse(ESPEAK), shipped.calibration).text.value
    app.selectbox(key="batch_detail_pick").select(0).run()
    assert any(m.value.endswith(f"p(synthetic) {value}") for m in app.markdown)
    edges = next(c.value for c in app.caption if c.value.startswith("Bands for this file: "))
    assert edges.removeprefix("Bands for this file: ").rstrip(".") in caption   # the same edge strings as Detect


def test_the_report_the_json_and_the_cli_write_them_as_detect_does(shipped):
    analysis = shipped.analyse(GENUINE, name=GENUINE.name)
    text = clip_edges(analysis, shipped.calibration).text
    code, out, err = run_cli("score", str(GENUINE), str(ESPEAK), "--format", "json", store=REPO_STORE)
    assert code == 0, err
    row = json.loads(out)[0]
    assert (row["probability"], row["likely_genuine_below"], row["likely_synthetic_from"]) == (
        text.value, text.genuine_below, text.synthetic_above)
    data = report_dict(analysis, shipped.version)
    assert data["p_synthetic_text"] == text.value and data["p_synthetic"] == pytest.approx(analysis.p_synthetic, abs=1e-6)
    assert data["bands"]["text"] == {"genuine_below": text.genuine_below, "synthetic_above": text.synthetic_above}
    page = report_html(analysis, shipped.version)
    assert f": {text.value} probability" in page
    assert text.genuine_below is None or f"below {text.genuine_below} likely genuine" in page
    assert f"{text.synthetic_above} or more likely synthetic" in page
    assert "0 %" not in page.replace("10 %", "").replace("50 %", "").replace("90 %", "")

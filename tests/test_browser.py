"""Real-browser test: ``streamlit run app.py`` + Debian Chromium driven by Playwright.

Covers what AppTest cannot: the real upload widget (multipart upload to the
server, XSRF token included), the page rendering in a browser, and the server
starting from the command line with the committed ``.streamlit/config.toml``.
Needs ``/usr/bin/chromium`` (``make test`` installs it); skipped without it only outside CI.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest
from audio_fixtures import encode, voice_like
from browser_helpers import CHROMIUM, REPO, chromium, streamlit_server
from playwright.sync_api import expect

ARTIFACTS = REPO / "tests" / "artifacts"
VERDICTS = ("Likely genuine", "Uncertain", "Likely synthetic")

pytestmark = [
    pytest.mark.browser,
    # `make test` installs chromium, so in CI a missing browser is a failure, never a skip.
    pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"),
                       reason="needs Debian chromium: apt-get install -y chromium"),
]


def tall_screenshot(page, name: str) -> Path:
    """Screenshot of the whole page: Streamlit scrolls inside its main container, not the
    document, so the window is made as tall as the content and scrolled back to the top."""
    height = page.evaluate("""() => {
        const main = document.querySelector('[data-testid="stMain"]');
        return main ? main.scrollHeight : document.body.scrollHeight; }""")
    page.set_viewport_size({"width": 1400, "height": max(900, min(int(height) + 40, 6000))})
    page.evaluate("document.querySelectorAll('*').forEach(e => { if (e.scrollTop) e.scrollTop = 0; })")
    page.wait_for_timeout(1500)  # charts re-lay out to the new size
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / name
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000
    return shot


@pytest.fixture(scope="module")
def server(tiny_store_template, tmp_path_factory):
    """A streamlit server on a free local port, serving a copy of the tiny model store."""
    store = tmp_path_factory.mktemp("browser") / "model_store"
    shutil.copytree(tiny_store_template, store)
    log_path = tmp_path_factory.mktemp("browser-log") / "streamlit.log"
    with streamlit_server(store, log_path) as url:
        yield url, log_path


@pytest.fixture(scope="module")
def browser():
    with chromium() as instance:
        yield instance


def test_upload_in_browser_shows_verdict(server, browser, tmp_path):
    url, log_path = server
    # A real recording (the Learn page's genuine Spanish sentence, 6 s) so the screenshot
    # shows speech; any clip longer than one 2 s window also gets the timeline.
    clip = tmp_path / "speech.flac"
    shutil.copy(REPO / "assets" / "learn" / "es-saturn" / "genuine.flac", clip)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(url, wait_until="domcontentloaded")
        page.get_by_text("Is this voice real?").wait_for(timeout=60_000)
        # The sidebar names the active model of the store the server was started with.
        page.get_by_test_id("stSidebar").get_by_text("v1", exact=True).wait_for(timeout=30_000)

        page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(str(clip))
        verdict = page.locator("h2").filter(has_text=re.compile("|".join(VERDICTS))).first
        verdict.wait_for(timeout=90_000)
        label = verdict.inner_text()
        assert any(v in label for v in VERDICTS), label
        # The calibrated probability and its explanation sit in the card.
        page.get_by_text("Probability that the voice is synthetic").wait_for()
        page.get_by_text("The model gives").first.wait_for()
        page.get_by_role("button", name="Download the analysis (JSON)").wait_for()
        # Timeline, waveform and spectrogram are one static image on one time axis: no Plotly to compile.
        charts = page.get_by_test_id("stImage")
        charts.first.wait_for(timeout=60_000)
        assert page.locator(".js-plotly-plot").count() == 0
        assert page.get_by_text("Which seconds look synthetic").count() == 1
        assert "Traceback" not in page.inner_text("body")
        assert page.get_by_test_id("stException").count() == 0
        # The overview spans the main column, so the time axis is wide enough to read (the first image is the
        # bands bar under the verdict, in the card's left column).
        width = page.locator(".st-key-detect_overview img").first.bounding_box()["width"]
        assert width > 900, width

        # The explanation heatmap is computed on demand in the real page too.
        page.get_by_role("button", name="Explain this region").click()
        page.wait_for_function("document.querySelectorAll('[data-testid=\"stImage\"]').length >= 2",
                               timeout=90_000)
        tall_screenshot(page, "detect.png")
        # Explain's rerun replaces the card's elements; until it settles a button can exist twice (old and new).
        expect(page.get_by_role("button", name="Download the report (HTML)")).to_have_count(1, timeout=30_000)

        with page.expect_download() as download_info:
            page.get_by_role("button", name="Download the analysis (JSON)").click()
        exported = download_info.value
        assert exported.suggested_filename == "speech.analysis.json"
        data = json.loads(Path(exported.path()).read_text())
        assert data["file"] == "speech.flac" and data["model_version"] == "v1"
        assert data["verdict_label"] in label and len(data["sha256"]) == 64
        with page.expect_download() as download_info:
            page.get_by_role("button", name="Download the report (HTML)").click()
        report = Path(download_info.value.path()).read_text()
        assert data["sha256"] in report and "data:image/png;base64," in report

        # The model card opens on its own page from the sidebar; coming back keeps the clip and verdict.
        page.get_by_test_id("stSidebar").get_by_text("Model card: data, results, limits").click()
        page.get_by_role("heading", name="Model card").wait_for(timeout=30_000)
        # The heading is drawn before the card's text: wait for the text rather than read the page at once.
        page.get_by_text("Tiny test model v1").first.wait_for(timeout=30_000)
        page.get_by_test_id("stSidebarNav").get_by_text("Detect").click()
        page.get_by_text("Showing your last clip, speech.flac").wait_for(timeout=60_000)
        assert verdict.inner_text() == label
    except Exception:
        print(log_path.read_text(errors="replace")[-4000:])
        raise
    finally:
        page.close()


def test_bad_file_in_browser_shows_message(server, browser, tmp_path):
    url, _ = server
    bad = tmp_path / "notes.wav"
    bad.write_text("these are my meeting notes, not a recording\n" * 20)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        page.goto(url, wait_until="domcontentloaded")
        page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(str(bad))
        alert = page.get_by_test_id("stAlertContentError").first
        alert.wait_for(timeout=60_000)
        assert "not audio" in alert.inner_text()
        assert "Traceback" not in page.inner_text("body")
    finally:
        page.close()


def test_batch_in_browser_builds_table(server, browser, tmp_path):
    url, _ = server
    paths = []
    for index, fmt in enumerate(("wav", "mp3", "ogg")):
        path = tmp_path / f"clip{index}.{fmt}"
        path.write_bytes(encode(voice_like(4.0, seed=index), 16000, fmt))
        paths.append(str(path))
    broken = tmp_path / "broken.mp3"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 500)
    paths.append(str(broken))
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{url}/batch", wait_until="domcontentloaded")
        page.get_by_text("Check many files").wait_for(timeout=60_000)
        page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(paths)
        page.get_by_text("Done: 4 files analysed").wait_for(timeout=90_000)
        # The failed file, then the results (the second table is drawn a moment after the first).
        expect(page.get_by_test_id("stDataFrame")).to_have_count(2, timeout=60_000)
        page.get_by_role("button", name="Download the results (CSV)").wait_for()
        with page.expect_download() as download_info:
            page.get_by_role("button", name="Download the results (CSV)").click()
        csv_text = Path(download_info.value.path()).read_text()
        lines = csv_text.strip().splitlines()
        assert lines[0].startswith("file,verdict,p_synthetic,duration_s,synthetic_stretches,warnings,error")
        assert len(lines) == 5
        assert any(line.startswith("broken.mp3,") and "PNG image" in line for line in lines)
        # The failed file's reason is in plain view, and the tiles count every verdict.
        page.get_by_text("Could not be analysed (1)").wait_for()
        page.get_by_test_id("stMetric").filter(has_text="Likely genuine").wait_for()
        tall_screenshot(page, "batch.png")
        # Another page and back through the sidebar: the batch is still there.
        # (Long timeouts: a loaded machine's headless Chromium takes its time to draw the histogram.)
        page.get_by_test_id("stSidebarNav").get_by_text("Learn").click(timeout=120_000)
        page.get_by_text("Learn: what gives a synthetic voice away").wait_for(timeout=120_000)
        page.get_by_test_id("stSidebarNav").get_by_text("Batch").click(timeout=120_000)
        page.get_by_text("Your last batch (4 files").wait_for(timeout=120_000)
        page.get_by_text("Could not be analysed (1)").wait_for(timeout=120_000)
        page.get_by_role("button", name="Download the results (CSV)").wait_for(timeout=120_000)
    finally:
        page.close()


def test_learn_page_in_browser_shows_examples(server, browser):
    url, _ = server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        started = time.monotonic()
        page.goto(f"{url}/learn", wait_until="domcontentloaded")
        page.get_by_text("Learn: what gives a synthetic voice away").wait_for(timeout=60_000)
        page.get_by_text("Fake your own voice").wait_for(timeout=60_000)
        # Every committed version has a player and a spectrogram, drawn as a static image.
        manifest = json.loads((REPO / "assets/learn/manifest.json").read_text(encoding="utf-8"))
        versions = sum(len(example["versions"]) for example in manifest["examples"])
        page.wait_for_function(
            f"""Array.from(document.querySelectorAll('[data-testid="stImage"] img'))
                   .filter(img => img.complete && img.naturalWidth > 0).length >= {versions}""", timeout=60_000)
        print(f"Learn page: {versions} spectrograms shown {time.monotonic() - started:.1f} s after the request")
        assert page.locator("audio").count() >= versions
        assert page.locator(".js-plotly-plot").count() == 0   # nothing for the browser to compile
        assert page.get_by_text("What uncertain means").count() >= 1
        tall_screenshot(page, "learn.png")
    finally:
        page.close()

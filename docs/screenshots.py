"""Retake the README screenshots with the active model: ``.venv/bin/python docs/screenshots.py``.

Starts the app on a free port with the repository's model store (its active version), uploads a
spliced clip (a genuine Spanish description, then its WORLD vocoder copy, both from the Learn page's
assets) to Detect and saves:

- ``docs/screenshot-detect.png``: the page from its title to the score-per-window chart (1280 px);
- ``docs/screenshot-explain.png``: *Explain* run on its default stretch: the stretch's own score and the heatmap;
- ``docs/screenshot-phone.png``: the first screen of a phone (390 × 844 px) after the same upload;
- ``docs/screenshot-genuine.png``: the verdict card of the genuine recording alone (what a person following
  the README with a genuine voice sees).

Each is stored as a 256-colour PNG, so none weighs more than about 300 KB. Needs Debian's chromium
(``make system-deps``); the words of the README around the images say what they show, so read them again.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from browser_helpers import chromium, streamlit_server  # noqa: E402

EXAMPLE = REPO / "assets" / "learn" / "es-saturn"
DOCS = REPO / "docs"
DESKTOP, PHONE = {"width": 1280, "height": 2400}, {"width": 390, "height": 844}
SETTLED = """() => !document.querySelector('[data-testid="stStatusWidgetRunningIcon"]')
                   && !document.querySelector('[data-stale="true"]')
                   && !document.querySelector('[data-testid="stSpinner"]')"""
MAX_BYTES = 300_000


def spliced_clip(folder: Path) -> Path:
    """Genuine speech, a short pause, then the WORLD copy of the same sentence."""
    genuine, rate = sf.read(str(EXAMPLE / "genuine.flac"), dtype="float32")
    copy, _ = sf.read(str(EXAMPLE / "world.flac"), dtype="float32")
    clip = np.concatenate([genuine, np.zeros(int(0.4 * rate), np.float32), copy])
    path = folder / "interview-excerpt.flac"
    sf.write(str(path), clip, rate)
    return path


def settle(page) -> None:
    """Wait until the script run is over (no running icon, stale element or spinner) and images are drawn."""
    page.wait_for_timeout(500)
    page.wait_for_function(SETTLED, timeout=180_000)
    page.wait_for_function("Array.from(document.images).every(img => img.complete)", timeout=60_000)
    page.wait_for_timeout(800)


def upload(page, url: str, clip: Path) -> None:
    """Open Detect (a fresh session) and upload ``clip``; returns once its verdict card is drawn."""
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_text("Is this voice real?").wait_for(timeout=90_000)
    page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(str(clip))
    seconds = sf.info(str(clip)).duration
    page.get_by_text(f"of your {seconds:.1f}-second recording").first.wait_for(timeout=180_000)
    settle(page)


def box(page, selector: str) -> dict:
    """``selector``'s box on the page, the page scrolled to its top (Streamlit scrolls inside its main container)."""
    page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollTop = 0")
    page.wait_for_timeout(300)
    return page.locator(selector).first.bounding_box()


def save(page, name: str, clip: dict | None = None) -> Path:
    """A screenshot as a 256-colour PNG (text and charts stay sharp; a third of the bytes)."""
    path = DOCS / name
    page.screenshot(path=str(path), clip=clip)
    with Image.open(path) as shot:
        shot.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE) \
            .save(path, optimize=True)
    size = path.stat().st_size
    print(f"wrote docs/{name} ({size // 1000} KB)")
    if size > MAX_BYTES:
        print(f"  larger than {MAX_BYTES // 1000} KB: take a smaller part of the page")
    return path


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp, \
            streamlit_server(REPO / "model_store", Path(tmp) / "server.log") as url, chromium() as browser:
        clip = spliced_clip(Path(tmp))
        page = browser.new_page(viewport=DESKTOP)
        upload(page, url, clip)
        chart = box(page, ".st-key-detect_overview")
        save(page, "screenshot-detect.png", {"x": 0, "y": 0, "width": DESKTOP["width"],
                                             "height": chart["y"] + chart["height"] + 16})
        page.get_by_role("button", name="Explain this region").click()
        page.get_by_test_id("stMetric").filter(has_text="on their own").first.wait_for(timeout=300_000)
        settle(page)
        heading = box(page, "h4:has-text('Why? Explain the verdict')")
        heatmap = page.get_by_test_id("stImage").last.bounding_box()
        save(page, "screenshot-explain.png", {"x": heading["x"] - 24, "y": heading["y"] - 16,
                                              "width": heatmap["width"] + 48,
                                              "height": heatmap["y"] + heatmap["height"] - heading["y"] + 32})
        upload(page, url, EXAMPLE / "genuine.flac")
        card = box(page, ".st-key-detect_verdict")
        save(page, "screenshot-genuine.png", {"x": card["x"] - 16, "y": card["y"] - 16,
                                              "width": card["width"] + 32, "height": card["height"] + 32})
        phone = browser.new_page(viewport=PHONE)
        upload(phone, url, clip)
        save(phone, "screenshot-phone.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Retake the README screenshots: ``.venv/bin/python docs/screenshots.py``.

Starts the app on a free port with the repository's model store, uploads a spliced
clip (a genuine Spanish description, then its WORLD vocoder copy, both from the Learn
page's assets) to Detect, and saves the verdict and the explanation of the copied
stretch as ``docs/screenshot-detect.png`` and ``docs/screenshot-explain.png``; then the genuine
recording alone, whose verdict card (what a person following the README with a genuine voice sees) is
``docs/screenshot-genuine.png``.
Needs Debian's chromium (``make system-deps``).
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from browser_helpers import chromium, streamlit_server  # noqa: E402

EXAMPLE = REPO / "assets" / "learn" / "es-saturn"
VERDICTS = ("Likely genuine", "Uncertain", "Likely synthetic")


def spliced_clip(folder: Path) -> Path:
    """Genuine speech, a short pause, then the WORLD copy of the same sentence."""
    genuine, rate = sf.read(str(EXAMPLE / "genuine.flac"), dtype="float32")
    copy, _ = sf.read(str(EXAMPLE / "world.flac"), dtype="float32")
    clip = np.concatenate([genuine, np.zeros(int(0.4 * rate), np.float32), copy])
    path = folder / "interview-excerpt.flac"
    sf.write(str(path), clip, rate)
    return path


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp, \
            streamlit_server(REPO / "model_store", Path(tmp) / "server.log") as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1500})
        page.goto(url, wait_until="domcontentloaded")
        page.get_by_text("Is this voice real?").wait_for(timeout=90_000)
        page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(str(spliced_clip(Path(tmp))))
        page.locator("h2").filter(has_text=re.compile("|".join(VERDICTS))).first.wait_for(timeout=120_000)
        page.get_by_test_id("stImage").first.wait_for(timeout=90_000)
        page.wait_for_timeout(2000)
        page.screenshot(path=str(REPO / "docs" / "screenshot-detect.png"), full_page=True)
        page.get_by_role("button", name="Explain this region").click()
        page.wait_for_function("document.querySelectorAll('[data-testid=\"stImage\"]').length >= 2",
                               timeout=180_000)
        page.wait_for_timeout(2000)
        page.get_by_test_id("stImage").last.scroll_into_view_if_needed()
        page.screenshot(path=str(REPO / "docs" / "screenshot-explain.png"))
        page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(str(EXAMPLE / "genuine.flac"))
        # The card's model line names the analysed length: 6.0 s is the genuine recording, not the spliced clip.
        page.get_by_text(re.compile(r"analysed [0-9.]+ s of 6\.0 s")).first.wait_for(timeout=120_000)
        page.wait_for_timeout(2000)
        heading = page.locator("h2").filter(has_text=re.compile("|".join(VERDICTS))).first
        heading.evaluate("element => element.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(500)
        top = max(0.0, heading.bounding_box()["y"] - 40)
        page.screenshot(path=str(REPO / "docs" / "screenshot-genuine.png"),
                        clip={"x": 0, "y": top, "width": 1400, "height": 760})
    print("wrote docs/screenshot-detect.png, docs/screenshot-explain.png and docs/screenshot-genuine.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Real browser, shipped active model, on a desktop (1280 px) and a phone (390 px) (issue 34).

The pages as a journalist and a teacher meet them: Detect with a genuine clip, a fake, a 1.4-s clip
and a clipped one, Explain and the report; then Learn, Model card and Admin, and back to Detect. Every
page is screenshotted (the folder is printed) and checked for what the issue found: a raw ``None`` or a
Python list (``[[``) in the text, more than one H1, and on the phone a verdict or its warnings below the
fold. Needs ``/usr/bin/chromium`` (``make test`` installs it).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from browser_helpers import CHROMIUM, chromium, shipped_store_copy, streamlit_server
from conftest import REPO_STORE

from webapp import figures

CLIPS = Path(__file__).parent / "clips"
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
VERDICTS = re.compile("Likely genuine|Uncertain|Likely synthetic")
# A raw Python None: "None" that does not start a phrase ("None of…", "None found.").
RAW_NONE = re.compile(r"\bNone\b(?![ \t]+[a-z])")
SETTLED = """() => !document.querySelector('[data-testid="stStatusWidgetRunningIcon"]')
                   && !document.querySelector('[data-stale="true"]')
                   && !document.querySelector('[data-testid="stSpinner"]')"""
# Sidebar title: the page's H1. Visited through the app's own navigation, so the session (and the clip) stays.
OTHER_PAGES = {"Learn": "Learn: what gives a synthetic voice away", "Model card": "Model card", "Admin": "Admin"}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"),
                       reason="needs Debian chromium: apt-get install -y chromium"),
]


@pytest.fixture(scope="module")
def shipped_server(tmp_path_factory):
    """A streamlit server on a copy of the shipped active version and the shared encoder."""
    root = tmp_path_factory.mktemp("browser-pages")
    with streamlit_server(shipped_store_copy(REPO_STORE, root), root / "server.log") as url:
        yield url, root / "server.log"


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> list[Path]:
    """A genuine clip, a fake, a 1.4-s cut of the genuine one and a clipped copy of it (capped at uncertain).

    In this order no two clips in a row have the same length, so the page's "your N-second recording"
    says which clip a verdict belongs to.
    """
    folder = tmp_path_factory.mktemp("browser-pages-clips")
    genuine, rate = sf.read(CLIPS / "ru-nsh" / "genuine.flac", dtype="float32")
    short, loud = folder / "short.wav", folder / "loud.wav"
    sf.write(short, genuine[rate:rate + int(1.4 * rate)], rate)
    sf.write(loud, np.clip(genuine / np.abs(genuine).max() * 4.0, -1.0, 1.0), rate)
    return [CLIPS / "ru-nsh" / "genuine.flac", CLIPS / "ru-nsh" / "espeak.flac", short, loud]


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("browser-pages-screenshots")
    print(f"screenshots: {folder}")
    return folder


def settle(page) -> None:
    """Wait until the script run is over: no running icon, no stale element, no spinner."""
    page.wait_for_timeout(300)
    page.wait_for_function(SETTLED, timeout=180_000)
    page.wait_for_timeout(300)


def check_text(page, where: str) -> None:
    """No raw None, no Python list, no traceback, one H1."""
    text = page.inner_text("body")
    assert not RAW_NONE.search(text), (where, text[max(0, RAW_NONE.search(text).start() - 200):][:400])
    assert "[[" not in text, (where, text[text.index("[[") - 200:][:400])
    assert "Traceback" not in text and page.get_by_test_id("stException").count() == 0, where
    headings = page.locator("h1").all_inner_texts()
    assert len(headings) == 1, (where, headings)


def inside_first_screen(page, locator, height: int, where: str) -> None:
    """``locator``'s whole box lies within the first screen of the page (the page scrolled to its top)."""
    box = locator.bounding_box()
    assert box is not None, where
    assert box["y"] >= 0 and box["y"] + box["height"] <= height, (where, box, height)


def go_to(page, title: str) -> None:
    """Open the page called ``title`` from the sidebar, as a user does (a phone opens the sidebar first)."""
    if page.get_by_test_id("stExpandSidebarButton").is_visible():
        page.get_by_test_id("stExpandSidebarButton").click()
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    page.wait_for_timeout(500)
    if page.viewport_size["width"] < 640 and page.get_by_test_id("stSidebarCollapseButton").is_visible():
        page.get_by_test_id("stSidebarCollapseButton").click()   # a phone's sidebar covers the page


def shoot(page, folder: Path, name: str, full: bool = False) -> None:
    """The screen as shown; with ``full``, the whole page too (Streamlit scrolls inside its main container)."""
    page.screenshot(path=str(folder / f"{name}.png"))
    if full:
        size = page.viewport_size
        tall = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
        page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(int(tall) + 40, 8000))})
        page.wait_for_timeout(800)
        page.screenshot(path=str(folder / f"{name}-full.png"))
        page.set_viewport_size(size)
        page.wait_for_timeout(500)
    assert (folder / f"{name}.png").stat().st_size > 10_000


@pytest.mark.parametrize("device", list(VIEWPORTS))
def test_the_pages_on_a_desktop_and_a_phone(device, shipped_server, clips, shots):
    url, log_path = shipped_server
    viewport = VIEWPORTS[device]
    timings: dict[str, float] = {}
    with chromium() as browser:
        page = browser.new_page(viewport=viewport)
        try:
            started = time.monotonic()
            page.goto(url, wait_until="domcontentloaded")
            page.get_by_text("Is this voice real?").wait_for(timeout=90_000)
            settle(page)
            check_text(page, f"{device} detect, empty")
            for clip in clips:
                where = f"{device} detect {clip.parent.name}/{clip.name}"
                began = time.monotonic()
                # As a user: to the uploader (on a phone it comes after the last clip's card), then a file.
                page.get_by_test_id("stFileUploader").first.scroll_into_view_if_needed()
                page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(str(clip))
                seconds = sf.info(str(clip)).duration
                page.get_by_text(f"of your {seconds:.1f}-second recording").first.wait_for(timeout=120_000)
                settle(page)
                timings[clip.name] = time.monotonic() - began
                check_text(page, where)
                card = page.locator(".st-key-detect_verdict")
                verdict = card.locator("h2").filter(has_text=VERDICTS).first
                first_box = card.get_by_test_id("stAlertContainer").first   # a warning, or "no problems found"
                shoot(page, shots, f"{device}-detect-{clip.stem}")
                # What a user sees on arrival after the upload: the verdict and the first warning, unscrolled.
                inside_first_screen(page, verdict, viewport["height"], where)
                inside_first_screen(page, first_box, viewport["height"], where)
                if clip.name == "loud.wav":   # capped: the reason in a few words, above the fold too
                    inside_first_screen(page, card.get_by_text("Capped at", exact=False).first,
                                        viewport["height"], where)
                    assert "Uncertain" in verdict.inner_text()
                if clip.name == "short.wav":
                    assert "Short clip" in first_box.inner_text()
                    assert page.get_by_text("What the model heard").count() == 1
                # The overview shows the picture drawn for this screen, at no more than twice its pixels.
                shown = [image for image in page.locator(".st-key-detect_overview img").all() if image.is_visible()]
                assert len(shown) == 1, where
                natural = shown[0].evaluate("img => [img.naturalWidth, img.naturalHeight, img.clientWidth]")
                if device == "phone":   # drawn 3.7 in wide at 200 dpi: its 9-pt type reads at about 12 px
                    assert natural[0] == round(figures.PHONE_WIDTH_IN * figures.PHONE_DPI), (where, natural)
                    assert natural[0] <= 2.2 * natural[2], (where, natural)
                else:
                    assert natural[0] == round(figures.WIDTH_IN * figures.DPI) and natural[2] > 700, (where, natural)

            # Explain the clipped clip: the stretch's own score, the heatmap, and both in the report.
            began = time.monotonic()
            page.get_by_role("button", name="Explain this region").click()
            page.get_by_text(re.compile(r"on their own")).first.wait_for(timeout=180_000)
            settle(page)
            timings["explain"] = time.monotonic() - began
            # The result shows where the user pressed: the page does not jump back to the verdict at the top.
            score = page.get_by_test_id("stMetric").filter(has_text="on their own").first
            inside_first_screen(page, score, viewport["height"], f"{device} explain")
            sentence = page.get_by_text(re.compile(r"^Explained: seconds ")).first.inner_text()
            check_text(page, f"{device} detect, explained")
            page.get_by_text("Explained: seconds").first.scroll_into_view_if_needed()
            shoot(page, shots, f"{device}-detect-explained", full=True)
            with page.expect_download() as download:
                page.get_by_role("button", name="Download the report (HTML)").click()
            report = Path(download.value.path()).read_text()
            assert "Why: what moved the score of seconds" in report and report.count("data:image/png;base64,") == 2
            assert sentence in re.sub(r"</?em>", "", report)

            for title, heading in OTHER_PAGES.items():
                began = time.monotonic()
                go_to(page, title)
                page.get_by_role("heading", name=heading).first.wait_for(timeout=120_000)
                settle(page)
                timings[title] = time.monotonic() - began
                check_text(page, f"{device} {title}")
                shoot(page, shots, f"{device}-{title.lower().replace(' ', '-')}", full=True)

            # Back to Detect: the clip, its verdict and its explanation are still there.
            go_to(page, "Detect")
            page.get_by_text("Showing your last clip, loud.wav").wait_for(timeout=120_000)
            page.get_by_text(re.compile(r"^Explained: seconds ")).first.wait_for(timeout=60_000)
            settle(page)
            assert page.get_by_text(re.compile(r"^Explained: seconds ")).first.inner_text() == sentence
            assert page.get_by_role("button", name="Explain this region").count() == 0
            check_text(page, f"{device} detect, back")
            timings["total"] = time.monotonic() - started
            print(f"{device}: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timings.items()))
        except Exception:
            print(log_path.read_text(errors="replace")[-3000:])
            raise
        finally:
            page.close()

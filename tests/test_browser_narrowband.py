"""Real browser, shipped model: a telephone copy of a genuine clip never reads *likely genuine* (issue 32).

The Detect page as a journalist meets it: the active encoder model, a real upload through
Chromium, and the verdict card's words. Needs ``/usr/bin/chromium`` (``make test`` installs it).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from browser_helpers import CHROMIUM, chromium, shipped_store_copy, streamlit_server
from channel_copies import telephone_round_trip
from conftest import REPO_STORE
from test_narrowband_rule import TELEPHONE_SENTENCE

CLIPS = Path(__file__).parent / "clips"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"),
                       reason="needs Debian chromium: apt-get install -y chromium"),
]


@pytest.fixture(scope="module")
def shipped_server(tmp_path_factory):
    """A streamlit server on a copy of the shipped active version and the shared encoder."""
    root = tmp_path_factory.mktemp("browser-shipped")
    with streamlit_server(shipped_store_copy(REPO_STORE, root), root / "server.log") as url:
        yield url


def upload_and_read_verdict(browser, url: str, clip: Path):
    """Open Detect on ``url``, upload ``clip`` and wait for its verdict; (page, verdict heading text)."""
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_text("Is this voice real?").wait_for(timeout=60_000)
    page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(str(clip))
    verdict = page.locator("h2").filter(has_text=re.compile("Likely genuine|Uncertain|Likely synthetic")).first
    verdict.wait_for(timeout=120_000)
    return page, verdict.inner_text()


def test_a_telephone_copy_of_a_genuine_clip_is_not_cleared_in_the_browser(shipped_server, tmp_path):
    clip = tmp_path / "telephone.wav"
    clip.write_bytes(telephone_round_trip(CLIPS / "ru-nsh" / "genuine.flac"))
    with chromium() as browser:
        page, verdict = upload_and_read_verdict(browser, shipped_server, clip)
        assert "Uncertain" in verdict and "Likely genuine" not in verdict
        page.get_by_text(TELEPHONE_SENTENCE).first.wait_for(timeout=30_000)
        body = page.inner_text("body")
        assert "Narrow bandwidth" in body and "Traceback" not in body


def test_a_telephone_copy_of_a_synthetic_clip_is_not_cleared_in_the_browser(shipped_server, tmp_path):
    clip = tmp_path / "telephone-world.wav"
    clip.write_bytes(telephone_round_trip(CLIPS / "ru-nsh" / "world.flac"))
    with chromium() as browser:
        page, verdict = upload_and_read_verdict(browser, shipped_server, clip)
        assert "Likely genuine" not in verdict
        assert "Narrow bandwidth" in page.inner_text("body")

"""Real-browser tests of navigation and of what the page fetches: every URL works as a server's first
request (a bookmark after a restart), and the app contacts no server but its own (it must work offline).

Each first-request test starts its own fresh server: the defect only showed on the first page request
a server ever got. Needs ``/usr/bin/chromium`` (``make test`` installs it).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from browser_helpers import CHROMIUM, chromium, streamlit_server

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"),
                       reason="needs Debian chromium: apt-get install -y chromium"),
]

PAGE_TITLES = ["Detect", "Batch", "Learn", "Admin", "Model card"]
# What the sidebar listed when Streamlit discovered the page files itself: raw module names.
RAW_NAMES = {"app", "admin", "batch", "detect", "learn", "shared", "_shared", "admin_access", "admin_forms",
             "admin_jobs", "admin_registry", "admin_results", "batch_view", "learn_view"}
HEADINGS = {"batch": "Check many files", "admin": "Admin", "learn": "Learn: what gives a synthetic voice away",
            "model-card": "Model card",
            # not a page: Streamlit says so and shows the default page, with the app's own navigation
            "shared": "Is this voice real?"}


@pytest.fixture(scope="module")
def browser():
    with chromium() as instance:
        yield instance


def sidebar_titles(page) -> list[str]:
    """The page titles of the sidebar navigation (each link's last line: the first is its icon's name)."""
    links = page.get_by_test_id("stSidebarNav").get_by_test_id("stSidebarNavLink")
    return [text.strip().splitlines()[-1].strip() for text in links.all_inner_texts()]


@pytest.mark.parametrize("path", ["batch", "admin", "learn", "model-card", "shared"])
def test_first_request_to_any_url_gets_the_apps_navigation(path, tiny_store, browser, tmp_path):
    log_path = tmp_path / "streamlit.log"
    with streamlit_server(tiny_store, log_path) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        try:
            page.goto(f"{url}/{path}", wait_until="domcontentloaded")
            page.get_by_role("heading", name=HEADINGS[path]).first.wait_for(timeout=60_000)
            sidebar = page.get_by_test_id("stSidebar")
            # The model panel that app.py draws (never drawn when Streamlit ran the page file on its own).
            sidebar.get_by_text("Active version").wait_for(timeout=30_000)
            sidebar.get_by_text("v1", exact=True).wait_for()
            assert sidebar_titles(page) == PAGE_TITLES
            shown = {line.strip() for line in sidebar.inner_text().splitlines()}   # raw names were lower case
            assert not shown & RAW_NAMES, shown & RAW_NAMES
            # app.py's wide layout: the main block uses far more than the 736 px of the centred layout.
            width = page.get_by_test_id("stMainBlockContainer").bounding_box()["width"]
            assert width > 900, width
            assert page.get_by_test_id("stException").count() == 0
        except Exception:
            print(log_path.read_text(errors="replace")[-3000:])
            raise
        finally:
            page.close()


def test_pages_fetch_nothing_from_outside_servers(tiny_store, browser, tmp_path):
    """Every request the pages make (tab icon, fonts, scripts, icons) goes to the app's own server."""
    with streamlit_server(tiny_store, tmp_path / "streamlit.log") as url:
        own_host = urlsplit(url).netloc
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        try:
            for path, heading in [("", "Is this voice real?"), ("batch", HEADINGS["batch"]),
                                  ("learn", HEADINGS["learn"]), ("admin", HEADINGS["admin"])]:
                page.goto(f"{url}/{path}", wait_until="domcontentloaded")
                page.get_by_role("heading", name=heading).first.wait_for(timeout=60_000)
                page.get_by_test_id("stSidebarNav").wait_for(timeout=30_000)
                page.wait_for_load_state("networkidle", timeout=60_000)
            # The tab icon is the app's own file.
            icon = page.evaluate("document.querySelector('link[rel~=\"icon\"]')?.href || ''")
            assert urlsplit(icon).netloc == own_host, icon
        finally:
            page.close()
        outside = sorted({u for u in requested if urlsplit(u).scheme in ("http", "https", "ws", "wss")
                          and urlsplit(u).netloc != own_host})
        assert requested and not outside, outside

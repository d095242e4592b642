"""Streamlit entry point of the deepfake voice detector: ``streamlit run app.py``.

Lists the pages (Detect is the default) and draws the model sidebar that every
page shares. The pages are thin; the work happens in ``detector/``. Nothing in
this process imports TensorFlow: models are served with LiteRT.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app_pages._shared import render_sidebar
from webapp import session_sweep

# A local file, not a ":material/...:" or emoji icon: those make the browser fetch the tab icon from an
# outside font/CDN server, and the app must work offline without contacting anyone.
TAB_ICON = str(Path(__file__).resolve().parent / "assets" / "favicon.png")

st.set_page_config(page_title="Deepfake voice detector", page_icon=TAB_ICON, layout="wide",
                   menu_items={"About": "Open-source detector of synthetic (deepfake) speech."})

PAGES = [
    st.Page("app_pages/detect.py", title="Detect", icon=":material/search:", default=True),
    st.Page("app_pages/batch.py", title="Batch", icon=":material/library_music:"),
    st.Page("app_pages/learn.py", title="Learn", icon=":material/school:"),
    st.Page("app_pages/admin.py", title="Admin", icon=":material/admin_panel_settings:"),
    st.Page("app_pages/model_card.py", title="Model card", icon=":material/description:", url_path="model-card"),
]

session_sweep.start()   # once per process: frees closed sessions' uploads on an idle server too (README)
page = st.navigation(PAGES)
render_sidebar()
page.run()

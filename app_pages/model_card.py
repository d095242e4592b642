"""Model card page: the active model's card in full, with room to read it.

It used to sit in a sidebar expander, a column some 7,000 pixels tall.
"""

from __future__ import annotations

import streamlit as st

from app_pages._shared import current_detector
from webapp.card_text import card_markdown
from webapp.model_sentences import plain_summary


def render() -> None:
    """The page body."""
    detector = current_detector()
    if detector is None:
        return
    st.title("Model card")
    st.info(plain_summary(detector.version), icon=":material/lightbulb:")
    st.markdown(card_markdown(detector.version))   # the sealed card, its headings below the page's title


render()

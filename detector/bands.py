"""Write probabilities and verdict-band edges so that they never contradict each other.

The band edges are calibrated numbers such as 3.94 %. Rounded on their own to
"4 %", a clip at 3.97 % read "between 4 % and 92 % it cannot tell" and the Learn
page showed "Uncertain 3.97 %" under "below 4 % = likely genuine". Here every
number shown together (the values and both edges) gets the same number of
decimals, the fewest for which each value compares with each edge as it really
does: below stays below, equal stays equal, above stays above.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MAX_DECIMALS = 4


@dataclass(frozen=True)
class BandText:
    """Probabilities and band edges written with one shared precision.

    Attributes
    ----------
    values : list of str
        The probabilities, in the order given.
    genuine_below, synthetic_above : str
        The two band edges.
    decimals : int
        Decimals of the percentages (the same for all of them).
    """

    values: list[str]
    genuine_below: str
    synthetic_above: str
    decimals: int


def format_percent(value: float, decimals: int = 0) -> str:
    """A probability in [0, 1] as a percentage with ``decimals`` decimals, e.g. ``"3.94 %"``.

    A probability strictly between 0 and 1 is never written "0 %" or "100 %": a calibrated
    score is not a certainty, and "0 %" reads as one. It becomes "< 0.01 %" or "> 99.99 %"
    (one unit of the last decimal shown) instead.
    """
    if _looks_certain(value, decimals):
        step = 10.0 ** -decimals
        return f"< {step:.{decimals}f} %" if value < 0.5 else f"> {100 - step:.{decimals}f} %"
    return f"{value * 100:.{decimals}f} %"


def _shown(value: float, decimals: int) -> float:
    """The percentage exactly as written with ``decimals`` decimals, so display and checks cannot disagree."""
    return float(f"{value * 100:.{decimals}f}")


def _sign(number: float) -> int:
    return (number > 0) - (number < 0)


def _faithful(values: Sequence[float], edges: Sequence[float], decimals: int) -> bool:
    """Whether rounding to ``decimals`` keeps every value-edge comparison (and the edges' order)."""
    pairs = [(v, e) for v in values for e in edges] + list(zip(edges, edges[1:]))
    return all(_sign(_shown(a, decimals) - _shown(b, decimals)) == _sign(a - b) for a, b in pairs)


def _decimals(values: Sequence[float], edges: Sequence[float]) -> int:
    """The fewest decimals that keep every comparison and write no score as 0 % or 100 % (up to MAX_DECIMALS; past
    that format_percent writes "< 0.0001 %")."""
    return next((d for d in range(MAX_DECIMALS + 1) if _faithful(values, edges, d)
                 and not any(_looks_certain(v, d) for v in values)), MAX_DECIMALS)


def _looks_certain(value: float, decimals: int) -> bool:
    """Whether ``value`` (strictly inside (0, 1)) would be written as 0 % or 100 % with ``decimals`` decimals."""
    rounded = _shown(value, decimals)
    return (0.0 < value and rounded == 0.0) or (value < 1.0 and rounded == 100.0)


def band_text(values: Sequence[float], genuine_below: float, synthetic_above: float) -> BandText:
    """Write ``values`` and the two band edges so that they never contradict.

    Parameters
    ----------
    values : sequence of float
        Probabilities in [0, 1] that will be shown next to the edges (may be empty).
    genuine_below, synthetic_above : float
        The band edges (``p < genuine_below`` is likely genuine, ``p >= synthetic_above`` likely synthetic).

    Returns
    -------
    BandText

    Raises
    ------
    ValueError
        A value or edge outside [0, 1] or not a number, or edges in the wrong order.
    """
    numbers = [float(v) for v in values]
    edges = [float(genuine_below), float(synthetic_above)]
    if not all(0.0 <= x <= 1.0 for x in numbers + edges):  # also rejects NaN
        raise ValueError("probabilities and band edges must lie in [0, 1]")
    if edges[0] > edges[1]:
        raise ValueError("genuine_below must not exceed synthetic_above")
    decimals = _decimals(numbers, edges)
    # Edges are thresholds, written as they are; only scores avoid reading as a certainty.
    return BandText([format_percent(v, decimals) for v in numbers], f"{edges[0] * 100:.{decimals}f} %",
                    f"{edges[1] * 100:.{decimals}f} %", decimals)


@dataclass(frozen=True)
class ClipText:
    """One clip's probability and the edges it was judged by, written once for every front end.

    Attributes
    ----------
    value : str
        The probability, e.g. ``"0.4 %"`` (never "0 %" or "100 %").
    genuine_below, synthetic_above : str or None
        The band edges, e.g. ``"1.1 %"``; ``None`` where the clip had no such band.
    decimals : int
        Decimals of all three.
    """

    value: str
    genuine_below: str | None
    synthetic_above: str | None
    decimals: int


def clip_text(p_synthetic: float, genuine_below: float | None, synthetic_above: float | None) -> ClipText:
    """A clip's probability and its band edges, each edge ``None`` where the clip had no such band.

    The one writing of a clip's numbers that Detect, Batch, the report, the JSON and the CLI share:
    the precision depends only on the clip's probability and its own edges, so the same clip reads the
    same everywhere. With both edges it is exactly :func:`band_text` of the one value.

    Raises
    ------
    ValueError
        A probability or edge outside [0, 1] or not a number, or edges in the wrong order.
    """
    if genuine_below is not None and synthetic_above is not None:
        text = band_text([p_synthetic], genuine_below, synthetic_above)
        return ClipText(text.values[0], text.genuine_below, text.synthetic_above, text.decimals)
    value = float(p_synthetic)
    edges = [float(e) for e in (genuine_below, synthetic_above) if e is not None]
    if not all(0.0 <= x <= 1.0 for x in [value, *edges]):  # also rejects NaN
        raise ValueError("probabilities and band edges must lie in [0, 1]")
    decimals = _decimals([value], edges)

    def edge(number: float | None) -> str | None:
        return None if number is None else f"{float(number) * 100:.{decimals}f} %"

    return ClipText(format_percent(value, decimals), edge(genuine_below), edge(synthetic_above), decimals)

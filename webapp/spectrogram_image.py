"""Spectrograms as static JPEG images, for pages where zooming adds nothing (the Learn page's comparisons).

An image costs the browser nothing to draw; a page of interactive Plotly heatmaps took
seconds. The numbers are those of :func:`webapp.plots.spectrogram_db`, so a static
picture and an interactive one of the same clip agree. No Streamlit here.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np

from webapp.plots import spectrogram_db

COLOUR_RANGE_DB = 80.0   # the same range as the interactive comparison figures
COLOURMAP = "magma"


def spectrogram_jpegs(clips: Sequence[np.ndarray], sr: int, width_in: float = 5.0, height_in: float = 2.4,
                     dpi: int = 110, font_pt: float = 10.0) -> list[bytes]:
    """JPEG bytes of one spectrogram per clip, all on one colour scale so they can be compared.

    Parameters
    ----------
    clips : sequence of np.ndarray
        Mono float samples, all at ``sr``.
    sr : int
        Sample rate in Hz (positive).
    width_in, height_in : float
        Image size in inches; with ``dpi`` this sets the pixel size.
    dpi : int
        Pixels per inch.
    font_pt : float
        Size of the axis labels and tick labels, in points (``font_pt * dpi / 72`` pixels).

    Returns
    -------
    list of bytes
        One JPEG per clip, in order (a fifth of a PNG's size for this noisy picture).

    Raises
    ------
    ValueError
        An empty clip, a clip that is not 1-D, or a sample rate that is not positive.
    """
    if int(sr) <= 0:
        raise ValueError(f"sample rate must be positive, got {sr}")
    arrays = [np.asarray(samples, dtype=np.float32) for samples in clips]
    if any(a.ndim != 1 or a.size == 0 for a in arrays):
        raise ValueError("every clip must be a non-empty 1-D array of samples")
    import matplotlib

    matplotlib.use("Agg")   # no display on a server
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"font.size": font_pt}):
        return _draw([spectrogram_db(samples, sr) for samples in arrays], Figure, width_in, height_in, dpi)


def _draw(spectra: list, Figure, width_in: float, height_in: float, dpi: int) -> list[bytes]:
    """One JPEG per (dB, times, frequencies) spectrum, on the colour scale of the loudest."""
    top = max((float(db.max()) for db, _, _ in spectra), default=0.0)
    images = []
    for db, times, freqs in spectra:
        figure = Figure(figsize=(width_in, height_in), dpi=dpi)
        axes = figure.add_subplot()
        end = float(times[-1]) + (float(times[1] - times[0]) if len(times) > 1 else 0.01)
        axes.imshow(db.T, origin="lower", aspect="auto", cmap=COLOURMAP, vmin=top - COLOUR_RANGE_DB, vmax=top,
                    extent=(0.0, end, 0.0, float(freqs[-1]) / 1000.0), interpolation="nearest")
        axes.set_xlabel("time (s)")
        axes.set_ylabel("frequency (kHz)")
        figure.tight_layout(pad=0.3)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="jpeg", pil_kwargs={"quality": 88})
        images.append(buffer.getvalue())
    return images

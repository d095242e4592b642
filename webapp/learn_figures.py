"""The Learn page's zoom and slice pictures, drawn for a projector: large, with labels a room can read.

Every picture here is meant to be shown across the page's full width. :data:`FONT_PT` at :data:`DPI`
against :data:`WIDTH_IN` keeps text at a fiftieth of the picture's width or more (about 16 px on a
1280 px projector). The zoom draws :attr:`webapp.learn_measures.ZoomView.crops` as they are. No Streamlit.
"""

from __future__ import annotations

import io

import numpy as np

from webapp.learn_measures import BAND, HOP_S, TOP_HZ, ZoomView

WIDTH_IN, DPI, FONT_PT = 10.0, 100, 15
COLOUR_RANGE_DB = 70.0
GENUINE_COLOUR, COPY_COLOUR = "#1f3b73", "#e07b00"


def _figure(height_in: float, panels: int):
    import matplotlib

    matplotlib.use("Agg")   # no display on a server
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI)
    return figure, figure.subplots(1, panels, squeeze=False)[0]


def _save(figure, fmt: str) -> bytes:
    figure.tight_layout(pad=0.4)
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, **({"pil_kwargs": {"quality": 90}} if fmt == "jpeg" else {}))
    return buffer.getvalue()


def zoom_image(view: ZoomView) -> bytes:
    """JPEG: one narrowband panel per version over the same second and 0-4 kHz, on one colour scale, the
    measured band dashed and the slice frame dotted."""
    import matplotlib

    with matplotlib.rc_context({"font.size": FONT_PT}):
        figure, axes = _figure(3.8, len(view.crops))
        top = max(float(crop.max()) for crop in view.crops)
        start, end = float(view.times[0]) - HOP_S / 2, float(view.times[-1]) + HOP_S / 2
        for index, (ax, crop, label) in enumerate(zip(axes, view.crops, view.labels)):
            ax.imshow(crop.T, origin="lower", aspect="auto", cmap="magma", vmin=top - COLOUR_RANGE_DB, vmax=top,
                      extent=(start, end, 0.0, TOP_HZ / 1000), interpolation="nearest")
            ax.add_patch(matplotlib.patches.Rectangle((start, BAND[0] / 1000), end - start, (BAND[1] - BAND[0]) / 1000,
                                                      fill=False, edgecolor="white", linestyle="--", linewidth=2))
            ax.axvline(view.slice_s, color="#7fdbff", linestyle=":", linewidth=2)
            ax.set_title(label.split(" (")[0], fontsize=FONT_PT)
            ax.set_xlabel("time (s)")
            ax.set_xticks(np.round(np.linspace(start, end, 3), 1))
            if index == 0:
                ax.set_ylabel("frequency (kHz)")
            else:
                ax.set_yticklabels([])
        return _save(figure, "jpeg")


def slice_image(view: ZoomView) -> bytes:
    """PNG: the slice frame's spectrum, the genuine recording against each copy, the measured band shaded."""
    import matplotlib

    frame = view.slice_index
    reference = float(view.crops[0][frame].max())
    khz = view.freqs / 1000
    with matplotlib.rc_context({"font.size": FONT_PT}):
        figure, axes = _figure(3.6, max(1, len(view.crops) - 1))
        for index, ax in enumerate(axes, start=1):
            ax.axvspan(BAND[0] / 1000, BAND[1] / 1000, color="#dddddd", zorder=0)
            ax.plot(khz, view.crops[0][frame] - reference, color=GENUINE_COLOUR, linewidth=1.8, label=view.labels[0].split(" (")[0])
            if index < len(view.crops):
                ax.plot(khz, view.crops[index][frame] - reference, color=COPY_COLOUR, linewidth=1.8,
                        label=view.labels[index].split(" (")[0].replace(" vocoder", ""))
            ax.set_xlim(0, TOP_HZ / 1000)
            ax.set_ylim(-75, 5)
            ax.set_xlabel("frequency (kHz)")
            if index == 1:
                ax.set_ylabel("level (dB)")
            ax.legend(loc="lower left", fontsize=FONT_PT - 2, framealpha=0.9)
        return _save(figure, "png")

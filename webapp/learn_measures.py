"""What the Learn page's zoom draws, and the measure its captions state, taken on the very matrices drawn.

A vocoder copy keeps the timing of the recording it was made from, so one stretch and one band can
be compared picture for picture. The zoom is a *narrowband* spectrogram (64 ms frames, fine enough
to draw each harmonic of a voice as its own line, which the 25 ms frames of the full pictures
cannot) of one second, 0-4 kHz. Its measure is the **harmonic contrast**: how far the harmonic peaks
stand above the dips between them, in dB (a simple harmonic-to-noise measure: blurred harmonics have
shallow dips; noise without harmonics reads 10-16 dB, more at higher pitch), at the genuine voice's
harmonics (its pitch, found by WORLD's DIO and StoneMask, places them in the copies too) in the band
a mel-spectrogram vocoder blurs, 2-4 kHz.

No Streamlit here. :class:`ZoomView` holds the crops the page draws and measures them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

WINDOW_S = 0.064        # narrowband: harmonics 100 Hz apart are resolved (Hann main lobe 4 / 0.064 s = 62 Hz)
HOP_S = 0.010           # the pitch tracker's frame period too, so frame i of both is at i * HOP_S
ZOOM_S = 1.0            # the stretch drawn
TOP_HZ = 4000.0         # the zoom's top frequency
BAND = (2000.0, 4000.0)  # the marked band: where a copy made from an 80-band mel spectrogram blurs harmonics
LOUD_DB = 35.0          # a frame is measured when voiced and its 0-4 kHz level is within this of the loudest
MIN_HARMONICS = 2       # a frame needs at least this many harmonics in the band to be measured


def narrowband_db(samples: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Power in dB, (frames, bins), frame ``i`` centred on ``i * HOP_S`` s; times (s); frequencies (Hz)."""
    x = np.asarray(samples, dtype=np.float64)
    length, hop = int(round(WINDOW_S * sr)), int(round(HOP_S * sr))
    n_fft = 1 << int(np.ceil(np.log2(length)))
    padded = np.pad(x, (length // 2, length // 2))
    count = 1 + max(0, len(padded) - length) // hop
    frames = np.lib.stride_tricks.sliding_window_view(padded, length)[::hop][:count] * np.hanning(length)
    power = np.abs(np.fft.rfft(frames, n_fft, axis=1)) ** 2
    return 10.0 * np.log10(power + 1e-10), np.arange(count) * HOP_S, np.fft.rfftfreq(n_fft, 1.0 / sr)


def pitch(samples: np.ndarray, sr: int) -> np.ndarray:
    """F0 in Hz every ``HOP_S`` seconds (0 where unvoiced): WORLD's DIO refined by StoneMask."""
    import pyworld

    x = np.asarray(samples, dtype=np.float64)
    f0, times = pyworld.dio(x, sr, f0_floor=60.0, f0_ceil=600.0, frame_period=HOP_S * 1000)
    return pyworld.stonemask(x, f0, times, sr)


def frame_contrast(db_frame: np.ndarray, freqs: np.ndarray, f0: float, band: tuple[float, float] = BAND) -> float:
    """How far one frame's harmonic peaks stand above the dips between them in ``band``, in dB (NaN where fewer
    than ``MIN_HARMONICS`` fit): the mean of the highest points within a quarter of the pitch of each harmonic
    minus the mean of the lowest points within a quarter of the pitch of each midpoint, the teeth of the slice
    plot. The windows forgive a pitch a little off at high harmonics; noise alone reads 10-16 dB."""
    if f0 <= 0:
        return float("nan")
    step = float(freqs[1])
    first, last = max(1, int(np.ceil(band[0] / f0))), int(np.floor((band[1] - f0 / 2) / f0))
    if last - first + 1 < MIN_HARMONICS:
        return float("nan")

    def extreme(centre: float, pick) -> float:
        low, high = int(round((centre - f0 / 4) / step)), int(round((centre + f0 / 4) / step))
        return float(pick(db_frame[max(0, low):high + 1]))

    peaks = [extreme(k * f0, np.max) for k in range(first, last + 1)]
    dips = [extreme((k + 0.5) * f0, np.min) for k in range(first, last + 1)]
    return float(np.mean(peaks) - np.mean(dips))


@dataclass(frozen=True)
class ZoomView:
    """One stretch of a recording and its copies as drawn: the crops, and the genuine voice's pitch there.

    Attributes
    ----------
    labels : list of str
        One per version; the first is the genuine recording.
    crops : list of np.ndarray
        dB, (frames, bins), the stretch from ``times[0]`` and 0 to ``TOP_HZ``: exactly what is drawn.
    times, freqs : np.ndarray
        Frame centres (s, in the clip) and bin frequencies (Hz) of the crops.
    f0 : np.ndarray
        The genuine voice's pitch per crop frame (Hz, 0 where unvoiced).
    measured : np.ndarray
        Bool per crop frame: voiced and loud in the genuine recording, so its harmonics are measured.
    slice_index : int
        The crop frame the slice plot draws.
    """

    labels: list[str]
    crops: list[np.ndarray]
    times: np.ndarray
    freqs: np.ndarray
    f0: np.ndarray
    measured: np.ndarray
    slice_index: int

    def contrasts(self, index: int) -> np.ndarray:
        """Harmonic contrast (dB) of version ``index`` in each measured frame of the stretch."""
        crop = self.crops[index]
        return np.array([frame_contrast(crop[i], self.freqs, self.f0[i]) for i in np.flatnonzero(self.measured)])

    def contrast(self, index: int) -> float:
        """Median harmonic contrast (dB) of version ``index`` over the stretch's measured frames."""
        values = self.contrasts(index)
        return float(np.nanmedian(values)) if np.isfinite(values).any() else float("nan")

    def slice_contrast(self, index: int) -> float:
        """Harmonic contrast (dB) of version ``index`` in the frame the slice plot draws."""
        return frame_contrast(self.crops[index][self.slice_index], self.freqs, self.f0[self.slice_index])

    @property
    def slice_s(self) -> float:
        return float(self.times[self.slice_index])


def zoom_view(labels: list[str], clips: list[np.ndarray], sr: int) -> ZoomView | None:
    """The ``ZOOM_S`` stretch with the most measured frames (the earliest of equals), cropped from every version.

    ``clips[0]`` is the genuine recording; the others are copies with its timing. The slice frame is
    the measured frame whose contrasts lie closest to the stretch's medians in every version: a typical
    frame, not the most telling one. ``None`` when the genuine recording has no measured frame.
    """
    spectra = [narrowband_db(clip, sr) for clip in clips]
    db, times, freqs = spectra[0]
    f0 = pitch(clips[0], sr)
    count = min(len(f0), *(len(s[0]) for s in spectra))
    level = 10.0 * np.log10(np.mean(10.0 ** (db[:count, freqs <= TOP_HZ] / 10.0), axis=1) + 1e-10)
    measured = (f0[:count] > 0) & (level >= level.max() - LOUD_DB)
    if not measured.any():
        return None
    span = min(int(round(ZOOM_S / HOP_S)), count)
    start = int(np.argmax(np.convolve(measured.astype(float), np.ones(span), mode="valid")))
    rows, columns = slice(start, start + span), freqs <= TOP_HZ
    view = ZoomView(list(labels), [s[0][rows][:, columns] for s in spectra], times[rows], freqs[columns],
                    f0[rows], measured[rows], 0)
    table = np.array([view.contrasts(i) for i in range(len(clips))])          # versions x measured frames
    complete = np.isfinite(table).all(axis=0)
    frames = np.flatnonzero(view.measured)
    if not complete.any():   # no frame measured in every version (no harmonics in the band): the middle one
        return replace(view, slice_index=int(frames[len(frames) // 2]))
    medians = np.median(table[:, complete], axis=1, keepdims=True)
    distance = np.where(complete, np.nansum(np.abs(table - medians), axis=0), np.inf)
    return replace(view, slice_index=int(frames[int(np.argmin(distance))]))

"""Recording-quality warnings shown next to a verdict.

Each check names a condition under which the model is known to be less reliable,
so a user can weigh the verdict (a telephone recording, heavy compression, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detector.audio import DecodedAudio
from detector.audio_blocks import TIMESTAMP_SLACK_S, DecodeLoss
from detector.config import FeatureConfig
from detector.preparation import PreparedClip

CLIPPING_FRACTION = 0.001       # share of samples at full scale
# Damage the model was never trained on and measurably misjudges: such a warning caps
# the verdict at "uncertain" (detector.verdict.capped_verdict). Narrow bandwidth and
# lossy compression are not here: the training corpus holds telephone, AMR, MP3 and
# Opus copies of both classes, and the model card reports their error rates.
DAMAGE_REASONS = {
    "clipping": "the recording is clipped, and clipping pushes this model's scores towards genuine",
    # A join the decoder made is a splice nobody recorded: the model has never heard one for what it is.
    "decode_gap": "part of the file could not be decoded, and the audio on either side of the gap is joined as if "
                  "recorded together",
}
# What ``python -m bench.clipping`` measured with the shipped model (20261122-1412-effnet-melexc)
# on the Learn examples and two piper clips amplified into clipping; the warning quotes it.
CLIPPING_EFFECT = ("Clipping pushes this model's score towards genuine: amplified until 5-15 % of their samples "
                   "were clipped, synthetic clips that scored 85-95 % fell to 1-35 %, and already 0.1-0.5 % of "
                   "clipped samples took a Griffin-Lim copy from 87 % to 45 %.")
MOSTLY_SILENCE_RATIO = 0.5      # sound / total duration below this
SHORT_CLIP_S = 3.0              # verdicts below this many seconds are shakier
NARROW_BAND_HZ = 4500.0         # an upper band edge below this looks like a phone line or a narrowband codec
BAND_EDGE_DB = 50.0             # the band edge: the highest band within this many dB of the loudest one
EDGE_BAND_HZ = 250.0            # width of the bands the long-term spectrum is averaged into
LOW_BIT_RATE = 48_000           # lossy audio below this many bits per second
LOSSY_CODECS = ("mp3", "mpeg", "vorbis", "opus", "aac", "amr", "gsm", "wma")


@dataclass(frozen=True)
class QualityWarning:
    """One warning: a stable code and a sentence for people."""

    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


def bandwidth_hz(power: np.ndarray, config: FeatureConfig, below_db: float = BAND_EDGE_DB) -> float:
    """Upper edge of the clip's band: the top of the highest 250-Hz band within ``below_db`` of the loudest.

    Not an energy roll-off: voiced speech keeps 99 % of its energy below 1-4 kHz
    even when recorded at full bandwidth, so a roll-off called most clean clips
    "narrow". A phone line or narrowband codec instead leaves the bands above
    ~4 kHz far below the loudest one, which this edge detects.

    Parameters
    ----------
    power : np.ndarray
        (frames, bins) power spectrogram.
    config : FeatureConfig
        Supplies the sample rate and FFT size.
    below_db : float
        How far below the loudest band a band still counts as sound.

    Returns
    -------
    float
        The edge in Hz (0 for an all-zero spectrum).
    """
    spectrum = power.mean(axis=0)
    per_band = max(1, int(round(EDGE_BAND_HZ * config.n_fft / config.sample_rate)))
    count = len(spectrum) // per_band
    bands = spectrum[: count * per_band].reshape(count, per_band).mean(axis=1)
    if bands.max() <= 0:
        return 0.0
    levels = 10.0 * np.log10(bands + bands.max() * 1e-12)
    top = int(np.flatnonzero(levels >= levels.max() - below_db)[-1])
    return float((top + 1) * per_band * config.sample_rate / config.n_fft)


def damage_reasons(warnings: list[QualityWarning]) -> dict[str, str]:
    """Code and short reason of each warning that caps a verdict at *uncertain* (see :data:`DAMAGE_REASONS`)."""
    return {warning.code: DAMAGE_REASONS[warning.code] for warning in warnings if warning.code in DAMAGE_REASONS}


def decode_warnings(loss: DecodeLoss) -> list[QualityWarning]:
    """Warnings for audio a damaged or incomplete file lost in decoding (none for an intact file).

    ``decode_gap``: damage inside the file, skipped, so the audio around it is joined (it caps
    the verdict, :data:`DAMAGE_REASONS`); ``decode_end``: the decoded audio stops before the
    file does, so only its start was analysed.
    """
    warnings = []
    if loss.has_gap:
        place = (f" at second {loss.gaps[0][0]:.1f}" if len(loss.gaps) == 1 else
                 f" in {len(loss.gaps)} places" if loss.gaps else "")
        warnings.append(QualityWarning(
            "decode_gap", f"{_amount(loss.gap_s)} of the file could not be decoded: damaged data{place} was "
                          "skipped, and the audio on either side is joined as if recorded together (later times "
                          "in the timeline run that much early)."))
    if loss.ends_early:
        ends = f"{loss.ends_at_s:.1f} s"
        if loss.stopped:
            lost = f"{_amount(loss.end_s)} of the file" if loss.end_s > TIMESTAMP_SLACK_S else "The rest of the file"
            text = f"{lost} could not be decoded: decoding stopped at damaged data after {ends}"
        else:
            text = (f"{_amount(loss.end_s)} of the file could not be decoded: it ends after {ends} although its "
                    f"header gives {loss.declared_s or 0:.1f} s (cut short, or not fully downloaded)")
        warnings.append(QualityWarning("decode_end", f"{text}, so only the first {ends} were analysed."))
    return warnings


def _amount(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds >= 0.05 else "Less than 0.1 s"


def quality_warnings(decoded: DecodedAudio, prepared: PreparedClip, power: np.ndarray,
                     config: FeatureConfig) -> list[QualityWarning]:
    """Warnings for one decoded and prepared clip, most important first.

    ``power`` is the clip's power spectrogram, already computed for the features.
    """
    warnings = decode_warnings(decoded.loss)
    if decoded.truncated:
        total = f" of {decoded.source_duration_s / 60:.0f} min" if decoded.source_duration_s else ""
        warnings.append(QualityWarning(
            "truncated", f"Only the first {config.max_duration_s / 60:g} min{total} were analysed."))
    if prepared.duration_s < SHORT_CLIP_S:
        warnings.append(QualityWarning(
            "short", f"Short clip ({int(prepared.duration_s * 10) / 10:.1f} s of sound): verdicts on clips under "
                     f"{SHORT_CLIP_S:g} s are less reliable."))
    if prepared.clipped_fraction > CLIPPING_FRACTION:
        warnings.append(QualityWarning(
            "clipping", f"The recording is clipped ({prepared.clipped_fraction:.1%} of samples at full scale). "
                        + CLIPPING_EFFECT))
    if decoded.duration_s > 0 and prepared.speech_s / decoded.duration_s < MOSTLY_SILENCE_RATIO:
        warnings.append(QualityWarning(
            "mostly_silence", f"Mostly silence: only {prepared.speech_s:.1f} s of {decoded.duration_s:.1f} s "
                              "contains sound."))
    band = bandwidth_hz(power, config)
    if decoded.original_sample_rate <= 8000 or band < NARROW_BAND_HZ:
        limit = min(band, decoded.original_sample_rate / 2)
        warnings.append(QualityWarning(
            "narrow_band", f"Narrow bandwidth (sound only up to about {limit / 1000:.1f} kHz, like a phone call): "
                           "the high frequencies where synthesis artefacts often show are missing."))
    codec = (decoded.codec or "").lower()
    if decoded.bit_rate and decoded.bit_rate < LOW_BIT_RATE and any(name in codec for name in LOSSY_CODECS):
        warnings.append(QualityWarning(
            "compressed", f"Heavily compressed audio ({decoded.bit_rate / 1000:.0f} kbit/s {codec}): "
                          "compression can hide or mimic synthesis artefacts."))
    return warnings

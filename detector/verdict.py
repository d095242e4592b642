"""From a calibrated probability to a verdict and the words around it.

One place for the rules every front end shares (app, CLI, batch, report): the
cap that damaged audio puts on a verdict, which seconds of a
clip score likely synthetic, and the sentences that say what a verdict means
and what to do when it is *uncertain*. The bands themselves belong to the model's
:class:`~detector.calibration.Calibration`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from detector.bands import band_text, format_percent
from detector.calibration import Calibration, ClipBands
from detector.channel import CHANNEL_WORDS
from detector.model_facts import ModelFacts
from detector.quality import QualityWarning, damage_reasons

VERDICTS = {
    "likely_genuine": "Likely genuine",
    "uncertain": "Uncertain",
    "likely_synthetic": "Likely synthetic",
}
RELIABLE_SPEECH_S = 10   # seconds of speech the advice asks for (the Detect tip says the same)
NEXT_STEPS = ("To get a firmer answer: find the original file (not a re-recording, a screen capture or a "
              f"messaging-app copy), a longer stretch of the same voice ({RELIABLE_SPEECH_S} seconds of speech or "
              "more), or the same words from another source.")
# For a model whose floor lies above the genuine edge: only steps that can change its answer.
CANNOT_CLEAR_STEPS = ("This model cannot confirm that a voice is genuine, so no copy of the clip will get a "
                      "*likely genuine* verdict from it. The original file (not a re-recording or a messaging-app "
                      f"copy) or a longer stretch of the same voice ({RELIABLE_SPEECH_S} seconds of speech or more) "
                      "can still show more clearly whether it is synthetic. Whether it is genuine can only be "
                      "checked outside this tool: ask who recorded it, or find the same words from another source.")
# Channels on which no version has earned a *likely genuine* verdict (issue 32): on 477 independent fakes passed
# through a telephone channel, the shipped encoder model cleared 26 %, and edges from this corpus's held-out folds
# (one or two families left out, narrowband clips alone) still cleared 23.5 %: the folds cannot vouch for narrowband
# audio. The green verdict is withheld there; the red one stands (it needs the score to rise, not fall).
CANNOT_CLEAR = {
    "narrow_band": ("This model cannot clear telephone-quality audio: it misses many fakes made by synthesisers it "
                    "never heard. It can still flag audio that looks synthetic."),
    # The corpus stores decoded audio, so no band was ever earned on a file that is itself heavily compressed.
    "compressed": ("This model cannot clear heavily compressed audio: no test showed that it keeps its promise on "
                   "such files. It can still flag audio that looks synthetic."),
}
NOT_EARNED_PER_CHANNEL = ("This model's bands were set for all kinds of audio together, not earned for each kind of "
                          "channel, so on telephone-quality or heavily compressed audio it withholds *likely genuine*.")
# What capped a verdict, in a few words for a headline ("Uncertain, capped: narrowband audio").
CAP_WORDS = {"narrow_band": "telephone-quality audio, which this model cannot clear", "clipping": "clipped recording",
             "decode_gap": "part of the file could not be decoded",
             "compressed": "heavily compressed audio, which this model cannot clear",
             "not_earned": "no confident verdict was earned on this kind of audio"}
MAX_LISTED_SPANS = 3   # more stretches than this are summarised, not listed
MIN_GENUINE_WINDOWS = 2   # consecutive genuine-looking windows a spliced clip needs besides its synthetic stretch


@dataclass
class WindowScore:
    """The calibrated score of one model window, in seconds of the uploaded file."""

    start_s: float
    end_s: float
    p_synthetic: float


def capped_verdict(verdict: str, damage: Sequence[str], cannot_clear: Sequence[str] = ()) -> str:
    """``verdict``, or ``"uncertain"`` when the audio is damaged, or cannot be cleared, in a way the model misjudges.

    Damage is listed by :func:`detector.quality.damage_reasons`: clipping, for one,
    drags this model's scores towards *genuine* (see ``bench/clipping.py``), so a
    cheap manipulation must not buy a confident verdict either way. ``cannot_clear``
    (:func:`cannot_clear_reasons`) only withholds *likely genuine*.
    """
    if damage or (verdict == "likely_genuine" and cannot_clear):
        return "uncertain"
    return verdict


def cannot_clear_reasons(codes: Sequence[str]) -> dict[str, str]:
    """Code and sentence of each quality warning on whose channel no *likely genuine* verdict was earned."""
    return {code: CANNOT_CLEAR[code] for code in codes if code in CANNOT_CLEAR}


@dataclass
class Judgement:
    """A verdict with its paragraph, the quality codes that capped it (empty when none did) and the edges it used.

    ``bands`` are the edges the clip could be judged by: its class's for a version with bands
    per class; the version's pair otherwise, without the green edge on the channels of
    :data:`CANNOT_CLEAR`. Every front end draws and writes these (:mod:`detector.clip_edges`).
    """

    verdict: str
    explanation: str
    capped_by: list[str]
    bands: ClipBands | None = None


def judge(p_synthetic: float, warnings: Sequence[QualityWarning], calibration: Calibration,
          facts: ModelFacts | None = None, channel: str = "wideband") -> Judgement:
    """The verdict for a calibrated probability, a clip's quality warnings and its measured class, with its words.

    Damage (:func:`detector.quality.damage_reasons`) caps any verdict at *uncertain*. A version
    with bands per channel class (:meth:`Calibration.bands_for`) judges the clip by its class's
    edges; where its class has no edge for the verdict the version's overall edges would give,
    the verdict is withheld with a sentence (``not_earned``). A version without them withholds
    only the green verdict, on the channels of :data:`CANNOT_CLEAR`.
    """
    damage = damage_reasons(list(warnings))
    bands = calibration.bands_for(channel)
    overall = calibration.verdict(p_synthetic)
    if bands.per_channel:
        unbounded = bands.verdict(p_synthetic)
        missing = [v for v, edge in (("likely_genuine", bands.genuine_below),
                                     ("likely_synthetic", bands.synthetic_above)) if edge is None]
        notes = [not_earned(channel, missing, overall if overall in missing else None)] if missing else []
        withheld = {"not_earned": notes[0]} if overall in missing else {}
    else:
        unbounded = overall
        withheld = cannot_clear_reasons([w.code for w in warnings]) if overall == "likely_genuine" else {}
        notes = list(withheld.values())
    verdict = capped_verdict(unbounded, damage, list(withheld))
    # The sentences cite the edges the clip was judged by (a missing class edge: the overall one, never cited alone).
    worded = replace(calibration, genuine_below=bands.genuine_below or calibration.genuine_below,
                     synthetic_above=bands.synthetic_above or calibration.synthetic_above) if bands.per_channel \
        else calibration
    explanation = explain_probability(p_synthetic, verdict, worded, list(damage.values()), facts, notes)
    if not bands.per_channel and cannot_clear_reasons([w.code for w in warnings]):
        bands = replace(bands, genuine_below=None)   # no green band on this audio, whatever the score
    return Judgement(verdict, explanation, list(damage) or list(withheld), bands)


def not_earned(channel: str, missing: Sequence[str], would: str | None = None) -> str:
    """Why a version with bands per class gives no ``missing`` verdicts on a clip's class.

    ``would`` is the verdict the version's overall edges would give this score, when it is one
    of them: the sentence then says so.
    """
    audio = CHANNEL_WORDS.get(channel, channel)
    named = " or ".join(f"*{VERDICTS[v].lower()}*" for v in missing)
    score = f" (by its overall edges this score would read *{VERDICTS[would].lower()}*)" if would else ""
    if channel == "narrowband" and missing == ["likely_genuine"]:
        return CANNOT_CLEAR["narrow_band"] + (" By its overall edges this score would read *likely genuine*."
                                              if would else "")
    return (f"On {audio} this model earned no {named} verdict{score}: tested on synthesisers and voices it never "
            "heard, more than 2 % of such clips fell on the wrong side of every edge it could set. It gives a "
            "score here, not a verdict.")


def cap_words(codes: Sequence[str]) -> str:
    """The reasons that capped a verdict, for a headline; empty when nothing did."""
    return "; ".join(CAP_WORDS.get(code, code.replace("_", " ")) for code in codes)


def next_steps(facts: ModelFacts | None = None) -> str:
    """What to do about an *uncertain* clip: only steps that can change this model's answer."""
    return NEXT_STEPS if facts is None or facts.can_clear else CANNOT_CLEAR_STEPS


def floor_sentence(p_synthetic: float, facts: ModelFacts) -> str:
    """The honest words for a clip at the floor of a model that cannot clear a clip."""
    text = band_text([p_synthetic, facts.lowest], facts.genuine_below, facts.synthetic_above)
    score, floor = text.values
    lowest = (f"{score} is the lowest score it gives" if score == floor
              else f"it gives {score}, next to {floor}, its lowest possible score")
    unseen = facts.unseen_synthesiser_eer.value or facts.heldout_eer.value
    misses = (f"On kinds of synthesiser it never heard it is wrong about {format_percent(unseen)} of the time "
              "(held-out folds, each scored by a model retrained without that kind), so this" if unseen is not None
              else "It cannot clear a clip, so this")
    return (f"Nothing in this clip looked synthetic to this model: {lowest}. {misses} does not "
            "show that the voice is genuine. " + next_steps(facts))


def explain_probability(p_synthetic: float, verdict: str, calibration: Calibration,
                        damage: Sequence[str] = (), facts: ModelFacts | None = None,
                        cannot_clear: Sequence[str] = ()) -> str:
    """A plain-language paragraph on what the number means (verdict card, CLI and report).

    ``damage`` holds short reasons ("the recording is clipped, and ...") for the quality
    problems that capped the verdict; ``cannot_clear`` the sentences of channels on which
    *likely genuine* is withheld (:data:`CANNOT_CLEAR`). ``facts`` (:mod:`detector.model_facts`) says what
    the model can reach: a model whose floor lies above the genuine edge never promises
    *likely genuine*, and a clip at its floor gets its own sentence.
    Numbers are written with :func:`detector.bands.band_text`, so the probability
    never seems to contradict the band edges it is compared with.
    """
    text = band_text([p_synthetic], calibration.genuine_below, calibration.synthetic_above)
    percent, low, high = text.values[0], text.genuine_below, text.synthetic_above
    steps = next_steps(facts)
    if damage:
        unbounded = calibration.verdict(p_synthetic)
        if unbounded == "uncertain":
            return (f"The model gives {percent}, where it cannot tell reliably; besides, {' and '.join(damage)} "
                    f"(see *Recording quality*), so this recording could not get a confident verdict anyway. "
                    + steps)
        return (f"The model gives {percent}, which alone would read *{VERDICTS[unbounded].lower()}*, but "
                f"{' and '.join(damage)} (see *Recording quality*). The verdict is therefore capped at *uncertain*. "
                + steps)
    if (cannot_clear and calibration.channel_bands is None and calibration.verdict(p_synthetic) == "likely_genuine"
            and verdict == "uncertain"):
        # A version without per-class bands (the sentence says so); per-class ones say why in ``cannot_clear``.
        return (f"The model gives {percent}, which on wideband audio would read *likely genuine*. "
                f"{' '.join(cannot_clear)} {NOT_EARNED_PER_CHANNEL} " + steps)
    if cannot_clear and verdict == "uncertain":
        return f"The model gives {percent}. {' '.join(cannot_clear)} " + steps
    if verdict == "likely_synthetic":
        return (f"The model gives {percent} that this clip is machine-generated. Among validation clips "
                f"scored at {high} or more, most were synthetic; it is evidence, not proof.")
    if verdict == "likely_genuine":
        missed = facts.unseen_missed if facts is not None else None
        unseen = (f" On kinds of synthesiser it never heard, up to {format_percent(missed.value, 1)} of fakes were "
                  f"called *likely genuine* ({missed.measured_on})." if missed is not None and missed.value is not None
                  else " New synthesis methods can still fool it.")
        return (f"The model gives {percent} that this clip is machine-generated: no sign of synthesis that this "
                f"model knows. Clips scored below {low} were mostly genuine recordings.{unseen}")
    if facts is not None and facts.at_floor(p_synthetic):
        return floor_sentence(p_synthetic, facts)
    if facts is not None and not facts.can_clear:
        lowest = band_text([facts.lowest], facts.genuine_below, facts.synthetic_above).values[0]
        return (f"The model gives {percent}: below {high} it cannot tell reliably (its lowest score is {lowest}). "
                "Treat the clip as unverified. " + steps)
    return (f"The model gives {percent}: from {low} up to {high} it cannot tell reliably. "
            f"Treat the clip as unverified. " + steps)


def synthetic_spans(windows: Sequence[WindowScore], synthetic_above: float) -> list[tuple[float, float]]:
    """The stretches of the clip whose windows score likely synthetic, merged, in seconds.

    Overlapping or touching windows at or above ``synthetic_above`` join into one
    span, so a spliced clip reads "seconds 7.0-11.2 score likely synthetic".
    """
    spans: list[tuple[float, float]] = []
    for window in sorted(windows, key=lambda w: w.start_s):
        if window.p_synthetic < synthetic_above:
            continue
        if spans and window.start_s <= spans[-1][1] + 1e-6:
            spans[-1] = (spans[-1][0], max(spans[-1][1], window.end_s))
        else:
            spans.append((window.start_s, window.end_s))
    return spans


def is_spliced(windows: Sequence[WindowScore], facts: ModelFacts) -> bool:
    """Whether the clip has both a likely-synthetic stretch and a stretch scoring as genuine as the model gets.

    A wholly synthetic clip is not spliced; neither is one whose other windows are merely *uncertain*, nor
    one with a single genuine-looking window (a pause between synthetic phrases): the genuine stretch needs
    :data:`MIN_GENUINE_WINDOWS` consecutive windows.
    """
    ordered = sorted(windows, key=lambda w: w.start_s)
    if not any(w.p_synthetic >= facts.synthetic_above for w in ordered):
        return False
    run = 0
    for window in ordered:
        run = run + 1 if facts.scores_like_genuine(window.p_synthetic) else 0
        if run >= min(MIN_GENUINE_WINDOWS, len(ordered) - 1):
            return True
    return False


def spans_sentence(spans: Sequence[tuple[float, float]], limit: int = MAX_LISTED_SPANS) -> str:
    """``"Seconds 7.0–11.2 and 20.0–24.0 score likely synthetic."`` (empty when there are none).

    More than ``limit`` stretches are summarised: how many, their total length, the first and the last.
    """
    if not spans:
        return ""
    parts = [f"{start:.1f}–{end:.1f}" for start, end in spans]
    if len(spans) > limit:
        total = sum(end - start for start, end in spans)
        return (f"{len(spans)} stretches, {total:.1f} s in all, score likely synthetic: the first at seconds "
                f"{parts[0]}, the last at seconds {parts[-1]}.")
    joined = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"Seconds {joined} score likely synthetic."


def stretches_sentence(spans: Sequence[tuple[float, float]], spliced: bool, verdict: str) -> str:
    """The sentence on likely-synthetic stretches for the card, the report and Batch ("" when it adds nothing).

    A spliced clip (:func:`is_spliced`) is named as such; a clip that is *likely synthetic* as a whole
    and has no stretch that scores as genuine gets no stretch sentence: its verdict says it all.
    """
    if spliced and spans:
        listed = spans_sentence(spans)
        return f"Possibly spliced: {listed[0].lower()}{listed[1:-1]}, while other seconds score as genuine as this model gets."
    if spans and verdict != "likely_synthetic":
        return spans_sentence(spans)
    return ""

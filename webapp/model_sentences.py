"""A version's facts as the sentences the pages show: what it is good and bad at, in words and numbers.

The facts themselves are :mod:`detector.model_facts` (built on the typed report); this
module only words them. The sidebar, the report, the model-card page and Admin read
them through here, so the same figures are quoted everywhere, each with what it was
measured on, and no band the model cannot reach is promised.
"""

from __future__ import annotations

import re
from typing import Any

from detector.bands import band_text
from detector.channel import CHANNEL_WORDS
from detector.model_facts import ModelFacts, facts_of
from detector.registry import ModelVersion

GOOD_EER = 0.10   # a family the model misjudges at most this often counts as "good at"
WEAK_EER = 0.15   # ... at least this often as "weak at"
RARE_BAND = 0.01  # a verdict band holding fewer test clips than this is "rarely" given
FAMILY_WORDS = {"formant": "formant synthesisers (espeak)", "parametric": "parametric TTS",
                "diphone": "diphone TTS", "neural": "neural TTS",
                "vocoder": "classic vocoder copies of real voices (WORLD, LPC...)",
                "neural_vocoder": "neural-vocoder copies of real voices (HiFi-GAN, LPCNet)",
                "articulatory": "articulatory synthesis (gnuspeech)"}
DEFAULT_LIMITS = ("A verdict is evidence, not proof. The model only knows the kinds of synthetic speech it was "
                  "trained on; new voice-cloning systems can fool it, and unusual recordings can be misjudged.")
RATE_KEYS = {"test_eer": "test_eer", "heldout_mean_eer": "heldout_eer", "synthetic_called_genuine": "test_missed",
             "genuine_called_synthetic": "test_false_alarms", "likely_genuine_share": "likely_genuine_share"}


def error_rates(version: ModelVersion) -> dict[str, Any]:
    """Error rates of ``version`` (missing or meaningless figures are ``None``), for the exported report.

    Returns
    -------
    dict
        ``test_eer``, ``validation_eer``, ``heldout_mean_eer`` (mean EER of the held-out
        folds: generators and recording sources never heard), ``synthetic_called_genuine``
        and ``genuine_called_synthetic`` (share of each class of test clips called confidently
        the other), ``genuine_band_error`` and ``synthetic_band_error`` (share of the test clips
        in the likely-genuine / likely-synthetic band that belong to the other class),
        ``likely_genuine_share``, ``by_family`` (test EER per synthetic family) and
        ``measured_on`` (what each rate was measured on). Rates of a band the model cannot
        reach are ``None``: it never says *likely genuine*, so no rate of it exists.
    """
    facts = facts_of(version)
    report = version.report
    bands = report.test.bands if report.test else None
    rates: dict[str, Any] = {key: getattr(facts, name).value for key, name in RATE_KEYS.items()}
    rates["genuine_band_error"] = bands.likely_genuine.error if bands and facts.can_clear else None
    rates["synthetic_band_error"] = bands.likely_synthetic.error if bands else None
    rates["validation_eer"] = report.validation.eer if report.validation else None
    rates["by_family"] = dict(facts.family_eer)
    rates["measured_on"] = {key: getattr(facts, name).measured_on for key, name in RATE_KEYS.items()}
    place = facts.test_eer.measured_on
    rates["measured_on"].update(validation_eer="validation split", by_family=place, genuine_band_error=place,
                                synthetic_band_error=place)
    return rates


def _percent_range(values: list[float]) -> str:
    low, high = round(min(values) * 100), round(max(values) * 100)
    return f"{low} %" if low == high else f"{low}–{high} %"


def reach_sentence(facts: ModelFacts) -> str:
    """What the model can say at all: whether it can clear a clip, with its lowest score."""
    if facts.can_clear:
        share = facts.likely_genuine_share.value
        if share is not None and share < RARE_BAND:
            return (f"It rarely says *likely genuine* ({share * 100:.1f} % of clips, "
                    f"{facts.likely_genuine_share.measured_on}).")
        return ""
    text = band_text([facts.lowest], facts.genuine_below, facts.synthetic_above)
    return (f"It can flag a fake but cannot clear a clip: its lowest score is {text.values[0]}, above the "
            f"{text.genuine_below} a *likely genuine* verdict needs, so a genuine voice reads *uncertain* at best.")


def plain_summary(version: ModelVersion) -> str:
    """One paragraph on what the model can say and what it is good and bad at, every rate with its measurement."""
    facts = facts_of(version)
    families = facts.family_eer
    good = {f: e for f, e in families.items() if e <= GOOD_EER}
    weak = {f: e for f, e in families.items() if e >= WEAK_EER}
    parts = []
    where = facts.test_eer.measured_on
    if good:
        names = ", ".join(FAMILY_WORDS.get(f, f) for f in sorted(good, key=good.get))
        parts.append(f"Usually right about {names} ({_percent_range(list(good.values()))} errors, {where})")
    weak_words = [f"{FAMILY_WORDS.get(f, f)} ({e * 100:.0f} % errors on test)"
                  for f, e in sorted(weak.items(), key=lambda i: i[1])]
    if facts.heldout_eer.value is not None:
        weak_words.append(f"synthesisers and recording sources it never heard "
                          f"(about {facts.heldout_eer.value * 100:.0f} % errors, {facts.heldout_eer.measured_on})")
    if weak_words:   # "A, B and C": each item carries its own figure in brackets
        listed = ", ".join(weak_words[:-1]) + " and " + weak_words[-1] if len(weak_words) > 1 else weak_words[0]
        parts.append("often fooled by " + listed)
    if not parts:
        if facts.test_eer.value is None:
            return "This model has no recorded test results: treat its verdicts with extra care."
        sentence = f"On unseen test clips this model is wrong {facts.test_eer.value * 100:.0f} % of the time ({where})."
    else:
        sentence = "; ".join(parts)
        sentence = sentence[0].upper() + sentence[1:] + "."
    reach = reach_sentence(facts)
    if reach and not facts.can_clear:   # what a person with a genuine recording most needs to know comes first
        return f"{reach} {sentence} {channel_sentence(version)}"
    return " ".join(part for part in (sentence, reach, channel_sentence(version)) if part)


def channel_sentence(version: ModelVersion) -> str:
    """On which kinds of audio (measured channel classes) the version earned each confident verdict.

    Read from the typed report's per-class bands (:mod:`train.channel_bands`); a version
    without them says that its bands were not earned per kind of audio.
    """
    heldout = version.report.heldout
    by_channel = heldout.bands.by_channel if heldout is not None and heldout.bands is not None else {}
    if not by_channel:
        return ("Its bands were set on all its test audio together, not earned for each kind of audio, so it never "
                "says *likely genuine* on telephone-quality or heavily compressed audio.")
    cleared = [CHANNEL_WORDS.get(c, c) for c, band in by_channel.items() if band.genuine_below is not None]
    flagged = [CHANNEL_WORDS.get(c, c) for c, band in by_channel.items() if band.synthetic_above is not None]
    clear = (f"It says *likely genuine* only on {_listed(cleared)}" if cleared else
             "No kind of audio earned a *likely genuine* verdict from it: on synthesisers and voices it never heard, "
             "more than 2 % of fakes scored below any edge it could set")
    flag = (f"*likely synthetic* only on {_listed(flagged)}" if flagged else
            "no kind earned *likely synthetic* (more than 2 % of never-heard genuine voices scored above any edge)")
    return f"{clear}; {flag}. It gives a score on the bar, not a verdict, elsewhere (held-out folds)."


def _listed(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def test_eer_caption(version: ModelVersion) -> str:
    """``"Test equal error rate 23.11 % (test split, corpus v2, 1091 clips)"``."""
    rate = facts_of(version).test_eer
    if rate.value is None:
        return "Test equal error rate not measured"
    return f"Test equal error rate {rate.value:.2%} ({rate.measured_on})"


def known_limits(card: str) -> str | None:
    """The body of the card's section whose heading mentions limits (or ``None``)."""
    lines = card.splitlines()
    for index, line in enumerate(lines):
        match = re.match(r"^(#{1,6})\s+(.*)$", line)
        if match and re.search(r"limit|caveat|not trained", match.group(2), re.IGNORECASE):
            level = len(match.group(1))
            body = []
            for following in lines[index + 1:]:
                heading = re.match(r"^(#{1,6})\s", following)
                if heading and len(heading.group(1)) <= level:
                    break
                body.append(following)
            text = "\n".join(body).strip()
            return text or None
    return None


def _trained_on(version: ModelVersion, column: str, genuine: bool) -> str:
    groups = version.report.breakdown.get(column, {})
    names = sorted(name for name, g in groups.items() if (g.n_genuine if genuine else g.n_synthetic))
    return ", ".join(FAMILY_WORDS.get(name, name) if column == "family" else name for name in names)


def limits_text(version: ModelVersion) -> str:
    """What this model cannot tell you: its card's limits section, or a general caveat.

    The section is shown on its own (an expander, the report), so its "listed above" and
    "the figure above" are replaced by what they point at in the card.
    """
    text = known_limits(version.card) or DEFAULT_LIMITS
    families, sources = _trained_on(version, "family", False), _trained_on(version, "source", True)
    if families:
        text = text.replace("the synthetic families listed above", f"the synthetic families it was trained on "
                                                                  f"({families})")
    if sources:
        text = text.replace("the sources listed above", f"the sources it was trained on ({sources})")
    heldout = facts_of(version).heldout_eer
    if heldout.value is not None:
        text = re.sub(r"the (held-out|leave-one-family-out) figure (above )?shows",
                      f"its held-out error rate, {heldout.text()}, shows", text)
    return text

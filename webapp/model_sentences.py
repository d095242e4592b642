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
from detector.model_facts import MeasuredRate, ModelFacts, facts_of
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
RATE_KEYS = {"test_eer": "test_eer", "synthetic_called_genuine": "test_missed",
             "genuine_called_synthetic": "test_false_alarms", "likely_genuine_share": "likely_genuine_share"}
# What each kind of rate was measured on, in words a reader can quote without misleading: the held-out
# figure is the one for a voice from a system the model never heard (the usual case for a new fake);
# the test split holds clips it never saw but of the kinds it trained on, so its figures are lower.
HELDOUT_PLACE = "synthesisers and recording sources it never heard"
TEST_PLACE = "test clips of the kinds it trained on"
RATE_HELP = ("An error rate here is the equal error rate: the share of clips misjudged when mistakes both ways are "
             "equally common. Lower is better. *Never heard*: each kind of synthesiser and each recording source "
             "was left out of training in turn, then tested; this is the figure to quote for a voice from a new "
             "system. *Test clips*: clips it never saw, but of kinds it trained on, so the figure is lower.")


def error_rates(version: ModelVersion) -> dict[str, Any]:
    """Error rates of ``version`` (missing or meaningless figures are ``None``), for the exported report.

    Returns
    -------
    dict
        The headline first: ``heldout_mean_eer`` (mean EER of the held-out folds: generators
        and recording sources never heard, the figure to quote), then the worst held-out
        fold's confident errors ``heldout_synthetic_called_genuine`` and
        ``heldout_genuine_called_synthetic``; then the test split's (clips never seen, of the
        kinds trained on): ``test_eer``, ``validation_eer``, ``synthetic_called_genuine`` and
        ``genuine_called_synthetic`` (share of each class of test clips called confidently
        the other), ``genuine_band_error`` and ``synthetic_band_error`` (share of the test clips
        in the likely-genuine / likely-synthetic band that belong to the other class),
        ``likely_genuine_share``, ``by_family`` (test EER per synthetic family) and
        ``measured_on`` (what each rate was measured on, in words). Rates of a band the model
        cannot reach are ``None``: it never says *likely genuine*, so no rate of it exists.
    """
    facts = facts_of(version)
    report = version.report
    bands = report.test.bands if report.test else None
    missed, alarms = heldout_confident(version)
    rates: dict[str, Any] = {"heldout_mean_eer": facts.heldout_eer.value,
                             "heldout_synthetic_called_genuine": missed.value,
                             "heldout_genuine_called_synthetic": alarms.value}
    rates.update({key: getattr(facts, name).value for key, name in RATE_KEYS.items() if key not in rates})
    rates["genuine_band_error"] = bands.likely_genuine.error if bands and facts.can_clear else None
    rates["synthetic_band_error"] = bands.likely_synthetic.error if bands else None
    rates["validation_eer"] = report.validation.eer if report.validation else None
    rates["by_family"] = dict(facts.family_eer)
    place = on_test_clips(facts.test_eer)
    rates["measured_on"] = {key: on_test_clips(getattr(facts, name)) for key, name in RATE_KEYS.items()}
    rates["measured_on"].update(heldout_mean_eer=on_never_heard(facts.heldout_eer),
                                heldout_synthetic_called_genuine=missed.measured_on,
                                heldout_genuine_called_synthetic=alarms.measured_on,
                                validation_eer="validation split (clips used to tune the model, not to test it)",
                                by_family=place, genuine_band_error=place, synthetic_band_error=place)
    return rates


def on_test_clips(rate: MeasuredRate) -> str:
    """What a test-split rate was measured on, in words: ``"test clips of the kinds it trained on: test split, …"``."""
    return f"{TEST_PLACE}: {rate.measured_on}" if rate.measured_on else TEST_PLACE


def on_never_heard(rate: MeasuredRate) -> str:
    """What a held-out rate was measured on, in words."""
    return f"{HELDOUT_PLACE}: {rate.measured_on}" if rate.measured_on else HELDOUT_PLACE


def heldout_confident(version: ModelVersion) -> tuple[MeasuredRate, MeasuredRate]:
    """The worst held-out fold's confident errors: (synthetic called *likely genuine*, genuine called *likely synthetic*).

    The first is the largest share over the synthesiser folds (one family or generator never
    heard), the second over the recording-source folds. Measured at this version's own bands
    where the report has them (``at_shipped_bands``), else at each fold model's own bands. A
    model that never says *likely genuine* gets no rate of it (``None``), whatever a fold did.
    """
    heldout, calibration = version.report.heldout, version.calibration
    if heldout is None or not heldout.folds:
        return MeasuredRate(None, HELDOUT_PLACE), MeasuredRate(None, HELDOUT_PLACE)
    edges = heldout.rates_measured_at
    shipped = edges is not None and max(abs(edges.genuine_below - calibration.genuine_below),
                                        abs(edges.synthetic_above - calibration.synthetic_above)) < 1e-9
    where = ("held-out folds at this model's own verdict bands" if shipped else
             "held-out folds, each fold model at the bands set on its own validation clips")
    def largest(key: str, sources: bool) -> float | None:
        values = [getattr(rates, key) for name, fold in heldout.folds.items()
                  if (name.split(":", 1)[0] == "source") == sources
                  and (rates := fold.at_shipped_bands if shipped else fold.own_bands) is not None]
        return max(values) if values else None

    missed = largest("synthetic_called_genuine", False) if facts_of(version).can_clear else None
    return (MeasuredRate(missed, f"the never-heard synthesiser it missed most, {where}"),
            MeasuredRate(largest("genuine_called_synthetic", True),
                         f"the never-heard recording source it misjudged most, {where}"))


def headline_caption(version: ModelVersion) -> str:
    """The sidebar's rates, the held-out one first, each with what it was measured on in words."""
    facts = facts_of(version)
    test = (f"{facts.test_eer.value * 100:.2f} % on {TEST_PLACE} ({facts.test_eer.measured_on})"
            if facts.test_eer.value is not None else "not measured on test clips")
    if facts.heldout_eer.value is None:
        return f"Error rate {test}; not measured on {HELDOUT_PLACE}"
    return (f"Error rate {facts.heldout_eer.value * 100:.2f} % on {HELDOUT_PLACE} ({facts.heldout_eer.measured_on}); "
            f"{test}")


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
    """One paragraph on what the model can say and what it is good and bad at, every rate with its measurement.

    The held-out rate (synthesisers and recording sources it never heard) comes first: it is the one to
    quote for a voice from a new system. The test split's rates follow, said to be of the kinds it trained on.
    """
    facts = facts_of(version)
    families = facts.family_eer
    good = {f: e for f, e in families.items() if e <= GOOD_EER}
    weak = {f: e for f, e in families.items() if e >= WEAK_EER}
    where = facts.test_eer.measured_on
    heldout = facts.heldout_eer
    if heldout.value is not None:
        lead = (f"On {HELDOUT_PLACE} it is wrong about {heldout.value * 100:.0f} % of the time "
                f"({heldout.measured_on}): the figure to quote for a voice made by a new system.")
    else:
        lead = f"It was not measured on {HELDOUT_PLACE}, where it will do worse than on its test clips."
    parts = []
    if good:
        names = ", ".join(FAMILY_WORDS.get(f, f) for f in sorted(good, key=good.get))
        parts.append(f"usually right about {names} ({_percent_range(list(good.values()))} errors, {where})")
    weak_words = [f"{FAMILY_WORDS.get(f, f)} ({e * 100:.0f} % errors on test clips)"
                  for f, e in sorted(weak.items(), key=lambda i: i[1])]
    if weak_words:
        parts.append("often fooled by " + _listed(weak_words))
    if parts:
        sentence = f"On {TEST_PLACE} it is " + " but ".join(parts) + "."
    elif facts.test_eer.value is not None:
        sentence = f"On {TEST_PLACE} it is wrong {facts.test_eer.value * 100:.0f} % of the time ({where})."
    else:
        return "This model has no recorded test results: treat its verdicts with extra care."
    reach = reach_sentence(facts)
    if reach and not facts.can_clear:   # what a person with a genuine recording most needs to know comes first
        return f"{reach} {lead} {sentence} {channel_sentence(version)}"
    return " ".join(part for part in (lead, sentence, reach, channel_sentence(version)) if part)


def channel_sentence(version: ModelVersion) -> str:
    """On which kinds of audio (measured channel classes) the version earned each confident verdict.

    Read from the typed report's per-class bands (:mod:`train.channel_bands`); a version
    without them says that its bands were not earned per kind of audio.
    """
    heldout = version.report.heldout
    by_channel = heldout.bands.by_channel if heldout is not None and heldout.bands is not None else {}
    if not by_channel:
        return ("Its bands were set for all kinds of audio together, not earned for each kind of audio, so it never "
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


def trained_on(version: ModelVersion) -> dict[str, list[str]]:
    """The genuine recording sources and synthetic families the version was trained on.

    Read from its card's *Data* section (``sources: a, b.`` and ``families: a, b;``), the list the
    Model card page shows, so the Detect page's limits and the card name the same ones. A card
    without the section falls back to the groups of the report's test breakdown.
    """
    found: dict[str, list[str]] = {}
    for key, pattern in (("sources", r"^- Genuine speech:.*?\bsources: ([^\n]+?)\.\s*$"),
                         ("families", r"^- Synthetic speech:.*?\bfamilies: ([^;\n]+?)[;.]")):
        match = re.search(pattern, version.card, re.MULTILINE)
        if match:
            found[key] = [name.strip() for name in match.group(1).split(",") if name.strip()]
    for key, column, genuine in (("sources", "source", True), ("families", "family", False)):
        if key not in found:
            groups = version.report.breakdown.get(column, {})
            found[key] = sorted(name for name, g in groups.items() if (g.n_genuine if genuine else g.n_synthetic))
    return found


# The card's "Weakest on test" line (train.card.weakest_lines) in words: "condition amr-nb (17.86 % EER)"
# becomes "mobile-phone audio (AMR-NB codec) (18 % errors on test clips)".
CONDITION_WORDS = {"amr-nb": "mobile-phone audio (AMR-NB codec)", "telephone": "telephone-line audio",
                   "mp3": "MP3-compressed audio", "opus": "Opus-compressed audio (as in voice messages)",
                   "noise": "audio with background noise", "clean": "clean recordings"}
WEAKEST = re.compile(r"^- Weakest on test: (.+)\.\s*$", re.MULTILINE)
WEAK_GROUP = re.compile(r"^(\w+) (.+) \((\d+(?:\.\d+)?) % EER\)$")


def _group_words(column: str, name: str) -> str:
    if column == "family":
        return FAMILY_WORDS.get(name, name)
    if column == "condition":
        return CONDITION_WORDS.get(name, f"audio recorded as {name}")
    if column == "source":
        return f"clips from the {name} collection"
    return f"{column} {name}"


def plain_weakest(line: str) -> str | None:
    """``"- Weakest on test: source klettres (22.58 % EER); …"`` in words, or ``None`` when it does not parse."""
    match = WEAKEST.match(line.strip())
    if not match:
        return None
    items = []
    for group in match.group(1).split("; "):
        parts = WEAK_GROUP.match(group.strip())
        if not parts:
            return None
        items.append(f"{_group_words(parts.group(1), parts.group(2))} "
                     f"({float(parts.group(3)):.0f} % errors on test clips)")
    return f"- Of the kinds of audio it trained on, it misjudges these most often: {_listed(items)}."


def weakest_line(card: str) -> str | None:
    """The card's own "Weakest on test" line, as written (for a *Technical details* expander)."""
    match = WEAKEST.search(card)
    return match.group(0).strip() if match else None


def limits_text(version: ModelVersion) -> str:
    """What this model cannot tell you, in plain words: its card's limits section, or a general caveat.

    The section is shown on its own (an expander, the report), so its "listed above" and
    "the figure above" are replaced by what they point at in the card (the sources and
    families of its *Data* section, :func:`trained_on`), and its "Weakest on test" line,
    written for engineers, is put in words (the line itself: :func:`weakest_line`).
    """
    text = known_limits(version.card) or DEFAULT_LIMITS
    data = trained_on(version)
    families = ", ".join(FAMILY_WORDS.get(name, name) for name in data["families"])
    sources = ", ".join(data["sources"])
    if families:
        text = text.replace("the synthetic families listed above", f"the synthetic families it was trained on "
                                                                  f"({families})")
    if sources:
        text = text.replace("the sources listed above", f"the {len(data['sources'])} sources it was trained on "
                                                        f"({sources})")
    heldout = facts_of(version).heldout_eer
    if heldout.value is not None:
        text = re.sub(r"the (held-out|leave-one-family-out) figure (above )?shows",
                      f"its error rate on {HELDOUT_PLACE}, {heldout.text()}, shows", text)
    raw = weakest_line(text)
    words = plain_weakest(raw) if raw else None
    if raw and words:
        text = text.replace(raw, words)
    return text

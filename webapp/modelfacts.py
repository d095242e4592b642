"""What a model version is good and bad at, in plain words and in numbers.

The sidebar, the report and the model-card page read the version's own report
(:mod:`detector.model_report`: test and held-out results) and ``card.md`` through
here, so the same figures are quoted everywhere.
"""

from __future__ import annotations

import re
from typing import Any

from detector.registry import ModelVersion

GOOD_EER = 0.10   # a family the model misjudges at most this often counts as "good at"
WEAK_EER = 0.15   # ... at least this often as "weak at"
RARE_BAND = 0.01  # a verdict band holding fewer test clips than this is "almost never" given
FAMILY_WORDS = {"formant": "formant synthesisers (espeak)", "parametric": "parametric TTS",
                "diphone": "diphone TTS", "neural": "neural TTS",
                "vocoder": "classic vocoder copies of real voices (WORLD, LPC...)",
                "neural_vocoder": "neural-vocoder copies of real voices (HiFi-GAN, LPCNet)",
                "articulatory": "articulatory synthesis (gnuspeech)"}
DEFAULT_LIMITS = ("A verdict is evidence, not proof. The model only knows the kinds of synthetic speech it was "
                  "trained on; new voice-cloning systems can fool it, and unusual recordings can be misjudged.")


def error_rates(version: ModelVersion) -> dict[str, Any]:
    """Held-out error rates of ``version`` (missing figures are ``None``), for the sidebar and the exported report.

    Returns
    -------
    dict
        ``test_eer``, ``validation_eer``, ``heldout_mean_eer`` (mean EER of the held-out
        family and source folds: generators and recording sources never heard),
        ``genuine_band_error`` and ``synthetic_band_error`` (share of test clips in the
        likely-genuine / likely-synthetic band that belong to the other class),
        ``likely_genuine_share`` (share of test clips called likely genuine) and
        ``by_family`` (test EER per synthetic family).
    """
    report = version.report
    test, bands = report.test, report.test.bands if report.test else None
    return {
        "test_eer": test.eer if test else None,
        "validation_eer": report.validation.eer if report.validation else None,
        "heldout_mean_eer": report.heldout.mean_eer if report.heldout else None,
        "genuine_band_error": bands.likely_genuine.error if bands else None,
        "synthetic_band_error": bands.likely_synthetic.error if bands else None,
        "likely_genuine_share": bands.likely_genuine.share if bands else None,
        "by_family": {name: row.eer for name, row in report.breakdown.get("family", {}).items()
                      if row.eer is not None},
    }


def _percent_range(values: list[float]) -> str:
    low, high = round(min(values) * 100), round(max(values) * 100)
    return f"{low} %" if low == high else f"{low}–{high} %"


def plain_summary(version: ModelVersion) -> str:
    """One sentence on what the model is good and bad at, from its held-out results."""
    rates = error_rates(version)
    families = rates["by_family"]
    good = {f: e for f, e in families.items() if e <= GOOD_EER}
    weak = {f: e for f, e in families.items() if e >= WEAK_EER}
    parts = []
    if good:
        names = ", ".join(FAMILY_WORDS.get(f, f) for f in sorted(good, key=good.get))
        parts.append(f"Usually right about {names} ({_percent_range(list(good.values()))} errors on unseen test clips)")
    weak_words = [f"{FAMILY_WORDS.get(f, f)} ({e * 100:.0f} % errors)" for f, e in sorted(weak.items(), key=lambda i: i[1])]
    if rates["heldout_mean_eer"] is not None:
        weak_words.append(f"synthesisers and recording sources it never heard "
                          f"(about {rates['heldout_mean_eer'] * 100:.0f} % errors)")
    if weak_words:
        parts.append("often fooled by " + " and ".join(weak_words))
    if not parts:
        if rates["test_eer"] is None:
            return "This model has no recorded test results: treat its verdicts with extra care."
        return f"On unseen test clips this model is wrong {rates['test_eer'] * 100:.0f} % of the time."
    sentence = "; ".join(parts)
    sentence = sentence[0].upper() + sentence[1:] + "."
    if rates["likely_genuine_share"] is not None and rates["likely_genuine_share"] < RARE_BAND:
        sentence += (" It almost never says *likely genuine*: fakes from synthesisers it never heard can score "
                     "as genuine as real speech, so it cannot clear a clip.")
    return sentence


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


def limits_text(version: ModelVersion) -> str:
    """What this model cannot tell you: its card's limits section, or a general caveat."""
    return known_limits(version.card) or DEFAULT_LIMITS

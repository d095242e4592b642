"""What a model version is good and bad at, in plain words and in numbers.

The sidebar, the report and the model-card page read the version's own
``metrics.json`` (held-out test results) and ``card.md`` through here, so the
same figures are quoted everywhere.
"""

from __future__ import annotations

import re
from typing import Any

from detector.registry import ModelVersion

GOOD_EER = 0.10   # a family the model misjudges at most this often counts as "good at"
WEAK_EER = 0.15   # ... at least this often as "weak at"
RARE_BAND = 0.01  # a verdict band holding fewer test clips than this is "almost never" given
FAMILY_WORDS = {"formant": "formant synthesisers (espeak)", "parametric": "parametric TTS",
                "diphone": "diphone TTS", "neural": "neural TTS", "vocoder": "vocoder copies of real voices",
                "neural_vocoder": "neural-vocoder copies of real voices (HiFi-GAN, LPCNet)",
                "articulatory": "articulatory synthesis (gnuspeech)"}
DEFAULT_LIMITS = ("A verdict is evidence, not proof. The model only knows the kinds of synthetic speech it was "
                  "trained on; new voice-cloning systems can fool it, and unusual recordings can be misjudged.")


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def error_rates(version: ModelVersion) -> dict[str, Any]:
    """Held-out error rates of ``version`` (missing figures are ``None``).

    Returns
    -------
    dict
        ``test_eer``, ``validation_eer``, ``unseen_family_eer`` (leave-one-family-out mean),
        ``genuine_band_error`` and ``synthetic_band_error`` (share of test clips in the
        likely-genuine / likely-synthetic band that belong to the other class),
        ``likely_genuine_share`` (share of test clips called likely genuine) and
        ``by_family`` (test EER per synthetic family).
    """
    metrics = version.metrics or {}
    test = metrics.get("test") if isinstance(metrics.get("test"), dict) else {}
    bands = test.get("bands") if isinstance(test.get("bands"), dict) else {}
    families = (metrics.get("breakdown") or {}).get("family") or {}
    return {
        "test_eer": _number(test.get("eer")),
        "validation_eer": _number((metrics.get("validation") or {}).get("eer")),
        "unseen_family_eer": _number((metrics.get("lofo") or {}).get("mean_eer")),
        "genuine_band_error": _number((bands.get("likely_genuine") or {}).get("error")),
        "synthetic_band_error": _number((bands.get("likely_synthetic") or {}).get("error")),
        "likely_genuine_share": _number((bands.get("likely_genuine") or {}).get("share")),
        "by_family": {name: _number(row.get("eer")) for name, row in families.items()
                      if isinstance(row, dict) and _number(row.get("eer")) is not None},
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
    if rates["unseen_family_eer"] is not None:
        weak_words.append(f"synthesisers and recording sources it never heard "
                          f"(about {rates['unseen_family_eer'] * 100:.0f} % errors)")
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

"""What the Learn page says about the served model's score of each version: right, missed or wrong, in words.

Each example version's truth is known (a genuine recording, or a fake made from it or from its words),
so the page can say plainly where the model is right and where it is not. A probability is written as
the Detect card writes the same clip (:func:`webapp.batch_table.row_text`: ``detector.bands.clip_text``
with the clip's own edges), so one clip reads the same on every page. No Streamlit here.
"""

from __future__ import annotations

import pandas as pd

from webapp.batch import BatchRow
from webapp.batch_table import row_text
from webapp.learn_captions import version_name
from webapp.model_sentences import FAMILY_WORDS

GENUINE, OWN = "genuine", "original"   # the example's recording; the visitor's own clip (truth unknown)
FAMILY_OF = {"world": "vocoder", "griffin_lim": "vocoder", "espeak": "formant", "flite": "diphone"}
SAME_SCORE = 0.05   # a missed copy within this much of its original's score "scores like the recording"
RIGHT = {GENUINE: "Likely genuine"}
WRONG = {GENUINE: "Likely synthetic"}


def outcome(kind: str, verdict: str | None) -> str | None:
    """``"right"``, ``"not cleared"``, ``"missed"`` or ``"wrong"``; ``None`` for the visitor's clip or no verdict."""
    if kind == OWN or verdict is None:
        return None
    if verdict == RIGHT.get(kind, "Likely synthetic"):
        return "right"
    if verdict == WRONG.get(kind, "Likely genuine"):
        return "wrong"
    return "not cleared" if kind == GENUINE else "missed"


def _family(kind: str, facts) -> str:
    family = FAMILY_OF.get(kind)
    eer = getattr(facts, "family_eer", {}).get(family) if family else None
    if eer is None:
        return ""
    return f" Its error rate on {FAMILY_WORDS.get(family, family)} among its test clips: {eer * 100:.0f} %."


def score_comment(kind: str, p: float | None, original: float | None, facts) -> str | None:
    """Why a score reads as it does, from the scores shown (``None``: nothing to add).

    A copy that scores like its genuine original is named as such, with the reason: this model does not
    catch that kind of copy; a genuine clip at a floor the model cannot clear gets the floor's meaning.
    """
    if p is None or facts is None:
        return None
    if kind in (GENUINE, OWN):
        return ("The lowest score this model gives: nothing in it looked synthetic, but the model cannot clear a "
                "clip." if facts.at_floor(p) else None)
    if original is not None and abs(p - original) <= SAME_SCORE and p < facts.synthetic_above:
        return ("Scores like the genuine recording it was made from: this model does not catch this kind of "
                "copy, so its score cannot tell it from the real voice.")
    if facts.at_floor(p):
        return "Nothing in it looked synthetic to this model: a fake it misses."
    return None


def _genuine_words(result: str, facts) -> str:
    if result == "right":
        return "Right: cleared, as a real voice should be."
    if result == "wrong":
        return "Wrong: a real voice called *likely synthetic* (a false alarm)."
    share = getattr(facts, "likely_genuine_share", None)
    rate = (f" (it called {share.value * 100:.1f} % of its test clips *likely genuine*)"
            if share and share.value is not None else "")
    return f"Not cleared: this model vouches for few real voices{rate}; *uncertain* is not a flag."


def _own_words(verdict: str | None) -> str:
    return {"Likely genuine": "Cleared.",
            "Uncertain": "Neither cleared nor flagged: the sound alone does not decide it for this model.",
            "Likely synthetic": "Flagged: if this is your own voice, a false alarm."}.get(verdict or "", "")


def version_note(kind: str, row: BatchRow, original: float | None, facts) -> str:
    """The Note cell: whether the model is right about this version and why it may not be, then any warning."""
    if row.error:
        return row.error
    result = outcome(kind, row.verdict)
    comment = score_comment(kind, row.p_synthetic, original, facts)
    if kind == OWN:
        note = comment or _own_words(row.verdict)
    elif kind == GENUINE:
        note = comment or _genuine_words(result, facts)
    elif result == "right":
        note = "Right: flagged."
    else:
        note = "Missed: not flagged." if result == "missed" else "Wrong: a fake called *likely genuine*."
        note += (f" {comment}" if comment else "") + _family(kind, facts)
    return " ".join(part for part in (note, row.warnings) if part)


def cell_text(text: str) -> str:
    """``text`` for a cell of ``st.table``, which reads cells as Markdown: a leading ">" ("> 99.9999 %") would
    start a quotation, so it is escaped and shows as written."""
    return "\\" + text if text.startswith(">") else text


def scores_table(rows: list[tuple[str, BatchRow]], detector, kinds: list[str] | None = None) -> pd.DataFrame:
    """Version, verdict, probability (as the Detect card writes that clip) and a note on each version."""
    kinds = kinds or [OWN] * len(rows)
    original = next((row.p_synthetic for kind, (_, row) in zip(kinds, rows) if kind in (GENUINE, OWN)), None)
    facts = getattr(detector, "facts", None)
    return pd.DataFrame([{"Version": label, "Verdict": row.verdict or "—",
                          "p(synthetic)": cell_text(row_text(row, detector).value) if row.p_synthetic is not None
                          else "—",
                          "Note": version_note(kind, row, original, facts)}
                         for kind, (label, row) in zip(kinds, rows)])


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def example_summary(items: list[tuple[str, str, BatchRow]], detector) -> str:
    """One paragraph on how the served model does on an example: which versions it gets right and which not."""
    judged = [(kind, label, row) for kind, label, row in items if outcome(kind, row.verdict) is not None]
    if not judged:
        return ""

    def named(label: str, row: BatchRow) -> str:
        return f"{version_name(label)} (*{row.verdict.lower()}*, {row_text(row, detector).value})"

    right = [(k, label, row) for k, label, row in judged if outcome(k, row.verdict) == "right"]
    count = "every version" if len(right) == len(judged) else f"{len(right)} of {len(judged)} versions"
    head = f"**Model {detector.name} gets {count} right here.**"
    sentences = []
    for verb, result in (("It flags", "right"), ("It clears", "right"), ("It does not clear", "not cleared"),
                         ("It misses", "missed"), ("It is wrong about", "wrong")):
        wanted = [named(label, row) for k, label, row in judged if outcome(k, row.verdict) == result
                  and (verb != "It flags" or k != GENUINE) and (verb != "It clears" or k == GENUINE)]
        if wanted:
            sentences.append(f"{verb} {_listed(wanted)}.")
    return " ".join([head, *sentences])

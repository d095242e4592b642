"""A shareable report of one analysis: a self-contained HTML file and the matching JSON.

One file per analysis that a journalist can attach to an e-mail or archive: the
file's hash, duration and format, the verdict and probability with the band edges,
the model version and its held-out error rates, the timeline and spectrogram
image, the warnings, the explanation of a stretch when the user asked for one, and
what the model cannot tell. The JSON carries the same fields. All times are seconds of the uploaded file. No PDF: no well-kept PDF
library is among the project's dependencies, and the HTML prints to PDF from any
browser (the page has print styles).
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass
from typing import Any

from detector.bands import band_text, clip_text
from detector.clip_edges import ClipEdges, clip_edges
from detector.model_facts import MeasuredRate, ModelFacts, facts_of
from detector.registry import ModelVersion
from detector.verdict import VERDICTS, cap_words, next_steps, stretches_sentence
from webapp.model_sentences import (
    HELDOUT_PLACE,
    TEST_PLACE,
    error_rates,
    heldout_confident,
    limits_text,
    plain_summary,
)
from webapp.scale import band_of

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
color:#1f2328;line-height:1.45}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:1.6rem;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse}td,th{padding:.2rem .8rem .2rem 0;text-align:left;vertical-align:top}
.verdict{font-size:1.4rem;font-weight:600}.likely_genuine{color:#1a7f37}.uncertain{color:#9a6700}
.likely_synthetic{color:#cf222e}.spans{font-weight:600;color:#cf222e}img{max-width:100%}
code{font-size:.9em;word-break:break-all}@media print{body{margin:0}h2{break-after:avoid}img{break-inside:avoid}}
"""

# What Explain does, in words a reporter would use (the page and the report); the scorer's method is in its own words.
EXPLAIN_WORDS = ("The detector hides small pieces of the sound picture (the spectrogram) one at a time and scores the "
                 "stretch again. Red marks pieces that made the voice sound more *synthetic*, blue pieces that made "
                 "it sound more *genuine*.")


@dataclass(frozen=True)
class Explanation:
    """One explained stretch of a clip: its seconds (of the file), its own score and the heatmap image."""

    start_s: float
    end_s: float
    p_synthetic: float   # the stretch scored on its own, as the heatmap scores it (detector.explain.region_score)
    png: bytes | None = None   # webapp.figures.occlusion_png of the stretch


def explained_sentence(explanation: Explanation, edges: ClipEdges) -> str:
    """The explained stretch's own score in words, beside the clip's (Markdown): the page's caption and the report's.

    The stretch is scored on its own, so it can differ from the same seconds in the timeline.
    """
    text = clip_text(explanation.p_synthetic, edges.genuine_below, edges.synthetic_above)
    band = VERDICTS[band_of(explanation.p_synthetic, edges.genuine_below, edges.synthetic_above)].lower()
    return (f"Explained: seconds {explanation.start_s:.1f}–{explanation.end_s:.1f}, which score {text.value} "
            f"(*{band}*) as the heatmap scores them; the whole clip scores {edges.text.value}.")


def report_dict(analysis, version: ModelVersion, explanation: Explanation | None = None) -> dict[str, Any]:
    """The analysis's JSON fields plus the band edges, the model's error rates and its limits.

    Parameters
    ----------
    analysis : detector.analysis.Analysis
        A finished analysis.
    version : ModelVersion
        The model version that produced it (its name must match).
    explanation : Explanation, optional
        The stretch the user explained on the Detect page, if any: its seconds and its own score.

    Raises
    ------
    ValueError
        When ``version`` is not the version that produced ``analysis``.
    """
    if version.name != analysis.model_version:
        raise ValueError(f"the analysis was made with {analysis.model_version!r}, not {version.name!r}")
    edges = clip_edges(analysis, version.calibration)
    data = analysis.to_dict()
    facts = facts_of(version)
    data["p_synthetic_text"] = edges.text.value   # as Detect, Batch and the CLI write it
    data["bands"] = {"genuine_below": _rounded(edges.genuine_below), "synthetic_above": _rounded(edges.synthetic_above),
                     "per_channel": bool(analysis.bands is not None and analysis.bands.per_channel),
                     "meaning": "p < genuine_below: likely genuine; p >= synthetic_above: likely synthetic; "
                                "in between: uncertain; an edge of null: this clip could not get that band",
                     "text": {"genuine_below": edges.text.genuine_below, "synthetic_above": edges.text.synthetic_above},
                     "missing": [sentence.replace("*", "") for sentence in edges.missing()],
                     "reachable": list(facts.reachable),
                     "lowest_score": _rounded(facts.floor),
                     "highest_score": _rounded(facts.ceiling)}
    data["times"] = "seconds of the uploaded file; offset_s is the silence trimmed before the analysed audio"
    data["model"] = {"version": version.name, "created": version.created, "summary": plain_summary(version),
                     "error_rates": error_rates(version)}
    data["limits"] = limits_text(version)
    data["stretches"] = stretches_sentence(analysis.synthetic_spans, analysis.spliced, analysis.verdict)
    if analysis.verdict == "uncertain":
        data["next_steps"] = next_steps(facts)
    if explanation is not None:
        data["explained"] = {   # not "explanation": that is the verdict's paragraph
            "start_s": round(explanation.start_s, 3), "end_s": round(explanation.end_s, 3),
            "p_synthetic": _rounded(explanation.p_synthetic),
            "p_synthetic_text": clip_text(explanation.p_synthetic, edges.genuine_below, edges.synthetic_above).value,
            "band": band_of(explanation.p_synthetic, edges.genuine_below, edges.synthetic_above),
            "sentence": explained_sentence(explanation, edges).replace("*", "")}
    return data


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _inline(text: str) -> str:
    """Escape, then render the little Markdown the texts use (``*em*``, ``**strong**``, backticks)."""
    text = html.escape(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    text = re.sub(r"\*(.+?)\*", r"<em>\1</em>", text)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


def _markdown_block(text: str) -> str:
    """Paragraphs and ``-`` bullet lists (the model card's limits section)."""
    out, items = [], []
    for line in text.splitlines() + [""]:
        stripped = line.strip()
        if stripped.startswith(("- ", "* ")):
            items.append(f"<li>{_inline(stripped[2:])}</li>")
            continue
        if items:
            out.append("<ul>" + "".join(items) + "</ul>")
            items = []
        if stripped:
            out.append(f"<p>{_inline(stripped)}</p>")
    return "\n".join(out)


def _rows(pairs: list[tuple[str, str | None]]) -> str:
    return "\n".join(f"<tr><th>{html.escape(k)}</th><td>{v}</td></tr>" for k, v in pairs if v is not None)


def bands_sentence(facts: ModelFacts, edges: ClipEdges | None = None) -> str:
    """The bands a clip can get, with the model's lowest score where it has one, as one sentence of HTML-safe text.

    With ``edges`` (:func:`detector.clip_edges.clip_edges`) they are that clip's, written as every front end
    writes them, and a band it could not get is named as missing; without, the model's.
    """
    if edges is None:
        text = band_text([facts.lowest, facts.highest], facts.genuine_below, facts.synthetic_above)
        genuine, synthetic, low = text.genuine_below, text.synthetic_above, text.values[0]
        missing: list[str] = []
    else:
        genuine, synthetic = edges.text.genuine_below, edges.text.synthetic_above
        low = clip_text(facts.lowest, edges.genuine_below, edges.synthetic_above).value
        missing = [sentence.replace("*", "") for sentence in edges.missing()]
    clears = facts.can_clear and genuine is not None
    lower = genuine if clears else low if facts.floor is not None else None
    uncertain = (f"from {lower} up to {synthetic} uncertain" if lower and synthetic else
                 f"below {synthetic} uncertain" if synthetic else f"from {lower} uncertain" if lower else "uncertain")
    words = {"likely_genuine": f"below {genuine} likely genuine" if clears else None, "uncertain": uncertain,
             "likely_synthetic": f"{synthetic} or more likely synthetic" if synthetic else None}
    sentence = "Bands: " + "; ".join(words[band] for band in facts.reachable if words[band]) + "."
    if not facts.can_clear and genuine is not None:
        sentence += (f" This model never scores below {low}, so it never says likely genuine (that would need "
                     f"less than {genuine}): it can flag a fake but cannot clear a clip.")
    return " ".join([sentence, *missing])


def _rate_rows(version: ModelVersion) -> list[tuple[str, str | None]]:
    """The model's rates, the held-out ones first, each saying in words what it was measured on.

    The held-out rates (synthesisers and recording sources the model never heard) are the ones to
    quote for a voice from a new system; the test split's are of the kinds it trained on, and lower.
    A band it cannot reach gets words, not a rate; a rate not measured is left out.
    """
    facts = facts_of(version)
    missed, alarms = heldout_confident(version)
    never = "none possible: this model never says likely genuine"

    def worst(rate: MeasuredRate) -> str | None:
        return None if rate.value is None else f"up to {rate.text(2)}"

    def measured(rate: MeasuredRate) -> str | None:
        return None if rate.value is None else rate.text(2)

    return [(f"Error rate on {HELDOUT_PLACE} (the figure to quote)", measured(facts.heldout_eer)),
            ("Never-heard synthetic voices called likely genuine", worst(missed) if facts.can_clear else never),
            ("Never-heard genuine voices called likely synthetic", worst(alarms)),
            (f"Error rate on {TEST_PLACE}", measured(facts.test_eer)),
            (f"Synthetic {TEST_PLACE} called likely genuine", measured(facts.test_missed) if facts.can_clear else never),
            (f"Genuine {TEST_PLACE} called likely synthetic", measured(facts.test_false_alarms))]


def _base64(png: bytes) -> str:
    return base64.b64encode(png).decode("ascii")


def _explanation_html(explanation: Explanation | None, edges: ClipEdges) -> str:
    """The explained stretch's section: what Explain does, the stretch's own score, the heatmap; empty without one."""
    if explanation is None:
        return ""
    image = (f'<img alt="What moved the score of seconds {explanation.start_s:.1f}–{explanation.end_s:.1f}: red '
             f'towards synthetic, blue towards genuine" src="data:image/png;base64,{_base64(explanation.png)}">'
             if explanation.png else "")
    return (f"<h2>Why: what moved the score of seconds {explanation.start_s:.1f}–{explanation.end_s:.1f}</h2>\n"
            f"<p>{_inline(EXPLAIN_WORDS)}</p>\n<p>{_inline(explained_sentence(explanation, edges))}</p>\n{image}")


def report_html(analysis, version: ModelVersion, overview_png: bytes | None = None,
                explanation: Explanation | None = None) -> str:
    """One self-contained HTML page for ``analysis`` (images embedded, no outside requests).

    ``overview_png`` is :func:`webapp.figures.overview_png` of the analysis (timeline,
    waveform, spectrogram); without it the report has no image. ``explanation`` is the
    stretch the user explained, if any: its sentence and heatmap get a section of their own.
    """
    data = report_dict(analysis, version, explanation)
    edges = clip_edges(analysis, version.calibration)
    model = facts_of(version)
    spans = data["stretches"]
    channels = {1: "mono", 2: "stereo"}.get(analysis.channels, f"{analysis.channels} channels")
    file_format = (f"{html.escape(analysis.container)} / {html.escape(analysis.codec)}, "
                   f"{analysis.original_sample_rate} Hz, {channels}"
                   + (f", {analysis.bit_rate / 1000:.0f} kbit/s" if analysis.bit_rate else ""))
    facts = _rows([
        ("File", html.escape(analysis.name)),
        ("SHA-256", f"<code>{analysis.sha256}</code>"),
        ("Duration", f"{analysis.file_duration_s:.2f} s" + (f" (only the first {analysis.duration_s:.1f} s were "
                                                             "analysed)" if analysis.truncated else "")),
        ("Format", file_format),
        ("Analysed", f"{analysis.analysed_s:.2f} s from {analysis.offset_s:.2f} s into the file "
                     f"(leading silence trimmed); {analysis.speech_s:.1f} s of voiced speech"),
        ("Analysed at", html.escape(analysis.created)),
    ])
    model_rows = _rows([
        ("Version", f"<code>{html.escape(version.name)}</code>"),
        ("In plain words", _inline(data["model"]["summary"])),
        *((name, html.escape(value) if value else None) for name, value in _rate_rows(version)),
    ])
    warnings = "".join(f"<li>{_inline(w.message)}</li>" for w in analysis.warnings) or "<li>None found.</li>"
    # The headline says when a verdict was capped and why, before any chart (issue 32).
    capped = f" (capped: {html.escape(cap_words(analysis.verdict_capped_by))})" if analysis.verdict_capped_by else ""
    image = (f'<img alt="Score per window, waveform and spectrogram on one time axis" '
             f'src="data:image/png;base64,{_base64(overview_png)}">' if overview_png else "")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Voice analysis: {html.escape(analysis.name)}</title>
<style>{_STYLE}</style></head><body>
<h1>Voice analysis report: {html.escape(analysis.name)}</h1>
<p class="verdict {analysis.verdict}">{html.escape(VERDICTS[analysis.verdict])}{capped}: {edges.text.value} probability
that the voice is synthetic</p>
<p>{_inline(analysis.explanation)}</p>
{f'<p class="spans">{html.escape(spans)}</p>' if spans else ''}
<p>{html.escape(bands_sentence(model, edges))}</p>
<h2>Recording quality</h2><ul>{warnings}</ul>
<h2>The file</h2><table>{facts}</table>
<h2>Score over time, waveform and spectrogram</h2>
<p>Times are seconds of the uploaded file. Red shading marks stretches that score likely synthetic. The score
axis spreads out the ends: 0.1 %, 1 % and 10 % are evenly spaced, as are 90 %, 99 % and 99.9 %.</p>
{image}
{_explanation_html(explanation, edges)}
<h2>The model</h2><table>{model_rows}</table>
<h2>What this cannot tell you</h2>{_markdown_block(data["limits"])}
<p><small>Made with the open-source deepfake voice detector. A verdict is evidence, not proof.</small></p>
</body></html>
"""

"""The scorecard and the discussion as Markdown, for a pull request or a wiki page.

Every piece of user text (titles, names, variants, notes, rationales, messages that
quote data) is rendered as text: Markdown and HTML characters are escaped, so a note
cannot embed an image that fetches a URL, a `<script>`, or a `javascript:` link, and
a `|` cannot shift a table's columns.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from abkit.analysis.results import AnalysisResult
from abkit.report.formatting import (
    GUARDRAIL_CAPTION,
    GUARDRAIL_HEADERS,
    HEADERS,
    SEQUENTIAL_HEADERS,
    data_window,
    decision_lines,
    design_verdict,
    guardrail_rows,
    metric_notes,
    scorecard_row,
    sequential_rows,
    verdict_source,
)
from abkit.report.records import DecisionLogRecord, NoteRecord

MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]!|~])")
SCHEME = re.compile(r"(?i)\b(javascript|vbscript|data):")


def as_text(value: object) -> str:
    """User text as Markdown that renders as exactly that text, on one line.

    Markdown's inline characters are backslash-escaped, `<`, `>` and `&` become
    entities, and a script scheme loses its colon (`javascript&#58;`).
    """
    text = " ".join(str(value).split())
    text = html.escape(text, quote=False)
    text = MARKDOWN_SPECIAL.sub(r"\\\1", text)
    return SCHEME.sub(lambda match: f"{match.group(1)}&#58;", text)


def render_markdown(result: AnalysisResult) -> str:
    """The scorecard as Markdown, for a pull request or wiki page."""
    out = [
        f"## {as_text(result.title)}",
        "",
        f"Data window {data_window(result)} · config "
        f"`{result.config_hash}` · abkit {result.abkit_version} · engine "
        f"{result.engine} ({result.dialect} SQL)",
        "",
    ]
    decision = decision_lines(result)
    if decision:
        out += [f"**{as_text(decision[0])}**", ""]
        out += [f"- {as_text(line.strip(' ·'))}" for line in decision[1:]]
        out.append("")
    guards = guardrail_rows(result)
    if guards:
        out += ["### Guardrails", "", *_table(GUARDRAIL_HEADERS, guards)]
        out += ["", f"_{as_text(GUARDRAIL_CAPTION)}_", ""]
    out += _scorecards(result)
    out += [f"- {as_text(note)}" for note in metric_notes(result)]
    rows = sequential_rows(result)
    if rows:
        out += ["", "### Sequential monitoring", ""]
        out += _table(SEQUENTIAL_HEADERS, rows)
    out += ["", "### Health", ""]
    units = ", ".join(f"{v} {n:,}" for v, n in result.units.items())
    out.append(f"- units: {as_text(units)}")
    out += [f"- **{c.status}** {c.name}: {as_text(c.message)}" for c in result.health]
    return "\n".join(out) + "\n"


def _scorecards(result: AnalysisResult) -> list[str]:
    """One headed table per treatment against control."""
    level = f"{1 - result.alpha:.0%}"
    out = []
    for variant in (v for v in result.variants if v != result.control):
        heading = f"{as_text(variant)} vs {as_text(result.control)} ({level} CI)"
        out += [f"### {heading}", ""]
        metrics = (m for m in result.metrics if m.variant == variant)
        rows = [scorecard_row(m, design_verdict(result, m)) for m in metrics]
        out += _table(HEADERS, rows)
        out += ["", f"_Verdict: the {verdict_source(result)}; P(better): the "
                "Bayesian chance to beat control, a secondary view._", ""]  # fmt: skip
    return out


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table's lines, every cell escaped as text."""
    lines = [
        "| " + " | ".join(as_text(h) for h in headers) + " |",
        "|" + "---|" * len(headers),
    ]
    return lines + ["| " + " | ".join(as_text(c) for c in row) + " |" for row in rows]


def discussion_markdown(
    notes: Sequence[NoteRecord], decisions: Sequence[DecisionLogRecord]
) -> str:
    """Notes and the decision log as Markdown (user text rendered as text)."""
    out = ["### Decisions", ""]
    out += [
        f"- {d.created_at:%Y-%m-%d %H:%M} **{as_text(d.decision)}** by "
        f"{as_text(d.author)}: {as_text(d.rationale)}"
        for d in decisions
    ] or ["- none recorded"]
    out += ["", "### Notes", ""]
    out += [
        f"- {n.created_at:%Y-%m-%d %H:%M} {as_text(n.author)}"
        + (f" on {as_text(n.metric)}" if n.metric else "")
        + f": {as_text(n.text)}"
        for n in notes
    ] or ["- none yet"]
    return "\n".join(out) + "\n"

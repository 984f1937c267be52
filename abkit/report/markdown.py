"""The scorecard and the discussion as Markdown, for a pull request or a wiki page."""

from __future__ import annotations

from collections.abc import Sequence

from abkit.analysis.results import AnalysisResult
from abkit.report.formatting import (
    HEADERS,
    SEQUENTIAL_HEADERS,
    data_window,
    decision_lines,
    metric_notes,
    scorecard_row,
    sequential_rows,
)
from abkit.report.records import DecisionLogRecord, NoteRecord


def render_markdown(result: AnalysisResult) -> str:
    """The scorecard as Markdown, for a pull request or wiki page."""
    out = [
        f"## {result.title}",
        "",
        f"Data window {data_window(result)} · config "
        f"`{result.config_hash}` · abkit {result.abkit_version} · engine "
        f"{result.engine} ({result.dialect} SQL)",
        "",
    ]
    decision = decision_lines(result)
    if decision:
        out += [f"**{decision[0]}**", ""] + [
            f"- {line.strip(' ·')}" for line in decision[1:]
        ]
        out.append("")
    out += _scorecards(result)
    out += [f"- {note}" for note in metric_notes(result)]
    rows = sequential_rows(result)
    if rows:
        out += ["", "### Sequential monitoring", ""]
        out += _table(SEQUENTIAL_HEADERS, rows)
    out += ["", "### Health", ""]
    out.append("- units: " + ", ".join(f"{v} {n:,}" for v, n in result.units.items()))
    out += [f"- **{c.status}** {c.name}: {c.message}" for c in result.health]
    return "\n".join(out) + "\n"


def _scorecards(result: AnalysisResult) -> list[str]:
    """One headed table per treatment against control."""
    level = f"{1 - result.alpha:.0%}"
    out = []
    for variant in (v for v in result.variants if v != result.control):
        out += [f"### {variant} vs {result.control} ({level} CI)", ""]
        metrics = (m for m in result.metrics if m.variant == variant)
        out += _table(HEADERS, [scorecard_row(metric) for metric in metrics])
        out.append("")
    return out


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table's lines (cells as given, not escaped)."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def discussion_markdown(
    notes: Sequence[NoteRecord], decisions: Sequence[DecisionLogRecord]
) -> str:
    """Notes and the decision log as Markdown (user text kept verbatim)."""
    out = ["### Decisions", ""]
    out += [
        f"- {d.created_at:%Y-%m-%d %H:%M} **{d.decision}** by {d.author}: {d.rationale}"
        for d in decisions
    ] or ["- none recorded"]
    out += ["", "### Notes", ""]
    out += [
        f"- {n.created_at:%Y-%m-%d %H:%M} {n.author}"
        + (f" on `{n.metric}`" if n.metric else "")
        + f": {n.text}"
        for n in notes
    ] or ["- none yet"]
    return "\n".join(out) + "\n"

"""Render analysis results: terminal (rich), plain text, Markdown and JSON."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from typing import Any, Literal

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from abkit.analysis.planning import PlanResult
from abkit.analysis.results import AnalysisResult, CheckStatus, MetricResult
from abkit.store.store import DecisionRecord, Note, Snapshot

OutputFormat = Literal["table", "json", "markdown"]

VERDICT_MARKS = {
    "better": "▲ better",
    "worse": "▼ worse",
    "no_change": "· no change",
    "invalid": "? n/a",
}
VERDICT_STYLES = {
    "better": "bold green",
    "worse": "bold red",
    "no_change": "dim",
    "invalid": "yellow",
}
STATUS_STYLES: dict[CheckStatus, str] = {
    "ok": "green",
    "warning": "yellow",
    "failed": "bold red",
}


def format_value(value: float, kind: str) -> str:
    """A metric value in its display format (count, percent, currency, number)."""
    if math.isnan(value):
        return "–"
    if kind == "percent":
        return f"{value:.2%}"
    if kind == "currency":
        return f"${value:,.3f}"
    return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"


def format_difference(value: float, kind: str) -> str:
    """A signed absolute difference in the metric's units."""
    if math.isnan(value):
        return "–"
    if kind == "percent":
        return f"{value * 100:+.2f} pp"
    if kind == "currency":
        return f"{value:+,.3f}"
    return f"{value:+.4g}"


def format_lift(value: float, lower: float, upper: float) -> str:
    """Relative lift with its CI, e.g. '+5.1% [+3.2%, +7.0%]'."""
    if math.isnan(value):
        return "–"
    if math.isnan(lower):
        return f"{value:+.1%}"
    return f"{value:+.1%} [{lower:+.1%}, {upper:+.1%}]"


def format_pvalue(pvalue: float) -> str:
    """p-value with sensible precision."""
    if math.isnan(pvalue):
        return "–"
    return "<0.0001" if pvalue < 1e-4 else f"{pvalue:.4f}"


def _pvalue_cell(result: MetricResult) -> str:
    """The p-value; for metrics in the correction family, the adjusted one, marked."""
    if result.adjusted_pvalue is None:
        return format_pvalue(result.effect.pvalue)
    return f"{format_pvalue(result.adjusted_pvalue)} (adj.)"


def decision_lines(result: AnalysisResult) -> list[str]:
    """The decision summary, its reasons, and the guardrails, as plain lines."""
    decision = result.decision
    if decision is None:
        return []
    lines = [f"Decision: {decision.summary}"]
    lines += [f"  · {reason}" for reason in decision.reasons]
    for metric in result.metrics:
        guard = metric.guardrail
        if guard is not None:
            lines.append(
                f"  guardrail {metric.metric} ({metric.variant}): "
                f"{guard.status.replace('_', ' ')} (margin {guard.margin:g}, "
                f"estimate {guard.estimate:+.3g}, one-sided p = {guard.pvalue:.3g})"
            )
    if result.correction != "none":
        lines.append(
            f"  multiple testing: {result.correction} over the decision family"
        )
    return lines


def bayes_lines(result: AnalysisResult) -> list[str]:
    """Chance to beat control and expected loss per metric (a different question)."""
    lines = []
    for metric in result.metrics:
        view = metric.bayes
        if view is None or view.status != "ok":
            continue
        lines.append(
            f"{metric.metric} ({metric.variant}): P(better) {view.chance_to_win:.1%}, "
            f"credible interval {view.ci_lower:+.1%} to {view.ci_upper:+.1%}, "
            f"expected loss if shipped {view.risk_treatment:.2%}"
        )
    return lines


def _row(result: MetricResult) -> list[str]:
    effect, fmt = result.effect, result.format
    diff_ci = (
        f"{format_difference(effect.difference, fmt)} "
        f"[{format_difference(effect.ci_lower, fmt)}, "
        f"{format_difference(effect.ci_upper, fmt)}]"
        if not math.isnan(effect.ci_lower)
        else format_difference(effect.difference, fmt)
    )
    return [
        result.metric,
        format_value(effect.control.mean, fmt),
        format_value(effect.treatment.mean, fmt),
        diff_ci,
        format_lift(
            effect.relative, effect.relative_ci_lower, effect.relative_ci_upper
        ),
        _pvalue_cell(result),
        VERDICT_MARKS[result.verdict],
        *_cuped_cells(result),
    ]


def _cuped_cells(result: MetricResult) -> list[str]:
    """CUPED's variance cut and the unadjusted lift, or dashes without CUPED."""
    reduction, plain = result.variance_reduction, result.unadjusted
    if reduction is None or plain is None:
        return ["–", "–"]
    unadjusted = format_lift(
        plain.relative, plain.relative_ci_lower, plain.relative_ci_upper
    )
    return [f"−{reduction:.0%}", unadjusted]


HEADERS = [
    "metric",
    "control",
    "treatment",
    "difference [CI]",
    "lift [CI]",
    "p-value",
    "verdict",
    "CUPED variance",
    "unadjusted lift [CI]",
]
TERMINAL_HEADERS = [
    "metric",
    "control",
    "treatment",
    "lift [CI]",
    "p-value",
    "CUPED variance",
    "verdict",
]
"""The terminal drops the absolute difference to fit narrow screens (JSON/Markdown keep it)."""


def scorecard_table(result: AnalysisResult, variant: str) -> Table:
    """The rich scorecard of one treatment against control."""
    level = f"{1 - result.alpha:.0%}"
    table = Table(
        title=f"{variant} vs {result.control} ({level} CI)", title_justify="left"
    )
    for header in TERMINAL_HEADERS:
        table.add_column(
            header,
            justify="left" if header == "metric" else "right",
            no_wrap=header in ("metric", "lift [CI]", "verdict"),
        )
    for metric in (m for m in result.metrics if m.variant == variant):
        cells = dict(zip(HEADERS, _row(metric), strict=True))
        verdict = Text(cells["verdict"], style=VERDICT_STYLES[metric.verdict])
        table.add_row(*(cells[h] for h in TERMINAL_HEADERS[:-1]), verdict)
    table.caption = "lift: CUPED-adjusted where a pre-period exists (relative to the "
    table.caption += (
        "adjusted control mean); CUPED variance: the share of variance removed"
    )
    table.caption_justify = "left"
    return table


def segment_table(result: AnalysisResult, segment: str, variant: str) -> Table:
    """Per-segment lifts of one treatment, with each segment value's SRM p-value."""
    srm = {(s.segment, s.value): s.srm for s in result.segment_srm}
    table = Table(
        title=f"{variant} vs {result.control} by {segment} (exploratory, uncorrected)",
        title_justify="left",
    )
    for header in (
        segment,
        "metric",
        "n (C/T)",
        "lift [CI]",
        "p-value",
        "verdict",
        "SRM p",
    ):
        table.add_column(
            header, justify="left" if header in (segment, "metric") else "right"
        )
    rows = [
        r
        for r in result.segment_results
        if r.segment == segment and r.variant == variant
    ]
    for row in sorted(rows, key=lambda r: (str(r.segment_value), r.metric)):
        effect = row.effect
        check = srm.get((segment, str(row.segment_value)))
        table.add_row(
            str(row.segment_value),
            row.metric,
            f"{effect.control.n:,}/{effect.treatment.n:,}",
            format_lift(
                effect.relative, effect.relative_ci_lower, effect.relative_ci_upper
            ),
            format_pvalue(effect.pvalue),
            Text(VERDICT_MARKS[row.verdict], style=VERDICT_STYLES[row.verdict]),
            format_pvalue(check.pvalue) if check is not None else "–",
        )
    return table


def segment_renderables(result: AnalysisResult) -> list[Any]:
    """One segment table per segment × treatment."""
    segments = dict.fromkeys(r.segment for r in result.segment_results if r.segment)
    return [
        segment_table(result, segment, variant)
        for segment in segments
        for variant in result.variants
        if variant != result.control
    ]


SEQUENTIAL_NAMES = {
    "gst": "group-sequential",
    "always_valid": "always-valid confidence sequence",
    "msprt": "mSPRT",
}


def sequential_rows(result: AnalysisResult) -> list[list[str]]:
    """Per metric × treatment: looks, information, z against bound, verdict."""
    settings = result.sequential
    rows = []
    for series in result.series:
        look = series.current
        if settings is None or look is None:
            continue
        lower, upper = look.sequential_relative
        fraction = (look.n_control + look.n_treatment) / settings.planned_units
        verdict = (
            f"crossed on {series.crossing_day.isoformat()}"
            if series.crossed and series.crossing_day
            else "keep running"
        )
        bound = f"|z| {abs(look.z):.2f} vs {look.z_bound:.2f}" if settings.method == "gst" else (
            f"p {format_pvalue(look.pvalue)}"
        )  # fmt: skip
        rows.append([
            series.metric, series.variant, str(len(series.looks)), f"{fraction:.0%}",
            bound, f"[{lower:+.1%}, {upper:+.1%}]", verdict,
        ])  # fmt: skip
    return rows


SEQUENTIAL_HEADERS = ["metric", "variant", "looks", "information", "test",
                      "sequential CI (lift)", "verdict"]  # fmt: skip


def sequential_table(result: AnalysisResult) -> Table | None:
    """The sequential monitoring table, or None without a sequential plan."""
    settings = result.sequential
    if settings is None:
        return None
    name = SEQUENTIAL_NAMES[settings.method]
    spending = f", {settings.spending} spending" if settings.method == "gst" else ""
    table = Table(
        title=f"sequential monitoring: {name}{spending}, planned "
        f"{settings.planned_units:,} units (safe to look daily)",
        title_justify="left",
    )
    for header in SEQUENTIAL_HEADERS:
        table.add_column(
            header, justify="left" if header in ("metric", "variant") else "right"
        )
    for row in sequential_rows(result):
        style = "bold green" if row[-1].startswith("crossed") else ""
        table.add_row(*row[:-1], Text(row[-1], style=style))
    return table


def health_panel(result: AnalysisResult) -> Panel:
    """Units per variant, SRM and the other health checks."""
    lines = [Text("units: " + ", ".join(f"{v} {n:,}" for v, n in result.units.items()))]
    for check in result.health:
        lines.append(
            Text(
                f"[{check.status}] {check.name}: {check.message}",
                style=STATUS_STYLES[check.status],
            )
        )
    title = "health" if result.healthy else "health — FAILED, do not trust the metrics"
    return Panel(
        Group(*lines), title=title, border_style="green" if result.healthy else "red"
    )


def metric_notes(result: AnalysisResult) -> list[str]:
    """Footnotes on how metrics were computed (caps, degenerate results)."""
    notes, seen = [], set()
    for metric in result.metrics:
        if metric.cap is not None and metric.metric not in seen:
            seen.add(metric.metric)
            cap = format_value(metric.cap, metric.format)
            notes.append(f"{metric.metric}: values capped at {cap} ({metric.cap_rule})")
        if metric.message:
            notes.append(f"{metric.metric} ({metric.variant}): {metric.message}")
    return notes


def renderables(result: AnalysisResult) -> list[Any]:
    """Everything the terminal scorecard shows, in order."""
    window = f"{_day(result.window_start)} → {_day(result.window_end)}"
    header = Text(
        f"{result.title}  ·  data {window}  ·  config {result.config_hash}",
        style="bold",
    )
    tables = [
        scorecard_table(result, v) for v in result.variants if v != result.control
    ]
    notes = [Text(f"note: {n}", style="dim") for n in metric_notes(result)]
    sequential = sequential_table(result)
    extra: list[Any] = [sequential] if sequential is not None else []
    bayes = bayes_lines(result)
    if bayes:
        title = "Bayesian view (chance to beat control; not a replacement for the test)"
        extra.append(Panel("\n".join(bayes), title=title, border_style="blue"))
    decision = decision_panel(result)
    top = [decision] if decision is not None else []
    return [header, *top, *tables, *notes, *extra, health_panel(result)]


OUTCOME_STYLES = {"ship": "green", "do_not_ship": "red", "keep_running": "yellow",
                  "investigate": "bold red"}  # fmt: skip


def decision_panel(result: AnalysisResult) -> Panel | None:
    """The decision at the top of the scorecard, coloured by outcome."""
    if result.decision is None:
        return None
    lines = decision_lines(result)
    style = OUTCOME_STYLES[result.decision.outcome]
    return Panel("\n".join(lines), title="decision", border_style=style)


def print_result(
    result: AnalysisResult, console: Console | None = None, *, segments: bool = False
) -> None:
    """Print the rich scorecard (and segment tables if asked) to a console."""
    console = console or Console()
    for item in renderables(result) + (segment_renderables(result) if segments else []):
        console.print(item)


def plain_text(items: Sequence[Any], width: int = 140) -> str:
    """Rich renderables as uncoloured text (for `str()`, logs and files)."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, no_color=True, force_terminal=False)
    for item in items:
        console.print(item)
    return buffer.getvalue()


def render_text(result: AnalysisResult, width: int = 140) -> str:
    """The scorecard as plain text (for `str(result)` and logs)."""
    return plain_text(renderables(result), width)


def render_markdown(result: AnalysisResult) -> str:
    """The scorecard as Markdown, for a pull request or wiki page."""
    level = f"{1 - result.alpha:.0%}"
    out = [
        f"## {result.title}",
        "",
        f"Data window {_day(result.window_start)} → {_day(result.window_end)} · config "
        f"`{result.config_hash}` · abkit {result.abkit_version}",
        "",
    ]
    decision = decision_lines(result)
    if decision:
        out += [f"**{decision[0]}**", ""] + [
            f"- {line.strip(' ·')}" for line in decision[1:]
        ]
        out.append("")
    for variant in (v for v in result.variants if v != result.control):
        out += [f"### {variant} vs {result.control} ({level} CI)", ""]
        out.append("| " + " | ".join(HEADERS) + " |")
        out.append("|" + "---|" * len(HEADERS))
        for metric in (m for m in result.metrics if m.variant == variant):
            out.append("| " + " | ".join(_row(metric)) + " |")
        out.append("")
    out += [f"- {note}" for note in metric_notes(result)]
    rows = sequential_rows(result)
    if rows:
        out += ["", "### Sequential monitoring", ""]
        out.append("| " + " | ".join(SEQUENTIAL_HEADERS) + " |")
        out.append("|" + "---|" * len(SEQUENTIAL_HEADERS))
        out += ["| " + " | ".join(row) + " |" for row in rows]
    out += ["", "### Health", ""]
    out.append("- units: " + ", ".join(f"{v} {n:,}" for v, n in result.units.items()))
    out += [f"- **{c.status}** {c.name}: {c.message}" for c in result.health]
    return "\n".join(out) + "\n"


def render_json(result: AnalysisResult) -> str:
    """The results as JSON; NaN and infinity become null."""
    return json.dumps(_json_safe(result.to_dict()), indent=2, allow_nan=False)


def render(result: AnalysisResult, output_format: OutputFormat) -> str:
    """Render in one of the CLI's formats."""
    if output_format == "json":
        return render_json(result)
    if output_format == "markdown":
        return render_markdown(result)
    return render_text(result)


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def _day(value: Any) -> str:
    return value.date().isoformat() if value is not None else "?"


def plan_table(plan: PlanResult) -> Table:
    """The planning table: per metric, units and days for the target MDE."""
    title = (
        f"{plan.experiment}: plan for a {plan.rows[0].mde:+.1%} relative lift "
        f"(α {plan.alpha:g} over {plan.comparisons} comparison(s), power {plan.power:.0%}, "
        f"{plan.sequential}, inflation ×{plan.inflation:.3f}); "
        f"{plan.daily_units:,.0f} new units a day"
        if plan.rows
        else plan.experiment
    )
    table = Table(title=title, title_justify="left")
    headers = ["metric", "baseline", "std", "CUPED variance", "units / arm", "units total",
               "days", f"MDE in {plan.days} days"]  # fmt: skip
    for header in headers:
        table.add_column(header, justify="left" if header == "metric" else "right")
    for row in plan.rows:
        if row.status != "ok":
            table.add_row(row.metric, *["–"] * 6, Text(row.status, style="yellow"))
            continue
        table.add_row(
            row.metric,
            f"{row.baseline:.4g}",
            f"{row.std:.4g}",
            f"−{row.variance_reduction:.0%}",
            f"{row.n_per_arm:,}",
            f"{row.n_total:,}",
            f"{row.days:,}",
            f"{row.mde_in_days:+.1%}",
        )
    table.caption = f"history: {plan.history}"
    table.caption_justify = "left"
    return table


def render_plan(plan: PlanResult, width: int = 140) -> str:
    """The planning table as plain text."""
    return plain_text([plan_table(plan)], width)


def history_table(experiment: str, snapshots: Sequence[Snapshot]) -> Table:
    """Saved analyses, newest first: when, which config, the decision then."""
    table = Table(title=f"{experiment}: saved analyses", title_justify="left")
    for header in ("id", "saved at", "config", "data window", "decision"):
        table.add_column(header)
    for snapshot in snapshots:
        decision = snapshot.payload.get("decision") or {}
        table.add_row(
            str(snapshot.id),
            snapshot.created_at.strftime("%Y-%m-%d %H:%M"),
            snapshot.config_hash,
            f"{snapshot.window_start or '?'} → {snapshot.window_end or '?'}",
            str(decision.get("outcome", "–")).replace("_", " "),
        )
    return table


def discussion_markdown(
    notes: Sequence[Note], decisions: Sequence[DecisionRecord]
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


def render_report(
    result: AnalysisResult,
    output_format: str,
    notes: Sequence[Note] = (),
    decisions: Sequence[DecisionRecord] = (),
) -> str:
    """A shareable report with the discussion: html, markdown or json."""
    if output_format == "html":
        from abkit.report.html import render_html

        return render_html(result, notes=notes, decisions=decisions)
    if output_format == "markdown":
        return render_markdown(result) + "\n" + discussion_markdown(notes, decisions)
    payload = result.to_dict() | {
        "notes": [n.to_dict() for n in notes],
        "decisions": [d.to_dict() for d in decisions],
    }
    return json.dumps(_json_safe(payload), indent=2, allow_nan=False)

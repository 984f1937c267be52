"""The terminal's rich renderables: scorecard, segments, sequential, health, plan, history."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from abkit.analysis.planning import PLAN_HEADERS, PlanResult, plan_cells, plan_title
from abkit.analysis.results import AnalysisResult, CheckStatus
from abkit.analysis.text import format_lift, format_pvalue
from abkit.report.formatting import (
    HEADERS,
    SEQUENTIAL_HEADERS,
    VERDICT_MARKS,
    bayes_lines,
    data_window,
    decision_lines,
    metric_notes,
    scorecard_row,
    sequential_design,
    sequential_rows,
)
from abkit.report.records import SnapshotRecord

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
OUTCOME_STYLES = {"ship": "green", "do_not_ship": "red", "keep_running": "yellow",
                  "investigate": "bold red"}  # fmt: skip
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


def renderables(result: AnalysisResult) -> list[Any]:
    """Everything the terminal scorecard shows, in order."""
    header = Text(
        f"{result.title}  ·  data {data_window(result)}  ·  config {result.config_hash}",
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
        cells = dict(zip(HEADERS, scorecard_row(metric), strict=True))
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


def sequential_table(result: AnalysisResult) -> Table | None:
    """The sequential monitoring table, or None without a sequential plan."""
    settings = result.sequential
    if settings is None:
        return None
    table = Table(
        title=f"sequential monitoring: {sequential_design(settings)}",
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


def decision_panel(result: AnalysisResult) -> Panel | None:
    """The decision at the top of the scorecard, coloured by outcome."""
    if result.decision is None:
        return None
    lines = decision_lines(result)
    style = OUTCOME_STYLES[result.decision.outcome]
    return Panel("\n".join(lines), title="decision", border_style=style)


def plan_table(plan: PlanResult) -> Table:
    """The planning table: per metric, units and days for the target MDE."""
    table = Table(title=plan_title(plan), title_justify="left")
    for header in (*PLAN_HEADERS, f"MDE in {plan.days} days"):
        table.add_column(header, justify="left" if header == "metric" else "right")
    for row in plan.rows:
        cells: list[str | Text] = list(plan_cells(row))
        if row.status != "ok":
            cells[-1] = Text(row.status, style="yellow")
        table.add_row(*cells)
    table.caption = f"history: {plan.history}"
    table.caption_justify = "left"
    return table


def history_table(experiment: str, snapshots: Sequence[SnapshotRecord]) -> Table:
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

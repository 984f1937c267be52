"""The terminal's rich renderables: scorecard, segments, sequential, health, plan, history."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich import box
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from abkit.analysis.cluster_plan import cluster_plan_lines
from abkit.analysis.planning import (
    PLAN_HEADERS,
    PlanResult,
    plan_cells,
    plan_title,
    underpowered_lines,
)
from abkit.analysis.results import AnalysisResult, CheckStatus
from abkit.analysis.text import format_lift, format_pvalue
from abkit.report.formatting import (
    GUARDRAIL_CAPTION,
    GUARDRAIL_HEADERS,
    HEADERS,
    SEQUENTIAL_HEADERS,
    VERDICT_MARKS,
    bayes_lines,
    data_window,
    decision_lines,
    design_verdict,
    guardrail_rows,
    metric_notes,
    scorecard_row,
    sequential_design,
    sequential_rows,
    verdict_source,
)
from abkit.report.records import SnapshotRecord

VERDICT_STYLES = {
    "better": "bold green",
    "worse": "bold red",
    "no_change": "dim",
    "not_yet": "dim",
    "invalid": "yellow",
}
STATUS_STYLES: dict[CheckStatus, str] = {
    "ok": "green",
    "warning": "yellow",
    "failed": "bold red",
}
OUTCOME_STYLES = {"ship": "green", "do_not_ship": "red", "keep_running": "yellow",
                  "investigate": "bold red"}  # fmt: skip
TERMINAL_HEADERS = ["metric", "lift [CI]", "p-value", "verdict"]
"""The scorecard at 80 columns: what decides first; `--verbose` adds the rest."""
DETAIL_HEADERS = ["metric", "control", "treatment", "P(better)", "CUPED variance"]
"""`--verbose`'s second table (the absolute difference is in JSON and Markdown)."""
GUARDRAIL_STYLES = {
    "shown safe": "green",
    "HARMED": "bold red",
    "not yet shown safe": "bold yellow",
}


def renderables(result: AnalysisResult, *, verbose: bool = False) -> list[Any]:
    """Everything the terminal scorecard shows, most important first.

    By default: the decision, the guardrails, one compact scorecard per treatment
    and the health checks that did not pass. `verbose` adds the means, chance to
    win and CUPED columns, the sequential table, the Bayesian view and every check.
    """
    header = Text(
        f"{result.title}  ·  data {data_window(result)}  ·  config {result.config_hash}",
        style="bold",
    )
    decision = decision_panel(result)
    top: list[Any] = [decision] if decision is not None else []
    guards = guardrail_table(result)
    top += [guards] if guards is not None else []
    treatments = [v for v in result.variants if v != result.control]
    tables = [scorecard_table(result, v, verbose=verbose) for v in treatments]
    tables += [detail_table(result, v) for v in treatments] if verbose else []
    notes = [Text(f"note: {n}", style="dim") for n in metric_notes(result)]
    extra: list[Any] = []
    sequential = sequential_table(result) if verbose else None
    extra += [sequential] if sequential is not None else []
    bayes = bayes_lines(result) if verbose else []
    if bayes:
        title = "Bayesian view (chance to beat control; a secondary view)"
        extra.append(Panel("\n".join(bayes), title=title, border_style="blue"))
    health = health_panel(result, verbose=verbose)
    return [header, *top, *tables, *notes, *extra, health]


def guardrail_table(result: AnalysisResult) -> Table | None:
    """Each guardrail's margin, estimate with CI and status, coloured; None without."""
    rows = guardrail_rows(result)
    if not rows:
        return None
    several = len(result.variants) > 2
    table = Table(title="guardrails", title_justify="left", box=box.SIMPLE_HEAD)
    for header in GUARDRAIL_HEADERS:
        if header != "variant" or several:
            table.add_column(
                header,
                justify="right" if header in ("margin", "estimate [CI]") else "left",
                no_wrap=header != "guardrail",
            )
    for row in rows:
        cells: list[str | Text] = [
            *row[:-1],
            Text(row[-1], style=GUARDRAIL_STYLES[row[-1]]),
        ]
        table.add_row(*(cells if several else [cells[0], *cells[2:]]))
    table.caption = GUARDRAIL_CAPTION
    table.caption_justify = "left"
    return table


def scorecard_table(
    result: AnalysisResult, variant: str, *, verbose: bool = False
) -> Table:
    """The rich scorecard of one treatment against control (80 columns wide)."""
    level = f"{1 - result.alpha:.0%}"
    table = Table(
        title=f"{variant} vs {result.control} ({level} CI)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for header in TERMINAL_HEADERS:
        table.add_column(
            header,
            justify="left" if header == "metric" else "right",
            no_wrap=header in ("lift [CI]", "p-value", "verdict"),
        )
    for metric in (m for m in result.metrics if m.variant == variant):
        verdict_key = design_verdict(result, metric)
        cells = dict(zip(HEADERS, scorecard_row(metric, verdict_key), strict=True))
        cells["p-value"] = cells["p-value"].replace(" (adj.)", "*")
        verdict = Text(cells["verdict"], style=VERDICT_STYLES[verdict_key])
        table.add_row(*(cells[h] for h in TERMINAL_HEADERS[:-1]), verdict)
    table.caption = _scorecard_caption(result, verbose=verbose)
    table.caption_justify = "left"
    return table


def detail_table(result: AnalysisResult, variant: str) -> Table:
    """`--verbose`: the means, the chance to win and CUPED's variance cut per metric."""
    table = Table(
        title=f"{variant} vs {result.control}: details",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for header in DETAIL_HEADERS:
        table.add_column(header, justify="left" if header == "metric" else "right")
    for metric in (m for m in result.metrics if m.variant == variant):
        cells = dict(zip(HEADERS, scorecard_row(metric), strict=True))
        table.add_row(*(cells[h] for h in DETAIL_HEADERS))
    table.caption = (
        "P(better): Bayesian chance to beat control (a secondary view); CUPED "
        "variance: the share of variance removed"
    )
    table.caption_justify = "left"
    return table


def _scorecard_caption(result: AnalysisResult, *, verbose: bool) -> str:
    """What the columns mean, in a line or two."""
    parts = [f"verdict: {verdict_source(result)}"]
    if result.sequential is not None:
        parts.append("p-value: fixed-horizon (a secondary view)")
    if result.correction != "none":
        parts.append(f"* adjusted ({result.correction})")
    parts.append("lift: CUPED-adjusted where a pre-period exists")
    if not verbose:
        parts.append("--verbose for means, P(better), sequential and Bayesian views")
    return "; ".join(parts)


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
        box=box.SIMPLE_HEAD,
    )
    several = len(result.variants) > 2
    headers = [h for h in SEQUENTIAL_HEADERS if h != "variant" or several]
    for header in headers:
        table.add_column(
            header,
            justify="left" if header in ("metric", "variant") else "right",
            no_wrap=header not in ("looks", "information", "verdict"),
        )
    for row in sequential_rows(result):
        style = "bold green" if row[-1].startswith("crossed") else ""
        cells = row if several else [row[0], *row[2:]]
        table.add_row(*cells[:-1], Text(cells[-1], style=style))
    return table


def health_panel(result: AnalysisResult, *, verbose: bool = False) -> Panel:
    """Units per variant and the health checks (all of them with `verbose`)."""
    lines = [Text("units: " + ", ".join(f"{v} {n:,}" for v, n in result.units.items()))]
    shown = [c for c in result.health if verbose or c.status != "ok" or c.name == "srm"]
    for check in shown:
        lines.append(
            Text(
                f"[{check.status}] {check.name}: {check.message}",
                style=STATUS_STYLES[check.status],
            )
        )
    passed = sum(c.status == "ok" and c.name != "srm" for c in result.health)
    if not verbose and passed:
        lines.append(
            Text(f"{passed} more checks ok (--verbose lists them)", style="green")
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
        if row.status != "ok" or row.underpowered:
            cells[-1] = Text(str(cells[-1]) if row.underpowered else row.status,
                             style="bold yellow")  # fmt: skip
        table.add_row(*cells)
    warnings = "\n".join(
        underpowered_lines(plan)
        + cluster_plan_lines(plan.cluster, plan.history_clusters, plan.rows)
    )
    table.caption = (warnings + "\n" if warnings else "") + f"history: {plan.history}"
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

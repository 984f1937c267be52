"""Rendering helpers shared by the pages: tables, cards, banners.

No statistics here: every number comes from an `AnalysisResult` and is formatted with
`abkit.report.formatting`, so the app shows exactly what the CLI prints. The plotly
figures are `abkit.report.charts`' and `abkit.report.timeline_charts`'.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import pandas as pd
import streamlit as st
from pandas.io.formats.style import Styler

from abkit.analysis.results import AnalysisResult, MetricResult
from abkit.analysis.text import (
    format_difference,
    format_lift,
    format_pvalue,
    format_value,
)
from abkit.report.formatting import VERDICT_MARKS, VERDICT_WORDS

BadgeColor = Literal["green", "red", "blue", "orange", "gray"]
VERDICT_CELLS = {
    "better": "background-color: #dafbe1; color: #116329; font-weight: 600",
    "worse": "background-color: #ffebe9; color: #a40e26; font-weight: 600",
    "no_change": "",
    "invalid": "color: #9a6700",
}
OUTCOMES: dict[str, tuple[str, BadgeColor]] = {
    # outcome: (headline, badge colour)
    "ship": ("Ship", "green"),
    "do_not_ship": ("Do not ship", "red"),
    "keep_running": ("Keep running", "blue"),
    "investigate": ("Investigate data quality", "orange"),
}
VERDICT_DELTA_COLOURS = {
    "better": "green",
    "worse": "red",
    "no_change": "gray",
    "invalid": "orange",
}
STATUS_CELLS = {
    "running": "color: #0969da; font-weight: 600",
    "stopped": "color: #57606a; font-weight: 600",
    "decided": "color: #1a7f37; font-weight: 600",
}


def lift_text(metric: MetricResult) -> str:
    """The relative lift with its CI, as the CLI prints it."""
    effect = metric.effect
    return format_lift(
        effect.relative, effect.relative_ci_lower, effect.relative_ci_upper
    )


def metric_label(metric: MetricResult, *, variants: int = 1) -> str:
    """The metric's name, with its variant when there are several treatments."""
    return metric.metric if variants <= 1 else f"{metric.metric} ({metric.variant})"


def metric_frame(metrics: Sequence[MetricResult], *, variants: int = 1) -> pd.DataFrame:
    """The scorecard table: one formatted row per metric × treatment."""
    rows = [_metric_row(m, variants) for m in metrics]
    optional = {
        "adjusted p": any(m.adjusted_pvalue is not None for m in metrics),
        "guardrail": any(m.guardrail is not None for m in metrics),
        "CUPED variance": any(m.variance_reduction is not None for m in metrics),
    }
    columns = [c for c in METRIC_COLUMNS if optional.get(c, True)]
    frame: pd.DataFrame = pd.DataFrame(
        [[row[c] for c in columns] for row in rows], columns=columns
    )
    return frame


METRIC_COLUMNS = (
    "metric",
    "lift [CI]",
    "verdict",
    "p-value",
    "adjusted p",
    "guardrail",
    "control",
    "treatment",
    "difference [CI]",
    "CUPED variance",
)


def _metric_row(metric: MetricResult, variants: int) -> dict[str, str]:
    effect, fmt = metric.effect, metric.format
    difference = format_difference(effect.difference, fmt)
    if not math.isnan(effect.ci_lower):
        difference += (
            f" [{format_difference(effect.ci_lower, fmt)}, "
            f"{format_difference(effect.ci_upper, fmt)}]"
        )
    adjusted = metric.adjusted_pvalue
    guard = metric.guardrail
    reduction = metric.variance_reduction
    return {
        "metric": metric_label(metric, variants=variants),
        "control": format_value(effect.control.mean, fmt),
        "treatment": format_value(effect.treatment.mean, fmt),
        "difference [CI]": difference,
        "lift [CI]": lift_text(metric),
        "p-value": format_pvalue(effect.pvalue),
        "adjusted p": format_pvalue(adjusted) if adjusted is not None else "",
        "verdict": VERDICT_MARKS[metric.verdict],
        "guardrail": guard.status.replace("_", " ") if guard is not None else "",
        "CUPED variance": f"−{reduction:.0%}" if reduction is not None else "",
    }


def styled(frame: pd.DataFrame, verdicts: Sequence[str]) -> Styler:
    """Colour the lift and verdict cells of significant rows (green / red)."""
    cells = [VERDICT_CELLS[v] for v in verdicts]

    def colour(column: pd.Series[Any]) -> list[str]:
        if column.name in ("lift [CI]", "verdict"):
            return cells
        return [""] * len(column)

    return frame.style.apply(colour, axis=0)


def styled_overview(frame: pd.DataFrame, verdicts: Mapping[str, str]) -> Styler:
    """The experiments overview: status coloured, significant lifts green / red."""
    cells = [VERDICT_CELLS[verdicts.get(str(f), "no_change")] for f in frame["file"]]

    def colour(column: pd.Series[Any]) -> list[str]:
        if column.name == "status":
            return [STATUS_CELLS.get(str(v), "") for v in column]
        if column.name in ("lift [CI]", "verdict"):
            return cells
        return [""] * len(column)

    return frame.style.apply(colour, axis=0)


def show_metric_table(
    metrics: Sequence[MetricResult], *, variants: int = 1, key: str
) -> None:
    """The coloured scorecard table."""
    frame = metric_frame(metrics, variants=variants)
    st.dataframe(
        styled(frame, [m.verdict for m in metrics]),
        hide_index=True,
        width="stretch",
        height=table_height(len(frame)),
        column_config={
            "metric": st.column_config.TextColumn(pinned=True),
            "guardrail": st.column_config.TextColumn(width=100),
        },
        key=key,
    )


def table_height(rows: int) -> int:
    """Pixels that show every row of a data frame without an inner scroll bar."""
    return 35 * (rows + 1) + 3


def health_failures(result: AnalysisResult) -> None:
    """Failed health checks as one red banner (nothing when none failed)."""
    failed = [c for c in result.health if c.status == "failed"]
    if failed:
        lines = "\n".join(f"- **{c.name}**: {c.message}" for c in failed)
        st.error(
            f"**Health check failed — do not trust these numbers.**\n\n{lines}",
            icon=":material/error:",
        )


def health_warnings(result: AnalysisResult) -> None:
    """Warnings in yellow, a green line when all passed, and every check on demand."""
    warnings = [c for c in result.health if c.status == "warning"]
    for check in warnings:
        st.warning(f"**{check.name}**: {check.message}", icon=":material/warning:")
    if result.healthy and not warnings:
        st.success(
            f"All {len(result.health)} health checks passed.",
            icon=":material/check_circle:",
        )
    with st.expander(f"All {len(result.health)} health checks"):
        units = ", ".join(f"{v} {n:,}" for v, n in result.units.items())
        st.caption(f"Units: {units} · excluded {result.excluded_units:,}")
        st.dataframe(
            pd.DataFrame([c.to_dict() for c in result.health])[
                ["status", "name", "message"]
            ],
            hide_index=True,
            width="stretch",
        )


def decision_summary(result: AnalysisResult, primary: str) -> None:
    """The plain-language recommendation for PMs, from `result.decision`."""
    decision = result.decision
    with st.container(border=True):
        if decision is None:
            st.markdown(
                "**No decision rules in exp.yaml** (`decision:`), so abkit makes no "
                f"recommendation. Primary metric: **{primary}**."
            )
            return
        headline, colour = OUTCOMES[decision.outcome]
        st.badge(f"Recommendation: {headline}", color=colour)
        st.markdown(f"#### {plain_markdown(decision.summary)}")
        if decision.reasons:
            st.markdown("\n".join(f"- {plain_markdown(r)}" for r in decision.reasons))
        st.caption(f"Multiple-testing correction: {decision.correction}")


def primary_cards(result: AnalysisResult, primary: str) -> None:
    """The primary metric's lift per treatment, plus the units in the test."""
    metrics = [m for m in result.metrics if m.metric == primary]
    columns = st.columns(len(metrics) + 1)
    for column, metric in zip(columns, metrics, strict=False):
        column.metric(
            f"{primary} · {metric.variant} vs {result.control}",
            lift_text(metric),
            delta=VERDICT_WORDS[metric.verdict],
            delta_color=VERDICT_DELTA_COLOURS[metric.verdict],  # type: ignore[arg-type]
            delta_arrow="off",
            help=f"Relative lift with its {1 - result.alpha:.0%} confidence interval",
            border=True,
        )
    columns[-1].metric(
        "Units analysed",
        f"{sum(result.units.values()):,}",
        help=", ".join(f"{v}: {n:,}" for v, n in result.units.items()),
        border=True,
    )


def plain_markdown(text: str) -> str:
    """Library text shown as Markdown: `$` would otherwise start LaTeX math."""
    return text.replace("$", "\\$")


def day(value: Any) -> str:
    """A date or datetime as YYYY-MM-DD ('–' if missing)."""
    if value is None:
        return "–"
    return str(value.date() if hasattr(value, "date") else value)

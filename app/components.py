"""Rendering helpers shared by the pages: tables, plotly figures, banners.

No statistics here: every number comes from an `AnalysisResult` and is formatted with
`abkit.report.terminal`'s formatters, so the app shows exactly what the CLI prints.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from pandas.io.formats.style import Styler

from abkit.analysis.monitoring import MetricSeries, NoveltyPoint
from abkit.analysis.results import AnalysisResult, MetricResult
from abkit.report.terminal import (
    VERDICT_MARKS,
    format_difference,
    format_lift,
    format_pvalue,
    format_value,
)

BadgeColor = Literal["green", "red", "blue", "orange", "gray"]
GREEN, RED, GREY, BLUE = "#1a7f37", "#cf222e", "#8c959f", "#0969da"
VERDICT_COLOURS = {"better": GREEN, "worse": RED, "no_change": GREY, "invalid": GREY}
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
VERDICT_WORDS = {
    "better": "significantly better",
    "worse": "significantly worse",
    "no_change": "no significant change",
    "invalid": "not computable",
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


def forest_figure(
    metrics: Sequence[MetricResult],
    *,
    variants: int = 1,
    labels: Sequence[str] | None = None,
    title: str = "",
) -> go.Figure:
    """Relative lifts with their CIs, one row per metric, coloured by verdict.

    A few very wide intervals (rare events) would squash the rest, so the axis is
    zoomed to the bulk of the intervals; wider ones run off the edge (hover or zoom
    out to see them).
    """
    if labels is None:
        labels = [metric_label(m, variants=variants) for m in metrics]
    figure = go.Figure()
    for verdict, colour in VERDICT_COLOURS.items():
        chosen = [i for i, m in enumerate(metrics) if m.verdict == verdict]
        if not chosen:
            continue
        rows = [metrics[i] for i in chosen]
        figure.add_trace(
            go.Scatter(
                x=[m.effect.relative for m in rows],
                y=[labels[i] for i in chosen],
                mode="markers",
                name=VERDICT_WORDS[verdict],
                marker={"size": 11, "color": colour},
                error_x={
                    "type": "data",
                    "array": [
                        m.effect.relative_ci_upper - m.effect.relative for m in rows
                    ],
                    "arrayminus": [
                        m.effect.relative - m.effect.relative_ci_lower for m in rows
                    ],
                    "width": 5,
                    "thickness": 2,
                    "color": colour,
                },
                customdata=[lift_text(m) for m in rows],
                hovertemplate="%{y}: %{customdata}<extra></extra>",
            )
        )
    figure.add_vline(x=0, line={"color": "#57606a", "width": 1, "dash": "dot"})
    figure.update_layout(
        title=title,
        height=max(220, 30 * len(metrics) + 110),
        margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 40},
        xaxis={
            "tickformat": "+.0%",
            "title": "relative lift with confidence interval",
            "zeroline": False,
            "range": _zoomed_range(metrics),
        },
        yaxis={
            "autorange": "reversed",
            "categoryorder": "array",
            "categoryarray": list(labels),
        },
        legend={"orientation": "h", "y": -0.25 if len(metrics) < 6 else -0.08},
    )
    return figure


def _zoomed_range(metrics: Sequence[MetricResult]) -> list[float] | None:
    """An x range over most intervals: up to 3× the median interval end."""
    ends = sorted(
        abs(value)
        for m in metrics
        for value in (m.effect.relative_ci_lower, m.effect.relative_ci_upper)
        if math.isfinite(value)
    )
    if not ends:
        return None
    limit = max(ends[len(ends) // 2] * 3, 0.02)
    if ends[-1] <= limit:
        return None
    return [-limit, limit]


def series_figure(series: MetricSeries, *, sequential: bool) -> go.Figure:
    """Cumulative relative lift per morning, its CI band and the sequential CI."""
    days = [look.day for look in series.looks]
    figure = go.Figure()
    _band(
        figure,
        days,
        [look.relative_ci_lower for look in series.looks],
        [look.relative_ci_upper for look in series.looks],
        name="fixed-horizon CI",
        fill="rgba(9, 105, 218, 0.15)",
    )
    if sequential:
        bounds = [look.sequential_relative for look in series.looks]
        for index in (0, 1):
            figure.add_trace(
                go.Scatter(
                    x=days,
                    y=[b[index] for b in bounds],
                    mode="lines",
                    name="sequential CI",
                    legendgroup="sequential",
                    showlegend=index == 0,
                    line={"color": "#9a6700", "dash": "dash"},
                )
            )
    figure.add_trace(
        go.Scatter(
            x=days,
            y=[look.relative for look in series.looks],
            mode="lines+markers",
            name="cumulative lift",
            line={"color": BLUE, "width": 2},
        )
    )
    figure.add_hline(y=0, line={"color": "#57606a", "width": 1, "dash": "dot"})
    if series.crossing_day is not None:
        _mark_day(figure, series.crossing_day, "boundary crossed")
    figure.update_layout(
        height=360,
        margin={"l": 10, "r": 10, "t": 30, "b": 30},
        yaxis={"tickformat": "+.0%", "title": "relative lift"},
        xaxis={"title": "analysis date (morning)"},
        legend={"orientation": "h", "y": 1.12},
    )
    return figure


def novelty_figure(points: Sequence[NoveltyPoint]) -> go.Figure:
    """The effect on each day since exposure, with its CI."""
    days = [p.day_since_exposure for p in points]
    figure = go.Figure()
    _band(
        figure,
        days,
        [p.relative_ci_lower for p in points],
        [p.relative_ci_upper for p in points],
        name="95% CI",
        fill="rgba(31, 119, 180, 0.15)",
    )
    figure.add_trace(
        go.Scatter(
            x=days,
            y=[p.relative for p in points],
            mode="lines+markers",
            name="lift that day",
            line={"color": BLUE},
        )
    )
    figure.add_hline(y=0, line={"color": "gray", "dash": "dot"})
    figure.update_layout(
        height=300,
        margin={"l": 10, "r": 10, "t": 30, "b": 30},
        yaxis={"tickformat": "+.0%", "title": "relative lift"},
        xaxis={"title": "days since exposure", "dtick": 1},
        legend={"orientation": "h", "y": 1.15},
    )
    return figure


def boundary_figure(series: MetricSeries) -> go.Figure:
    """The group-sequential test: |z| each morning against its efficacy boundary."""
    days = [look.day for look in series.looks]
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=days,
            y=[look.z_bound for look in series.looks],
            mode="lines",
            name="boundary",
            line={"color": RED, "dash": "dash"},
        )
    )
    figure.add_trace(
        go.Scatter(
            x=days,
            y=[abs(look.z) for look in series.looks],
            mode="lines+markers",
            name="|z|",
            line={"color": BLUE},
        )
    )
    figure.update_layout(
        height=280,
        margin={"l": 10, "r": 10, "t": 30, "b": 30},
        yaxis={"title": "|z|", "rangemode": "tozero"},
        legend={"orientation": "h", "y": 1.15},
    )
    return figure


def _band(
    figure: go.Figure,
    x: Sequence[Any],
    lower: Sequence[float],
    upper: Sequence[float],
    *,
    name: str,
    fill: str,
) -> None:
    figure.add_trace(
        go.Scatter(x=x, y=upper, mode="lines", line={"width": 0}, showlegend=False,
                   hoverinfo="skip")
    )  # fmt: skip
    figure.add_trace(
        go.Scatter(x=x, y=lower, mode="lines", line={"width": 0}, fill="tonexty",
                   fillcolor=fill, name=name)
    )  # fmt: skip


def _mark_day(figure: go.Figure, day: Any, text: str) -> None:
    figure.add_shape(
        type="line",
        x0=day,
        x1=day,
        y0=0,
        y1=1,
        yref="paper",
        line={"color": GREEN, "dash": "dot"},
    )
    figure.add_annotation(x=day, y=1, yref="paper", text=text, showarrow=False)


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

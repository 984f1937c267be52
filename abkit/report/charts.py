"""Forest plots of results (plotly), for the HTML report and the Streamlit app.

Both draw the relative lifts with their confidence intervals, one trace per verdict,
with `forest_figure`; each keeps its own look (`REPORT_FOREST`, `APP_FOREST`) and
layout. The figures over time are in `abkit.report.timeline_charts`.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

from abkit.analysis.results import AnalysisResult, MetricResult
from abkit.analysis.text import format_lift, format_pvalue
from abkit.report.formatting import VERDICT_WORDS, design_verdict

VERDICT_COLORS = {
    "better": "#1a7f37",
    "worse": "#cf222e",
    "no_change": "#6e7781",
    "not_yet": "#6e7781",
    "invalid": "#9a6700",
}
VERDICT_LABELS = {
    "better": "better",
    "worse": "worse",
    "no_change": "no change",
    "not_yet": "keep running",
    "invalid": "n/a",
}
GREEN, RED, GREY, BLUE = "#1a7f37", "#cf222e", "#8c959f", "#0969da"  # the app's palette
PLOT_CONFIG = {"displaylogo": False, "responsive": True}


@dataclass(frozen=True, slots=True)
class ForestStyle:
    """The look of a forest plot: a colour and legend name per verdict, sizes, hover."""

    colors: Mapping[str, str]
    """Marker colour by verdict; the traces (and legend entries) follow its order."""
    names: Mapping[str, str]
    marker_size: int
    whiskers: Mapping[str, Any]
    """Error-bar settings besides the data, colour and thickness."""
    zero_line: Mapping[str, Any]
    hovertemplate: str
    """Over ``customdata``: [lift with its CI, p-value]."""


REPORT_FOREST = ForestStyle(
    colors=VERDICT_COLORS,
    names=VERDICT_LABELS,
    marker_size=9,
    whiskers={"symmetric": False},
    zero_line={"color": "#444", "width": 1},
    hovertemplate="%{y}<br>lift %{customdata[0]}<br>p %{customdata[1]}<extra></extra>",
)
APP_FOREST = ForestStyle(
    colors={
        "better": GREEN,
        "worse": RED,
        "no_change": GREY,
        "not_yet": GREY,
        "invalid": GREY,
    },
    names=VERDICT_WORDS,
    marker_size=11,
    whiskers={"width": 5},
    zero_line={"color": "#57606a", "width": 1, "dash": "dot"},
    hovertemplate="%{y}: %{customdata[0]}<extra></extra>",
)


def forest_figure(
    metrics: Sequence[MetricResult],
    labels: Sequence[str],
    style: ForestStyle,
    verdicts: Sequence[str] | None = None,
) -> go.Figure:
    """Relative lifts with their CIs, one row per metric (top to bottom), by verdict.

    `verdicts` (the design's, see `design_verdict`) default to the fixed-horizon ones.
    """
    figure = go.Figure()
    keys = list(verdicts) if verdicts is not None else [m.verdict for m in metrics]
    for verdict, color in style.colors.items():
        chosen = [
            (label, metric)
            for label, metric, key in zip(labels, metrics, keys, strict=True)
            if key == verdict
        ]
        if chosen:
            figure.add_trace(_forest_trace(chosen, style.names[verdict], color, style))
    figure.add_vline(x=0, line=dict(style.zero_line))
    figure.update_layout(
        xaxis={"tickformat": "+.0%", "zeroline": False},
        yaxis={
            "categoryorder": "array",
            "categoryarray": list(labels),
            "autorange": "reversed",
        },
    )
    return figure


def _forest_trace(
    chosen: Sequence[tuple[str, MetricResult]],
    name: str,
    color: str,
    style: ForestStyle,
) -> go.Scatter:
    effects = [metric.effect for _, metric in chosen]
    return go.Scatter(
        x=[e.relative for e in effects],
        y=[label for label, _ in chosen],
        mode="markers",
        name=name,
        marker={"color": color, "size": style.marker_size},
        error_x={
            "type": "data",
            **style.whiskers,
            "array": [e.relative_ci_upper - e.relative for e in effects],
            "arrayminus": [e.relative - e.relative_ci_lower for e in effects],
            "color": color,
            "thickness": 2,
        },
        customdata=[
            [
                format_lift(e.relative, e.relative_ci_lower, e.relative_ci_upper),
                format_pvalue(e.pvalue),
            ]
            for e in effects
        ],
        hovertemplate=style.hovertemplate,
    )


def report_forest_figure(result: AnalysisResult) -> go.Figure:
    """The HTML report's forest plot: every metric × treatment with a finite lift."""
    rows = [m for m in result.metrics if math.isfinite(m.effect.relative)]
    figure = forest_figure(
        rows,
        [report_label(result, m.metric, m.variant) for m in rows],
        REPORT_FOREST,
        [design_verdict(result, m) for m in rows],
    )
    level = f"{1 - result.alpha:.0%}"
    figure.update_layout(
        template="plotly_white",
        height=120 + 26 * max(len(rows), 1),
        margin={"l": 10, "r": 20, "t": 40, "b": 40},
        xaxis={"title": {"text": f"relative lift ({level} CI)"}},
        yaxis={"automargin": True},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
    )
    return figure


def app_forest_figure(
    metrics: Sequence[MetricResult],
    labels: Sequence[str],
    *,
    title: str = "",
    verdicts: Sequence[str] | None = None,
) -> go.Figure:
    """The app's forest plot; the axis spans every point and interval.

    The range comes from the data (every finite lift and CI end, and 0), padded a
    little, so no point or whisker runs off the edge.
    """
    figure = forest_figure(metrics, labels, APP_FOREST, verdicts)
    figure.update_layout(
        title=title,
        height=max(220, 30 * len(metrics) + 110),
        margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 40},
        xaxis={
            "title": "relative lift with confidence interval",
            "range": data_range(metrics),
        },
        legend={"orientation": "h", "y": -0.25 if len(metrics) < 6 else -0.08},
    )
    return figure


def data_range(metrics: Sequence[MetricResult], pad: float = 0.06) -> list[float]:
    """An x range holding every lift, every CI end and 0, padded by `pad` of its span."""
    values = [0.0] + [
        value
        for m in metrics
        for value in (
            m.effect.relative,
            m.effect.relative_ci_lower,
            m.effect.relative_ci_upper,
        )
        if math.isfinite(value)
    ]
    low, high = min(values), max(values)
    margin = max((high - low) * pad, 0.005)
    return [low - margin, high + margin]


def report_label(result: AnalysisResult, metric: str, variant: str) -> str:
    """Plot label of a metric; the variant too when there are several treatments."""
    text = metric if len(result.variants) <= 2 else f"{metric} · {variant}"
    return html.escape(text)  # plotly reads labels as (a little) HTML


def figure_spec(figure: go.Figure) -> dict[str, Any]:
    """Plain-JSON data, layout and config of a figure (plotly's own encoder)."""
    plain = json.loads(pio.to_json(figure, validate=False))
    return {"data": plain["data"], "layout": plain["layout"], "config": PLOT_CONFIG}

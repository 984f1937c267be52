"""Plotly figures over time: the HTML report's timeline and the app's Over time page.

Both draw the cumulative lift each morning inside its fixed-horizon band
(`band_traces`) and, with a sequential plan, the sequential interval
(`sequential_traces`). The report puts every metric in one figure with a menu
(`timeline_figure`); the app draws one series at a time (`series_figure`), the
group-sequential boundary (`boundary_figure`) and the effect by day since exposure
(`novelty_figure`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from abkit.analysis.monitoring import Look, MetricSeries, NoveltyPoint
from abkit.analysis.results import AnalysisResult
from abkit.report.charts import BLUE, GREEN, RED, VERDICT_COLORS, report_label


def timeline_figure(result: AnalysisResult) -> go.Figure | None:
    """Cumulative relative lift per morning with its CI bands; a dropdown picks the metric.

    Returns None when no metric has a daily look (open windows, too little data).
    """
    series = [s for s in result.series if s.looks]
    if not series:
        return None
    figure = go.Figure()
    owners: list[int] = []
    for index, one in enumerate(series):
        traces = _timeline_traces(one.looks, sequential=result.sequential is not None)
        for trace in traces:
            trace.visible = index == 0
            figure.add_trace(trace)
        owners += [index] * len(traces)
    buttons = [
        {
            "label": report_label(result, one.metric, one.variant),
            "method": "update",
            "args": [
                {"visible": [owner == index for owner in owners]},
                {"shapes": _timeline_shapes(one.crossing_day)},
            ],
        }
        for index, one in enumerate(series)
    ]
    figure.update_layout(
        template="plotly_white",
        height=440,
        margin={"l": 10, "r": 20, "t": 70, "b": 40},
        updatemenus=[
            {
                "buttons": buttons,
                "active": 0,
                "x": 0,
                "xanchor": "left",
                "y": 1.12,
                "yanchor": "bottom",
                "direction": "down",
            }
        ],
        shapes=_timeline_shapes(series[0].crossing_day),
        yaxis={
            "title": {"text": "cumulative relative lift"},
            "tickformat": "+.0%",
            "zeroline": False,
            "automargin": True,
        },
        xaxis={"title": {"text": "analysis morning"}},
        legend={
            "orientation": "h",
            "y": 1.02,
            "yanchor": "bottom",
            "x": 1,
            "xanchor": "right",
        },
        hovermode="x unified",
    )
    return figure


def _timeline_traces(looks: Sequence[Look], *, sequential: bool) -> list[go.Scatter]:
    days = [look.day.isoformat() for look in looks]
    traces = band_traces(
        days,
        [look.relative_ci_lower for look in looks],
        [look.relative_ci_upper for look in looks],
        name="fixed-horizon CI",
        fill="rgba(31, 119, 180, 0.18)",
        group="fixed",
        hover=False,
    )
    if sequential:
        traces += sequential_traces(
            days,
            looks,
            line={"color": "#8250df", "dash": "dash", "width": 1.5},
            names=("sequential CI", "sequential CI (lower)"),
            hovertemplate="%{y:+.1%}",
        )
    traces.append(
        go.Scatter(
            x=days,
            y=[look.relative for look in looks],
            mode="lines+markers",
            name="lift",
            line={"color": "#1f77b4", "width": 2},
            marker={"size": 5},
            customdata=[[look.n_control, look.n_treatment] for look in looks],
            hovertemplate="%{y:+.2%} (n %{customdata[0]:,} / %{customdata[1]:,})",
        )
    )
    return traces


def _timeline_shapes(crossing_day: dt.date | None) -> list[dict[str, Any]]:
    zero = {
        "type": "line",
        "xref": "paper",
        "x0": 0,
        "x1": 1,
        "y0": 0,
        "y1": 0,
        "line": {"color": "#444", "width": 1},
    }
    if crossing_day is None:
        return [zero]
    crossing = {
        "type": "line",
        "yref": "paper",
        "y0": 0,
        "y1": 1,
        "x0": crossing_day.isoformat(),
        "x1": crossing_day.isoformat(),
        "line": {"color": VERDICT_COLORS["better"], "dash": "dot", "width": 1.5},
    }
    return [zero, crossing]


def band_traces(
    x: Sequence[Any],
    lower: Sequence[float],
    upper: Sequence[float],
    *,
    name: str,
    fill: str,
    group: str | None = None,
    hover: bool = True,
) -> list[go.Scatter]:
    """A filled interval: an unlisted upper edge, then the lower edge filled up to it."""
    edge: dict[str, Any] = {"mode": "lines", "line": {"width": 0}}
    return [
        go.Scatter(
            x=x, y=upper, showlegend=False, legendgroup=group, hoverinfo="skip", **edge
        ),
        go.Scatter(
            x=x,
            y=lower,
            name=name,
            legendgroup=group,
            fill="tonexty",
            fillcolor=fill,
            hoverinfo=None if hover else "skip",
            **edge,
        ),
    ]


def sequential_traces(
    x: Sequence[Any],
    looks: Sequence[Look],
    *,
    line: Mapping[str, Any],
    names: tuple[str, str] = ("sequential CI", "sequential CI"),
    hovertemplate: str | None = None,
) -> list[go.Scatter]:
    """The sequential interval of the lift each look: two lines, one legend entry."""
    bounds = [look.sequential_relative for look in looks]
    return [
        go.Scatter(
            x=x,
            y=[b[position] for b in bounds],
            mode="lines",
            name=name,
            legendgroup="sequential",
            showlegend=position == 0,
            line=dict(line),
            hovertemplate=hovertemplate,
        )
        for position, name in enumerate(names)
    ]


def series_figure(series: MetricSeries, *, sequential: bool) -> go.Figure:
    """The app's cumulative relative lift per morning, its CI and the sequential CI."""
    days = [look.day for look in series.looks]
    figure = go.Figure()
    figure.add_traces(
        band_traces(
            days,
            [look.relative_ci_lower for look in series.looks],
            [look.relative_ci_upper for look in series.looks],
            name="fixed-horizon CI",
            fill="rgba(9, 105, 218, 0.15)",
        )
    )
    if sequential:
        line = {"color": "#9a6700", "dash": "dash"}
        figure.add_traces(sequential_traces(days, series.looks, line=line))
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
    """The app's effect on each day since exposure, with its CI."""
    days = [p.day_since_exposure for p in points]
    figure = go.Figure()
    figure.add_traces(
        band_traces(
            days,
            [p.relative_ci_lower for p in points],
            [p.relative_ci_upper for p in points],
            name="95% CI",
            fill="rgba(31, 119, 180, 0.15)",
        )
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
    """The app's group-sequential test: |z| each morning against its boundary."""
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


def _mark_day(figure: go.Figure, day: dt.date, text: str) -> None:
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

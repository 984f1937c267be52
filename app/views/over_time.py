"""Over time: the cumulative lift each morning, its CI and the sequential test."""

from __future__ import annotations

import app_context
import components
import pandas as pd
import streamlit as st

from abkit.analysis.text import format_lift
from abkit.frontends.app_support import primary_metric
from abkit.report.formatting import (
    SEQUENTIAL_HEADERS,
    SEQUENTIAL_NAMES,
    sequential_rows,
)
from abkit.report.timeline_charts import (
    boundary_figure,
    novelty_figure,
    series_figure,
)

context = app_context.current()
experiment = app_context.require_experiment(context)
result = app_context.analysis(context, experiment)

st.title("Over time")
st.caption(
    "Each point is the analysis as it would have run that morning: units count once "
    "their metric window is complete. Below, the primary metric's effect on each day "
    "since exposure shows novelty (fading) or learning (growing) effects."
)

components.cluster_robust_info(
    experiment.data.assignments.cluster,
    "the daily series and the sequential looks are cluster-robust",
)

settings = result.sequential
if settings is not None:
    name = SEQUENTIAL_NAMES.get(settings.method, settings.method)
    st.info(
        f"Sequential design: **{name}**, planned {settings.planned_units:,} units. "
        "Looking every day is safe: trust the sequential interval and boundary, not "
        "the daily fixed-horizon CI.",
        icon=":material/monitoring:",
    )

with_looks = [s for s in result.series if s.looks]
if not with_looks:
    st.warning(
        "No daily series yet: no metric has units with a complete window "
        "(or every metric's window is open-ended)."
    )
    st.stop()

metrics = list(dict.fromkeys(s.metric for s in with_looks))
primary = primary_metric(experiment)
metric = (
    st.selectbox(
        "Metric",
        metrics,
        index=metrics.index(primary) if primary in metrics else 0,
        key="over_time_metric",
    )
    or metrics[0]
)
variants = [s.variant for s in with_looks if s.metric == metric]
variant = (
    st.selectbox("Treatment", variants, key="over_time_variant") or variants[0]
    if len(variants) > 1
    else variants[0]
)
series = result.series_for(metric, variant)
assert series is not None
current = series.current
assert current is not None

left, right = st.columns(2)
left.metric(
    f"Cumulative lift on {components.day(current.day)}",
    format_lift(current.relative, current.relative_ci_lower, current.relative_ci_upper),
    border=True,
)
if settings is not None:
    lower, upper = current.sequential_relative
    verdict = (
        f"boundary crossed on {components.day(series.crossing_day)}"
        if series.crossed
        else "no boundary crossed yet: keep running"
    )
    right.metric(
        "Sequential CI",
        f"[{lower:+.1%}, {upper:+.1%}]",
        delta=verdict,
        delta_color="green" if series.crossed else "gray",
        delta_arrow="off",
        border=True,
    )

st.plotly_chart(
    series_figure(series, sequential=settings is not None),
    key="over_time_series",
)
if settings is not None and settings.method == "gst":
    st.markdown("**Group-sequential test**: |z| each morning against its boundary")
    st.plotly_chart(boundary_figure(series), key="over_time_boundary")

rows = sequential_rows(result)
if rows:
    st.subheader("Sequential monitoring, all metrics")
    st.dataframe(
        pd.DataFrame(rows, columns=SEQUENTIAL_HEADERS),
        hide_index=True,
        height=components.table_height(len(rows)),
        width="stretch",
        key="over_time_sequential",
    )

if result.novelty:
    st.subheader("Effect by day since exposure")
    novelty_variant = variant if any(p.variant == variant for p in result.novelty) else (
        result.novelty[0].variant
    )  # fmt: skip
    points = [p for p in result.novelty if p.variant == novelty_variant]
    st.caption(
        f"{points[0].metric}, {novelty_variant} vs {result.control}: each day's own "
        "effect (not cumulative), uncorrected; a falling line suggests a novelty effect."
        + (
            " Per-unit intervals, not cluster-robust: too narrow here."
            if experiment.data.assignments.cluster
            else ""
        )
    )
    st.plotly_chart(novelty_figure(points), key="novelty_chart")

"""Scorecard: the recommendation, health, the metric table and the forest plot."""

from __future__ import annotations

import app_context
import components
import streamlit as st

from abkit.frontends.app_support import primary_metric
from abkit.report.charts import app_forest_figure
from abkit.report.formatting import design_verdict, verdict_source

ALL_UNITS = "All units"

context = app_context.current()
experiment = app_context.require_experiment(context)
result = app_context.analysis(context, experiment)
primary = primary_metric(experiment)
cluster = experiment.data.assignments.cluster

st.title(components.as_text(result.title), anchor=False)
meta = [
    components.as_text(experiment.name),
    f"owner **{components.as_text(experiment.owner or '–')}**",
    f"data {components.day(result.window_start)} → {components.day(result.window_end)}",
    f"config {result.config_hash}",
    "CUPED on" if context.cuped else "CUPED off",
]
if cluster:
    meta.append(f"randomized by **{components.as_text(cluster)}**")
if context.as_of is not None:
    meta.append(f"**as of {context.as_of.isoformat()}**")
st.caption(" · ".join(meta))
if experiment.hypothesis:
    st.markdown(f"*Hypothesis:* {components.as_text(experiment.hypothesis)}")

components.health_failures(result)
components.decision_summary(result, primary)
components.guardrail_block(result)
components.primary_cards(result, primary)
components.health_warnings(result, cluster)

treatments = len(result.variants) - 1
segments = {
    f"{row.segment} = {row.segment_value}": (row.segment, row.segment_value)
    for row in result.segment_results
}
choice = st.selectbox(
    "Segment",
    [ALL_UNITS, *sorted(segments)],
    key="scorecard_segment",
    help="Filter the table and plot to one segment value (exploratory).",
)
if choice is None or choice == ALL_UNITS:
    rows = list(result.metrics)
    st.subheader(f"Metrics ({1 - result.alpha:.0%} CI)")
else:
    segment, value = segments[choice]
    rows = [
        r
        for r in result.segment_results
        if r.segment == segment and r.segment_value == value
    ]
    label = components.as_text(choice)
    st.subheader(f"Metrics for {label} ({1 - result.alpha:.0%} CI)", anchor=False)
    st.info(
        "Segment results are exploratory: not corrected for the many segments "
        "looked at, and not part of the decision rules.",
        icon=":material/travel_explore:",
    )
    components.cluster_robust_info(cluster, "segment results are cluster-robust")

SEQUENTIAL_VIEW, FIXED_VIEW = "Sequential (the design's test)", "Fixed horizon"
view = SEQUENTIAL_VIEW
if result.sequential is not None:
    view = (
        st.radio(
            "Verdicts from",
            [SEQUENTIAL_VIEW, FIXED_VIEW],
            horizontal=True,
            key="scorecard_view",
            help="The sequential test is the one the decision uses; the fixed-horizon "
            "view shows what a single look at today's data would say (secondary).",
        )
        or SEQUENTIAL_VIEW
    )
verdicts = [
    design_verdict(result, m) if view == SEQUENTIAL_VIEW else m.verdict for m in rows
]
components.show_metric_table(
    rows, variants=treatments, key="scorecard_table", verdicts=verdicts
)
sequential_view = result.sequential is not None and view == SEQUENTIAL_VIEW
secondary = "; p-value: fixed horizon" if sequential_view else ""
source = verdict_source(result) if view == SEQUENTIAL_VIEW else "fixed-horizon test"
st.caption(
    f"Verdict: the {source}{secondary}; green / red: significantly "
    "better / worse in the metric's direction. Lift is CUPED-adjusted where a "
    f"pre-period exists; adjusted p: after the {context.correction} correction over "
    "the decision family; P(better): Bayesian chance to beat control (a secondary "
    "view)."
)
components.method_notes(rows, key="scorecard_methods")
st.plotly_chart(
    app_forest_figure(
        rows,
        [components.metric_label(m, variants=treatments) for m in rows],
        title="Relative lift with confidence interval",
        verdicts=verdicts,
    ),
    key="scorecard_forest",
)

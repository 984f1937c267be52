"""Plan: the power / MDE calculator on the experiment's own history (`abkit.plan`)."""

from __future__ import annotations

import app_context
import components
import pandas as pd
import streamlit as st

import abkit
from abkit.analysis.planning import underpowered_lines
from abkit.errors import AbkitError
from abkit.frontends.app_support import AnalysisKey, analysis_key, primary_metric

COLUMNS = {
    "metric": st.column_config.TextColumn("metric"),
    "kind": st.column_config.TextColumn("kind"),
    "baseline": st.column_config.NumberColumn("baseline", format="%.4g"),
    "std": st.column_config.NumberColumn("std", format="%.4g"),
    "variance_reduction": st.column_config.NumberColumn(
        "CUPED variance cut", format="percent"
    ),
    "mde": st.column_config.NumberColumn("target MDE", format="percent"),
    "n_per_arm": st.column_config.NumberColumn("units / arm", format="localized"),
    "n_total": st.column_config.NumberColumn("units total", format="localized"),
    "days": st.column_config.NumberColumn("days needed", format="localized"),
    "mde_in_days": st.column_config.NumberColumn("MDE in the days", format="percent"),
    "status": st.column_config.TextColumn("status"),
    "format": None,
    "underpowered": st.column_config.CheckboxColumn(
        "underpowered", help="Needs more units than the plan has for the target MDE"
    ),
    "design_effect": st.column_config.NumberColumn(
        "design effect",
        format="%.2f",
        help="1 + (m − 1)·ICC: units are multiplied by it",
    ),
    "icc": st.column_config.NumberColumn("ICC", format="%.3f"),
    "units_per_cluster": st.column_config.NumberColumn(
        "units / cluster", format="%.1f", help="m, in the history"
    ),
    "n_clusters": st.column_config.NumberColumn("clusters total", format="localized"),
}
CLUSTER_COLUMNS = ("design_effect", "icc", "units_per_cluster", "n_clusters")

context = app_context.current()
experiment = app_context.require_experiment(context)

st.title("Plan")
st.caption(
    "Baselines, variances, CUPED's variance reduction and daily traffic come from "
    "this experiment's own pre-exposure history, inflated for its sequential design. "
    "Same numbers as `abkit plan`."
)


@st.cache_data(show_spinner=False, max_entries=64)
def _plan(
    key: AnalysisKey, mde: float, days: int, power: float
) -> tuple[pd.DataFrame, str, float, list[str]]:
    result = abkit.plan(key.path, mde=mde, days=days, power=power)
    warnings = underpowered_lines(result)
    return result.to_frame(), str(result), result.daily_units, warnings


rules = experiment.decision
default_mde = (rules.minimum_effect if rules and rules.minimum_effect else 0.05) * 100
with st.form("plan_form"):
    left, middle, right = st.columns(3)
    mde_percent = left.number_input(
        "Minimum detectable effect (relative lift, %)",
        min_value=0.1,
        max_value=100.0,
        value=default_mde,
        step=0.5,
        key="plan_mde",
        help="The smallest lift worth detecting; defaults to exp.yaml's "
        "decision.minimum_effect.",
    )
    days_input = middle.number_input(
        "Days of exposure", min_value=1, max_value=365, value=14, key="plan_days"
    )
    power = right.slider(
        "Power", min_value=0.5, max_value=0.99, value=0.8, step=0.01, key="plan_power"
    )
    st.form_submit_button("Calculate", type="primary", key="plan_submit")

mde, days = float(mde_percent) / 100, int(days_input)
try:
    key = analysis_key(experiment)
    with st.spinner("Reading the experiment's history…"):
        frame, text, daily_units, warnings = _plan(key, mde, days, float(power))
except AbkitError as error:
    st.error(components.as_text(error))
    st.stop()

primary = primary_metric(experiment)
rows = frame[frame["metric"] == primary]
cards = st.columns(3)
cards[0].metric("New units a day", f"{daily_units:,.0f}", border=True)
if not rows.empty:
    row = rows.iloc[0]
    cards[1].metric(
        f"Days to detect {mde:+.1%}",
        f"{int(row['days']):,}",
        help=f"On {primary}: {int(row['n_total']):,} units in all at {power:.0%} power",
        border=True,
    )
    cards[2].metric(
        f"Detectable lift in {days} days",
        f"{row['mde_in_days']:+.1%}",
        help=f"The smallest relative lift on {primary} detectable at {power:.0%} power",
        border=True,
    )

if warnings:
    head, *details = warnings
    st.warning(
        f"**{components.as_text(head.capitalize())}.**\n\n"
        + "\n".join(f"- {components.as_text(line)}" for line in details),
        icon=":material/warning:",
    )

if experiment.data.assignments.cluster:
    st.info(
        f"Randomized by **{components.as_text(experiment.data.assignments.cluster)}**: "
        "each metric's units are multiplied by its design effect 1 + (m − 1)·ICC "
        "measured on the history, and the clusters needed are units / m. Quantile "
        "metrics are not sized.",
        icon=":material/group_work:",
    )

st.subheader("Per metric")
st.dataframe(
    frame,
    hide_index=True,
    width="stretch",
    height=components.table_height(len(frame)),
    column_config=COLUMNS
    if experiment.data.assignments.cluster
    else COLUMNS | dict.fromkeys(CLUSTER_COLUMNS),
    key="plan_table",
)
with st.expander("As `abkit plan` prints it"):
    st.code(text, language=None)

"""Plan: the power / MDE calculator on the experiment's own history (`abkit.plan`)."""

from __future__ import annotations

from typing import Any

import app_context
import pandas as pd
import streamlit as st

import abkit
from abkit.app_support import AnalysisKey, analysis_key
from abkit.errors import AbkitError

SOLVE_DAYS = "Units and days for an effect size"
SOLVE_MDE = "Smallest detectable effect in a number of days"

context = app_context.current()
entry = app_context.require_experiment(context)
experiment = entry.experiment
assert experiment is not None

st.title("Plan")
st.caption(
    "Baselines, variances and CUPED's variance reduction come from this experiment's "
    "own data, so the numbers fit the metrics as configured. Same as `abkit plan`."
)

if getattr(abkit, "plan", None) is None:
    st.info(
        "The planning API (`abkit.plan`) is not in this abkit version yet; "
        "upgrade abkit to use the calculator."
    )
    st.stop()


@st.cache_data(show_spinner=False, max_entries=64)
def _plan(
    key: AnalysisKey, mde: float | None, days: int | None, power: float
) -> tuple[pd.DataFrame, str]:
    planner: Any = abkit.plan  # type: ignore[attr-defined]
    result = planner(key.path, mde=mde, days=days, power=power)
    return result.to_frame(), str(result)


rules = getattr(experiment, "decision", None)
default_mde = float(getattr(rules, "minimum_effect", 0.0) or 0.02) * 100
with st.form("plan_form"):
    mode = st.radio("Solve for", [SOLVE_DAYS, SOLVE_MDE], key="plan_mode")
    left, right = st.columns(2)
    mde_percent = left.number_input(
        "Minimum detectable effect (relative lift, %)",
        min_value=0.1,
        max_value=100.0,
        value=default_mde,
        step=0.5,
        key="plan_mde",
        help="Used when solving for units and days.",
    )
    days_input = right.number_input(
        "Days of exposure",
        min_value=1,
        max_value=365,
        value=14,
        step=1,
        key="plan_days",
        help="Used when solving for the smallest detectable effect.",
    )
    power = st.slider(
        "Power", min_value=0.5, max_value=0.99, value=0.8, step=0.01, key="plan_power"
    )
    st.form_submit_button("Calculate", type="primary", key="plan_submit")

mde = float(mde_percent) / 100 if mode == SOLVE_DAYS else None
days = int(days_input) if mode == SOLVE_MDE else None
try:
    key = analysis_key(experiment)
    with st.spinner("Reading the experiment's history…"):
        frame, text = _plan(key, mde, days, float(power))
except AbkitError as error:
    st.error(str(error))
    st.stop()

st.subheader("Per metric")
st.dataframe(frame, hide_index=True, width="stretch", key="plan_table")
with st.expander("As `abkit plan` prints it"):
    st.code(text, language=None)

"""Experiments: every exp*.yaml in the folder, its status and primary result."""

from __future__ import annotations

import datetime as dt

import app_context
import components
import pandas as pd
import streamlit as st

from abkit.errors import AbkitError
from abkit.frontends.app_support import (
    AnalysisKey,
    ExperimentEntry,
    analysis_key,
    experiment_status,
    primary_metric,
)
from abkit.report.formatting import VERDICT_WORDS
from abkit.store.store import DecisionRecord

context = app_context.current()
st.title("Experiments")
st.caption(f"Every `exp*.yaml` under `{context.directory}`")

loaded = [e for e in context.entries if e.experiment is not None]
for entry in context.entries:
    if entry.experiment is None:
        st.error(f"{entry.relative}: {entry.error}")
if not context.entries:
    st.info(
        f"No exp*.yaml found under `{context.directory}`. Point the app at a folder "
        "of experiments: `abkit app --dir FOLDER`."
    )
    st.stop()

store = app_context.open_store(context, create=False)


def _latest_decision(name: str) -> DecisionRecord | None:
    return store.latest_decision(name) if store is not None else None


def _row(entry: ExperimentEntry, key: AnalysisKey | None) -> dict[str, str]:
    experiment = entry.experiment
    assert experiment is not None
    decision = _latest_decision(experiment.name)
    status = experiment_status(
        experiment, decision.decision if decision else None, dt.date.today()
    )
    primary = primary_metric(experiment)
    row = {
        "experiment": experiment.title,
        "status": status,
        "primary metric": primary,
        "lift [CI]": "–",
        "verdict": "–",
        "recommendation": "–",
        "recorded decision": f"{decision.decision} ({decision.author}, "
        f"{components.day(decision.created_at)})"
        if decision
        else "–",
        "owner": experiment.owner or "–",
        "dates": f"{components.day(experiment.start)} → {components.day(experiment.end)}",
        "file": entry.relative,
    }
    if key is None:
        return row
    try:
        result = app_context.analyze_with_status(key, experiment.title)
    except AbkitError as error:
        row["verdict"] = f"analysis failed: {error}"
        return row
    metric = result.metric(primary)
    if experiment.start is None or experiment.end is None:
        row["dates"] = (
            f"{components.day(experiment.start or result.window_start)} → "
            f"{components.day(experiment.end or result.window_end)}"
        )
    row["lift [CI]"] = components.lift_text(metric)
    row["verdict"] = VERDICT_WORDS[metric.verdict]
    if result.decision is not None:
        row["recommendation"] = components.OUTCOMES[result.decision.outcome][0]
    verdicts[entry.relative] = metric.verdict
    return row


def _key(entry: ExperimentEntry) -> AnalysisKey | None:
    assert entry.experiment is not None
    try:
        return analysis_key(entry.experiment)
    except AbkitError:
        return None


verdicts: dict[str, str] = {}
rows = [_row(entry, _key(entry)) for entry in loaded]
if rows:
    frame = pd.DataFrame(rows)
    st.dataframe(
        components.styled_overview(frame, verdicts),
        hide_index=True,
        width="stretch",
        key="experiments_table",
    )
    st.caption(
        "Status: decided once a ship / iterate / stop decision is recorded, stopped "
        "after exp.yaml's `end`, running otherwise. Lift: the primary metric of the "
        "first treatment, as exp.yaml configures the analysis."
    )
    st.markdown("**Open a scorecard**")
    for entry in loaded:
        assert entry.experiment is not None
        st.page_link(
            app_context.PAGES["scorecard"][0],
            label=f"{entry.experiment.title} ({entry.relative})",
            icon=":material/arrow_forward:",
            query_params={"exp": entry.key},
        )

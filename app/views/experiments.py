"""Experiments: every exp*.yaml in the folder, at once, from the files and the store.

Nothing is analysed here, so the list appears as soon as the files are read: each
row shows the analysis this app already ran (opening a page analyses it), else the
latest stored snapshot (`abkit analyze --save`), else says it is not analysed yet.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import app_context
import components
import pandas as pd
import streamlit as st

from abkit.errors import AbkitError
from abkit.frontends.app_support import (
    ExperimentEntry,
    analysis_key,
    experiment_status,
    overview_summary,
    primary_metric,
)
from abkit.store.store import ResultStore

context = app_context.current()
st.title("Experiments")
st.caption(f"Every exp\\*.yaml under {components.as_text(context.directory)}")
if context.missing is not None:
    app_context.not_found(context)

for entry in context.entries:
    if entry.experiment is None:
        st.error(
            f"**{components.as_text(entry.relative)}** does not load: "
            f"{components.as_text(entry.error)}"
        )
if not context.entries:
    st.info(
        f"No exp\\*.yaml found under {components.as_text(context.directory)}. Point "
        "the app at a folder of experiments: `abkit app --dir FOLDER`."
    )
    st.stop()

store = app_context.open_store(context, create=False)
loaded = [e for e in context.entries if e.experiment is not None]
titles = Counter(e.experiment.title for e in loaded if e.experiment is not None)


def _analysed(
    entry: ExperimentEntry, store: ResultStore | None
) -> tuple[dict[str, Any], str]:
    """The payload of this app's cached analysis, else the stored snapshot's."""
    assert entry.experiment is not None
    try:
        cached = app_context.cached_result(analysis_key(entry.experiment))
    except AbkitError:
        cached = None
    if cached is not None:
        return cached.to_dict(), "now"
    snapshot = store.latest_snapshot(entry.experiment.name) if store else None
    if snapshot is not None:
        return snapshot.payload, f"snapshot {components.day(snapshot.created_at)}"
    return {}, "not yet: open it"


def _row(entry: ExperimentEntry) -> dict[str, str]:
    experiment = entry.experiment
    assert experiment is not None
    decision = store.latest_decision(experiment.name) if store is not None else None
    status = experiment_status(
        experiment, decision.decision if decision else None, dt.date.today()
    )
    payload, analysed = _analysed(entry, store)
    summary = overview_summary(payload, primary_metric(experiment))
    title = experiment.title
    return {
        "experiment": title if titles[title] == 1 else f"{title} ({entry.relative})",
        "status": status,
        "health": summary.health if payload else "–",
        "recommendation": summary.recommendation,
        "primary lift [CI]": summary.lift,
        "decision": f"{decision.decision} ({decision.author})" if decision else "–",
        "owner": experiment.owner or "–",
        "analysed": analysed,
    }


WIDTHS = {  # pixels: every column fits the main area at 1440 px, no side scroll
    "experiment": 250, "status": 75, "health": 130, "recommendation": 125,
    "primary lift [CI]": 165, "decision": 110, "owner": 110, "analysed": 110,
}  # fmt: skip
rows = [_row(entry) for entry in loaded]
if rows:
    frame = pd.DataFrame(rows)
    if (frame["decision"] == "–").all():
        frame = frame.drop(columns=["decision"])  # room for the rest
    st.dataframe(
        components.styled_overview(frame),
        hide_index=True,
        width="stretch",
        height=components.table_height(len(frame)),
        key="experiments_table",
        column_config={
            name: st.column_config.TextColumn(width=width, pinned=name == "experiment")
            for name, width in WIDTHS.items()
            if name in frame.columns
        },
    )
    st.caption(
        "Status: decided once a ship / iterate / stop decision is recorded, stopped "
        "after exp.yaml's end, running otherwise. Health FAILED (e.g. SRM) means "
        "investigate before reading any number. Numbers: this app's analysis, else "
        "the latest stored snapshot; opening an experiment analyses it."
    )
    st.markdown("**Open a scorecard**")
    for entry in loaded:
        assert entry.experiment is not None
        st.page_link(
            app_context.PAGES["scorecard"][0],
            label=components.as_text(f"{entry.experiment.title} ({entry.relative})"),
            icon=":material/arrow_forward:",
            query_params={"exp": entry.key},
        )

"""Segments: per-segment lifts and per-segment SRM (exploratory)."""

from __future__ import annotations

import app_context
import components
import pandas as pd
import streamlit as st

from abkit.analysis.text import format_pvalue
from abkit.frontends.app_support import primary_metric
from abkit.report.charts import app_forest_figure
from abkit.report.formatting import VERDICT_MARKS

context = app_context.current()
experiment = app_context.require_experiment(context)
result = app_context.analysis(context, experiment)

st.title("Segments")
st.info(
    "**Exploratory.** Segment results are not corrected for the many comparisons "
    "and are not part of the decision rules: with enough segments one will look "
    "significant by chance. Use them to form hypotheses for the next test.",
    icon=":material/travel_explore:",
)
if not result.segment_results:
    st.warning(
        "This experiment has no segments: list unit attributes under `segments:` in "
        "exp.yaml (they need `data.units`)."
    )
    st.stop()

components.cluster_robust_info(
    experiment.data.assignments.cluster, "segment results are cluster-robust"
)
names = list(dict.fromkeys(str(r.segment) for r in result.segment_results))
segment = st.selectbox("Segment", names, key="segments_segment") or names[0]

srm_rows = [s for s in result.segment_srm if s.segment == segment]
flagged = [s for s in srm_rows if s.srm.flagged]
if flagged:
    values = ", ".join(s.value for s in flagged)
    st.error(
        f"Sample ratio mismatch within {components.as_text(f'{segment} = {values}')}: "
        "the split differs from "
        "the plan there, so those segment results cannot be trusted.",
        icon=":material/error:",
    )

metrics = list(dict.fromkeys(r.metric for r in result.segment_results))
primary = primary_metric(experiment)
metric = (
    st.selectbox(
        "Metric",
        metrics,
        index=metrics.index(primary) if primary in metrics else 0,
        key="segments_metric",
    )
    or metrics[0]
)
treatments = len(result.variants) - 1
rows = sorted(
    (r for r in result.segment_results if r.segment == segment and r.metric == metric),
    key=lambda r: (str(r.segment_value), r.variant),
)
labels = [
    f"{segment} = {r.segment_value}" + (f" ({r.variant})" if treatments > 1 else "")
    for r in rows
]
overall = [m for m in result.metrics if m.metric == metric]

st.subheader(components.as_text(f"{metric} by {segment}"), anchor=False)
frame = components.metric_frame(rows, variants=treatments)
frame.insert(0, segment, [str(r.segment_value) for r in rows])
frame.insert(1, "n (control / treatment)", [
    f"{r.effect.control.n:,} / {r.effect.treatment.n:,}" for r in rows
])  # fmt: skip
srm = {s.value: s.srm for s in srm_rows}
frame["SRM p"] = [
    format_pvalue(srm[str(r.segment_value)].pvalue)
    if str(r.segment_value) in srm
    else "–"
    for r in rows
]
st.dataframe(
    components.styled(frame.drop(columns=["metric"]), [r.verdict for r in rows]),
    hide_index=True,
    width="stretch",
    key="segments_table",
)
figure = app_forest_figure(
    [*overall, *rows],
    ["all units" + (f" ({m.variant})" if treatments > 1 else "") for m in overall]
    + labels,
    title=f"{metric}: relative lift overall and by {segment}",
)
st.plotly_chart(figure, key="segments_forest")

st.subheader(components.as_text(f"Sample ratio by {segment}"), anchor=False)
st.dataframe(
    pd.DataFrame(
        [
            {
                segment: s.value,
                "units per variant": " / ".join(f"{n:,}" for n in s.srm.counts),
                "SRM p": format_pvalue(s.srm.pvalue),
                "flagged": "yes" if s.srm.flagged else "no",
            }
            for s in srm_rows
        ]
    ),
    hide_index=True,
    width="stretch",
    key="segments_srm",
)

st.subheader(
    components.as_text(f"Several metrics by {segment}"), anchor=False
)  # a dimension breakdown of many metrics at once
rules = experiment.decision
suggested = [
    primary,
    *(rules.secondary if rules else []),
    *(rules.guardrails if rules else []),
]
chosen = st.multiselect(
    "Metrics",
    metrics,
    default=[m for m in dict.fromkeys(suggested) if m in metrics][:6],
    key="segments_breakdown_metrics",
)
if chosen:
    cells: dict[str, dict[str, str]] = {}
    for r in result.segment_results:
        if r.segment == segment and r.metric in chosen:
            value = str(r.segment_value)
            name = r.metric if treatments == 1 else f"{r.metric} ({r.variant})"
            mark = VERDICT_MARKS[r.verdict].split(" ")[0]
            cells.setdefault(value, {})[name] = f"{components.lift_text(r)} {mark}"
    breakdown = pd.DataFrame.from_dict(cells, orient="index").sort_index()
    breakdown.index.name = segment
    st.dataframe(
        breakdown.reset_index(),
        hide_index=True,
        width="stretch",
        key="segments_breakdown",
    )
    st.caption("Lift [CI] per segment value; ▲ / ▼ significantly better / worse "
               "(exploratory, uncorrected).")  # fmt: skip

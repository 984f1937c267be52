"""Rendering helpers shared by the pages: tables, cards, banners.

No statistics here: every number comes from an `AnalysisResult` and is formatted with
`abkit.report.formatting`, so the app shows exactly what the CLI prints. The plotly
figures are `abkit.report.charts`' and `abkit.report.timeline_charts`'.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
import streamlit as st
from pandas.io.formats.style import Styler

from abkit.analysis.text import (
    format_interval,
    format_lift,
    format_pvalue,
    format_share_removed,
    format_value,
)
from abkit.report.formatting import (
    GUARDRAIL_CAPTION,
    VERDICT_MARKS,
    VERDICT_WORDS,
    chance_to_win,
    design_verdict,
    guardrail_rows,
)

if TYPE_CHECKING:  # the experiments list draws without loading the statistics
    from abkit.analysis.results import AnalysisResult, MetricResult

BadgeColor = Literal["green", "red", "blue", "orange", "gray"]
VERDICT_CELLS = {
    "better": "background-color: #dafbe1; color: #116329; font-weight: 600",
    "worse": "background-color: #ffebe9; color: #a40e26; font-weight: 600",
    "no_change": "",
    "not_yet": "",
    "invalid": "color: #9a6700",
}
OUTCOMES: dict[str, tuple[str, BadgeColor]] = {
    # outcome: (headline, badge colour)
    "ship": ("Ship", "green"),
    "do_not_ship": ("Do not ship", "red"),
    "keep_running": ("Keep running", "blue"),
    "investigate": ("Investigate data quality", "orange"),
}
VERDICT_DELTA_COLOURS = {
    "better": "green",
    "worse": "red",
    "no_change": "gray",
    "not_yet": "gray",
    "invalid": "orange",
}
GUARDRAIL_COLOURS = {"not_harmed": "green", "harmed": "red", "inconclusive": "orange"}
MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:])")
FAILED_CELL = "background-color: #ffebe9; color: #a40e26; font-weight: 700"
RECOMMENDATION_CELLS = {
    "Ship": "color: #116329; font-weight: 600",
    "Do not ship": "color: #a40e26; font-weight: 600",
    "Investigate data quality": FAILED_CELL,
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


def metric_frame(
    metrics: Sequence[MetricResult],
    *,
    variants: int = 1,
    verdicts: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The scorecard table: one formatted row per metric × treatment."""
    keys = list(verdicts) if verdicts is not None else [m.verdict for m in metrics]
    rows = [_metric_row(m, v, variants) for m, v in zip(metrics, keys, strict=True)]
    optional = {
        "adjusted p": any(m.adjusted_pvalue is not None for m in metrics),
        "guardrail": any(m.guardrail is not None for m in metrics),
        "P(better)": any(m.bayes is not None for m in metrics),
        "CUPED variance": any(_cuped_cell(m) for m in metrics),
        "relative CI": any(m.relative_ci_method != "delta" for m in metrics),
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
    "P(better)",
    "guardrail",
    "control",
    "treatment",
    "difference [CI]",
    "CUPED variance",
    "relative CI",
)


def _metric_row(metric: MetricResult, verdict: str, variants: int) -> dict[str, str]:
    effect, fmt = metric.effect, metric.format
    spread = (effect.ci_upper - effect.ci_lower) / 2
    adjusted = metric.adjusted_pvalue
    guard = metric.guardrail
    return {
        "metric": metric_label(metric, variants=variants),
        "control": format_value(effect.control.mean, fmt, spread),
        "treatment": format_value(effect.treatment.mean, fmt, spread),
        "difference [CI]": format_interval(
            effect.difference, effect.ci_lower, effect.ci_upper, fmt
        ),
        "lift [CI]": lift_text(metric),
        "p-value": format_pvalue(effect.pvalue),
        "adjusted p": format_pvalue(adjusted) if adjusted is not None else "",
        "P(better)": chance_to_win(metric),
        "verdict": VERDICT_MARKS[verdict],
        "guardrail": guard.status.replace("_", " ") if guard is not None else "",
        "CUPED variance": _cuped_cell(metric),
        "relative CI": relative_ci_label(metric),
    }


def _cuped_cell(metric: MetricResult) -> str:
    """CUPED's variance cut, or "not applied" for quantile and clustered metrics."""
    if metric.variance_reduction is not None:
        return format_share_removed(metric.variance_reduction)
    return "not applied" if "CUPED not applied" in metric.note else ""


def relative_ci_label(metric: MetricResult) -> str:
    """The relative CI's method, with Fieller's set shape when it is not an interval."""
    fieller = metric.fieller
    if metric.relative_ci_method != "fieller" or fieller is None:
        return metric.relative_ci_method
    return "Fieller" if fieller.status == "bounded" else f"Fieller ({fieller.status})"


def method_notes(metrics: Sequence[MetricResult], *, key: str) -> None:
    """How each result was computed when not the default (quantile, cluster, Fieller).

    The same notes as the CLI's `note:` lines, one bullet per metric and treatment.
    """
    from abkit.analysis.results import method_notes as notes_of  # load on use

    lines = [
        f"- **{as_text(m.metric)}** ({as_text(m.variant)}): {as_text(text)}"
        for m in metrics
        for text in notes_of(m)
    ]
    if lines:
        with st.container(key=key):
            st.markdown("**Methods**\n\n" + "\n".join(lines))


def cluster_srm_text(result: AnalysisResult, cluster: str | None) -> str:
    """The sample-ratio line: what was counted (units or clusters) and the p-value."""
    srm = result.srm
    counted = f"{cluster} clusters" if cluster else "units"
    counts = ", ".join(
        f"{v} {n:,}" for v, n in zip(result.variants, srm.counts, strict=False)
    )
    return f"Sample ratio over {counted}: {counts} (p {format_pvalue(srm.pvalue)})"


def cluster_robust_info(cluster: str | None, what: str) -> None:
    """Say that `what` is cluster-robust in a cluster-randomized design."""
    if cluster:
        st.info(
            f"**Randomized by {as_text(cluster)}**: {what}, with variances over "
            f"{as_text(cluster)} clusters (sample-ratio tests count clusters).",
            icon=":material/group_work:",
        )


def styled(frame: pd.DataFrame, verdicts: Sequence[str]) -> Styler:
    """Colour the lift and verdict cells of significant rows (green / red)."""
    cells = [VERDICT_CELLS[v] for v in verdicts]

    def colour(column: pd.Series[Any]) -> list[str]:
        if column.name in ("lift [CI]", "verdict"):
            return cells
        return [""] * len(column)

    return frame.style.apply(colour, axis=0)


def styled_overview(frame: pd.DataFrame) -> Styler:
    """The experiments overview: status, failed health and recommendation coloured."""

    def colour(column: pd.Series[Any]) -> list[str]:
        if column.name == "status":
            return [STATUS_CELLS.get(str(v), "") for v in column]
        if column.name == "health":
            return [FAILED_CELL if str(v).startswith("FAILED") else "" for v in column]
        if column.name == "recommendation":
            return [RECOMMENDATION_CELLS.get(str(v), "") for v in column]
        return [""] * len(column)

    return frame.style.apply(colour, axis=0)


def show_metric_table(
    metrics: Sequence[MetricResult],
    *,
    variants: int = 1,
    key: str,
    verdicts: Sequence[str] | None = None,
) -> None:
    """The coloured scorecard table (verdicts: the design's, see `design_verdict`)."""
    keys = list(verdicts) if verdicts is not None else [m.verdict for m in metrics]
    frame = metric_frame(metrics, variants=variants, verdicts=keys)
    st.dataframe(
        styled(frame, keys),
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


def health_failures(result: AnalysisResult) -> None:
    """Failed health checks as one red banner (nothing when none failed)."""
    failed = [c for c in result.health if c.status == "failed"]
    if failed:
        lines = "\n".join(f"- **{c.name}**: {as_text(c.message)}" for c in failed)
        st.error(
            f"**Health check failed — do not trust these numbers.**\n\n{lines}",
            icon=":material/error:",
        )


def health_warnings(result: AnalysisResult, cluster: str | None = None) -> None:
    """Warnings in yellow, a green line when all passed, and every check on demand.

    `cluster`: the randomization column of a cluster-randomized design, whose
    sample-ratio test counts clusters.
    """
    warnings = [c for c in result.health if c.status == "warning"]
    for check in warnings:
        st.warning(
            f"**{check.name}**: {as_text(check.message)}", icon=":material/warning:"
        )
    if result.healthy and not warnings:
        st.success(
            f"All {len(result.health)} health checks passed.",
            icon=":material/check_circle:",
        )
    with st.expander(f"All {len(result.health)} health checks"):
        units = ", ".join(f"{v} {n:,}" for v, n in result.units.items())
        st.caption(
            f"Units: {units} · excluded {result.excluded_units:,} · "
            + as_text(cluster_srm_text(result, cluster))
        )
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
        st.markdown(f"#### {as_text(decision.summary)}")
        if decision.reasons:
            st.markdown("\n".join(f"- {as_text(r)}" for r in decision.reasons))
        st.caption(f"Multiple-testing correction: {decision.correction}")


def primary_cards(result: AnalysisResult, primary: str) -> None:
    """The primary metric's lift per treatment (the design's verdict), P(better), units."""
    metrics = [m for m in result.metrics if m.metric == primary]
    with_bayes = [m for m in metrics if chance_to_win(m) != "–"]
    columns = st.columns(len(metrics) + len(with_bayes) + 1)
    for column, metric in zip(columns, metrics, strict=False):
        verdict = design_verdict(result, metric)
        column.metric(
            f"{primary} · {metric.variant} vs {result.control}",
            lift_text(metric),
            delta=VERDICT_WORDS[verdict],
            delta_color=VERDICT_DELTA_COLOURS[verdict],  # type: ignore[arg-type]
            delta_arrow="off",
            help=f"Relative lift with its {1 - result.alpha:.0%} confidence interval",
            border=True,
        )
    for column, metric in zip(columns[len(metrics) :], with_bayes, strict=False):
        column.metric(
            f"Chance to win · {metric.variant}",
            chance_to_win(metric),
            help="Bayesian P(better than control) for the primary metric: a "
            "secondary view, the verdict comes from the design's test",
            border=True,
        )
    columns[-1].metric(
        "Units analysed",
        f"{sum(result.units.values()):,}",
        help=", ".join(f"{v}: {n:,}" for v, n in result.units.items()),
        border=True,
    )


def guardrail_block(result: AnalysisResult) -> None:
    """The guardrails under the decision: margin, estimate with CI, coloured status."""
    rows = guardrail_rows(result)
    if not rows:
        return
    statuses = [m.guardrail.status for m in result.metrics if m.guardrail is not None]
    several = len(result.variants) > 2
    lines = [
        "| guardrail | margin | estimate [CI] | status |",
        "|---|---:|---:|---|",
    ]
    for row, status in zip(rows, statuses, strict=True):
        name = f"{row[0]} ({row[1]})" if several else row[0]
        mark = f":{GUARDRAIL_COLOURS[status]}[**{as_text(row[4])}**]"
        lines.append(
            f"| {as_text(name)} | {as_text(row[2])} | {as_text(row[3])} | {mark} |"
        )
    with st.container(border=True, key="guardrail_block"):
        st.markdown("**Guardrails**")
        st.markdown("\n".join(lines))
        st.caption(GUARDRAIL_CAPTION)


def as_text(text: object) -> str:
    """User or library text inside Markdown, shown as exactly that text.

    Markdown's special characters (and `$`, which starts LaTeX, and `:`, which
    starts emoji and colour directives) are backslash-escaped, so a title like
    `![](http://…)` shows as text and makes no request.
    """
    return MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def day(value: Any) -> str:
    """A date or datetime as YYYY-MM-DD ('–' if missing)."""
    if value is None:
        return "–"
    return str(value.date() if hasattr(value, "date") else value)

"""Numbers as text, and the plain-text rows every rendering shares.

The terminal tables, the Markdown and HTML reports and the app all show a metric
through these functions, so each output prints the same digits.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from abkit.analysis.text import (
    format_difference,
    format_interval,
    format_lift,
    format_pvalue,
    format_share_removed,
    format_value,
)

if TYPE_CHECKING:  # types only: the app's list imports this without the statistics
    from abkit.analysis.results import AnalysisResult, MetricResult
    from abkit.config import SequentialSettings

VERDICT_MARKS = {
    "better": "▲ better",
    "worse": "▼ worse",
    "no_change": "· no change",
    "not_yet": "· keep running",
    "invalid": "? n/a",
}
VERDICT_WORDS = {
    "better": "significantly better",
    "worse": "significantly worse",
    "no_change": "no significant change",
    "not_yet": "not significant yet (sequential)",
    "invalid": "not computable",
}
"""A verdict in words (the app's legends and metric cards)."""
HEADERS = [
    "metric",
    "control",
    "treatment",
    "difference [CI]",
    "lift [CI]",
    "p-value",
    "verdict",
    "P(better)",
    "CUPED variance",
    "unadjusted lift [CI]",
]
"""The columns of `scorecard_row` (the Markdown and HTML scorecards show them all)."""
SEQUENTIAL_NAMES = {
    "gst": "group-sequential",
    "always_valid": "always-valid confidence sequence",
    "msprt": "mSPRT",
}
SEQUENTIAL_HEADERS = ["metric", "variant", "looks", "information", "test",
                      "sequential CI (lift)", "verdict"]  # fmt: skip


def format_day(value: Any) -> str:
    """The date of a datetime as YYYY-MM-DD, '?' when it is missing."""
    return value.date().isoformat() if value is not None else "?"


def data_window(result: AnalysisResult) -> str:
    """The analysed data window, e.g. '2026-03-02 → 2026-03-16'."""
    return f"{format_day(result.window_start)} → {format_day(result.window_end)}"


def scorecard_row(result: MetricResult, verdict: str | None = None) -> list[str]:
    """One metric's scorecard cells, in the order of `HEADERS`.

    `verdict` is the design's (`design_verdict`); the fixed-horizon one by default.
    """
    effect, fmt = result.effect, result.format
    spread = (effect.ci_upper - effect.ci_lower) / 2
    return [
        result.metric,
        format_value(effect.control.mean, fmt, spread),
        format_value(effect.treatment.mean, fmt, spread),
        format_interval(effect.difference, effect.ci_lower, effect.ci_upper, fmt),
        format_lift(
            effect.relative, effect.relative_ci_lower, effect.relative_ci_upper
        ),
        _pvalue_cell(result),
        VERDICT_MARKS[verdict or result.verdict],
        chance_to_win(result),
        *_cuped_cells(result),
    ]


def design_verdict(result: AnalysisResult, metric: MetricResult) -> str:
    """A metric's one verdict from the design's test (a key of `VERDICT_MARKS`).

    See `abkit.analysis.results.design_verdict` (imported on use, so that this
    module loads without the statistics).
    """
    from abkit.analysis.results import design_verdict as verdict

    return verdict(result, metric)


def verdict_source(result: AnalysisResult) -> str:
    """Which test the verdicts come from, in words."""
    if result.sequential is None:
        return "fixed-horizon test"
    return f"{SEQUENTIAL_NAMES[result.sequential.method]} test (the design's)"


def chance_to_win(result: MetricResult) -> str:
    """The Bayesian P(better than control), '–' without the Bayesian view."""
    view = result.bayes
    if view is None or view.status != "ok":
        return "–"
    return f"{view.chance_to_win:.0%}"


def _pvalue_cell(result: MetricResult) -> str:
    """The p-value; for metrics in the correction family, the adjusted one, marked."""
    if result.adjusted_pvalue is None:
        return format_pvalue(result.effect.pvalue)
    return f"{format_pvalue(result.adjusted_pvalue)} (adj.)"


def _cuped_cells(result: MetricResult) -> list[str]:
    """CUPED's variance cut and the unadjusted lift, or dashes without CUPED."""
    reduction, plain = result.variance_reduction, result.unadjusted
    if reduction is None or plain is None:
        return ["–", "–"]
    unadjusted = format_lift(
        plain.relative, plain.relative_ci_lower, plain.relative_ci_upper
    )
    return [format_share_removed(reduction), unadjusted]


def decision_lines(result: AnalysisResult) -> list[str]:
    """The decision summary, its reasons, and the guardrails, as plain lines."""
    decision = result.decision
    if decision is None:
        return []
    lines = [f"Decision: {decision.summary}"]
    lines += [f"  · {reason}" for reason in decision.reasons]
    if result.correction != "none":
        lines.append(
            f"  multiple testing: {result.correction} over the decision family"
        )
    return lines


GUARDRAIL_HEADERS = ["guardrail", "variant", "margin", "estimate [CI]", "status"]
GUARDRAIL_CAPTION = (
    "margin: the worst change tolerated; CI: the one-sided bounds the margin is "
    "tested against"
)
"""The guardrail block's columns (`guardrail_rows`)."""
GUARDRAIL_WORDS = {
    "not_harmed": "shown safe",
    "harmed": "HARMED",
    "inconclusive": "not yet shown safe",
}


def guardrail_rows(result: AnalysisResult) -> list[list[str]]:
    """Per guardrail × treatment: margin, estimate with its CI, and status in words.

    The margin is the worst change tolerated (e.g. -2.0%: may not fall by more than
    2%). The interval is the guardrail test's (1 − 2α two-sided, i.e. the one-sided
    bound the margin is tested against); relative margins are in %, absolute ones in
    the metric's units.
    """
    rows = []
    for metric in result.metrics:
        guard = metric.guardrail
        if guard is None:
            continue
        relative = math.isclose(guard.estimate, metric.effect.relative)
        sign = -1 if guard.higher_is_better else 1
        if relative:
            margin = f"{sign * guard.margin:+.1%}"
            estimate = format_lift(guard.estimate, guard.ci_lower, guard.ci_upper)
        else:
            margin = format_difference(sign * guard.margin, metric.format)
            estimate = format_interval(
                guard.estimate, guard.ci_lower, guard.ci_upper, metric.format
            )
        rows.append([metric.metric, metric.variant, margin, estimate,
                     GUARDRAIL_WORDS[guard.status]])  # fmt: skip
    return rows


def bayes_lines(result: AnalysisResult) -> list[str]:
    """Chance to beat control and expected loss per metric (a different question)."""
    lines = []
    for metric in result.metrics:
        view = metric.bayes
        if view is None or view.status != "ok":
            continue
        lines.append(
            f"{metric.metric} ({metric.variant}): P(better) {view.chance_to_win:.1%}, "
            f"credible interval {view.ci_lower:+.1%} to {view.ci_upper:+.1%}, "
            f"expected loss if shipped {view.risk_treatment:.2%}"
        )
    return lines


def metric_notes(result: AnalysisResult) -> list[str]:
    """Footnotes on how metrics were computed (caps, degenerate results, methods)."""
    from abkit.analysis.results import (
        metric_notes,  # the app's list loads no statistics
    )

    return metric_notes(result.metrics)


def sequential_design(settings: SequentialSettings) -> str:
    """The sequential plan in words, e.g. 'group-sequential, obf spending, planned …'."""
    spending = ""
    if settings.method == "gst":
        sides = "α/2 per side" if settings.convention == "per-side" else "α two-sided"
        spending = (
            ", Pocock constant boundary"
            if settings.spending == "pocock_constant"
            else f", {settings.spending} spending ({sides})"
        )
    return (
        f"{SEQUENTIAL_NAMES[settings.method]}{spending}, planned "
        f"{settings.planned_units:,} units (safe to look daily)"
    )


def sequential_rows(result: AnalysisResult) -> list[list[str]]:
    """Per metric × treatment: looks, information, z against bound, verdict.

    Every metric has a row; one without a look yet says so.
    """
    settings = result.sequential
    rows = []
    for series in result.series:
        look = series.current
        if settings is None:
            continue
        if look is None:
            rows.append([series.metric, series.variant, "0", "0%", "-", "-",
                         "no look yet (too few units)"])  # fmt: skip
            continue
        lower, upper = look.sequential_relative
        fraction = (look.n_control + look.n_treatment) / settings.planned_units
        verdict = (
            f"crossed on {series.crossing_day.isoformat()}"
            if series.crossed and series.crossing_day
            else "keep running"
        )
        guard = series.non_inferiority
        if guard is not None:
            verdict += (
                f"; non-inferior since {guard.shown_day.isoformat()}"
                if guard.shown and guard.shown_day
                else "; non-inferiority not yet shown"
            )
        bound = f"|z| {abs(look.z):.2f} vs {look.z_bound:.2f}" if settings.method == "gst" else (
            f"p {format_pvalue(look.pvalue)}"
        )  # fmt: skip
        rows.append([
            series.metric, series.variant, str(len(series.looks)), f"{fraction:.0%}",
            bound, f"[{lower:+.1%}, {upper:+.1%}]", verdict,
        ])  # fmt: skip
    return rows

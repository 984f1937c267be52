"""The arm comparison: each metric's treatment tested against the control.

The plain test suits the metric kind (Welch for means and ratios, a two-proportion
z-test for binary metrics or an exact test at small counts, STATS.md §1–2); with
CUPED on, Welch runs on the adjusted arms and the plain test is kept beside it
(STATS.md §3). Moments no real data could produce are reported as "inconsistent"
and never tested.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from abkit.aggregates.moments import JointMoments
from abkit.aggregates.rows import GroupKey, VariantMoments
from abkit.analysis.relative_ci import with_relative_ci
from abkit.analysis.results import MetricResult
from abkit.config import CupedSettings, Experiment, Metric, ProportionSettings
from abkit.sql.variables import MetricVariables, experiment_variables
from abkit.stats.cuped import (
    CupedAdjustment,
    cuped_adjust,
    cuped_ratio_adjust,
    regression_adjust,
)
from abkit.stats.delta import ratio_estimate
from abkit.stats.exact import proportion_test
from abkit.stats.status import joint_consistent
from abkit.stats.welch import ArmEstimate, EffectResult, untestable, welch_test

DEFAULT_PROPORTIONS = ProportionSettings()


@dataclass(frozen=True, slots=True)
class Comparison:
    """A metric's test, with the CUPED adjustment and the unadjusted test if used."""

    effect: EffectResult
    adjustment: CupedAdjustment | None = None
    unadjusted: EffectResult | None = None


def unadjusted_test(
    metric: Metric,
    control: JointMoments,
    treatment: JointMoments,
    alpha: float,
    proportions: ProportionSettings = DEFAULT_PROPORTIONS,
) -> EffectResult:
    """The plain test suited to the metric kind (STATS.md §1, §2)."""
    if metric.kind == "ratio":
        return welch_test(
            ratio_estimate(control, "value", "den"),
            ratio_estimate(treatment, "value", "den"),
            alpha,
        )
    if metric.is_binary:
        return proportion_test(
            control.marginal("value"), treatment.marginal("value"), alpha,
            exact_below=proportions.exact_below, exact_test=proportions.exact_test,
            continuity=proportions.continuity_correction,
        )  # fmt: skip
    return welch_test(
        ArmEstimate.from_moments(control.marginal("value")),
        ArmEstimate.from_moments(treatment.marginal("value")),
        alpha,
    )


def moments_consistent(metric: Metric, *arms: JointMoments) -> bool:
    """Whether real values can have every arm's joint moments (binary roles 0/1)."""
    binary = ("value", "pre") if metric.is_binary else ()
    return all(joint_consistent(arm, binary) for arm in arms)


def cuped_adjustment(
    metric: Metric,
    control: JointMoments,
    treatment: JointMoments,
    settings: CupedSettings,
) -> CupedAdjustment:
    """CUPED on the metric's pre-period value, plus any extra covariates (STATS §3)."""
    if metric.kind == "ratio":
        return cuped_ratio_adjust(control, treatment)
    extra = tuple(r for r in control.names if r.startswith(("cov__", "unit__")))
    if extra or settings.ridge:
        return regression_adjust(
            control, treatment, covariates=("pre", *extra), ridge=settings.ridge,
            method=settings.method,
        )  # fmt: skip
    return cuped_adjust(control, treatment, method=settings.method)


def compare(
    metric: Metric,
    control: JointMoments,
    treatment: JointMoments,
    alpha: float,
    cuped: CupedSettings | None = None,
    proportions: ProportionSettings = DEFAULT_PROPORTIONS,
) -> Comparison:
    """Test one metric; with CUPED settings, Welch on the adjusted arms."""
    plain = unadjusted_test(metric, control, treatment, alpha, proportions)
    if not moments_consistent(metric, control, treatment):
        arms = (plain.control, plain.treatment)
        return Comparison(untestable(*arms, alpha, plain.test, "inconsistent"))
    if cuped is None or not cuped.enabled or not metric.cuped:
        return Comparison(plain)
    adjustment = cuped_adjustment(metric, control, treatment, cuped)
    if adjustment.status != "ok":
        return Comparison(plain, adjustment, plain)
    adjusted = welch_test(adjustment.control, adjustment.treatment, alpha)
    return Comparison(adjusted, adjustment, plain)


def cap_rule(metric: Metric) -> str:
    """How a metric's cap was computed, in words."""
    spec = metric.winsorize
    if spec is None:
        return ""
    source = (
        "pre-period values" if spec.source == "pre_period" else "in-experiment values"
    )
    among = "non-zero " if spec.ignore_zeros else ""
    return f"p{spec.upper * 100:g} of all exposed units' {among}{source}, pooled across arms"


def metric_results(
    experiment: Experiment,
    moments: VariantMoments,
    key: GroupKey = None,
    caps: Mapping[str, float] | None = None,
) -> tuple[MetricResult, ...]:
    """Every metric × treatment compared with the control.

    A variant without units in a group (a segment value) compares as empty moments,
    which the tests report as too few units.
    """
    caps = caps or {}
    results = []
    for plan in experiment_variables(experiment):
        metric = plan.metric
        if metric.kind == "quantile":  # order statistics: abkit.analysis.quantiles
            continue
        control = _arm_moments(moments, experiment.control, plan)
        for variant in experiment.treatments:
            treated = _arm_moments(moments, variant, plan)
            comparison = compare(
                metric, control, treated, experiment.alpha, experiment.cuped,
                experiment.proportions,
            )  # fmt: skip
            results.append(with_relative_ci(
                MetricResult(
                    metric.name,
                    metric.kind,
                    metric.direction,
                    metric.format,
                    variant,
                    comparison.effect,
                    metric.description,
                    key[0] if key else None,
                    key[1] if key else None,
                    caps.get(metric.name),
                    cap_rule(metric),
                    comparison.adjustment,
                    comparison.unadjusted,
                ),
                experiment.relative_ci,
            ))  # fmt: skip
    return tuple(results)


def _arm_moments(
    moments: VariantMoments, variant: str, plan: MetricVariables
) -> JointMoments:
    found = moments.get(variant, {}).get(plan.metric.name)
    return found if found is not None else JointMoments.empty(plan.roles)

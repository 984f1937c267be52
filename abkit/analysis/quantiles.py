"""Quantile metrics in the scorecard: the quantile query's rows turned into results.

One row per quantile metric and arm comes back from queries/quantiles.sql (N, the
quantile, the bounding order statistics, the per-unit indicator sums). Each
treatment's quantile is compared with the control's by the metric's interval: the
order-statistic (outer) CI of each arm (`abkit.stats.quantile`), or Price–Bonett's
for the difference and ratio of medians (`abkit.stats.price_bonett`); the lift
shown is the relative difference of quantiles. CUPED is not applied to quantile
metrics, and the result says so.

`relative_ci: fieller` replaces the lift's delta-method CI by Fieller's on the same
standard errors; a Price–Bonett median of positive values keeps its own log-scale
ratio CI (Fieller applies there only when some value is ≤ 0).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from abkit.analysis.relative_ci import with_relative_ci
from abkit.analysis.results import MetricResult
from abkit.config import Experiment, Metric
from abkit.sql.quantiles import quantile_metrics, quantile_z
from abkit.stats.price_bonett import MedianArm, median_difference
from abkit.stats.quantile import QuantileArm, quantile_difference
from abkit.stats.welch import EffectResult

if TYPE_CHECKING:  # the frames come from the caller; pandas is not imported here
    import pandas as pd

CUPED_NOT_APPLIED = (
    "CUPED not applied to quantile metrics (no standard method over sufficient "
    "statistics)"
)
PRICE_BONETT = "Price–Bonett CI of the difference of medians (Bonett & Price 2002)"
LOG_RATIO = "lift CI from the ratio of medians on the log scale"
DELTA_LIFT = (
    "lift CI by the delta method on the Price–Bonett standard errors (some values "
    "are <= 0, so no log-scale ratio)"
)
OUTER_CI = "outer CI by order statistics (Deng et al. 2018)"


def read_quantile_arms(frame: pd.DataFrame | None) -> dict[str, dict[str, QuantileArm]]:
    """Quantile arms by metric name, then variant."""
    arms: dict[str, dict[str, QuantileArm]] = {}
    if frame is None:
        return arms
    records: list[dict[Any, Any]] = frame.to_dict("records")
    for row in records:
        arms.setdefault(str(row["metric"]), {})[str(row["variant"])] = quantile_arm(row)
    return arms


def quantile_arm(row: Mapping[Any, Any]) -> QuantileArm:
    """One row of quantile_bounds.sql as a QuantileArm."""
    return QuantileArm(
        units=int(row["clusters"]),
        observations=int(row["n"]),
        quantile=float(row["quantile"]),
        lower=float(row["lower"]),
        upper=float(row["upper"]),
        deff=float(row["deff"]),
        minimum=float(row.get("minimum", math.nan)),
    )


def median_arm(arm: QuantileArm) -> MedianArm:
    """A median row of the SQL as Price–Bonett's arm."""
    return MedianArm(arm.observations, arm.quantile, arm.lower, arm.upper, arm.minimum)


def compare_quantiles(
    metric: Metric, control: QuantileArm, treatment: QuantileArm, alpha: float
) -> tuple[EffectResult, bool]:
    """The metric's test of treatment − control; True when the lift CI is log-ratio.

    The same test in the scorecard and in the A/A replay.
    """
    if metric.interval == "price_bonett":
        return median_difference(median_arm(control), median_arm(treatment), alpha)
    return quantile_difference(control, treatment, alpha, quantile_z(alpha)), False


def quantile_note(
    metric: Metric, arms: Mapping[str, QuantileArm], log_ratio: bool = False
) -> str:
    """What the scorecard says about a quantile result: level, interval, CUPED."""
    label = f"p{metric.quantile * 100:g}" if metric.quantile else "quantile"
    if metric.interval == "price_bonett":
        lift = LOG_RATIO if log_ratio else DELTA_LIFT
        return f"median of per-unit values, {PRICE_BONETT}, {lift}; {CUPED_NOT_APPLIED}"
    if metric.level == "event" and arms:
        deff = max(arm.deff for arm in arms.values())
        level = f"{label} of event values clustered by unit (design effect {deff:.2f})"
    else:
        level = f"{label} of per-unit values"
    return f"{level}, {OUTER_CI}; {CUPED_NOT_APPLIED}"


def _empty_arm() -> QuantileArm:
    nan = float("nan")
    return QuantileArm(0, 0, nan, nan, nan)


def quantile_results(
    experiment: Experiment, frame: pd.DataFrame | None
) -> tuple[MetricResult, ...]:
    """Every quantile metric × treatment compared with the control."""
    arms = read_quantile_arms(frame)
    results = []
    for metric in quantile_metrics(experiment):
        by_variant = arms.get(metric.name, {})
        control = by_variant.get(experiment.control, _empty_arm())
        for variant in experiment.treatments:
            treated = by_variant.get(variant, _empty_arm())
            effect, log_ratio = compare_quantiles(
                metric, control, treated, experiment.alpha
            )
            result = MetricResult(
                metric.name,
                metric.kind,
                metric.direction,
                metric.format,
                variant,
                effect,
                metric.description,
                note=quantile_note(metric, by_variant, log_ratio),
            )
            if log_ratio:
                result = dataclasses.replace(result, relative_ci_method="price_bonett")
            else:
                result = with_relative_ci(result, experiment.relative_ci)
            results.append(result)
    return tuple(results)

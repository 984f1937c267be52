"""Quantile metrics in the scorecard: the quantile query's rows turned into results.

One row per quantile metric and arm comes back from queries/quantiles.sql (N, the
quantile, the bounding order statistics, the per-unit indicator sums). Each
treatment's quantile is compared with the control's by the order-statistic method
(`abkit.stats.quantile`); the lift shown is the relative difference of quantiles.
CUPED is not applied to quantile metrics, and the result says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from abkit.analysis.relative_ci import with_relative_ci
from abkit.analysis.results import MetricResult
from abkit.config import Experiment, Metric
from abkit.sql.quantiles import quantile_metrics, quantile_z
from abkit.stats.quantile import QuantileArm, quantile_difference

CUPED_NOT_APPLIED = (
    "CUPED not applied to quantile metrics (no standard method over sufficient "
    "statistics)"
)


def read_quantile_arms(frame: pd.DataFrame | None) -> dict[str, dict[str, QuantileArm]]:
    """Quantile arms by metric name, then variant."""
    arms: dict[str, dict[str, QuantileArm]] = {}
    if frame is None:
        return arms
    records: list[dict[Any, Any]] = frame.to_dict("records")
    for row in records:
        arms.setdefault(str(row["metric"]), {})[str(row["variant"])] = QuantileArm(
            units=int(row["clusters"]),
            observations=int(row["n"]),
            quantile=float(row["quantile"]),
            lower=float(row["lower"]),
            upper=float(row["upper"]),
            deff=float(row["deff"]),
        )
    return arms


def quantile_note(metric: Metric, arms: Mapping[str, QuantileArm]) -> str:
    """What the scorecard says about a quantile result: level, design effect, CUPED."""
    label = f"p{metric.quantile * 100:g}" if metric.quantile else "quantile"
    if metric.level == "event" and arms:
        deff = max(arm.deff for arm in arms.values())
        level = f"{label} of event values clustered by unit (design effect {deff:.2f})"
    else:
        level = f"{label} of per-unit values"
    return f"{level}; {CUPED_NOT_APPLIED}"


def _empty_arm() -> QuantileArm:
    nan = float("nan")
    return QuantileArm(0, 0, nan, nan, nan)


def quantile_results(
    experiment: Experiment, frame: pd.DataFrame | None
) -> tuple[MetricResult, ...]:
    """Every quantile metric × treatment compared with the control."""
    arms = read_quantile_arms(frame)
    z = quantile_z(experiment.alpha)
    results = []
    for metric in quantile_metrics(experiment):
        by_variant = arms.get(metric.name, {})
        control = by_variant.get(experiment.control, _empty_arm())
        note = quantile_note(metric, by_variant)
        for variant in experiment.treatments:
            treated = by_variant.get(variant, _empty_arm())
            effect = quantile_difference(control, treated, experiment.alpha, z)
            result = MetricResult(
                metric.name,
                metric.kind,
                metric.direction,
                metric.format,
                variant,
                effect,
                metric.description,
                note=note,
            )
            results.append(with_relative_ci(result, experiment.relative_ci))
    return tuple(results)

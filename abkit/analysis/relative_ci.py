"""The relative lift's interval by the method exp.yaml chose: delta method or Fieller.

The tests in `abkit.stats` give every result a delta-method relative CI. With
`relative_ci: fieller` the interval is replaced by Fieller's confidence set over the
same arm estimates and critical value (`abkit.stats.fieller`); a set that is not an
ordinary interval (exclusive or unbounded, when the control mean is not
significantly non-zero) leaves the effect's relative bounds NaN and keeps the set,
with its status, on the `MetricResult`.
"""

from __future__ import annotations

import dataclasses
import math

from abkit.analysis.results import MetricResult
from abkit.stats.fieller import fieller_interval
from abkit.stats.welch import EffectResult, critical_value


def with_relative_ci(result: MetricResult, method: str) -> MetricResult:
    """The result with its relative CI computed by `method` (delta or fieller)."""
    if method != "fieller":
        return result
    effect = result.effect
    fieller = fieller_interval(effect.control, effect.treatment, _quantile(effect))
    bounded = fieller.status == "bounded"
    lower = fieller.lower if bounded else math.nan
    upper = fieller.upper if bounded else math.nan
    replaced = dataclasses.replace(
        effect, relative_ci_lower=lower, relative_ci_upper=upper
    )
    return dataclasses.replace(
        result, effect=replaced, relative_ci_method="fieller", fieller=fieller
    )


def _quantile(effect: EffectResult) -> float:
    """The critical value of the effect's own test (z or Welch t)."""
    df = effect.df if not math.isnan(effect.df) else math.inf
    return critical_value(effect.alpha, df)

"""Delta-method estimates: ratio metrics and relative lifts (STATS.md §1.3, §2).

Sources: GrowthBook docs `statistics/details` eq. 1–2 and 11–12; tea-tasting
`Aggregates.ratio_var`; Deng, Knoblich, Lu (2018), "Applying the Delta Method in
Metric Analytics".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from abkit.aggregates.moments import JointMoments
from abkit.stats.estimate import ArmEstimate


@dataclass(frozen=True, slots=True)
class RelativeLift:
    """Relative lift (treatment / control − 1) with its delta-method CI."""

    estimate: float
    standard_error: float
    ci_lower: float
    ci_upper: float


def relative_lift(
    control: ArmEstimate, treatment: ArmEstimate, quantile: float
) -> RelativeLift:
    """Relative lift L = ȳ_T/ȳ_C − 1, Var ≈ v_T/ȳ_C² + ȳ_T² v_C/ȳ_C⁴ (STATS.md §1.3).

    Arms are independent, so the covariance term is zero. Undefined (NaN) when the
    control estimate is 0.

    Args:
        control: control arm estimate.
        treatment: treatment arm estimate.
        quantile: the two-sided critical value (z or Welch t) for the interval.
    """
    mean_c, mean_t = control.mean, treatment.mean
    nan = RelativeLift(math.nan, math.nan, math.nan, math.nan)
    if mean_c * mean_c == 0 or math.isnan(
        mean_c
    ):  # 0, or so small its square underflows
        return nan
    ratio = mean_t / mean_c
    variance = (treatment.mean_variance + ratio**2 * control.mean_variance) / mean_c**2
    if not math.isfinite(ratio) or math.isnan(variance):
        return nan
    estimate = ratio - 1
    se = math.sqrt(variance)
    return RelativeLift(
        estimate, se, estimate - quantile * se, estimate + quantile * se
    )


def ratio_variance(moments: JointMoments, numerator: str, denominator: str) -> float:
    """Per-unit delta-method variance σ²_R of R = Σm/Σd (STATS.md §2, GB eq. 12).

    σ²_R = (s²_m − 2R s_md + R² s²_d) / d̄². Var(R̂) = σ²_R / n.
    """
    mean_d = moments.mean(denominator)
    ratio = moments.mean(numerator) / mean_d
    var_m = moments.covariance(numerator, numerator)
    var_d = moments.covariance(denominator, denominator)
    cov_md = moments.covariance(numerator, denominator)
    return max(var_m - 2 * ratio * cov_md + ratio**2 * var_d, 0.0) / mean_d**2


def ratio_estimate(
    moments: JointMoments, numerator: str, denominator: str
) -> ArmEstimate:
    """An arm's ratio Σm/Σd and the delta-method variance of that ratio.

    The randomization unit (the user) is the unit of the sums, so likes that share
    a user stay correlated: the naive per-event variance would be too narrow.
    """
    n = moments.n
    sum_d = moments.sums[moments.index(denominator)]
    if n < 2 or sum_d == 0:
        ratio = moments.sums[moments.index(numerator)] / sum_d if sum_d else math.nan
        return ArmEstimate(n, ratio, math.nan)
    ratio = moments.sums[moments.index(numerator)] / sum_d
    return ArmEstimate(n, ratio, ratio_variance(moments, numerator, denominator) / n)

"""Delta-method estimates: ratio metrics and relative lifts (STATS.md §1.3, §2).

Sources: GrowthBook docs `statistics/details` eq. 1–2 and 11–12; tea-tasting
`Aggregates.ratio_var`; Deng, Knoblich, Lu (2018), "Applying the Delta Method in
Metric Analytics".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from abkit.aggregates.moments import JointMoments
from abkit.stats.estimate import INCONSISTENT_VARIANCE, ArmEstimate
from abkit.stats.status import joint_consistent


@dataclass(frozen=True, slots=True)
class RelativeLift:
    """Relative lift (treatment − control) / |control| with its delta-method CI.

    `status` is "ok", or "zero_control_mean" when the lift is undefined: the
    control estimate is 0, not finite, or so close to 0 that the lift or its
    standard error overflows. Then every number is NaN.
    """

    estimate: float
    standard_error: float
    ci_lower: float
    ci_upper: float
    status: Literal["ok", "zero_control_mean"] = "ok"


UNDEFINED_LIFT = RelativeLift(
    math.nan, math.nan, math.nan, math.nan, "zero_control_mean"
)


def relative_lift(
    control: ArmEstimate, treatment: ArmEstimate, quantile: float
) -> RelativeLift:
    """Relative lift L = (ȳ_T − ȳ_C)/|ȳ_C| with its delta-method CI (STATS.md §1.3).

    Dividing by |ȳ_C| (as GrowthBook does) makes the sign of the lift follow the
    sign of the difference, so a metric with a negative baseline (net revenue
    after refunds, a score change) that rises gets a positive lift. For ȳ_C > 0
    this is ȳ_T/ȳ_C − 1. The delta-method variance is the same either side of 0,
    Var ≈ v_T/ȳ_C² + ȳ_T² v_C/ȳ_C⁴; arms are independent, so there is no
    covariance term. Computed as hypot(SE_T, |ȳ_T/ȳ_C|·SE_C)/|ȳ_C|, which never
    raises: a lift too large for floating point is reported as undefined.

    Args:
        control: control arm estimate.
        treatment: treatment arm estimate.
        quantile: the two-sided critical value (z or Welch t) for the interval.
    """
    mean_c, mean_t = control.mean, treatment.mean
    scale = abs(mean_c)
    if not (math.isfinite(mean_t) and math.isfinite(scale) and scale > 0):
        return UNDEFINED_LIFT
    estimate = (mean_t - mean_c) / scale
    if not (control.consistent and treatment.consistent):
        return RelativeLift(estimate, math.nan, math.nan, math.nan)
    ratio = abs(mean_t / scale)
    se = math.hypot(treatment.standard_error, ratio * control.standard_error) / scale
    if not (math.isfinite(estimate) and math.isfinite(se)):
        return UNDEFINED_LIFT
    half = quantile * se
    return RelativeLift(estimate, se, estimate - half, estimate + half)


def ratio_variance(moments: JointMoments, numerator: str, denominator: str) -> float:
    """Per-unit delta-method variance σ²_R of R = Σm/Σd (STATS.md §2, GB eq. 12).

    σ²_R = (s²_m − 2R s_md + R² s²_d) / d̄². Var(R̂) = σ²_R / n.
    """
    mean_d = moments.mean(denominator)
    if moments.n < 2 or not (math.isfinite(mean_d) and mean_d != 0):
        return math.nan
    ratio = moments.mean(numerator) / mean_d
    var_m = moments.covariance(numerator, numerator)
    var_d = moments.covariance(denominator, denominator)
    cov_md = moments.covariance(numerator, denominator)
    spread = var_m - 2 * ratio * cov_md + ratio * ratio * var_d
    return max(spread, 0.0) / mean_d / mean_d


def ratio_estimate(
    moments: JointMoments, numerator: str, denominator: str
) -> ArmEstimate:
    """An arm's ratio Σm/Σd and the delta-method variance of that ratio.

    The randomization unit (the user) is the unit of the sums, so likes that share
    a user stay correlated: the naive per-event variance would be too narrow.
    Joint moments no real data could produce (see
    `abkit.stats.status.joint_consistent`) give `INCONSISTENT_VARIANCE`.
    """
    n = moments.n
    sum_m = moments.sums[moments.index(numerator)]
    sum_d = moments.sums[moments.index(denominator)]
    ratio = sum_m / sum_d if sum_d else math.nan
    if not joint_consistent(moments):
        return ArmEstimate(n, ratio, INCONSISTENT_VARIANCE)
    if n < 2 or sum_d == 0:
        return ArmEstimate(n, ratio, math.nan)
    return ArmEstimate(n, ratio, ratio_variance(moments, numerator, denominator) / n)

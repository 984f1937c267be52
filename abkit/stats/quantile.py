"""Quantile metrics: per-arm order-statistic CI and the difference of quantiles.

Deng, Knoblich & Lu (2018), "Applying the Delta Method in Metric Analytics: A
Practical Guide with Novel Ideas", KDD, §4 ("outer CI"): with N observations the
p-quantile's 1 − α interval is the pair of order statistics at the ranks

    N·p ± z·sqrt(N·p(1 − p))        (unit level: i.i.d. observations)

and, when the observations are events clustered in units (§4.2), the binomial
variance p(1 − p)/N of the empirical CDF at the quantile is replaced by its
cluster-robust (delta-method) variance, i.e. multiplied by the design effect

    deff = Var_delta(F̂(q)) / (F̂(q)(1 − F̂(q))/N),
    F̂(q) = Σ_i s_i / Σ_i m_i,  s_i = #{events of unit i ≤ q},  m_i = #events of unit i.

The interval's width is ≈ 2z·SE(q̂) (q̂ ≈ F⁻¹ by the delta method with the density
f(q) implied by the order statistics), so SE(q̂) = (upper − lower)/(2z), and the
difference (and relative difference) of two independent arms' quantiles is a
z-test on those standard errors (Deng et al. §4, "difference of quantiles").

Everything here takes a few numbers per arm computed in SQL (queries/quantiles.sql).
CUPED is not applied: no standard method adjusts a quantile from sufficient statistics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from abkit.stats.estimate import ArmEstimate
from abkit.stats.floats import ratio, square
from abkit.stats.welch import EffectResult, z_test


@dataclass(frozen=True, slots=True)
class ClusterSums:
    """Per-unit sums of the indicator 1{y ≤ q}: s_i (events ≤ q) and m_i (events).

    Attributes:
        clusters: number of units K.
        s: Σ s_i.  s_sq: Σ s_i².  m: Σ m_i.  m_sq: Σ m_i².  sm: Σ s_i·m_i.
    """

    clusters: int
    s: float
    s_sq: float
    m: float
    m_sq: float
    sm: float

    @property
    def cdf(self) -> float:
        """F̂(q): the share of events at or below the quantile."""
        return self.s / self.m if self.m else math.nan


def cdf_variance(sums: ClusterSums) -> float:
    """Cluster-robust (delta-method ratio) variance of F̂(q) = Σs/Σm (STATS §2)."""
    k = sums.clusters
    if k < 2 or sums.m == 0:
        return math.nan
    cdf = sums.cdf
    var_s = (sums.s_sq - square(sums.s) / k) / (k - 1)
    var_m = (sums.m_sq - square(sums.m) / k) / (k - 1)
    cov = (sums.sm - sums.s * sums.m / k) / (k - 1)
    mean_m = sums.m / k
    spread = var_s - 2 * cdf * cov + square(cdf) * var_m
    return ratio(max(spread, 0.0), square(mean_m) * k)


def design_effect(sums: ClusterSums) -> float:
    """Var_delta(F̂) over the binomial F̂(1 − F̂)/N; 1 when either is undefined."""
    ratio = sums.cdf
    binomial = ratio * (1 - ratio) / sums.m if sums.m else math.nan
    clustered = cdf_variance(sums)
    if not binomial > 0 or math.isnan(clustered):
        return 1.0
    return clustered / binomial


def rank_bounds(n: int, p: float, z: float, deff: float = 1.0) -> tuple[int, int]:
    """1-based ranks of the order statistics bounding the p-quantile's CI.

    floor(N·p − z·sqrt(deff·N·p(1−p))) and ceil(N·p + z·sqrt(deff·N·p(1−p))),
    clipped to [1, N] (Deng et al. 2018 §4; the same formula as quantiles.sql).
    """
    half = z * math.sqrt(deff * n * p * (1 - p))
    if not math.isfinite(half):  # a huge design effect: the CI spans every rank
        return 1, n
    lower = max(1, math.floor(n * p - half))
    upper = min(n, math.ceil(n * p + half))
    return lower, upper


def point_rank(n: int, p: float) -> int:
    """Rank of the p-quantile: ceil(N·p), the inverse of the empirical CDF."""
    return min(max(1, math.ceil(n * p)), n)


@dataclass(frozen=True, slots=True)
class QuantileArm:
    """One arm's quantile and the order statistics bounding its CI.

    Attributes:
        units: randomization units contributing (the arm's n for the test).
        observations: values ranked (units, or events at the event level).
        quantile: the p-quantile, the order statistic of rank ceil(N·p).
        lower: order statistic at the lower bound rank.
        upper: order statistic at the upper bound rank.
        deff: the design effect used for the ranks (1 at the unit level).
        minimum: the smallest value ranked (NaN when unknown); Price–Bonett's
            ratio of medians needs it > 0.
    """

    units: int
    observations: int
    quantile: float
    lower: float
    upper: float
    deff: float = 1.0
    minimum: float = math.nan

    def estimate(self, z: float) -> ArmEstimate:
        """The quantile with Var(q̂) = ((upper − lower) / 2z)² (Deng et al. §4)."""
        if self.observations < 2 or math.isnan(self.lower + self.upper):
            return ArmEstimate(self.units, self.quantile, math.nan)
        se = (self.upper - self.lower) / (2 * z)
        return ArmEstimate(self.units, self.quantile, se * se)


def quantile_difference(
    control: QuantileArm, treatment: QuantileArm, alpha: float, z: float
) -> EffectResult:
    """Difference and relative difference of two arms' quantiles (normal test).

    Args:
        control: control arm.
        treatment: treatment arm.
        alpha: two-sided level of the test and the CIs.
        z: the critical value the bound ranks were computed with.
    """
    return z_test(control.estimate(z), treatment.estimate(z), alpha)

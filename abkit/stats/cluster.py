"""Cluster-randomized designs: cluster-robust variances, design effect and ICC from sums.

When clusters (cities, schools, match pairs) are randomized but the metric is per
analysis unit (the user), an arm's metric is the ratio R = Σ_c Y_c / Σ_c D_c of
cluster sums (Y_c the sum of the cluster's unit values, D_c its unit count — or, for a
ratio metric, the sum of its denominators). Its delta-method variance over the K
independent clusters (STATS §2, Deng, Knoblich & Lu 2018 §3) is

    Var(R̂) = K/(K − 1) · Σ_c (Y_c − R·D_c)² / (Σ_c D_c)²,

the cluster-robust (CR0) sandwich variance of the arm mean times the small-sample
factor K/(K − 1) of the sample variances. R̂ is the per-unit mean, the same point
estimate as OLS y ~ 1 + treatment; the SE equals statsmodels'
`cov_type="cluster"` with `use_correction=False` when `small_sample=False`.

The design effect is Var(R̂) over the i.i.d. variance s²/N; the intra-cluster
correlation is the one-way ANOVA estimator (Donner & Klar 2000, §3.3):

    ICC = (MSB − MSW) / (MSB + (n₀ − 1)·MSW),  n₀ = (N − Σ N_c²/N) / (K − 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from abkit.stats.estimate import ArmEstimate
from abkit.stats.floats import ratio, square


@dataclass(frozen=True, slots=True)
class ClusterArm:
    """One arm's cluster sums of a metric (from queries/cluster_moments.sql).

    Attributes:
        clusters: K, clusters with at least one analysed unit.
        units: N, analysed units.
        y: Σ Y_c (= Σ of unit values).  y_sq: Σ of squared unit values.
        d: Σ D_c.  yc_sq: Σ Y_c².  dc_sq: Σ D_c².  yd: Σ Y_c·D_c.
        y_sq_over_units: Σ Y_c²/N_c (the between-cluster sum of squares).
    """

    clusters: int
    units: int
    y: float
    y_sq: float
    d: float
    yc_sq: float
    dc_sq: float
    yd: float
    y_sq_over_units: float = math.nan

    @property
    def n(self) -> int:
        """Analysed units: what a daily look counts (its information fraction)."""
        return self.units

    def __add__(self, other: ClusterArm) -> ClusterArm:
        """Field-wise sum: disjoint cluster sets, or a look's increments (see below).

        Added over clusters or over cohorts of the same clusters, Σ_c Y_c² is only
        additive as increments Y_c(k)² − Y_c(k−1)² (queries/cluster_moments.sql's
        daily rows), which is what the daily looks add.
        """
        return ClusterArm(
            self.clusters + other.clusters,
            self.units + other.units,
            self.y + other.y,
            self.y_sq + other.y_sq,
            self.d + other.d,
            self.yc_sq + other.yc_sq,
            self.dc_sq + other.dc_sq,
            self.yd + other.yd,
            self.y_sq_over_units + other.y_sq_over_units,
        )

    @property
    def ratio(self) -> float:
        """R = ΣY/ΣD: the per-unit mean (or the ratio metric)."""
        return self.y / self.d if self.d else math.nan

    def residual_sum_of_squares(self) -> float:
        """Σ_c (Y_c − R·D_c)², expanded over the sums."""
        r = self.ratio
        return max(self.yc_sq - 2 * r * self.yd + r * r * self.dc_sq, 0.0)


def cluster_variance(arm: ClusterArm, *, small_sample: bool = True) -> float:
    """Cluster-robust variance of the arm's R̂ (CR0, times K/(K−1) by default)."""
    if arm.clusters < 2 or not arm.d:
        return math.nan
    variance = ratio(arm.residual_sum_of_squares(), square(arm.d))
    if small_sample:
        variance *= arm.clusters / (arm.clusters - 1)
    return variance


def cluster_estimate(arm: ClusterArm, *, small_sample: bool = True) -> ArmEstimate:
    """The arm's R̂ with its cluster-robust variance; n counts clusters."""
    return ArmEstimate(
        arm.clusters, arm.ratio, cluster_variance(arm, small_sample=small_sample)
    )


def iid_variance(arm: ClusterArm) -> float:
    """s²/N of a per-unit mean, as if units were independent."""
    n = arm.units
    if n < 2:
        return math.nan
    return (arm.y_sq - square(arm.y) / n) / (n - 1) / n


def design_effect(arm: ClusterArm) -> float:
    """Var_cluster(R̂) / Var_iid(R̂) of a per-unit mean (NaN when undefined)."""
    iid = iid_variance(arm)
    if not iid > 0:
        return math.nan
    return cluster_variance(arm) / iid


def icc(arm: ClusterArm) -> float:
    """One-way ANOVA intra-cluster correlation of the unit values."""
    k, n = arm.clusters, arm.units
    if k < 2 or n <= k or math.isnan(arm.y_sq_over_units):
        return math.nan
    between = arm.y_sq_over_units - square(arm.y) / n
    within = arm.y_sq - arm.y_sq_over_units
    msb, msw = between / (k - 1), within / (n - k)
    n0 = (n - arm.dc_sq / n) / (k - 1)
    denominator = msb + (n0 - 1) * msw
    return (msb - msw) / denominator if denominator > 0 else math.nan

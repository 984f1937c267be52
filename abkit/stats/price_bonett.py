"""Price–Bonett confidence intervals for the difference and ratio of two medians.

Bonett & Price (2002), "Statistical inference for a linear function of medians:
Confidence intervals, hypothesis testing, and sample size requirements",
Psychological Methods 7(3):370–383; Price & Bonett (2002), "Distribution-free
confidence intervals for difference and ratio of medians", J. Stat. Comput.
Simul. 72(2). The formulas are those of R statpsych's `ci.median2` and
`ci.ratio.median2`. Per arm of n sorted values y₍₁₎ ≤ … ≤ y₍ₙ₎:

    a = max(1, round(n/2 − sqrt(n)))             (round half to even, as R)
    L = y₍ₐ₎,  U = y₍ₙ₋ₐ₊₁₎                       the distribution-free CI of the median
    p = P(Binomial(n, 1/2) ≤ a − 1),  z₀ = Φ⁻¹(1 − p)
    SE(median) = (U − L) / (2·z₀),  SE(ln median) = (ln U − ln L) / (2·z₀)

[L, U] covers the median with probability ≥ 1 − 2p, so its half-width over z₀
estimates the median's standard error without a density estimate. The difference
m_T − m_C gets the normal interval ± z·sqrt(SE_T² + SE_C²) and a z test; the ratio
m_T / m_C (positive data only) gets exp(ln(m_T/m_C) ± z·sqrt(SE²_ln,T + SE²_ln,C)).

Each arm needs five numbers from SQL (queries/quantiles.sql): n, the median, a, L, U,
plus the minimum to know whether the log scale applies.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from scipy import special

from abkit.stats.distributions import normal_isf
from abkit.stats.estimate import ArmEstimate
from abkit.stats.welch import EffectResult, critical_value, z_test


def price_bonett_rank(n: int) -> int:
    """The rank a of the lower order statistic: max(1, round(n/2 − sqrt(n))).

    Python's `round` breaks ties to even, as R's does; ties occur only when n is an
    odd square, and there the even neighbour is the upper one, so the SQL's
    FLOOR(x + 0.5) gives the same rank.
    """
    return max(1, round(n / 2 - math.sqrt(n)))


def price_bonett_z0(n: int) -> float:
    """z₀ = Φ⁻¹(1 − P(Binomial(n, 1/2) ≤ a − 1)): [y₍ₐ₎, y₍ₙ₋ₐ₊₁₎] has level 1 − 2p."""
    k = price_bonett_rank(n) - 1  # P(X ≤ k) = I_{1/2}(n − k, k + 1), as scipy's binom
    tail = float(special.betainc(n - k, k + 1, 0.5))
    return normal_isf(tail)


@dataclass(frozen=True, slots=True)
class MedianArm:
    """One arm's median and the order statistics of its Price–Bonett interval.

    Attributes:
        n: values in the arm (units).
        median: the sample median (the mean of the two middle values when n is even).
        lower: y₍ₐ₎ with a = `price_bonett_rank(n)`.
        upper: y₍ₙ₋ₐ₊₁₎.
        minimum: the smallest value (the log-scale ratio needs it > 0).
    """

    n: int
    median: float
    lower: float
    upper: float
    minimum: float

    @property
    def positive(self) -> bool:
        """Whether every value is > 0, so the ratio of medians has a log-scale CI."""
        return self.minimum > 0

    def standard_error(self) -> float:
        """(U − L) / (2·z₀); NaN with fewer than two values."""
        if self.n < 2 or math.isnan(self.lower + self.upper):
            return math.nan
        return (self.upper - self.lower) / (2 * price_bonett_z0(self.n))

    def log_standard_error(self) -> float:
        """(ln U − ln L) / (2·z₀), the SE of ln(median); NaN unless all values > 0."""
        if not self.positive or self.n < 2:
            return math.nan
        return (math.log(self.upper) - math.log(self.lower)) / (
            2 * price_bonett_z0(self.n)
        )

    def estimate(self) -> ArmEstimate:
        """The median with Var = SE², the input of the two-sample z test."""
        se = self.standard_error()
        return ArmEstimate(self.n, self.median, se * se)


@dataclass(frozen=True, slots=True)
class MedianRatio:
    """The ratio of medians m_T / m_C with its log-scale Price–Bonett CI."""

    ratio: float
    ci_lower: float
    ci_upper: float


def median_ratio(
    control: MedianArm, treatment: MedianArm, alpha: float
) -> MedianRatio | None:
    """exp(ln(m_T/m_C) ± z·sqrt(SE²_ln,T + SE²_ln,C)); None unless all values > 0."""
    if not (control.positive and treatment.positive):
        return None
    se = math.hypot(control.log_standard_error(), treatment.log_standard_error())
    if not math.isfinite(se):
        return None
    log_ratio = math.log(treatment.median) - math.log(control.median)
    half = critical_value(alpha, math.inf) * se
    return MedianRatio(
        math.exp(log_ratio), math.exp(log_ratio - half), math.exp(log_ratio + half)
    )


def median_difference(
    control: MedianArm, treatment: MedianArm, alpha: float
) -> tuple[EffectResult, bool]:
    """Price–Bonett test of m_T − m_C, and whether the lift's CI is the log ratio's.

    The difference, its CI and p-value are the normal ones on the Price–Bonett
    standard errors. The relative lift m_T/m_C − 1 takes the log-scale ratio CI when
    every value in both arms is > 0 (returned flag True); otherwise it keeps the
    delta-method CI on the same standard errors (`abkit.stats.delta`).

    Args:
        control: control arm.
        treatment: treatment arm.
        alpha: two-sided level of the test and the CIs.
    """
    effect = z_test(control.estimate(), treatment.estimate(), alpha)
    ratio = median_ratio(control, treatment, alpha)
    if ratio is None or math.isnan(effect.pvalue):
        return effect, False
    replaced = dataclasses.replace(
        effect,
        relative_ci_lower=ratio.ci_lower - 1,
        relative_ci_upper=ratio.ci_upper - 1,
    )
    return replaced, True

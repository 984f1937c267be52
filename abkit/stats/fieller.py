"""Fieller's interval for the relative lift μ_T/μ_C − 1 (ratio of two independent means).

The delta-method interval of the relative lift (`abkit.stats.delta`) is symmetric
and breaks down when the control mean is near zero relative to its standard error.
Fieller's interval inverts the exact pivot of the ratio instead: the set of ratios R
for which (ȳ_T − R·ȳ_C) / sqrt(v_T + R²·v_C) lies within ±q. Squaring gives

    a·R² + b·R + c ≤ 0,  a = ȳ_C² − q²·v_C,  b = −2·ȳ_T·ȳ_C,  c = ȳ_T² − q²·v_T,

so the interval is bounded when the control mean is significantly non-zero (a > 0),
the complement of a bounded gap (`exclusive`) when a < 0 and the discriminant is
positive, and the whole line (`unbounded`) otherwise.

Sources: Fieller (1954), "Some problems in interval estimation", JRSS B 16(2);
von Luxburg & Franz (2009), "A geometric approach to confidence sets for ratios:
Fieller's theorem, generalizations and bootstrap", Statistica Sinica 19, §2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from abkit.stats.estimate import ArmEstimate
from abkit.stats.floats import square

FiellerStatus = Literal["bounded", "exclusive", "unbounded", "undefined"]
FIELLER_MESSAGES: dict[FiellerStatus, str] = {
    "bounded": "",
    "exclusive": "Fieller CI excludes a gap: the control mean is not significantly "
    "non-zero, so the lift is either below the lower or above the upper bound",
    "unbounded": "Fieller CI is the whole line: the control mean is not "
    "distinguishable from 0, so the relative lift is not estimable",
    "undefined": "Fieller CI undefined: an arm has no variance estimate, or the "
    "means are too large to square in floating point",
}


@dataclass(frozen=True, slots=True)
class FiellerInterval:
    """A Fieller confidence set for the relative lift R − 1.

    Attributes:
        estimate: the point estimate ȳ_T/ȳ_C − 1 (NaN when ȳ_C = 0).
        lower: lower bound (bounded), or the upper end of the lower ray
            (−∞, lower] when `exclusive`; −∞ when unbounded.
        upper: upper bound (bounded), or the start of the upper ray [upper, ∞)
            when `exclusive`; +∞ when unbounded.
        status: bounded, exclusive, unbounded or undefined.
    """

    estimate: float
    lower: float
    upper: float
    status: FiellerStatus

    @property
    def message(self) -> str:
        """Why the set is not an ordinary interval ('' when bounded)."""
        return FIELLER_MESSAGES[self.status]

    @property
    def hull(self) -> tuple[float, float]:
        """The smallest interval holding the set: (−∞, ∞) unless bounded."""
        if self.status == "bounded":
            return self.lower, self.upper
        if self.status == "undefined":
            return math.nan, math.nan
        return -math.inf, math.inf


def fieller_coefficients(
    control: ArmEstimate, treatment: ArmEstimate, quantile: float
) -> tuple[float, float, float]:
    """The quadratic a·R² + b·R + c ≤ 0 whose solution set is the CI of R."""
    q2 = square(quantile)
    a = square(control.mean) - q2 * control.mean_variance
    b = -2.0 * treatment.mean * control.mean
    c = square(treatment.mean) - q2 * treatment.mean_variance
    return a, b, c


def fieller_interval(
    control: ArmEstimate, treatment: ArmEstimate, quantile: float
) -> FiellerInterval:
    """Fieller's confidence set of the relative lift (ȳ_T − ȳ_C)/|ȳ_C| (independent arms).

    The set of R = ȳ_T/ȳ_C is solved first; the lift is R − 1 over a positive
    control mean and 1 − R over a negative one, so its sign follows the difference
    as everywhere in abkit (STATS.md §11.1).

    Args:
        control: control arm estimate (mean and variance of the mean).
        treatment: treatment arm estimate.
        quantile: two-sided critical value (z or Welch t) of the interval.
    """
    sign = -1.0 if control.mean < 0 else 1.0
    estimate = (
        sign * (treatment.mean / control.mean - 1) if control.mean != 0 else math.nan
    )
    inputs = (
        control.mean,
        treatment.mean,
        control.mean_variance,
        treatment.mean_variance,
    )
    if not all(math.isfinite(x) for x in inputs):
        return FiellerInterval(estimate, math.nan, math.nan, "undefined")
    a, b, c = fieller_coefficients(control, treatment, quantile)
    discriminant = b * b - 4 * a * c
    if not all(math.isfinite(x) for x in (a, b, c, discriminant)):
        return FiellerInterval(estimate, math.nan, math.nan, "undefined")
    if a <= 0 and discriminant <= 0:
        return FiellerInterval(estimate, -math.inf, math.inf, "unbounded")
    if a == 0:  # a half-line: report its hull
        return FiellerInterval(estimate, -math.inf, math.inf, "unbounded")
    root = math.sqrt(max(discriminant, 0.0))
    low, high = sorted(
        sign * (r - 1) for r in ((-b - root) / (2 * a), (-b + root) / (2 * a))
    )
    status: FiellerStatus = "bounded" if a > 0 else "exclusive"
    return FiellerInterval(estimate, low, high, status)

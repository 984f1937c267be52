"""One arm's estimate of a metric: the shared input of every two-sample test.

A mean, a ratio Σm/Σd or a CUPED-adjusted mean, with the variance of that
estimate, so Welch, z and delta-method code all take the same object.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from abkit.aggregates.moments import Moments
from abkit.stats.status import moments_consistent

INCONSISTENT_VARIANCE = -math.inf  # marks moments no real data could produce


@dataclass(frozen=True, slots=True)
class ArmEstimate:
    """One arm's estimate of a metric and the variance of that estimate.

    Attributes:
        n: number of randomization units in the arm.
        mean: the point estimate (a mean, a ratio Σm/Σd, or a CUPED-adjusted mean).
        mean_variance: the variance of `mean` (s²/n for a plain mean);
            `INCONSISTENT_VARIANCE` (−inf) when the moments are impossible, which
            the tests report with the status "inconsistent".
    """

    n: int
    mean: float
    mean_variance: float

    @classmethod
    def from_moments(cls, moments: Moments) -> ArmEstimate:
        """The sample mean and s²/n of a plain per-unit metric.

        Impossible moments (a centred sum of squares below zero by more than
        rounding, see `abkit.stats.status.moments_consistent`) are not clipped to a
        zero variance: they get `INCONSISTENT_VARIANCE`.
        """
        if not moments_consistent(moments):
            mean = moments.sum / moments.n if moments.n > 0 else math.nan
            return cls(moments.n, mean, INCONSISTENT_VARIANCE)
        return cls(moments.n, moments.mean, moments.mean_variance)

    @property
    def consistent(self) -> bool:
        """False when the estimate comes from moments no real data could produce."""
        return not self.mean_variance < 0 and self.n >= 0

    @property
    def standard_error(self) -> float:
        """Standard error of the estimate (NaN when inconsistent)."""
        return math.sqrt(self.mean_variance) if self.consistent else math.nan

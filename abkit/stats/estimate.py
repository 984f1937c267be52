"""One arm's estimate of a metric: the shared input of every two-sample test.

A mean, a ratio Σm/Σd or a CUPED-adjusted mean, with the variance of that
estimate, so Welch, z and delta-method code all take the same object.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from abkit.aggregates.moments import Moments


@dataclass(frozen=True, slots=True)
class ArmEstimate:
    """One arm's estimate of a metric and the variance of that estimate.

    Attributes:
        n: number of randomization units in the arm.
        mean: the point estimate (a mean, a ratio Σm/Σd, or a CUPED-adjusted mean).
        mean_variance: the variance of `mean` (s²/n for a plain mean).
    """

    n: int
    mean: float
    mean_variance: float

    @classmethod
    def from_moments(cls, moments: Moments) -> ArmEstimate:
        """The sample mean and s²/n of a plain per-unit metric."""
        return cls(moments.n, moments.mean, moments.mean_variance)

    @property
    def standard_error(self) -> float:
        """Standard error of the estimate."""
        return math.sqrt(self.mean_variance)

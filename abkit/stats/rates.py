"""Empirical rejection rates with exact binomial bands (A/A replays, calibration).

A rate k/n of independent Bernoulli trials (each replay or simulated experiment
rejects or not) gets the Clopper–Pearson (1934) interval — exact, conservative —
as `scipy.stats.binomtest(k, n).proportion_ci(method="exact")` computes it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

RateStatus = Literal["ok", "too_many_rejections", "too_few_rejections", "no_runs"]


@dataclass(frozen=True, slots=True)
class EmpiricalRate:
    """k rejections in n trials, with the Clopper–Pearson band and a verdict.

    Attributes:
        rejections: k.  trials: n.
        rate: k / n.
        ci_lower, ci_upper: the exact binomial interval at `level`.
        nominal: the rate a calibrated test has (α under the null).
        status: ok when the band holds `nominal`, else which way it is off.
    """

    rejections: int
    trials: int
    rate: float
    ci_lower: float
    ci_upper: float
    nominal: float
    level: float
    status: RateStatus

    @property
    def flagged(self) -> bool:
        """The band excludes the nominal rate."""
        return self.status in ("too_many_rejections", "too_few_rejections")


def clopper_pearson(rejections: int, trials: int, level: float) -> tuple[float, float]:
    """The exact two-sided binomial interval of k/n at confidence `level`."""
    if trials == 0:
        return math.nan, math.nan
    from scipy import stats as scipy_stats  # 1.5 s to import: only when needed

    band = scipy_stats.binomtest(rejections, trials).proportion_ci(
        confidence_level=level, method="exact"
    )
    return float(band.low), float(band.high)


def empirical_rate(
    rejections: int,
    trials: int,
    nominal: float,
    level: float = 0.99,
    *,
    at_most: bool = False,
) -> EmpiricalRate:
    """The rate k/n, its band, and whether the band excludes `nominal`.

    `at_most`: `nominal` is only an upper bound (a sequential test's α bounds the
    chance of ever rejecting), so a rate below it is not off.
    """
    low, high = clopper_pearson(rejections, trials, level)
    status: RateStatus
    if trials == 0:
        status = "no_runs"
    elif low > nominal:
        status = "too_many_rejections"
    elif high < nominal and not at_most:
        status = "too_few_rejections"
    else:
        status = "ok"
    rate = rejections / trials if trials else math.nan
    return EmpiricalRate(rejections, trials, rate, low, high, nominal, level, status)

"""Exact tests for two proportions when counts are small (STATS.md §1.2).

The two-proportion z-test leans on the normal approximation, which fails for rare
events and small segments (reports, blocks, payers in a segment). Below a stated
threshold on the smallest expected cell count of the 2 × 2 table (5 by default,
the textbook rule for the χ² test), `proportion_test` runs an exact test from
scipy instead and the result says so in its `test` field:

- "fisher": Fisher's exact test, conditional on both margins
  (`scipy.stats.fisher_exact`'s algorithm, here on the same `scipy.special`
  hypergeometric functions so that `scipy.stats` need not be imported); fast at
  any n.
- "boschloo": Boschloo's test, unconditional and uniformly more powerful than
  Fisher's (`scipy.stats.boschloo_exact`).
- "barnard": Barnard's unconditional test (`scipy.stats.barnard_exact`).

The unconditional tests enumerate all (n_C + 1)(n_T + 1) tables, so above
`UNCONDITIONAL_MAX_TABLES` Fisher's test runs instead (and `test` says
"fisher-exact"). With an exact test the CI of the difference is Newcombe's hybrid
score interval, which behaves at small counts where the Wald interval does not;
`statistic` stays the pooled z (for display), the p-value is the exact one and
the relative lift keeps its delta-method interval.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Literal

from scipy import special

from abkit.aggregates.moments import Moments
from abkit.stats.welch import (
    EffectResult,
    TestKind,
    newcombe_interval,
    proportion_ztest,
)

ExactTest = Literal["fisher", "boschloo", "barnard"]
EXACT_TESTS: tuple[ExactTest, ...] = ("fisher", "boschloo", "barnard")
DEFAULT_EXACT_BELOW = 5.0
UNCONDITIONAL_MAX_TABLES = 250_000
_KINDS: dict[ExactTest, TestKind] = {
    "fisher": "fisher-exact",
    "boschloo": "boschloo-exact",
    "barnard": "barnard-exact",
}


def smallest_expected_count(control: Moments, treatment: Moments) -> float:
    """The smallest expected cell count of the 2 × 2 table under H₀ (NaN if empty).

    Expected successes in an arm are n_arm·(x_C + x_T)/(n_C + n_T), failures
    n_arm·(1 − that pooled share).
    """
    total = control.n + treatment.n
    if min(control.n, treatment.n) <= 0:
        return math.nan
    pooled = (control.sum + treatment.sum) / total
    smaller = min(control.n, treatment.n)
    return smaller * min(pooled, 1 - pooled)


def exact_pvalue(control: Moments, treatment: Moments, test: ExactTest) -> float:
    """Two-sided p-value of an exact test on the 2 × 2 table of two 0/1 arms."""
    x_c, x_t = round(control.sum), round(treatment.sum)
    table = [[x_t, treatment.n - x_t], [x_c, control.n - x_c]]
    if test == "fisher":
        return fisher_pvalue(table)
    from scipy import stats as scipy_stats  # 1.5 s to import: unconditional tests only

    if test == "boschloo":
        return float(scipy_stats.boschloo_exact(table).pvalue)
    return float(scipy_stats.barnard_exact(table).pvalue)


def proportion_test(
    control: Moments,
    treatment: Moments,
    alpha: float = 0.05,
    *,
    exact_below: float = DEFAULT_EXACT_BELOW,
    exact_test: ExactTest = "fisher",
    continuity: bool = False,
) -> EffectResult:
    """Two proportions compared: the z-test, or an exact test at small counts.

    Args:
        control: moments of the control arm's 0/1 values.
        treatment: moments of the treatment arm's 0/1 values.
        alpha: two-sided level.
        exact_below: run the exact test when the smallest expected cell count is
            below this (0 never does).
        exact_test: "fisher", "boschloo" or "barnard".
        continuity: Yates' continuity correction for the z-test.

    Returns:
        The result; `test` names the test behind the p-value.
    """
    result = proportion_ztest(control, treatment, alpha, continuity=continuity)
    if result.status not in ("ok", "zero_control_mean"):
        return result
    if not smallest_expected_count(control, treatment) < exact_below:
        return result
    chosen = exact_test
    tables = (control.n + 1) * (treatment.n + 1)
    if chosen != "fisher" and tables > UNCONDITIONAL_MAX_TABLES:
        chosen = "fisher"
    lower, upper = newcombe_interval(control, treatment, alpha)
    return dataclasses.replace(
        result,
        pvalue=exact_pvalue(control, treatment, chosen),
        ci_lower=lower,
        ci_upper=upper,
        test=_KINDS[chosen],
    )


def fisher_pvalue(table: list[list[int]]) -> float:
    """Two-sided p-value of Fisher's exact test on a 2 × 2 table of counts.

    The algorithm of `scipy.stats.fisher_exact` (sum of the tables no more
    probable than the observed one, to a relative 1e-14, found by binary search
    on the far side of the mode) on the same boost hypergeometric functions, so
    the value is identical (Fisher 1935; Agresti 2002, §3.5).
    """
    (a, b), (c, d) = table
    n1, n2, n = a + b, c + d, a + c
    if 0 in (n1, n2, n, b + d):
        return 1.0  # a row or column without counts: p = 1, as scipy
    hypergeom = _Hypergeometric(n1 + n2, n1, n)
    mode = int(float((n + 1) * (n1 + 1)) / float(n1 + n2 + 2))
    pexact, pmode = hypergeom.pmf(a), hypergeom.pmf(mode)
    gamma = 1 + 1e-14
    larger = max(pexact, pmode)
    if larger > 0 and abs(pexact - pmode) / larger <= 1e-14:
        return 1.0
    if a < mode:
        plower = hypergeom.cdf(a)
        if hypergeom.pmf(n) > pexact * gamma:
            return plower
        guess = _binary_search(lambda x: -hypergeom.pmf(x), -pexact * gamma, mode, n)
        pvalue = plower + hypergeom.sf(guess)
    else:
        pupper = hypergeom.sf(a - 1)
        if hypergeom.pmf(0) > pexact * gamma:
            return pupper
        guess = _binary_search(hypergeom.pmf, pexact * gamma, 0, mode)
        pvalue = pupper + hypergeom.cdf(guess)
    return min(pvalue, 1.0)


class _Hypergeometric:
    """pmf, cdf and sf of the hypergeometric law as `scipy.stats.hypergeom(M, n, N)`."""

    def __init__(self, total: int, successes: int, draws: int) -> None:
        self.args = (float(successes), float(draws), float(total))
        self.low = max(draws - (total - successes), 0)
        self.high = min(successes, draws)

    def pmf(self, k: int) -> float:
        if not self.low <= k <= self.high:
            return 0.0
        return _unit(special._ufuncs._hypergeom_pmf(float(k), *self.args))

    def cdf(self, k: int) -> float:
        if k < self.low:
            return 0.0
        if k >= self.high:
            return 1.0
        return _unit(special._ufuncs._hypergeom_cdf(float(k), *self.args))

    def sf(self, k: int) -> float:
        if k < self.low:
            return 1.0
        if k >= self.high:
            return 0.0
        return _unit(special._ufuncs._hypergeom_sf(float(k), *self.args))


def _unit(value: float) -> float:
    """Clipped to [0, 1] as scipy.stats clips probabilities (NaN stays NaN)."""
    return math.nan if math.isnan(value) else float(min(max(value, 0.0), 1.0))


def _binary_search(
    function: Callable[[int], float], target: float, lo: int, hi: int
) -> int:
    """The i in [lo, hi] with function(i) ≤ target < function(i + 1) (scipy's search)."""
    while lo < hi:
        mid = lo + (hi - lo) // 2
        value = function(mid)
        if value < target:
            lo = mid + 1
        elif value > target:
            hi = mid - 1
        else:
            return mid
    return lo if function(lo) <= target else lo - 1

"""Exact tests for two proportions when counts are small (STATS.md §1.2).

The two-proportion z-test leans on the normal approximation, which fails for rare
events and small segments (reports, blocks, payers in a segment). Below a stated
threshold on the smallest expected cell count of the 2 × 2 table (5 by default,
the textbook rule for the χ² test), `proportion_test` runs an exact test from
scipy instead and the result says so in its `test` field:

- "fisher": Fisher's exact test, conditional on both margins: the hypergeometric
  probabilities of every table with the observed margins, from `scipy.special`'s
  log-gamma, summed over the tables no more likely than the observed one (R's
  `fisher.test` rule, with its relative tolerance 1e-7 for ties); equal to
  `scipy.stats.fisher_exact` to 1e-9 in the tests, without importing `scipy.stats`
  (about a second of CPU) on every analysis that has a small segment. Fast at any n:
  the tables number min(margins) + 1.
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
from typing import Literal

import numpy as np
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


FISHER_TIE_TOLERANCE = 1e-7
"""Tables within this relative probability of the observed one count as ties (R)."""


def fisher_pvalue(table: list[list[int]]) -> float:
    """Two-sided Fisher exact p-value of a 2 × 2 table [[a, b], [c, d]].

    P(table) = C(a+b, k)·C(c+d, n−k) / C(N, n) over the tables with the same
    margins (k the top-left cell, n = a + c); the p-value sums those no more
    probable than the observed one. A zero margin gives 1.
    """
    (a, b), (c, d) = table
    row_top, row_bottom, column = a + b, c + d, a + c
    total = row_top + row_bottom
    if 0 in (row_top, row_bottom, column, b + d):
        return 1.0
    cells = np.arange(max(0, column - row_bottom), min(column, row_top) + 1)
    log_p = (
        _log_choose(row_top, cells)
        + _log_choose(row_bottom, column - cells)
        - _log_choose(total, np.array([column]))
    )
    probabilities = np.exp(log_p - log_p.max())  # scaled: the sum's ratio is exact
    observed = probabilities[a - cells[0]]
    tail = probabilities[probabilities <= observed * (1 + FISHER_TIE_TOLERANCE)]
    return float(min(1.0, tail.sum() / probabilities.sum()))


def _log_choose(n: int, k: np.ndarray) -> np.ndarray:
    """Ln C(n, k) by log-gamma, elementwise over k."""
    return np.asarray(
        special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)
    )


def exact_pvalue(control: Moments, treatment: Moments, test: ExactTest) -> float:
    """Two-sided p-value of an exact test on the 2 × 2 table of two 0/1 arms."""
    x_c, x_t = round(control.sum), round(treatment.sum)
    table = [[x_t, treatment.n - x_t], [x_c, control.n - x_c]]
    if test == "fisher":
        return fisher_pvalue(table)
    from scipy import stats as scipy_stats  # ~1 s to import: unconditional tests only

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

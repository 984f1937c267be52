"""Asymptotic confidence sequences with always-valid p-values (STATS.md §4.2).

Waudby-Smith, Arnold, Wu, Howard & Ramdas, "Time-uniform central limit theory and
asymptotic confidence sequences" (arXiv 2103.06476), in GrowthBook's form.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from abkit.errors import ConfigError
from abkit.stats.floats import ieee
from abkit.stats.roots import brent_root
from abkit.stats.sequential.common import (
    Alternative,
    FloatArray,
    Floats,
    SequentialResult,
    _always_valid_result,
    _as_array,
    _check_alpha,
    _check_lengths,
    _empty_result,
    _exp,
)


@ieee
def asymptotic_cs_rho_squared(n_planned: float, alpha: float = 0.05) -> float:
    """Tuning ρ² = (−2 ln α + ln(1 − 2 ln α)) / N* (STATS.md §4.2; GB `sequential_rho`).

    Makes the two-sided CS tightest at N* total units (both arms); Waudby-Smith et
    al. (2021), arXiv 2103.06476.
    """
    _check_alpha(alpha)
    if not n_planned > 0:
        raise ConfigError(
            f"asymptotic CS: n_planned == {n_planned}, must be > 0; pass the total "
            "sample size (all arms) at which you expect to decide"
        )
    return (-2 * math.log(alpha) + math.log(1 - 2 * math.log(alpha))) / n_planned


@ieee
def asymptotic_cs_halfwidth(
    se: float, n_total: float, n_planned: float, alpha: float = 0.05
) -> float:
    """Two-sided asymptotic CS half-width at one look (STATS.md §4.2, GB "eq 9").

    halfwidth = s·sqrt(2(Nρ² + 1)/(N²ρ²)·ln(sqrt(Nρ² + 1)/α)) with s² = N·SE²
    (Waudby-Smith et al. 2021, arXiv 2103.06476).

    Args:
        se: standard error of the effect estimate at this look.
        n_total: units so far, all arms (N).
        n_planned: N*, the total units at which the CS is tuned to be tightest.
        alpha: two-sided type I error.

    Returns:
        The half-width in the units of the effect.
    """
    rho2 = asymptotic_cs_rho_squared(n_planned, alpha)
    return float(_cs_halfwidth(np.asarray(se), np.asarray(float(n_total)), rho2, alpha))


@ieee
def asymptotic_cs_evalue(
    estimate: float,
    se: float,
    n_total: float,
    n_planned: float,
    alpha: float = 0.05,
    *,
    null_value: float = 0.0,
) -> float:
    """E = exp(ρ²N z²/(2(Nρ² + 1))) / sqrt(Nρ² + 1) (STATS.md §4.2, GB "eq 155").

    z = (Δ̂ − null)/SE; 1/E is GB's sequential p-value (Waudby-Smith et al. 2021).
    """
    rho2 = asymptotic_cs_rho_squared(n_planned, alpha)
    z = (estimate - null_value) / se
    return float(_exp(_cs_log_evalue(np.asarray(z), np.asarray(float(n_total)), rho2)))


@ieee
def asymptotic_cs_test(
    estimates: Floats,
    standard_errors: Floats,
    n_totals: Floats,
    n_planned: float,
    alpha: float = 0.05,
    *,
    null_value: float = 0.0,
    alternative: Alternative = "two-sided",
) -> SequentialResult:
    """Asymptotic confidence sequence and always-valid p-values over looks (§4.2).

    Per look the CS is Δ̂_k ± halfwidth_k; it is intersected over time (running
    maximum of the lower, running minimum of the upper bound) and the p-value is
    the running minimum of min(1, 1/E_k) (GB returns the current 1/E; the running
    minimum is also valid and monotone). Valid under any look schedule once the CLT
    applies (Waudby-Smith et al. 2021, arXiv 2103.06476).

    One-sided (`"greater"`: H1 effect > null_value) the mixture over the drift is
    half-normal (λ ≥ 0), E = 2Φ(ρ√N·z/√(Nρ² + 1))·E_two-sided (Howard, Ramdas,
    McAuliffe & Sekhon 2021, "Time-uniform, nonparametric, nonasymptotic
    confidence sequences", one-sided normal mixture): still a nonnegative
    martingale with mean 1, so Ville's inequality holds, and the sequence is the
    lower bound Δ̂_k − z*_k·SE_k with E(z*_k) = 1/α. Non-inferiority with margin m
    is `null_value=-m`, `alternative="greater"` (`"less"` mirrors it).

    Args:
        estimates: Δ̂_k per look (absolute or relative, CUPED or not).
        standard_errors: SE_k per look.
        n_totals: units so far per look, all arms.
        n_planned: N*, total units at which the CS is tuned to be tightest.
        alpha: two-sided type I error.
        null_value: the effect under H0 (the boundary of H0 one-sided).
        alternative: `"two-sided"`, `"greater"` or `"less"`.

    Returns:
        Per-look intersected CS bounds, e-values, p-values and the first crossing.

    Raises:
        ConfigError: alpha, n_planned or alternative is invalid.
        DataError: the arrays differ in length.
    """
    if alternative not in ("two-sided", "greater", "less"):
        raise ConfigError(
            f"asymptotic_cs_test: alternative == {alternative!r}; use 'two-sided', "
            "'greater' or 'less'"
        )
    rho2 = asymptotic_cs_rho_squared(n_planned, alpha)
    estimate, se, n = (
        _as_array(estimates),
        _as_array(standard_errors),
        _as_array(n_totals),
    )
    _check_lengths("asymptotic_cs_test", estimates=estimate, se=se, n_totals=n)
    if estimate.size == 0:
        return _empty_result("asymptotic-cs", alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (estimate - null_value) / se
        if alternative == "two-sided":
            halfwidth = _cs_halfwidth(se, n, rho2, alpha)
            log_e = _cs_log_evalue(z, n, rho2)
        else:
            sign = 1.0 if alternative == "greater" else -1.0
            halfwidth = se * _one_sided_critical_z(n, rho2, alpha)
            log_e = _one_sided_log_evalue(sign * z, n, rho2)
    return _always_valid_result(
        "asymptotic-cs",
        alpha,
        estimate=estimate,
        se=se,
        z=z,
        halfwidth=halfwidth,
        log_e=log_e,
        alternative=alternative,
    )


def _cs_halfwidth(
    se: FloatArray, n: FloatArray, rho2: float, alpha: float
) -> FloatArray:
    spread = n * rho2 + 1
    variance = n * se * se
    return np.asarray(
        np.sqrt(
            variance * 2 * spread / (n * n * rho2) * np.log(np.sqrt(spread) / alpha)
        ),
        dtype=np.float64,
    )


def _cs_log_evalue(z: FloatArray, n: FloatArray, rho2: float) -> FloatArray:
    spread = n * rho2 + 1
    return np.asarray(
        rho2 * n * z * z / (2 * spread) - 0.5 * np.log(spread), dtype=np.float64
    )


def _one_sided_log_evalue(z: FloatArray, n: FloatArray, rho2: float) -> FloatArray:
    """The log of the half-normal mixture: ln 2 + ln Φ(ρ√N z/√(Nρ² + 1)) + two-sided ln E."""
    spread = n * rho2 + 1
    shift = np.sqrt(rho2 * n / spread) * z
    return np.asarray(
        math.log(2) + special.log_ndtr(shift) + _cs_log_evalue(z, n, rho2),
        dtype=np.float64,
    )


def _one_sided_critical_z(n: FloatArray, rho2: float, alpha: float) -> FloatArray:
    """z* with one-sided E(z*) = 1/α at each look (E increases in z)."""
    target = -math.log(alpha)

    def solve(units: float) -> float:
        if not (math.isfinite(units) and units > 0):
            return math.nan
        size = np.asarray([units])

        def excess(z: float) -> float:
            return float(_one_sided_log_evalue(np.asarray([z]), size, rho2)[0]) - target

        high = 1.0
        while excess(high) < 0 and high < 1e300:
            high *= 2
        if not (excess(0.0) <= 0 <= excess(high)):  # NaN at extreme N·ρ²
            return math.nan
        return brent_root(excess, 0.0, high, xtol=1e-12)

    return np.asarray([solve(float(units)) for units in n], dtype=np.float64)

"""Mixture sequential probability ratio test, mSPRT (STATS.md §4.1).

Johari, Pekelis & Walsh (2022), "Always Valid Inference: Continuous Monitoring of
A/B Tests"; equal to the asymptotic confidence sequence when τ² = ρ²·s².
"""

from __future__ import annotations

import numpy as np

from abkit.errors import ConfigError
from abkit.stats.floats import ieee
from abkit.stats.sequential.common import (
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
from abkit.stats.sequential.confidence_sequence import asymptotic_cs_rho_squared


@ieee
def msprt_tau_squared(
    per_unit_variance: float, n_planned: float, alpha: float = 0.05
) -> float:
    """Mixture variance τ² = ρ²·s² = L·s²/N*, L = −2 ln α + ln(1 − 2 ln α) (§4.1).

    This tuning makes the mSPRT identical to the asymptotic CS tuned to N*
    (STATS.md §4.2 equivalence); s² = N·SE² is the per-unit variance of Δ̂.
    """
    return asymptotic_cs_rho_squared(n_planned, alpha) * per_unit_variance


@ieee
def msprt_lambda(
    estimate: float, variance: float, tau_squared: float, null_value: float = 0.0
) -> float:
    """Normal-mixture likelihood ratio of the mSPRT (STATS.md §4.1).

    Λ = sqrt(V/(V + τ²))·exp(τ²(Δ̂ − θ₀)²/(2V(V + τ²))) for any estimator with
    Var(Δ̂) = V and mixing distribution N(θ₀, τ²) (Johari, Pekelis & Walsh 2022).
    """
    log_lambda = _msprt_log_lambda(
        np.asarray(estimate - null_value), np.asarray(variance), np.asarray(tau_squared)
    )
    return float(_exp(log_lambda))


@ieee
def msprt_test(
    estimates: Floats,
    standard_errors: Floats,
    tau_squared: float | Floats,
    alpha: float = 0.05,
    *,
    null_value: float = 0.0,
) -> SequentialResult:
    """Mixture SPRT over looks with always-valid p-values (STATS.md §4.1).

    p_k = min(p_{k−1}, 1/Λ_k), p_0 = 1; reject when Λ_k ≥ 1/α (Ville's inequality).
    The confidence sequence {θ : Λ_k(θ) < 1/α} is Δ̂_k ± sqrt(2V(V + τ²)/τ² ·
    ln(sqrt((V + τ²)/V)/α)), intersected over time (Johari, Pekelis & Walsh 2022).

    Args:
        estimates: Δ̂_k per look.
        standard_errors: SE_k per look (V_k = SE_k²).
        tau_squared: mixture variance, fixed in advance (see `msprt_tau_squared`),
            or one per look.
        alpha: two-sided type I error.
        null_value: θ₀, the effect under H0.

    Returns:
        Per-look Λ, p-values, intersected CS bounds and the first crossing.

    Raises:
        ConfigError: alpha or τ² is invalid.
        DataError: the arrays differ in length.
    """
    _check_alpha(alpha)
    estimate, se = _as_array(estimates), _as_array(standard_errors)
    tau2 = _as_array(tau_squared)
    if tau2.size == 1:
        tau2 = np.full(estimate.shape, tau2[0])
    _check_lengths("msprt_test", estimates=estimate, se=se, tau_squared=tau2)
    if not np.all(tau2 > 0):
        raise ConfigError(
            "msprt_test: tau_squared must be > 0; use msprt_tau_squared()"
        )
    if estimate.size == 0:
        return _empty_result("msprt", alpha)
    variance = se * se
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (estimate - null_value) / se
        spread = (variance + tau2) / variance
        halfwidth = np.sqrt(
            2 * variance * (variance + tau2) / tau2 * np.log(np.sqrt(spread) / alpha)
        )
        log_e = _msprt_log_lambda(estimate - null_value, variance, tau2)
    return _always_valid_result(
        "msprt", alpha, estimate=estimate, se=se, z=z, halfwidth=halfwidth, log_e=log_e
    )


def _msprt_log_lambda(
    difference: FloatArray, variance: FloatArray, tau2: FloatArray
) -> FloatArray:
    total = variance + tau2
    return np.asarray(
        0.5 * np.log(variance / total) + tau2 * difference**2 / (2 * variance * total),
        dtype=np.float64,
    )

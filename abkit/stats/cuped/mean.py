"""CUPED for mean and proportion metrics, one covariate or several (STATS.md §3).

STATS.md §3.1 (one covariate) and §3.5 (Lin's θ, several covariates):

- `cuped_adjust`: one covariate, θ pooled across the arms (GrowthBook-compatible) or
  Lin's θ_L; a special case of `regression_adjust`.
- `regression_adjust`: several covariates ("CUPED++"), pooled normal equations with
  an optional scale-free ridge.
- `adjusted_unit_variance`: one arm's adjusted per-unit variance for a given θ.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from abkit.aggregates.moments import JointMoments
from abkit.errors import ConfigError
from abkit.stats.cuped.common import (
    _CONSTANT,
    CupedAdjustment,
    CupedStatus,
    FloatArray,
    ThetaMethod,
    ThetaSource,
    _assemble,
    _finite,
    _fixed,
    _select,
)
from abkit.stats.estimate import ArmEstimate
from abkit.stats.floats import ieee

_MAX_CONDITION = 1e10  # beyond this the scaled normal equations go to lstsq


def cuped_adjust(
    control: JointMoments,
    treatment: JointMoments,
    *,
    outcome: str = "value",
    covariate: str = "pre",
    method: ThetaMethod = "pooled",
    theta: float | None = None,
) -> CupedAdjustment:
    """CUPED with one pre-period covariate for a mean or proportion (STATS.md §3.1).

    Deng, Xu, Kohavi, Walker (2013, WSDM) §3: the adjusted arm estimate is
    ȳ_g − θ(x̄_g − x̄_pooled) with per-unit variance s²_y + θ²s²_x − 2θs_xy per arm.

    - "pooled": θ = ĉov(Y, X)/v̂ar(X) over both arms pooled, from the pooled sums
      (CUPED paper §3.2; GrowthBook `compute_theta`). One θ for both arms keeps the
      estimator unbiased, and θ does not depend on which arm is control.
    - "lin": θ_L = (n_C β_T + n_T β_C)/N with per-arm slopes β_g = s_xy,g/s²_x,g
      (STATS.md §3.5). The difference then equals Lin's (2013) interacted
      regression estimate exactly; θ_L minimises Var(Δ̂) when s²_x is equal
      across arms, and differs from pooled θ only with an unequal split and
      arm-dependent slopes.

    Args:
        control: control-arm joint moments holding `outcome` and `covariate`.
        treatment: treatment-arm joint moments with the same names.
        outcome: the metric's per-unit value.
        covariate: the pre-period covariate (0 for units without pre-period data;
            for a has-pre-data indicator as well, STATS.md §3.3, use
            `regression_adjust`).
        method: "pooled" (default, GrowthBook-compatible) or "lin".
        theta: force θ (e.g. fixed from an earlier look); θ = 0 gives exactly the
            unadjusted estimates.

    Returns:
        The adjustment; `welch_test(result.control, result.treatment)` tests it.

    Raises:
        DataError: a name is missing from the moments.
        ConfigError: `theta` is not finite.

    Example:
        >>> control = JointMoments.from_columns(
        ...     {"value": [1.0, 3.0, 2.0, 4.0], "pre": [1.0, 3.0, 1.0, 3.0]}
        ... )
        >>> treatment = JointMoments.from_columns(
        ...     {"value": [2.0, 5.0, 3.0, 4.0], "pre": [1.0, 3.0, 2.0, 2.0]}
        ... )
        >>> result = cuped_adjust(control, treatment)
        >>> round(result.theta, 4), round(result.difference, 4), result.status
        (1.1667, 1.0, 'ok')
    """
    coefficients = None if theta is None else (theta,)
    return regression_adjust(
        control,
        treatment,
        outcome=outcome,
        covariates=(covariate,),
        method=method,
        coefficients=coefficients,
    )


@ieee
def regression_adjust(
    control: JointMoments,
    treatment: JointMoments,
    *,
    outcome: str = "value",
    covariates: Sequence[str],
    ridge: float = 0.0,
    method: ThetaMethod = "pooled",
    coefficients: Sequence[float] | None = None,
) -> CupedAdjustment:
    """Regression adjustment on several covariates, "CUPED++" (STATS.md §3.5).

    CUPED paper §3.1 (multi-variate): θ solves the pooled normal equations on the
    centred cross-products, C θ = c with C = Σ(x − x̄)(x − x̄)ᵀ and
    c = Σ(x − x̄)(y − ȳ) over both arms (Spotify confidence `estimate_slope`), so θ
    equals the slopes of the pooled OLS of y on [1, x] and the variance factor is
    1 − R². Adjusted arm: ȳ_g − θᵀ(x̄_g − x̄); per-unit variance
    s²_y + θᵀΣ_xθ − 2θᵀσ_xy (n − 1 moments).

    The OLS of y on [1, treatment, x − x̄] is a different estimator: its slopes
    are the within-arm slopes, and its treatment coefficient equals this
    adjustment's difference only when `coefficients` are set to those slopes.
    The Lin (2013) regression with treatment × (x − x̄) interactions has a
    treatment coefficient equal to the difference with `method="lin"`.

    Ridge: C + λ·diag(C), i.e. ridge λ on covariates scaled to unit sum of squares,
    so λ is free of the covariates' units (one covariate: θ/(1 + λ)). Singular or
    ill-conditioned systems (condition number > 1e10) fall back to minimum-norm
    `numpy.linalg.lstsq` with status "collinear_covariates"; constant covariates
    get θ = 0.

    Args:
        control: control-arm joint moments.
        treatment: treatment-arm joint moments with the same names.
        outcome: the metric's per-unit value.
        covariates: covariate names, e.g. ("pre", "has_pre", "pre_sessions").
        ridge: λ ≥ 0, the scale-free ridge penalty.
        method: "pooled" normal equations or "lin" (θ_L = (n_C B_T + n_T B_C)/N
            with per-arm coefficient vectors B_g, each with the same ridge).
        coefficients: force θ, one per covariate (`method` and `ridge` ignored).

    Returns:
        The adjustment; `coefficients` in `covariates` order.

    Raises:
        DataError: a name is missing from the moments.
        ConfigError: `ridge` is negative, or `coefficients` are not finite or do
            not match `covariates`.
    """
    if method not in ("pooled", "lin"):
        raise ConfigError(f"method == {method!r}; must be 'pooled' or 'lin'")
    _check_ridge(ridge)
    names = (outcome, *covariates)
    blocks = (_select(control, names), _select(treatment, names))
    unadjusted = tuple(ArmEstimate.from_moments(b.marginal(outcome)) for b in blocks)
    forced = None if coefficients is None else _fixed(coefficients, len(covariates))
    source: ThetaSource = method if forced is None else "fixed"
    theta, status = np.zeros(len(covariates)), _mean_status(blocks, unadjusted)
    if status == "ok" and forced is not None:
        theta = forced
    elif status == "ok":
        theta, status = _fit_coefficients(blocks, method, ridge)
    if not np.all(np.isfinite(theta)):
        theta, status = np.zeros(len(covariates)), "non_finite"
    pooled = blocks[0] + blocks[1]
    arms = tuple(_adjusted_mean_arm(b, theta, pooled) for b in blocks)
    if np.any(theta) and not _finite(arms):  # e.g. a slope over a 1e-158 spread
        theta, status = np.zeros(len(covariates)), "non_finite"
        arms = tuple(_adjusted_mean_arm(b, theta, pooled) for b in blocks)
    return _assemble(
        kind="mean",
        source=source,
        covariates=tuple(covariates),
        theta=theta,
        arms=arms,
        unadjusted=unadjusted,
        correlation=_mean_correlation(pooled, theta),
        status=status,
    )


@ieee
def adjusted_unit_variance(
    moments: JointMoments,
    coefficients: Sequence[float],
    *,
    outcome: str = "value",
    covariates: Sequence[str] = ("pre",),
) -> float:
    """One arm's adjusted per-unit variance s²_y + θᵀΣ_xθ − 2θᵀσ_xy (STATS.md §3.1).

    CUPED paper §3.1, Var(Ŷ_cv)·n; GrowthBook `RegressionAdjustedStatistic.variance`.
    The variance of the adjusted arm mean is this divided by n, so sequential tests
    can recompute it from cumulative moments with θ held fixed. θ = 0 gives the
    plain sample variance exactly. NaN when n < 2.

    Args:
        moments: one arm's joint moments.
        coefficients: θ, one per covariate.
        outcome: the metric's per-unit value.
        covariates: covariate names in `coefficients` order.

    Raises:
        DataError: a name is missing from the moments.
    """
    block = _select(moments, (outcome, *covariates))
    return _unit_variance(block, np.asarray(coefficients, dtype=np.float64))


def _fit_coefficients(
    blocks: tuple[JointMoments, JointMoments], method: ThetaMethod, ridge: float
) -> tuple[FloatArray, CupedStatus]:
    if method == "pooled":
        return _slopes(blocks[0] + blocks[1], ridge)
    (slope_c, status_c), (slope_t, status_t) = (_slopes(b, ridge) for b in blocks)
    n_c, n_t = blocks[0].n, blocks[1].n
    # Lin (2013): each arm's slope weighted by the *other* arm's share (STATS §3.5)
    theta = (n_c * slope_t + n_t * slope_c) / (n_c + n_t)
    return theta, status_c if status_c != "ok" else status_t


def _slopes(block: JointMoments, ridge: float) -> tuple[FloatArray, CupedStatus]:
    """Ridge slopes of column 0 on the other columns: (C + λ diag C)⁻¹ c."""
    k = len(block.names) - 1
    theta = np.zeros(k)
    if k == 0:
        return theta, "ok"
    covariance = block.covariance_matrix()
    mean_square = np.diag(np.asarray(block.cross, dtype=np.float64))[1:] / block.n
    diagonal = np.diag(covariance)[1:]
    varying = diagonal > _CONSTANT * mean_square
    status: CupedStatus = "ok" if varying.all() else "constant_covariate"
    if not varying.any():
        return theta, status
    scale = np.sqrt(diagonal[varying])
    inner = covariance[1:, 1:][np.ix_(varying, varying)] / np.outer(scale, scale)
    inner += ridge * np.eye(len(scale))
    rhs = covariance[1:, 0][varying] / scale
    if np.linalg.cond(inner) < _MAX_CONDITION:
        solution = np.linalg.solve(inner, rhs)
    else:
        solution = np.linalg.lstsq(inner, rhs, rcond=None)[0]
        status = "collinear_covariates"
    theta[varying] = solution / scale
    return theta, status


def _mean_status(
    blocks: tuple[JointMoments, JointMoments],
    unadjusted: tuple[ArmEstimate, ...],
) -> CupedStatus:
    if min(b.n for b in blocks) < 2:
        return "too_few_units"
    if not sum(arm.mean_variance for arm in unadjusted) > 0:
        return "zero_variance"
    return "ok"


def _adjusted_mean_arm(
    block: JointMoments, theta: FloatArray, pooled: JointMoments
) -> tuple[ArmEstimate, float]:
    mean = block.mean(block.names[0])
    if np.any(theta):  # skip 0·(x̄_g − x̄): θ = 0 must reproduce ȳ_g bit for bit
        shift = block.mean_vector()[1:] - pooled.mean_vector()[1:]
        mean -= float(theta @ shift)
    unit_variance = _unit_variance(block, theta)
    variance = unit_variance / block.n if block.n > 0 else math.nan
    return ArmEstimate(block.n, mean, variance), unit_variance


def _unit_variance(block: JointMoments, theta: FloatArray) -> float:
    if block.n < 2:
        return math.nan
    plain = block.marginal(block.names[0]).variance
    if not np.any(theta):
        return plain
    covariance = block.covariance_matrix()
    quadratic = theta @ covariance[1:, 1:] @ theta - 2 * theta @ covariance[1:, 0]
    return max(plain + float(quadratic), 0.0)


def _mean_correlation(pooled: JointMoments, theta: FloatArray) -> float:
    """corr(Y, X) for one covariate, corr(Y, θᵀX) for several; pooled."""
    if pooled.n < 2 or theta.size == 0:
        return math.nan
    covariance = pooled.covariance_matrix()
    direction = np.ones(1) if theta.size == 1 else theta
    covariate_variance = float(direction @ covariance[1:, 1:] @ direction)
    product = covariance[0, 0] * covariate_variance
    if not product > 0:
        return math.nan
    return float(direction @ covariance[1:, 0]) / math.sqrt(product)


def _check_ridge(ridge: float) -> None:
    if not (math.isfinite(ridge) and ridge >= 0):
        raise ConfigError(f"ridge == {ridge}; must be a finite number ≥ 0")

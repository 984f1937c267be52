"""CUPED for ratio metrics Σm/Σd by the delta method (STATS.md §3.4).

The pre-period ratio Σm_x/Σd_x is the covariate; CUPED paper (Deng, Xu, Kohavi,
Walker 2013, WSDM) Appendix B; GrowthBook `RegressionAdjustedRatioStatistic`.
"""

from __future__ import annotations

import math

import numpy as np

from abkit.aggregates.moments import JointMoments
from abkit.stats.cuped.common import (
    _CONSTANT,
    CupedAdjustment,
    CupedStatus,
    ThetaSource,
    _assemble,
    _finite,
    _fixed,
    _select,
)
from abkit.stats.delta import ratio_estimate, ratio_variance
from abkit.stats.estimate import ArmEstimate
from abkit.stats.floats import ieee, square


@ieee
def cuped_ratio_adjust(
    control: JointMoments,
    treatment: JointMoments,
    *,
    numerator: str = "value",
    denominator: str = "den",
    pre_numerator: str = "pre",
    pre_denominator: str = "pre_den",
    theta: float | None = None,
) -> CupedAdjustment:
    """CUPED for a ratio metric Σm/Σd with the pre-period ratio as covariate.

    STATS.md §3.4; CUPED paper (Deng, Xu, Kohavi, Walker 2013, WSDM) Appendix B;
    GrowthBook `RegressionAdjustedRatioStatistic`. Adjusted arm:
    R̂_g − θ(R̂x_g − R̂x_pooled), with R̂x the pre-period ratio Σm_x/Σd_x (the
    centring is as in `cuped_adjust`). Its delta-method variance is ∇ᵀΛ∇/n_g,
    ∇ = (a, −θb), a = (1/d̄, −R̂/d̄), b = (1/d̄x, −R̂x/d̄x), Λ the per-arm
    4×4 covariance of (m, d, m_x, d_x).

    θ* = Σ_g aᵀΛ_g[post, pre]b/n_g ÷ Σ_g bᵀΛ_g[pre, pre]b/n_g minimises
    Var(R̂_adj,T) + Var(R̂_adj,C), the variance of the difference. GrowthBook's
    `compute_theta_regression_adjusted_ratio` sums the per-unit terms without the
    1/n_g weights, so the two agree only for equal arm sizes.

    Args:
        control: control-arm joint moments holding the four names.
        treatment: treatment-arm joint moments with the same names.
        numerator: the ratio's per-unit numerator m.
        denominator: the ratio's per-unit denominator d.
        pre_numerator: pre-period numerator m_x.
        pre_denominator: pre-period denominator d_x.
        theta: force θ; θ = 0 gives exactly `ratio_estimate` per arm.

    Returns:
        The adjustment (`source` "min-variance" or "fixed").

    Raises:
        DataError: a name is missing from the moments.
        ConfigError: `theta` is not finite.
    """
    names = (numerator, denominator, pre_numerator, pre_denominator)
    blocks = (_select(control, names), _select(treatment, names))
    unadjusted = tuple(ratio_estimate(b, numerator, denominator) for b in blocks)
    forced = None if theta is None else float(_fixed((theta,), 1)[0])
    source: ThetaSource = "min-variance" if forced is None else "fixed"
    value, status = 0.0, _ratio_status(blocks, unadjusted)
    if status == "ok" and forced is not None:
        value = forced
    elif status == "ok":
        value, status = _ratio_theta(blocks)
    if not math.isfinite(value):
        value, status = 0.0, "non_finite"
    pooled = blocks[0] + blocks[1]
    arms = tuple(
        _adjusted_ratio_arm(b, estimate, value, pooled)
        for b, estimate in zip(blocks, unadjusted, strict=True)
    )
    if value != 0 and not _finite(arms):
        value, status = 0.0, "non_finite"
        arms = tuple(
            _adjusted_ratio_arm(b, estimate, value, pooled)
            for b, estimate in zip(blocks, unadjusted, strict=True)
        )
    return _assemble(
        kind="ratio",
        source=source,
        covariates=(f"{pre_numerator}/{pre_denominator}",),
        theta=np.array([value]),
        arms=arms,
        unadjusted=unadjusted,
        correlation=_ratio_correlation(pooled),
        status=status,
    )


@ieee
def adjusted_ratio_unit_variance(
    moments: JointMoments,
    theta: float,
    *,
    numerator: str = "value",
    denominator: str = "den",
    pre_numerator: str = "pre",
    pre_denominator: str = "pre_den",
) -> float:
    """One arm's adjusted per-unit delta variance ∇ᵀΛ∇ of a CUPED ratio (STATS §3.4).

    GrowthBook `RegressionAdjustedRatioStatistic.variance`; CUPED paper Appendix B.
    Equals `ratio_variance` at θ = 0. NaN when n < 2 or a denominator mean is 0.

    Args:
        moments: one arm's joint moments.
        theta: the CUPED coefficient.
        numerator: per-unit numerator m.
        denominator: per-unit denominator d.
        pre_numerator: pre-period numerator m_x.
        pre_denominator: pre-period denominator d_x.

    Raises:
        DataError: a name is missing from the moments.
    """
    names = (numerator, denominator, pre_numerator, pre_denominator)
    return _ratio_unit_variance(_select(moments, names), theta)


def _ratio_parts(block: JointMoments) -> tuple[float, float, float]:
    """Per-unit aᵀΛa (post), aᵀΛb (post × pre) and bᵀΛb (pre) of one arm."""
    m, d, m_x, d_x = block.mean_vector()
    a = np.array([1 / d, -m / d**2])
    b = np.array([1 / d_x, -m_x / d_x**2])
    covariance = block.covariance_matrix()
    post = ratio_variance(block, block.names[0], block.names[1])
    cross = float(a @ covariance[:2, 2:] @ b)
    pre = float(b @ covariance[2:, 2:] @ b)
    return post, cross, pre


def _ratio_unit_variance(block: JointMoments, theta: float) -> float:
    if block.n < 2 or block.sums[1] == 0:
        return math.nan
    if theta == 0:
        return ratio_variance(block, block.names[0], block.names[1])
    if block.sums[3] == 0:
        return math.nan
    post, cross, pre = _ratio_parts(block)
    return max(post - 2 * theta * cross + square(theta) * pre, 0.0)


def _ratio_theta(
    blocks: tuple[JointMoments, JointMoments],
) -> tuple[float, CupedStatus]:
    """θ* = Σ_g aᵀΛ_g b/n_g ÷ Σ_g bᵀΛ_g b/n_g: minimises the summed arm variances."""
    cross = pre = noise = 0.0
    for block in blocks:
        _, cross_g, pre_g = _ratio_parts(block)
        cross, pre = cross + cross_g / block.n, pre + pre_g / block.n
        noise += _CONSTANT * _linearised_mean_square(block) / block.n
    if not pre > noise:  # the pre-period ratio is the same for every unit
        return 0.0, "constant_covariate"
    return cross / pre, "ok"


def _linearised_mean_square(block: JointMoments) -> float:
    """(Σ_j |b_j|·rms(v_j))² over the pre variables: the scale of bᵀΛb's noise."""
    _, _, m_x, d_x = block.mean_vector()
    b = np.abs([1 / d_x, m_x / d_x**2])
    rms = np.sqrt(np.diag(np.asarray(block.cross, dtype=np.float64))[2:] / block.n)
    return square(float(b @ rms))


def _ratio_status(
    blocks: tuple[JointMoments, JointMoments],
    unadjusted: tuple[ArmEstimate, ...],
) -> CupedStatus:
    if min(b.n for b in blocks) < 2:
        return "too_few_units"
    if any(b.sums[1] == 0 for b in blocks):
        return "zero_denominator"
    if (
        any(b.sums[3] == 0 for b in blocks)
        or blocks[0].sums[3] + blocks[1].sums[3] == 0
    ):
        return "zero_pre_denominator"
    if not sum(arm.mean_variance for arm in unadjusted) > 0:
        return "zero_variance"
    return "ok"


def _adjusted_ratio_arm(
    block: JointMoments, unadjusted: ArmEstimate, theta: float, pooled: JointMoments
) -> tuple[ArmEstimate, float]:
    mean = unadjusted.mean
    if theta != 0:
        pooled_pre = pooled.sums[2] / pooled.sums[3]
        mean -= theta * (block.sums[2] / block.sums[3] - pooled_pre)
    unit_variance = _ratio_unit_variance(block, theta)
    variance = unit_variance / block.n if block.n > 0 else math.nan
    return ArmEstimate(block.n, mean, variance), unit_variance


def _ratio_correlation(pooled: JointMoments) -> float:
    """Pooled correlation of the linearised post ratio and pre ratio."""
    if pooled.n < 2 or pooled.sums[1] == 0 or pooled.sums[3] == 0:
        return math.nan
    post, cross, pre = _ratio_parts(pooled)
    return cross / math.sqrt(post * pre) if post * pre > 0 else math.nan

"""CUPED and regression adjustment over sufficient statistics (STATS.md §3).

Deng, Xu, Kohavi, Walker (2013), "Improving the Sensitivity of Online Controlled
Experiments by Utilizing Pre-Experiment Data", WSDM: subtract θ times a pre-period
covariate, with the same θ in both arms, and the variance of the difference
shrinks by the factor 1 − ρ².

- `cuped_adjust`: one covariate, mean or proportion metric (§3.1); θ pooled across
  the arms (GrowthBook-compatible) or Lin's θ_L (§3.5).
- `cuped_ratio_adjust`: ratio metric Σm/Σd with the pre-period ratio as the
  covariate, by the delta method (§3.4).
- `regression_adjust`: several covariates ("CUPED++"), pooled normal equations with
  an optional scale-free ridge (§3.5). With one covariate it equals `cuped_adjust`.

All three return a `CupedAdjustment`: adjusted and unadjusted `ArmEstimate`s that go
into `welch_test`/`z_test` unchanged, plus each arm's adjusted per-unit variance,
which power planning and sequential tests reuse as a sufficient statistic
(`adjusted_unit_variance`, `adjusted_ratio_unit_variance` compute it for one arm).

Shared conventions:

- Centring: an adjusted arm estimate is ȳ_g − θᵀ(x̄_g − x̄), x̄ the covariate mean
  of both arms pooled (tea-tasting, Spotify confidence). The difference equals
  GrowthBook's ȳ_g − θᵀx̄_g, but each arm stays on the metric's scale, so the
  relative lift of `welch_test` divides by the *adjusted* control mean, not the
  unadjusted one GrowthBook uses (STATS.md §3.1).
- θ is treated as known in the variances, as is standard: its sampling error is
  O(1/N) (STATS.md §3.1). Moments use n − 1 denominators.
- Degenerate inputs (an arm with < 2 units, no variance, a constant covariate, a
  zero denominator) give θ = 0, i.e. exactly the unadjusted estimates, and a
  `status` code from `STATUS_MESSAGES`. They never raise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from abkit.aggregates.moments import JointMoments
from abkit.errors import ConfigError, DataError
from abkit.stats.delta import ratio_estimate, ratio_variance
from abkit.stats.welch import ArmEstimate

FloatArray = npt.NDArray[np.float64]

ThetaMethod = Literal["pooled", "lin"]
ThetaSource = Literal["pooled", "lin", "min-variance", "fixed"]
AdjustmentKind = Literal["mean", "ratio"]
CupedStatus = Literal[
    "ok",
    "too_few_units",
    "zero_variance",
    "constant_covariate",
    "collinear_covariates",
    "zero_denominator",
    "zero_pre_denominator",
    "non_finite",
]
STATUS_MESSAGES: dict[CupedStatus, str] = {
    "ok": "",
    "too_few_units": "fewer than 2 units in an arm: no adjustment (θ = 0)",
    "zero_variance": "the metric does not vary in either arm: no adjustment (θ = 0)",
    "constant_covariate": "a covariate does not vary: its coefficient is 0",
    "collinear_covariates": "the covariates are collinear: minimum-norm "
    "least-squares coefficients",
    "zero_denominator": "a ratio denominator sums to 0 in an arm: ratio undefined",
    "zero_pre_denominator": "the pre-period denominator sums to 0 in an arm: "
    "no adjustment (θ = 0)",
    "non_finite": "the coefficients are not finite: no adjustment (θ = 0)",
}

_CONSTANT = 1e-10
"""A covariate whose variance is below 1e-10 of its mean square is constant: the
cancellation in Σx² − (Σx)²/n leaves noise of about that size."""
_MAX_CONDITION = 1e10  # beyond this the scaled normal equations go to lstsq


@dataclass(frozen=True, slots=True)
class CupedAdjustment:
    """Treatment and control estimates adjusted for pre-period covariates.

    One shape for all three adjustments: `coefficients` holds one θ per covariate
    (a single element for `cuped_adjust` and `cuped_ratio_adjust`), and `theta`
    reads it when there is one.

    Attributes:
        kind: "mean" (mean, proportion, multi-covariate) or "ratio".
        source: how the coefficients were chosen: "pooled" (pooled across arms),
            "lin" (θ_L), "min-variance" (ratio θ*) or "fixed" (given by the caller).
        covariates: covariate names, in `coefficients` order.
        coefficients: θ per covariate.
        control: adjusted control estimate ȳ_C − θᵀ(x̄_C − x̄) and its variance.
        treatment: adjusted treatment estimate and its variance.
        unadjusted_control: the plain control estimate (mean, or ratio Σm/Σd).
        unadjusted_treatment: the plain treatment estimate.
        control_unit_variance: adjusted per-unit variance of control
            s²_y + θᵀΣ_xθ − 2θᵀσ_xy (ratio: ∇ᵀΛ∇), so `control.mean_variance` is
            this divided by n_C. Reusable by power and sequential tests.
        treatment_unit_variance: the same for treatment.
        variance_reduction: 1 − Var(Δ̂_adjusted)/Var(Δ̂_unadjusted); at most 1,
            negative if a fixed θ hurts, 0 when degenerate.
        correlation: pooled correlation: of outcome and covariate (one covariate),
            of outcome and the fitted θᵀx (several: the multiple R when
            ridge = 0), of the linearised post and pre ratios (ratio). NaN when
            undefined.
        status: a code from `STATUS_MESSAGES`.
    """

    kind: AdjustmentKind
    source: ThetaSource
    covariates: tuple[str, ...]
    coefficients: tuple[float, ...]
    control: ArmEstimate
    treatment: ArmEstimate
    unadjusted_control: ArmEstimate
    unadjusted_treatment: ArmEstimate
    control_unit_variance: float
    treatment_unit_variance: float
    variance_reduction: float
    correlation: float
    status: CupedStatus

    @property
    def theta(self) -> float:
        """The CUPED coefficient θ of a single-covariate adjustment.

        Raises:
            ValueError: the adjustment has several covariates; read `coefficients`.
        """
        if len(self.coefficients) != 1:
            raise ValueError(
                f"CupedAdjustment.theta: {len(self.coefficients)} covariates "
                f"{self.covariates}; read .coefficients instead"
            )
        return self.coefficients[0]

    @property
    def difference(self) -> float:
        """Adjusted treatment − control."""
        return self.treatment.mean - self.control.mean

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (arms flattened, `theta` NaN unless one covariate)."""
        data = asdict(self)
        for arm in ("control", "treatment", "unadjusted_control"):
            data |= {f"{arm}_{k}": v for k, v in data.pop(arm).items()}
        data |= {
            f"unadjusted_treatment_{k}": v
            for k, v in data.pop("unadjusted_treatment").items()
        }
        data["theta"] = (
            self.coefficients[0] if len(self.coefficients) == 1 else math.nan
        )
        return data

    def __str__(self) -> str:
        thetas = ", ".join(
            f"{k}={v:.4g}"
            for k, v in zip(self.covariates, self.coefficients, strict=True)
        )
        lines = [
            f"CUPED {self.kind} ({self.source} θ: {thetas or 'none'}) variance "
            f"{-self.variance_reduction:+.1%}, ρ = {self.correlation:.3f} "
            f"[{self.status}]"
        ]
        for name, before, after in (
            ("control", self.unadjusted_control, self.control),
            ("treatment", self.unadjusted_treatment, self.treatment),
        ):
            lines.append(
                f"  {name:<9} {before.mean:.6g} → {after.mean:.6g}  "
                f"(SE {before.standard_error:.4g} → {after.standard_error:.4g})"
            )
        return "\n".join(lines)


# --- mean and proportion metrics (STATS.md §3.1, §3.5) --------------------------


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


# --- ratio metrics (STATS.md §3.4) ------------------------------------------------


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
    return max(post - 2 * theta * cross + theta**2 * pre, 0.0)


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
    return float(b @ rms) ** 2


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


# --- shared -----------------------------------------------------------------------


def _select(moments: JointMoments, names: Sequence[str]) -> JointMoments:
    """The sub-moments of `names`, in that order."""
    missing = [k for k in names if k not in moments.names]
    if missing:
        raise DataError(
            f"CUPED: variables {missing} are not in the moments {moments.names}; "
            "pass outcome=/covariates= names the SQL layer delivered"
        )
    index = [moments.index(k) for k in names]
    return JointMoments(
        moments.n,
        tuple(names),
        tuple(moments.sums[i] for i in index),
        tuple(tuple(moments.cross[i][j] for j in index) for i in index),
    )


def _fixed(values: Sequence[float | None], size: int) -> FloatArray:
    theta = np.asarray(values, dtype=np.float64)
    if theta.shape != (size,) or not np.all(np.isfinite(theta)):
        raise ConfigError(
            f"CUPED coefficients == {list(values)}; must be {size} finite number(s), "
            "one per covariate"
        )
    return theta


def _check_ridge(ridge: float) -> None:
    if not (math.isfinite(ridge) and ridge >= 0):
        raise ConfigError(f"ridge == {ridge}; must be a finite number ≥ 0")


def _assemble(
    *,
    kind: AdjustmentKind,
    source: ThetaSource,
    covariates: tuple[str, ...],
    theta: FloatArray,
    arms: tuple[tuple[ArmEstimate, float], ...],
    unadjusted: tuple[ArmEstimate, ...],
    correlation: float,
    status: CupedStatus,
) -> CupedAdjustment:
    (control, control_unit), (treatment, treatment_unit) = arms
    before = unadjusted[0].mean_variance + unadjusted[1].mean_variance
    after = control.mean_variance + treatment.mean_variance
    reduction = 1 - after / before if before > 0 and np.any(theta) else 0.0
    return CupedAdjustment(
        kind=kind,
        source=source,
        covariates=covariates,
        coefficients=tuple(float(v) for v in theta),
        control=control,
        treatment=treatment,
        unadjusted_control=unadjusted[0],
        unadjusted_treatment=unadjusted[1],
        control_unit_variance=control_unit,
        treatment_unit_variance=treatment_unit,
        variance_reduction=reduction,
        correlation=correlation,
        status=status,
    )

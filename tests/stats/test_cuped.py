import math

import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats

from abkit.aggregates.moments import JointMoments
from abkit.errors import ConfigError, DataError
from abkit.stats.cuped import (
    STATUS_MESSAGES,
    CupedAdjustment,
    adjusted_ratio_unit_variance,
    adjusted_unit_variance,
    cuped_adjust,
    cuped_ratio_adjust,
    regression_adjust,
)
from abkit.stats.delta import ratio_estimate
from abkit.stats.welch import ArmEstimate, welch_test

A_A_REPLICATES = 2_000
# binomial 99.9% band around 5% for 2,000 replicates (STATS.md §10 table)
FPR_BAND = (
    scipy_stats.binom.ppf(0.0005, A_A_REPLICATES, 0.05) / A_A_REPLICATES,
    scipy_stats.binom.isf(0.0005, A_A_REPLICATES, 0.05) / A_A_REPLICATES,
)
RATIO_REPLICATES = 1_000
RATIO_FPR_BAND = (
    scipy_stats.binom.ppf(0.0005, RATIO_REPLICATES, 0.05) / RATIO_REPLICATES,
    scipy_stats.binom.isf(0.0005, RATIO_REPLICATES, 0.05) / RATIO_REPLICATES,
)
RATIO_NAMES = ("value", "den", "pre", "pre_den")


def _moments(**columns: np.ndarray) -> JointMoments:
    return JointMoments.from_columns(columns)


def _batch_moments(names: tuple[str, ...], data: np.ndarray) -> list[JointMoments]:
    """JointMoments of each replicate of an (R, n, k) array, sums vectorised."""
    sums = data.sum(axis=1)
    gram = np.einsum("rni,rnj->rij", data, data)
    n = data.shape[1]
    return [
        JointMoments(n, names, tuple(s.tolist()), tuple(map(tuple, g.tolist())))
        for s, g in zip(sums, gram, strict=True)
    ]


def _bivariate(rng, n: int, rho: float, effect: float = 0.0, shift: float = 10.0):
    x = rng.normal(size=n)
    y = effect + rho * x + math.sqrt(1 - rho**2) * rng.normal(size=n)
    return shift + 2.0 * y, shift + 3.0 * x


@pytest.fixture
def arms():
    """Unequal split, skewed outcome, slopes that differ between arms."""
    rng = np.random.default_rng(11)
    x_c = rng.gamma(2.0, 3.0, 700)
    x_t = rng.gamma(2.0, 3.0, 1_100)
    y_c = 5 + 0.8 * x_c + rng.gamma(2.0, 2.0, 700)
    y_t = 5.5 + 0.95 * x_t + rng.gamma(2.0, 2.0, 1_100)
    return (y_c, x_c), (y_t, x_t)


def _pooled_theta(y: np.ndarray, x: np.ndarray) -> float:
    return float(np.cov(y, x, ddof=1)[0, 1] / np.var(x, ddof=1))


# --- single covariate: parity with row-level computations -------------------------


@pytest.mark.parametrize("method", ["pooled", "lin"])
def test_cuped_equals_welch_on_adjusted_units(arms, method):
    (y_c, x_c), (y_t, x_t) = arms
    y, x = np.concatenate([y_c, y_t]), np.concatenate([x_c, x_t])
    if method == "pooled":
        theta = _pooled_theta(y, x)
    else:
        n_c, n_t = y_c.size, y_t.size
        theta = (n_c * _pooled_theta(y_t, x_t) + n_t * _pooled_theta(y_c, x_c)) / (
            n_c + n_t
        )
    adjusted_c = y_c - theta * (x_c - x.mean())
    adjusted_t = y_t - theta * (x_t - x.mean())
    result = cuped_adjust(
        _moments(value=y_c, pre=x_c), _moments(value=y_t, pre=x_t), method=method
    )
    test = welch_test(result.control, result.treatment)
    reference = scipy_stats.ttest_ind(adjusted_t, adjusted_c, equal_var=False)
    ci = reference.confidence_interval(0.95)
    assert result.status == "ok"
    assert result.source == method
    assert result.theta == pytest.approx(theta, rel=1e-9)
    assert result.control.mean == pytest.approx(adjusted_c.mean(), rel=1e-9)
    assert result.treatment.mean == pytest.approx(adjusted_t.mean(), rel=1e-9)
    assert result.control_unit_variance == pytest.approx(
        adjusted_c.var(ddof=1), rel=1e-9
    )
    assert test.statistic == pytest.approx(reference.statistic, rel=1e-9)
    assert test.pvalue == pytest.approx(reference.pvalue, rel=1e-9)
    assert test.df == pytest.approx(reference.df, rel=1e-9)
    assert test.ci_lower == pytest.approx(ci.low, rel=1e-9)
    assert test.ci_upper == pytest.approx(ci.high, rel=1e-9)
    # the relative lift divides by the *adjusted* (centred) control mean
    assert test.relative == pytest.approx(
        adjusted_t.mean() / adjusted_c.mean() - 1, rel=1e-9
    )


def test_lin_equals_interacted_regression(arms):
    """STATS.md §10.7: Lin's treatment coefficient equals CUPED with θ_L."""
    (y_c, x_c), (y_t, x_t) = arms
    y, x = np.concatenate([y_c, y_t]), np.concatenate([x_c, x_t])
    treated = np.r_[np.zeros(y_c.size), np.ones(y_t.size)]
    centred = x - x.mean()
    design = np.column_stack([np.ones_like(y), treated, centred, treated * centred])
    coefficient = sm.OLS(y, design).fit().params[1]
    result = cuped_adjust(
        _moments(value=y_c, pre=x_c), _moments(value=y_t, pre=x_t), method="lin"
    )
    assert result.difference == pytest.approx(coefficient, rel=1e-9)


def test_pooled_theta_is_pooled_correlation_times_sd_ratio(arms):
    (y_c, x_c), (y_t, x_t) = arms
    y, x = np.concatenate([y_c, y_t]), np.concatenate([x_c, x_t])
    result = cuped_adjust(_moments(value=y_c, pre=x_c), _moments(value=y_t, pre=x_t))
    rho = np.corrcoef(y, x)[0, 1]
    assert result.correlation == pytest.approx(rho, rel=1e-9)
    assert result.theta == pytest.approx(rho * y.std() / x.std(), rel=1e-9)
    assert result.unadjusted_control.mean_variance == pytest.approx(
        y_c.var(ddof=1) / y_c.size, rel=1e-12
    )


def test_adjusted_unit_variance_is_reusable(arms):
    (y_c, x_c), (y_t, x_t) = arms
    control, treatment = _moments(value=y_c, pre=x_c), _moments(value=y_t, pre=x_t)
    result = cuped_adjust(control, treatment)
    for moments, unit, arm in (
        (control, result.control_unit_variance, result.control),
        (treatment, result.treatment_unit_variance, result.treatment),
    ):
        assert adjusted_unit_variance(moments, [result.theta]) == unit
        assert arm.mean_variance == unit / moments.n
    with_extra = _moments(value=y_c, other=y_c**2, pre=x_c)
    assert adjusted_unit_variance(with_extra, [0.5]) == pytest.approx(
        adjusted_unit_variance(control, [0.5]), rel=1e-12
    )


# --- θ = 0 and perfect covariates -------------------------------------------------


def test_theta_zero_is_exactly_unadjusted(arms):
    (y_c, x_c), (y_t, x_t) = arms
    control, treatment = _moments(value=y_c, pre=x_c), _moments(value=y_t, pre=x_t)
    result = cuped_adjust(control, treatment, theta=0.0)
    assert result.source == "fixed"
    assert result.control == ArmEstimate.from_moments(control.marginal("value"))
    assert result.treatment == ArmEstimate.from_moments(treatment.marginal("value"))
    assert result.control == result.unadjusted_control
    assert result.variance_reduction == 0.0
    assert welch_test(result.control, result.treatment) == welch_test(
        result.unadjusted_control, result.unadjusted_treatment
    )


def test_covariate_equal_to_outcome_removes_almost_all_variance(arms):
    (y_c, _), (y_t, _) = arms
    result = cuped_adjust(_moments(value=y_c, pre=y_c), _moments(value=y_t, pre=y_t))
    assert result.theta == pytest.approx(1.0, rel=1e-12)
    assert result.variance_reduction > 0.999
    assert result.correlation == pytest.approx(1.0, rel=1e-12)


# --- variance reduction ≈ ρ² (STATS.md §10.6) -------------------------------------


@pytest.mark.parametrize("rho", [0.3, 0.5, 0.7, 0.9])
def test_variance_reduction_is_rho_squared(rho):
    runs, n = 1_000, 400
    rng = np.random.default_rng(int(rho * 100))
    arms = []
    for effect in (0.0, 0.2):
        y, x = _bivariate(rng, runs * n, rho, effect)
        arms.append(
            _batch_moments(("value", "pre"), np.dstack([y, x]).reshape(runs, n, 2))
        )
    results = [cuped_adjust(c, t) for c, t in zip(*arms, strict=True)]
    reductions = np.array([r.variance_reduction for r in results])
    # mean per-run reduction 1 − SE²_adj/SE²: Monte Carlo SE plus O(1/N) fit bias
    tolerance = 4 * reductions.std() / math.sqrt(runs) + 2 / (2 * n)
    assert abs(reductions.mean() - rho**2) < tolerance
    # variance of the estimates across runs: log-ratio SE ≈ 2ρ/√R for normal Δ̂
    adjusted = np.array([r.treatment.mean - r.control.mean for r in results])
    plain = np.array(
        [r.unadjusted_treatment.mean - r.unadjusted_control.mean for r in results]
    )
    log_ratio = math.log(adjusted.var() / plain.var())
    assert abs(log_ratio - math.log(1 - rho**2)) < 4 * 2 * rho / math.sqrt(runs)
    # the adjusted estimate stays unbiased for the true effect 2 × 0.2
    assert abs(adjusted.mean() - 0.4) < 4 * adjusted.std() / math.sqrt(runs)


# --- ratio metrics (STATS.md §3.4) --------------------------------------------------


def _ratio_units(rng, n: int, lift: float = 0.0, pre_share: float = 0.9):
    """Per-user likes m out of views d, pre-period m_x/d_x from the same user."""
    propensity = rng.beta(2.0, 5.0, n)
    d_x = rng.poisson(4.0, n) * (rng.random(n) < pre_share)
    m_x = rng.binomial(d_x, propensity)
    d = 1 + rng.poisson(3.0, n)
    m = rng.binomial(d, np.clip(propensity * (1 + lift), 0, 1))
    return m.astype(float), d.astype(float), m_x.astype(float), d_x.astype(float)


def _ratio_moments(units) -> JointMoments:
    return JointMoments.from_columns(dict(zip(RATIO_NAMES, units, strict=True)))


@pytest.fixture
def ratio_arms():
    rng = np.random.default_rng(21)
    return _ratio_units(rng, 900), _ratio_units(rng, 1_300, lift=0.05)


def _linearised(units, pooled_pre_ratio: float, theta: float):
    """Per-user linearised adjusted ratio, and the arm's adjusted ratio."""
    m, d, m_x, d_x = units
    ratio, pre_ratio = m.sum() / d.sum(), m_x.sum() / d_x.sum()
    post = (m - ratio * d) / d.mean()
    pre = (m_x - pre_ratio * d_x) / d_x.mean()
    return post, pre, ratio - theta * (pre_ratio - pooled_pre_ratio)


def test_ratio_theta_zero_equals_ratio_estimate(ratio_arms):
    control, treatment = (_ratio_moments(u) for u in ratio_arms)
    result = cuped_ratio_adjust(control, treatment, theta=0.0)
    assert result.control == ratio_estimate(control, "value", "den")
    assert result.treatment == ratio_estimate(treatment, "value", "den")
    assert result.variance_reduction == 0.0
    assert adjusted_ratio_unit_variance(control, 0.0) == pytest.approx(
        result.control.mean_variance * control.n, rel=1e-12
    )


def test_ratio_delta_variance_equals_linearised_units(ratio_arms):
    control, treatment = (_ratio_moments(u) for u in ratio_arms)
    result = cuped_ratio_adjust(control, treatment)
    pooled_pre = sum(u[2].sum() for u in ratio_arms) / sum(
        u[3].sum() for u in ratio_arms
    )
    parts = [_linearised(u, pooled_pre, result.theta) for u in ratio_arms]
    # θ* minimises Σ_g Var(post_g − θ pre_g)/n_g over the linearised units
    numerator = sum(np.cov(p, q)[0, 1] / p.size for p, q, _ in parts)
    denominator = sum(q.var(ddof=1) / q.size for _, q, _ in parts)
    assert result.status == "ok"
    assert result.source == "min-variance"
    assert result.theta == pytest.approx(numerator / denominator, rel=1e-9)
    for (post, pre, mean), arm, unit in zip(
        parts,
        (result.control, result.treatment),
        (result.control_unit_variance, result.treatment_unit_variance),
        strict=True,
    ):
        adjusted = post - result.theta * pre
        assert arm.mean == pytest.approx(mean, rel=1e-9)
        assert unit == pytest.approx(adjusted.var(ddof=1), rel=1e-9)
        assert arm.mean_variance == pytest.approx(
            adjusted.var(ddof=1) / adjusted.size, rel=1e-9
        )
    assert 0 < result.variance_reduction < 1


def test_ratio_theta_matches_growthbook_for_equal_arms():
    """GB sums per-unit terms without 1/n_g: the same θ when n_C = n_T."""
    rng = np.random.default_rng(4)
    units = [_ratio_units(rng, 800), _ratio_units(rng, 800)]
    result = cuped_ratio_adjust(*(_ratio_moments(u) for u in units))
    pooled_pre = sum(u[2].sum() for u in units) / sum(u[3].sum() for u in units)
    parts = [_linearised(u, pooled_pre, 0.0) for u in units]
    growthbook = sum(np.cov(p, q)[0, 1] for p, q, _ in parts) / sum(
        q.var(ddof=1) for _, q, _ in parts
    )
    assert result.theta == pytest.approx(growthbook, rel=1e-9)


def test_ratio_bootstrap_agrees_with_delta_variance(ratio_arms):
    rng = np.random.default_rng(8)
    control, _ = ratio_arms
    moments = _ratio_moments(control)
    theta = 0.6
    m, d, m_x, d_x = control
    draws = rng.integers(0, m.size, (2_000, m.size))
    boot = m[draws].sum(1) / d[draws].sum(1) - theta * (
        m_x[draws].sum(1) / d_x[draws].sum(1)
    )
    delta = adjusted_ratio_unit_variance(moments, theta) / moments.n
    # bootstrap variance has relative Monte Carlo SE ≈ √(2/2000) ≈ 3%
    assert boot.var(ddof=1) == pytest.approx(delta, rel=0.15)


# --- multi-covariate regression adjustment (STATS.md §3.5) --------------------------


@pytest.fixture
def multi_arms():
    rng = np.random.default_rng(5)

    def arm(n, effect):
        has_pre = (rng.random(n) < 0.7).astype(float)
        pre = has_pre * rng.gamma(2.0, 2.0, n)
        sessions = rng.poisson(3.0 + has_pre * 2, n).astype(float)
        value = effect + 2 + 0.6 * pre + 0.3 * sessions + 1.5 * has_pre
        value += rng.normal(0, 2, n)
        return {"value": value, "pre": pre, "has_pre": has_pre, "sessions": sessions}

    return arm(600, 0.0), arm(900, 0.4)


COVARIATES = ("pre", "has_pre", "sessions")


def _stack(multi_arms, name):
    return np.concatenate([arm[name] for arm in multi_arms])


def test_regression_coefficients_equal_pooled_ols(multi_arms):
    control, treatment = (JointMoments.from_columns(a) for a in multi_arms)
    result = regression_adjust(control, treatment, covariates=COVARIATES)
    y = _stack(multi_arms, "value")
    x = np.column_stack([_stack(multi_arms, k) for k in COVARIATES])
    ols = sm.OLS(y, sm.add_constant(x - x.mean(0))).fit()
    assert result.status == "ok"
    assert result.coefficients == pytest.approx(tuple(ols.params[1:]), rel=1e-9)
    assert result.correlation == pytest.approx(math.sqrt(ols.rsquared), rel=1e-9)
    for arm, data in zip((result.control, result.treatment), multi_arms, strict=True):
        covariates = np.column_stack([data[k] for k in COVARIATES])
        adjusted = data["value"] - (covariates - x.mean(0)) @ ols.params[1:]
        assert arm.mean == pytest.approx(adjusted.mean(), rel=1e-9)
        assert arm.mean_variance == pytest.approx(
            adjusted.var(ddof=1) / adjusted.size, rel=1e-9
        )


def test_regression_treatment_coefficients(multi_arms):
    """Which OLS coefficient equals which adjusted difference (docstring)."""
    control, treatment = (JointMoments.from_columns(a) for a in multi_arms)
    y = _stack(multi_arms, "value")
    x = np.column_stack([_stack(multi_arms, k) for k in COVARIATES])
    treated = np.r_[np.zeros(600), np.ones(900)]
    centred = x - x.mean(0)
    ancova = sm.OLS(y, np.column_stack([np.ones_like(y), treated, centred])).fit()
    fixed = regression_adjust(
        control, treatment, covariates=COVARIATES, coefficients=ancova.params[2:]
    )
    assert fixed.source == "fixed"
    assert fixed.difference == pytest.approx(ancova.params[1], rel=1e-9)
    interacted = np.column_stack(
        [np.ones_like(y), treated, centred, treated[:, None] * centred]
    )
    lin = sm.OLS(y, interacted).fit()
    result = regression_adjust(control, treatment, covariates=COVARIATES, method="lin")
    assert result.difference == pytest.approx(lin.params[1], rel=1e-9)


def test_one_covariate_regression_equals_cuped(arms):
    (y_c, x_c), (y_t, x_t) = arms
    control, treatment = _moments(value=y_c, pre=x_c), _moments(value=y_t, pre=x_t)
    single = cuped_adjust(control, treatment)
    multi = regression_adjust(control, treatment, covariates=["pre"])
    assert multi == single


def test_ridge_zero_is_plain_and_ridge_shrinks(multi_arms):
    control, treatment = (JointMoments.from_columns(a) for a in multi_arms)
    plain = regression_adjust(control, treatment, covariates=COVARIATES)
    assert regression_adjust(control, treatment, covariates=COVARIATES, ridge=0.0) == (
        plain
    )
    # ridge shrinks the coefficients of the standardised covariates
    x = np.column_stack([_stack(multi_arms, k) for k in COVARIATES])
    scale = x.std(0)
    norms = [
        np.linalg.norm(
            scale
            * regression_adjust(
                control, treatment, covariates=COVARIATES, ridge=ridge
            ).coefficients
        )
        for ridge in (0.0, 0.1, 1.0, 10.0)
    ]
    assert norms == sorted(norms, reverse=True)
    assert norms[-1] < norms[0] / 2


def test_ridge_is_standardised_ridge(multi_arms):
    """λ·diag(C): ridge λ on covariates scaled to unit centred sum of squares."""
    control, treatment = (JointMoments.from_columns(a) for a in multi_arms)
    ridge = 0.3
    result = regression_adjust(control, treatment, covariates=COVARIATES, ridge=ridge)
    y = _stack(multi_arms, "value")
    x = np.column_stack([_stack(multi_arms, k) for k in COVARIATES])
    centred = x - x.mean(0)
    scale = np.sqrt((centred**2).sum(0))
    z = centred / scale
    solution = np.linalg.solve(z.T @ z + ridge * np.eye(3), z.T @ (y - y.mean()))
    assert result.coefficients == pytest.approx(tuple(solution / scale), rel=1e-9)
    # scale-free: rescaling a covariate rescales its coefficient only
    scaled = [dict(a, pre=a["pre"] * 1_000) for a in multi_arms]
    rescaled = regression_adjust(
        *(JointMoments.from_columns(a) for a in scaled),
        covariates=COVARIATES,
        ridge=ridge,
    )
    assert rescaled.coefficients[0] * 1_000 == pytest.approx(
        result.coefficients[0], rel=1e-9
    )


def test_single_covariate_ridge_divides_theta(arms):
    (y_c, x_c), (y_t, x_t) = arms
    control, treatment = _moments(value=y_c, pre=x_c), _moments(value=y_t, pre=x_t)
    theta = cuped_adjust(control, treatment).theta
    ridged = regression_adjust(control, treatment, covariates=["pre"], ridge=0.25)
    assert ridged.theta == pytest.approx(theta / 1.25, rel=1e-12)


def test_collinear_covariates_fall_back_to_least_squares(arms):
    (y_c, x_c), (y_t, x_t) = arms
    control = _moments(value=y_c, pre=x_c, copy=2 * x_c)
    treatment = _moments(value=y_t, pre=x_t, copy=2 * x_t)
    single = cuped_adjust(control, treatment)
    result = regression_adjust(control, treatment, covariates=["pre", "copy"])
    assert result.status == "collinear_covariates"
    assert result.difference == pytest.approx(single.difference, rel=1e-9)
    assert result.variance_reduction == pytest.approx(
        single.variance_reduction, rel=1e-9
    )


def test_missing_pre_indicator_is_unbiased():
    """STATS.md §10.6: 30% new users (pre = 0) plus a has-pre indicator."""
    runs, n = 1_000, 200
    rng = np.random.default_rng(30)
    arms = []
    for effect in (0.0, 0.5):
        has_pre = (rng.random((runs, n)) < 0.7).astype(float)
        pre = has_pre * rng.gamma(2.0, 2.0, (runs, n))
        value = effect + 3.0 - 2.0 * has_pre + 0.8 * pre + rng.normal(0, 1, (runs, n))
        data = np.stack([value, pre, has_pre], axis=2)
        arms.append(_batch_moments(("value", "pre", "has_pre"), data))
    results = [
        regression_adjust(c, t, covariates=("pre", "has_pre"))
        for c, t in zip(*arms, strict=True)
    ]
    differences = np.array([r.difference for r in results])
    assert abs(differences.mean() - 0.5) < 4 * differences.std() / math.sqrt(runs)
    with_indicator = np.mean([r.variance_reduction for r in results])
    without = np.mean(
        [cuped_adjust(c, t).variance_reduction for c, t in zip(*arms, strict=True)]
    )
    assert with_indicator > without


# --- A/A false positive rate (STATS.md §10.1) -------------------------------------


def test_cuped_a_a_false_positive_rate():
    rng = np.random.default_rng(2024)
    arms = []
    for n in (150, 250):
        pre = rng.gamma(1.5, 4.0, (A_A_REPLICATES, n))
        value = 0.7 * pre + rng.gamma(1.5, 3.0, (A_A_REPLICATES, n))
        arms.append(_batch_moments(("value", "pre"), np.stack([value, pre], axis=2)))
    pvalues = np.array(
        [
            welch_test(*_arms(cuped_adjust(c, t))).pvalue
            for c, t in zip(*arms, strict=True)
        ]
    )
    assert FPR_BAND[0] <= np.mean(pvalues < 0.05) <= FPR_BAND[1]


def test_cuped_ratio_a_a_false_positive_rate():
    rng = np.random.default_rng(77)
    arms = []
    for n in (300, 400):
        units = _ratio_units(rng, RATIO_REPLICATES * n)
        data = np.stack(units, axis=1).reshape(RATIO_REPLICATES, n, 4)
        arms.append(_batch_moments(RATIO_NAMES, data))
    pvalues = np.array(
        [
            welch_test(*_arms(cuped_ratio_adjust(c, t))).pvalue
            for c, t in zip(*arms, strict=True)
        ]
    )
    assert RATIO_FPR_BAND[0] <= np.mean(pvalues < 0.05) <= RATIO_FPR_BAND[1]


def _arms(result: CupedAdjustment) -> tuple[ArmEstimate, ArmEstimate]:
    assert result.status == "ok"
    return result.control, result.treatment


# --- degenerate inputs: θ = 0 with a status, never an exception ----------------------


def test_constant_covariate():
    control = _moments(value=np.array([1.0, 2.0, 4.0]), pre=np.full(3, 0.1))
    treatment = _moments(value=np.array([2.0, 2.5, 7.0, 1.0]), pre=np.full(4, 0.1))
    result = cuped_adjust(control, treatment)
    assert result.status == "constant_covariate"
    assert result.theta == 0.0
    assert result.control == result.unadjusted_control
    assert result.variance_reduction == 0.0
    assert math.isnan(result.correlation)


@pytest.mark.parametrize("n_control", [0, 1])
def test_too_few_units(n_control):
    control = _moments(value=np.arange(n_control, dtype=float), pre=np.ones(n_control))
    treatment = _moments(value=np.array([1.0, 2.0, 3.0]), pre=np.array([1.0, 0, 2]))
    for result in (
        cuped_adjust(control, treatment),
        cuped_adjust(control, treatment, theta=0.7),
        regression_adjust(control, treatment, covariates=["pre"], method="lin"),
    ):
        assert result.status == "too_few_units"
        assert result.coefficients == (0.0,)
        assert result.treatment == result.unadjusted_treatment
        assert welch_test(result.control, result.treatment).status == "too_few_units"


def test_zero_variance_outcome():
    control = _moments(value=np.ones(4), pre=np.array([1.0, 2, 3, 4]))
    treatment = _moments(value=np.ones(5), pre=np.array([1.0, 0, 3, 4, 8]))
    result = cuped_adjust(control, treatment)
    assert result.status == "zero_variance"
    assert result.theta == 0.0
    assert result.variance_reduction == 0.0


def test_ratio_zero_pre_denominator(ratio_arms):
    control_units, treatment_units = ratio_arms
    no_pre = (*control_units[:2], np.zeros(900), np.zeros(900))
    control, treatment = _ratio_moments(no_pre), _ratio_moments(treatment_units)
    for theta in (None, 0.5):
        result = cuped_ratio_adjust(control, treatment, theta=theta)
        assert result.status == "zero_pre_denominator"
        assert result.theta == 0.0
        assert result.control == ratio_estimate(control, "value", "den")
        assert result.treatment == ratio_estimate(treatment, "value", "den")


def test_ratio_zero_denominator_and_constant_pre_ratio(ratio_arms):
    control_units, treatment_units = ratio_arms
    zero_den = (np.zeros(900), np.zeros(900), *control_units[2:])
    result = cuped_ratio_adjust(
        _ratio_moments(zero_den), _ratio_moments(treatment_units)
    )
    assert result.status == "zero_denominator"
    assert math.isnan(result.control.mean)
    # m_x = 0.25·d_x for every user: the linearised pre ratio is 0 everywhere
    flat = [(u[0], u[1], 0.25 * u[3], u[3]) for u in ratio_arms]
    result = cuped_ratio_adjust(*(_ratio_moments(u) for u in flat))
    assert result.status == "constant_covariate"
    assert result.theta == 0.0


def test_bad_input_raises_with_the_fix(arms):
    (y_c, x_c), (y_t, x_t) = arms
    control, treatment = _moments(value=y_c, pre=x_c), _moments(value=y_t, pre=x_t)
    with pytest.raises(DataError, match="pass outcome=/covariates="):
        cuped_adjust(control, treatment, covariate="pre_sessions")
    with pytest.raises(ConfigError, match="must be a finite number ≥ 0"):
        regression_adjust(control, treatment, covariates=["pre"], ridge=-1.0)
    with pytest.raises(ConfigError, match="one per covariate"):
        cuped_adjust(control, treatment, theta=math.nan)
    with pytest.raises(ConfigError, match="must be 'pooled' or 'lin'"):
        cuped_adjust(control, treatment, method="ols")  # type: ignore[arg-type]
    result = regression_adjust(control, treatment, covariates=["pre", "pre"])
    with pytest.raises(ValueError, match=r"read \.coefficients"):
        _ = result.theta


def test_to_dict_and_str(arms):
    (y_c, x_c), (y_t, x_t) = arms
    result = cuped_adjust(_moments(value=y_c, pre=x_c), _moments(value=y_t, pre=x_t))
    data = result.to_dict()
    assert data["theta"] == result.theta
    assert data["control_mean"] == result.control.mean
    assert data["unadjusted_treatment_n"] == y_t.size
    assert "pooled θ: pre=" in str(result)
    assert set(STATUS_MESSAGES) >= {"ok", "constant_covariate"}


# --- hypothesis invariants ------------------------------------------------------------

values = st.floats(-100, 100, allow_subnormal=False)
units = st.lists(st.tuples(values, values), min_size=2, max_size=25)


def _from_pairs(pairs) -> JointMoments:
    array = np.array(pairs, dtype=float)
    return _moments(value=array[:, 0], pre=array[:, 1])


@settings(max_examples=150, deadline=None)
@given(units, units, st.sampled_from(["pooled", "lin"]))
@example(  # overflow in matmul: Lin's slope over a control covariate spread of 1.8e-158
    [(0.0, 1.8e-158), (1.0, 0.0)], [(0.0, 0.0), (1.0, 100.0)], "lin"
)
def test_swapping_arms_flips_sign_and_keeps_theta(
    control_units, treatment_units, method
):
    control, treatment = _from_pairs(control_units), _from_pairs(treatment_units)
    forward = cuped_adjust(control, treatment, method=method)
    backward = cuped_adjust(treatment, control, method=method)
    assert forward.theta == backward.theta
    assert forward.difference == -backward.difference
    assert forward.variance_reduction <= 1
    assert forward.status in STATUS_MESSAGES


@settings(max_examples=100, deadline=None)
@given(units, units)
def test_theta_zero_always_unadjusted(control_units, treatment_units):
    control, treatment = _from_pairs(control_units), _from_pairs(treatment_units)
    result = cuped_adjust(control, treatment, theta=0.0)
    assert result.control == ArmEstimate.from_moments(control.marginal("value"))
    assert result.treatment == ArmEstimate.from_moments(treatment.marginal("value"))


ratio_units = st.lists(
    st.tuples(*(st.integers(0, 20).map(float) for _ in range(4))),
    min_size=2,
    max_size=25,
)


@settings(max_examples=100, deadline=None)
@given(ratio_units, ratio_units)
def test_ratio_swap_flips_sign(control_units, treatment_units):
    control, treatment = (
        JointMoments.from_columns(dict(zip(RATIO_NAMES, np.array(u).T, strict=True)))
        for u in (control_units, treatment_units)
    )
    forward = cuped_ratio_adjust(control, treatment)
    backward = cuped_ratio_adjust(treatment, control)
    assert forward.theta == backward.theta
    assert forward.status == backward.status
    if forward.status == "ok":
        assert forward.difference == pytest.approx(-backward.difference, abs=1e-12)
        assert forward.variance_reduction <= 1

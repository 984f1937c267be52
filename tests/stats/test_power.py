import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats
from statsmodels.stats.power import NormalIndPower, tt_ind_solve_power

from abkit.stats.power import (
    Design,
    MetricModel,
    duration_days,
    mde_for_duration,
    minimum_detectable_effect,
    power_at,
    sample_size,
)

REPLICATES = 2_000
# binomial 99.9% band for an 80% rate over 2,000 replicates (STATS.md §10 recipe)
POWER_BAND = (
    scipy_stats.binom.ppf(0.0005, REPLICATES, 0.8) / REPLICATES,
    scipy_stats.binom.isf(0.0005, REPLICATES, 0.8) / REPLICATES,
)


@pytest.mark.parametrize(
    ("effect_size", "ratio", "alpha", "power"),
    [
        (0.5, 1.0, 0.05, 0.8),
        (0.1, 2.0, 0.05, 0.8),
        (0.03, 0.5, 0.01, 0.9),
        (0.2, 1.0, 0.2, 0.5),
    ],
)
def test_sample_size_equals_statsmodels(effect_size, ratio, alpha, power):
    design = Design(alpha=alpha, power=power, ratio=ratio)
    result = sample_size(MetricModel.mean(2.0), effect_size * 2.0, design=design)
    expected = NormalIndPower().solve_power(
        effect_size, alpha=alpha, power=power, ratio=ratio
    )
    # statsmodels finds the same root with brentq's default tolerance
    assert result.n_exact[0] == pytest.approx(expected, rel=1e-7)
    assert result.n_exact[1] == pytest.approx(ratio * expected, rel=1e-7)
    assert result.n_per_arm == tuple(math.ceil(n) for n in result.n_exact)
    assert result.n_total == sum(result.n_per_arm)
    assert result.achieved_power >= power


def test_t_test_size_agrees_at_ab_scale():
    design = Design(ratio=1.5)
    result = sample_size(MetricModel.mean(1.0), 0.05, design=design)
    expected = tt_ind_solve_power(0.05, alpha=0.05, power=0.8, ratio=1.5)
    assert result.n_exact[0] == pytest.approx(expected, rel=1e-3)


@settings(max_examples=50, deadline=None)
@given(
    st.floats(0.01, 2.0),
    st.floats(10, 1e6),
    st.floats(0.2, 5.0),
    st.sampled_from(["two-sided", "one-sided"]),
)
def test_power_equals_statsmodels(effect_size, n_control, ratio, sides):
    design = Design(ratio=ratio, sides=sides)
    power = power_at(MetricModel.mean(1.0), n_control, effect_size, design=design)
    alternative = "two-sided" if sides == "two-sided" else "larger"
    expected = NormalIndPower().power(
        effect_size, n_control, 0.05, ratio=ratio, alternative=alternative
    )
    assert power == pytest.approx(expected, rel=1e-12)


def test_proportion_reference_value():
    # STATS.md §7: 10% -> 11%, α = .05, 80% power: 14,748 per arm [computed]
    result = sample_size(MetricModel.proportion(0.10), 0.01)
    assert round(result.n_exact[0]) == 14_748
    assert result.n_per_arm == (14_749, 14_749)  # 14,748.009 rounded up
    # the direct (one-tail) normal formula with unpooled variances
    z = scipy_stats.norm.isf(0.025) + scipy_stats.norm.ppf(0.8)
    direct = z**2 * (0.10 * 0.90 + 0.11 * 0.89) / 0.01**2
    assert round(direct) == 14_748
    assert result.n_exact[0] == pytest.approx(direct, rel=1e-5)  # far tail only
    relative = sample_size(MetricModel.proportion(0.10), 0.10, mde_type="relative")
    assert relative.n_exact == pytest.approx(result.n_exact, rel=1e-12)
    assert relative.mde_absolute == pytest.approx(0.01, rel=1e-12)


def test_gb_mde_formula():
    # GB power-technical.mdx: MDE = σ_Δ (z_α + z_β), ignoring the far tail
    result = minimum_detectable_effect(MetricModel.mean(3.0), 5_000)
    sigma_delta = 3.0 * math.sqrt(2 / 5_000)
    z = scipy_stats.norm.isf(0.025) + scipy_stats.norm.ppf(0.8)
    assert result.mde == pytest.approx(sigma_delta * z, rel=1e-5)


@pytest.mark.parametrize("reduction", [0.19, 0.5, 0.91])
def test_cuped_shrinks_n_by_one_minus_rho_squared(reduction):
    metric = MetricModel.proportion(0.2)
    plain = sample_size(metric, 0.01)
    cuped = sample_size(metric, 0.01, design=Design(variance_reduction=reduction))
    assert cuped.n_exact[0] == pytest.approx(
        plain.n_exact[0] * (1 - reduction), rel=1e-12
    )


def test_inflation_multiplies_n_and_power_uses_the_fixed_equivalent():
    metric = MetricModel.mean(1.0, std_treatment=1.3)
    fixed = sample_size(metric, 0.1)
    sequential = sample_size(metric, 0.1, design=Design(inflation=1.066))
    assert sequential.n_exact[0] == pytest.approx(1.066 * fixed.n_exact[0], rel=1e-12)
    at_max = power_at(
        metric, sequential.n_exact[0], 0.1, design=Design(inflation=1.066)
    )
    assert at_max == pytest.approx(0.8, rel=1e-12)


def test_unequal_variances_per_arm():
    metric = MetricModel.mean(1.0, std_treatment=2.0)
    result = sample_size(metric, 0.2, design=Design(ratio=2.0))
    lam = scipy_stats.norm.isf(0.025) + scipy_stats.norm.ppf(0.8)
    assert result.n_exact[0] == pytest.approx(lam**2 * (1 + 4 / 2) / 0.04, rel=1e-5)


def test_several_arms_use_bonferroni_and_the_weakest_comparison():
    metric = MetricModel.mean(1.0)
    three = sample_size(metric, 0.1, design=Design(weights=(1, 1, 1)))
    two = sample_size(metric, 0.1, design=Design(alpha=0.025))
    assert three.n_exact == pytest.approx((two.n_exact[0],) * 3, rel=1e-12)
    assert three.design.family_size == 2
    # control-heavy split: each comparison has k = 1/2
    heavy = sample_size(metric, 0.1, design=Design(weights=(2, 1, 1)))
    expected = NormalIndPower().solve_power(0.1, alpha=0.025, power=0.8, ratio=0.5)
    assert heavy.n_exact[0] == pytest.approx(expected, rel=1e-7)
    assert heavy.n_exact[1] == pytest.approx(expected / 2, rel=1e-7)
    # uneven treatments: the smaller arm drives the size
    uneven = sample_size(metric, 0.1, design=Design(weights=(1, 2, 1)))
    assert uneven.n_exact[0] == pytest.approx(two.n_exact[0], rel=1e-12)
    assert power_at(
        metric, uneven.n_exact[0], 0.1, design=uneven.design
    ) == pytest.approx(0.8)
    # a family of 2 arms x 3 metrics
    family = Design(weights=(1, 1, 1), comparisons=6)
    assert family.alpha_per_comparison == pytest.approx(0.05 / 6)


def test_ratio_metric_uses_the_delta_variance_as_given():
    ratio = sample_size(MetricModel.ratio(0.07, baseline=0.3), 0.03)
    mean = sample_size(MetricModel.mean(math.sqrt(0.07), baseline=0.3), 0.03)
    assert ratio.n_exact == pytest.approx(mean.n_exact, rel=1e-12)


def test_relative_mde_is_a_fraction_of_the_baseline():
    metric = MetricModel.mean(4.0, baseline=20.0)
    relative = sample_size(metric, 0.05, mde_type="relative")
    absolute = sample_size(metric, 1.0)
    assert relative.n_exact == pytest.approx(absolute.n_exact, rel=1e-12)
    with pytest.raises(ValueError, match="pass baseline="):
        sample_size(MetricModel.mean(4.0), 0.05, mde_type="relative")


DESIGNS = [
    Design(),
    Design(sides="one-sided", power=0.9),
    Design(ratio=3.0, variance_reduction=0.4, inflation=1.2),
    Design(weights=(2, 1, 1), alpha=0.1),
]
METRICS = [
    (MetricModel.mean(2.5, baseline=10.0, std_treatment=3.0), 0.3),
    (MetricModel.proportion(0.04), 0.004),
    (MetricModel.proportion(0.7), 0.05),
    (MetricModel.ratio(0.5, baseline=1.5), 0.05),
]


@pytest.mark.parametrize("design", DESIGNS)
@pytest.mark.parametrize(("metric", "mde"), METRICS)
def test_mde_inverts_sample_size(metric, mde, design):
    planned = sample_size(metric, mde, design=design)
    found = minimum_detectable_effect(metric, planned.n_exact[0], design=design)
    assert found.mde == pytest.approx(mde, rel=1e-9)
    assert power_at(metric, planned.n_exact[0], mde, design=design) == pytest.approx(
        design.power, rel=1e-9
    )
    relative = minimum_detectable_effect(
        metric, planned.n_exact[0], mde_type="relative", design=design
    )
    assert relative.mde == pytest.approx(mde / metric.baseline, rel=1e-9)


def test_proportion_mde_beyond_one_is_nan():
    result = minimum_detectable_effect(MetricModel.proportion(0.9), 3)
    assert math.isnan(result.mde)
    assert math.isnan(result.achieved_power)


def test_duration():
    assert duration_days(29_498, 1_000) == 30
    assert duration_days(3_000, 1_000) == 3
    assert duration_days(0, 10) == 0
    metric = MetricModel.proportion(0.1)
    design = Design(weights=(2, 1, 1))
    budget = mde_for_duration(metric, 14, 3_000, design=design)
    direct = minimum_detectable_effect(metric, 14 * 3_000 / 2, design=design)
    assert budget.mde == pytest.approx(direct.mde, rel=1e-15)
    assert budget.n_per_arm == (21_000, 10_500, 10_500)
    with pytest.raises(ValueError, match="daily_new_units"):
        duration_days(100, 0)


def test_design_validation():
    with pytest.raises(ValueError, match="rho"):
        Design(variance_reduction=1.0)
    with pytest.raises(ValueError, match="inflation"):
        Design(inflation=0.9)
    with pytest.raises(ValueError, match="weights"):
        Design(weights=(1.0,))
    with pytest.raises(ValueError, match="power"):
        Design(power=0.01)
    with pytest.raises(ValueError, match="must be in"):
        MetricModel.proportion(1.2)
    with pytest.raises(ValueError, match="treatment proportion"):
        sample_size(MetricModel.proportion(0.95), 0.1)
    with pytest.raises(ValueError, match="non-zero"):
        sample_size(MetricModel.mean(1.0), 0.0)


def test_result_to_dict_and_str():
    result = sample_size(MetricModel.proportion(0.1), 0.01, design=Design(ratio=2))
    data = result.to_dict()
    assert data["n_total"] == sum(result.n_per_arm)
    assert data["metric_kind"] == "proportion"
    assert data["design_ratio"] == 2
    assert data["design_alpha_per_comparison"] == 0.05
    assert "n per arm" in str(result)


# --- simulated power at the planned n (STATS.md §10 recipe 12) ---------------


def _rejection_rate(z):
    return float(np.mean(np.abs(z) > scipy_stats.norm.isf(0.025)))


def test_simulated_power_means():
    planned = sample_size(MetricModel.mean(1.0), 0.2, design=Design(ratio=1.5))
    n_c, n_t = planned.n_per_arm
    rng = np.random.default_rng(2024)
    control = rng.normal(0.0, 1.0, (REPLICATES, n_c))
    treatment = rng.normal(0.2, 1.0, (REPLICATES, n_t))
    test = scipy_stats.ttest_ind(treatment, control, axis=1, equal_var=False)
    rate = float(np.mean(test.pvalue < 0.05))
    assert POWER_BAND[0] <= rate <= POWER_BAND[1]


def test_simulated_power_proportions():
    planned = sample_size(MetricModel.proportion(0.1), 0.01)
    n = planned.n_per_arm[0]
    rng = np.random.default_rng(7)
    p_c = rng.binomial(n, 0.10, REPLICATES) / n
    p_t = rng.binomial(n, 0.11, REPLICATES) / n
    se = np.sqrt(p_c * (1 - p_c) / n + p_t * (1 - p_t) / n)
    assert POWER_BAND[0] <= _rejection_rate((p_t - p_c) / se) <= POWER_BAND[1]


def test_simulated_power_cuped():
    rho = 0.7
    planned = sample_size(
        MetricModel.mean(1.0), 0.25, design=Design(variance_reduction=rho**2)
    )
    n = planned.n_per_arm[0]
    rng = np.random.default_rng(99)
    shape = (REPLICATES, n)
    x_c, x_t = rng.normal(size=shape), rng.normal(size=shape)
    y_c = rho * x_c + math.sqrt(1 - rho**2) * rng.normal(size=shape)
    y_t = 0.25 + rho * x_t + math.sqrt(1 - rho**2) * rng.normal(size=shape)
    x, y = np.hstack([x_c, x_t]), np.hstack([y_c, y_t])
    theta = np.sum((x - x.mean(1, keepdims=True)) * y, axis=1) / (
        np.sum((x - x.mean(1, keepdims=True)) ** 2, axis=1)
    )  # pooled θ (STATS.md §3.1)
    adjusted_c = y_c - theta[:, None] * x_c
    adjusted_t = y_t - theta[:, None] * x_t
    difference = adjusted_t.mean(1) - adjusted_c.mean(1)
    se = np.sqrt(adjusted_c.var(1, ddof=1) / n + adjusted_t.var(1, ddof=1) / n)
    assert POWER_BAND[0] <= _rejection_rate(difference / se) <= POWER_BAND[1]


def test_simulated_power_ratio():
    # d ~ 1 + Poisson(2), m | d ~ Binomial(d, p): R = p, σ²_R = p(1 - p)/E[d]
    mean_d = 3.0
    metric = MetricModel.ratio(
        0.30 * 0.70 / mean_d, baseline=0.30, variance_treatment=0.35 * 0.65 / mean_d
    )
    n = sample_size(metric, 0.05).n_per_arm[0]
    rng = np.random.default_rng(5)
    estimates, variances = [], []
    for rate in (0.30, 0.35):
        d = 1 + rng.poisson(mean_d - 1, (REPLICATES, n))
        m = rng.binomial(d, rate)
        ratio = m.sum(1) / d.sum(1)
        residual = m - ratio[:, None] * d
        variances.append(residual.var(1, ddof=1) / d.mean(1) ** 2 / n)
        estimates.append(ratio)
    z = (estimates[1] - estimates[0]) / np.sqrt(variances[0] + variances[1])
    assert POWER_BAND[0] <= _rejection_rate(z) <= POWER_BAND[1]

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from abkit.aggregates.moments import JointMoments, Moments
from abkit.stats.delta import ratio_estimate
from abkit.stats.welch import ArmEstimate, proportion_ztest, welch_test, z_test


@pytest.fixture
def revenue_arms() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    control = rng.lognormal(0.0, 1.2, 900) * (rng.random(900) < 0.3)
    treatment = rng.lognormal(0.05, 1.2, 1100) * (rng.random(1100) < 0.3)
    return control, treatment


def test_welch_matches_scipy(revenue_arms):
    control, treatment = revenue_arms
    result = welch_test(
        ArmEstimate.from_moments(Moments.from_values(control)),
        ArmEstimate.from_moments(Moments.from_values(treatment)),
        alpha=0.05,
    )
    reference = scipy_stats.ttest_ind(treatment, control, equal_var=False)
    ci = reference.confidence_interval(0.95)
    assert result.status == "ok"
    assert result.statistic == pytest.approx(reference.statistic, rel=1e-9)
    assert result.pvalue == pytest.approx(reference.pvalue, rel=1e-9)
    assert result.df == pytest.approx(reference.df, rel=1e-9)
    assert result.ci_lower == pytest.approx(ci.low, rel=1e-9)
    assert result.ci_upper == pytest.approx(ci.high, rel=1e-9)


def test_relative_lift_matches_delta_method_by_hand(revenue_arms):
    control, treatment = revenue_arms
    result = welch_test(
        ArmEstimate.from_moments(Moments.from_values(control)),
        ArmEstimate.from_moments(Moments.from_values(treatment)),
    )
    mean_c, mean_t = control.mean(), treatment.mean()
    var_c = control.var(ddof=1) / control.size
    var_t = treatment.var(ddof=1) / treatment.size
    se = math.sqrt(var_t / mean_c**2 + mean_t**2 * var_c / mean_c**4)
    q = scipy_stats.t.ppf(0.975, result.df)
    assert result.relative == pytest.approx(mean_t / mean_c - 1, rel=1e-12)
    assert result.relative_ci_lower == pytest.approx(
        mean_t / mean_c - 1 - q * se, rel=1e-9
    )
    assert result.relative_ci_upper == pytest.approx(
        mean_t / mean_c - 1 + q * se, rel=1e-9
    )


def test_proportion_ztest_matches_statsmodels():
    rng = np.random.default_rng(3)
    control = (rng.random(5000) < 0.10).astype(float)
    treatment = (rng.random(5200) < 0.115).astype(float)
    result = proportion_ztest(
        Moments.from_values(control), Moments.from_values(treatment)
    )
    count = np.array([treatment.sum(), control.sum()])
    nobs = np.array([treatment.size, control.size])
    statistic, pvalue = proportions_ztest(count, nobs)
    low, high = confint_proportions_2indep(
        count[0], nobs[0], count[1], nobs[1], method="wald", compare="diff"
    )
    assert result.statistic == pytest.approx(statistic, rel=1e-9)
    assert result.pvalue == pytest.approx(pvalue, rel=1e-9)
    assert result.ci_lower == pytest.approx(low, rel=1e-9)
    assert result.ci_upper == pytest.approx(high, rel=1e-9)


def test_ratio_estimate_matches_numpy_delta_method():
    rng = np.random.default_rng(11)
    likes = rng.poisson(rng.gamma(1.0, 20.0, 3000)).astype(float)
    matches = rng.binomial(likes.astype(int), 0.08).astype(float)
    arm = ratio_estimate(
        JointMoments.from_columns({"m": matches, "d": likes}), "m", "d"
    )
    ratio = matches.sum() / likes.sum()
    linearized = (matches - ratio * likes) / likes.mean()
    assert arm.mean == pytest.approx(ratio, rel=1e-12)
    assert arm.mean_variance == pytest.approx(
        linearized.var(ddof=1) / likes.size, rel=1e-9
    )


@pytest.mark.parametrize(
    ("control", "treatment", "status"),
    [
        (Moments(1, 3.0, 9.0), Moments(50, 10.0, 30.0), "too_few_units"),
        (Moments(0, 0.0, 0.0), Moments(50, 10.0, 30.0), "too_few_units"),
        (Moments(40, 40.0, 40.0), Moments(50, 50.0, 50.0), "zero_variance"),
        (Moments(40, 0.0, 0.0), Moments(50, 5.0, 9.0), "zero_control_mean"),
    ],
)
def test_degenerate_inputs_give_status_not_crash(control, treatment, status):
    result = welch_test(
        ArmEstimate.from_moments(control), ArmEstimate.from_moments(treatment)
    )
    assert result.status == status
    assert not result.significant or status == "zero_control_mean"


finite = st.floats(-1e3, 1e3, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(finite, min_size=3, max_size=40),
    st.lists(finite, min_size=3, max_size=40),
)
def test_swapping_arms_flips_the_effect(control, treatment):
    a = ArmEstimate.from_moments(Moments.from_values(control))
    b = ArmEstimate.from_moments(Moments.from_values(treatment))
    forward, backward = z_test(a, b), z_test(b, a)
    assert forward.difference == pytest.approx(-backward.difference, abs=1e-9)
    if forward.status == "ok":
        assert forward.pvalue == pytest.approx(backward.pvalue, rel=1e-9, abs=1e-12)
        assert 0.0 <= forward.pvalue <= 1.0
        assert forward.ci_lower <= forward.difference <= forward.ci_upper


@settings(max_examples=60, deadline=None)
@given(
    st.lists(finite, min_size=1, max_size=30),
    st.lists(finite, min_size=1, max_size=30),
)
def test_moments_add_like_concatenation(first, second):
    combined = Moments.from_values(first) + Moments.from_values(second)
    direct = Moments.from_values(first + second)
    assert combined.n == direct.n
    assert combined.sum == pytest.approx(direct.sum, abs=1e-6)
    assert combined.sum_sq == pytest.approx(direct.sum_sq, rel=1e-9, abs=1e-6)

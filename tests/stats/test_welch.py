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


# --- negative baselines, impossible moments, degenerate input (issue 13) ------------

NEGATIVE_CONTROL = Moments(100, -1000.0, 10100.0)  # mean -10, variance 100/99
NEGATIVE_TREATMENT = Moments(100, -500.0, 2600.0)  # mean -5, variance 100/99


def test_negative_baseline_lift_follows_the_difference():
    control = ArmEstimate.from_moments(NEGATIVE_CONTROL)
    treatment = ArmEstimate.from_moments(NEGATIVE_TREATMENT)
    result = welch_test(control, treatment)
    reference = scipy_stats.ttest_ind_from_stats(
        -5.0, math.sqrt(100 / 99), 100, -10.0, math.sqrt(100 / 99), 100, equal_var=False
    )
    assert result.difference == 5.0
    assert result.pvalue == pytest.approx(reference.pvalue, rel=1e-9)
    assert result.pvalue < 1e-80
    assert result.relative == pytest.approx(0.5, rel=1e-12)  # +5 / |-10|
    se = math.sqrt((100 / 99 / 100) / 100 + 25 * (100 / 99 / 100) / 10**4)
    q = scipy_stats.t.ppf(0.975, result.df)
    assert result.relative_ci_lower == pytest.approx(0.5 - q * se, rel=1e-9)
    assert result.relative_ci_upper == pytest.approx(0.5 + q * se, rel=1e-9)
    assert result.relative_ci_lower > 0


@settings(max_examples=60, deadline=None)
@given(
    st.floats(-1e6, 1e6, allow_nan=False),
    st.floats(-1e6, 1e6, allow_nan=False),
    st.floats(1e-6, 1e6, allow_nan=False),
)
def test_relative_lift_has_the_sign_of_the_difference(mean_c, mean_t, variance):
    control, treatment = (
        ArmEstimate(50, mean_c, variance),
        ArmEstimate(60, mean_t, variance),
    )
    result = z_test(control, treatment)
    if mean_c != 0 and result.status == "ok":
        assert math.copysign(1, result.relative) == math.copysign(
            1, result.difference
        ) or (result.difference == 0)
        assert result.relative == pytest.approx(
            result.difference / abs(mean_c), rel=1e-12
        )


def test_tiny_control_mean_gives_a_status_not_an_overflow():
    control = ArmEstimate(10, 3.9e-159, 1e-3)
    treatment = ArmEstimate(10, 1.0, 1e-3)
    result = z_test(control, treatment)
    assert result.status == "zero_control_mean"
    assert math.isnan(result.relative_ci_lower)
    assert result.pvalue == pytest.approx(
        2 * scipy_stats.norm.sf(1.0 / math.sqrt(2e-3)), rel=1e-9
    )


@pytest.mark.parametrize(
    "control",
    [
        Moments(2, 10.0, 10.0),  # Σy² < (Σy)²/n: variance -40
        Moments(5, 1.0, -1.0),  # negative sum of squares
        Moments(-3, 1.0, 1.0),  # negative count
        Moments(0, 2.0, 4.0),  # sums without units
    ],
)
def test_impossible_moments_are_inconsistent_not_clipped(control):
    treatment = Moments(50, 10.0, 30.0)
    for test in (welch_test, z_test):
        result = test(
            ArmEstimate.from_moments(control), ArmEstimate.from_moments(treatment)
        )
        assert result.status == "inconsistent"
        assert math.isnan(result.pvalue)
        assert not result.significant


@pytest.mark.parametrize(
    "control",
    [Moments(10, 11.0, 11.0), Moments(10, -1.0, -1.0), Moments(10, 4.0, 9.0)],
)
def test_impossible_proportions_are_inconsistent(control):
    result = proportion_ztest(control, Moments(10, 5.0, 5.0))
    assert result.status == "inconsistent"
    assert math.isnan(result.pvalue)


def test_rounding_below_zero_is_not_inconsistent():
    moments = Moments.from_values(np.full(12345, 7.7))
    assert moments.sum_sq - moments.sum**2 / moments.n < 0  # -4.7e-10 by rounding
    result = welch_test(
        ArmEstimate.from_moments(moments), ArmEstimate.from_moments(moments)
    )
    assert result.status == "zero_variance"


def test_impossible_ratio_cross_products_are_inconsistent():
    names = ("value", "den")
    # Σ(m−m̄)(d−d̄) = 10 while Σ(m−m̄)² = Σ(d−d̄)² = 2: |cov| > sd·sd
    impossible = JointMoments(4, names, (4.0, 8.0), ((6.0, 18.0), (18.0, 18.0)))
    possible = JointMoments.from_columns({"value": [1, 0, 2, 1], "den": [2, 1, 3, 2]})
    arm = ratio_estimate(impossible, "value", "den")
    assert not arm.consistent
    result = welch_test(arm, ratio_estimate(possible, "value", "den"))
    assert result.status == "inconsistent"

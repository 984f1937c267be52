"""Every public statistics function returns a status for any finite input, never raises.

Extreme finite values (up to ±1.7e308, subnormals, huge and negative counts) go
through each function; the result must carry a known status and, when "ok", a
p-value in [0, 1]. Impossible moments must be flagged "inconsistent".
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abkit.aggregates.moments import JointMoments, Moments
from abkit.analysis.comparison import compare
from abkit.config import Metric
from abkit.stats.bayes import bayesian_test, chance_to_win, expected_losses
from abkit.stats.delta import ratio_estimate, ratio_variance, relative_lift
from abkit.stats.estimate import ArmEstimate
from abkit.stats.exact import proportion_test
from abkit.stats.guardrail import guardrail_test
from abkit.stats.multiple import CORRECTION_METHODS, adjusted_ci, correct_pvalues
from abkit.stats.status import STATUS_MESSAGES, UNTESTABLE, joint_consistent
from abkit.stats.welch import EffectResult, proportion_ztest, welch_test, z_test

anything = st.floats(allow_nan=False, allow_infinity=False)
small_or_huge = st.one_of(
    anything,
    st.sampled_from([0.0, -0.0, 5e-324, -5e-324, 3.9e-159, 1e-300, 1e300, -1.7e308]),
)
count = st.one_of(st.integers(-3, 50), st.sampled_from([10**9, 2**62]))
positive = st.floats(min_value=5e-324, allow_infinity=False, allow_nan=False)
moments = st.builds(Moments, count, small_or_huge, small_or_huge)
arms = st.builds(ArmEstimate, count, small_or_huge, small_or_huge)


def assert_well_formed(result: EffectResult) -> None:
    assert result.status in STATUS_MESSAGES
    if result.status in UNTESTABLE:
        assert math.isnan(result.pvalue)
        assert not result.significant
    else:
        assert 0.0 <= result.pvalue <= 1.0
        assert not result.ci_lower > result.ci_upper


@settings(max_examples=300, deadline=None)
@given(moments, moments)
def test_mean_tests_never_raise(control, treatment):
    a, b = ArmEstimate.from_moments(control), ArmEstimate.from_moments(treatment)
    for test in (welch_test, z_test):
        assert_well_formed(test(a, b))


@settings(max_examples=300, deadline=None)
@given(arms, arms)
def test_tests_on_arm_estimates_never_raise(control, treatment):
    for test in (welch_test, z_test):
        assert_well_formed(test(control, treatment))
    lift = relative_lift(control, treatment, 1.96)
    assert lift.status in ("ok", "zero_control_mean")


@settings(max_examples=200, deadline=None)
@given(moments, moments, st.booleans())
def test_proportion_tests_never_raise(control, treatment, continuity):
    assert_well_formed(proportion_ztest(control, treatment, continuity=continuity))


@settings(max_examples=100, deadline=None)
@given(
    st.integers(0, 300), st.integers(0, 300), st.integers(0, 300), st.integers(0, 300)
)
def test_proportion_test_on_real_tables_is_consistent(n_c, x_c, n_t, x_t):
    control = Moments(n_c, float(min(x_c, n_c)), float(min(x_c, n_c)))
    treatment = Moments(n_t, float(min(x_t, n_t)), float(min(x_t, n_t)))
    result = proportion_test(control, treatment, exact_below=3)
    assert_well_formed(result)
    assert result.status != "inconsistent"


@settings(max_examples=300, deadline=None)
@given(count, st.lists(small_or_huge, min_size=6, max_size=6))
def test_ratio_estimates_never_raise(n, values):
    names = ("value", "den")
    jm = JointMoments(n, names, (values[0], values[1]),
                      ((values[2], values[3]), (values[4], values[5])))  # fmt: skip
    arm = ratio_estimate(jm, "value", "den")
    assert isinstance(ratio_variance(jm, "value", "den"), float)
    assert_well_formed(welch_test(arm, arm))
    assert isinstance(joint_consistent(jm, names), bool)


@settings(max_examples=300, deadline=None)
@given(
    small_or_huge, small_or_huge, small_or_huge, st.one_of(positive, st.just(math.inf))
)
def test_bayes_never_raises(estimate, error, prior_mean, prior_std):
    result = bayesian_test(estimate, error, prior_mean=prior_mean, prior_std=prior_std)
    assert result.status in ("ok", "invalid_estimate")
    if result.status == "ok":
        assert 0.0 <= result.chance_to_win <= 1.0
        assert not math.isnan(result.posterior_mean)
    if error > 0:
        assert 0.0 <= chance_to_win(estimate, error) <= 1.0
        assert len(expected_losses(estimate, error)) == 2


@settings(max_examples=300, deadline=None)
@given(small_or_huge, small_or_huge, st.floats(0, 1e300), st.booleans())
def test_guardrail_never_raises(estimate, error, margin, higher):
    result = guardrail_test(estimate, error, margin, higher_is_better=higher)
    assert result.status in ("harmed", "not_harmed", "inconclusive")
    assert math.isnan(result.pvalue) or 0.0 <= result.pvalue <= 1.0


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.floats(0, 1), st.just(math.nan)), max_size=12),
    st.sampled_from(CORRECTION_METHODS),
)
def test_corrections_never_raise(pvalues, method):
    result = correct_pvalues(pvalues, method)
    for adjusted, level in zip(result.adjusted, result.levels, strict=True):
        assert math.isnan(adjusted) or 0.0 <= adjusted <= 1.0
        low, high = adjusted_ci(1.0, 1e300, level)
        assert math.isnan(low) or low <= high


def test_swapping_arms_at_a_tiny_control_mean():
    # found by tests/stats/test_welch.py::test_swapping_arms_flips_the_effect:
    # relative_lift raised OverflowError when the control mean was 3.9e-159
    tiny = ArmEstimate.from_moments(Moments(3, 3 * 3.9e-159, 1.0))
    other = ArmEstimate.from_moments(Moments(3, 3.0, 5.0))
    forward, backward = z_test(tiny, other), z_test(other, tiny)
    assert forward.status == "zero_control_mean"
    assert backward.status == "ok"
    assert forward.pvalue == pytest.approx(backward.pvalue, rel=1e-12)


def test_huge_values_overflow_with_a_status():
    control = ArmEstimate(10, -1.7e308, 1.0)
    treatment = ArmEstimate(10, 1.7e308, 1.0)
    assert z_test(control, treatment).status == "overflow"
    squares = Moments(10, 1e200, 1e300)  # (Σy)² overflows
    result = welch_test(ArmEstimate.from_moments(squares), ArmEstimate(10, 1.0, 1.0))
    assert result.status in ("overflow", "inconsistent")


def binary_metric() -> Metric:
    return Metric(name="payer", kind="proportion", events=("purchase",))


def test_impossible_binary_cross_products_are_inconsistent():
    names = ("value", "pre")
    # 6 payers now and 6 before among 10 units: at least 2 must be both, 12 > 10
    impossible = JointMoments(10, names, (6.0, 6.0), ((6.0, 1.0), (1.0, 6.0)))
    possible = JointMoments.from_columns(
        {
            "value": np.array([1.0] * 6 + [0.0] * 4),
            "pre": np.array([0.0] * 4 + [1.0] * 6),
        }
    )
    assert not joint_consistent(impossible, names)
    assert joint_consistent(possible, names)
    assert possible.cross[0][1] == 2.0  # the Fréchet lower bound, reachable
    result = compare(binary_metric(), possible, impossible, 0.05)
    assert result.effect.status == "inconsistent"
    assert math.isnan(result.effect.pvalue)
    ok = compare(binary_metric(), possible, possible, 0.05)
    assert ok.effect.status == "ok"
    assert ok.effect.pvalue == pytest.approx(1.0)

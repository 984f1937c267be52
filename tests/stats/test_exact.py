"""Two proportions at small counts: the pooled z-test, Yates, and the exact tests."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats
from statsmodels.stats.proportion import confint_proportions_2indep

from abkit.aggregates.moments import JointMoments, Moments
from abkit.analysis.comparison import compare
from abkit.config import Metric, ProportionSettings
from abkit.stats.exact import (
    UNCONDITIONAL_MAX_TABLES,
    fisher_pvalue,
    proportion_test,
    smallest_expected_count,
)
from abkit.stats.welch import newcombe_interval, proportion_ztest


def binary(n: int, successes: int) -> Moments:
    return Moments(n, float(successes), float(successes))


def table(control: Moments, treatment: Moments) -> list[list[int]]:
    x_c, x_t = int(control.sum), int(treatment.sum)
    return [[x_t, treatment.n - x_t], [x_c, control.n - x_c]]


def test_zero_of_ten_against_ten_of_ten_is_tested():
    control, treatment = binary(10, 0), binary(10, 10)
    result = proportion_ztest(control, treatment)
    chi2 = scipy_stats.chi2_contingency(table(control, treatment), correction=False)
    assert result.status == "zero_control_mean"  # the test is fine, only the lift
    assert result.statistic == pytest.approx(4.472135955, rel=1e-9)
    assert result.statistic**2 == pytest.approx(chi2.statistic, rel=1e-12)
    assert result.pvalue == pytest.approx(7.744216e-6, rel=1e-6)
    assert result.pvalue == pytest.approx(chi2.pvalue, rel=1e-12)
    assert result.significant
    low, high = confint_proportions_2indep(10, 10, 0, 10, method="newcomb")
    assert (result.ci_lower, result.ci_upper) == pytest.approx((low, high), rel=1e-12)
    assert result.ci_lower == pytest.approx(0.6075093504, rel=1e-9)


def test_proportion_test_keeps_the_z_test_at_expected_count_five():
    control, treatment = binary(10, 0), binary(10, 10)
    assert smallest_expected_count(control, treatment) == 5.0
    assert proportion_test(control, treatment).test == "two-proportion-z"


@pytest.mark.parametrize(
    ("counts", "statsmodels_counts"),
    [((30, 1, 30, 6), (6, 30, 1, 30)), ((200, 4, 180, 0), (0, 180, 4, 200))],
)
def test_newcombe_interval_equals_statsmodels(counts, statsmodels_counts):
    n_c, x_c, n_t, x_t = counts
    low, high = confint_proportions_2indep(*statsmodels_counts, method="newcomb")
    assert newcombe_interval(binary(n_c, x_c), binary(n_t, x_t), 0.05) == (
        pytest.approx((low, high), rel=1e-12)
    )


@pytest.mark.parametrize(
    ("n_c", "x_c", "n_t", "x_t"), [(50, 8, 60, 20), (1000, 31, 1100, 50), (12, 3, 9, 7)]
)
def test_yates_correction_equals_chi2_contingency(n_c, x_c, n_t, x_t):
    control, treatment = binary(n_c, x_c), binary(n_t, x_t)
    corrected = proportion_ztest(control, treatment, continuity=True)
    reference = scipy_stats.chi2_contingency(table(control, treatment), correction=True)
    assert corrected.test == "two-proportion-z-yates"
    assert corrected.pvalue == pytest.approx(reference.pvalue, rel=1e-10)
    plain = proportion_ztest(control, treatment)
    assert corrected.pvalue > plain.pvalue
    assert corrected.difference == plain.difference
    assert (corrected.ci_lower, corrected.ci_upper) == (plain.ci_lower, plain.ci_upper)


@pytest.mark.parametrize(
    ("method", "scipy_test", "kind"),
    [
        ("fisher", scipy_stats.fisher_exact, "fisher-exact"),
        ("boschloo", scipy_stats.boschloo_exact, "boschloo-exact"),
        ("barnard", scipy_stats.barnard_exact, "barnard-exact"),
    ],
)
def test_exact_test_runs_below_the_threshold(method, scipy_test, kind):
    control, treatment = binary(30, 1), binary(30, 6)  # smallest expected 3.5
    assert smallest_expected_count(control, treatment) == pytest.approx(3.5)
    result = proportion_test(control, treatment, exact_test=method)
    assert result.test == kind
    assert result.pvalue == pytest.approx(
        scipy_test(table(control, treatment)).pvalue, rel=1e-12
    )
    low, high = confint_proportions_2indep(6, 30, 1, 30, method="newcomb")
    assert (result.ci_lower, result.ci_upper) == pytest.approx((low, high), rel=1e-12)
    z = proportion_ztest(control, treatment)
    assert result.statistic == z.statistic
    assert result.relative == pytest.approx(5.0, rel=1e-12)


def test_golden_fisher_value():
    # Fisher's exact test of [[6, 24], [1, 29]]: two-sided p = 0.10279 (scipy 1.17)
    result = proportion_test(binary(30, 1), binary(30, 6))
    assert result.pvalue == pytest.approx(0.1027897170, rel=1e-9)
    assert proportion_ztest(binary(30, 1), binary(30, 6)).pvalue < 0.05  # z misleads


def test_threshold_is_configurable_and_zero_never_runs_an_exact_test():
    control, treatment = binary(30, 1), binary(30, 6)
    assert proportion_test(control, treatment, exact_below=0).test == (
        "two-proportion-z"
    )
    control, treatment = binary(40, 10), binary(40, 20)
    assert smallest_expected_count(control, treatment) == 15.0  # 40 · 30/80
    assert proportion_test(control, treatment).test == "two-proportion-z"
    assert proportion_test(control, treatment, exact_below=16).test == "fisher-exact"


def test_large_unconditional_tables_fall_back_to_fisher():
    control, treatment = binary(2000, 1), binary(2000, 4)
    assert UNCONDITIONAL_MAX_TABLES < 2001 * 2001
    result = proportion_test(control, treatment, exact_test="boschloo")
    assert result.test == "fisher-exact"
    expected = scipy_stats.fisher_exact(table(control, treatment)).pvalue
    assert result.pvalue == pytest.approx(expected, rel=1e-12)


def test_degenerate_tables_keep_their_status():
    assert proportion_test(binary(10, 0), binary(12, 0)).status == "zero_variance"
    assert proportion_test(binary(1, 0), binary(12, 3)).status == "too_few_units"
    assert proportion_test(binary(10, 11), binary(12, 3)).status == "inconsistent"


def joint(n: int, successes: int) -> JointMoments:
    values = np.zeros(n)
    values[:successes] = 1.0
    return JointMoments.from_columns({"value": values, "pre": values})


def test_comparison_uses_the_configured_exact_test():
    metric = Metric(name="reports", kind="proportion", events=("report",))
    control, treatment = joint(30, 1), joint(30, 6)
    chosen = compare(
        metric, control, treatment, 0.05, None, ProportionSettings(exact_test="barnard")
    )
    assert chosen.effect.test == "barnard-exact"
    default = compare(metric, control, treatment, 0.05)
    assert default.effect.test == "fisher-exact"
    never = compare(
        metric, control, treatment, 0.05, None, ProportionSettings(exact_below=0)
    )
    assert never.effect.test == "two-proportion-z"
    assert math.isfinite(never.effect.pvalue)


@settings(max_examples=300)
@given(
    st.integers(1, 4000),
    st.integers(1, 4000),
    st.sampled_from([0.0005, 0.003, 0.02, 0.3, 0.5, 0.99]),
    st.integers(0, 2**32 - 1),
)
def test_fisher_pvalue_equals_scipy_fisher_exact(n_t, n_c, rate, seed):
    """The log-gamma sum equals scipy.stats.fisher_exact on any 2 × 2 table."""
    rng = np.random.default_rng(seed)
    x_t, x_c = int(rng.binomial(n_t, rate)), int(rng.binomial(n_c, rate))
    two_by_two = [[x_t, n_t - x_t], [x_c, n_c - x_c]]
    expected = scipy_stats.fisher_exact(two_by_two).pvalue
    assert fisher_pvalue(two_by_two) == pytest.approx(expected, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(
    "two_by_two",
    [[[3, 1], [1, 3]], [[5, 5], [5, 5]], [[0, 10], [10, 0]], [[0, 0], [4, 2]]],
)
def test_fisher_pvalue_on_ties_and_empty_margins(two_by_two):
    expected = scipy_stats.fisher_exact(two_by_two).pvalue
    assert fisher_pvalue(two_by_two) == pytest.approx(expected, rel=1e-12)

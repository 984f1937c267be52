import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from abkit.stats.guardrail import guardrail_test


def _arms(rng, n, effect, scale=1.0):
    control = rng.normal(10.0, scale, n)
    treatment = rng.normal(10.0 + effect, scale, n)
    difference = treatment.mean() - control.mean()
    se = math.sqrt(control.var(ddof=1) / n + treatment.var(ddof=1) / n)
    return control, treatment, difference, se


def test_pvalue_equals_statsmodels_noninferiority_ztest():
    rng = np.random.default_rng(3)
    control, treatment, difference, se = _arms(rng, 800, -0.05)
    margin = 0.1
    result = guardrail_test(difference, se, margin)
    compare = CompareMeans(DescrStatsW(treatment), DescrStatsW(control))
    statistic, pvalue = compare.ztest_ind(
        alternative="larger", usevar="unequal", value=-margin
    )
    assert result.statistic == pytest.approx(statistic, rel=1e-9)
    assert result.pvalue == pytest.approx(pvalue, rel=1e-9)
    # lower is better: the same data mirrored
    mirrored = guardrail_test(-difference, se, margin, higher_is_better=False)
    assert mirrored.pvalue == pytest.approx(result.pvalue, rel=1e-12)
    assert mirrored.status == result.status


def test_harm_beyond_margin_is_harmed():
    rng = np.random.default_rng(11)
    *_, difference, se = _arms(rng, 20_000, effect=-0.2)
    result = guardrail_test(difference, se, margin=0.1)
    assert result.status == "harmed"
    assert result.worse_than_control
    assert result.ci_upper < -0.1
    assert result.pvalue > 1 - 0.05


def test_harm_inside_margin_at_large_n_is_not_harmed():
    rng = np.random.default_rng(12)
    *_, difference, se = _arms(rng, 50_000, effect=-0.04)
    result = guardrail_test(difference, se, margin=0.1)
    assert result.status == "not_harmed"
    assert result.pvalue < 0.05
    assert result.ci_lower > -0.1
    assert result.worse_than_control  # a real but tolerated harm


def test_small_sample_is_inconclusive():
    rng = np.random.default_rng(13)
    *_, difference, se = _arms(rng, 50, effect=-0.1)
    result = guardrail_test(difference, se, margin=0.1)
    assert result.status == "inconclusive"
    assert result.ci_lower < -0.1 < result.ci_upper


def test_lower_is_better_metric_harmed_by_an_increase():
    rng = np.random.default_rng(14)
    *_, difference, se = _arms(rng, 20_000, effect=+0.2)  # e.g. latency up
    assert (
        guardrail_test(difference, se, 0.1, higher_is_better=False).status == "harmed"
    )
    assert (
        guardrail_test(-difference, se, 0.1, higher_is_better=False).status
        == "not_harmed"
    )


def test_simulated_error_rates():
    # At a true harm exactly equal to the margin, each one-sided test errs ≤ α.
    rng = np.random.default_rng(15)
    replicates, se, margin = 2_000, 0.02, 0.05
    estimates = rng.normal(-margin, se, replicates)
    statuses = [guardrail_test(float(e), se, margin).status for e in estimates]
    band = scipy_stats.binom.isf(0.0005, replicates, 0.05) / replicates
    assert statuses.count("not_harmed") / replicates <= band
    assert statuses.count("harmed") / replicates <= band


@settings(max_examples=60, deadline=None)
@given(
    st.floats(-2, 2, allow_nan=False),
    st.floats(1e-3, 1, allow_nan=False),
    st.floats(0, 1, allow_nan=False),
    st.tuples(
        st.sampled_from([0.01, 0.025, 0.05, 0.1]),
        st.booleans(),
        st.sampled_from([math.inf, 30.0]),
    ),
)
def test_status_is_the_interval_against_the_margin(estimate, se, margin, setting):
    alpha, higher_is_better, df = setting
    result = guardrail_test(
        estimate, se, margin, alpha=alpha, higher_is_better=higher_is_better, df=df
    )
    assert result.ci_lower <= estimate <= result.ci_upper
    bad_bound, good_bound = (
        (result.ci_lower, result.ci_upper)
        if higher_is_better
        else (-result.ci_upper, -result.ci_lower)
    )
    expected = (
        "not_harmed"
        if bad_bound > -margin
        else "harmed"
        if good_bound < -margin
        else "inconclusive"
    )
    assert result.status == expected
    assert 0 <= result.pvalue <= 1
    if not math.isclose(result.pvalue, alpha, rel_tol=1e-9):
        assert (result.status == "not_harmed") == (result.pvalue < alpha)
    if not math.isclose(1 - result.pvalue, alpha, rel_tol=1e-9):
        assert (result.status == "harmed") == (1 - result.pvalue < alpha)


def test_t_reference():
    result = guardrail_test(-0.01, 0.02, 0.05, df=12)
    assert result.pvalue == pytest.approx(scipy_stats.t(12).sf((-0.01 + 0.05) / 0.02))
    half = scipy_stats.t(12).isf(0.05) * 0.02
    assert (result.ci_lower, result.ci_upper) == pytest.approx(
        (-0.01 - half, -0.01 + half)
    )


def test_degenerate_and_bad_input():
    result = guardrail_test(0.1, 0.0, 0.05)
    assert result.status == "inconclusive"
    assert math.isnan(result.pvalue)
    with pytest.raises(ValueError, match="margin"):
        guardrail_test(0.1, 0.1, -0.05)
    with pytest.raises(ValueError, match="alpha"):
        guardrail_test(0.1, 0.1, 0.05, alpha=0.5)


def test_result_to_dict_and_str():
    result = guardrail_test(0.01, 0.01, 0.05)
    assert result.to_dict()["status"] == "not_harmed"
    assert "not_harmed" in str(result)

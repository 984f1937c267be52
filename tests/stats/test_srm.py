"""SRM (STATS.md §5): χ² reference values, scipy parity, sequential Bayes factor."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special
from scipy import stats as scipy_stats

import abkit
from abkit.analysis.health import srm_check
from abkit.config import load_experiment
from abkit.errors import ConfigError, DataError
from abkit.stats.srm import sequential_srm, srm_test
from tests.conftest import tiny_exp_dict, write_tiny

# --- chi-square SRM ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "weights", "pvalue"),
    [
        ([600, 400], [0.5, 0.5], 2.54e-10),  # Wikipedia "Sample ratio mismatch" example
        ([44_000, 45_000], [0.5, 0.5], 8.02e-4),  # srm.osc.garden example
        ([5100, 2400, 2500], [0.5, 0.25, 0.25], 0.0498),
    ],
)
def test_srm_reference_values(counts, weights, pvalue):
    result = srm_test(counts, weights)
    assert result.pvalue == pytest.approx(pvalue, rel=1e-3)
    assert result.flagged == (pvalue < 0.001)
    assert result.status == "ok"
    assert result.df == len(counts) - 1


@settings(max_examples=100, deadline=None)
@given(
    counts=st.lists(st.integers(0, 10**7), min_size=2, max_size=6),
    data=st.data(),
)
def test_srm_matches_scipy_chisquare(counts, data):
    weights = data.draw(
        st.lists(st.floats(0.01, 100), min_size=len(counts), max_size=len(counts))
    )
    if sum(counts) == 0:
        return
    result = srm_test(counts, weights)
    expected = np.asarray(weights) / sum(weights) * sum(counts)
    assert result.expected == pytest.approx(expected, rel=1e-12)
    # same expected counts into scipy, so rounding in e cannot cancel in (o − e)²
    reference = scipy_stats.chisquare(counts, result.expected)
    assert result.statistic == pytest.approx(reference.statistic, rel=1e-12, abs=1e-300)
    assert result.pvalue == pytest.approx(reference.pvalue, rel=1e-12, abs=1e-300)
    assert 0 <= result.pvalue <= 1


def test_srm_weights_scale_free_and_zero_weights_skipped():
    assert srm_test([600, 400], [1, 1]).pvalue == srm_test([600, 400], [50, 50]).pvalue
    result = srm_test([600, 7, 400], [0.5, 0.0, 0.5])
    reference = scipy_stats.chisquare([600, 400])
    assert result.pvalue == pytest.approx(reference.pvalue, rel=1e-12)
    assert result.df == 1
    assert result.expected == (500.0, 0.0, 500.0)
    assert result.skipped_units == 7
    assert result.counts == (600, 7, 400)


@pytest.mark.parametrize(
    ("counts", "weights", "status"),
    [
        ([0, 0], [0.5, 0.5], "no_units"),
        ([10], [1.0], "single_group"),
        ([10, 20], [1.0, 0.0], "single_group"),
        ([10, 20], [0.0, -1.0], "single_group"),
        ([], [], "single_group"),
    ],
)
def test_srm_degenerate_inputs_return_a_status(counts, weights, status):
    result = srm_test(counts, weights)
    assert result.status == status
    assert not result.flagged
    assert math.isnan(result.pvalue)
    assert result.to_dict()["status"] == status


def test_srm_bad_inputs_raise_with_the_fix():
    with pytest.raises(DataError, match="one count and one weight per variant"):
        srm_test([10, 20, 30], [0.5, 0.5])
    with pytest.raises(DataError, match="≥ 0"):
        srm_test([10, -20], [0.5, 0.5])


def test_srm_pvalues_uniform_under_null():
    rng = np.random.default_rng(17)
    counts = rng.multinomial(20_000, [0.5, 0.3, 0.2], size=2000)
    pvalues = [srm_test(c.tolist(), [0.5, 0.3, 0.2]).pvalue for c in counts]
    assert scipy_stats.kstest(pvalues, "uniform").pvalue > 0.001


# --- sequential SRM ---------------------------------------------------------------


def _log_bf_by_conjugate_updating(daily, shares, concentration):
    """GB `ssrm.py` road: per-day Dirichlet–multinomial vs multinomial log marginals."""
    prior = concentration * np.asarray(shares)
    log_bf, out = 0.0, []
    for x in daily:
        n = x.sum()
        log_dm = (
            special.gammaln(n + 1)
            - special.gammaln(x + 1).sum()
            + special.gammaln(prior.sum())
            - special.gammaln(prior).sum()
            + special.gammaln(prior + x).sum()
            - special.gammaln(prior.sum() + n)
        )
        log_bf += log_dm - scipy_stats.multinomial.logpmf(x, n, shares)
        prior = prior + x
        out.append(log_bf)
    return np.asarray(out)


def test_sequential_srm_batch_form_equals_conjugate_updating():
    rng = np.random.default_rng(3)
    shares = [0.5, 0.25, 0.25]
    daily = rng.multinomial(3000, [0.49, 0.26, 0.25], size=14)
    result = sequential_srm(
        np.cumsum(daily, axis=0).tolist(), shares, concentration=5000
    )
    reference = _log_bf_by_conjugate_updating(daily, shares, 5000)
    assert result.log_bayes_factors == pytest.approx(reference, rel=1e-9, abs=1e-9)
    expected_p = np.minimum.accumulate(np.minimum(1, np.exp(-reference)))
    assert result.pvalues == pytest.approx(expected_p, rel=1e-9)


def test_sequential_srm_detects_505_495_at_one_million():
    result = sequential_srm([[505_000, 495_000]], [0.5, 0.5])
    assert result.flagged
    assert result.log_bayes_factors[0] > 40
    rng = np.random.default_rng(8)
    daily = rng.multinomial(1_000_000 // 28, [0.505, 0.495], size=28)
    result = sequential_srm(np.cumsum(daily, axis=0).tolist(), [0.5, 0.5])
    assert result.flagged
    assert result.first_flagged_index is not None
    assert result.pvalues[-1] < 1e-10


def test_sequential_srm_false_positive_rate_under_daily_looks():
    rng = np.random.default_rng(2024)
    sims, days, shares = 1000, 28, [0.5, 0.25, 0.25]
    daily_units = rng.poisson(2000, size=(sims, days))
    daily = np.stack([rng.multinomial(n, shares) for n in daily_units.ravel()])
    cumulative = np.cumsum(daily.reshape(sims, days, 3), axis=1)
    flagged = [sequential_srm(c.tolist(), shares).flagged for c in cumulative]
    assert np.mean(flagged) <= 0.074  # binomial 99.9% band upper edge, R = 1,000


def test_sequential_srm_outputs_and_degenerate_inputs():
    result = sequential_srm([[0, 0], [480, 520], [1000, 1010]], [1, 1])
    assert result.log_bayes_factors[0] == 0.0
    assert result.pvalues[0] == 1.0
    assert all(np.diff(result.pvalues) <= 0)
    assert not result.flagged
    assert result.to_dict()["concentration"] == 10_000
    assert sequential_srm([], [1, 1]).status == "no_units"
    assert sequential_srm([[5, 5]], [1, 0]).status == "single_group"
    skipped = sequential_srm([[5, 3, 5]], [1, 0, 1])
    assert skipped.skipped_units == 3
    assert skipped.log_bayes_factors == pytest.approx(
        sequential_srm([[5, 5]], [1, 1]).log_bayes_factors
    )
    with pytest.raises(DataError, match="cumulative"):
        sequential_srm([[10, 10], [5, 12]], [1, 1])
    with pytest.raises(DataError, match="rows differ in length"):
        sequential_srm([[10, 10], [5]], [1, 1])
    with pytest.raises(DataError, match="one count and one weight"):
        sequential_srm([[10, 10, 3]], [1, 1])


# --- configurable threshold and wording (exp.yaml `health:`) -----------------------


def test_borderline_split_is_a_warning_not_a_match():
    result = srm_test([5147, 4853], [1, 1])
    assert result.pvalue == pytest.approx(
        scipy_stats.chisquare([5147, 4853]).pvalue, rel=1e-12
    )
    assert 0.001 < result.pvalue < 0.05  # p = 0.0033
    check = srm_check(result)
    assert check.status == "warning"
    assert "matches the plan" not in check.message
    assert "0.0033" in check.message and "borderline" in check.message
    assert srm_check(srm_test([5010, 4990], [1, 1])).status == "ok"
    strict = srm_check(srm_test([5147, 4853], [1, 1], threshold=0.01))
    assert strict.status == "failed"


def test_srm_threshold_is_configurable_in_exp_yaml(tmp_path):
    default = load_experiment(write_tiny(tmp_path / "default"))
    assert default.health.srm_threshold == 0.001
    assert default.health.srm_warning == 0.05
    spec = tiny_exp_dict() | {"health": {"srm_threshold": 0.01, "srm_warning": 0.1}}
    path = write_tiny(tmp_path / "custom", spec)
    assert load_experiment(path).health.srm_threshold == 0.01
    result = abkit.analyze(path)
    assert result.srm.threshold == 0.01
    bad = tiny_exp_dict() | {"health": {"srm_threshold": 0.1, "srm_warning": 0.05}}
    with pytest.raises(ConfigError, match="srm_warning"):
        load_experiment(write_tiny(tmp_path / "bad", bad))


def test_sequential_srm_after_enrolment_has_nothing_new_to_test():
    looks = [[480, 520], [1000, 1010], [1500, 1490], [1500, 1490], [1500, 1490]]
    result = sequential_srm(looks, [1, 1])
    assert result.status == "no_new_units"
    assert "nothing new to test" in str(result)
    assert result.pvalues[-1] == result.pvalues[2]
    during = sequential_srm(looks[:3], [1, 1])
    assert during.status == "ok"
    assert result.log_bayes_factors[:3] == pytest.approx(during.log_bayes_factors)

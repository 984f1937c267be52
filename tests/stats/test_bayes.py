import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate
from scipy import stats as scipy_stats

from abkit.stats.bayes import (
    PROPER_PRIOR_STD,
    absolute_prior,
    bayesian_test,
    expected_losses,
    posterior_normal,
)

estimates = st.floats(-5, 5, allow_nan=False)
errors = st.floats(1e-3, 3, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(estimates, errors, st.sampled_from([0.01, 0.05, 0.2]))
def test_flat_prior_matches_the_z_test(estimate, se, alpha):
    result = bayesian_test(estimate, se, alpha=alpha)
    z = scipy_stats.norm.isf(alpha / 2)
    assert (result.ci_lower, result.ci_upper) == pytest.approx(
        (estimate - z * se, estimate + z * se), rel=1e-12, abs=1e-15
    )
    one_sided_p = scipy_stats.norm.sf(estimate / se)  # H1: effect > 0
    assert result.chance_to_win == pytest.approx(1 - one_sided_p, rel=1e-9, abs=1e-15)
    lower_is_better = bayesian_test(estimate, se, alpha=alpha, higher_is_better=False)
    assert lower_is_better.chance_to_win == pytest.approx(
        one_sided_p, rel=1e-9, abs=1e-15
    )
    assert (result.posterior_mean, result.posterior_std) == (estimate, se)


def _numeric_risks(mean, std):
    density = scipy_stats.norm(mean, std).pdf
    ship, _ = integrate.quad(lambda g: -g * density(g), -np.inf, 0, epsabs=1e-13)
    keep, _ = integrate.quad(lambda g: g * density(g), 0, np.inf, epsabs=1e-13)
    return ship, keep


@pytest.mark.parametrize(
    ("mean", "std"), [(0.0, 1.0), (0.02, 0.01), (-0.03, 0.05), (1.5, 0.4), (-2.0, 3.0)]
)
def test_risk_closed_forms_equal_numerical_integration(mean, std):
    ship, keep = expected_losses(mean, std)
    numeric_ship, numeric_keep = _numeric_risks(mean, std)
    assert ship == pytest.approx(numeric_ship, rel=1e-8, abs=1e-12)
    assert keep == pytest.approx(numeric_keep, rel=1e-8, abs=1e-12)


def test_risk_flips_with_direction():
    higher = bayesian_test(0.02, 0.015)
    lower = bayesian_test(0.02, 0.015, higher_is_better=False)
    assert (lower.risk_treatment, lower.risk_control) == pytest.approx(
        (higher.risk_control, higher.risk_treatment), rel=1e-12
    )
    numeric_ship, _ = _numeric_risks(-0.02, 0.015)  # gain = −Δ
    assert lower.risk_treatment == pytest.approx(numeric_ship, rel=1e-8)


@settings(max_examples=60, deadline=None)
@given(estimates, errors, st.booleans())
def test_risk_invariants(estimate, se, higher_is_better):
    result = bayesian_test(estimate, se, higher_is_better=higher_is_better)
    gain = estimate if higher_is_better else -estimate
    assert result.risk_treatment >= 0
    assert result.risk_control >= 0
    # E[max(G, 0)] − E[max(−G, 0)] = E[G]
    assert result.risk_control - result.risk_treatment == pytest.approx(
        gain, rel=1e-9, abs=1e-12 * (1 + se)
    )
    assert 0 <= result.chance_to_win <= 1


def test_proper_prior_shrinks_toward_prior_mean():
    estimate, se, prior_mean, prior_std = 0.08, 0.04, 0.0, PROPER_PRIOR_STD
    result = bayesian_test(estimate, se, prior_mean=prior_mean, prior_std=prior_std)
    precision = 1 / se**2 + 1 / prior_std**2
    assert 1 / result.posterior_std**2 == pytest.approx(precision, rel=1e-12)
    weight = (1 / se**2) / precision
    assert result.posterior_mean == pytest.approx(
        weight * estimate + (1 - weight) * prior_mean, rel=1e-12
    )
    assert prior_mean < result.posterior_mean < estimate
    assert result.posterior_std < se


def test_posterior_equals_numerical_bayes():
    estimate, se, prior_mean, prior_std = -0.05, 0.06, 0.02, 0.04
    mean, std = posterior_normal(estimate, se, prior_mean, prior_std)

    def unnormalised(delta):
        return scipy_stats.norm.pdf(estimate, delta, se) * scipy_stats.norm.pdf(
            delta, prior_mean, prior_std
        )

    def moment(power):
        return integrate.quad(
            lambda d: d**power * unnormalised(d), -1, 1, epsabs=1e-14
        )[0]

    evidence = moment(0)
    numeric_mean = moment(1) / evidence
    numeric_var = moment(2) / evidence - numeric_mean**2
    assert mean == pytest.approx(numeric_mean, rel=1e-7)
    assert std == pytest.approx(math.sqrt(numeric_var), rel=1e-7)


def test_prior_with_huge_variance_is_the_flat_prior():
    flat = bayesian_test(0.3, 0.1)
    vague = bayesian_test(0.3, 0.1, prior_mean=5.0, prior_std=1e9)
    assert vague.posterior_mean == pytest.approx(flat.posterior_mean, rel=1e-12)
    assert vague.chance_to_win == pytest.approx(flat.chance_to_win, rel=1e-12)


def test_absolute_prior_rescales_by_control_mean():
    assert absolute_prior(0.0, 0.3, -20.0) == (0.0, 6.0)
    assert absolute_prior(0.1, math.inf, 5.0) == (0.5, math.inf)
    with pytest.raises(ValueError, match="control_mean"):
        absolute_prior(0.0, 0.3, 0.0)


def test_degenerate_and_bad_input():
    result = bayesian_test(0.1, 0.0)
    assert result.status == "invalid_estimate"
    assert math.isnan(result.chance_to_win)
    with pytest.raises(ValueError, match="prior_std"):
        bayesian_test(0.1, 0.1, prior_std=0.0)
    with pytest.raises(ValueError, match="alpha"):
        bayesian_test(0.1, 0.1, alpha=1.5)


def test_result_to_dict_and_str():
    result = bayesian_test(0.02, 0.01)
    assert result.to_dict()["status"] == "ok"
    assert "chance to win" in str(result)

"""Sequential tests (STATS.md §4): boundaries, spending sums, peeking, identities."""

import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats

from abkit.errors import ConfigError, DataError
from abkit.stats import sequential
from abkit.stats.sequential import (
    asymptotic_cs_evalue,
    asymptotic_cs_halfwidth,
    asymptotic_cs_rho_squared,
    asymptotic_cs_test,
    group_sequential_test,
    gst_boundaries,
    gst_inflation,
    msprt_lambda,
    msprt_tau_squared,
    msprt_test,
    spending,
)

EQUAL_5 = (0.2, 0.4, 0.6, 0.8, 1.0)
UNEQUAL = (0.10, 0.35, 0.60, 1.0)
DAILY_28 = tuple((np.arange(1, 29) / 28).tolist())

# Published / STATS.md §4.3 boundary table (two-sided α = 0.05). The per-side OBF row
# is gsDesign `sfLDOF` K=5 (4.8769, 3.3569, 2.6803, 2.2898, 2.0310).
BOUNDARY_TABLE = [
    ("obf", "per-side", EQUAL_5, (4.877, 3.357, 2.680, 2.290, 2.031)),
    ("pocock", "two-sided", EQUAL_5, (2.438, 2.427, 2.410, 2.397, 2.386)),
    ("pocock", "per-side", EQUAL_5, (2.438, 2.427, 2.410, 2.397, 2.386)),
    ("obf", "two-sided", EQUAL_5, (4.383, 3.100, 2.553, 2.254, 2.064)),
    ("obf", "two-sided", UNEQUAL, (6.198, 3.313, 2.542, 1.999)),
    ("pocock", "two-sided", UNEQUAL, (2.655, 2.387, 2.370, 2.278)),
]


# --- boundaries ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "convention", "fractions", "expected"), BOUNDARY_TABLE
)
def test_boundaries_match_stats_table(kind, convention, fractions, expected):
    result = gst_boundaries(fractions, 0.05, spending=kind, convention=convention)
    assert result.z_bounds == pytest.approx(expected, abs=1e-3)
    assert result.status == "ok"


def test_28_daily_looks_obf_two_sided():
    bounds = gst_boundaries(DAILY_28, convention="two-sided").z_bounds
    days = {1: 10.371, 7: 3.943, 14: 2.878, 21: 2.436, 28: 2.185}
    for day, expected in days.items():
        assert bounds[day - 1] == pytest.approx(expected, abs=1e-3)


def test_default_reproduces_the_published_obf_table():
    """gsDesign/rpact/ldbounds: Lan–DeMets OBF, α/2 per side, K = 5, α = 0.05.

    gsDesign::gsDesign(k = 5, test.type = 2, alpha = 0.025, sfu = sfLDOF) upper
    bounds 4.877, 3.357, 2.680, 2.290, 2.031 (gsDesign manual, "sfLDOF"; rpact
    getDesignGroupSequential(typeOfDesign = "asOF") prints the same).
    """
    bounds = gst_boundaries(EQUAL_5).z_bounds
    assert bounds == pytest.approx((4.877, 3.357, 2.680, 2.290, 2.031), abs=5e-4)
    assert group_sequential_test([0.0] * 5, EQUAL_5).z_bounds == pytest.approx(bounds)
    # the former default stays available
    two_sided = gst_boundaries(EQUAL_5, convention="two-sided").z_bounds
    assert two_sided == pytest.approx((4.383, 3.100, 2.553, 2.254, 2.064), abs=1e-3)


def test_classical_pocock_constant_boundary():
    """Pocock (1977): one c for all looks; K = 5, α = 0.05 → 2.413 (J&T table 2.1)."""
    result = gst_boundaries(EQUAL_5, spending="pocock_constant")
    assert result.z_bounds == pytest.approx((2.413,) * 5, abs=1e-3)
    assert sum(result.alpha_spent) == pytest.approx(0.05, abs=1e-9)
    assert result.cumulative_alpha[-1] == pytest.approx(0.05, abs=1e-9)
    # K = 2 and K = 3 from the same table: 2.178, 2.289
    assert gst_boundaries((0.5, 1.0), spending="pocock_constant").z_bounds[
        0
    ] == pytest.approx(2.178, abs=1e-3)
    assert gst_boundaries((1 / 3, 2 / 3, 1.0), spending="pocock_constant").z_bounds[
        0
    ] == pytest.approx(2.289, abs=1e-3)
    # beside the Lan–DeMets Pocock-type spending (2.438, ..., 2.386)
    assert gst_boundaries(EQUAL_5, spending="pocock").z_bounds[0] == pytest.approx(
        2.438, abs=1e-3
    )


def test_bounds_far_out_are_accurate_or_capped():
    """200 equal looks: look 3 is 18.263 (the grid used to stop at 10 SDs: 16.87).

    Look k's bound solves P(|Z_k| ≥ c, no earlier crossing) = α(t_k) − spent; the
    earlier looks are capped (spend ≈ 0), so at look 3 the bound is that of a
    single look at the cumulative per-side α(t_3), in closed form.
    """
    fractions = tuple((np.arange(1, 201) / 200).tolist())
    result = gst_boundaries(fractions)
    assert result.z_bounds[:2] == (sequential.Z_BOUND_CAP, sequential.Z_BOUND_CAP)
    per_side = 2 * scipy_stats.norm.sf(scipy_stats.norm.isf(0.0125) / math.sqrt(0.015))
    single_look = scipy_stats.norm.isf(per_side)
    assert result.z_bounds[2] == pytest.approx(single_look, abs=1e-3)
    assert result.z_bounds[2] == pytest.approx(18.263, abs=1e-3)


def test_plateau_of_information_repeats_the_bound():
    plateau = gst_boundaries((0.2, 0.4, 0.4, 0.6, 0.8, 1.0))
    plain = gst_boundaries(EQUAL_5)
    assert plateau.z_bounds[2] == plateau.z_bounds[1]
    assert plateau.alpha_spent[2] == 0.0
    assert plateau.z_bounds[:2] + plateau.z_bounds[3:] == pytest.approx(
        plain.z_bounds, abs=1e-9
    )
    result = group_sequential_test([1.0, 1.5, 1.5], (0.5, 1.0, 1.0))
    assert result.z_bounds[2] == result.z_bounds[1]
    assert not result.crossed
    assert result.status == "alpha_exhausted"


def test_28_look_boundary_is_fast():
    sequential._boundaries.cache_clear()
    start = time.perf_counter()
    gst_boundaries(DAILY_28)
    assert time.perf_counter() - start < 0.5


def test_first_look_bound_is_closed_form():
    # At look 1 the bound is Φ⁻¹(1 − α(t₁)/2); for OBF two-sided it is z_{.975}/√t.
    result = gst_boundaries((0.3, 1.0), convention="two-sided")
    assert result.z_bounds[0] == pytest.approx(1.959964 / math.sqrt(0.3), rel=1e-6)


def test_huge_bounds_are_capped_and_alpha_rolls_forward():
    result = gst_boundaries((0.001, 0.5, 1.0))
    assert result.z_bounds[0] == sequential.Z_BOUND_CAP
    assert sum(result.alpha_spent) == pytest.approx(0.05, abs=1e-9)


@pytest.mark.parametrize(
    ("kind", "convention", "fractions", "expected"), BOUNDARY_TABLE
)
def test_alpha_spent_sums_to_spending_function(kind, convention, fractions, expected):
    result = gst_boundaries(fractions, spending=kind, convention=convention)
    cumulative = np.cumsum(result.alpha_spent)
    assert cumulative == pytest.approx(result.cumulative_alpha, abs=1e-9)
    assert cumulative[-1] == pytest.approx(0.05, abs=1e-9)


@pytest.mark.parametrize(
    ("kind", "convention", "fractions"),
    [("obf", "two-sided", UNEQUAL), ("pocock", "two-sided", (0.25, 0.5, 1.0))],
)
def test_crossing_probability_by_a_second_integration(kind, convention, fractions):
    """P(cross at or before look k | H0) = α(t_k), by Genz' multivariate normal CDF.

    Z_k = S_k/√t_k with corr(Z_i, Z_j) = sqrt(t_i/t_j): an integration independent
    of the recursion.
    """
    result = gst_boundaries(fractions, spending=kind, convention=convention)
    t = np.asarray(fractions)
    correlation = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    bounds = np.minimum(np.asarray(result.z_bounds), 12.0)
    for k in range(1, len(t) + 1):
        inside = scipy_stats.multivariate_normal.cdf(
            bounds[:k],
            cov=correlation[:k, :k],
            lower_limit=-bounds[:k],
            abseps=1e-7,
            releps=1e-7,
            rng=np.random.default_rng(k),
        )
        assert 1 - inside == pytest.approx(result.cumulative_alpha[k - 1], abs=2e-5)


def test_crossing_probability_by_monte_carlo():
    rng = np.random.default_rng(11)
    t = np.asarray(DAILY_28)
    increments = rng.standard_normal((200_000, t.size)) * np.sqrt(np.diff(t, prepend=0))
    z = np.cumsum(increments, axis=1) / np.sqrt(t)
    result = gst_boundaries(t)
    crossed = np.maximum.accumulate(np.abs(z) >= np.asarray(result.z_bounds), axis=1)
    for k in (6, 13, 20, 27):
        target = result.cumulative_alpha[k]
        se = math.sqrt(target * (1 - target) / z.shape[0])
        assert crossed[:, k].mean() == pytest.approx(target, abs=4 * se)


def test_spending_functions():
    assert spending(1.0, 0.05, "obf") == pytest.approx(0.05, rel=1e-12)
    assert spending(0.5, 0.05, "pocock") == pytest.approx(
        0.05 * math.log1p(0.5 * (math.e - 1))
    )
    assert spending(0.5, 0.05, "power", rho=2) == pytest.approx(0.0125)
    assert spending(0.5, 0.05, "obf", convention="two-sided") == pytest.approx(
        2 * scipy_stats.norm.sf(1.959964 / 0.5**0.5)
    )
    per_side = 2 * 2 * scipy_stats.norm.sf(scipy_stats.norm.isf(0.0125) / 0.5**0.5)
    assert spending(0.5, 0.05, "obf", convention="per-side") == pytest.approx(per_side)
    assert spending(1.7, 0.05, "obf") == pytest.approx(0.05, rel=1e-12)
    assert spending(0.0, 0.05, "pocock") == 0.0


def test_spotify_power_family_rho_2():
    result = gst_boundaries(EQUAL_5, spending="power", rho=2.0)
    assert np.cumsum(result.alpha_spent) == pytest.approx(
        0.05 * np.asarray(EQUAL_5) ** 2
    )
    assert result.z_bounds[-1] < 2.2


def test_unplanned_and_overrun_looks():
    planned = gst_boundaries((0.25, 0.5, 0.75, 1.0))
    extra = gst_boundaries((0.25, 0.5, 0.6, 0.75, 1.0))
    # earlier looks depend only on earlier information: an extra look changes nothing
    assert extra.z_bounds[:2] == pytest.approx(planned.z_bounds[:2], abs=1e-12)
    overrun = gst_boundaries((0.3, 0.7, 1.25))
    assert overrun.status == "information_overrun"
    assert sum(overrun.alpha_spent) == pytest.approx(0.05, abs=1e-9)
    exhausted = gst_boundaries((0.5, 1.0, 1.2))
    assert exhausted.status == "alpha_exhausted"
    assert exhausted.z_bounds[-1] == sequential.Z_BOUND_CAP
    assert exhausted.alpha_spent[-1] < 1e-80


def test_bad_inputs_raise_with_the_fix():
    with pytest.raises(DataError, match="non-decreasing"):
        gst_boundaries((0.5, 0.4, 1.0))
    with pytest.raises(DataError, match="non-decreasing"):
        gst_boundaries((0.0, 1.0))
    with pytest.raises(ConfigError, match="'pocock_constant'"):
        gst_boundaries(EQUAL_5, spending="haybittle")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="alpha"):
        gst_boundaries(EQUAL_5, alpha=1.5)
    with pytest.raises(DataError, match="differ in length"):
        group_sequential_test([1.0, 2.0], EQUAL_5)


# --- inflation -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "convention", "power", "expected"),
    [
        ("obf", "two-sided", 0.8, 1.038),
        ("obf", "two-sided", 0.9, 1.035),
        ("obf", "per-side", 0.8, 1.025),
        ("obf", "per-side", 0.9, 1.023),
        ("pocock", "two-sided", 0.8, 1.212),
        ("pocock", "two-sided", 0.9, 1.192),
    ],
)
def test_inflation_matches_stats_table(kind, convention, power, expected):
    inflation = gst_inflation(
        EQUAL_5, 0.05, power, spending=kind, convention=convention
    )
    assert inflation == pytest.approx(expected, abs=1e-3)


def test_inflated_design_has_target_power_by_simulation():
    inflation = gst_inflation(EQUAL_5, 0.05, 0.8)
    drift = math.sqrt(inflation) * (
        scipy_stats.norm.isf(0.025) + scipy_stats.norm.isf(0.2)
    )
    rng = np.random.default_rng(5)
    t = np.asarray(EQUAL_5)
    steps = np.diff(t, prepend=0)
    s = np.cumsum(drift * steps + rng.standard_normal((100_000, 5)) * np.sqrt(steps), 1)
    power = (
        (s / np.sqrt(t) >= np.asarray(gst_boundaries(t).z_bounds)).any(axis=1).mean()
    )
    assert power == pytest.approx(0.8, abs=4 * math.sqrt(0.16 / 100_000))


# --- group_sequential_test -------------------------------------------------------


def test_group_sequential_test_crossing_and_repeated_ci():
    estimates = np.array([0.10, 0.29, 0.22, 0.20, 0.21])
    ses = np.array([0.10, 0.10, 0.08, 0.07, 0.06])
    result = group_sequential_test(
        estimates / ses, EQUAL_5, estimates=estimates, standard_errors=ses,
        convention="two-sided",
    )  # fmt: skip
    bounds = np.asarray(gst_boundaries(EQUAL_5, convention="two-sided").z_bounds)
    assert result.z_bounds == pytest.approx(bounds)
    assert result.crossed
    assert result.first_crossing_index == 2  # 0.22/0.08 = 2.75 ≥ 2.553
    assert result.current_bound == pytest.approx(2.064, abs=1e-3)
    assert result.ci_lower == pytest.approx(estimates - bounds * ses)
    assert result.ci_upper == pytest.approx(estimates + bounds * ses)
    assert result.status == "ok"
    assert result.to_dict()["first_crossing_index"] == 2
    assert "rejected at look 3" in str(result)


def test_group_sequential_test_degenerate_inputs():
    assert group_sequential_test([], []).status == "no_looks"
    result = group_sequential_test([1.0, math.nan], (0.5, 1.0))
    assert result.status == "invalid_statistic"
    assert not result.crossed
    with pytest.raises(DataError, match="pass both"):
        group_sequential_test([1.0], (1.0,), estimates=[0.1])


# --- one-sided (non-inferiority) ------------------------------------------------


def test_one_sided_gst_bounds_and_type_one_error():
    """gsDesign test.type = 1, α = 0.025, sfLDOF, K = 5: 4.877, 3.357, ..., 2.031."""
    result = gst_boundaries(EQUAL_5, 0.025, alternative="greater")
    assert result.z_bounds == pytest.approx(
        (4.877, 3.357, 2.680, 2.290, 2.031), abs=5e-4
    )
    # P(Z_k ≥ c_k for some k | H0) = α by Genz' integration (upper side only)
    t = np.asarray(EQUAL_5)
    correlation = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    below = scipy_stats.multivariate_normal.cdf(
        np.asarray(result.z_bounds), cov=correlation, abseps=1e-8, releps=1e-8,
        rng=np.random.default_rng(3),
    )  # fmt: skip
    assert 1 - below == pytest.approx(0.025, abs=2e-5)
    pocock = gst_boundaries(EQUAL_5, 0.025, "pocock", alternative="greater")
    assert sum(pocock.alpha_spent) == pytest.approx(0.025, abs=1e-9)


def test_one_sided_gst_non_inferiority_of_a_guardrail():
    """Margin m = 0.05: Z_k = (Δ̂_k + m)/SE_k against the one-sided bound."""
    estimates = np.array([-0.02, -0.01, 0.00, -0.01, 0.00])
    ses = np.array([0.04, 0.03, 0.022, 0.019, 0.017])
    z = (estimates + 0.05) / ses
    result = group_sequential_test(
        z, EQUAL_5, 0.025, estimates=estimates, standard_errors=ses,
        alternative="greater",
    )  # fmt: skip
    bounds = np.asarray(gst_boundaries(EQUAL_5, 0.025, alternative="greater").z_bounds)
    assert result.alternative == "greater"
    assert result.first_crossing_index == 4  # 0.05/0.017 = 2.94 ≥ 2.031; 2.27 < 2.290
    assert result.ci_lower == pytest.approx(estimates - bounds * ses)
    assert all(math.isinf(u) for u in result.ci_upper)
    # "less" mirrors it: a harm test for a lower-is-better guardrail
    mirrored = group_sequential_test(-z, EQUAL_5, 0.025, alternative="less")
    assert mirrored.first_crossing_index == 4
    # a large negative z never crosses a "greater" bound
    assert not group_sequential_test(-z, EQUAL_5, 0.025, alternative="greater").crossed


def test_one_sided_cs_evalue_is_the_half_normal_mixture():
    """E = 2∫₀^∞ exp(λS − λ²N/2) φ(λ; 0, ρ²) dλ with S = √N·z (quadrature)."""
    from scipy import integrate

    n, n_planned, alpha = 3000.0, 5000.0, 0.05
    rho2 = asymptotic_cs_rho_squared(n_planned, alpha)
    for z in (-1.0, 0.5, 2.0, 3.5):
        s = math.sqrt(n) * z
        quad = integrate.quad(
            lambda lam, s=s: 2 * math.exp(lam * s - lam * lam * n / 2)
            * scipy_stats.norm.pdf(lam, 0, math.sqrt(rho2)),
            0, np.inf,
        )[0]  # fmt: skip
        result = asymptotic_cs_test(
            [z * 0.1], [0.1], [n], n_planned, alpha, alternative="greater"
        )
        assert result.e_values[0] == pytest.approx(quad, rel=1e-7)
        # the lower bound sits where E = 1/α
        critical = (z * 0.1 - result.ci_lower[0]) / 0.1
        at_bound = asymptotic_cs_test(
            [critical * 0.1], [0.1], [n], n_planned, alpha, alternative="greater"
        )
        assert at_bound.e_values[0] == pytest.approx(1 / alpha, rel=1e-8)
        assert math.isinf(result.ci_upper[0])


def test_one_sided_cs_non_inferiority_and_false_positives(aa_looks):
    estimates, ses, totals = aa_looks
    margin = 0.0  # the true effect sits on the boundary of H0: the worst case
    false_positives = np.mean([
        asymptotic_cs_test(
            e, s, n, n[-1], 0.05, null_value=-margin, alternative="greater"
        ).crossed
        for e, s, n in zip(estimates, ses, totals, strict=True)
    ])  # fmt: skip
    assert false_positives <= 0.05
    shifted = asymptotic_cs_test(
        estimates[0] + 0.5, ses[0], totals[0], totals[0][-1], 0.05,
        null_value=-0.05, alternative="greater",
    )  # fmt: skip
    assert shifted.crossed
    assert shifted.ci_lower[-1] > -0.05
    with pytest.raises(ConfigError, match="alternative"):
        asymptotic_cs_test([0.1], [0.1], [10], 10, alternative="bigger")  # type: ignore[arg-type]


# --- asymptotic CS and mSPRT -----------------------------------------------------


def test_stats_numeric_check_lambda_equals_e():
    """STATS.md §4.2: s² = 3, N = 4000, N* = 5000, Δ̂ = 0.05 → Λ = E = 1.55675."""
    se = math.sqrt(3 / 4000)  # s² = N·SE²
    e_value = asymptotic_cs_evalue(0.05, se, 4000, 5000)
    tau2 = msprt_tau_squared(3.0, 5000)
    assert tau2 == pytest.approx(asymptotic_cs_rho_squared(5000) * 3.0)
    assert e_value == pytest.approx(1.55675, abs=5e-6)
    assert msprt_lambda(0.05, se**2, tau2) == pytest.approx(e_value, rel=1e-10)


@settings(max_examples=200, deadline=None)
@given(
    estimate=st.floats(-5, 5),
    se=st.floats(1e-3, 10),
    n_total=st.floats(10, 1e7),
    n_planned=st.floats(10, 1e7),
    alpha=st.floats(0.001, 0.2),
    null_value=st.floats(-1, 1),
)
def test_msprt_equals_asymptotic_cs(
    *, estimate, se, n_total, n_planned, alpha, null_value
):
    tau2 = asymptotic_cs_rho_squared(n_planned, alpha) * n_total * se**2
    e_value = asymptotic_cs_evalue(
        estimate, se, n_total, n_planned, alpha, null_value=null_value
    )
    likelihood_ratio = msprt_lambda(estimate, se**2, tau2, null_value=null_value)
    if math.isinf(e_value):  # beyond 1e308 both overflow
        assert math.isinf(likelihood_ratio)
    else:
        assert likelihood_ratio == pytest.approx(e_value, rel=1e-10)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), looks=st.integers(1, 30))
def test_msprt_and_cs_agree_look_by_look(seed, looks):
    rng = np.random.default_rng(seed)
    n = np.cumsum(rng.integers(50, 500, looks)).astype(float)
    se = rng.uniform(0.5, 2.0) / np.sqrt(n)
    estimate = rng.normal(0, 3, looks) * se
    cs = asymptotic_cs_test(estimate, se, n, n_planned=2000)
    tau2 = asymptotic_cs_rho_squared(2000) * n * se**2
    msprt = msprt_test(estimate, se, tau2)
    assert msprt.pvalues == pytest.approx(cs.pvalues, rel=1e-10)
    assert msprt.ci_lower == pytest.approx(cs.ci_lower, rel=1e-9, abs=1e-12)
    assert msprt.ci_upper == pytest.approx(cs.ci_upper, rel=1e-9, abs=1e-12)
    assert msprt.first_crossing_index == cs.first_crossing_index
    assert all(0 <= p <= 1 for p in cs.pvalues)
    assert all(np.diff(cs.pvalues) <= 0)
    assert all(np.diff(cs.ci_lower) >= 0)
    assert all(np.diff(cs.ci_upper) <= 0)


def test_cs_halfwidth_formula_and_width_cost():
    se, n, n_star = 0.02, 3000.0, 5000.0
    rho2 = (-2 * math.log(0.05) + math.log(1 - 2 * math.log(0.05))) / n_star
    s = math.sqrt(n) * se
    by_hand = s * math.sqrt(
        2 * (n * rho2 + 1) / (n**2 * rho2) * math.log(math.sqrt(n * rho2 + 1) / 0.05)
    )
    assert asymptotic_cs_halfwidth(se, n, n_star) == pytest.approx(by_hand, rel=1e-12)
    # STATS.md §4.2 width cost: the CS boundary is |z| = 3.035 at N = N*, and
    # ×1.573 / ×1.562 / ×1.967 of 1.96 at N*/2, 2N*, N*/10
    z_at = {
        1.0: 3.035,
        0.5: 1.573 * 1.95996,
        2.0: 1.562 * 1.95996,
        0.1: 1.967 * 1.95996,
    }
    for ratio, z in z_at.items():
        halfwidth = asymptotic_cs_halfwidth(1.0, ratio * n_star, n_star)
        assert halfwidth == pytest.approx(z, abs=2e-3)


def test_cs_test_outputs():
    se = np.array([0.05, 0.035, 0.03, 0.025])
    estimate = np.array([0.02, 0.09, 0.12, 0.11])
    n = np.array([1000.0, 2000, 3000, 4000])
    result = asymptotic_cs_test(estimate, se, n, n_planned=4000)
    halfwidth = [
        asymptotic_cs_halfwidth(s, m, 4000) for s, m in zip(se, n, strict=True)
    ]
    assert result.ci_lower[0] == pytest.approx(estimate[0] - halfwidth[0])
    assert result.ci_lower == pytest.approx(
        np.maximum.accumulate(estimate - np.asarray(halfwidth))
    )
    e_values = [
        asymptotic_cs_evalue(e, s, m, 4000)
        for e, s, m in zip(estimate, se, n, strict=True)
    ]
    assert result.e_values == pytest.approx(e_values, rel=1e-12)
    assert result.pvalues == pytest.approx(
        np.minimum.accumulate(np.minimum(1, 1 / np.asarray(e_values))), rel=1e-12
    )
    assert result.first_crossing_index == 2  # 0.12/0.03 = 4 > 3.0
    assert result.ci_lower[2] > 0
    assert result.method == "asymptotic-cs"


def test_always_valid_degenerate_inputs():
    assert asymptotic_cs_test([], [], [], n_planned=100).status == "no_looks"
    result = asymptotic_cs_test([0.1, 0.2], [0.0, 0.1], [100, 200], n_planned=200)
    assert result.status == "invalid_statistic"
    assert result.pvalues[0] == 1.0
    with pytest.raises(ConfigError, match="n_planned"):
        asymptotic_cs_test([0.1], [0.1], [10], n_planned=0)
    with pytest.raises(ConfigError, match="tau_squared"):
        msprt_test([0.1], [0.1], tau_squared=0.0)
    with pytest.raises(DataError, match="differ in length"):
        msprt_test([0.1, 0.2], [0.1, 0.1], tau_squared=[1.0, 2.0, 3.0])


# --- peeking: 2,000 simulated A/A experiments from sufficient statistics --------


def simulate_cumulative_arms(rng, *, sims, looks, per_look, mean=1.0, sd=2.0):
    """Per-look cumulative (n, Σy, Σy²) per arm, drawn as exact sufficient statistics.

    A batch of m normal units has Σy ~ N(mμ, mσ²) and, independently, a sum of
    squared deviations σ²χ²_{m−1}; so Σy² = SSD + (Σy)²/m.
    """
    shape = (sims, looks, 2)
    batch_sum = rng.normal(per_look * mean, sd * math.sqrt(per_look), shape)
    batch_ssd = sd**2 * rng.chisquare(per_look - 1, shape)
    n = per_look * np.arange(1, looks + 1)[None, :, None] * np.ones(shape)
    total = np.cumsum(batch_sum, axis=1)
    total_sq = np.cumsum(batch_ssd + batch_sum**2 / per_look, axis=1)
    arm_mean = total / n
    arm_variance = (total_sq - total**2 / n) / (n - 1)
    estimate = arm_mean[..., 1] - arm_mean[..., 0]
    se = np.sqrt((arm_variance / n).sum(axis=2))
    return estimate, se, n.sum(axis=2)


@pytest.fixture(scope="module")
def aa_looks():
    rng = np.random.default_rng(20240601)
    return simulate_cumulative_arms(rng, sims=2000, looks=20, per_look=500)


FPR_BAND_2000 = (0.0345, 0.0665)  # binomial 99.9% band, R = 2,000 (STATS.md §10)


def test_binomial_band_matches_stats_table():
    low = scipy_stats.binom.ppf(0.0005, 2000, 0.05) / 2000
    high = scipy_stats.binom.isf(0.0005, 2000, 0.05) / 2000
    assert (low, high) == pytest.approx(FPR_BAND_2000, abs=1e-3)


def test_naive_peeking_inflates_false_positives(aa_looks):
    estimate, se, _ = aa_looks
    fpr = (np.abs(estimate / se) > scipy_stats.norm.isf(0.025)).any(axis=1).mean()
    assert fpr > 0.20  # exact value for 20 looks: 24.8% (STATS.md §10.3)
    final_only = (np.abs(estimate[:, -1] / se[:, -1]) > 1.959964).mean()
    assert FPR_BAND_2000[0] <= final_only <= FPR_BAND_2000[1]


@pytest.mark.parametrize("kind", ["obf", "pocock"])
def test_gst_controls_false_positives(aa_looks, kind):
    estimate, se, _ = aa_looks
    t = np.arange(1, 21) / 20
    crossed = [
        group_sequential_test(estimate[i] / se[i], t, spending=kind).crossed
        for i in range(estimate.shape[0])
    ]
    fpr = np.mean(crossed)
    assert FPR_BAND_2000[0] <= fpr <= FPR_BAND_2000[1]


def test_asymptotic_cs_controls_false_positives(aa_looks):
    estimate, se, n = aa_looks
    crossed = [
        asymptotic_cs_test(estimate[i], se[i], n[i], n_planned=n[i, -1]).crossed
        for i in range(estimate.shape[0])
    ]
    assert np.mean(crossed) <= FPR_BAND_2000[1]  # exact for 20 looks ≈ 1.1%


def test_msprt_controls_false_positives(aa_looks):
    estimate, se, n = aa_looks
    per_unit_variance = 4 * 2.0**2  # N·Var(Δ̂) for two equal arms with σ = 2
    tau2 = msprt_tau_squared(per_unit_variance, n_planned=n[0, -1])
    crossed = [
        msprt_test(estimate[i], se[i], tau2).crossed for i in range(estimate.shape[0])
    ]
    assert np.mean(crossed) <= FPR_BAND_2000[1]

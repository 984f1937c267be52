"""CUPED, power, sequential, SRM, quantile, Fieller, cluster and exact tests never raise.

The sibling of test_robustness.py for the remaining statistics modules: extreme
finite values (±1.7e308, 1e300, subnormals, 1e-300, 2e-158, zeros) and huge or tiny
counts go through every public function. Each returns a result with a status (or a
float, NaN when undefined); only arguments that are not data (α outside (0, 1), a
negative ridge) raise their documented ValueError/AbkitError. pytest turns every
RuntimeWarning into an error, so an overflow inside numpy fails here too.
"""

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from abkit.aggregates.moments import JointMoments, Moments
from abkit.errors import AbkitError
from abkit.stats import cluster, exact, fieller, quantile, srm
from abkit.stats.cuped import (
    STATUS_MESSAGES as CUPED_STATUSES,
)
from abkit.stats.cuped import (
    adjusted_ratio_unit_variance,
    adjusted_unit_variance,
    cuped_adjust,
    cuped_ratio_adjust,
    regression_adjust,
)
from abkit.stats.estimate import ArmEstimate
from abkit.stats.power import (
    Design,
    MetricModel,
    duration_days,
    mde_for_duration,
    minimum_detectable_effect,
    power_at,
    sample_size,
)
from abkit.stats.sequential import (
    STATUS_MESSAGES as SEQUENTIAL_STATUSES,
)
from abkit.stats.sequential import (
    asymptotic_cs_evalue,
    asymptotic_cs_halfwidth,
    asymptotic_cs_rho_squared,
    asymptotic_cs_test,
    group_sequential_test,
    msprt_lambda,
    msprt_tau_squared,
    msprt_test,
    spending,
)
from abkit.stats.status import STATUS_MESSAGES, UNTESTABLE
from abkit.stats.welch import EffectResult, welch_test

EXTREMES = (0.0, -0.0, 5e-324, 1e-300, 2e-158, 1.8e-158, 1e300, -1e300, 1.7e308)
extreme = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(EXTREMES)
)
positive = st.one_of(
    st.floats(min_value=5e-324, allow_nan=False, allow_infinity=False),
    st.sampled_from((5e-324, 1e-300, 2e-158, 1e300, 1.7e308)),
)
count = st.one_of(st.integers(-3, 50), st.sampled_from([10**9, 2**62]))
# unit-level values whose sums of squares stay finite, with tiny spreads mixed in
row_value = st.one_of(
    st.floats(-1e150, 1e150, allow_nan=False), st.sampled_from(EXTREMES[:6])
)


def assert_well_formed(result: EffectResult) -> None:
    assert result.status in STATUS_MESSAGES
    if result.status in UNTESTABLE:
        assert math.isnan(result.pvalue)
    else:
        assert 0.0 <= result.pvalue <= 1.0


def raw_joint(n: int, names: tuple[str, ...], values: list[float]) -> JointMoments:
    """Joint moments straight from (possibly impossible) sums."""
    k = len(names)
    sums, flat = tuple(values[:k]), iter(values[k:])
    cross = [[0.0] * k for _ in range(k)]
    for i in range(k):
        for j in range(i, k):
            cross[i][j] = cross[j][i] = next(flat)
    return JointMoments(n, names, sums, tuple(tuple(row) for row in cross))


def assert_adjustment(result) -> None:
    assert result.status in CUPED_STATUSES
    assert all(math.isfinite(v) for v in result.coefficients)
    assert not result.variance_reduction > 1
    assert_well_formed(welch_test(result.control, result.treatment))


# --- CUPED ------------------------------------------------------------------------

pairs = st.lists(st.tuples(row_value, row_value), min_size=2, max_size=8)


def from_pairs(rows) -> JointMoments:
    array = np.array(rows, dtype=float)
    return JointMoments.from_columns({"value": array[:, 0], "pre": array[:, 1]})


@settings(max_examples=300, deadline=None)
@given(pairs, pairs, st.sampled_from(["pooled", "lin"]))
@example(  # RuntimeWarning: overflow in matmul: Lin's slope over a 1.8e-158 spread
    [(0.0, 1.8e-158), (1.0, 0.0)], [(0.0, 0.0), (1.0, 100.0)], "lin"
)
def test_cuped_on_real_rows_never_raises(control_rows, treatment_rows, method):
    control, treatment = from_pairs(control_rows), from_pairs(treatment_rows)
    forward = cuped_adjust(control, treatment, method=method)
    backward = cuped_adjust(treatment, control, method=method)
    assert_adjustment(forward)
    assert forward.theta == backward.theta
    theta = forward.coefficients
    assert math.isnan(adjusted_unit_variance(control, theta)) or (
        adjusted_unit_variance(control, theta) >= 0
    )


@settings(max_examples=300, deadline=None)
@given(count, st.lists(extreme, min_size=5, max_size=5),
       st.lists(extreme, min_size=5, max_size=5), st.floats(0, 1e300))  # fmt: skip
def test_cuped_on_raw_sums_never_raises(n, first, second, ridge):
    names = ("value", "pre")
    control, treatment = raw_joint(n, names, first), raw_joint(n + 1, names, second)
    for method in ("pooled", "lin"):
        assert_adjustment(cuped_adjust(control, treatment, method=method))
    assert_adjustment(
        regression_adjust(control, treatment, covariates=("pre",), ridge=ridge)
    )
    assert_adjustment(cuped_adjust(control, treatment, theta=1e300))
    assert isinstance(adjusted_unit_variance(control, (1e300,)), float)


@settings(max_examples=300, deadline=None)
@given(count, st.lists(extreme, min_size=14, max_size=14),
       st.lists(extreme, min_size=14, max_size=14))  # fmt: skip
def test_cuped_ratio_never_raises(n, first, second):
    names = ("value", "den", "pre", "pre_den")
    control, treatment = raw_joint(n, names, first), raw_joint(n + 2, names, second)
    assert_adjustment(cuped_ratio_adjust(control, treatment))
    assert_adjustment(cuped_ratio_adjust(control, treatment, theta=-1e300))
    assert isinstance(adjusted_ratio_unit_variance(control, 1e300), float)


def test_cuped_arguments_that_are_not_data_still_raise():
    moments = from_pairs([(1.0, 2.0), (2.0, 3.0), (4.0, 1.0)])
    with pytest.raises(AbkitError):
        regression_adjust(moments, moments, covariates=("pre",), ridge=-1.0)
    with pytest.raises(AbkitError):
        cuped_adjust(moments, moments, theta=math.inf)


# --- power ------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(positive, extreme, positive, st.sampled_from(["absolute", "relative"]))
def test_power_never_raises(std, baseline, mde, mde_type):
    metric = MetricModel.mean(std, baseline=baseline)
    design = Design()
    for plan in (
        lambda: sample_size(metric, mde, mde_type=mde_type, design=design),
        lambda: minimum_detectable_effect(metric, mde, mde_type=mde_type),
        lambda: mde_for_duration(metric, 14, mde, mde_type=mde_type),
    ):
        try:
            result = plan()
        except ValueError as error:  # the documented one-line argument checks
            messages = [str(error)]
            assert " == " in messages[0]
            continue
        assert all(0 <= n <= 2**62 for n in result.n_per_arm)
        assert math.isnan(result.achieved_power) or 0 <= result.achieved_power <= 1
    try:
        value = power_at(metric, mde, std, mde_type=mde_type)
    except ValueError as error:
        messages = [str(error)]
        assert " == " in messages[0]
    else:
        assert math.isnan(value) or 0.0 <= value <= 1.0


@settings(max_examples=200, deadline=None)
@given(st.floats(0, 1.7e308), positive)
def test_duration_never_raises(required, daily):
    assert 0 <= duration_days(required, daily) <= 2**62


def test_power_arguments_that_are_not_data_still_raise():
    with pytest.raises(ValueError, match=r"alpha == 1\.5"):
        Design(alpha=1.5)
    with pytest.raises(ValueError, match=r"std == -1\.0"):
        MetricModel.mean(-1.0)


# --- sequential ---------------------------------------------------------------------

looks = st.lists(st.tuples(extreme, extreme), min_size=1, max_size=5)


def assert_sequential(result) -> None:
    assert result.status in SEQUENTIAL_STATUSES
    assert all(math.isnan(p) or 0.0 <= p <= 1.0 for p in result.pvalues)
    assert all(not b < 0 for b in result.z_bounds)


@settings(max_examples=200, deadline=None)
@given(looks, positive, st.sampled_from(["two-sided", "greater", "less"]))
def test_sequential_tests_never_raise(rows, planned, alternative):
    estimates = [e for e, _ in rows]
    errors = [abs(s) for _, s in rows]
    n_totals = [planned * (k + 1) / len(rows) for k in range(len(rows))]
    assert_sequential(asymptotic_cs_test(estimates, errors, n_totals, planned,
                                         alternative=alternative))  # fmt: skip
    assert_sequential(msprt_test(estimates, errors, planned))
    z = [e / s if s > 1e-300 and math.isfinite(e / s) else 0.0 for e, s in rows]
    fractions = [(k + 1) / len(rows) for k in range(len(rows))]
    assert_sequential(group_sequential_test(z, fractions, estimates=estimates,
                                            standard_errors=errors))  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(extreme, positive, positive, positive)
def test_sequential_scalars_never_raise(estimate, se, n_total, planned):
    assert not asymptotic_cs_rho_squared(planned) < 0
    assert not asymptotic_cs_halfwidth(se, n_total, planned) < 0
    assert not asymptotic_cs_evalue(estimate, se, n_total, planned) < 0
    tau = msprt_tau_squared(se, planned)
    assert not tau < 0
    assert not msprt_lambda(estimate, se, tau) < 0
    assert 0.0 <= spending(min(se, 1.0)) <= 0.05


# --- SRM ----------------------------------------------------------------------------

counts = st.lists(st.one_of(st.integers(0, 10**6), st.sampled_from([0, 2**62])),
                  min_size=2, max_size=4)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(counts, st.lists(positive, min_size=4, max_size=4))
def test_srm_never_raises(observed, weights):
    result = srm.srm_test(observed, weights[: len(observed)])
    assert result.status in srm.STATUS_MESSAGES
    assert math.isnan(result.pvalue) or 0.0 <= result.pvalue <= 1.0
    cumulative = [observed, [2 * c for c in observed]]
    sequential = srm.sequential_srm(cumulative, weights[: len(observed)])
    assert sequential.status in srm.STATUS_MESSAGES


# --- quantile, Fieller, cluster -----------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(count, st.lists(extreme, min_size=5, max_size=5))
def test_quantile_cdf_never_raises(k, values):
    sums = quantile.ClusterSums(k, *values)
    assert not quantile.cdf_variance(sums) < 0
    assert isinstance(quantile.design_effect(sums), float)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**62), st.floats(0, 1), positive, positive)
def test_quantile_ranks_never_raise(n, p, z, deff):
    lower, upper = quantile.rank_bounds(n, p, min(z, 40.0), deff)
    assert lower <= max(upper, 1)
    assert 1 <= quantile.point_rank(max(n, 1), p) <= max(n, 1)


@settings(max_examples=300, deadline=None)
@given(count, count, st.lists(extreme, min_size=6, max_size=6), positive)
def test_quantile_difference_never_raises(units_c, units_t, values, z):
    control = quantile.QuantileArm(units_c, units_c, *values[:3])
    treatment = quantile.QuantileArm(units_t, units_t, *values[3:])
    assert_well_formed(quantile.quantile_difference(control, treatment, 0.05, z))


arms = st.builds(ArmEstimate, count, extreme, st.one_of(positive, extreme))


@settings(max_examples=300, deadline=None)
@given(arms, arms, positive)
def test_fieller_never_raises(control, treatment, q):
    interval = fieller.fieller_interval(control, treatment, q)
    assert interval.status in fieller.FIELLER_MESSAGES
    low, high = interval.hull
    assert math.isnan(low) or low <= high


@settings(max_examples=300, deadline=None)
@given(count, count, st.lists(extreme, min_size=7, max_size=7))
def test_cluster_never_raises(k, n, values):
    arm = cluster.ClusterArm(k, n, *values)
    assert not cluster.cluster_variance(arm) < 0
    assert_well_formed(welch_test(cluster.cluster_estimate(arm),
                                  cluster.cluster_estimate(arm)))  # fmt: skip
    assert isinstance(cluster.iid_variance(arm), float)
    assert isinstance(cluster.design_effect(arm), float)
    value = cluster.icc(arm)
    assert math.isnan(value) or math.isfinite(value)


# --- exact tests ------------------------------------------------------------------

proportions = st.builds(Moments, count, extreme, extreme)


@settings(max_examples=200, deadline=None)
@given(proportions, proportions, st.sampled_from(exact.EXACT_TESTS))
def test_exact_tests_never_raise(control, treatment, test):
    assert isinstance(exact.smallest_expected_count(control, treatment), float)
    result = exact.proportion_test(control, treatment, exact_test=test)
    assert_well_formed(result)
    if result.status == "ok" and max(control.n, treatment.n) <= 50:
        pvalue = exact.exact_pvalue(control, treatment, test)
        assert math.isnan(pvalue) or 0.0 <= pvalue <= 1.0

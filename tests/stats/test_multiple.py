import gc
import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats
from statsmodels.stats.multitest import multipletests

from abkit.stats.multiple import (
    CorrectionMethod,
    adjust_pvalues,
    adjusted_alpha_levels,
    adjusted_ci,
    correct_pvalues,
)

STATSMODELS_NAMES: dict[CorrectionMethod, str] = {
    "bonferroni": "bonferroni",
    "holm": "holm",
    "hochberg": "simes-hochberg",
    "bh": "fdr_bh",
    "by": "fdr_by",
    "holm-sidak": "holm-sidak",
    "sidak": "sidak",
}
METHODS = [*STATSMODELS_NAMES, "none"]

pvalue = st.floats(0.0, 1.0, allow_nan=False)
# small "round" values and exact ties exercise the sorting and the cap at 1
family = st.lists(
    st.one_of(pvalue, st.sampled_from([0.0, 1e-4, 0.01, 0.02, 0.025, 0.05, 0.5, 1.0])),
    min_size=1,
    max_size=30,
)


def _assert_equals_statsmodels(pvalues, method):
    # statsmodels' holm branch calls gc.collect(); freezing the heap keeps that cheap
    gc.freeze()
    try:
        with np.errstate(divide="ignore"):  # Šidák methods take log1p(-1) at p = 1
            _, expected, *_ = multipletests(pvalues, method=STATSMODELS_NAMES[method])
    finally:
        gc.unfreeze()
    adjusted = adjust_pvalues(pvalues, method)
    assert adjusted == pytest.approx(list(expected), rel=1e-12, abs=0)


@settings(max_examples=60, deadline=None)
@given(
    family,
    st.sampled_from(["bonferroni", "hochberg", "bh", "by", "holm-sidak", "sidak"]),
)
def test_adjusted_pvalues_equal_statsmodels(pvalues, method):
    _assert_equals_statsmodels(pvalues, method)


@settings(max_examples=60, deadline=None)
@given(family)
def test_holm_equals_statsmodels(pvalues):
    _assert_equals_statsmodels(pvalues, "holm")


@settings(max_examples=60, deadline=None)
@given(family, st.sampled_from(METHODS))
def test_adjusted_pvalue_invariants(pvalues, method):
    adjusted = adjust_pvalues(pvalues, method)
    for raw, adj in zip(pvalues, adjusted, strict=True):
        assert raw <= adj <= 1.0
    order = np.argsort(pvalues, kind="stable")
    in_raw_order = [adjusted[i] for i in order]
    assert in_raw_order == sorted(in_raw_order)


@settings(max_examples=60, deadline=None)
@given(family, st.sets(st.integers(0, 29)), st.sampled_from(METHODS))
def test_nan_passes_through_and_does_not_count(pvalues, nan_at, method):
    with_nan = list(pvalues)
    for position in sorted(nan_at):
        with_nan.insert(min(position, len(with_nan)), math.nan)
    adjusted = adjust_pvalues(with_nan, method)
    assert [math.isnan(a) for a in adjusted] == [math.isnan(p) for p in with_nan]
    kept = [a for a in adjusted if not math.isnan(a)]
    assert kept == pytest.approx(list(adjust_pvalues(pvalues, method)), rel=1e-15)


def test_rejections_equal_statsmodels():
    rng = np.random.default_rng(11)
    pvalues = np.concatenate([rng.uniform(0, 0.02, 6), rng.uniform(0, 1, 14)])
    for method, name in STATSMODELS_NAMES.items():
        result = correct_pvalues(list(pvalues), method, alpha=0.1)
        with np.errstate(divide="ignore"):
            expected = multipletests(pvalues, alpha=0.1, method=name)[0]
        assert result.rejected == tuple(bool(r) for r in expected)
        assert result.family_size == 20


@settings(max_examples=60, deadline=None)
@given(family, st.sampled_from(METHODS), st.sampled_from([0.01, 0.05, 0.1]))
def test_levels_agree_with_decisions(pvalues, method, alpha):
    result = correct_pvalues(pvalues, method, alpha)
    for p, rejected, level in zip(
        result.raw, result.rejected, result.levels, strict=True
    ):
        if rejected:
            assert p <= level * (1 + 1e-12)
        else:
            assert p >= level * (1 - 1e-12)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(pvalue, st.floats(0.1, 5.0, allow_nan=False)), min_size=1, max_size=12
    ),
    st.sampled_from(["bonferroni", "holm"]),
)
def test_weighted_levels_agree_with_decisions(pairs, method):
    pvalues = [p for p, _ in pairs]
    weights = [w for _, w in pairs]
    result = correct_pvalues(pvalues, method, 0.05, weights=weights)
    for p, rejected, level in zip(
        result.raw, result.rejected, result.levels, strict=True
    ):
        if rejected:
            assert p <= level * (1 + 1e-12)
        else:
            assert p >= level * (1 - 1e-12)


def test_levels_by_method():
    pvalues = [0.001, 0.012, 0.02, 0.3, math.nan]
    alpha = 0.05
    assert adjusted_alpha_levels(pvalues, "none", alpha)[:4] == (alpha,) * 4
    assert adjusted_alpha_levels(pvalues, "bonferroni", alpha)[:4] == (alpha / 4,) * 4
    # Holm: 0.001 <= .05/4, 0.012 <= .05/3, 0.02 <= .05/2, 0.3 > .05/1 (stops there)
    holm = adjusted_alpha_levels(pvalues, "holm", alpha)
    assert holm[:4] == pytest.approx([alpha / 4, alpha / 3, alpha / 2, alpha])
    # a stop at step 2 holds the rest at the level of that step
    stopped = adjusted_alpha_levels([0.001, 0.03, 0.04], "holm", alpha)
    assert stopped == pytest.approx([alpha / 3, alpha / 2, alpha / 2])
    # BH: 0.02 <= 3 * .05/4, so R = 3 and every level is 3α/m (Benjamini–Yekutieli)
    bh = adjusted_alpha_levels(pvalues, "bh", alpha)
    assert bh[:4] == pytest.approx([3 * alpha / 4] * 4)
    # Hochberg: 0.02 <= .05/2 at rank 3, so R = 3: α/(m-R+1) and α/(m-R)
    hochberg = adjusted_alpha_levels(pvalues, "hochberg", alpha)
    assert hochberg[:4] == pytest.approx([alpha / 2, alpha / 2, alpha / 2, alpha / 1])
    assert all(math.isnan(level[4]) for level in (holm, bh, hochberg))
    assert adjusted_alpha_levels([0.5, 0.9], "bh", alpha) == pytest.approx(
        [0.025, 0.025]
    )


def test_adjusted_ci_matches_decision_at_its_level():
    estimate, se = 0.8, 0.35
    pvalue = float(2 * scipy_stats.norm.sf(estimate / se))  # 0.0223
    result = correct_pvalues([pvalue, 0.004, 0.6], "holm", 0.05)
    lower, upper = adjusted_ci(estimate, se, result.levels[0])
    assert result.rejected[0] == (lower > 0)
    z = scipy_stats.norm.isf(result.levels[0] / 2)
    assert (lower, upper) == pytest.approx((estimate - z * se, estimate + z * se))
    t_lower, _ = adjusted_ci(estimate, se, 0.05, df=20)
    assert t_lower == pytest.approx(estimate - scipy_stats.t(20).isf(0.025) * se)
    assert all(math.isnan(v) for v in adjusted_ci(estimate, se, math.nan))


def test_weighted_bonferroni_by_hand():
    pvalues = [0.03, 0.02, 0.01]
    adjusted = adjust_pvalues(pvalues, "bonferroni", weights=[2, 0.5, 0.5])
    assert adjusted == pytest.approx([3 * 0.03 / 2, 3 * 0.02 / 0.5, 3 * 0.01 / 0.5])
    result = correct_pvalues(pvalues, "bonferroni", 0.05, weights=[2, 0.5, 0.5])
    assert result.levels == pytest.approx(
        [0.05 * 2 / 3, 0.05 * 0.5 / 3, 0.05 * 0.5 / 3]
    )
    assert result.rejected == (True, False, False)


def test_weights_are_rescaled_to_the_testable_family():
    given = adjust_pvalues([0.01, 0.04, math.nan], "holm", weights=[2, 1, 1])
    rescaled = adjust_pvalues([0.01, 0.04], "holm", weights=[4 / 3, 2 / 3])
    assert given[:2] == pytest.approx(rescaled, rel=1e-15)
    assert adjust_pvalues([0.01, 0.04], "holm", weights=[5, 5]) == adjust_pvalues(
        [0.01, 0.04], "holm"
    )


def _closed_weighted_holm(pvalues, weights):
    """Closed testing of weighted Bonferroni intersection tests, by brute force."""
    m = len(pvalues)
    scaled = [w * m / sum(weights) for w in weights]
    adjusted = []
    for j in range(m):
        worst = 0.0
        others = [i for i in range(m) if i != j]
        for size in range(m):
            for subset in itertools.combinations(others, size):
                members = (j, *subset)
                total = sum(scaled[i] for i in members)
                intersection = min(pvalues[i] * total / scaled[i] for i in members)
                worst = max(worst, min(1.0, intersection))
        adjusted.append(worst)
    return adjusted


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(pvalue, st.floats(0.1, 5.0, allow_nan=False)), min_size=1, max_size=6
    )
)
def test_weighted_holm_equals_closed_testing(pairs):
    pvalues = [p for p, _ in pairs]
    weights = [w for _, w in pairs]
    adjusted = adjust_pvalues(pvalues, "holm", weights=weights)
    assert adjusted == pytest.approx(_closed_weighted_holm(pvalues, weights), rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(family, st.sampled_from(["bonferroni", "holm"]))
def test_equal_weights_reproduce_unweighted(pvalues, method):
    equal = adjust_pvalues(pvalues, method, weights=[1.0] * len(pvalues))
    assert equal == adjust_pvalues(pvalues, method)


def test_bad_input():
    with pytest.raises(ValueError, match=r"pvalues\[1\] == 1.5"):
        adjust_pvalues([0.1, 1.5], "holm")
    with pytest.raises(ValueError, match="use method='holm'"):
        adjust_pvalues([0.1, 0.2], "bh", weights=[1, 1])
    with pytest.raises(ValueError, match="len"):
        adjust_pvalues([0.1, 0.2], "holm", weights=[1])
    with pytest.raises(ValueError, match="positive"):
        adjust_pvalues([0.1, 0.2], "holm", weights=[2, 0])
    with pytest.raises(ValueError, match="must be one of"):
        adjust_pvalues([0.1], "sidak-hochberg")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="alpha"):
        correct_pvalues([0.1], "holm", alpha=1.0)


def test_empty_and_all_nan_families():
    assert adjust_pvalues([], "holm") == ()
    result = correct_pvalues([math.nan, math.nan], "bh")
    assert result.rejected == (False, False)
    assert all(math.isnan(v) for v in (*result.adjusted, *result.levels))
    assert result.family_size == 0


def test_result_prints_and_converts():
    result = correct_pvalues([0.001, 0.2], "holm")
    assert result.to_dict()["family_size"] == 2
    assert "reject" in str(result)


def test_yekutieli_and_sidak_by_hand():
    pvalues = [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205]
    m = len(pvalues)
    harmonic = sum(1 / k for k in range(1, m + 1))  # 2.717857...
    by = correct_pvalues(pvalues, "by", 0.05)
    # step-up: min over i >= j of m·c(m)·p(i)/i
    assert by.adjusted[0] == pytest.approx(
        min(m * harmonic * p / (i + 1) for i, p in enumerate(pvalues)), rel=1e-12
    )
    assert by.adjusted[0] == pytest.approx(0.02174285714, rel=1e-9)
    assert by.rejected == (True,) + (False,) * 7
    assert by.levels[0] == pytest.approx(0.05 / (m * harmonic), rel=1e-12)
    sidak = correct_pvalues(pvalues, "sidak", 0.05)
    assert sidak.adjusted[1] == pytest.approx(1 - (1 - 0.008) ** 8, rel=1e-12)
    assert sidak.levels[0] == pytest.approx(1 - 0.95 ** (1 / 8), rel=1e-12)
    holm_sidak = correct_pvalues(pvalues, "holm-sidak", 0.05)
    assert holm_sidak.adjusted[1] == pytest.approx(
        max(1 - (1 - 0.001) ** 8, 1 - (1 - 0.008) ** 7), rel=1e-12
    )
    # 0.008 > 1 − 0.95^(1/7) = 0.00730: the step-down stops at the second step
    assert holm_sidak.rejected == (True,) + (False,) * 7
    assert holm_sidak.levels[0] == pytest.approx(1 - 0.95 ** (1 / 8), rel=1e-12)
    assert holm_sidak.levels[1] == pytest.approx(1 - 0.95 ** (1 / 7), rel=1e-12)
    assert holm_sidak.levels[7] == holm_sidak.levels[1]


def test_new_methods_refuse_weights():
    for method in ("by", "holm-sidak", "sidak"):
        with pytest.raises(ValueError, match="'bonferroni' and 'holm' only"):
            adjust_pvalues([0.01, 0.02], method, weights=[1.0, 1.0])


def test_config_and_stats_name_the_same_corrections():
    from typing import get_args

    from abkit.config import CorrectionMethod as ConfigCorrection
    from abkit.stats.multiple import CORRECTION_METHODS

    assert set(get_args(ConfigCorrection)) == set(CORRECTION_METHODS)
    assert set(CORRECTION_METHODS) == {*STATSMODELS_NAMES, "none"}

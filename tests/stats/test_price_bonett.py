"""Price–Bonett CIs of the difference and ratio of medians (Bonett & Price 2002)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest
from scipy import stats

from abkit.stats.price_bonett import (
    MedianArm,
    median_difference,
    median_ratio,
    price_bonett_rank,
    price_bonett_z0,
)

BOOTSTRAPS = 2000


def median_arm(values: Sequence[float] | np.ndarray) -> MedianArm:
    """What queries/quantiles.sql returns for an arm, computed with numpy."""
    ordered = np.sort(np.asarray(values, dtype=float))
    n = ordered.size
    a = price_bonett_rank(n)
    return MedianArm(n, float(np.median(ordered)), ordered[a - 1], ordered[n - a],
                     float(ordered[0]))  # fmt: skip


# statpsych (R) ci.median2 / ci.ratio.median2 report y1 − y2 and y1 / y2: abkit's
# treatment − control, so y1 is the treatment and y2 the control below.
STATPSYCH_DIFFERENCES = [
    (
        [32, 39, 26, 35, 43, 27, 40, 37, 34, 29],
        [36, 44, 47, 42, 49, 39, 46, 31, 33, 48],
        (34.5, 43, -8.5, 4.316291, -16.95977, -0.04022524),
    ),
    (
        [70, 394, 43, 95, 62, 128, 2, 203, 81, 436, 85, 35, 156, 1, 3, 27, 63, 181,
         184, 18],
        [102, 120, 78, 78, 417, 124, 86, 171, 176, 129, 230, 194, 100, 157, 306, 411,
         164, 103, 193, 312],
        (75.5, 160.5, -85, 37.11502, -157.7441, -12.25589),
    ),
]  # fmt: skip


@pytest.mark.parametrize(("y1", "y2", "published"), STATPSYCH_DIFFERENCES)
def test_difference_of_medians_matches_statpsych(
    y1: list[float], y2: list[float], published: tuple[float, ...]
) -> None:
    median1, median2, difference, se, lower, upper = published
    effect, _ = median_difference(median_arm(y2), median_arm(y1), 0.05)
    assert effect.treatment.mean == median1
    assert effect.control.mean == median2
    assert effect.difference == pytest.approx(difference, rel=1e-12)
    assert effect.standard_error == pytest.approx(se, rel=1e-6)
    assert (effect.ci_lower, effect.ci_upper) == pytest.approx((lower, upper), rel=1e-6)
    assert effect.pvalue == pytest.approx(
        2 * stats.norm.sf(abs(difference) / effect.standard_error), rel=1e-12
    )
    assert effect.test == "z"


def test_ratio_of_medians_matches_statpsych() -> None:
    """ci.ratio.median2: 43 / 37 = 1.162162, CI (0.927667, 1.455933)."""
    y1 = [36, 44, 47, 42, 49, 39, 46, 31, 33, 48]
    y2 = [32, 39, 26, 35, 43, 27, 40, 37, 34, 29, 49, 42, 40]
    control, treatment = median_arm(y2), median_arm(y1)
    ratio = median_ratio(control, treatment, 0.05)
    assert ratio is not None
    assert (treatment.median, control.median) == (43, 37)
    assert ratio.ratio == pytest.approx(1.162162, rel=1e-6)
    assert (ratio.ci_lower, ratio.ci_upper) == pytest.approx((0.927667, 1.455933),
                                                             rel=1e-6)  # fmt: skip
    effect, log_ratio = median_difference(control, treatment, 0.05)
    assert log_ratio
    assert effect.relative == pytest.approx(ratio.ratio - 1, rel=1e-12)
    assert effect.relative_ci_lower == pytest.approx(ratio.ci_lower - 1, rel=1e-12)
    assert effect.relative_ci_upper == pytest.approx(ratio.ci_upper - 1, rel=1e-12)


def test_rank_and_z0_follow_the_binomial() -> None:
    """a = round(n/2 − √n) half to even (R), ≥ 1; z₀ from P(Bin(n, ½) ≤ a − 1)."""
    assert [price_bonett_rank(n) for n in (1, 2, 3, 4, 9, 10, 13, 25, 100)] == [
        1, 1, 1, 1, 2, 2, 3, 8, 40,
    ]  # fmt: skip
    n = np.arange(1, 200_001)
    sql_rank = np.maximum(1, np.floor(n / 2 - np.sqrt(n) + 0.5)).astype(int)
    assert [price_bonett_rank(int(k)) for k in n] == sql_rank.tolist()
    assert price_bonett_z0(10) == pytest.approx(stats.norm.isf(11 / 1024), rel=1e-12)


def test_values_at_or_below_zero_keep_the_delta_lift() -> None:
    """No log scale when a value is ≤ 0: the lift CI is the delta method's."""
    control = median_arm([0, 3, 4, 5, 6, 7, 8, 9, 10, 12])
    treatment = median_arm([2, 4, 5, 6, 7, 8, 9, 11, 12, 14])
    assert median_ratio(control, treatment, 0.05) is None
    effect, log_ratio = median_difference(control, treatment, 0.05)
    assert not log_ratio
    se = (
        math.hypot(
            treatment.standard_error(),
            treatment.median / control.median * control.standard_error(),
        )
        / control.median
    )
    assert effect.relative_ci_upper - effect.relative == pytest.approx(
        stats.norm.ppf(0.975) * se, rel=1e-12
    )


def test_swapping_arms_flips_the_difference() -> None:
    rng = np.random.default_rng(2)
    a, b = median_arm(rng.lognormal(size=51)), median_arm(rng.lognormal(size=60))
    ab, _ = median_difference(a, b, 0.05)
    ba, _ = median_difference(b, a, 0.05)
    assert ab.difference == -ba.difference
    assert ab.pvalue == pytest.approx(ba.pvalue, rel=1e-12)
    assert (ab.ci_lower, ab.ci_upper) == pytest.approx((-ba.ci_upper, -ba.ci_lower))


def test_tied_medians_give_zero_variance_status() -> None:
    arm = median_arm(np.zeros(100))
    effect, log_ratio = median_difference(arm, arm, 0.05)
    assert effect.status == "zero_variance"
    assert not log_ratio


def test_standard_error_matches_bootstrap_on_unit_rows() -> None:
    """SE of m_T − m_C within 10% of a seeded bootstrap on per-unit rows."""
    rng = np.random.default_rng(13)
    control = rng.lognormal(1.0, 1.0, 3000)
    treatment = rng.lognormal(1.05, 1.0, 3000)
    effect, log_ratio = median_difference(
        median_arm(control), median_arm(treatment), 0.05
    )
    draws = [
        np.median(rng.choice(arm, (BOOTSTRAPS, arm.size)), axis=1)
        for arm in (control, treatment)
    ]
    assert effect.standard_error == pytest.approx(
        float(np.std(draws[1] - draws[0], ddof=1)), rel=0.10
    )
    assert effect.difference == pytest.approx(np.median(treatment) - np.median(control))
    log_draws = np.log(draws[1]) - np.log(draws[0])
    z = stats.norm.ppf(0.975)
    log_half = (np.log(effect.relative_ci_upper + 1) - np.log(effect.relative_ci_lower
                                                              + 1)) / 2  # fmt: skip
    assert log_ratio
    assert log_half == pytest.approx(z * float(np.std(log_draws, ddof=1)), rel=0.10)

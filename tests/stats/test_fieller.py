"""Fieller's interval of the relative lift: golden roots, shapes, and the analysis option."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy import stats

from abkit.stats.estimate import ArmEstimate
from abkit.stats.fieller import fieller_interval
from tests.conftest import tiny_exp_dict, write_tiny

Z = float(stats.norm.ppf(0.975))


def numpy_fieller(mc: float, vc: float, mt: float, vt: float, q: float) -> np.ndarray:
    """Roots of (mt − R·mc)² − q²(vt + R²·vc) = 0, independently via numpy.

    As a lift over |control|: R − 1 when the control mean is positive, 1 − R when
    it is negative.
    """
    coefficients = [mc**2 - q**2 * vc, -2 * mt * mc, mt**2 - q**2 * vt]
    return np.sort(np.sign(mc) * (np.roots(coefficients).real - 1))


@pytest.mark.parametrize(
    ("mc", "vc", "mt", "vt"),
    [(10.0, 0.25, 10.8, 0.3), (0.4, 0.01, 0.5, 0.012), (-3.0, 0.2, -2.5, 0.1)],
)
def test_bounded_interval_matches_numpy_roots(
    mc: float, vc: float, mt: float, vt: float
) -> None:
    interval = fieller_interval(ArmEstimate(1000, mc, vc), ArmEstimate(1000, mt, vt), Z)
    lower, upper = numpy_fieller(mc, vc, mt, vt, Z)
    assert interval.status == "bounded"
    assert interval.lower == pytest.approx(lower, rel=1e-12)
    assert interval.upper == pytest.approx(upper, rel=1e-12)
    assert interval.estimate == pytest.approx((mt - mc) / abs(mc))


def test_negative_control_lift_follows_the_difference() -> None:
    """Control −10, treatment −5: the difference is +5, so the whole set is positive."""
    control, treatment = ArmEstimate(100, -10.0, 0.01), ArmEstimate(100, -5.0, 0.01)
    interval = fieller_interval(control, treatment, Z)
    assert interval.status == "bounded"
    assert interval.estimate == pytest.approx(0.5)
    assert 0 < interval.lower < 0.5 < interval.upper


def test_bounds_satisfy_the_pivot() -> None:
    """At each bound the Fieller pivot equals ±z exactly."""
    control, treatment = ArmEstimate(500, 2.0, 0.09), ArmEstimate(500, 2.4, 0.1)
    interval = fieller_interval(control, treatment, Z)
    for bound in (interval.lower, interval.upper):
        ratio = bound + 1
        pivot = (2.4 - ratio * 2.0) / math.sqrt(0.1 + ratio**2 * 0.09)
        assert abs(pivot) == pytest.approx(Z, rel=1e-10)


def test_far_from_zero_agrees_with_delta_method() -> None:
    """With a precise control mean Fieller and the delta method nearly coincide."""
    control, treatment = ArmEstimate(10**6, 5.0, 1e-4), ArmEstimate(10**6, 5.1, 1e-4)
    interval = fieller_interval(control, treatment, Z)
    ratio = 5.1 / 5.0
    se = math.sqrt(1e-4 + ratio**2 * 1e-4) / 5.0
    assert interval.lower == pytest.approx(ratio - 1 - Z * se, abs=2e-5)
    assert interval.upper == pytest.approx(ratio - 1 + Z * se, abs=2e-5)


def test_control_mean_near_zero_gives_exclusive_set() -> None:
    """ȳ_C within q·SE of 0 but the treatment clearly non-zero: two rays."""
    mc, vc, mt, vt = 0.05, 0.0016, 1.0, 0.01
    interval = fieller_interval(ArmEstimate(100, mc, vc), ArmEstimate(100, mt, vt), Z)
    lower, upper = numpy_fieller(mc, vc, mt, vt, Z)
    assert interval.status == "exclusive"
    assert (interval.lower, interval.upper) == pytest.approx((lower, upper))
    assert interval.hull == (-math.inf, math.inf)
    assert "gap" in interval.message


def test_both_means_near_zero_gives_whole_line() -> None:
    interval = fieller_interval(
        ArmEstimate(100, 0.01, 0.01), ArmEstimate(100, 0.02, 0.01), Z
    )
    assert interval.status == "unbounded"
    assert (interval.lower, interval.upper) == (-math.inf, math.inf)


def test_missing_variance_is_undefined() -> None:
    interval = fieller_interval(
        ArmEstimate(1, 1.0, math.nan), ArmEstimate(5, 1.2, 0.1), Z
    )
    assert interval.status == "undefined"
    assert math.isnan(interval.hull[0])


def test_analysis_reports_fieller_interval(tmp_path: Path) -> None:
    """`relative_ci: fieller` in exp.yaml: Fieller bounds in the scorecard and JSON."""
    import abkit

    spec = tiny_exp_dict() | {"relative_ci": "fieller"}
    path = write_tiny(tmp_path / "tiny", spec)
    assert yaml.safe_load(path.read_text())["relative_ci"] == "fieller"
    result = abkit.analyze(path, cuped=False)
    revenue = result.metric("revenue")
    effect = revenue.effect
    lower, upper = numpy_fieller(
        effect.control.mean,
        effect.control.mean_variance,
        effect.treatment.mean,
        effect.treatment.mean_variance,
        float(stats.t(effect.df).ppf(0.975)),
    )
    assert revenue.relative_ci_method == "fieller"
    assert effect.relative_ci_lower == pytest.approx(lower, rel=1e-9)
    assert effect.relative_ci_upper == pytest.approx(upper, rel=1e-9)
    row = result.to_dict()["metrics"][1]
    assert row["relative_ci_method"] == "fieller"
    assert row["relative_ci_status"] == "bounded"
    assert "relative CI by Fieller's method" in str(result)
    plain = abkit.analyze(write_tiny(tmp_path / "plain"), cuped=False)
    assert plain.metric("revenue").relative_ci_method == "delta"
    assert plain.metric("revenue").effect.relative_ci_lower != pytest.approx(lower)
